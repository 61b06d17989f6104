"""The arithmetic of the eval: ranking hits, abstention, answer overlap and unsupported numbers."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

_WORD = re.compile(r"[a-z0-9]+(?:[.,'][a-z0-9]+)*")
_ARTICLES = {"a", "an", "the"}
_CITATION = re.compile(r"\[[\d,\s]+\]")


def hit_at(ranks: Sequence[int | None], k: int) -> float:
    """Share of questions whose first hit is within the top k.

    >>> hit_at([1, 3, None, 2], 2)
    0.5
    """
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


def mean_reciprocal_rank(ranks: Sequence[int | None]) -> float:
    """Mean of 1/rank of the first hit; a miss counts 0.

    >>> mean_reciprocal_rank([1, 2, None, 4])
    0.4375
    """
    return sum(1 / r for r in ranks if r is not None) / len(ranks) if ranks else 0.0


def auroc(scores: Sequence[float], positives: Sequence[bool]) -> float | None:
    """Probability that a random positive scores above a random negative (ties count half).

    None unless both classes are present.

    >>> auroc([0.9, 0.8, 0.3, 0.1], [True, False, True, False])
    0.75
    """
    pos = [s for s, p in zip(scores, positives) if p]
    neg = [s for s, p in zip(scores, positives) if not p]
    if not pos or not neg:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile, q in [0, 100].

    >>> percentile([10, 20, 30, 40], 50), percentile([10, 20, 30, 40], 95)
    (25.0, 38.5)
    """
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def normalize_tokens(text: str) -> list[str]:
    """Lower-cased words without punctuation, articles or citation markers.

    >>> normalize_tokens("Returns are FREE [1], within the 30 days.")
    ['returns', 'are', 'free', 'within', '30', 'days']
    """
    return [w for w in _WORD.findall(_CITATION.sub(" ", text.lower())) if w not in _ARTICLES]


def token_f1(prediction: str, reference: str) -> float:
    """Harmonic mean of token precision and recall (SQuAD style).

    >>> round(token_f1("Returns are free within 30 days", "You have 30 days for returns"), 3)
    0.5
    """
    pred, ref = normalize_tokens(prediction), normalize_tokens(reference)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def rouge_l(prediction: str, reference: str) -> float:
    """F-measure of the longest common token subsequence.

    >>> round(rouge_l("items can be returned within 30 days", "sale items can be returned within 14 days"), 3)
    0.8
    """
    pred, ref = normalize_tokens(prediction), normalize_tokens(reference)
    if not pred or not ref:
        return 0.0
    previous = [0] * (len(ref) + 1)
    for word in pred:
        current = [0]
        for j, other in enumerate(ref, 1):
            current.append(previous[j - 1] + 1 if word == other else max(previous[j], current[j - 1]))
        previous = current
    lcs = previous[-1]
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(pred), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)
