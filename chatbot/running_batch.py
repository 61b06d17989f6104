"""A batch of replies that rows can join and leave at every token (continuous batching), on a
transformers decoder: new chats are read into the running batch's key/value cache, finished ones
leave with their part of it, so the batch stays full instead of waiting for its longest reply."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from chatbot.generation import Message


class DecodingBatch(Protocol):
    """Replies written together (RunningBatch below): `add` and `step` give each row's new piece
    of text, or None where its reply ended."""

    def can_join(self) -> bool: ...

    def add(self, conversations: Sequence[Sequence[Message]], temperatures: Sequence[float | None]) -> list[str | None]: ...

    def step(self) -> list[str | None]: ...

    def keep(self, rows: Sequence[int]) -> None: ...


class RunningBatch:
    """Rows of replies written together, one token per `step` for every row.

    Prompts are read with left padding, so every row's next token sits in the last column; a new
    group's cache is padded on the left to the running batch's length (or the other way round)
    and the padding is masked out. Keys are stored with their rotary positions already applied,
    and each row's positions count its own tokens only, so a reply written here is the reply
    written alone, token for token, in greedy decoding.
    """

    def __init__(self, model: Any, tokenizer: Any, end_tokens: set[int], default_temperature: float) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.end_tokens = end_tokens
        self.default_temperature = default_temperature
        self._empty()

    def _empty(self) -> None:
        self.cache: Any = None
        self.mask: Any = None  # rows x columns of the cache, 1 where a real token is
        self.next_tokens: Any = None  # each row's latest token, read at the next step
        self.temperatures: list[float] = []
        self.tokens: list[list[int]] = []  # each row's reply so far
        self.shown: list[str] = []

    @property
    def rows(self) -> int:
        return len(self.tokens)

    def can_join(self) -> bool:
        """Whether rows can join while others are being written: only for caches made of plain
        growing key/value layers (sliding-window and other layers keep state this class does not
        pad or merge; their batches are filled only when empty)."""
        from transformers.cache_utils import DynamicLayer

        return self.cache is None or all(type(layer) is DynamicLayer for layer in self.cache.layers)

    def add(self, conversations: Sequence[Sequence[Message]], temperatures: Sequence[float | None]) -> list[str | None]:
        """Read the chats' prompts and append them as rows; the first piece of each new row's
        reply, or None for a reply that ended at once. Nothing changes if reading fails."""
        import torch
        from transformers import DynamicCache

        prompts = [self.tokenizer.apply_chat_template(list(c), add_generation_prompt=True, tokenize=False) for c in conversations]
        side, self.tokenizer.padding_side = self.tokenizer.padding_side, "left"
        try:
            if self.tokenizer.pad_token is None:
                self.tokenizer.pad_token = self.tokenizer.eos_token
            inputs = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.model.device)
        finally:
            self.tokenizer.padding_side = side
        mask = inputs["attention_mask"]
        cache = DynamicCache()
        with torch.no_grad():
            logits = self.model(
                input_ids=inputs["input_ids"],
                attention_mask=mask,
                position_ids=(mask.cumsum(-1) - 1).clamp(min=0),
                cache=cache,
                use_cache=True,
                logits_to_keep=1,
            ).logits[:, -1]
        temps = [self.default_temperature if t is None else t for t in temperatures]
        first = self._choose(logits, temps)
        self._merge(cache, mask, first)
        self.temperatures += temps
        start = len(self.tokens)
        self.tokens += [[] for _ in conversations]
        self.shown += ["" for _ in conversations]
        return [self._piece(start + row, token) for row, token in enumerate(first.tolist())]

    def step(self) -> list[str | None]:
        """One more token for every row: each row's new piece of text ("" while a character is
        incomplete), or None where the reply has ended."""
        import torch

        self.mask = torch.cat([self.mask, self.mask.new_ones((self.rows, 1))], dim=1)
        with torch.no_grad():
            logits = self.model(
                input_ids=self.next_tokens[:, None],
                attention_mask=self.mask,
                position_ids=self.mask.sum(-1, keepdim=True) - 1,
                cache=self.cache,
                use_cache=True,
            ).logits[:, -1]
        self.next_tokens = self._choose(logits, self.temperatures)
        return [self._piece(row, token) for row, token in enumerate(self.next_tokens.tolist())]

    def keep(self, rows: Sequence[int]) -> None:
        """Keep only `rows` (in this order); the others leave with their part of the cache, and
        columns that are padding in every remaining row are cut."""
        import torch

        if not rows:
            self._empty()
            return
        selected = torch.tensor(list(rows), dtype=torch.long, device=self.mask.device)
        self.cache.batch_select_indices(selected)
        self.mask, self.next_tokens = self.mask[selected], self.next_tokens[selected]
        self.temperatures = [self.temperatures[r] for r in rows]
        self.tokens = [self.tokens[r] for r in rows]
        self.shown = [self.shown[r] for r in rows]
        unused = int(self.mask.any(dim=0).int().argmax())  # columns before the first real token of any row
        if unused:
            self.mask = self.mask[:, unused:]
            for layer in self.cache.layers:
                layer.keys, layer.values = layer.keys[..., unused:, :], layer.values[..., unused:, :]

    def _piece(self, row: int, token: int) -> str | None:
        if token in self.end_tokens:
            return None
        self.tokens[row].append(token)
        text = self.tokenizer.decode(self.tokens[row], skip_special_tokens=True)
        if text.endswith("\ufffd") or len(text) <= len(self.shown[row]):  # half a character
            return ""
        piece, self.shown[row] = text[len(self.shown[row]):], text
        return piece

    def _choose(self, logits: Any, temperatures: Sequence[float]) -> Any:
        """The next token of each row: the likeliest at temperature 0, else sampled with the
        model's top-k/top-p settings."""
        import torch

        chosen = logits.argmax(-1)
        sampled = [row for row, t in enumerate(temperatures) if t > 0]
        if sampled:
            config = self.model.generation_config
            rows = torch.tensor(sampled, device=logits.device)
            scaled = logits[rows] / torch.tensor([temperatures[r] for r in sampled], device=logits.device)[:, None]
            chosen[rows] = torch.multinomial(filtered_probabilities(scaled, config.top_k, config.top_p), 1)[:, 0]
        return chosen

    def _merge(self, cache: Any, mask: Any, first: Any) -> None:
        """Append a freshly read group's cache, mask and first tokens to the batch's."""
        import torch

        if self.cache is None:
            self.cache, self.mask, self.next_tokens = cache, mask, first
            return
        width = max(self.mask.shape[1], mask.shape[1])

        def padded(tensor: Any, columns: int) -> Any:  # zeros on the left of the sequence dimension
            shape = list(tensor.shape)
            shape[-2 if tensor.dim() == 4 else -1] = columns
            return torch.cat([tensor.new_zeros(shape), tensor], dim=-2 if tensor.dim() == 4 else -1)

        old, new = width - self.mask.shape[1], width - mask.shape[1]
        for running, joining in zip(self.cache.layers, cache.layers):
            running.keys = torch.cat([padded(running.keys, old), padded(joining.keys, new)])
            running.values = torch.cat([padded(running.values, old), padded(joining.values, new)])
        self.mask = torch.cat([padded(self.mask, old), padded(mask, new)])
        self.next_tokens = torch.cat([self.next_tokens, first])


def filtered_probabilities(scaled_logits: Any, top_k: int | None, top_p: float | None) -> Any:
    """Softmax over each row's logits after keeping its `top_k` likeliest tokens and the
    smallest set whose probability reaches `top_p` (either may be None: no limit)."""
    import torch

    logits = scaled_logits.clone()
    if top_k:
        kth = torch.topk(logits, min(top_k, logits.shape[-1])).values[:, -1:]
        logits[logits < kth] = float("-inf")
    if top_p is not None and top_p < 1.0:
        ordered, order = logits.sort(descending=True)
        beyond = ordered.softmax(-1).cumsum(-1) - ordered.softmax(-1) > top_p  # the likeliest token always stays
        logits.scatter_(-1, order, ordered.masked_fill(beyond, float("-inf")))
    return logits.softmax(-1)


def write_replies(
    batch: DecodingBatch,
    conversations: Sequence[Sequence[Message]],
    max_new_tokens: int,
    rows: int,
    stop_when: Callable[[str], bool] | None = None,
) -> list[str]:
    """Replies to many chats, up to `rows` written at once: a reply that ends (end of text,
    `max_new_tokens`, or `stop_when(text so far)`, checked every 4 tokens) leaves the batch and
    the next chat joins it, so the batch stays full until the last chats."""
    replies = [""] * len(conversations)
    lengths = [0] * len(conversations)
    waiting = deque(range(len(conversations)))
    writing: list[int] = []  # which chat each row of the batch is

    def take(chats: list[int], pieces: list[str | None]) -> set[int]:
        """Add the pieces; the chats among `chats` that are finished."""
        finished = set()
        for chat, piece in zip(chats, pieces):
            if piece is not None:
                replies[chat] += piece
                lengths[chat] += 1
            if piece is None or lengths[chat] >= max_new_tokens or (
                stop_when is not None and lengths[chat] % 4 == 0 and stop_when(replies[chat])
            ):
                finished.add(chat)
        return finished

    while waiting or writing:
        finished: set[int] = set()
        if waiting and len(writing) < rows:
            joining = [waiting.popleft() for _ in range(min(rows - len(writing), len(waiting)))]
            pieces = batch.add([conversations[chat] for chat in joining], [None] * len(joining))
            writing += joining
            finished = take(joining, pieces)
        else:
            finished = take(writing, batch.step())
        if finished:
            batch.keep([row for row, chat in enumerate(writing) if chat not in finished])
            writing = [chat for chat in writing if chat not in finished]
    return replies
