// int4 weights (a scale and a lowest weight per 32 inputs of a row, as GGUF's Q4_1 holds them)
// times bf16 activations, for CPUs with AVX-512 VNNI, much as llama.cpp multiplies Q4_1 weights:
// each group of 32 activations in int8 (here as two int8 parts, see quantize), and the products
// of 16 rows at once summed in int32 by VNNI's 4-byte dot products (one instruction for 64
// weights). PyTorch's int4 kernel widens each weight to floating point first. Built and loaded
// by chatbot/native.py.
#include <torch/library.h>
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <immintrin.h>
#include <algorithm>
#include <cmath>
#include <cstring>

namespace {

constexpr int64_t ROWS = 16;    // output rows a block holds, one per 32-bit lane
constexpr int64_t GROUP = 32;   // inputs sharing a scale and lowest weight
constexpr int64_t CODES = 256;  // bytes of codes a block holds per group: 16 rows x 32 inputs x 4 bits
constexpr int64_t RECORD = CODES + 2 * ROWS * 2;  // then 16 fp16 scales and 16 fp16 lowest weights

// codes (rows x inputs, 0-15), scale and low (groups x rows): a record per block of 16 rows and
// group of 32 inputs. Byte i of row r's 4-byte lane in part p (0-3) holds input 4p + i in its low
// half and input 16 + 4p + i in its high half.
at::Tensor pack(const at::Tensor& codes, const at::Tensor& scale, const at::Tensor& low) {
  TORCH_CHECK(codes.dim() == 2 && codes.size(0) % ROWS == 0 && codes.size(1) % GROUP == 0,
              "pack: codes must be rows x inputs, rows a multiple of 16 and inputs of 32");
  const int64_t rows = codes.size(0), inputs = codes.size(1), groups = inputs / GROUP, blocks = rows / ROWS;
  auto c = codes.to(at::kInt).contiguous();
  auto s = scale.to(at::kHalf).contiguous();
  auto l = low.to(at::kHalf).contiguous();
  TORCH_CHECK(s.size(0) == groups && s.size(1) == rows && l.sizes() == s.sizes(),
              "pack: scale and low must be groups x rows");
  auto packed = at::zeros({blocks, groups, RECORD}, at::kByte);
  const int32_t* cp = c.data_ptr<int32_t>();
  uint8_t* out = packed.data_ptr<uint8_t>();
  for (int64_t b = 0; b < blocks; ++b) {
    for (int64_t g = 0; g < groups; ++g) {
      uint8_t* record = out + (b * groups + g) * RECORD;
      for (int64_t r = 0; r < ROWS; ++r) {
        const int32_t* row = cp + (b * ROWS + r) * inputs + g * GROUP;
        for (int64_t p = 0; p < 4; ++p)
          for (int64_t i = 0; i < 4; ++i)
            record[p * 64 + r * 4 + i] = uint8_t((row[4 * p + i] & 15) | ((row[16 + 4 * p + i] & 15) << 4));
      }
      std::memcpy(record + CODES, s.data_ptr<at::Half>() + g * rows + b * ROWS, ROWS * 2);
      std::memcpy(record + CODES + ROWS * 2, l.data_ptr<at::Half>() + g * rows + b * ROWS, ROWS * 2);
    }
  }
  return packed;
}

// Each row of x (bf16) as two int8 parts per group of 32 inputs, the second what the first
// leaves out, each with a scale of its own (its largest magnitude is 127): the two together hold
// x to about 1e-4 of the group's largest value, where one int8 part alone held it to 0.4% and
// moved the bundled model's logits by up to 0.28 from the fp32 model's. Each part's sum, as
// quantized, scaled, is kept for the lowest weights' share.
void quantize(const at::BFloat16* x, int64_t inputs, int8_t* q, float* scales, float* sums) {
  const int64_t groups = inputs / GROUP;
  for (int64_t g = 0; g < groups; ++g) {
    float values[GROUP];
    for (int64_t i = 0; i < GROUP; ++i) values[i] = float(x[g * GROUP + i]);
    float total = 0.0f;
    for (int part = 0; part < 2; ++part) {
      float top = 0.0f;
      for (int64_t i = 0; i < GROUP; ++i) top = std::max(top, std::fabs(values[i]));
      const float scale = top / 127.0f, inverse = top > 0.0f ? 127.0f / top : 0.0f;
      int8_t* codes = q + part * inputs + g * GROUP;
      int32_t count = 0;
      for (int64_t i = 0; i < GROUP; ++i) {
        codes[i] = int8_t(std::nearbyint(values[i] * inverse));
        count += codes[i];
        values[i] -= float(codes[i]) * scale;
      }
      scales[part * groups + g] = scale;
      total += scale * float(count);
    }
    sums[g] = total;
  }
}

template <int M>
void blocks_for(const uint8_t* packed, int64_t groups, int64_t b0, int64_t b1, const int8_t* q, const float* scales,
                const float* sums, int64_t inputs, at::BFloat16* y, int64_t outputs) {
  // q: each row's two int8 parts (2 x inputs), scales: their scales (2 x groups), sums: groups.
  const __m512i nibble = _mm512_set1_epi8(15);
  for (int64_t b = b0; b < b1; ++b) {
    __m512 acc[M];
    for (int m = 0; m < M; ++m) acc[m] = _mm512_setzero_ps();
    for (int64_t g = 0; g < groups; ++g) {
      const uint8_t* record = packed + (b * groups + g) * RECORD;
      if (g + 2 < groups) _mm_prefetch(reinterpret_cast<const char*>(record + 2 * RECORD), _MM_HINT_T0);
      __m512i dot[M][2];
      for (int m = 0; m < M; ++m) dot[m][0] = dot[m][1] = _mm512_setzero_si512();
      for (int p = 0; p < 4; ++p) {
        const __m512i v = _mm512_loadu_si512(record + p * 64);
        const __m512i lo = _mm512_and_si512(v, nibble);
        const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), nibble);
        for (int m = 0; m < M; ++m) {
          for (int part = 0; part < 2; ++part) {
            const int8_t* xq = q + (2 * m + part) * inputs + g * GROUP;
            int32_t first, second;
            std::memcpy(&first, xq + 4 * p, 4);
            std::memcpy(&second, xq + 16 + 4 * p, 4);
            dot[m][part] = _mm512_dpbusd_epi32(dot[m][part], lo, _mm512_set1_epi32(first));
            dot[m][part] = _mm512_dpbusd_epi32(dot[m][part], hi, _mm512_set1_epi32(second));
          }
        }
      }
      const __m512 scale = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(record + CODES)));
      const __m512 lowest = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(record + CODES + 32)));
      for (int m = 0; m < M; ++m) {
        const float* part_scales = scales + 2 * m * groups + g;
        __m512 products = _mm512_mul_ps(_mm512_cvtepi32_ps(dot[m][0]), _mm512_set1_ps(part_scales[0]));
        products = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[m][1]), _mm512_set1_ps(part_scales[groups]), products);
        acc[m] = _mm512_fmadd_ps(products, scale, acc[m]);
        acc[m] = _mm512_fmadd_ps(lowest, _mm512_set1_ps(sums[m * groups + g]), acc[m]);
      }
    }
    for (int m = 0; m < M; ++m) {
      // Round to bf16 (nearest, ties to even) as PyTorch does.
      alignas(64) float values[ROWS];
      _mm512_store_ps(values, acc[m]);
      for (int64_t r = 0; r < ROWS; ++r) y[m * outputs + b * ROWS + r] = at::BFloat16(values[r]);
    }
  }
}

at::Tensor linear(const at::Tensor& x, const at::Tensor& packed) {
  TORCH_CHECK(x.dim() == 2 && x.scalar_type() == at::kBFloat16, "int4_linear: x must be rows x inputs in bf16");
  TORCH_CHECK(packed.dim() == 3 && packed.size(2) == RECORD && packed.is_contiguous(),
              "int4_linear: packed weights expected");
  const int64_t rows = x.size(0), inputs = x.size(1), blocks = packed.size(0), groups = packed.size(1);
  TORCH_CHECK(inputs == groups * GROUP, "int4_linear: x has ", inputs, " inputs, the weights ", groups * GROUP);
  const int64_t outputs = blocks * ROWS;
  auto xc = x.contiguous();
  auto y = at::empty({rows, outputs}, x.options());
  if (rows == 0) return y;
  auto q = at::empty({rows, 2, inputs}, at::kChar);
  auto scales = at::empty({rows, 2, groups}, at::kFloat), sums = at::empty({rows, groups}, at::kFloat);
  for (int64_t r = 0; r < rows; ++r)
    quantize(xc.data_ptr<at::BFloat16>() + r * inputs, inputs, q.data_ptr<int8_t>() + r * 2 * inputs,
             scales.data_ptr<float>() + r * 2 * groups, sums.data_ptr<float>() + r * groups);
  const uint8_t* pp = packed.data_ptr<uint8_t>();
  // Four rows of x at a time; beyond four, against one block of weights at a time, which stays in
  // cache for the next four rows.
  const int64_t span = rows <= 4 ? blocks : 1;
  at::parallel_for(0, blocks, 4, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; b += span) {
      const int64_t last = std::min(b1, b + span);
      for (int64_t r = 0; r < rows; r += 4) {
        const int64_t m = std::min<int64_t>(4, rows - r);
        const int8_t* qr = q.data_ptr<int8_t>() + r * 2 * inputs;
        const float* sr = scales.data_ptr<float>() + r * 2 * groups;
        const float* tr = sums.data_ptr<float>() + r * groups;
        at::BFloat16* yr = y.data_ptr<at::BFloat16>() + r * outputs;
        switch (m) {
          case 1: blocks_for<1>(pp, groups, b, last, qr, sr, tr, inputs, yr, outputs); break;
          case 2: blocks_for<2>(pp, groups, b, last, qr, sr, tr, inputs, yr, outputs); break;
          case 3: blocks_for<3>(pp, groups, b, last, qr, sr, tr, inputs, yr, outputs); break;
          default: blocks_for<4>(pp, groups, b, last, qr, sr, tr, inputs, yr, outputs); break;
        }
      }
    }
  });
  return y;
}

}  // namespace

TORCH_LIBRARY(chatbot_native, m) {
  m.def("int4_pack(Tensor codes, Tensor scale, Tensor low) -> Tensor");
  m.def("int4_linear(Tensor x, Tensor packed) -> Tensor");
}

TORCH_LIBRARY_IMPL(chatbot_native, CPU, m) {
  m.impl("int4_pack", pack);
  m.impl("int4_linear", linear);
}
