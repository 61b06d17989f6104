"""The running batch's key/value cache layer: appending writes into spare room, and whatever the
batch does to its rows (leave, join, cut padding), the keys read back are the ones written,
and the rows that stay are not copied."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from chatbot.llm.continuous_batch import RunningBatch, forward_with_cache, new_cache  # noqa: E402


def token(rows: int, value: float, heads: int = 2, dim: int = 3) -> torch.Tensor:
    return torch.full((rows, heads, 1, dim), value)


def filled_layer(rows: int, steps: int):
    cache = new_cache()
    for step in range(steps):
        cache.update(token(rows, step), token(rows, -step), 0)
    return cache, cache.layers[0]


def test_appending_writes_into_the_room_instead_of_copying() -> None:
    cache, layer = filled_layer(rows=2, steps=5)
    buffer = layer._buffers[0]
    keys, values = cache.update(token(2, 5.0), token(2, -5.0), 0)
    assert layer._buffers[0] is buffer and keys.data_ptr() == buffer.data_ptr()  # no new buffer
    assert keys[:, 0, :, 0].tolist() == [[0, 1, 2, 3, 4, 5]] * 2
    assert values[:, 0, :, 0].tolist() == [[0, -1, -2, -3, -4, -5]] * 2


def test_growing_past_the_room_keeps_every_position() -> None:
    room = new_cache().layer_class_to_replicate.room
    cache, layer = filled_layer(rows=1, steps=room + 10)
    assert layer.keys[0, 0, :, 0].tolist() == [float(i) for i in range(room + 10)]


def rows_of(layer) -> list[list[float]]:
    return layer.keys[:, 0, :, 0].tolist()


def test_keys_selected_from_outside_are_taken_back_into_room() -> None:
    cache, layer = filled_layer(rows=3, steps=4)
    cache.batch_select_indices(torch.tensor([0, 2]))
    keys, _ = cache.update(token(2, 9.0), token(2, -9.0), 0)
    assert keys.shape[0] == 2 and keys[:, 1, :, 2].tolist() == [[0, 1, 2, 3, 9]] * 2


def test_a_leaving_row_is_replaced_by_the_last_and_the_order_is_told() -> None:
    cache = new_cache()
    cache.update(torch.tensor([10.0, 20.0, 30.0, 40.0]).view(4, 1, 1, 1).expand(4, 2, 1, 3).clone(), token(4, 0), 0)
    layer = cache.layers[0]
    assert layer.drop([0, 2]) == [3, 1]
    assert rows_of(layer) == [[40.0], [20.0]]
    keys, _ = cache.update(token(2, 5.0), token(2, 5.0), 0)
    assert keys[:, 0, :, 0].tolist() == [[40.0, 5.0], [20.0, 5.0]]


def test_after_padding_columns_are_cut_the_next_token_follows_the_rest() -> None:
    cache, layer = filled_layer(rows=1, steps=4)
    layer.cut(2)
    keys, values = cache.update(token(1, 7.0), token(1, -7.0), 0)
    assert keys[0, 0, :, 0].tolist() == [2, 3, 7] and values[0, 0, :, 0].tolist() == [-2, -3, -7]


def test_joining_rows_are_left_padded_with_zeros_and_keep_growing() -> None:
    long_cache, long_layer = filled_layer(rows=1, steps=4)
    _, short_layer = filled_layer(rows=2, steps=2)
    long_layer.join([short_layer])
    assert rows_of(long_layer) == [[0, 1, 2, 3], [0, 0, 0, 1], [0, 0, 0, 1]]
    keys, _ = long_cache.update(token(3, 8.0), token(3, -8.0), 0)
    assert keys[:, 0, :, 0].tolist() == [[0, 1, 2, 3, 8], [0, 0, 0, 1, 8], [0, 0, 0, 1, 8]]


def test_a_longer_joining_row_widens_the_batch_to_the_left() -> None:
    short_cache, short_layer = filled_layer(rows=1, steps=2)
    _, long_layer = filled_layer(rows=1, steps=5)
    short_layer.join([long_layer])
    assert rows_of(short_layer) == [[0, 0, 0, 0, 1], [0, 1, 2, 3, 4]]


def test_a_row_joining_after_others_left_reuses_their_room() -> None:
    cache, layer = filled_layer(rows=4, steps=3)
    buffer = layer._buffers[0]
    layer.drop([1, 2])
    _, newcomer = filled_layer(rows=1, steps=2)
    layer.join([newcomer])
    assert layer._buffers[0] is buffer  # written into a spare row: nothing else copied
    assert rows_of(layer) == [[0, 1, 2], [0, 1, 2], [0, 0, 1]]


def test_values_may_be_narrower_than_keys() -> None:
    cache = new_cache()
    cache.update(torch.ones(1, 2, 3, 4), torch.ones(1, 2, 3, 2), 0)
    keys, values = cache.update(torch.zeros(1, 2, 1, 4), torch.zeros(1, 2, 1, 2), 0)
    assert keys.shape == (1, 2, 4, 4) and values.shape == (1, 2, 4, 2)
    assert values[0, 0, :, 0].tolist() == [1, 1, 1, 0]


@pytest.mark.parametrize("positions_last", [False, True])
def test_held_keys_read_back_the_same_in_either_layout(positions_last: bool) -> None:
    """Keys held for the lean step are laid out positions last (each head's keys transposed are
    a plain matrix); joining, leaving, cutting and growing give back the same numbers as the
    usual layout."""
    cache, layer = filled_layer(rows=3, steps=4)
    keys = torch.arange(3 * 2 * 4 * 3, dtype=torch.float).view(3, 2, 4, 3)
    layer.hold(keys, -keys, keys_positions_last=positions_last)
    assert torch.equal(layer.keys, keys) and torch.equal(layer.values, -keys)
    assert (layer.keys.stride(-2) == 1) is positions_last  # positions are the innermost dimension
    _, newcomer = filled_layer(rows=1, steps=6)
    layer.join([newcomer])
    assert layer.drop([1]) == [0, 3, 2]  # the newcomer takes the leaving row's place
    grown, _ = cache.update(token(3, 9.0), token(3, -9.0), 0)
    padded = torch.cat([torch.zeros(3, 2, 2, 3), keys], dim=2)  # two columns wider for the newcomer
    assert torch.equal(grown[[0, 2], :, :-1], padded[[0, 2]]) and grown[:, 0, -1, 0].tolist() == [9.0] * 3
    assert grown[1, 0, :, 0].tolist() == [0, 1, 2, 3, 4, 5, 9]
    assert (grown.stride(-2) == 1) is positions_last


def test_keys_already_held_in_the_asked_layout_are_not_copied_again() -> None:
    cache, layer = filled_layer(rows=2, steps=3)
    buffer = layer._buffers[0]
    layer.hold(layer.keys, layer.values, keys_positions_last=False)
    assert layer._buffers[0] is buffer
    layer.hold(layer.keys, layer.values, keys_positions_last=True)
    assert layer._buffers[0] is not buffer and layer.keys.stride(-2) == 1
    assert layer.keys[:, 0, :, 0].tolist() == [[0, 1, 2]] * 2


class CacheNamedPastKeyValues(torch.nn.Module):
    """A transformers model whose forward takes its cache as `past_key_values`, as transformers
    5.17's models do (5.25's take `cache`), and like them takes unknown keywords into **kwargs."""

    def __init__(self, model) -> None:  # noqa: ANN001
        super().__init__()
        self.wrapped, self.config = model, model.config
        self.device, self.dtype = model.device, model.dtype

    def forward(self, input_ids=None, attention_mask=None, position_ids=None,  # noqa: ANN001, ANN201
                past_key_values=None, use_cache=None, logits_to_keep=0, **kwargs):
        return forward_with_cache(self.wrapped, past_key_values, input_ids=input_ids, attention_mask=attention_mask,
                                  position_ids=position_ids, logits_to_keep=logits_to_keep)


def test_a_model_whose_forward_names_its_cache_past_key_values_writes_what_one_naming_it_cache_writes() -> None:
    """On a GPU machine with transformers 5.17 every reply read its prompt, then went on as if
    each new token had nothing before it ("The-----...")."""
    from tests.fakes import DigitTokenizer, prompt, tiny_llama

    model = tiny_llama(on_grid=False)
    chats = [prompt(19, seed=7), prompt(11, seed=3)]
    written = []
    for forward in (model, CacheNamedPastKeyValues(model)):
        batch = RunningBatch(forward, DigitTokenizer(), set(), 0.0)
        batch.add(chats, [None, None])
        for _ in range(6):
            batch.step()
        written.append((batch.next_logits(), batch.tokens))  # the logits after 7 tokens of each reply
    torch.testing.assert_close(written[1][0], written[0][0], atol=0, rtol=0)
    assert written[1][1] == written[0][1]
