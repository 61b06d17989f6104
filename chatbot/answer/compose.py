"""Answers composed from the pages' own sentences (`answer_style = "extractive"`): the sentences of
the top passages closest to the question, each cited by its passage, so that every fact the
shopper reads is one the store wrote."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from chatbot.knowledge.embedding import Embedder
from chatbot.text.words import content_words, passage_sentences, says_something
from chatbot.values import Passage

# Each content word the sentence shares with the question adds this much to its cosine: words
# break near-ties between sentences the embedder finds equally close ("30 days" beside "14 days").
WORD_WEIGHT = 0.05
# A page's "Yes, ..." or "No, ..." answers the page's own question (an FAQ's), not necessarily the
# shopper's: the verdict is dropped and the statement kept ("Yes, we deliver to Ireland" beside a
# question about Japan must not read as a yes).
_BARE_VERDICT = re.compile(r"^(?:yes|no)[,:;!.]\s+(?=\S)", re.IGNORECASE)


def without_verdict(sentence: str) -> str:
    """The sentence without a leading bare "Yes," or "No,".

    >>> without_verdict("Yes, we deliver to Ireland."), without_verdict("No returns are free.")
    ('We deliver to Ireland.', 'No returns are free.')
    """
    rest = _BARE_VERDICT.sub("", sentence, count=1)
    if rest == sentence or not rest[0].isalpha():
        return sentence
    return rest[0].upper() + rest[1:]



def candidate_sentences(passages: Sequence[Passage]) -> list[tuple[int, int, str]]:
    """(passage number from 1, position, sentence) for every sentence of the passages that states
    something: a passage's own questions (an FAQ's "Can I ...?") answer nothing."""
    found = []
    for number, passage in enumerate(passages, 1):
        for position, sentence in enumerate(passage_sentences(passage.text)):
            if not sentence.rstrip().endswith("?") and says_something(sentence):
                found.append((number, position, without_verdict(sentence)))
    return found


def sentence_scores(question: str, sentences: Sequence[str], titles: Sequence[str], embedder: Embedder | None) -> list[float]:
    """How well each sentence answers the question: its cosine with the question (read with its
    passage's title, which says what "it" is) plus `WORD_WEIGHT` for each content word shared;
    the shared words alone without an embedder.

    >>> sentence_scores("how long do refunds take", ["Refunds take 5 days.", "We love you."], ["", ""], None)
    [0.1, 0.0]
    """
    wanted = content_words(question)
    scores = [WORD_WEIGHT * len(content_words(sentence) & wanted) for sentence in sentences]
    if embedder is not None and sentences:
        vectors = embedder.embed([question, *(f"{title}: {s}" for title, s in zip(titles, sentences))])
        cosines = np.asarray(vectors[1:] @ vectors[0], dtype=float)
        scores = [float(c) + s for c, s in zip(cosines, scores)]
    return [round(score, 6) for score in scores]


def compose(question: str, passages: Sequence[Passage], embedder: Embedder | None, sentences: int = 2) -> list[str]:
    """The `sentences` sentences of `passages` that best answer `question`, in the passages' order
    and each followed by its passage's marker ("... delivery. [1]"); [] when they have none.

    >>> p = Passage("r", "returns", "Returns", "We love returns. Full-price items can be returned "
    ...             "within 30 days. Sale items within 14 days.", "r.md")
    >>> compose("How many days to return full-price items?", [p], None, sentences=1)
    ['Full-price items can be returned within 30 days. [1]']
    """
    found = candidate_sentences(passages)
    titles = [passages[number - 1].title for number, _, _ in found]
    scores = sentence_scores(question, [sentence for _, _, sentence in found], titles, embedder)
    best = sorted(range(len(found)), key=lambda i: -scores[i])[:sentences]
    return [f"{found[i][2]} [{found[i][0]}]" for i in sorted(best, key=lambda i: found[i][:2])]
