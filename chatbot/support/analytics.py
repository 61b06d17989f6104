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
UNANSWERED = ("no_evidence", "unsupported_answer", "empty_answer", "other_language")


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
    deflected: int  # answers that kept the shopper from needing a person (see `deflected_turns`)
    by_day: list[dict[str, Any]]  # day, questions, deflected, answered_not_deflected, escalated
    reasons: dict[str, int]  # escalations by reason
    thumbs_up: int
    thumbs_down: int
    latency_ms: dict[str, float | None]  # p50/p95 of the whole answer and of the first words shown
    unanswered: list[QuestionGroup] = field(default_factory=list)
    # Answers logged before the chat timed the first words it showed: their server's first token
    # stands in for it in `latency_ms` (earlier than what the shopper saw).
    first_words_from_server: int = 0

    @property
    def deflection_rate(self) -> float | None:
        """Share of questions answered without a person: not escalated, not rated down, and not
        followed by an escalation in the same conversation."""
        return self.deflected / self.turns if self.turns else None

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


def deflected_turns(rows: Sequence[dict[str, Any]]) -> set[int]:
    """The ids of the answers that kept the shopper from needing a person: not escalated, not
    rated thumbs down, and with no escalation later in the same conversation (an answer followed
    by "get me a person" did not help). `rows` are the support log's turn rows.

    >>> rows = [{"id": 1, "conversation_id": "a", "escalate": False, "feedback": None},
    ...         {"id": 2, "conversation_id": "a", "escalate": True, "feedback": None},
    ...         {"id": 3, "conversation_id": "a", "escalate": False, "feedback": "up"},
    ...         {"id": 4, "conversation_id": "b", "escalate": False, "feedback": "down"}]
    >>> sorted(deflected_turns(rows))
    [3]
    """
    last_escalation: dict[str, int] = {}
    for row in rows:
        if row["escalate"]:
            last_escalation[row["conversation_id"]] = max(row["id"], last_escalation.get(row["conversation_id"], 0))
    return {row["id"] for row in rows if not row["escalate"] and row["feedback"] != "down"
            and row["id"] > last_escalation.get(row["conversation_id"], 0)}


def first_words_ms(timings: dict[str, float] | None) -> tuple[float, bool] | None:
    """How long the shopper waited for the reply's first words, in ms, and whether the chat timed
    it so (`first_visible_ms`: from the chat receiving the message to the first words it showed).
    Answers logged before that was stored have only the server's first token (`first_token_ms`),
    returned with False: it is earlier than what the shopper saw when the reply was checked
    sentence by sentence before being shown."""
    timings = timings or {}
    if "first_visible_ms" in timings:
        return timings["first_visible_ms"], True
    if "first_token_ms" in timings:
        return timings["first_token_ms"], False
    return None


def build_report(
    log: SupportLog, since: date | None = None, until: date | None = None, embedder: Embedder | None = None, top: int = 10
) -> Report:
    """The dashboard's figures for turns from `since` to `until` (days, both included)."""
    start, end = day_range(since, until)
    rows = log.turn_rows(start, end)
    # An escalation after `until` still undoes an answer given before it.
    deflected = deflected_turns([*rows, *(log.turn_rows(end) if end else [])]) & {row["id"] for row in rows}
    days: dict[str, Counter] = {}
    for row in rows:
        day = days.setdefault(row["created_at"].date().isoformat(), Counter())
        day["questions"] += 1
        if row["escalate"]:
            day["escalated"] += 1
        else:
            day["deflected" if row["id"] in deflected else "answered_not_deflected"] += 1
    by_day = [{"day": day, "questions": c["questions"], "deflected": c["deflected"],
               "answered_not_deflected": c["answered_not_deflected"], "escalated": c["escalated"]}
              for day, c in sorted(days.items())]
    reasons = Counter(row["reason"] for row in rows if row["escalate"])
    feedback = Counter(row["feedback"] for row in rows if row["feedback"])
    totals = [row["timings"]["total_ms"] for row in rows if "total_ms" in (row["timings"] or {})]
    firsts = [found for row in rows if (found := first_words_ms(row["timings"])) is not None]
    waits = [ms for ms, _ in firsts]
    latency = {"p50_total_ms": percentile(totals, 0.5), "p95_total_ms": percentile(totals, 0.95),
               "p50_first_words_ms": percentile(waits, 0.5), "p95_first_words_ms": percentile(waits, 0.95)}
    unanswered = [row["question"] for row in rows if row["reason"] in UNANSWERED]
    groups = group_questions(unanswered, embedder)[:top] if embedder is not None else []
    return Report(len(rows), len({row["conversation_id"] for row in rows}), sum(reasons.values()), len(deflected),
                  by_day, dict(reasons.most_common()), feedback["up"], feedback["down"], latency, groups,
                  sum(not shown for _, shown in firsts))
