"""Running an eval set through the pipeline and summarising it: retrieval, abstention, answers, speed."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatbot.answer.pipeline import REASON_ASKED_FOR_HUMAN, Pipeline
from chatbot.errors import EvalSetError
from chatbot.evaluation.metrics import (
    auroc,
    hit_at,
    mean_reciprocal_rank,
    percentile,
    rouge_l,
    token_f1,
)
from chatbot.text.facts import unsupported_numbers
from chatbot.values import Answer, Passage

EVAL_K = 5


@dataclass(frozen=True)
class EvalCase:
    question: str
    expected: tuple[str, ...] = ()
    answerable: bool = True
    reference: str | None = None
    history: tuple[dict[str, str], ...] = ()
    # Key facts: patterns a right answer matches, each of them (`must`), and patterns that match
    # a contradiction of the pages (`must_not`); case-insensitive, after markdown emphasis is removed.
    must: tuple[str, ...] = ()
    must_not: tuple[str, ...] = ()

    @property
    def has_key_facts(self) -> bool:
        return bool(self.must or self.must_not)


@dataclass
class CaseResult:
    """What the pipeline did with one case; `rank` is the 1-based rank of the first expected passage."""

    case: EvalCase
    retrieved: list[Passage]
    rank: int | None
    confidence: float
    escalate: bool
    reason: str
    answer: str | None = None
    sources: list[Passage] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    retrieval_ms: float = 0.0

    @property
    def verdict(self) -> str | None:
        """The answer against the case's key facts (`key_fact_verdict`); None without an answer or key facts."""
        if self.answer is None and not self.escalate:
            return None
        return key_fact_verdict(self.case, self.answer, self.escalate)

    @property
    def judged(self) -> bool:
        """Whether the decision rests on the evidence: a shopper who asks for a person is always
        handed over, which says nothing about the evidence."""
        return self.reason != REASON_ASKED_FOR_HUMAN


def read_eval_cases(path: str | Path) -> list[EvalCase]:
    """Read a JSONL eval set; a malformed row is an error naming its line, since a silently
    smaller eval set gives a wrong number."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise EvalSetError(f"Cannot read the eval set {path}: {error}") from error
    cases = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            cases.append(_case_from_row(row))
        except (ValueError, TypeError, KeyError) as error:
            raise EvalSetError(f"{path}, line {number}: {error}") from error
    if not cases:
        raise EvalSetError(f"The eval set {path} has no questions.")
    return cases


def _case_from_row(row: Any) -> EvalCase:
    if not isinstance(row, dict):
        raise TypeError("each line must be a JSON object")
    question = row["question"]
    if not isinstance(question, str) or not question.strip():
        raise ValueError("'question' must be a non-empty string")
    expected = row.get("expected", [])
    if isinstance(expected, str):
        expected = [expected]
    answerable = bool(row.get("answerable", True))
    if answerable and not expected:
        raise ValueError("an answerable question needs 'expected' document ids or titles")
    history = tuple(
        {"role": str(turn["role"]), "content": str(turn["content"])} for turn in row.get("history", []) or []
    )
    must, must_not = _patterns(row, "must"), _patterns(row, "must_not")
    return EvalCase(question, tuple(str(e) for e in expected), answerable, row.get("reference") or None, history,
                    must, must_not)


def _patterns(row: dict[str, Any], key: str) -> tuple[str, ...]:
    """A row's `must` or `must_not`: a regex or a list of them, each checked to compile."""
    patterns = row.get(key) or []
    if isinstance(patterns, str):
        patterns = [patterns]
    for pattern in patterns:
        try:
            re.compile(pattern)
        except (re.error, TypeError) as error:
            message = f"'{key}' holds a pattern that is not a regular expression: {pattern!r} ({error})"
            raise ValueError(message) from error
    return tuple(patterns)


_EMPHASIS = re.compile(r"\*\*|__|(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)|`")
KEY_FACT_VERDICTS = ("correct", "incomplete", "wrong", "escalated")


def key_fact_verdict(case: EvalCase, answer: str | None, escalated: bool) -> str | None:
    """How an answer fares against its case's key facts: "escalated" (handed to a person),
    "wrong" (it matches a `must_not`), "correct" (every `must`, no `must_not`) or "incomplete";
    None for a case without key facts. Markdown emphasis is removed before matching.

    >>> case = EvalCase("Can I return Final Sale items?", ("returns",), must=(r"\\bno\\b|cannot",),
    ...                 must_not=(r"\\byes\\b",))
    >>> key_fact_verdict(case, "**No**: Final Sale items *cannot* be returned. [1]", False)
    'correct'
    >>> key_fact_verdict(case, "Yes, within 14 days. [1]", False), key_fact_verdict(case, "Sorry.", True)
    ('wrong', 'escalated')
    """
    if not case.has_key_facts:
        return None
    if escalated or answer is None:
        return "escalated"
    plain = _EMPHASIS.sub("", answer)
    if any(re.search(pattern, plain, re.IGNORECASE) for pattern in case.must_not):
        return "wrong"
    if all(re.search(pattern, plain, re.IGNORECASE) for pattern in case.must):
        return "correct"
    return "incomplete"


def passage_matches(passage: Passage, expected: Iterable[str]) -> bool:
    """A passage is a hit when its document id or title equals an expected value (titles ignore case)."""
    keys = {passage.doc_id, passage.title.casefold().strip()}
    return any(e in keys or e.casefold().strip() in keys for e in expected)


def evaluate_case(pipeline: Pipeline, case: EvalCase, retrieval_only: bool) -> CaseResult:
    """Retrieve and decide for one case; unless `retrieval_only`, also write the answer and time it."""
    started = time.perf_counter()
    k = max(EVAL_K, pipeline.settings.top_k)
    decision = pipeline.decide(case.question, case.history, k=k)
    retrieval_ms = (time.perf_counter() - started) * 1000
    # Ranks measure retrieval: a message handed over before any search ("can I talk to someone?")
    # is searched all the same, as the assist panel searches it for the staff who take it.
    retrieved = list(decision.passages) or pipeline.search(case.question, case.history, k=k)
    rank = next((i for i, p in enumerate(retrieved, 1) if passage_matches(p, case.expected)), None)
    result = CaseResult(case, retrieved, rank, decision.confidence, decision.escalate, decision.reason)
    result.retrieval_ms = retrieval_ms
    if retrieval_only:
        return result
    answer: Answer | None = None
    for item in pipeline.stream(case.question, case.history):
        if isinstance(item, Answer):
            answer = item
    assert answer is not None
    result.escalate, result.reason, result.confidence = answer.escalate, answer.reason, answer.confidence
    result.answer, result.sources, result.timings = answer.text, list(answer.sources), dict(answer.timings)
    return result


def run_eval(
    pipeline: Pipeline,
    cases: Sequence[EvalCase],
    retrieval_only: bool = False,
    progress: Callable[[Iterable[EvalCase]], Iterable[EvalCase]] = lambda cases: cases,
) -> list[CaseResult]:
    return [evaluate_case(pipeline, case, retrieval_only) for case in progress(cases)]


def summarize(results: Sequence[CaseResult], retrieval_only: bool) -> dict[str, Any]:
    """The eval's numbers (keys as documented in the README), rounded to 4 places.

    Ranking metrics count answerable questions; abstention metrics leave out questions where the
    shopper asked for a person (always handed over, so they say nothing about the evidence).
    """
    answerable = [r for r in results if r.case.answerable]
    ranks = [r.rank for r in answerable]
    judged = [r for r in results if r.judged]
    unanswerable = [r for r in judged if not r.case.answerable]
    escalated = [r for r in judged if r.escalate]
    metrics: dict[str, Any] = {
        "n": len(results),
        "n_answerable": len(answerable),
        "n_unanswerable": sum(1 for r in results if not r.case.answerable),
        "hit@1": hit_at(ranks, 1),
        "hit@3": hit_at(ranks, 3),
        "hit@5": hit_at(ranks, 5),
        "mrr": mean_reciprocal_rank(ranks),
        "answer_rate": _rate([not r.escalate for r in judged if r.case.answerable]),
        "abstain_recall": _rate([r.escalate for r in unanswerable]),
        "abstain_precision": _rate([not r.case.answerable for r in escalated]),
        "decision_auroc": auroc([r.confidence for r in judged], [r.case.answerable for r in judged]),
        "retrieval_ms_p50": percentile([r.retrieval_ms for r in results], 50),
    }
    if not retrieval_only:
        answered = [r for r in judged if not r.escalate and r.answer is not None]
        with_reference = [r for r in answerable if r.case.reference]
        metrics |= {
            "unsupported_number_rate": _rate(
                [bool(unsupported_numbers(r.answer or "", [p.indexed_text for p in r.sources])) for r in answered]
            ),
            "reference_token_f1": _mean([token_f1(r.answer or "", r.case.reference or "") for r in with_reference]),
            "reference_rouge_l": _mean([rouge_l(r.answer or "", r.case.reference or "") for r in with_reference]),
            "latency_ms_p50": percentile([r.timings.get("total_ms", 0.0) for r in results], 50),
            "latency_ms_p95": percentile([r.timings.get("total_ms", 0.0) for r in results], 95),
            "ttft_ms_p50": percentile([r.timings["first_token_ms"] for r in results if "first_token_ms" in r.timings], 50),
        }
        keyed = [r.verdict for r in answerable if r.case.has_key_facts and r.judged]
        if keyed:
            metrics["n_key_facts"] = len(keyed)
            metrics |= {f"{verdict}_rate": keyed.count(verdict) / len(keyed) for verdict in KEY_FACT_VERDICTS}
    multi_turn = [r for r in results if r.case.history]
    if multi_turn and len(multi_turn) < len(results):
        metrics["multi_turn"] = {
            key: value
            for key, value in summarize(multi_turn, retrieval_only=True).items()
            if key in ("n", "hit@1", "hit@3", "mrr", "answer_rate", "abstain_recall")
        }
    return {key: _round(value) for key, value in metrics.items()}


def trade_off_curve(results: Sequence[CaseResult]) -> list[tuple[float, float, float]]:
    """(threshold, answer_rate, abstain_recall) if the bot escalated below each confidence threshold."""
    judged = [r for r in results if r.judged]
    return trade_off_points([r.confidence for r in judged], [r.case.answerable for r in judged])


def trade_off_points(scores: Sequence[float], answerable: Sequence[bool]) -> list[tuple[float, float, float]]:
    """(threshold, answer_rate, abstain_recall) for escalating below each score threshold.

    >>> trade_off_points([0.9, 0.4, 0.2], [True, True, False])
    [(0.0, 1.0, 0.0), (0.2, 1.0, 0.0), (0.4, 1.0, 1.0), (0.9, 0.5, 1.0), (1.0, 0.0, 1.0)]
    """
    curve = []
    for t in sorted({round(s, 3) for s in scores} | {0.0, 1.0}):
        answered = [s >= t for s, a in zip(scores, answerable) if a]
        abstained = [s < t for s, a in zip(scores, answerable) if not a]
        curve.append((t, _rate(answered) or 0.0, _rate(abstained) or 0.0))
    return curve


def _rate(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    return value
