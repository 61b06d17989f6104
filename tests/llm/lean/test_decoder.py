"""The lean decoding step (llm/lean/decoder.py) on a small random Llama built here (no download): it
computes the logits the transformers model computes, its layers in int4 when the weights are on
a 4-bit grid and int8 otherwise, and each row of a padded batch gets what it gets alone."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from chatbot.llm.continuous_batch import RunningBatch  # noqa: E402
from chatbot.llm.lean.decoder import DENSE_ROWS, RESCORED, DenseLinear, FastDecoder, supports  # noqa: E402
from tests.fakes import DigitTokenizer, next_logits, prompt, tiny_llama, write_alike  # noqa: E402


@pytest.mark.parametrize("on_grid, bits", [(True, 4), (False, 8)])
def test_a_step_gives_the_logits_the_transformers_model_gives(on_grid: bool, bits: int) -> None:
    model = tiny_llama(on_grid)
    writer = FastDecoder(model)
    assert {linear.bits for layer in writer.layers for linear in layer[1::3] + layer[2::3]} == {bits}
    chats = [prompt(19, seed=1)]
    (fast,), (reference,) = next_logits(model, writer, chats), next_logits(model, None, chats)
    assert fast.argmax() == reference.argmax()
    # The output layer ranks in int4; the likeliest tokens are scored again in fp32.
    assert torch.nn.functional.cosine_similarity(fast, reference, dim=0) > 0.99
    likeliest = fast.topk(RESCORED).indices
    assert (fast[likeliest] - reference[likeliest]).abs().max() < (0.01 if on_grid else 0.05)


def test_each_row_of_a_padded_batch_gets_the_logits_it_gets_alone() -> None:
    model = tiny_llama(on_grid=True)
    writer = FastDecoder(model)
    chats = [prompt(7, seed=2), prompt(19, seed=3), prompt(12, seed=4)]
    together = next_logits(model, writer, chats)
    for chat, logits in zip(chats, together):
        (alone,) = next_logits(model, writer, [chat])
        torch.testing.assert_close(logits, alone, atol=1e-2, rtol=0)
        assert logits.argmax() == alone.argmax()


def test_packed_bf16_weights_give_the_product_of_the_weights_they_were_packed_from() -> None:
    torch.manual_seed(0)
    q, k = torch.randn(48, 64).bfloat16(), torch.randn(16, 64).bfloat16()
    linear = DenseLinear(q, k)
    assert linear.packed.shape == (64, 64)
    for rows in (1, DENSE_ROWS, 3 * DENSE_ROWS + 1):
        x = torch.randn(rows, 64).bfloat16()
        torch.testing.assert_close(linear(x), torch.cat([x @ q.T, x @ k.T], dim=-1), atol=0.05, rtol=0.01)


def test_many_rows_are_written_with_the_bf16_readers_weights_which_it_leaves_as_they_were(monkeypatch: pytest.MonkeyPatch) -> None:
    import copy

    model = tiny_llama(on_grid=True)
    reader = copy.deepcopy(model).to(torch.bfloat16)
    ids = torch.tensor([[int(t) for t in prompt(11, seed=5)[0]["content"].split()]])
    with torch.no_grad():
        read_before = reader(input_ids=ids).logits
    writer = FastDecoder(model, reader)
    assert {linear.bits for layer in writer.dense_layers for linear in layer[1::3] + layer[2::3]} == {16}
    with torch.no_grad():
        torch.testing.assert_close(reader(input_ids=ids).logits, read_before, atol=0, rtol=0)

    chats = [prompt(7 + row, seed=20 + row) for row in range(DENSE_ROWS)]
    fast, reference = next_logits(model, writer, chats), next_logits(model, None, chats)
    for row_fast, row_reference in zip(fast, reference):
        assert row_fast.argmax() == row_reference.argmax()
        assert torch.nn.functional.cosine_similarity(row_fast, row_reference, dim=0) > 0.99
    # The bf16 layers serve steps of DENSE_ROWS rows or more only (prompts are read by them too).
    calls, product = [], DenseLinear.__call__
    monkeypatch.setattr(DenseLinear, "__call__", lambda linear, x: calls.append(x.shape[0]) or product(linear, x))
    for rows in (DENSE_ROWS - 1, DENSE_ROWS):
        batch = RunningBatch(model, DigitTokenizer(), set(), 0.0, writer=writer)
        batch.add(chats[:rows], [None] * rows)
        calls.clear()
        batch.next_logits()
        assert set(calls) == (set() if rows < DENSE_ROWS else {rows})


def test_a_prompt_read_by_the_lean_layers_gives_the_models_cache_and_logits() -> None:
    import copy

    from transformers import DynamicCache

    from chatbot.llm.continuous_batch import forward_with_cache, new_cache

    model = tiny_llama(on_grid=True)
    writer = FastDecoder(model, copy.deepcopy(model).to(torch.bfloat16))
    assert writer.reads_prompts and not FastDecoder(model).reads_prompts
    ids = torch.tensor([[int(t) for t in prompt(23, seed=6)[0]["content"].split()]])
    cache, reference_cache = new_cache(), DynamicCache()
    logits = writer.read(ids, cache)
    with torch.no_grad():
        reference = forward_with_cache(model, reference_cache, input_ids=ids).logits[:, -1]
    assert logits.shape == reference.shape and logits.argmax() == reference.argmax()
    assert torch.nn.functional.cosine_similarity(logits, reference).item() > 0.999
    assert len(cache.layers) == len(reference_cache.layers)
    for layer, expected in zip(cache.layers, reference_cache.layers):
        assert layer.keys.dtype == torch.bfloat16 and layer.keys.shape == expected.keys.shape
        torch.testing.assert_close(layer.keys.float(), expected.keys, atol=0.05, rtol=0.02)
        torch.testing.assert_close(layer.values.float(), expected.values, atol=0.05, rtol=0.02)


def test_a_prompts_last_layer_multiplies_only_its_last_token_past_the_keys_and_values(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import copy

    from chatbot.llm.continuous_batch import new_cache

    model = tiny_llama(on_grid=True)
    writer = FastDecoder(model, copy.deepcopy(model).to(torch.bfloat16))
    ids = torch.tensor([[int(t) for t in prompt(23, seed=6)[0]["content"].split()]])
    whole_cache = new_cache()
    logits = writer.read(ids, whole_cache)
    calls, product = [], DenseLinear.__call__
    monkeypatch.setattr(DenseLinear, "__call__",
                        lambda linear, x: calls.append((linear, x.shape[0])) or product(linear, x))
    cache = new_cache()
    writer.read(ids[:, :9], cache)
    calls.clear()
    torch.testing.assert_close(writer.read(ids, cache), logits, atol=0, rtol=0)  # the rest, after 9 tokens held
    rows = {linear: count for linear, count in calls}
    _, qkv, out, _, gate_up, down = writer.dense_layers[-1]
    assert rows[qkv] == ids.shape[1] - 9 and rows[out] == rows[gate_up] == rows[down] == 1
    earlier = [rows[linear] for layer in writer.dense_layers[:-1] for linear in layer[1:3] + layer[4:6]]
    assert earlier == [ids.shape[1] - 9] * len(earlier)
    for layer, expected in zip(cache.layers, whole_cache.layers):  # every token's keys and values are kept
        torch.testing.assert_close(layer.keys, expected.keys, atol=0, rtol=0)
        torch.testing.assert_close(layer.values, expected.values, atol=0, rtol=0)


def test_models_the_step_cannot_write_for_are_named_with_the_reason() -> None:
    assert supports(tiny_llama(False)) == ""
    assert "biases" in supports(tiny_llama(False, attention_bias=True))
    assert "float32" in supports(tiny_llama(False).to(torch.bfloat16))
    assert "rotary scaling" in supports(tiny_llama(False, rope_parameters={"rope_type": "linear", "factor": 2.0, "rope_theta": 10000.0}))
    with pytest.raises(ValueError, match="biases"):
        FastDecoder(tiny_llama(False, mlp_bias=True))


def test_where_torch_compile_fails_the_step_is_written_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_compiler(*args: object, **options: object) -> None:
        raise RuntimeError("Compiler: g++ not found")

    monkeypatch.setattr(torch, "compile", no_compiler)
    model = tiny_llama(on_grid=True)
    writer = FastDecoder(model, compile_step=True)
    assert writer.compiled_layers is None and writer.compile_error == "RuntimeError: Compiler: g++ not found"
    chats = [prompt(19, seed=1)]
    (written,), (plain,) = next_logits(model, writer, chats), next_logits(model, FastDecoder(model), chats)
    torch.testing.assert_close(written, plain, atol=0, rtol=0)


@pytest.mark.parametrize("chats", [[prompt(19, seed=7)], [prompt(19, seed=7), prompt(11, seed=3), prompt(5, seed=2)]],
                         ids=["a lone row", "3 rows, padded"])
@pytest.mark.real  # compiles (about 20 s the first time on a machine)
def test_compiled_int8_layers_write_what_the_eager_layers_write(chats: list) -> None:
    """The bundled model's layers are int4 (its compiled layers are tested in test_real_models.py);
    a model whose weights are not on a 4-bit grid gets int8 layers, compiled as a kind of their own."""
    model = tiny_llama(on_grid=False, initializer_range=0.3)  # sharper attention than the default 0.02
    plain, compiled = FastDecoder(model), FastDecoder(model, compile_step=True)
    assert compiled.compile_error == "" and {linear.bits for layer in compiled.layers for linear in layer[1::3]} == {8}
    write_alike(model, plain, compiled, chats)


@pytest.mark.real  # compiles (about 20 s the first time on a machine)
def test_a_lone_rows_compiled_layers_go_a_span_at_a_time_and_write_what_one_layer_a_graph_writes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from chatbot.llm.lean import decoder as fast_decode
    from chatbot.llm.lean.decoder import CompiledLayers

    monkeypatch.setattr(fast_decode, "SPAN", 2)  # 5 layers: two spans of 2 (one graph for both), then one of 1
    model = tiny_llama(on_grid=True, num_hidden_layers=5, initializer_range=0.3)
    writer = FastDecoder(model, compile_step=True)
    assert writer.compile_error == ""
    spans, layers = [], []
    span, layer = CompiledLayers.span, CompiledLayers.__call__
    monkeypatch.setattr(CompiledLayers, "span",
                        lambda self, part, *rest: spans.append(len(part)) or span(self, part, *rest))
    monkeypatch.setattr(CompiledLayers, "__call__", lambda self, *rest: layers.append(1) or layer(self, *rest))

    def one_layer_a_graph(self, part, hidden, cos, sin, keys, values, later):  # noqa: ANN001, ANN202
        for weights, key, value in zip(part, keys, values):
            hidden = self(weights, hidden, cos, sin, key, value, None, later)
        return hidden

    chats, written = [prompt(19, seed=7)], []
    for spanned in (True, False):
        if not spanned:
            monkeypatch.setattr(CompiledLayers, "span", one_layer_a_graph)
        batch = RunningBatch(model, DigitTokenizer(), set(), 0.0, writer=writer)
        batch.add(chats, [None])
        spans.clear()
        layers.clear()
        steps = [batch.next_logits() for _ in range(3)]
        checked = writer.extend(torch.tensor([5, 17, 2, 9]), batch.mask.shape[1], batch.cache)
        written.append((steps, checked))
        assert (spans, layers) == (([2, 2, 1] * 4, []) if spanned else ([], [1] * 20))
    # Spans of as many layers of the same kinds share a graph: 2 layers and 1, for a token and for several.
    assert sum(kind[0] == "span" for kind in writer.compiled_layers.compiled) == 4
    (spanned_steps, spanned_check), (plain_steps, plain_check) = written
    for spanned_step, plain_step in zip(spanned_steps, plain_steps):
        torch.testing.assert_close(spanned_step, plain_step, atol=0, rtol=0)
    torch.testing.assert_close(spanned_check, plain_check, atol=0, rtol=0)
