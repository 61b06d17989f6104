"""A batch of replies that rows can join and leave at every token (continuous batching), on a
transformers decoder: new chats are read into the running batch's key/value cache, finished ones
leave with their part of it, so the batch stays full instead of waiting for its longest reply."""

from __future__ import annotations

import inspect
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast

from chatbot.llm.base import DecodingBatch, Message
from chatbot.llm.prompt_lookup import propose

if TYPE_CHECKING:  # torch and transformers are imported by the model's loading, not by this module's
    import torch
    from transformers import DynamicCache, PreTrainedModel, PreTrainedTokenizerBase

    from chatbot.llm.growing_cache import GrowingLayer
    from chatbot.llm.prompt_cache import PromptCache


class DecodingStep(Protocol):
    """A step that writes a batch's tokens instead of its model's forward (lean/decoder.py's
    FastDecoder), keeping the cache's keys and values in `kv_dtype`."""

    kv_dtype: torch.dtype

    @property
    def reads_prompts(self) -> bool:
        """Whether `read` reads prompts (else the batch's reader model does)."""
        ...

    def read(self, ids: torch.Tensor, cache: DynamicCache) -> torch.Tensor:
        """Read a prompt (1 x tokens) into `cache`: the logits after it (1 x vocabulary)."""
        ...

    def logits(self, final: torch.Tensor) -> torch.Tensor:
        """Logits (rows x vocabulary) from the last layer's normalised output (rows x hidden)."""
        ...

    def step(self, tokens: torch.Tensor, positions: torch.Tensor, cache: DynamicCache,
             mask: torch.Tensor) -> torch.Tensor:
        """Logits (rows x vocabulary) after each row's token (`tokens`: one a row), read into `cache`."""
        ...

    def extend(self, tokens: torch.Tensor, start: int, cache: DynamicCache) -> torch.Tensor:
        """Logits (tokens x vocabulary) after each of one row's next tokens, read into `cache`."""
        ...


def new_cache() -> DynamicCache:
    """An empty key/value cache of growing layers (growing_cache.py)."""
    # Imported here, not at the top: growing_cache.py imports torch and transformers, which
    # importing this module does not (the first batch is opened after the model is loaded).
    from transformers import DynamicCache

    from chatbot.llm.growing_cache import GrowingLayer

    cache = DynamicCache()
    cache.layer_class_to_replicate = GrowingLayer
    return cache


def growing_layers(cache: DynamicCache) -> list[GrowingLayer]:
    """The layers of a cache made by `new_cache` (transformers types them as its base class)."""
    return cast("list[GrowingLayer]", cache.layers)


_CACHE_KEYWORDS: dict[type, str] = {}  # model class -> the keyword its forward takes the cache by


def cache_keyword(model_class: type[torch.nn.Module]) -> str:
    """The keyword a model class's forward takes its key/value cache by: `cache` in transformers
    5.25, `past_key_values` in 5.17. An older forward takes an unknown `cache=` into its
    **kwargs and ignores it, and each step would then read its token with nothing before it."""
    if model_class not in _CACHE_KEYWORDS:
        forward = inspect.signature(model_class.forward).parameters
        _CACHE_KEYWORDS[model_class] = "cache" if "cache" in forward else "past_key_values"
    return _CACHE_KEYWORDS[model_class]


def forward_with_cache(model: torch.nn.Module, cache: DynamicCache, **inputs: Any) -> Any:
    """`model`'s forward over `inputs`, reading and growing `cache` (cache_keyword): its output,
    logits for a causal LM, hidden states for the decoder inside it."""
    return model(**inputs, **{cache_keyword(type(model)): cache}, use_cache=True)


def only_growing_layers(cache: DynamicCache) -> bool:
    """Whether `cache` is made of plain growing key/value layers, which hold every position."""
    from chatbot.llm.growing_cache import GrowingLayer  # imports transformers: see new_cache

    return all(type(layer) is GrowingLayer for layer in cache.layers)


class RunningBatch:
    """Rows of replies written together, one token per `step` for every row.

    Every row's next token sits in the last column: a new row's cache is padded on the left to
    the running batch's length (or the other way round) and the padding is masked out. Keys are
    stored with their rotary positions already applied, and each row's positions count its own
    tokens only, so with the model's fp32 forward writing, a reply written here is the reply
    written alone, token for token, in greedy decoding (tested). A `writer` (the lean bf16 step
    of lean/decoder.py) takes the steps instead of the model's forward and keeps the cache in
    bf16; its rows are close to, not always the same as, rows written alone.

    A batch of one greedy row guesses up to `draft_tokens` next tokens from its prompt
    (prompt_lookup.py) and checks them in one pass (the writer's `extend`, else the model's
    forward over them): the guesses the model would have chosen itself are kept, with the model's
    own token after them. Tokens chosen ahead are handed out one per `step`, so callers still
    count a token a step.
    """

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, end_tokens: set[int],
                 default_temperature: float, reader: PreTrainedModel | None = None, writer: DecodingStep | None = None,
                 draft_tokens: int = 0, prompt_cache: PromptCache | None = None) -> None:
        self.model = model  # writes the replies, a token per step
        self.reader = reader or model  # reads the prompts (bf16 on CPUs with fast bf16: TransformersGenerator)
        self.writer = writer  # a FastDecoder (lean/decoder.py) writing for `model`, with its cache in bf16
        self.tokenizer = tokenizer
        self.end_tokens = end_tokens
        self.default_temperature = default_temperature
        self.draft_tokens = draft_tokens  # next tokens a lone greedy row guesses (prompt_lookup.py); 0: none
        self.prompt_cache = prompt_cache  # a PromptCache (prompt_cache.py) of prompts read lately, if any
        self.checks = self.guessed = self.kept = 0  # passes that checked guesses, guessed and kept tokens
        self._empty()

    def _empty(self) -> None:
        # None while the batch has no rows:
        self.cache: DynamicCache | None = None
        self.mask: torch.Tensor | None = None  # rows x columns of the cache, 1 where a real token is
        self.next_tokens: torch.Tensor | None = None  # each row's latest token, read at the next step
        self.temperatures: list[float] = []
        self.tokens: list[list[int]] = []  # each row's reply so far, as handed out
        self.ahead: list[deque[int]] = []  # each row's tokens chosen but not yet handed out
        self.prompts: list[list[int]] = []  # each row's prompt, where guesses are looked up
        self.shown: list[str] = []

    @property
    def rows(self) -> int:
        return len(self.tokens)

    def can_join(self) -> bool:
        """Whether rows can join while others are being written: only for caches made of plain
        growing key/value layers (sliding-window and other layers keep state this class does not
        pad or merge; their batches are filled only when empty)."""
        return self.cache is None or only_growing_layers(self.cache)

    def add(self, conversations: Sequence[Sequence[Message]], temperatures: Sequence[float | None]) -> list[str | None]:
        """Read the chats' prompts and append them as rows; the first piece of each new row's
        reply, or None for a reply that ended at once. Nothing changes if reading fails.

        Each prompt is read on its own, by the writer's `read` where it has one, else by the
        reader model: at a few hundred tokens a prompt fills the matrix units alone, and a prompt
        read alone gives the same cache whoever else is being written. Where the prompt cache
        holds its start, only the rest is read (`_read`). Its cache is then stored in the
        writer's dtype."""
        import torch

        temps = [self.default_temperature if t is None else t for t in temperatures]
        read, prompts = [], []
        for conversation, temperature in zip(conversations, temps):
            prompt = self.tokenizer.apply_chat_template(list(conversation), add_generation_prompt=True, tokenize=False)
            ids = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"].to(self.model.device)
            cache, logits = self._read(ids)
            read.append((cache, torch.ones_like(ids), self._choose(logits.float(), [temperature])))
            prompts.append(ids[0].tolist())
        start = len(self.tokens)
        self._merge(read)
        self.temperatures += temps
        self.tokens += [[] for _ in conversations]
        self.ahead += [deque() for _ in conversations]
        self.prompts += prompts
        self.shown += ["" for _ in conversations]
        return [self._piece(start + row, int(first)) for row, (_, _, first) in enumerate(read)]

    def _read(self, ids: torch.Tensor) -> tuple[DynamicCache, torch.Tensor]:
        """A cache holding the prompt `ids` (1 x tokens) in the writer's dtype, and the logits
        after it. Where the prompt cache holds the prompt's start, only the rest is read; the
        prompt read is then held there in turn."""
        import torch

        lean = self.writer is not None and self.writer.reads_prompts
        # How the prompt is read and scored, so that a cached start is used only as it was made.
        reader = "lean" if lean else f"{type(self.reader).__name__} {self.reader.dtype} {self.writer is not None}"
        found = self.prompt_cache.find(reader, ids[0].tolist()) if self.prompt_cache is not None else None
        held = found.logits if found is not None else None  # the whole prompt was read before
        cache = new_cache()
        for index, (keys, values) in enumerate(found.layers if found else []):
            cache.update(keys, values, index)
        with torch.no_grad():
            if held is not None:
                logits = held.clone()
            elif lean and self.writer is not None:
                logits = self.writer.read(ids, cache)
            else:
                start = found.length if found else 0
                positions = torch.arange(start, ids.shape[1], device=ids.device)[None]
                if self.writer is not None:  # the first token scored like the rest
                    # A writer serves Llama-style decoders only (lean/decoder.supports): their
                    # reader's `base_model` is the decoder without its head (`.model`).
                    hidden = forward_with_cache(self.reader.base_model, cache, input_ids=ids[:, start:],
                                                position_ids=positions)
                    logits = self.writer.logits(hidden.last_hidden_state[:, -1])
                else:
                    logits = forward_with_cache(self.reader, cache, input_ids=ids[:, start:], position_ids=positions,
                                                logits_to_keep=1).logits[:, -1]
        # Only growing layers hold every position (a sliding-window layer keeps its last few).
        if self.prompt_cache is not None and held is None and only_growing_layers(cache):
            layers = [(layer.keys, layer.values) for layer in growing_layers(cache)]
            self.prompt_cache.store(reader, ids[0].tolist(), layers, logits)
        dtype = self.writer.kv_dtype if self.writer else self.model.dtype
        for layer in growing_layers(cache):
            layer.hold(layer.keys.to(dtype), layer.values.to(dtype), keys_positions_last=self.writer is not None)
        return cache, logits

    def step(self) -> list[str | None]:
        """One more token for every row: each row's new piece of text ("" while a character is
        incomplete), or None where the reply has ended."""
        import torch

        if self.rows == 1 and self.ahead[0]:  # chosen by an earlier check of guesses
            return [self._hand_out(0)]
        guess = self._guess()
        if guess:
            assert self.next_tokens is not None  # a batch with rows
            chosen = self._check(guess)
            self.ahead[0].extend(chosen)
            self.next_tokens = torch.tensor(chosen[-1:], device=self.next_tokens.device)
            return [self._hand_out(0)]
        self.next_tokens = self._choose(self.next_logits(), self.temperatures)
        for row, token in enumerate(self.next_tokens.tolist()):
            self.ahead[row].append(token)
        return [self._hand_out(row) for row in range(self.rows)]

    def _guess(self) -> list[int]:
        """The next tokens guessed from the prompt, for a batch of one greedy row without
        padding whose cache can forget positions (growing layers only); else []."""
        if (not self.draft_tokens or self.rows != 1 or self.temperatures[0] > 0 or self.mask is None
                or not bool(self.mask.all()) or not self.can_join()):
            return []
        return propose(self.prompts[0] + self.tokens[0], self.draft_tokens)

    def _check(self, guess: list[int]) -> list[int]:
        """Read the row's latest token and the guessed ones after it in one pass; the guesses
        that are the model's own likeliest tokens are kept, up to the first that is not (or an
        end of text), and the model's token after them. The cache keeps the kept positions."""
        import torch

        assert self.cache is not None and self.mask is not None and self.next_tokens is not None  # a batch with rows
        start = int(self.mask[0].sum())  # the latest token's position
        tokens = torch.tensor([int(self.next_tokens[0]), *guess], device=self.next_tokens.device)
        self.mask = torch.cat([self.mask, self.mask.new_ones((1, len(tokens)))], dim=1)
        if self.writer is not None:
            logits = self.writer.extend(tokens, start, self.cache)
        else:
            positions = torch.arange(start, start + len(tokens), device=tokens.device)[None]
            with torch.no_grad():
                logits = forward_with_cache(self.model, self.cache, input_ids=tokens[None], attention_mask=self.mask,
                                            position_ids=positions).logits[0]
        best = logits.argmax(-1).tolist()
        kept = 0
        while kept < len(guess) and best[kept] == guess[kept] and best[kept] not in self.end_tokens:
            kept += 1
        self.checks, self.guessed, self.kept = self.checks + 1, self.guessed + len(guess), self.kept + kept
        unused = len(guess) - kept
        if unused:
            for layer in growing_layers(self.cache):
                layer.trim(unused)
            self.mask = self.mask[:, :-unused]
        return best[:kept + 1]

    def _hand_out(self, row: int) -> str | None:
        return self._piece(row, self.ahead[row].popleft())

    def next_logits(self) -> torch.Tensor:
        """Read every row's latest token into the cache and give each row's logits for the token
        after it (rows x vocabulary), from the writer's step or else the model's forward."""
        import torch

        assert self.cache is not None and self.mask is not None and self.next_tokens is not None  # a batch with rows
        self.mask = torch.cat([self.mask, self.mask.new_ones((self.rows, 1))], dim=1)
        positions = self.mask.sum(-1) - 1
        if self.writer is not None:
            return self.writer.step(self.next_tokens, positions, self.cache, self.mask)
        with torch.no_grad():
            return forward_with_cache(self.model, self.cache, input_ids=self.next_tokens[:, None],
                                      attention_mask=self.mask, position_ids=positions[:, None]).logits[:, -1]

    def keep(self, rows: Sequence[int]) -> list[int]:
        """Keep only `rows`; the others leave with their part of the cache, and columns that are
        padding in every remaining row are cut. Returns the kept rows (their old indices) in
        their new order: a leaving row's place is taken by the last row, so no other row moves."""
        import torch

        if not rows:
            self._empty()
            return []
        assert self.cache is not None and self.mask is not None and self.next_tokens is not None  # a batch with rows
        kept = set(rows)
        leaving = [row for row in range(self.rows) if row not in kept]
        order = list(range(self.rows))
        for layer in growing_layers(self.cache):
            order = layer.drop(leaving)
        selected = torch.tensor(order, dtype=torch.long, device=self.mask.device)
        self.mask, self.next_tokens = self.mask[selected], self.next_tokens[selected]
        self.temperatures = [self.temperatures[r] for r in order]
        self.tokens = [self.tokens[r] for r in order]
        self.ahead = [self.ahead[r] for r in order]
        self.prompts = [self.prompts[r] for r in order]
        self.shown = [self.shown[r] for r in order]
        unused = int(self.mask.any(dim=0).int().argmax())  # columns before the first real token of any row
        if unused:
            self.mask = self.mask[:, unused:]
            for layer in growing_layers(self.cache):
                layer.cut(unused)
        return order

    def _piece(self, row: int, token: int) -> str | None:
        if token in self.end_tokens:
            return None
        self.tokens[row].append(token)
        text = cast(str, self.tokenizer.decode(self.tokens[row], skip_special_tokens=True))  # one reply: one text
        if text.endswith("\ufffd") or len(text) <= len(self.shown[row]):  # half a character
            return ""
        piece, self.shown[row] = text[len(self.shown[row]):], text
        return piece

    def _choose(self, logits: torch.Tensor, temperatures: Sequence[float]) -> torch.Tensor:
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

    def _merge(self, read: list[tuple[DynamicCache, torch.Tensor, torch.Tensor]]) -> None:
        """Append freshly read rows (each a cache, mask and first token) to the batch: each new
        row's keys and values are copied once into the running cache's spare rows, right-aligned;
        the rows already there are not copied unless the buffers must grow."""
        import torch

        if self.cache is None or self.mask is None or self.next_tokens is None:  # no rows yet
            (self.cache, self.mask, self.next_tokens), read = read[0], read[1:]
        if not read:
            return
        for index, layer in enumerate(growing_layers(self.cache)):
            layer.join([growing_layers(cache)[index] for cache, _, _ in read])
        width = max(self.mask.shape[1], *(mask.shape[1] for _, mask, _ in read))
        masks = [self.mask, *(mask for _, mask, _ in read)]
        self.mask = torch.cat([torch.nn.functional.pad(mask, (width - mask.shape[1], 0)) for mask in masks])
        self.next_tokens = torch.cat([self.next_tokens, *(first for _, _, first in read)])


def filtered_probabilities(scaled_logits: torch.Tensor, top_k: int | None, top_p: float | None) -> torch.Tensor:
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
            order = batch.keep([row for row, chat in enumerate(writing) if chat not in finished])
            writing = [writing[row] for row in order]
    return replies
