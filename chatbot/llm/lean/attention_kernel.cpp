// One new token's attention for each row of a running batch (or a lone reply), over keys and
// values in bf16 laid out as the lean step holds them (running_batch.py: keys positions last,
// values head dim last), for CPUs with AVX-512. The compiled layers' own attention (inductor's
// loops, fast_decode.py) took 1.0-1.2 ms a layer for 16 rows of 640 columns with the cache in
// memory, this kernel 0.40-0.54; a lone row 101-135 us against 31-33 (scratch). Each task takes one
// key/value head of one row over a block of columns: its query heads' scores summed in registers
// 32 columns at a time, their weights, and the weighted values, so that each key and value is
// read once; the blocks are then joined by their largest scores. Built and loaded by
// chatbot/native.py with int4_kernel.cpp.
#include <torch/library.h>
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <immintrin.h>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace {

constexpr int64_t DIM = 64;    // head dim
constexpr int64_t CHUNK = 32;  // columns whose scores one pass over the head dim sums

// bf16 to fp32 for 32 values: the even ones (0, 2, ...) and the odd ones, 16 each.
inline void widen(__m512i x, __m512& even, __m512& odd) {
  even = _mm512_castsi512_ps(_mm512_slli_epi32(x, 16));
  odd = _mm512_castsi512_ps(_mm512_and_si512(x, _mm512_set1_epi32(int(0xFFFF0000u))));
}

// e^x (Cephes' expf polynomial, scaled by 2^n with scalef); 0 for -inf.
inline __m512 exp16(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f));
  const __m512 n =
      _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500E-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507E-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073E-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894E-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459E-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201E-1f));
  p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}

// One task: a key/value head of one row over a block of its columns.
struct Block {
  const uint16_t* queries;  // the head's G query heads, G x DIM
  const uint16_t* keys;     // the block's first column; a head dim's row of columns every key_stride
  int64_t key_stride;
  const uint16_t* values;   // the block's first column's values; the next every value_stride
  int64_t value_stride;
  const float* padding;     // added to the block's first `padded` scores
  int64_t padded;
  int64_t count;            // columns
  float* scores;            // scratch, G rows of `stride`
  int64_t stride;
  float* top;               // out: each query head's largest score,
  float* total;             // the sum of its weights e^(score - top),
  float* weighted;          // and its values weighted so (G x DIM)
};

// The block's scores (query times key, scaled, padded), their weights and the weighted values,
// for the key/value head's G query heads at once, so that each key and value is read once.
template <int G>
void attend_block(const Block& block) {
  const uint16_t* queries = block.queries;
  const uint16_t* keys = block.keys;
  const int64_t key_stride = block.key_stride, count = block.count, stride = block.stride;
  float* scores = block.scores;
  const float scale = 1.0f / std::sqrt(float(DIM));
  const __m512i lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  const __m512i hi = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
  float q[G][DIM];
  for (int g = 0; g < G; ++g)
    for (int64_t d = 0; d < DIM; ++d) {
      const uint32_t word = uint32_t(queries[g * DIM + d]) << 16;
      std::memcpy(&q[g][d], &word, 4);
    }
  for (int64_t c = 0; c < count; c += CHUNK) {
    // The last chunk may be partial: columns past the block are not read.
    const __mmask32 mask = count - c >= CHUNK ? ~__mmask32(0) : (__mmask32(1) << (count - c)) - 1;
    __m512 s[G][2];
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) s[g][0] = s[g][1] = _mm512_setzero_ps();
    for (int64_t d = 0; d < DIM; ++d) {
      __m512 even, odd;
      _mm_prefetch((const char*)(keys + d * key_stride + c + 2 * CHUNK), _MM_HINT_T0);
      widen(_mm512_maskz_loadu_epi16(mask, keys + d * key_stride + c), even, odd);
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) {
        const __m512 qd = _mm512_set1_ps(q[g][d]);
        s[g][0] = _mm512_fmadd_ps(qd, even, s[g][0]);
        s[g][1] = _mm512_fmadd_ps(qd, odd, s[g][1]);
      }
    }
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) {
      _mm512_storeu_ps(scores + g * stride + c, _mm512_permutex2var_ps(s[g][0], lo, s[g][1]));
      _mm512_storeu_ps(scores + g * stride + c + 16, _mm512_permutex2var_ps(s[g][0], hi, s[g][1]));
    }
  }
  // Scaled and padded scores, then their weights (e^(score - largest)).
  const int64_t vectors = (count + 15) / 16;
  for (int g = 0; g < G; ++g) {
    float* sg = scores + g * stride;
    __m512 largest = _mm512_set1_ps(-INFINITY);
    for (int64_t i = 0; i < vectors; ++i) {
      const int64_t n = i * 16, left = count - n;
      const __mmask16 valid = left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
      __m512 x = _mm512_mul_ps(_mm512_loadu_ps(sg + n), _mm512_set1_ps(scale));
      if (n < block.padded) {
        const int64_t pad_left = block.padded - n;
        const __mmask16 in = pad_left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << pad_left) - 1);
        x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(in, block.padding + n));
      }
      x = _mm512_mask_blend_ps(valid, _mm512_set1_ps(-INFINITY), x);
      _mm512_storeu_ps(sg + n, x);
      largest = _mm512_max_ps(largest, x);
    }
    const float m = _mm512_reduce_max_ps(largest);
    __m512 sum = _mm512_setzero_ps();
    for (int64_t i = 0; i < vectors; ++i) {
      const __m512 w =
          m == -INFINITY ? _mm512_setzero_ps() : exp16(_mm512_sub_ps(_mm512_loadu_ps(sg + i * 16), _mm512_set1_ps(m)));
      _mm512_storeu_ps(sg + i * 16, w);
      sum = _mm512_add_ps(sum, w);
    }
    block.top[g] = m;
    block.total[g] = _mm512_reduce_add_ps(sum);
  }
  __m512 a[G][4];
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g) a[g][0] = a[g][1] = a[g][2] = a[g][3] = _mm512_setzero_ps();
  for (int64_t n = 0; n < count; ++n) {
    const uint16_t* row = block.values + n * block.value_stride;
    __m512 v0, v1, v2, v3;
    widen(_mm512_loadu_si512((const void*)row), v0, v1);
    widen(_mm512_loadu_si512((const void*)(row + 32)), v2, v3);
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) {
      const __m512 p = _mm512_set1_ps(scores[g * stride + n]);
      a[g][0] = _mm512_fmadd_ps(p, v0, a[g][0]);
      a[g][1] = _mm512_fmadd_ps(p, v1, a[g][1]);
      a[g][2] = _mm512_fmadd_ps(p, v2, a[g][2]);
      a[g][3] = _mm512_fmadd_ps(p, v3, a[g][3]);
    }
  }
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g)
    for (int j = 0; j < 2; ++j) {
      float* out = block.weighted + g * DIM + 32 * j;
      _mm512_storeu_ps(out, _mm512_permutex2var_ps(a[g][2 * j], lo, a[g][2 * j + 1]));
      _mm512_storeu_ps(out + 16, _mm512_permutex2var_ps(a[g][2 * j], hi, a[g][2 * j + 1]));
    }
}

// queries (rows x heads x 64), keys (rows x kv heads x columns x 64, stride 1 along columns),
// values (rows x kv heads x columns x 64, stride 1 along the head dim), all bf16; padding (rows x
// the first columns, fp32: -inf where a row's padding is, added to those columns' scores) or
// empty for none. `causal`: the rows are one sequence's last tokens, in order (keys and values
// may then be one row's, expanded), and each sees the columns up to its own only; each row's
// columns are then summed as one block, so that its result does not depend on how many rows came
// with it (a prompt read in pieces gives what reading it whole gives). The result: rows x heads *
// 64, bf16.
at::Tensor attend(const at::Tensor& queries, const at::Tensor& keys, const at::Tensor& values,
                  const at::Tensor& padding, bool causal) {
  TORCH_CHECK(queries.scalar_type() == at::kBFloat16 && keys.scalar_type() == at::kBFloat16 &&
              values.scalar_type() == at::kBFloat16, "attend: queries, keys and values must be bf16");
  TORCH_CHECK(queries.dim() == 3 && keys.dim() == 4 && keys.sizes() == values.sizes(),
              "attend: queries must be rows x heads x dim, keys and values rows x kv heads x columns x dim");
  const int64_t rows = keys.size(0), kv = keys.size(1), columns = keys.size(2);
  const int64_t heads = queries.size(1), groups = kv > 0 ? heads / kv : 0;
  TORCH_CHECK(queries.size(0) == rows && queries.size(2) == DIM && keys.size(3) == DIM,
              "attend: rows must match and the head dim be 64");
  TORCH_CHECK(groups >= 1 && groups <= 4 && groups * kv == heads, "attend: 1-4 query heads per key/value head");
  TORCH_CHECK(keys.stride(2) == 1 && values.stride(3) == 1,
              "attend: keys must be laid out positions last, values head dim last");
  TORCH_CHECK(columns > 0 && (!causal || rows <= columns), "attend: no columns to attend to");
  const bool padded = padding.numel() > 0;
  TORCH_CHECK(!padded || (padding.dim() == 2 && padding.size(0) == rows && padding.size(1) <= columns),
              "attend: padding must be rows x (at most) columns");
  auto q = queries.contiguous();
  auto pad = padded ? padding.to(at::kFloat).contiguous() : padding;
  const int64_t padded_columns = padded ? pad.size(1) : 0;
  // Blocks of columns small enough that each thread gets about four tasks (a lone row's three
  // heads would otherwise leave a thread idle), in whole chunks.
  const int64_t wanted =
      causal ? 1 : std::max<int64_t>(1, (4 * at::get_num_threads() + rows * kv - 1) / (rows * kv));
  const int64_t block = std::max<int64_t>(CHUNK, ((columns + wanted - 1) / wanted + CHUNK - 1) / CHUNK * CHUNK);
  const int64_t blocks = std::max<int64_t>(1, (columns + block - 1) / block);
  const int64_t tasks = rows * kv * blocks;
  std::vector<float> maxes(tasks * groups), sums(tasks * groups), partial(tasks * groups * DIM);
  const uint16_t* kp = reinterpret_cast<const uint16_t*>(keys.data_ptr());
  const uint16_t* vp = reinterpret_cast<const uint16_t*>(values.data_ptr());
  const uint16_t* qp = reinterpret_cast<const uint16_t*>(q.data_ptr());
  const float* pp = padded ? pad.data_ptr<float>() : nullptr;
  at::parallel_for(0, tasks, 1, [&](int64_t begin, int64_t end) {
    const int64_t stride = block + CHUNK;
    std::vector<float> scores(4 * stride);
    for (int64_t task = begin; task < end; ++task) {
      int64_t r = task / (kv * blocks);
      const int64_t h = (task / blocks) % kv, start = (task % blocks) * block;
      // Causal rows see more columns the later they are: rows taken first and last in turn, so
      // that each thread's share of tasks has as many columns as the other's.
      if (causal) r = r % 2 == 0 ? r / 2 : rows - 1 - r / 2;
      const int64_t visible = causal ? columns - rows + r + 1 : columns;
      const int64_t slot = (r * kv + h) * blocks + task % blocks;  // where the joining reads the task
      Block b;
      b.queries = qp + (r * heads + h * groups) * DIM;
      b.keys = kp + r * keys.stride(0) + h * keys.stride(1) + start;
      b.key_stride = keys.stride(3);
      b.values = vp + r * values.stride(0) + h * values.stride(1) + start * values.stride(2);
      b.value_stride = values.stride(2);
      b.padding = padded ? pp + r * padded_columns + start : nullptr;
      b.count = std::min(block, visible - start);  // at least 1: the blocks cover the columns
      b.padded = std::max<int64_t>(0, std::min(b.count, padded_columns - start));
      b.scores = scores.data();
      b.stride = stride;
      b.top = &maxes[slot * groups];
      b.total = &sums[slot * groups];
      b.weighted = &partial[slot * groups * DIM];
      switch (groups) {
        case 1: attend_block<1>(b); break;
        case 2: attend_block<2>(b); break;
        case 3: attend_block<3>(b); break;
        default: attend_block<4>(b); break;
      }
    }
  });
  auto out = at::empty({rows, heads * DIM}, queries.options().dtype(at::kBFloat16));
  at::BFloat16* op = out.data_ptr<at::BFloat16>();
  at::parallel_for(0, rows * kv, 1, [&](int64_t begin, int64_t end) {
    for (int64_t pair = begin; pair < end; ++pair) {
      for (int64_t g = 0; g < groups; ++g) {
        float top = -INFINITY;
        for (int64_t b = 0; b < blocks; ++b) top = std::max(top, maxes[(pair * blocks + b) * groups + g]);
        float total = 0.0f, result[DIM] = {0};
        for (int64_t b = 0; b < blocks; ++b) {
          const int64_t task = pair * blocks + b;
          const float mb = maxes[task * groups + g];
          if (mb == -INFINITY) continue;
          const float factor = std::exp(mb - top);
          total += sums[task * groups + g] * factor;
          const float* a = &partial[(task * groups + g) * DIM];
          for (int64_t d = 0; d < DIM; ++d) result[d] += factor * a[d];
        }
        const int64_t r = pair / kv, h = pair % kv;
        at::BFloat16* row = op + (r * heads + h * groups + g) * DIM;
        for (int64_t d = 0; d < DIM; ++d)  // a row padded throughout (none in a running batch) gets zeros
          row[d] = at::BFloat16(total > 0.0f ? result[d] / total : 0.0f);
      }
    }
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(chatbot_native, m) {
  m.def("attend(Tensor queries, Tensor keys, Tensor values, Tensor padding, bool causal=False) -> Tensor");
}

TORCH_LIBRARY_IMPL(chatbot_native, CPU, m) {
  m.impl("attend", attend);
}
