"""This project's int4 kernel (native.py, int4_kernel.cpp): built with g++ at first use, it gives
the product of the weights it packed, serves the lean step, and where it cannot be built or the
CPU lacks AVX-512 VNNI the step says why and multiplies with PyTorch's kernel."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from chatbot import native  # noqa: E402
from chatbot.fast_decode import GROUP, RESCORED, FastDecoder, Int4Linear, NativeInt4Linear  # noqa: E402
from tests.test_fast_decode import next_logits, prompt, tiny_llama  # noqa: E402

needs_kernel = pytest.mark.skipif(bool(native.int4_kernel()), reason=f"no int4 kernel here: {native.int4_kernel()}")


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


def test_where_the_kernel_cannot_be_built_the_step_says_why_and_uses_pytorchs(
        monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # noqa: ANN001
    monkeypatch.setattr(native, "_state", {})
    monkeypatch.setattr(native, "_cpu_flags", lambda: set(native.CPU_FLAGS))
    monkeypatch.setenv("CHATBOT_NATIVE_DIR", str(tmp_path))
    monkeypatch.setenv("CXX", "/bin/false")
    model = tiny_llama(on_grid=True)
    writer = FastDecoder(model, native=True)
    assert writer.native_error.startswith("OSError: building the int4 kernel failed")
    assert {type(linear) for layer in writer.layers for linear in layer[1::3] + layer[2::3]} == {Int4Linear}
    assert list(tmp_path.iterdir()) == []  # nothing half-built left behind
    chats = [prompt(19, seed=1)]
    (written,), (plain,) = next_logits(model, writer, chats), next_logits(model, FastDecoder(model), chats)
    torch.testing.assert_close(written, plain, atol=0, rtol=0)


def test_a_cpu_without_avx512_vnni_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "_state", {})
    monkeypatch.setattr(native, "_cpu_flags", lambda: {"avx512f", "avx512bw", "f16c", "fma"})
    assert native.int4_kernel() == "the CPU lacks avx512_vnni"
    assert FastDecoder(tiny_llama(on_grid=True), native=True).native_error == "the CPU lacks avx512_vnni"

