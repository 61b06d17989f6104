"""The running batch's key/value cache layer: appending writes into spare room, and whatever the
batch does to its rows (leave, join, cut padding), the keys read back are the ones written."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from chatbot.running_batch import new_cache  # noqa: E402


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


def test_after_a_row_leaves_the_next_token_lands_after_the_kept_rows_keys() -> None:
    cache, layer = filled_layer(rows=3, steps=4)
    cache.batch_select_indices(torch.tensor([0, 2]))
    keys, _ = cache.update(token(2, 9.0), token(2, -9.0), 0)
    assert keys.shape[0] == 2 and keys[:, 1, :, 2].tolist() == [[0, 1, 2, 3, 9]] * 2


def test_after_padding_columns_are_cut_the_next_token_follows_the_rest() -> None:
    cache, layer = filled_layer(rows=1, steps=4)
    layer.keys, layer.values = layer.keys[..., 2:, :], layer.values[..., 2:, :]  # as RunningBatch.keep does
    keys, values = cache.update(token(1, 7.0), token(1, -7.0), 0)
    assert keys[0, 0, :, 0].tolist() == [2, 3, 7] and values[0, 0, :, 0].tolist() == [-2, -3, -7]


def test_stacked_rows_are_left_padded_with_zeros_and_keep_growing() -> None:
    long_cache, long_layer = filled_layer(rows=1, steps=4)
    _, short_layer = filled_layer(rows=2, steps=2)
    long_layer.stack([long_layer, short_layer], width=4)
    assert long_layer.keys[:, 0, :, 0].tolist() == [[0, 1, 2, 3], [0, 0, 0, 1], [0, 0, 0, 1]]
    keys, _ = long_cache.update(token(3, 8.0), token(3, -8.0), 0)
    assert keys[:, 0, :, 0].tolist() == [[0, 1, 2, 3, 8], [0, 0, 0, 1, 8], [0, 0, 0, 1, 8]]
