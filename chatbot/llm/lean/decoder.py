"""A lean decoding step for Llama-architecture decoders on CPU (SmolLM2, Llama, Mistral-style
models without biases): the transformers model's own weights in a compact form, q/k/v and
gate/up fused into one matrix product each, and one short loop over the layers instead of the
model's forward.

Writing a token on this project's 2-core CPU is bound by reading the weights: fp32 reads 540 MB
per token. Each linear layer is held in int4 with a scale and offset per 32 weights when that
is exact, which it is for weights that were 4-bit already (the bundled Q4_1 GGUF, dequantized
to fp32 by transformers, comes back to the same codes), else in int8 with a scale per output
row. Activations and the key/value cache are bf16. The output layer only ranks the vocabulary
(in int4); the 64 likeliest tokens are scored again from the fp32 weights. PyTorch's weight-only
kernels compute each row from that row alone, but attention over a row padded to the batch's
length sums in another order, and in bf16 that can turn a near-tie: a reply written in a batch
is close to, not always the same as, the reply written alone (benchmarks/README.md).

Those kernels work row by row: a step for 32 rows took 9x one row's time (docs/speed-log.md).
Given a bf16 copy of the model (the prompt reader, on CPUs with fast bf16 products), a step for
`DENSE_ROWS` rows or more multiplies by that copy's weights instead, packed for oneDNN's bf16
kernels (`DenseLinear`), where many rows cost little more than one (ticket runs write 32 at once,
many shoppers 16). bf16 rounds weights that int4 holds exactly, as reading the prompt in bf16
already did.

Prompts are read into the running batch's cache (continuous_batch.py) by the same packed weights in
a short loop of the same kind (`read`), where they are there, from where they part from a prompt
read before (prompt_cache.py); else by the transformers model.
The copy itself is then no longer needed (TransformersGenerator lets it go). `extend` reads a few
next tokens of one row in one pass: guesses from the prompt, checked (prompt_lookup.py).

For one row, each layer's small operations (norms, rotary positions, attention, gating) cost more
than its weights' products, and for a batch they cost as much again; with `compile_step` they are
fused by torch.compile (`CompiledLayers`)."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

from chatbot.llm.continuous_batch import growing_layers, new_cache
from chatbot.llm.lean.native import kernels

if TYPE_CHECKING:
    from transformers import DynamicCache, PreTrainedModel

KV_DTYPE = torch.bfloat16
GROUP = 32  # weights sharing an int4 scale and offset, as in GGUF's Q4 blocks
RESCORED = 64  # the likeliest tokens by the compact output layer, scored again in fp32
# From this many rows a step multiplies by bf16 weights. Whole steps of the bundled model, int4
# against packed bf16, were faster in int4 below 10 rows and not from 10 on (docs/speed-log.md).
# bf16 reads 4x the bytes, so it wins only where int4's row-by-row work costs more than that.
DENSE_ROWS = 10
# A lone row's compiled layers are called this many at a time, one graph for each span: each call
# of a compiled graph costs about 30-40 us around its work (torch.compile's wrappers, the cache's
# views), and a lone row's step took 0.83-0.89x the time with spans of 5 as with one layer a graph
# (docs/speed-log.md). Inductor fuses across the layers of a span, which can round differently:
# the logits of 30 steps were the same, but 6 of 257 demo-eval answers changed at a near-tie
# (3 traced: after 30-46 tokens). Spans of 30 took 38 s to compile. A batch's rows keep one layer
# a graph: in spans a key came one bf16 step apart in the 19th layer.
SPAN = 5


def quantize_rows(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """int8 weights and one bf16 scale per output row (symmetric: the row's largest magnitude is 127).

    >>> q, scale = quantize_rows(torch.tensor([[0.5, -1.0], [2.0, 0.0]]))
    >>> q.tolist(), [round(s, 4) for s in scale.float().tolist()]
    ([[64, -127], [127, 0]], [0.0079, 0.0157])
    """
    weight = weight.detach().float()
    scale = (weight.abs().amax(dim=1) / 127).clamp(min=1e-12)
    quantized = torch.round(weight / scale[:, None]).clamp(-127, 127).to(torch.int8)
    return quantized.contiguous(), scale.to(torch.bfloat16)


def quantize_groups(weight: torch.Tensor, exact: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """4-bit codes (0-15, int32, rows x inputs), and per group of 32 inputs a scale and the
    lowest weight (groups x rows each, fp32), when every weight sits on its group's 16 levels
    (up to float rounding) or `exact` is False; else None.

    >>> codes, scale, low = quantize_groups((torch.arange(32.0) % 16).repeat(2, 1) * 0.5 - 3)
    >>> codes[0, :4].tolist(), scale.tolist(), low.tolist()
    ([0, 1, 2, 3], [[0.5, 0.5]], [[-3.0, -3.0]])
    >>> quantize_groups(torch.arange(32.0).repeat(2, 1)) is None  # 32 levels
    True
    """
    weight = weight.detach().float()
    rows, inputs = weight.shape
    if inputs % GROUP:
        return None
    groups = weight.view(rows, inputs // GROUP, GROUP)
    low, high = groups.amin(-1), groups.amax(-1)
    scale = ((high - low) / 15).clamp(min=1e-12)
    levels = (groups - low[..., None]) / scale[..., None]
    codes = torch.round(levels).clamp(0, 15)
    if exact and (levels - codes).abs().max() > 1e-3:
        return None
    return codes.to(torch.int32).view(rows, inputs), scale.T.contiguous(), low.T.contiguous()


class Int8Linear:
    """y = x W^T with W in int8 rows and bf16 scales; x and y in bf16, shaped (rows, features)."""

    bits = 8

    def __init__(self, weight: torch.Tensor) -> None:
        self.weight, self.scale = quantize_rows(weight)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch._weight_int8pack_mm(x, self.weight, self.scale)


class Int4Linear:
    """y = x W^T with W in packed int4 codes, a bf16 scale and offset per 32 inputs of a row."""

    bits = 4

    def __init__(self, codes: torch.Tensor, scale: torch.Tensor, low: torch.Tensor) -> None:
        self.packed = torch._convert_weight_to_int4pack_for_cpu(codes, 1)
        # The kernel computes (code - 8) * scale + offset.
        self.scales_and_offsets = torch.stack([scale, low + 8 * scale], dim=-1).to(torch.bfloat16).contiguous()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch._weight_int4pack_mm_for_cpu(x, self.packed, GROUP, self.scales_and_offsets)


class NativeInt4Linear:
    """`Int4Linear`'s weights, with their scales and lowest weights in fp16 (as exact as GGUF's
    Q4_1 holds them), multiplied by this project's AVX-512 VNNI kernel (native.py): products
    summed in int32, each group of 32 activations as two int8 parts. A product's error against
    the weights' exact product was 0.17% (relative, random weights and activations), PyTorch's
    kernel's 0.25%; with one int8 part, as llama.cpp multiplies, it was 0.55% (docs/speed-log.md)."""

    bits = 4

    def __init__(self, codes: torch.Tensor, scale: torch.Tensor, low: torch.Tensor) -> None:
        self.packed = torch.ops.chatbot_native.int4_pack(codes, scale, low)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.chatbot_native.int4_linear(x, self.packed)


class DenseLinear:
    """y = x W^T with W in bf16, for many rows at once (oneDNN's bf16 kernels: AMX tiles or AVX-512
    BF16). The weights are held in oneDNN's own blocked layout, packed once here instead of at
    every product: the bundled model's 30 layers for 16 rows, weights not in cache, took 11.5
    against 17.7 ms unpacked (docs/speed-log.md); the products are the same."""

    bits = 16

    def __init__(self, *weights: torch.Tensor, native: bool = False) -> None:
        """`weights` stacked by rows into one matrix (q/k/v, gate/up), then packed. `native`: the
        compiled layers call the product as the native library's operator (native.py)."""
        weight = torch.cat([w.detach() for w in weights], dim=0).to(KV_DTYPE)
        self.packed = torch.ops.mkldnn._reorder_linear_weight(weight, DENSE_ROWS)
        self.product = torch.ops.chatbot_native.dense_product if native else dense_product

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if torch.compiler.is_compiling():
            return self.product(x, self.packed)
        return torch.ops.mkldnn._linear_pointwise(x, self.packed, None, "none", [], "")


# A linear layer's weights in one of the forms above, and a decoder layer's: its input norm, q/k/v,
# output, post-attention norm, gate/up and down.
Linear = Int4Linear | NativeInt4Linear | Int8Linear | DenseLinear
Layer = tuple[torch.Tensor, Linear, Linear, torch.Tensor, Linear, Linear]


@torch.library.custom_op("chatbot::dense_product", mutates_args=())
def dense_product(x: torch.Tensor, packed: torch.Tensor) -> torch.Tensor:
    """`DenseLinear`'s product as an operation of its own for torch.compile (`CompiledLayers`),
    which would otherwise lower oneDNN's product itself, and can only for weights it packed.
    Where the native library is loaded its operator does the same without Python, 20-30 us
    less a call (dense_product.cpp; docs/speed-log.md)."""
    return torch.ops.mkldnn._linear_pointwise(x, packed, None, "none", [], "")


@dense_product.register_fake
def _(x: torch.Tensor, packed: torch.Tensor) -> torch.Tensor:
    return x.new_empty((x.shape[0], packed.shape[0]))


@torch.library.custom_op("chatbot::held", mutates_args=())
def held(x: torch.Tensor) -> torch.Tensor:
    """A copy of `x`, which torch.compile cannot fuse into what reads it: there it is computed
    once. A batch's compiled layer (`FastDecoder._compiled_layer`) holds its queries so: else the
    compiler computed each query's rotary positions again for every 32 columns of the cache it
    was multiplied by (16 rows of 640 columns: 1.44 ms a layer against 1.05 held;
    docs/speed-log.md). For one row the call costs about what it saves."""
    return x.clone()


@held.register_fake
def _(x: torch.Tensor) -> torch.Tensor:
    return torch.empty_like(x)


def compact_linear(*weights: torch.Tensor, exact: bool = True,
                   native: bool = False) -> Int4Linear | NativeInt4Linear | Int8Linear:
    """The weights (stacked by rows) in int4 where that is exact (or `exact` is False), else int8
    rows; int4 by this project's kernel where `native` is set and it serves them (native.py)."""
    weight = torch.cat([w.detach() for w in weights], dim=0)
    groups = quantize_groups(weight, exact) if hasattr(torch, "_weight_int4pack_mm_for_cpu") else None
    if groups is None:
        return Int8Linear(weight)
    if native and weight.shape[0] % 16 == 0 and not kernels():
        return NativeInt4Linear(*groups)
    return Int4Linear(*groups)


def supports(model: PreTrainedModel) -> str:
    """Why this step cannot write for `model` ("" when it can): a Llama-style decoder on CPU in
    fp32, without biases, with plain rotary positions and full attention."""
    config = getattr(model, "config", None)
    if config is None or getattr(config, "model_type", "") not in ("llama", "mistral"):
        return f"not a Llama-style decoder ({getattr(config, 'model_type', type(model).__name__)})"
    if str(getattr(model, "device", "")) != "cpu" or getattr(model, "dtype", None) != torch.float32:
        return "only for a CPU model in float32"
    if not hasattr(torch, "_weight_int8pack_mm"):
        return "this PyTorch has no int8 weight-only kernel"
    if getattr(config, "hidden_act", "") != "silu" or getattr(config, "attention_bias", False) or getattr(config, "mlp_bias", False):
        return "the decoder has biases or another activation"
    if getattr(config, "sliding_window", None):
        return "the decoder has sliding-window attention"
    rope = getattr(config, "rope_parameters", None) or {}
    if rope.get("rope_type", "default") != "default":
        return f"rotary scaling {rope.get('rope_type')!r} is not supported"
    return ""


class FastDecoder:
    """One decoding step for every row of a running batch: each row's next token in, logits out."""

    kv_dtype = KV_DTYPE

    def __init__(self, model: PreTrainedModel, reader: PreTrainedModel | None = None, compile_step: bool = False,
                 native: bool = False) -> None:
        """`reader`: the bf16 copy of `model` that reads prompts, if any; its weights, packed
        here (the copy is left as it was), serve `read` and steps of `DENSE_ROWS` rows or more.
        `compile_step`: the layers are compiled by torch.compile (`CompiledLayers`), here,
        before the first reply; where that fails they are not (`compile_error` says why).
        `native`: int4 weights are multiplied by this project's kernel where it serves this CPU
        (`NativeInt4Linear`), and the compiled layers and `read` attend with its attention
        kernel (`_compiled_layer`); `native_error` says why not, where not."""
        reason = supports(model)
        if reason:
            raise ValueError(f"FastDecoder: {reason}.")
        config, inner = model.config, model.model
        self.heads, self.kv_heads = config.num_attention_heads, config.num_key_value_heads
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // self.heads
        self.eps = config.rms_norm_eps
        self.embed = inner.embed_tokens.weight.detach()
        self.native_error = kernels() if native else "not asked for"
        native = not self.native_error
        # The attention kernel's shapes: a head dim of 64, 1-4 query heads per key/value head.
        self.native_attention = native and self.head_dim == 64 and self.heads // self.kv_heads in (1, 2, 3, 4)
        self.layers: list[Layer] = []
        for layer in inner.layers:
            attention, mlp = layer.self_attn, layer.mlp
            self.layers.append((
                layer.input_layernorm.weight.detach(),
                compact_linear(attention.q_proj.weight, attention.k_proj.weight, attention.v_proj.weight,
                               native=native),
                compact_linear(attention.o_proj.weight, native=native),
                layer.post_attention_layernorm.weight.detach(),
                compact_linear(mlp.gate_proj.weight, mlp.up_proj.weight, native=native),
                compact_linear(mlp.down_proj.weight, native=native),
            ))
        self.dense_layers: list[Layer] | None = None
        self.dense_head: DenseLinear | None = None
        if (reader is not None and reader is not model and getattr(reader, "dtype", None) == KV_DTYPE
                and torch.backends.mkldnn.is_available()):
            self.dense_layers = []
            for (norm_in, _, _, norm_mid, _, _), layer in zip(self.layers, reader.model.layers):
                attention, mlp = layer.self_attn, layer.mlp
                self.dense_layers.append((
                    norm_in,
                    DenseLinear(attention.q_proj.weight, attention.k_proj.weight, attention.v_proj.weight,
                                native=native),
                    DenseLinear(attention.o_proj.weight, native=native), norm_mid,
                    DenseLinear(mlp.gate_proj.weight, mlp.up_proj.weight, native=native),
                    DenseLinear(mlp.down_proj.weight, native=native),
                ))
            self.dense_head = DenseLinear(reader.lm_head.weight, native=native)
        self.norm = inner.norm.weight.detach()
        # The output layer only ranks the vocabulary here (the likeliest are scored again from
        # `output`), so it is held in int4 even where that is not exact.
        self.output = model.lm_head.weight.detach()
        self.lm_head = compact_linear(self.output, exact=False, native=native)
        self.inv_freq = inner.rotary_emb.inv_freq.detach().float()
        half = self.head_dim // 2
        self.sign = torch.cat((-torch.ones(half), torch.ones(half)))
        self.attention_scaling = float(getattr(inner.rotary_emb, "attention_scaling", 1.0))
        self.compiled_layers, self.compile_error = None, ""
        if compile_step:
            self.compiled_layers = CompiledLayers(self)
            self.compile_error = self.compiled_layers.prepare()
            if self.compile_error:
                self.compiled_layers = None

    def _rms_norm(self, hidden: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.rms_norm(hidden, (hidden.shape[-1],), weight, self.eps).to(KV_DTYPE)

    def _rotary(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """cos and signed sin of each position's rotary angles, (positions, 1, head dim) in bf16."""
        angles = positions.float()[:, None] * self.inv_freq[None, :]
        angles = torch.cat((angles, angles), dim=-1)[:, None, :]
        return ((angles.cos() * self.attention_scaling).to(KV_DTYPE),
                (angles.sin() * self.attention_scaling * self.sign).to(KV_DTYPE))

    def _feed_forward(self, hidden: torch.Tensor, norm: torch.Tensor, gate_up: Linear, down: Linear) -> torch.Tensor:
        """The layer's gated MLP added to the residual stream, for the step and for `read` alike."""
        gate, up = gate_up(self._rms_norm(hidden, norm)).chunk(2, dim=-1)
        return hidden + down(torch.nn.functional.silu(gate) * up)

    def _project(self, hidden: torch.Tensor, norm: torch.Tensor, qkv: Linear, cos: torch.Tensor,
                 signed_sin: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A layer's queries and keys, rotary positions applied (rows x heads + key/value heads x
        head dim), and values (rows x key/value heads x head dim), for each row of `hidden`: for
        the step, `extend` and `read` alike."""
        rows, split = hidden.shape[0], (self.heads + self.kv_heads) * self.head_dim
        mixed = qkv(self._rms_norm(hidden, norm))
        rotated = self._rotate(mixed[:, :split].view(rows, self.heads + self.kv_heads, self.head_dim), cos, signed_sin)
        return rotated, mixed[:, split:].view(rows, self.kv_heads, self.head_dim)

    @staticmethod
    def _rotate(x: torch.Tensor, cos: torch.Tensor, signed_sin: torch.Tensor) -> torch.Tensor:
        """Rotary positions as transformers applies them, x cos + (-x2, x1) sin, with the sign
        folded into `signed_sin`."""
        return torch.addcmul(x * cos, x.roll(x.shape[-1] // 2, dims=-1), signed_sin)

    def _attend(self, queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                mask: torch.Tensor | None) -> torch.Tensor:
        """One token's attention for every row (queries: rows x heads x head dim; keys and values:
        rows x key/value heads x columns x head dim; `mask` added to the scores), as two batched
        matrix products with a softmax in fp32 between them: each key/value head's group of
        queries is one small product. PyTorch's CPU attention kernel (SDPA) took 3.5 ms a layer
        for 16 rows over 331 columns on an AVX-512 CPU without AMX, these products 0.27 ms; one
        row 0.22 against 0.09 ms (bf16; docs/speed-log.md)."""
        rows, groups = queries.shape[0], self.heads // self.kv_heads
        grouped = queries.reshape(rows, self.kv_heads, groups, self.head_dim)
        scores = torch.matmul(grouped, keys.transpose(-1, -2)).float() * self.head_dim ** -0.5
        if mask is not None:
            scores = scores + mask
        weights = scores.softmax(dim=-1).to(values.dtype)
        return torch.matmul(weights, values).reshape(rows, self.heads * self.head_dim)

    @torch.no_grad()
    def step(self, tokens: torch.Tensor, positions: torch.Tensor, cache: DynamicCache,
             mask: torch.Tensor) -> torch.Tensor:
        """Logits (rows x vocabulary, fp32) for `tokens` (one per row) at `positions`, appending
        their keys and values to `cache`'s layers; `mask` (rows x cache columns, this token's
        column included) is 1 where a real token is."""
        rows = tokens.shape[0]
        layers = self.dense_layers if self.dense_layers and rows >= DENSE_ROWS else self.layers
        if self._compiled_for(cache) and (rows > 1 or bool(mask.all())):
            hidden = self._through_compiled(tokens[:, None], positions[:, None], cache, layers,
                                            mask[:, :-1] if rows > 1 else None)
            return self.logits(torch.nn.functional.rms_norm(hidden, (hidden.shape[-1],), self.norm, self.eps))
        hidden = self.embed[tokens]
        cos, sin = self._rotary(positions)
        # Padding columns get -inf before the softmax; a batch without padding needs no mask.
        attend = None if bool(mask.all()) else torch.zeros(mask.shape, dtype=KV_DTYPE).masked_fill(
            mask == 0, float("-inf"))[:, None, None, :]
        stored = growing_layers(cache)
        for index, (norm_in, qkv, out, norm_mid, gate_up, down) in enumerate(layers):
            rotated, value = self._project(hidden, norm_in, qkv, cos, sin)
            keys, values = stored[index].update(rotated[:, self.heads:, None, :], value[:, :, None, :])
            attended = self._attend(rotated[:, :self.heads], keys, values, attend)
            hidden = self._feed_forward(hidden + out(attended), norm_mid, gate_up, down)
        return self.logits(torch.nn.functional.rms_norm(hidden, (hidden.shape[-1],), self.norm, self.eps))

    @torch.no_grad()
    def extend(self, tokens: torch.Tensor, start: int, cache: DynamicCache) -> torch.Tensor:
        """Logits (tokens x vocabulary, fp32) after each of `tokens` (one row's next tokens, the
        first at position `start`), appending their keys and values to `cache`, which holds that
        one row's earlier positions and no padding: a guessed continuation checked in one pass
        (prompt_lookup.py). Each token attends to the cache and to the tokens before it."""
        layers = self.dense_layers if self.dense_layers and tokens.shape[0] >= DENSE_ROWS else self.layers
        hidden = self._through_layers(tokens, start, cache, layers)
        return self.logits(torch.nn.functional.rms_norm(hidden, (hidden.shape[-1],), self.norm, self.eps))

    def _through_layers(self, tokens: torch.Tensor, start: int, cache: DynamicCache, layers: list[Layer],
                        reading: bool = False) -> torch.Tensor:
        """The last layer's output (tokens x hidden) for one row's `tokens`, the first at position
        `start`, appending their keys and values to `cache`, which holds that row's positions
        before `start`: for `extend`, and for `read` (`reading`: the last token's output only, 1 x
        hidden; for a 607-token prompt 561 against 580 ms (docs/speed-log.md), with the same keys
        and values, and logits within 2.3e-5 of the whole last layer's: the fp32 norms of one row
        sum in another order). The compact layers go through their compiled graphs where there
        are some for `cache` (`_through_compiled`). A prompt's tokens attend by this project's
        kernel where it is built; a guess checked by the eager layers attends as the eager step
        does, in bf16 products (`_attend_tokens`)."""
        count = tokens.shape[0]
        if layers is self.layers and self._compiled_for(cache):
            return self._through_compiled(tokens[None], torch.arange(start, start + count)[None], cache, layers)
        hidden = self.embed[tokens]
        cos, sin = self._rotary(torch.arange(start, start + count))
        kernel = reading and self.native_attention
        # For `_attend_tokens`: a token does not see those after it.
        later = None if kernel else torch.full((count, count), float("-inf")).triu(1)
        for index, (norm_in, qkv, out, norm_mid, gate_up, down) in enumerate(layers):
            rotated, value = self._project(hidden, norm_in, qkv, cos, sin)
            key = rotated[None, :, self.heads:].transpose(1, 2)  # 1 x key/value heads x tokens x head dim
            keys, values = cache.update(key, value[None].transpose(1, 2), index)
            if reading and index == len(layers) - 1:
                # A prompt's last layer: every token's keys and values are kept, but only the last
                # token's output is needed (for the logits), and each row of the rest is its own.
                rotated, hidden = rotated[-1:], hidden[-1:]
                later = None if later is None else later[-1:, -1:]
            if kernel:  # the keys laid out positions last for it
                keys = keys.transpose(-1, -2).contiguous().transpose(-1, -2)
                attended = self._attend_own_tokens(rotated[:, :self.heads], keys, values)
            else:
                assert later is not None  # made above wherever the kernel does not attend
                attended = self._attend_tokens(rotated[:, :self.heads], keys[0], values[0], later)
            hidden = self._feed_forward(hidden + out(attended), norm_mid, gate_up, down)
        return hidden

    @staticmethod
    def _attend_own_tokens(queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """Attention for one row's last tokens (queries: tokens x heads x head dim; keys and values:
        1 x key/value heads x columns x head dim, as `attend` takes them, the tokens last) by this
        project's kernel (native.py): each token a row of its own that sees the columns up to its
        own, for a prompt read and for guessed tokens checked."""
        count = queries.shape[0]
        return torch.ops.chatbot_native.attend(queries, keys.expand(count, -1, -1, -1),
                                               values.expand(count, -1, -1, -1), torch.empty(0), True)

    def _attend_tokens(self, queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                       later: torch.Tensor) -> torch.Tensor:
        """Attention for several new tokens of one row (queries: tokens x heads x head dim; keys
        and values: key/value heads x columns x head dim, the new tokens last; `later`: tokens x
        tokens, -inf above the diagonal), as `_attend` does it for one token of many rows: for
        `extend` and for `read`."""
        count, groups = queries.shape[0], self.heads // self.kv_heads
        # Each key/value head's queries, its group's heads one after another: (kv heads, group x tokens, head dim).
        grouped = queries.view(count, self.kv_heads, groups, self.head_dim).permute(1, 2, 0, 3)
        scores = torch.matmul(grouped.reshape(self.kv_heads, groups * count, self.head_dim), keys.transpose(-1, -2))
        scores = scores.float().view(self.kv_heads, groups, count, -1) * self.head_dim ** -0.5
        scores[..., -count:] += later
        weights = scores.softmax(dim=-1).to(values.dtype).view(self.kv_heads, groups * count, -1)
        attended = torch.matmul(weights, values).view(self.kv_heads, groups, count, self.head_dim)
        return attended.permute(2, 0, 1, 3).reshape(count, self.heads * self.head_dim)

    def _compiled_for(self, cache: DynamicCache) -> bool:
        """Whether the compiled layers can write into `cache`: keys laid out positions last as a
        running batch holds them (continuous_batch.py), and two positions or more (the compiler
        takes a size of 1 as a constant). The graphs do not check their inputs."""
        if self.compiled_layers is None or not cache.layers:
            return False
        keys = growing_layers(cache)[0].keys
        return keys.dim() == 4 and keys.shape[-2] > 1 and keys.stride(-2) == 1

    def _through_compiled(self, tokens: torch.Tensor, positions: torch.Tensor, cache: DynamicCache, layers: list[Layer],
                          mask: torch.Tensor | None = None) -> torch.Tensor:
        """The last layer's output ((rows x tokens) x hidden) for `tokens` at `positions` (rows x
        tokens: a step's one token for each row, or one row's next tokens) through the compiled
        layers (`_compiled_layer`), appending their keys and values to `cache`, which holds each
        row's earlier positions (`grow` shows the room the layers write into); `mask` (rows x
        cache columns) is 1 where a real token is: given for several rows, None for one row
        without padding."""
        compiled = self.compiled_layers
        assert compiled is not None  # callers check _compiled_for first
        rows, count = tokens.shape
        hidden = self.embed[tokens.flatten()]
        cos, sin = self._rotary(positions.flatten())
        later = torch.full((count, count), float("-inf")).triu(1)  # a token does not see those after it
        padding = None if mask is None else torch.zeros(mask.shape).masked_fill(mask == 0, float("-inf"))
        for stored in growing_layers(cache):
            stored.grow(count)  # the layers write their tokens' keys and values into the positions shown
        if rows == 1:  # a lone row: SPAN layers a graph (CompiledLayers.span)
            for first in range(0, len(layers), SPAN):
                span = growing_layers(cache)[first:first + SPAN]
                hidden = compiled.span(layers[first:first + SPAN], hidden, cos, sin,
                                                   [layer.keys for layer in span], [layer.values for layer in span],
                                                   later)
            return hidden
        for stored, layer in zip(growing_layers(cache), layers):
            hidden = compiled(layer, hidden, cos, sin, stored.keys, stored.values, padding, later)
        return hidden

    def _compiled_span(self, hidden: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, keys: list[torch.Tensor],
                       values: list[torch.Tensor], later: torch.Tensor, *weights: Any) -> torch.Tensor:
        """`_compiled_layer` for a lone row through several layers in turn (`keys` and `values`:
        each layer's; `weights`: each layer's six, one layer after another), for torch.compile
        (`CompiledLayers.span`)."""
        for index in range(len(keys)):
            hidden = self._compiled_layer(hidden, cos, sin, keys[index], values[index], None, later,
                                          *weights[6 * index:6 * index + 6])
        return hidden

    def _compiled_layer(self, hidden: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, keys: torch.Tensor,
                        values: torch.Tensor, padding: torch.Tensor | None, later: torch.Tensor, norm_in: torch.Tensor,
                        qkv: Linear, out: Linear, norm_mid: torch.Tensor, gate_up: Linear,
                        down: Linear) -> torch.Tensor:
        """One layer for each row's new tokens (hidden: (rows x tokens) x hidden size, a row's
        tokens together), written for torch.compile (`CompiledLayers`): the layer's output. `keys`
        and `values` (rows x key/value heads x columns x head dim) are the rows' positions before
        the tokens and then as many unwritten ones as tokens, into which the tokens' keys and
        values are written here, into the cache's buffers (a lone reply was written 1.06x as fast
        as when the caller copied them there, 1.12x with guessed tokens: docs/speed-log.md).
        `padding` (rows x columns before the tokens, for several rows) is added to their scores
        (-inf where a row's padding is), `later` as in `_attend_tokens`. A lone row's graphs take
        none (a lone row with padding is written by the eager step): adding a row of zeros is work
        the lone step need not do.

        Attention is this project's kernel where it is built (`native_attention`;
        attention_kernel.cpp), which takes a token of each row, or a lone row's tokens each as a
        row of its own that does not see the tokens after it. The compiler's loops read a
        key/value head's keys again for each of its query heads: with the kernel steps were 1.25x
        as fast for a lone row, 1.42x for 4 rows and 1.37x for 16, and a lone reply checking
        guessed tokens 1.64x (interleaved; docs/speed-log.md).

        Without the kernel, attention is products summed in fp32, in two parts, the cached
        positions and the new tokens, which the compiler fuses with the softmax into loops over
        the cache as it is laid out. Summed over the cache and the new tokens as one piece, as the
        step and `_attend_tokens` do, the compiled layer was slower than not compiling it (0.6x;
        docs/speed-log.md): the compiler copied the pieces together first. Either way a token's
        logits depend a little on how many tokens came with it (up to 0.2 apart), as a batched
        row's do."""
        rotated, value = self._project(hidden, norm_in, qkv, cos, sin)
        rows, count, groups = keys.shape[0], later.shape[0], self.heads // self.kv_heads
        key = rotated[:, self.heads:].reshape(rows, count, self.kv_heads, self.head_dim).transpose(1, 2)
        value = value.reshape(rows, count, self.kv_heads, self.head_dim).transpose(1, 2)
        keys[:, :, -count:], values[:, :, -count:] = key, value
        if self.native_attention and (count == 1 or rows == 1):  # this project's kernel (native.py)
            if count == 1:  # a token of each row
                padded = padding if padding is not None else torch.empty(0)
                attended = torch.ops.chatbot_native.attend(rotated[:, :self.heads], keys, values, padded)
            else:  # a lone row's tokens, each as a row of its own that does not see the tokens after it
                attended = self._attend_own_tokens(rotated[:, :self.heads], keys, values)
            return self._feed_forward(hidden + out(attended), norm_mid, gate_up, down)
        keys, values = keys[:, :, :-count], values[:, :, :-count]
        # rows x tokens x key/value heads x group x head dim, against rows x 1 x key/value heads x 1 x ...
        grouped = rotated[:, :self.heads].reshape(rows, count, self.kv_heads, groups, self.head_dim).float()
        if rows > 1:  # a batch's graph: see `held`
            grouped = held(grouped)
        new_keys, new_values = key.float()[:, None, :, None], value.float()[:, None, :, None]
        scale = self.head_dim ** -0.5
        cached = (grouped[..., None] * keys.transpose(-1, -2)[:, None, :, None].float()).sum(-2)  # ... x columns
        new = (grouped[..., None, :] * new_keys).sum(-1)  # ... x tokens
        cached = cached * scale if padding is None else cached * scale + padding[:, None, None, None, :]
        weights = torch.cat([cached, new * scale + later[None, :, None, None, :]], dim=-1).softmax(dim=-1)
        columns = keys.shape[-2]
        attended = (weights[..., :columns, None] * values[:, None, :, None].float()).sum(-2)
        attended = attended + (weights[..., columns:, None] * new_values).sum(-2)
        hidden = hidden + out(attended.reshape(rows * count, self.heads * self.head_dim).to(KV_DTYPE))
        return self._feed_forward(hidden, norm_mid, gate_up, down)

    @property
    def reads_prompts(self) -> bool:
        """Whether `read` can read prompts: it needs the bf16 reader's weights, packed."""
        return self.dense_layers is not None

    @torch.no_grad()
    def read(self, ids: torch.Tensor, cache: DynamicCache) -> torch.Tensor:
        """Read one prompt (ids: 1 x tokens) into `cache` (keys with their rotary
        positions applied, in bf16) and give the logits for the token after it (1 x vocabulary,
        fp32), as the step scores them. The same layers as the transformers reader in fewer
        operations: q/k/v and gate/up fused, fused norms, the residual stream in fp32 as in the
        step (a 244-token chat prompt: 89.5 ms against 117 for the reader's forward;
        docs/speed-log.md).

        `cache` may hold the prompt's first positions already, read before (prompt_cache.py);
        only the tokens after them are read, attending to them as well. A position's keys,
        values and logits are then bit for bit those of reading the prompt whole: each product's
        row is computed from its own row alone, and attention is this project's kernel
        (`native_attention`), which sums each token's columns as one block however many tokens
        are read with it, else the products of `_attend_tokens`. PyTorch's CPU attention kernel
        (SDPA) sums in blocks whose size follows the prompt's length; with it, 9 of 23 demo
        prompts read after the ones before differed by up to 0.72 in a logit, and 8 of 257
        demo-eval answers changed. The products took 0.630 against 0.654 s for a 607-token prompt,
        the kernel 0.55-0.58 s against the products' 0.70-0.79 (interleaved; docs/speed-log.md)."""
        assert self.dense_layers is not None, "only a decoder that reads_prompts reads them"
        start = cache.get_seq_length()
        hidden = self._through_layers(ids[0, start:], start, cache, self.dense_layers, reading=True)
        return self.logits(torch.nn.functional.rms_norm(hidden[-1:], (hidden.shape[-1],), self.norm, self.eps))

    @torch.no_grad()
    def logits(self, final: torch.Tensor) -> torch.Tensor:
        """Logits (rows x vocabulary, fp32) from the last layer's normalised output (rows x hidden).

        The compact output layer's logits are approximate, and in bf16 0.125 apart near 30, where
        near-ties are common: the likeliest tokens are scored again from the fp32 output weights,
        so the choice among them is the fp32 model's."""
        final = final.float()
        head = self.dense_head if self.dense_head and final.shape[0] >= DENSE_ROWS else self.lm_head
        logits = head(final.to(KV_DTYPE)).float()
        likeliest = logits.topk(min(RESCORED, logits.shape[-1]), dim=-1).indices
        exact = torch.einsum("rkd,rd->rk", self.output[likeliest], final)
        return logits.scatter_(-1, likeliest, exact)


def own_code(function: Any) -> Any:
    """A copy of `function` with a code object of its own: torch.compile keeps a function's
    compiled graphs with its code object, so each copy compiles, and is looked up, apart."""
    return types.FunctionType(function.__code__.replace(), function.__globals__, function.__name__,
                              function.__defaults__, function.__closure__)


class CompiledLayers:
    """The decoder layers (`FastDecoder._compiled_layer`) compiled by torch.compile into C++
    loops (PyTorch's inductor, which needs a C++ compiler): the norms, rotary positions,
    attention and gating fused, instead of about 40 small operations a layer in eager PyTorch,
    which for one row cost more than the weights' products. For a lone row, one graph for `SPAN`
    layers' token (a step) and one for their several tokens (a guessed continuation checked,
    prompt_lookup.py), per kind of layer (`span`); for a token of each of several rows (a batch's
    step), one graph a layer. The cache's length and the count of tokens or rows are symbolic, so
    a graph serves every length.

    torch.compile checks a call's inputs against each graph before running it, which cost about
    50 us a call (docs/speed-log.md), more than some of the layer's kernels; here each graph is a
    function of its own (`own_code`) that is only called with inputs like those it was compiled
    for (keys laid out positions last, at least two positions: FastDecoder._compiled_for), so the
    checks are skipped."""

    def __init__(self, decoder: FastDecoder) -> None:
        self.decoder = decoder
        self.compiled: dict[tuple, Callable[..., torch.Tensor]] = {}

    def __call__(self, layer: Layer, hidden: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, keys: torch.Tensor,
                 values: torch.Tensor, padding: torch.Tensor | None, later: torch.Tensor) -> torch.Tensor:
        """`FastDecoder._compiled_layer` for `layer` (its norms and products), compiled the first
        time for this kind of layer and of call (one token, several, several rows)."""
        batch, several = keys.shape[0] > 1, later.shape[0] > 1
        kind = (batch, several, *(type(weights).__name__ for weights in layer))
        compiled = self.compiled.get(kind)
        if compiled is None:
            # Only the cache's length, and the count of tokens or rows where there are several,
            # are symbolic: the model's sizes stay constants the compiler can unroll and vectorise by.
            marked: list[tuple[torch.Tensor | None, tuple[int, ...]]] = [(keys, (2,)), (values, (2,))]
            if batch or several:  # rows x tokens of them
                marked += [(hidden, (0,)), (cos, (0,)), (sin, (0,))]
            if several:
                marked += [(later, (0, 1))]
            if batch:
                marked += [(keys, (0,)), (values, (0,)), (padding, (0, 1))]
            compiled = self._compile(kind, FastDecoder._compiled_layer, marked)
        return compiled(self.decoder, hidden, cos, sin, keys, values, padding, later, *layer)

    def span(self, layers: list[Layer], hidden: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
             keys: list[torch.Tensor], values: list[torch.Tensor], later: torch.Tensor) -> torch.Tensor:
        """`FastDecoder._compiled_span` for a lone row through `layers`, compiled the first time
        for this many layers of these kinds, for one token or several."""
        several = later.shape[0] > 1
        kind = ("span", several, *(type(weights).__name__ for layer in layers for weights in layer))
        compiled = self.compiled.get(kind)
        if compiled is None:
            # As in __call__, for a lone row.
            marked: list[tuple[torch.Tensor | None, tuple[int, ...]]] = [(tensor, (2,)) for tensor in keys + values]
            if several:
                marked += [(hidden, (0,)), (cos, (0,)), (sin, (0,)), (later, (0, 1))]
            compiled = self._compile(kind, FastDecoder._compiled_span, marked)
        return compiled(self.decoder, hidden, cos, sin, keys, values, later, *(weights for layer in layers
                                                                              for weights in layer))

    def _compile(self, kind: tuple, function: Callable[..., torch.Tensor],
                 marked: list[tuple[torch.Tensor | None, tuple[int, ...]]]) -> Callable[..., torch.Tensor]:
        """`function` compiled as a graph of its own for calls of `kind`, the sizes in `marked`
        (each tensor's dims) symbolic; kept for the next such call."""
        compiled = self.compiled[kind] = torch.compile(
            own_code(function),
            # Rounding to bf16 where eager PyTorch rounds (the compiler would otherwise keep
            # fused values in fp32): a guess checked came 0.022 from its step's logits in the
            # real-model test with it, 0.091 without.
            options={"guard_filter_fn": torch.compiler.skip_all_guards_unsafe, "emulate_precision_casts": True})
        for tensor, dims in marked:
            for dim in dims:
                torch._dynamo.mark_dynamic(tensor, dim)
        return compiled

    def prepare(self) -> str:
        """Compile the graphs now, by writing after made-up 37-token prompts in throwaway
        caches: one token and then two for one row, a token for each of 4 rows, and for
        `DENSE_ROWS` + 1 rows where a batch that large multiplies by the dense weights; "" when
        that worked, else why not. (Sizes that are symbolic must differ from each other here:
        the compiler takes two equal sizes for one.)"""
        decoder = self.decoder
        try:
            with torch.no_grad():
                decoder._through_layers(torch.tensor([1]), 37, self._cache(1), decoder.layers)
                decoder._through_layers(torch.tensor([2, 3]), 38, self._cache(1), decoder.layers)
                for rows, layers in ((4, decoder.layers), (DENSE_ROWS + 1, decoder.dense_layers)):
                    if layers:
                        decoder._through_compiled(torch.ones((rows, 1), dtype=torch.long), torch.full((rows, 1), 37),
                                                  self._cache(rows), layers, torch.ones((rows, 37)))
        except Exception as error:  # noqa: BLE001 - any compiler failure: write without it
            return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        return ""

    def _cache(self, rows: int) -> DynamicCache:
        """A throwaway cache of `rows` rows of 37 positions, laid out as a running batch's."""
        decoder, cache = self.decoder, new_cache()
        shape = (rows, decoder.kv_heads, 37, decoder.head_dim)
        for index in range(len(decoder.layers)):
            cache.update(torch.zeros(shape, dtype=KV_DTYPE), torch.zeros(shape, dtype=KV_DTYPE), index)
            layer = growing_layers(cache)[index]
            layer.hold(layer.keys, layer.values, keys_positions_last=True)
        return cache
