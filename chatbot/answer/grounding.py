"""Checking an answer against its sources: a sentence is dropped, with the reason recorded, when it
states a fact (number, amount, time, date, range, email, URL) or names something (DHL, PayPal,
Sunday) that the passages it cites do not contain, or when too few of its words come from them.
When nothing is left, `extract` quotes the best passage instead of letting the model guess."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chatbot.answer.polarity import contradicted
from chatbot.text.citations import marker_numbers, split_sentences, strip_markers
from chatbot.text.facts import facts_in, reported, supporting_facts
from chatbot.text.names import unsupported_names
from chatbot.text.words import content_words, passage_sentences
from chatbot.values import Passage

if TYPE_CHECKING:
    from chatbot.knowledge.embedding import Embedder

Similarity = Callable[[str, Sequence[str]], float]

# --- Support: how many of the sentence's content words its passages contain. ------------------

def support_score(sentence: str, passages: Sequence[str], allowed: Iterable[str] = ()) -> float:
    """Share of the sentence's content words found in the passages (or `allowed`); 1.0 when it has none.

    >>> passage = "Full-price items can be returned within 30 days of delivery for a full refund."
    >>> support_score("You can return full-price items for a refund [1].", [passage])
    1.0
    >>> round(support_score("Gift cards never expire and can be used online.", [passage]), 2)
    0.0
    """
    words = content_words(sentence)
    if not words:
        return 1.0
    known = frozenset().union(*(content_words(t) for t in (*passages, *allowed)))
    return len(words & known) / len(words)


def embedding_similarity(embedder: Embedder, cache_size: int = 4096) -> Similarity:
    """A `similarity` for `ground`: the best cosine between the sentence and the passages' sentences."""
    vectors: dict[str, Any] = {}

    def similarity(sentence: str, passages: Sequence[str]) -> float:
        pieces = [s for text in passages for s in passage_sentences(text)]
        if not pieces:
            return 0.0
        new = [t for t in dict.fromkeys([sentence, *pieces]) if t not in vectors]
        if len(vectors) + len(new) > cache_size:
            vectors.clear()
            new = list(dict.fromkeys([sentence, *pieces]))
        if new:
            vectors.update(zip(new, embedder.embed(new)))
        best = max(float(vectors[sentence] @ vectors[piece]) for piece in pieces)
        return max(0.0, min(1.0, best))

    return similarity


# --- The check. ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Dropped:
    sentence: str
    reason: str


_QUOTE_END = re.compile(r'.*?(?:[.!?]["”’](?:\s*\[[\d,\s]+\])*(?:\s+|$)|$)', re.DOTALL)


def _open_quote(text: str) -> bool:
    return text.count('"') % 2 == 1 or text.count("“") > text.count("”")


def sentences(text: str) -> list[str]:
    """The answer's sentences, each with the citation markers after it; a quotation stays whole.

    >>> sentences("Returns take 30 days [1]. Sale items 14 days [2].")
    ['Returns take 30 days [1].', 'Sale items 14 days [2].']
    >>> sentences('It says: "Sale: 14 days. Gifts: 30 days." [1] Ask us.')
    ['It says: "Sale: 14 days. Gifts: 30 days." [1]', 'Ask us.']
    """
    # A sentence may also end inside a quotation: 'It says: "Sale: 14 days." [1] Ask us.'
    pieces = [part for piece in split_sentences(text) for part in _QUOTE_END.findall(piece) if part]
    found: list[str] = []
    i = 0
    while i < len(pieces):
        end = i
        if _open_quote(pieces[i]):  # join up to the piece that closes the quotation, if one does
            for j in range(i + 1, len(pieces)):
                if not _open_quote("".join(pieces[i : j + 1])):
                    end = j
                    break
        found.append("".join(pieces[i : end + 1]).strip())
        i = end + 1
    return [s for s in found if s]


def cited(sentence: str, count: int) -> list[int]:
    """The positions of the sources a sentence cites by marker ([1] is position 0); without
    markers, all `count` of them.

    >>> cited("Free over £50 [3]. Tracked [1].", 2), cited("No markers.", 2)
    ([0], [0, 1])
    """
    chosen = [n - 1 for n in sorted(marker_numbers(sentence)) if 1 <= n <= count]
    return chosen or list(range(count))


_ENUMERATOR = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*•])\s+")
_WORDS = re.compile(r"[^\W\d_]{2}")
# A greeting that cites a passage ("Hi Maple & Moss team, [1]") quotes nothing from it.
_GREETING = re.compile(r"^\W*(?:hi|hello|hey|dear|good\s+(?:morning|afternoon|evening))\b", re.IGNORECASE)


def ground(
    text: str,
    sources: Sequence[Passage],
    *,
    allowed: Iterable[str] = (),
    min_support: float = 0.0,
    similarity: Similarity | None = None,
    check_names: bool = True,
    check_polarity: bool = True,
) -> tuple[str, tuple[Dropped, ...]]:
    """Keep the sentences that the passages they cite support; say why the others went.

    A sentence goes when it states a fact or a name its passages lack, when it says the opposite
    of them (answer/polarity.py), or when its support score (`similarity`, else `support_score`) is
    below `min_support`. `allowed` holds what any answer may state, whatever it cites: the
    store's name, the support contact.

    >>> p = Passage("r", "returns", "Returns", "Items can be returned within 30 days.", "r.md")
    >>> ground("You have 30 days [1]. Gifts get 7 days [1].", [p])
    ('You have 30 days [1].', (Dropped(sentence='Gifts get 7 days [1].', reason='not in its sources: 7'),))
    >>> ground("Returns within thirty days via DHL [1].", [p], min_support=0.9)[1][0].reason
    'names what its sources do not: DHL; weakly supported (0.80 < 0.90)'
    >>> ground("1. You have 30 days [1]. 2. [1]", [p])
    ('You have 30 days [1].', ())
    >>> ground("Items cannot be returned [1].", [p])[1][0].reason
    'says the opposite of its sources: "Items can be returned within 30 days."'
    >>> ground("Yes, you can [1]. Items can be returned [1].", [p])[0]
    'Items can be returned [1].'
    """
    allowed = tuple(allowed)
    texts = [p.indexed_text for p in sources]
    source_facts = [supporting_facts(t) for t in texts]
    always = set().union(*(supporting_facts(a) for a in allowed))
    kept, dropped = [], []
    for sentence in sentences(text):
        sentence = _ENUMERATOR.sub("", sentence)  # a list's "1." or "-": layout, not a fact
        chosen = cited(sentence, len(sources))
        plain = strip_markers(sentence)
        if not _WORDS.search(plain):
            continue  # a stray "1." or "[1]" says nothing, and is not worth reporting either
        reasons = []
        if chosen and (_GREETING.match(plain) or not _states_something(plain, allowed)):
            dropped.append(Dropped(sentence, "cites a source but states nothing from it (a bare verdict or a greeting)"))
            continue
        missing = facts_in(plain) - always - set().union(*(source_facts[i] for i in chosen))
        if missing:
            reasons.append("not in its sources: " + ", ".join(reported(missing)))
        names = unsupported_names(plain, [texts[i] for i in chosen], allowed) if check_names else []
        names = [n for n in names if not any(n in fact for fact in missing)]  # "20 January" says it already
        if names:
            reasons.append("names what its sources do not: " + ", ".join(dict.fromkeys(names)))
        opposite = contradicted(plain, [texts[i] for i in chosen]) if check_polarity else ""
        if opposite:
            reasons.append(f'says the opposite of its sources: "{opposite}"')
        if min_support > 0:
            score = (
                similarity(plain, [texts[i] for i in chosen]) if similarity and chosen
                else support_score(plain, [texts[i] for i in chosen], allowed)
            )
            if score < min_support:
                reasons.append(f"weakly supported ({score:.2f} < {min_support:.2f})")
        if reasons:
            dropped.append(Dropped(sentence, "; ".join(reasons)))
        else:
            kept.append(sentence)
    return " ".join(kept), tuple(dropped)


def _states_something(sentence: str, allowed: Sequence[str]) -> bool:
    """Whether a sentence has a content word, not a number, beyond the store's name and contact:
    "Yes, you can." states nothing a source could support."""
    words = content_words(sentence) - content_words(" ".join(allowed))
    return any(word.isalpha() for word in words)


# --- The fallback: quote the best passage. ---------------------------------------------------

def extract(
    question: str,
    passages: Sequence[Passage],
    max_sentences: int = 2,
    *,
    intro: str = "Our policy says:",
    min_overlap: int = 1,
) -> str:
    """Quote the sentences of the best passage (`passages[0]`) that share most content words with
    the question, in passage order, cited as [1]; "" when none shares `min_overlap` of them.

    A second sentence is quoted only if it shares at least half as many words as the first.

    >>> p = Passage("r", "returns", "Returns", "We love returns. Full-price items can be "
    ...             "returned within 30 days. Sale items within 14 days.", "r.md")
    >>> extract("How long do I have to return full-price items?", [p], max_sentences=1)
    'Our policy says: "Full-price items can be returned within 30 days." [1]'
    """
    if not passages:
        return ""
    wanted = content_words(question)
    pieces = passage_sentences(passages[0].text)
    overlap = [len(content_words(piece) & wanted) for piece in pieces]
    best = sorted((i for i, n in enumerate(overlap) if n >= max(min_overlap, 1)), key=lambda i: (-overlap[i], i))
    if not best:
        return ""
    best = [i for i in best[:max_sentences] if 2 * overlap[i] >= overlap[best[0]]]
    return f'{intro} "{" ".join(pieces[i] for i in sorted(best))}" [1]'
