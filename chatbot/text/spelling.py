"""Shoppers' typos put right in the pages' own words: "how do i rtack my order" searches for
"track", "cancfel" for "cancel". A word is put right only when it is neither an English word nor
one the pages use, and one of the pages' words is a typo away from it. In Chinese, a typo is
mostly a homophone: "包油" is the pages' "包邮", "普尔茶" their "普洱"."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import cache

from chatbot.text.words import has_han

# A word that may be a typo: letters only (not "b2b", an email or an order number), 4 or more of
# them; one of 4 only missing a letter ("ordr"), since a short word is a changed letter away from
# too many others ("etsy": "easy"), and shorter ones are chat ("pls", "thx").
# Not a word cut by an apostrophe: "doesn" of "doesn’t".
_WORD = re.compile(r"(?<![\w@./'’-])[A-Za-z]{4,}(?![\w@/'’-])")
# Contractions typed without their apostrophe: words, not typos ("thats" is not "that").
_NO_APOSTROPHE = frozenset(
    "thats theres theyre hasnt doesnt isnt arent wasnt werent didnt youre couldnt wouldnt shouldnt havent hadnt "
    "whats wheres theyve youve weve theyll youll shes".split()
)
# British spellings, which the English list (American) lacks, by their American ones: "colour",
# "organise", "centre", "catalogue", "travelled".
_BRITISH = [(re.compile(r"our(s|ed|ing|ite|ites|able)?$"), r"or\1"), (re.compile(r"is(e|es|ed|ing|ation|ations)$"), r"iz\1"),
            (re.compile(r"ys(e|es|ed|ing)$"), r"yz\1"), (re.compile(r"tre(s|d)?$"), r"ter\1"),
            (re.compile(r"ogue(s)?$"), r"og\1"), (re.compile(r"ll(ed|ing|er|ers|ery)$"), r"l\1"),
            (re.compile(r"ence(s)?$"), r"ense\1"), (re.compile(r"ium$"), "um"), (re.compile(r"^tyre"), "tire"),
            (re.compile(r"que(s)?$"), r"ck\1")]
# Where a capital letter is no name's: the message's or a sentence's first word.
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+)$")
_PAGE_WORD = re.compile(r"[a-z]+")
# Typos per word put right: one for a short word, two from this length on ("recieveing": "receiving").
LONG_WORD = 8
SHORT_WORD = 5  # below this, only a letter left out is put back


@cache
def _english() -> frozenset[str]:
    """English words (pyspellchecker's list, about 160,000): a word there is not a typo."""
    from spellchecker import SpellChecker

    return frozenset(SpellChecker().word_frequency.dictionary)


def is_english(word: str) -> bool:
    """Whether a lower-case word is English, in American or British spelling, or a contraction.

    >>> is_english("colours"), is_english("organised"), is_english("travelled"), is_english("rtack")
    (True, True, True, False)
    """
    english = _english()
    return word in english or word in _NO_APOSTROPHE or any(
        (american := pattern.sub(replacement, word)) != word and american in english for pattern, replacement in _BRITISH
    )


def _deletes(word: str) -> set[str]:
    """The word with one letter left out, each way, and as it is."""
    return {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}


def typos_apart(a: str, b: str) -> int:
    """The fewest typos (a letter left out, added, changed, or two swapped) that make `a` into `b`.

    >>> typos_apart("rtack", "track"), typos_apart("cancfel", "cancel"), typos_apart("reimbvurse", "reimburse")
    (1, 1, 1)
    >>> typos_apart("recieveing", "receiving"), typos_apart("june", "jute")
    (2, 1)
    """
    rows = [list(range(len(b) + 1))]
    for i, x in enumerate(a, 1):
        row = [i]
        for j, y in enumerate(b, 1):
            row.append(min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (x != y)))
            if i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


class Spelling:
    """The pages' words, to put a shopper's typos right in them.

    >>> spelling = Spelling(["Track your order from My account.", "Cancel an order within 1 hour."])
    >>> spelling.corrected("how do i rtack my ordr?"), spelling.corrected("Cancfel it. Acconut Trcak")
    ('how do i track my order?', 'Cancel it. Account Trcak')
    >>> spelling.corrected("is it on etsy"), spelling.corrected("hour ordr")
    ('is it on etsy', 'hour order')
    >>> spelling.corrected("can i put my jute rug in the wash"), spelling.corrected("Klarna?")
    ('can i put my jute rug in the wash', 'Klarna?')
    >>> spelling.corrected("it doesn’t fit, thats why"), spelling.corrected("which colours")
    ('it doesn’t fit, thats why', 'which colours')
    """

    def __init__(self, texts: Iterable[str]) -> None:
        texts = list(texts)
        self.counts = Counter(word for text in texts for word in _PAGE_WORD.findall(text.lower()))
        self.chinese = ChineseHomophones([text for text in texts if has_han(text)])
        # Each page word under its one-letter deletions: a typo one letter off shares one of them.
        self._near: dict[str, set[str]] = {}
        for word in self.counts:
            if len(word) >= 3:
                for deleted in _deletes(word):
                    self._near.setdefault(deleted, set()).add(word)

    def prepare(self) -> None:
        """Read the English word list now (0.15 s) rather than at the first typo."""
        _english()

    def corrected(self, text: str) -> str:
        """The text with each typo replaced by the page word it most likely meant."""
        text = self.chinese.corrected(text)
        return _WORD.sub(lambda found: self._corrected_word(found.group(), found.start(), text), text)

    def _corrected_word(self, written: str, start: int, text: str) -> str:
        word = written.lower()
        if word in self.counts or is_english(word) or written.isupper():
            return written
        if written[0].isupper() and not _SENTENCE_START.search(text[:start]):
            return written  # a name: "Venmo", "Etsy"
        allowed = 2 if len(word) >= LONG_WORD else 1
        candidates = {page for deleted in _deletes(word) for page in self._near.get(deleted, ())}
        if len(word) < SHORT_WORD:  # only a letter left out: "ordr", not "etsy" for "easy"
            candidates = {page for page in candidates if len(page) == len(word) + 1 and word in _deletes(page)}
        scored = [(distance, -self.counts[page], page) for page in candidates
                  if (distance := typos_apart(word, page)) <= allowed]
        if not scored:
            return written
        best = min(scored)[2]
        return best.capitalize() if written[0].isupper() else best


_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")


# Characters that jieba's guesses glue onto a word ("锅能", "上用"): such a piece is no typo of a word.
_FUNCTION_CHARS = frozenset("能用在是上下了的吗呢吧啊有就也都还要会可被把和与或很太再又才")


class ChineseHomophones:
    """The Chinese pages' words by their sound, to put right a word of the question (rjieba's cut)
    that the pages never write but one of their words sounds the same as, one character apart.

    >>> homophones = ChineseHomophones(["普洱 适合长期存放。满99元包邮。退货期限为7天。商用不保修。"])
    >>> homophones.corrected("普尔茶能放冰箱吗 买多少包油"), homophones.corrected("退货期线多久")
    ('普洱茶能放冰箱吗 买多少包邮', '退货期限多久')
    >>> homophones.corrected("包邮吗"), homophones.corrected("铸铁锅能在电磁炉上用吗"), homophones.corrected("what about tea?")
    ('包邮吗', '铸铁锅能在电磁炉上用吗', 'what about tea?')
    """

    def __init__(self, texts: Sequence[str]) -> None:
        self.text = "\n".join(texts)
        self.by_sound: dict[tuple[str, ...], set[str]] = {}
        if not self.text:
            return
        import rjieba

        for word in {w for w in rjieba.cut(self.text) if 2 <= len(w) <= 4 and _HAN_RUN.fullmatch(w)}:
            self.by_sound.setdefault(_sound(word), set()).add(word)

    def corrected(self, text: str) -> str:
        if not self.by_sound or not has_han(text):
            return text
        import rjieba

        return "".join(self._meant(word) for word in rjieba.cut(text))

    def _meant(self, written: str) -> str:
        if (not 2 <= len(written) <= 4 or not _HAN_RUN.fullmatch(written) or written in self.text
                or written[0] in _FUNCTION_CHARS or written[-1] in _FUNCTION_CHARS):
            return written
        meant = [word for word in self.by_sound.get(_sound(written), ()) if sum(a != b for a, b in zip(word, written)) == 1]
        return meant[0] if len(meant) == 1 else written


def _sound(word: str) -> tuple[str, ...]:
    from pypinyin import lazy_pinyin

    return tuple(lazy_pinyin(word))
