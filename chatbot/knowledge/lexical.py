"""Keyword search beside the vectors: BM25 (bm25s) over stemmed words, saved in the index folder.
Chinese text has no spaces between words: its runs of Han characters are cut into words (rjieba)
first, so a knowledge base or a question may be English, Chinese or both."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from chatbot.text.words import CHINESE_STOPWORDS, HAN, has_han

LANGUAGE = "english"
STOPWORDS = "en"
SETTINGS = {"library": "bm25s", "stemmer": LANGUAGE, "stopwords": STOPWORDS, "chinese": "rjieba words"}
# Words of two or more letters, or one Han character (a Chinese word may be one: 天, 钱).
_TOKEN = r"(?u)\b\w\w+\b|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"


class LexicalIndex:
    """BM25 over the passages' indexed text; `search` gives (passage number, score) pairs, best first."""

    def __init__(self, bm25: Any, size: int) -> None:
        self.bm25 = bm25
        self.size = size

    @classmethod
    def build(cls, texts: Sequence[str]) -> LexicalIndex:
        import bm25s

        bm25 = bm25s.BM25()
        bm25.index(_tokenize(texts), show_progress=False)
        return cls(bm25, len(texts))

    @classmethod
    def load(cls, folder: str | Path, size: int) -> LexicalIndex:
        import bm25s

        return cls(bm25s.BM25.load(str(folder)), size)

    def save(self, folder: str | Path) -> None:
        self.bm25.save(str(folder))

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Passages sharing at least one (stemmed, non-stop) word with `query`.

        >>> index = LexicalIndex.build(["Returns within 30 days", "UK delivery costs 3.95", "Sale returns: 14 days"])
        >>> [i for i, _ in index.search("returning a sale item", 3)]
        [2, 0]
        """
        k = min(k, self.size)
        if k <= 0:
            return []
        ids, scores = self.bm25.retrieve(_tokenize([query]), k=k, show_progress=False)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if s > 0]


def _tokenize(texts: Sequence[str]) -> Any:
    import bm25s
    from bm25s.stopwords import STOPWORDS_EN

    stopwords = [*STOPWORDS_EN, *CHINESE_STOPWORDS]
    return bm25s.tokenize([with_chinese_words(text) for text in texts], token_pattern=_TOKEN, stopwords=stopwords,
                          stemmer=_stemmer(), show_progress=False)


def embedder_reads(languages: str, text: str) -> bool:
    """Whether an embedder that reads `languages` (the `embedder_languages` setting: comma-separated
    codes, "" = any) reads `text`: any text, unless Chinese is not among them and it has Han characters.

    >>> embedder_reads("en", "退货期限"), embedder_reads("", "退货期限"), embedder_reads("en", "returns")
    (False, True, True)
    """
    codes = {code.strip() for code in languages.split(",") if code.strip()}
    return not codes or "zh" in codes or not has_han(text)


def with_chinese_words(text: str) -> str:
    """`text` with its Chinese words set apart by spaces (other text as it is).

    >>> with_chinese_words("退货期限是多少天？Final Sale")
    ' 退货 期限 是 多少 天 ？Final Sale'
    """
    if not has_han(text):
        return text
    import rjieba

    return HAN.sub(lambda run: " " + " ".join(rjieba.cut(run.group())) + " ", text)


@cache
def _stemmer() -> Any:
    """Made once: every search tokenises its query with it."""
    import Stemmer

    return Stemmer.Stemmer(LANGUAGE)
