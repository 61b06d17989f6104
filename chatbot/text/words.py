"""Words and sentences as the answer check reads them: content words (stemmed, no stopwords, numbers
in one spelling) and a passage's whole sentences."""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Any

from chatbot.text.citations import strip_markers
from chatbot.text.facts import HAN, normalise

_STOPWORD_TEXT = (
    "a about above after again all also am an and any are aren as at be because been before being below between both "
    "but by can cannot could couldn d did didn do does doesn doing don down during each either else etc ever every "
    "few for from further get gets got had hadn has hasn have haven having he her here hers herself him himself his "
    "how however i if in into is isn it its itself just let ll m may me might more most must mustn my myself need "
    "needn no nor not now of off on once only or other our ours ourselves out over own please pm re really s said "
    "same say says shall shan she should shouldn so some such sure t than thank thanks that the their theirs them "
    "themselves then there these they this those through to too under until up us ve very via was wasn way we "
    "were weren what when where which while who whom why will with won would wouldn yes yet you your yours "
    "yourself yourselves definitely absolutely certainly course simply happy glad help hi hello"
    # Words about the conversation, not the shop: "The answer is: no." has nothing to support.
    " answer answers question questions passage passages correct indeed policy policies"
    # Chat in the shopper's question, which the passage need not share.
    " want wants like need know tell ok okay cool tho u ur pls plz thx wat wot hw ya cos coz cuz lol bruh gonna wanna"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_CONTENT = re.compile(r"\d+(?::\d{2}|(?:[.,]\d+)*)|[a-z]+")
# Chinese function words that match every passage: particles, pronouns, "is", "what".
CHINESE_STOPWORDS = frozenset(
    "的 了 吗 呢 吧 啊 呀 是 在 我 你 您 他 她 它 我们 你们 他们 这 那 这个 那个 什么 怎么 怎么办 如何 "
    "哪些 哪个 多少 能 能否 可以 会 要 想 请问 请 有 没有 和 与 或 或者 就 也 都 还 又 被 把 给 对 吧 嘛 哦 么".split()
)


def is_stopword(word: str) -> bool:
    """Whether a lower-case English word is one `content_words` leaves out.

    >>> is_stopword("the"), is_stopword("pls"), is_stopword("sofa")
    (True, True, False)
    """
    return word in _STOPWORDS


@cache
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


# Stems the stemmer leaves apart for words of one meaning: "delivery" and "deliver", "paid" and "pay"
_SAME_STEM = {"deliveri": "deliv", "shipment": "ship", "paid": "pay", "payment": "pay"}


@lru_cache(maxsize=4096)
def content_words(text: str) -> frozenset[str]:
    """A text's stemmed words, without stopwords or citation markers; numbers in one spelling.

    >>> sorted(content_words("Refunds are returned within thirty days [1]."))
    ['30', 'day', 'refund', 'return', 'within']
    >>> content_words("do you deliver on saturdays") == content_words("Saturday delivery")
    True
    """
    text = normalise(strip_markers(text)).lower()
    words = [w for w in _CONTENT.findall(text) if w not in _STOPWORDS]
    return frozenset(_SAME_STEM.get(stem, stem) for stem in _stemmer().stemWords(words)) | chinese_words(text)


def has_han(text: str) -> bool:
    """Whether `text` has Chinese (Han) characters.

    >>> has_han("退货期限"), has_han("Final Sale")
    (True, False)
    """
    return HAN.search(text) is not None


def reply_language(text: str) -> str:
    """The language to reply in when it is not the default (English): "zh" for a message mostly
    in Chinese (Han characters, however many English words for a product beside them), else "".

    >>> reply_language("Final Sale的商品能退吗？"), reply_language("My order for 王芳 has not come"), reply_language("hi")
    ('zh', '', '')
    """
    han = sum(len(run) for run in HAN.findall(text))
    return "zh" if han and 3 * han >= len(re.findall(r"[A-Za-z]", text)) else ""


_CHINESE_CLAUSE_BREAK = re.compile(r"[，。？！?,!；;\s]+")


def chinese_clauses(text: str) -> list[str]:
    """A Chinese message's clauses, split at its commas, stops, question marks and spaces.

    >>> chinese_clauses("刀具咋保养 能进洗碗机不？")
    ['刀具咋保养', '能进洗碗机不', '']
    """
    return _CHINESE_CLAUSE_BREAK.split(text)


def chinese_words(text: str) -> frozenset[str]:
    """The Chinese words of a text (rjieba's cut), without function words and punctuation.

    >>> sorted(chinese_words("促销商品可以退货吗？"))
    ['促销', '商品', '退货']
    """
    if not has_han(text):
        return frozenset()
    import rjieba

    return frozenset(w for w in rjieba.cut(text) if has_han(w) and w not in CHINESE_STOPWORDS)


def says_something(text: str) -> bool:
    """Whether a text has a content word that is not a number: "Yes, I am." or "The answer is: 2."
    says nothing about the shop.

    >>> says_something("Yes, I am. [1]"), says_something("The answer is: 2."), says_something("Returns are free.")
    (False, False, True)
    """
    return any(word.isalpha() for word in content_words(text))


# "e.g.", "7 a.m. MT", "P.O. boxes", "the U.S. and Canada": dots that end no sentence
_ABBREVIATED = re.compile(r"\b(?:e\.g|i\.e|etc|approx|incl|no|vs|Mr|Mrs|Ms|Dr|St|a\.m|p\.m|p\.o|u\.s|u\.k|d\.c)\.$",
                          re.IGNORECASE)


def passage_sentences(text: str) -> list[str]:
    """A passage's sentences, whole: lines and list items apart, "e.g." and "£3.95" not ends.

    >>> passage_sentences("Tracked, e.g. Royal Mail. Costs £3.95!\\n- Rugs\\n- Beds")
    ['Tracked, e.g. Royal Mail.', 'Costs £3.95!', 'Rugs', 'Beds']
    >>> passage_sentences("Open 7 a.m. MT to 5 p.m. daily. No P.O. boxes or U.S. territories.")
    ['Open 7 a.m. MT to 5 p.m. daily.', 'No P.O. boxes or U.S. territories.']
    >>> passage_sentences("原价商品30天内可退。促销商品14天！")
    ['原价商品30天内可退。', '促销商品14天！']
    """
    found: list[str] = []
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s+", "", line).strip()
        merged: list[str] = []
        for piece in re.split(r"(?<=[.!?])\s+|(?<=[。！？])\s*", line):
            if merged and _ABBREVIATED.search(merged[-1]):
                merged[-1] = f"{merged[-1]} {piece}"
            else:
                merged.append(piece)
        found.extend(piece for piece in merged if piece)
    return found
