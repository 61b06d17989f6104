"""Whether a sentence says the opposite of its sources: "Yes, we deliver to Japan" shares every word
of "we do not deliver to ... Japan", so the word, fact and name checks pass it; here its clauses
are compared with the sources' clauses that share most of their words, negation included."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from chatbot.text.citations import strip_markers
from chatbot.text.words import content_words, passage_sentences

# "without" and "non-" are left out: "without fabric softener" and "non-stick pans" deny nothing.
_NEGATION = re.compile(r"\b(?:not|no|never|cannot|nor|none|neither|nothing|nowhere|unable)\b|n['’]t\b"
                       r"|\bnon(?=-?(?:returnable|refundable|exchangeable|transferable|cancell?able)\b)", re.IGNORECASE)
# Negative words that do not deny the clause: "no more than 30 days" is "within 30 days".
_IDIOM = re.compile(
    r"\b(?:at\s+)?no\s+(?:more|less|later|longer|earlier|sooner|fewer|extra|additional|charge|cost|fee|problem|"
    r"questions?|worries|matter|need|obligation)\b|\bnot\s+only\b|\bno-(?:quibble|questions)\b|\bcosts?\s+nothing\b",
    re.IGNORECASE,
)
# Words that turn a clause into a restriction, which the sources may word either way: "we only
# deliver to the UK" is "we do not deliver outside the UK".
_RESTRICTION = re.compile(r"\b(?:only|just|except|excluding|unless|outside|other\s+than|apart\s+from)\b", re.IGNORECASE)
# "Yes, ..." or "No, ..." answers the shopper; the polarity that matters is the statement's after it.
_REPLY = re.compile(
    r"^\s*(?:yes|yep|yeah|no|nope)\b"
    r"(?:\s*[,.!:;–—-]+\s*|\s+(?=(?:we|you|it|they|there|i|our|your|that|this|sorry|unfortunately)\b))",
    re.IGNORECASE,
)
_CLAUSE_BREAK = re.compile(
    r";|\s+[–—]\s+|,\s+and\b|,?\s+\b(?:but|however|although|though|whereas|while|yet|because|as\s+long\s+as|provided)\b\s*,?",
    re.IGNORECASE,
)
MIN_SHARED = 2  # a clause must share this many content words with a source clause to be compared
# Price words read as one word with a polarity, so "return postage is free" and "returning costs
# £2.95" disagree: being free is "not charged", whatever word the page uses for paying.
_FREE = re.compile(
    r"(?<![-\w])(?<!feel )free(?:\s+of\s+charge)?(?!-)\b|\b(?:at\s+)?no\s+(?:extra\s+|additional\s+)?(?:charge|cost|fee)s?\b",
    re.IGNORECASE,
)
_NOT_FREE = re.compile(r"(?:\bnot\s+|n['’]t\s+)free\b", re.IGNORECASE)
_CHARGED = re.compile(r"\b(?:charge[sd]?|costs?|fees?|pay|pays|paid|payable)\b", re.IGNORECASE)
# A negation that is the verb's ("is not", "cannot", "doesn't"), so it denies the subject before it.
_AUXILIARY = re.compile(
    r"\b(?:is|are|was|were|be|can|could|do|does|did|will|would|should|may|must|has|have)\s+(?:not|never)\s*$"
    r"|\b(?:cannot|can['’]t|isn['’]t|aren['’]t|doesn['’]t|don['’]t|won['’]t|wasn['’]t|weren['’]t)\s*$",
    re.IGNORECASE,
)
# The "not" of "not charged" denies the price only, not the rest of its clause ("free ... by Royal Mail").
_PRICE_ONLY = re.compile(r"\s+charged\b", re.IGNORECASE)


def as_compared(text: str) -> str:
    """The text with its price words in one spelling: "free" and "no charge" become "not charged",
    "costs", "fee" and "pay" become "charged".

    >>> as_compared("Returns are free; exchanges cost £3 and there is no extra fee")
    'Returns are not charged; exchanges charged £3 and there is not charged'
    >>> as_compared("Delivery isn't free")
    'Delivery is charged'
    """
    return _CHARGED.sub("charged", _FREE.sub("not charged", _NOT_FREE.sub(" charged", text)))


def clauses(text: str) -> list[str]:
    """A sentence's clauses, split where it turns ("but", "however", ";").

    >>> clauses("We deliver to the EU, but not to Asia; UK orders are free.")
    ['We deliver to the EU', 'not to Asia', 'UK orders are free.']
    """
    return [piece.strip() for piece in _CLAUSE_BREAK.split(text) if piece and piece.strip()]


def negated(clause: str, about: frozenset[str] | None = None) -> bool:
    """Whether a clause denies what it says (idioms such as "no more than" do not); with `about`,
    only a negation followed by one of those content words counts, so "Wash towels at 40°C
    with no fabric softener" denies nothing about washing towels at 40°C.

    >>> negated("We do not deliver to Japan"), negated("Returns cost no more than £3"), negated("No, it is free")
    (True, False, False)
    >>> negated("Wash towels at 40°C with no fabric softener", about=frozenset({"wash", "towel"}))
    False
    >>> negated("Next-day delivery is not available to the Highlands", about=frozenset({"next", "day", "deliveri"}))
    True
    >>> negated("Non-returnable items are pillows once removed from their wrap", about=frozenset({"return"}))
    True
    >>> negated("Non-returnable items are pillows and mattress toppers", about=frozenset({"mattress", "topper"}))
    False
    """
    text = _IDIOM.sub(" ", _REPLY.sub("", clause))
    for found in _NEGATION.finditer(text):
        rest = text[found.end():]
        if about is None:
            return True
        if found.group().lower() == "non":  # "non-returnable" denies returning, not the things it lists
            if content_words(rest.lstrip("-").split(maxsplit=1)[0]) & about:
                return True
            continue
        if _PRICE_ONLY.match(rest):
            if "charg" in about:
                return True
        elif content_words(rest) & about:
            return True
        elif _AUXILIARY.search(text[:found.end()]) and content_words(text[:found.start()]) & about:
            return True  # "Next-day delivery is not available ...": the verb's negation denies its subject
    return False


def contradicted(sentence: str, passages: Sequence[str]) -> str:
    """The source clause that a clause of `sentence` contradicts, or "" when none does.

    A clause is compared with the source clauses that share at least half of its content words
    (and at least MIN_SHARED). It contradicts one when it negates those shared words and the
    source clause does not, or the other way round, unless another source clause says it the same
    way about at least the same words. Price words are compared as "charged" or "not charged"
    (`as_compared`). Restrictions ("only", "except") are not compared.

    >>> japan = "Maple & Moss does not currently deliver to countries in Asia (including Japan, China)."
    >>> contradicted("Yes, we deliver to Japan [1].", [japan])[:32]
    'Maple & Moss does not currently '
    >>> contradicted("No, we do not deliver to Japan.", [japan])
    ''
    """
    pieces = [piece for text in passages for piece in _comparable_clauses(text)]
    said = [as_compared(clause) for piece in passage_sentences(strip_markers(sentence))
            for clause in clauses(_REPLY.sub("", piece))]
    for clause in said:  # a quotation may hold several sentences
        words = content_words(clause)
        if len(words) < MIN_SHARED or _RESTRICTION.search(clause):
            continue
        shared = [(words & source_words, source, compared) for source, compared, source_words in pieces]
        best = max((len(common) for common, _, _ in shared), default=0)
        if best < max(MIN_SHARED, (len(words) + 1) // 2):
            continue
        agreeing = [common for common, _, compared in shared
                    if len(common) >= MIN_SHARED and negated(clause, common) == negated(compared, common)]
        # A source clause saying the opposite about these words stands unless one saying it the
        # same way covers at least the same words: "Sale items can be returned within 14 days"
        # does not answer for "items marked Final Sale can be returned".
        for common, source, compared in sorted(shared, key=lambda found: -len(found[0])):
            if len(common) < max(MIN_SHARED, (len(words) + 1) // 2):
                break
            if negated(clause, common) != negated(compared, common) and not any(common <= other for other in agreeing):
                return source
    return ""


@lru_cache(maxsize=1024)
def _comparable_clauses(text: str) -> tuple[tuple[str, str, frozenset[str]], ...]:
    """A source's clauses that are not restrictions, each as written, with its price words in one
    spelling, and with its content words: read once per passage, not once for every sentence of
    every answer that cites it."""
    found = []
    for line in passage_sentences(text):
        for clause in clauses(line):
            if not _RESTRICTION.search(clause):
                compared = as_compared(clause)
                found.append((clause, compared, content_words(compared)))
    return tuple(found)
