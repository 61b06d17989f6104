"""The running batch's key/value cache layer (continuous_batch.py): keys and values held in buffers
with room to grow, so that a token, a joining row or a leaving row does not copy the rows that stay.

Importing this module imports torch and transformers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from transformers.cache_utils import DynamicLayer


class GrowingLayer(DynamicLayer):
    """A transformers cache layer (a DynamicLayer) whose keys and values are views of buffers with
    room to grow, in rows and in positions: a step writes its token into the room instead of
    copying the whole cache with torch.cat (a share of every decoding step), a joining row is
    copied into spare rows, and a leaving row's place is taken by the last row, so neither copies
    the rows that stay (restacking every row for each change weighed on ticket runs). The view is
    `buffer[:rows, :, start:end]`."""

    room = 128  # spare positions allocated at a time
    keys_positions_last = False  # see _place
    # None in transformers' base class until the first update, which every method here follows.
    keys: torch.Tensor
    values: torch.Tensor
    # Set by _place: the buffers (keys, values), the rows and the positions [start, end) shown.
    _buffers: tuple[torch.Tensor, torch.Tensor]
    _rows: int
    _start: int
    _end: int
    _view: torch.Tensor | None = None  # the keys as _show last set them (None: never)

    def hold(self, keys: torch.Tensor, values: torch.Tensor, keys_positions_last: bool) -> None:
        """Hold these keys and values (a prompt just read), copied into buffers laid out as
        `keys_positions_last` says (see _place); not copied again when they are this layer's
        own, already laid out so (the model's forward read the prompt and writes the reply)."""
        if keys is self.keys and values is self.values and keys_positions_last == self.keys_positions_last:
            return
        self.keys_positions_last = keys_positions_last
        self._place(keys, values, keys.shape[0], before=keys.shape[-2], after=1)

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any,
               **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        new = key_states.shape[-2]
        if self.keys.numel() == 0:  # the first positions: a prompt being read
            self._place(key_states[:, :, :0], value_states[:, :, :0], key_states.shape[0], before=0, after=new)
        else:
            self._make_room(new)
        keys, values = self._buffers
        keys[:self._rows, :, self._end:self._end + new] = key_states
        values[:self._rows, :, self._end:self._end + new] = value_states
        self._end += new
        self._show()
        return self.keys, self.values

    def grow(self, new: int) -> None:
        """Show `new` more positions after the held ones, not written yet: the compiled layers
        (lean/decoder.py) write their tokens' keys and values into them, which spares `update`'s
        copies: a lone reply's step spent 0.7-0.95 ms around the layers' graphs instead of 1.4-1.6
        (docs/speed-log.md)."""
        self._make_room(new)
        self._end += new
        self._show()

    def _make_room(self, new: int) -> None:
        """Buffers of this layer's own, with room for `new` positions after the held ones."""
        if not self._holds_view():  # keys set from outside (a batch selection, say)
            self._place(self.keys, self.values, self.keys.shape[0], before=self.keys.shape[-2], after=new)
        elif self._end + new > self._buffers[0].shape[-2]:
            self._place(self.keys, self.values, self._buffers[0].shape[0], before=self._end - self._start, after=new)

    def join(self, others: Sequence[GrowingLayer]) -> None:
        """Append the rows of freshly read layers, each right-aligned to the last position
        (its earlier positions are padding, masked out)."""
        longest = max(other.keys.shape[-2] for other in others)
        rows = self.keys.shape[0] + sum(other.keys.shape[0] for other in others)
        capacity = self._buffers[0].shape[0] if self._holds_view() else 0
        if rows > capacity or longest > self._end:
            capacity = capacity if rows <= capacity else max(rows, 2 * capacity)
            width = self.keys.shape[-2]
            self._place(self.keys, self.values, capacity, before=max(longest, width) + self.room, after=1)
        keys, values = self._buffers
        row = self._rows
        for other in others:
            count, length = other.keys.shape[0], other.keys.shape[-2]
            keys[row:row + count, :, self._end - length:self._end] = other.keys
            values[row:row + count, :, self._end - length:self._end] = other.values
            row += count
        self._rows, self._start = rows, min(self._start, self._end - longest)
        self._show()

    def drop(self, leaving: Sequence[int]) -> list[int]:
        """Remove rows, moving the last rows into their places (their shown positions only:
        the room after them is written before it is shown, and positions before them that a
        longer joining row shows are masked padding in theirs); the old index of each row
        kept, in its new order."""
        order = list(range(self._rows))
        for row in sorted(leaving, reverse=True):
            if row != len(order) - 1:
                for buffer in self._buffers:
                    buffer[row, :, self._start:self._end] = buffer[len(order) - 1, :, self._start:self._end]
                order[row] = order[-1]
            order.pop()
        self._rows = len(order)
        self._show()
        return order

    def trim(self, positions: int) -> None:
        """Forget the last `positions` positions (guessed tokens that were not kept)."""
        self._end -= positions
        self._show()

    def cut(self, positions: int) -> None:
        """Forget the first `positions` positions (padding in every row)."""
        self._start += positions
        self._show()

    def _holds_view(self) -> bool:
        return self._view is self.keys

    def _place(self, keys: torch.Tensor, values: torch.Tensor, capacity: int, before: int, after: int) -> None:
        """Copy keys and values into new zeroed buffers of `capacity` rows, right-aligned so
        that `before` positions end where the next one goes, with `after` + room beyond."""
        rows, length = keys.shape[0], keys.shape[-2]

        def room_for(held: torch.Tensor) -> torch.Tensor:  # keys and values may differ in their last dimension
            return held.new_zeros((capacity, *held.shape[1:-2], before + after + self.room, held.shape[-1]))

        def positions_last(held: torch.Tensor) -> torch.Tensor:  # room_for's shape, laid out with positions last
            shape = (capacity, *held.shape[1:-2], held.shape[-1], before + after + self.room)
            return held.new_zeros(shape).transpose(-1, -2)

        # For the lean step (keys_positions_last), keys are laid out positions last, so that
        # its scores (queries times keys transposed) read each head's keys as a plain matrix
        # with a row stride, where the matrix product first copied the transposed view and steps
        # were slower (bf16, AVX-512 without AMX; docs/speed-log.md, "Keys laid out positions
        # last"). The model's own forward (SDPA) wants them positions first.
        self._buffers = (positions_last(keys) if self.keys_positions_last else room_for(keys), room_for(values))
        self._buffers[0][:rows, :, before - length:before] = keys
        self._buffers[1][:rows, :, before - length:before] = values
        self._rows, self._start, self._end = rows, before - length, before
        self._show()

    def _show(self) -> None:
        keys, values = self._buffers
        self.keys = keys[:self._rows, :, self._start:self._end]
        self.values = values[:self._rows, :, self._start:self._end]
        self._view = self.keys
