"""The second stage: blending, the cross-encoder wiring (a tiny local model) and the bundled decoder."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest

from chatbot.answer.prompts import render_prompt
from chatbot.errors import SettingsError
from chatbot.knowledge.rerank import CrossEncoderReranker, QueryLikelihoodReranker, RerankingRetriever, make_reranker
from chatbot.settings import Settings
from chatbot.values import Passage

PASSAGES = [
    Passage(f"p{i}", f"d{i}", title, text, "kb.md", score=score)
    for i, (title, text, score) in enumerate(
        [
            ("Shipping", "Standard UK delivery costs £3.95 and takes 2 to 4 business days.", 0.7),
            ("Gift cards", "Gift cards are valid for 24 months and can be used online.", 0.6),
            ("Returns", "Sale items can be returned within 14 days of delivery.", 0.5),
            ("Contact", "Call us on weekdays from 9 to 5.", 0.4),
        ]
    )
]


class ListRetriever:
    def __init__(self, passages: Sequence[Passage]) -> None:
        self.passages = list(passages)
        self.asked: list[int] = []

    def search(self, query: str, k: int) -> list[Passage]:
        self.asked.append(k)
        return self.passages[:k]


class FixedReranker:
    def __init__(self, scores: dict[str, float]) -> None:
        self.by_id = scores
        self.seen: list[list[str]] = []

    def scores(self, query: str, passages: Sequence[Passage]) -> list[float]:
        self.seen.append([p.id for p in passages])
        return [self.by_id[p.id] for p in passages]


def test_reranker_reorders_only_the_candidates_and_keeps_cosines() -> None:
    first = ListRetriever(PASSAGES)
    reranker = FixedReranker({"p0": 0.1, "p1": 0.2, "p2": 0.9})
    retriever = RerankingRetriever(first, reranker, candidates=3, weight=1.0)
    top = retriever.search("sale returns", 4)
    assert [p.id for p in top] == ["p2", "p1", "p0", "p3"]
    assert [p.score for p in top] == [0.5, 0.6, 0.7, 0.4]  # thresholds still see cosines
    assert reranker.seen == [["p0", "p1", "p2"]] and first.asked == [4]


def test_weight_zero_keeps_the_first_stage_and_a_blend_leans_on_the_reranker() -> None:
    scores = {"p0": 0.0, "p1": 0.1, "p2": 0.2, "p3": 5.0}
    keep = RerankingRetriever(ListRetriever(PASSAGES), FixedReranker(scores), candidates=4, weight=0.0)
    assert [p.id for p in keep.search("q", 2)] == ["p0", "p1"]
    # p3, last for the first stage and far ahead for the reranker: standardised, 1.74 against p0's -0.63
    # for the reranker and -1.34 against 1.34 for the ranks. An even blend keeps p0 (0.36 to 0.20);
    # leaning on the reranker (0.75) puts p3 first (0.97 to -0.14).
    even = RerankingRetriever(ListRetriever(PASSAGES), FixedReranker(scores), candidates=4, weight=0.5)
    assert even.search("q", 1)[0].id == "p0"
    leaning = RerankingRetriever(ListRetriever(PASSAGES), FixedReranker(scores), candidates=4, weight=0.75)
    assert leaning.search("q", 1)[0].id == "p3"


def test_the_first_stage_is_asked_for_enough_candidates() -> None:
    first = ListRetriever(PASSAGES)
    RerankingRetriever(first, FixedReranker({p.id: 0.0 for p in PASSAGES}), candidates=4).search("q", 1)
    assert first.asked == [4]


@pytest.mark.parametrize(("candidates", "weight"), [(0, 1.0), (5, 1.5), (5, -0.1)])
def test_bad_rerank_settings_are_refused(candidates: int, weight: float) -> None:
    with pytest.raises(SettingsError, match="rerank_candidates"):
        RerankingRetriever(ListRetriever(PASSAGES), FixedReranker({}), candidates, weight)


def test_the_bundled_reranker_needs_the_decoder() -> None:
    with pytest.raises(SettingsError, match="needs the decoder"):
        make_reranker("bundled", "cpu", None, partial(render_prompt, Settings().prompts_dir))


class WordScorer:
    """A scorer (chatbot.llm.base.Scorer) whose tokens are words; it records what it was asked and
    scores a continuation by the prompt's words it repeats."""

    def __init__(self) -> None:
        self.asked: list[tuple[list[str], str, int]] = []

    def first_tokens(self, text: str, count: int) -> str:
        return " ".join(text.split()[:count])

    def mean_log_probabilities(self, prompts: Sequence[str], continuation: str, max_tokens: int) -> list[float]:
        self.asked.append((list(prompts), continuation, max_tokens))
        words = set(continuation.split()[:max_tokens])
        return [float(len(words & set(prompt.split()))) for prompt in prompts]


def test_the_bundled_reranker_asks_the_decoder_how_likely_the_question_is_after_each_passage() -> None:
    from chatbot.knowledge.rerank import MAX_PASSAGE_TOKENS, MAX_QUERY_TOKENS

    scorer = WordScorer()
    long = replace(PASSAGES[3], text=" ".join(["weekday"] * 300))
    reranker = make_reranker("bundled", "cpu", scorer, partial(render_prompt, Settings().prompts_dir))
    scores = reranker.scores("can sale items be returned", [PASSAGES[2], long])
    (prompts, continuation, max_tokens), = scorer.asked
    assert continuation == " can sale items be returned" and max_tokens == MAX_QUERY_TOKENS
    assert prompts[0].startswith("Passage: Returns Sale items can be returned within 14 days of delivery.\n")  # its words
    assert prompts[1].count("weekday") == MAX_PASSAGE_TOKENS - 1  # the title is the first word
    assert scores[0] > scores[1]
    assert reranker.scores("anything", []) == []


def tiny_cross_encoder(folder: Path) -> Path:
    """A one-layer BERT with a one-logit head, random weights: enough to prove the wiring."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    words = sorted({w.strip(".,£").lower() for p in PASSAGES for w in f"{p.title} {p.text}".split()} | {"sale", "returns"})
    (folder / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]), encoding="utf-8")
    BertTokenizer(str(folder / "vocab.txt")).save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=5 + len(words), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, num_labels=1)
    BertForSequenceClassification(config).save_pretrained(folder)
    return folder


def test_a_configured_cross_encoder_orders_the_candidates(tmp_path: Path) -> None:
    folder = tiny_cross_encoder(tmp_path)
    reranker = make_reranker(str(folder), "cpu", None, partial(render_prompt, Settings().prompts_dir))
    assert isinstance(reranker, CrossEncoderReranker)
    scores = reranker.scores("sale returns", PASSAGES)
    expected = sorted(PASSAGES, key=lambda p: -scores[PASSAGES.index(p)])
    assert RerankingRetriever(ListRetriever(PASSAGES), reranker, 4).search("sale returns", 4) == expected


def test_a_missing_cross_encoder_is_a_clear_error(tmp_path: Path) -> None:
    from chatbot.errors import ModelLoadError

    with pytest.raises(ModelLoadError, match="cross-encoder"):
        CrossEncoderReranker(str(tmp_path / "no-such-model"), "cpu")


@pytest.mark.real
def test_the_bundled_decoder_prefers_the_passage_about_the_question(real_generator, real_settings) -> None:
    reranker = QueryLikelihoodReranker(real_generator, partial(render_prompt, real_settings.prompts_dir))
    scores = reranker.scores("How long do I have to return sale items?", PASSAGES)
    assert max(range(4), key=scores.__getitem__) == 2
    assert reranker.scores("anything", []) == []
