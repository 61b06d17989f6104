"""This project's kernels (native.py): built with g++ at first use, the int4 kernel
(int4_kernel.cpp) gives the product of the weights it packed and the attention kernel
(attention_kernel.cpp) a new token's attention over the cache; they serve the lean step, and where
they cannot be built or the CPU lacks AVX-512 VNNI the step says why and multiplies with PyTorch's
kernel."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from chatbot.llm.continuous_batch import RunningBatch  # noqa: E402
from chatbot.llm.lean import native  # noqa: E402
from chatbot.llm.lean.decoder import (  # noqa: E402
    DENSE_ROWS,
    GROUP,
    RESCORED,
    DenseLinear,
    FastDecoder,
    Int4Linear,
    NativeInt4Linear,
)
from tests.fakes import DigitTokenizer, next_logits, prompt, tiny_llama, write_alike  # noqa: E402

needs_kernel = pytest.mark.skipif(bool(native.kernels()), reason=f"no kernels here: {native.kernels()}")


def packed_weights(rows: int, inputs: int, seed: int) -> tuple:
    """Random 4-bit codes with a scale and lowest weight per group, and the weights they stand for
    (scales and lowest weights in fp16, as the kernel holds them)."""
    generator = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, 16, (rows, inputs), generator=generator, dtype=torch.int32)
    scale = torch.rand(inputs // GROUP, rows, generator=generator) * 0.01 + 0.001
    low = -7.5 * scale + torch.randn(inputs // GROUP, rows, generator=generator) * 0.002
    weights = (codes.view(rows, -1, GROUP).float() * scale.T.half().float()[..., None]
               + low.T.half().float()[..., None]).view(rows, inputs)
    return (codes, scale, low), weights


@needs_kernel
@pytest.mark.parametrize("rows, inputs", [(16, 32), (960, 576), (576, 1536)])
def test_the_kernel_gives_the_product_of_the_weights_it_packed(rows: int, inputs: int) -> None:
    groups, weights = packed_weights(rows, inputs, seed=rows)
    linear = NativeInt4Linear(*groups)
    for count in (1, 3, 4, 5, 9):  # rows of x are multiplied four at a time
        x = torch.randn(count, inputs, generator=torch.Generator().manual_seed(count)).bfloat16()
        product = linear(x)
        assert product.dtype == torch.bfloat16 and product.shape == (count, rows)
        exact = x.float() @ weights.T
        # Each row within 0.4% of the exact product (0.17% measured; bf16 output rounding alone is up to 0.4% an entry).
        error = (product.float() - exact).norm(dim=-1) / exact.norm(dim=-1)
        assert error.max() < 0.004, error
    empty = linear(torch.zeros(0, inputs).bfloat16())
    assert empty.shape == (0, rows)


@needs_kernel
def test_the_kernel_names_a_mismatch_of_inputs() -> None:
    groups, _ = packed_weights(32, 64, seed=1)
    linear = NativeInt4Linear(*groups)
    with pytest.raises(RuntimeError, match="x has 96 inputs, the weights 64"):
        linear(torch.zeros(1, 96).bfloat16())
    with pytest.raises(RuntimeError, match="rows a multiple of 16"):
        torch.ops.chatbot_native.int4_pack(groups[0][:8], groups[1][:, :8], groups[2][:, :8])


@needs_kernel
def test_the_lean_step_multiplies_with_the_kernel_and_gives_the_models_logits() -> None:
    model = tiny_llama(on_grid=True)
    writer = FastDecoder(model, native=True)
    assert writer.native_error == ""
    kinds = {type(linear) for layer in writer.layers for linear in layer[1::3] + layer[2::3]}
    assert kinds == {NativeInt4Linear} and type(writer.lm_head) is NativeInt4Linear
    chats = [prompt(19, seed=1), prompt(7, seed=2)]
    reference, plain = next_logits(model, None, chats), next_logits(model, FastDecoder(model), chats)
    for fast, expected, torch_kernel in zip(next_logits(model, writer, chats), reference, plain):
        assert fast.argmax() == expected.argmax()
        likeliest = fast.topk(RESCORED).indices
        assert (fast[likeliest] - expected[likeliest]).abs().max() < 0.01
        assert not torch.equal(fast, torch_kernel)  # the kernel's own sums, not PyTorch's


def cache_like_the_lean_steps(rows: int, kv_heads: int, columns: int, seed: int) -> tuple:
    """Keys and values (rows x kv heads x columns x 64, bf16) as views of buffers with room, laid
    out as the lean step holds them: keys positions last, values head dim last."""
    generator = torch.Generator().manual_seed(seed)
    room = columns + 45  # unwritten positions after the columns, as a running batch leaves
    keys = (torch.randn(rows + 2, kv_heads, 64, room, generator=generator) * 2).bfloat16().transpose(-1, -2)
    values = torch.randn(rows + 2, kv_heads, room, 64, generator=generator).bfloat16()
    return keys[:rows, :, :columns], values[:rows, :, :columns]


def attention(queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, padding: torch.Tensor | None):
    """Each row's token attending to its columns, in fp32 (the compiled layers' own formula)."""
    rows, kv_heads, columns, dim = keys.shape
    grouped = queries.float().view(rows, kv_heads, -1, dim)
    scores = grouped @ keys.float().transpose(-1, -2) * dim ** -0.5
    if padding is not None:
        scores[..., :padding.shape[1]] += padding[:, None, None]
    return (scores.softmax(-1) @ values.float()).reshape(rows, -1)


@needs_kernel
@pytest.mark.parametrize("rows, heads, kv_heads, columns", [
    (1, 9, 3, 1), (1, 9, 3, 37), (1, 9, 3, 640), (3, 8, 2, 100), (16, 9, 3, 333), (2, 4, 4, 64), (5, 8, 2, 31)])
def test_the_attention_kernel_gives_each_rows_attention_over_its_columns(
        rows: int, heads: int, kv_heads: int, columns: int) -> None:
    keys, values = cache_like_the_lean_steps(rows, kv_heads, columns, seed=columns)
    queries = torch.randn(rows, heads, 64, generator=torch.Generator().manual_seed(rows)).bfloat16()
    cases = [None]
    if rows > 1:  # a batch's shorter rows: their first columns are padding, the last (the token's own) never
        padding = torch.zeros(rows, columns - 1)
        for row in range(1, rows):
            padding[row, :(row * 7) % (columns - 1)] = float("-inf")
        cases.append(padding)
    for padding in cases:
        attended = torch.ops.chatbot_native.attend(queries, keys, values, torch.empty(0) if padding is None else padding)
        assert attended.dtype == torch.bfloat16 and attended.shape == (rows, heads * 64)
        expected = attention(queries, keys, values, padding)
        # bf16 rounding of the output alone is up to 0.4% of an entry.
        torch.testing.assert_close(attended.float(), expected, atol=2e-3, rtol=8e-3)


@needs_kernel
@pytest.mark.parametrize("tokens, columns", [(1, 1), (4, 40), (37, 37), (300, 333)])
def test_causal_rows_see_the_columns_up_to_their_own_and_do_not_depend_on_those_read_with_them(
        tokens: int, columns: int) -> None:
    """A prompt's tokens (or a reply's guesses), the last `tokens` of one row's columns."""
    keys, values = cache_like_the_lean_steps(1, 3, columns, seed=tokens)
    queries = torch.randn(tokens, 9, 64, generator=torch.Generator().manual_seed(columns)).bfloat16()
    attended = torch.ops.chatbot_native.attend(queries, keys.expand(tokens, -1, -1, -1),
                                               values.expand(tokens, -1, -1, -1), torch.empty(0), True)
    later = torch.zeros(tokens, columns)
    later[:, columns - tokens:] = torch.full((tokens, tokens), float("-inf")).triu(1)
    expected = attention(queries, keys.expand(tokens, -1, -1, -1), values.expand(tokens, -1, -1, -1), later)
    torch.testing.assert_close(attended.float(), expected, atol=2e-3, rtol=8e-3)
    # The first tokens read alone (a prompt's start, read before the rest): the same bits.
    first = max(1, tokens // 3)
    seen = columns - tokens + first
    alone = torch.ops.chatbot_native.attend(queries[:first], keys[:, :, :seen].expand(first, -1, -1, -1),
                                            values[:, :, :seen].expand(first, -1, -1, -1), torch.empty(0), True)
    assert torch.equal(alone, attended[:first])


@needs_kernel
def test_the_attention_kernel_names_what_it_cannot_take() -> None:
    keys, values = cache_like_the_lean_steps(2, 3, 40, seed=1)
    queries = torch.zeros(2, 9, 64).bfloat16()
    attend = torch.ops.chatbot_native.attend
    with pytest.raises(RuntimeError, match="positions last"):
        attend(queries, keys.contiguous(), values, torch.empty(0))
    with pytest.raises(RuntimeError, match="1-4 query heads"):
        attend(torch.zeros(2, 15, 64).bfloat16(), keys, values, torch.empty(0))
    with pytest.raises(RuntimeError, match="must be bf16"):
        attend(queries.float(), keys, values, torch.empty(0))
    with pytest.raises(RuntimeError, match="padding must be rows"):
        attend(queries, keys, values, torch.zeros(2, 41))
    with pytest.raises(RuntimeError, match="no columns"):  # more causal rows than columns
        attend(torch.zeros(3, 9, 64).bfloat16(), keys[:1, :, :2].expand(3, -1, -1, -1),
               values[:1, :, :2].expand(3, -1, -1, -1), torch.empty(0), True)


@needs_kernel
@pytest.mark.real  # compiles (about 30 s on this project's 2-core machine)
def test_the_compiled_layers_attend_with_the_kernel_and_write_what_the_eager_layers_write() -> None:
    model = tiny_llama(on_grid=True, head_dim=64, initializer_range=0.3)  # the kernel's head dim; sharp attention
    compiled, eager = FastDecoder(model, compile_step=True, native=True), FastDecoder(model, native=True)
    assert compiled.compile_error == "" and compiled.native_attention
    chats = [prompt(19, seed=7), prompt(11, seed=3), prompt(5, seed=2)]
    for rows in (chats[:1], chats):  # a lone row, and 3 padded rows
        write_alike(model, eager, compiled, rows)
    # A lone row's guessed tokens checked in one pass: each attends to those before it, not after.
    guesses = torch.tensor([5, 17, 2, 9])
    checked = []
    for writer in (eager, compiled):
        batch = RunningBatch(model, DigitTokenizer(), set(), 0.0, writer=writer)
        batch.add(chats[:1], [None])
        checked.append(writer.extend(guesses, batch.mask.shape[1], batch.cache))
    torch.testing.assert_close(checked[1], checked[0], atol=1.0, rtol=0)


@needs_kernel
def test_the_librarys_dense_product_gives_onednns_product() -> None:
    torch.manual_seed(0)
    linear = DenseLinear(torch.randn(48, 64), torch.randn(16, 64), native=True)
    x = torch.randn(DENSE_ROWS, 64).bfloat16()
    product = torch.ops.chatbot_native.dense_product(x, linear.packed)
    torch.testing.assert_close(product, linear(x), atol=0, rtol=0)


def test_where_the_kernel_cannot_be_built_the_step_says_why_and_uses_pytorchs(
        monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # noqa: ANN001
    monkeypatch.setattr(native, "_state", {})
    monkeypatch.setattr(native, "_cpu_flags", lambda: set(native.CPU_FLAGS))
    monkeypatch.setenv("CHATBOT_NATIVE_DIR", str(tmp_path))
    monkeypatch.setenv("CXX", "/bin/false")
    model = tiny_llama(on_grid=True)
    writer = FastDecoder(model, native=True)
    assert writer.native_error.startswith("OSError: building the kernels failed")
    assert {type(linear) for layer in writer.layers for linear in layer[1::3] + layer[2::3]} == {Int4Linear}
    assert list(tmp_path.iterdir()) == []  # nothing half-built left behind
    chats = [prompt(19, seed=1)]
    (written,), (plain,) = next_logits(model, writer, chats), next_logits(model, FastDecoder(model), chats)
    torch.testing.assert_close(written, plain, atol=0, rtol=0)


def test_a_cpu_without_avx512_vnni_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "_state", {})
    monkeypatch.setattr(native, "_cpu_flags", lambda: {"avx512f", "avx512bw", "f16c", "fma"})
    assert native.kernels() == "the CPU lacks avx512_vnni"
    assert FastDecoder(tiny_llama(on_grid=True), native=True).native_error == "the CPU lacks avx512_vnni"

