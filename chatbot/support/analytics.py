"""What the support log says about the bot: volume, deflection, feedback, latency, and the
questions it could not answer grouped by similarity (the policies worth writing next)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any

from chatbot.errors import ChatbotError
from chatbot.knowledge.embedding import Embedder

if TYPE_CHECKING:
    from chatbot.support.log import SupportLog

# Escalations that mean the knowledge base had no answer (not a shopper asking for a person,
# an off-topic question or a sensitive one).
UNANSWERED = ("no_evidence", "unsupported_answer", "empty_answer")


@dataclass(frozen=True)
class QuestionGroup:
    """Unanswered questions that ask about the same thing, the most frequent first."""

    example: str
    count: int
    questions: tuple[str, ...]


@dataclass(frozen=True)
class Report:
    turns: int
    conversations: int
    escalated: int
    by_day: list[dict[str, Any]]  # day, questions, answered, escalated
    reasons: dict[str, int]  # escalations by reason
    thumbs_up: int
    thumbs_down: int
    latency_ms: dict[str, float | None]  # p50/p95 of the whole answer and of the first token
    unanswered: list[QuestionGroup] = field(default_factory=list)

    @property
    def deflection_rate(self) -> float | None:
        """Share of questions answered without handing over to a person."""
        return (self.turns - self.escalated) / self.turns if self.turns else None

    @property
    def feedback_rate(self) -> float | None:
        return (self.thumbs_up + self.thumbs_down) / self.turns if self.turns else None

    @property
    def feedback_score(self) -> float | None:
        """Share of thumbs that were up."""
        rated = self.thumbs_up + self.thumbs_down
        return self.thumbs_up / rated if rated else None


def parse_day(text: str | None, what: str) -> date | None:
    """A YYYY-MM-DD filter value; "" means no limit."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError as error:
        raise ChatbotError(f"The {what} date {text!r} is not a date: use YYYY-MM-DD, e.g. 2026-11-01.") from error


def day_range(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    """UTC bounds for turns from the start of `since` to the end of `until` (both included)."""
    if since and until and since > until:
        raise ChatbotError(f"The date range is empty: {since} is after {until}.")
    start = datetime.combine(since, time.min, timezone.utc) if since else None
    end = datetime.combine(until + timedelta(days=1), time.min, timezone.utc) if until else None
    return start, end


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile.

    >>> percentile([120, 80, 100, 400], 0.5), percentile([120, 80, 100, 400], 0.95), percentile([], 0.5)
    (100, 400, None)
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))  # ceil(n * share)
    return ordered[int(rank) - 1]


def group_questions(questions: Sequence[str], embedder: Embedder, min_similarity: float = 0.6) -> list[QuestionGroup]:
    """Questions grouped by meaning: each joins the first group whose mean vector it is at least
    `min_similarity` close to (cosine), else starts a group. Biggest groups first; each shows the
    question nearest its group's centre."""
    import numpy as np

    if not questions:
        return []
    vectors = embedder.embed(list(questions))
    members: list[list[int]] = []
    sums: list[Any] = []
    for i, vector in enumerate(vectors):
        best, best_similarity = None, min_similarity
        for g, total in enumerate(sums):
            similarity = float(vector @ (total / np.linalg.norm(total)))
            if similarity >= best_similarity:
                best, best_similarity = g, similarity
        if best is None:
            members.append([i])
            sums.append(vector.copy())
        else:
            members[best].append(i)
            sums[best] = sums[best] + vector
    groups = []
    for indices, total in zip(members, sums):
        central = max(indices, key=lambda i: float(vectors[i] @ total))
        groups.append(QuestionGroup(questions[central], len(indices), tuple(questions[i] for i in indices)))
    return sorted(groups, key=lambda g: (-g.count, g.example))


def build_report(
    log: SupportLog, since: date | None = None, until: date | None = None, embedder: Embedder | None = None, top: int = 10
) -> Report:
    """The dashboard's figures for turns from `since` to `until` (days, both included)."""
    rows = log.turn_rows(*day_range(since, until))
    days: dict[str, Counter] = {}
    for row in rows:
        day = days.setdefault(row["created_at"].date().isoformat(), Counter())
        day["questions"] += 1
        day["escalated" if row["escalate"] else "answered"] += 1
    by_day = [{"day": day, "questions": c["questions"], "answered": c["answered"], "escalated": c["escalated"]}
              for day, c in sorted(days.items())]
    reasons = Counter(row["reason"] for row in rows if row["escalate"])
    feedback = Counter(row["feedback"] for row in rows if row["feedback"])
    totals = [row["timings"]["total_ms"] for row in rows if "total_ms" in (row["timings"] or {})]
    firsts = [row["timings"]["first_token_ms"] for row in rows if "first_token_ms" in (row["timings"] or {})]
    latency = {"p50_total_ms": percentile(totals, 0.5), "p95_total_ms": percentile(totals, 0.95),
               "p50_first_token_ms": percentile(firsts, 0.5), "p95_first_token_ms": percentile(firsts, 0.95)}
    unanswered = [row["question"] for row in rows if row["reason"] in UNANSWERED]
    groups = group_questions(unanswered, embedder)[:top] if embedder is not None else []
    return Report(len(rows), len({row["conversation_id"] for row in rows}), sum(reasons.values()), by_day,
                  dict(reasons.most_common()), feedback["up"], feedback["down"], latency, groups)
