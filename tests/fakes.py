"""Deterministic stand-ins for the models, for fast tests with exact assertions."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence

import numpy as np

STOPWORDS = {"a", "an", "the", "do", "i", "to", "of", "is", "my", "can", "for", "and", "in", "how", "what", "you", "it"}


class ToyEmbedder:
    """Hashed bag of words: texts sharing words are close; no shared word gives a score of 0."""

    def __init__(self, dimension: int = 512, id: str = "toy-bag-of-words") -> None:
        self.id = id
        self.dimension = dimension
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                if word not in STOPWORDS:
                    bucket = int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension
                    vectors[row, bucket] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)


class ScriptedGenerator:
    """Replies with the given texts in turn, word by word, and records the messages it was sent."""

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.received: list[list[dict[str, str]]] = []
        self.temperatures: list[float | None] = []

    def stream(
        self, messages: Sequence[dict[str, str]], max_new_tokens: int, temperature: float | None = None
    ) -> Iterator[str]:
        self.received.append([dict(m) for m in messages])
        self.temperatures.append(temperature)
        reply = self.replies.pop(0) if self.replies else ""
        yield from re.findall(r"\S+\s*", reply)


class BatchScriptedGenerator(ScriptedGenerator):
    """Replies by question: the first reply whose key is in the prompt's question; records how many
    chats each call brought and how many it could write at once."""

    def __init__(self, replies: dict[str, str]) -> None:
        super().__init__()
        self.by_key = replies
        self.batches: list[int] = []
        self.rows_at_once: list[int] = []

    def generate_batch(
        self, conversations: Sequence[Sequence[dict[str, str]]], max_new_tokens: int, stop_when: object = None, rows: int = 16
    ) -> list[str]:
        self.batches.append(len(conversations))
        self.rows_at_once.append(rows)
        self.received += [[dict(m) for m in c] for c in conversations]
        questions = [c[-1]["content"].rpartition("Question:")[2] for c in conversations]
        return [next((r for k, r in self.by_key.items() if k in q), "") for q in questions]


# A tiny Llama for the decoding engine's tests (torch and transformers imported when used).

VOCAB = 320


def tiny_llama(on_grid: bool, **config: object):  # noqa: ANN201
    """A 2-layer Llama with random weights (no download); `on_grid`: every weight moved onto its
    group's 16 levels, as weights dequantized from a Q4 GGUF are."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from chatbot.llm.lean.decoder import GROUP

    torch.manual_seed(0)
    options = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                   num_key_value_heads=2, max_position_embeddings=256, tie_word_embeddings=True)
    model = LlamaForCausalLM(LlamaConfig(**{**options, **config})).eval()
    if on_grid:
        with torch.no_grad():
            for parameter in model.parameters():
                if parameter.dim() == 2:
                    rows, inputs = parameter.shape
                    groups = parameter.view(rows, inputs // GROUP, GROUP)
                    low, high = groups.amin(-1, keepdim=True), groups.amax(-1, keepdim=True)
                    step = (high - low) / 15
                    parameter.copy_((torch.round((groups - low) / step) * step + low).view(rows, inputs))
    return model


class DigitTokenizer:
    """Just enough of a tokenizer for RunningBatch: a message's content is its token ids."""

    def apply_chat_template(self, conversation, add_generation_prompt: bool, tokenize: bool) -> str:  # noqa: ANN001
        return " ".join(message["content"] for message in conversation)

    def __call__(self, prompt: str, return_tensors: str, add_special_tokens: bool) -> dict:
        import torch

        return {"input_ids": torch.tensor([[int(token) for token in prompt.split()]])}

    def decode(self, tokens: list[int], skip_special_tokens: bool) -> str:
        return "".join(chr(65 + token % 26) for token in tokens)


def prompt(length: int, seed: int) -> list[dict[str, str]]:
    """A user message of `length` random token ids, for `DigitTokenizer`."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    return [{"role": "user", "content": " ".join(str(t) for t in torch.randint(0, VOCAB, (length,), generator=generator).tolist())}]


def next_logits(model, writer, conversations) -> list:  # noqa: ANN001
    """Each chat's logits for its second reply token, its prompt read by `model`, the step by `writer`."""
    from chatbot.llm.continuous_batch import RunningBatch

    batch = RunningBatch(model, DigitTokenizer(), set(), 0.0, writer=writer)
    batch.add(conversations, [None] * len(conversations))
    return list(batch.next_logits())


def write_alike(model, eager, compiled, chats: list) -> None:  # noqa: ANN001
    """Step by step, `compiled` gives the logits `eager` gives, the eager layers' likeliest token
    fed to both, for 140 steps: past the cache's room of 128 positions, so that it is laid out
    anew (the compiled graphs take its length and layout from the tensors they are given)."""
    import torch

    from chatbot.llm.continuous_batch import RunningBatch

    batches = []
    for writer in (eager, compiled):
        batches.append(RunningBatch(model, DigitTokenizer(), set(), 0.0, writer=writer))
        batches[-1].add(chats, [None] * len(chats))
    for _ in range(140):
        plain, fused = (batch.next_logits() for batch in batches)
        # Attention in fp32 against the eager step's bf16 products: 0.36 at most for the int8
        # layers; keys one position off gave 10.6.
        torch.testing.assert_close(fused, plain, atol=1.0, rtol=0)
        for batch in batches:
            batch.next_tokens = plain.argmax(-1)


class ToyMultilingualEmbedder(ToyEmbedder):
    """The toy embedder that also reads Han characters (each one a word), with the query/passage
    split of a multilingual embedder (`embed_queries`): for the index's second vectors."""

    def __init__(self, dimension: int = 512, id: str = "toy-multilingual") -> None:
        super().__init__(dimension, id)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        # Han characters become words the base class reads ("h" and the character's code point).
        vectors = super().embed([re.sub(r"([\u4e00-\u9fff])", lambda m: f" h{ord(m.group(1))} ", text) for text in texts])
        self.calls[-1] = list(texts)
        return vectors

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed(texts)
