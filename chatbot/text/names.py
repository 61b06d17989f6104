"""The names a sentence states (capitalised words, acronyms, brands, months, weekdays) and which its sources lack."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

from chatbot.text.citations import strip_markers
from chatbot.text.facts import ABBREVIATIONS, MONTHS, WEEKDAYS

# Capitalised for the reader, not because they name something.
_NOT_NAMES = {"i", "i'm", "i'll", "i've", "i'd", "yes", "no", "please", "you", "ok", "okay", "hi", "hello", "thanks",
              "thank", "sorry", "dear", "note", "am", "pm", "id", "faq", "faqs", "asap", "ps", "nb", "eta", "tbc"}
_CONNECTORS = {"of", "&"}
_TOKEN = re.compile(r"(?<![\w'’])[A-Za-z0-9]+(?:['’][A-Za-z]+)?|&")
# A word is at the start of a sentence, list item, quotation or heading after one of these.
_OPENERS = set(':;.!?"“”\'‘(*•>#|)')
_CALENDAR = {w.lower() for w in (*MONTHS, *WEEKDAYS) if w != "May"} | {a.lower() for a in ABBREVIATIONS}


def _is_start(text: str, index: int) -> bool:
    before = text[:index].rstrip()
    if not before or before[-1] in _OPENERS or text[:index].endswith("\n"):
        return True
    return before[-1] in "-–—" and (len(before) == 1 or before[-2].isspace())


def _name_kind(word: str, at_start: bool, text: str, end: int) -> str:
    """'name', 'start' (capitalised maybe only for being first), or '' (not a name)."""
    bare = re.sub(r"['’]s$", "", word)
    if len(bare) < 2 or bare.lower() in _NOT_NAMES or word.lower() in _NOT_NAMES or not word[0].isalpha():
        return ""
    if bare.isupper() or re.match(r"[a-z]+[A-Z]|[A-Z][a-z]+[A-Z]", bare):
        return "name"  # an acronym (DHL) or camelcase (PayPal, iPhone) is a name anywhere
    if bare == "May":  # the month, not the verb, when a day number is beside it
        near = text[max(0, end - len(word) - 4) : end + 4]
        return "name" if re.search(r"\d\s*May|May\s*\d", near) else ""
    if not bare[0].isupper():
        return ""
    if bare.lower() in _CALENDAR:
        return "name"
    return "start" if at_start else "name"


def names_in(sentence: str) -> list[tuple[str, ...]]:
    """The names a sentence states, each as its words; a multiword name keeps its connectors.

    The first word of a sentence, list item, quotation or heading counts only when it is an
    acronym, camelcase, a month or a weekday: "Sunday", "DHL", but not "Refunds" or "Please".

    >>> names_in('Refunds go via PayPal or Royal Mail Tracked 48 on Sunday: "Track My Order". I think.')
    [('PayPal',), ('Royal', 'Mail', 'Tracked'), ('Sunday',), ('My', 'Order')]
    """
    text = strip_markers(sentence)
    tokens = [(m.group(0), _name_kind(m.group(0), _is_start(text, m.start()), text, m.end()), m.start(), m.end())
              for m in _TOKEN.finditer(text)]
    names: list[tuple[str, ...]] = []
    run: list[str] = []
    for i, (word, kind, start, _) in enumerate(tokens):
        joined = bool(run) and not text[tokens[i - 1][3] : start].strip()
        if kind == "name" and (joined or not run):
            run.append(word)
        elif kind == "name":
            names.append(tuple(run))
            run = [word]
        elif word.lower() in _CONNECTORS and joined and i + 1 < len(tokens) and tokens[i + 1][1] == "name":
            run.append(word)
        elif run:
            names.append(tuple(run))
            run = []
    if run:
        names.append(tuple(run))
    return names


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", re.sub(r"['’]s\b", "", text.lower()))


_CAPITALISED_RUN = re.compile(r"[A-Z][a-z]+(?:\s+(?:of\s+|and\s+|&\s+)?[A-Z][a-z]+)+")


@lru_cache(maxsize=4096)
def _vocabulary(text: str) -> tuple[frozenset[str], str]:
    """A text's lower-cased words (weekday and month abbreviations written out, the initials of its
    multiword names: "European Union" gives "eu") and its words as one string, for phrases."""
    words = _words(text)
    expanded = {ABBREVIATIONS[w.title()].lower() for w in words if w.title() in ABBREVIATIONS}
    singular = {w[:-1] for w in words if len(w) > 3 and w.endswith("s")}
    initials = set()
    for run in _CAPITALISED_RUN.findall(text):
        letters = "".join(w[0] for w in run.split() if w[0].isupper()).lower()
        initials |= {letters[i:j] for i in range(len(letters)) for j in range(i + 2, len(letters) + 1)}
    return frozenset(words) | expanded | singular | initials, f" {' '.join(words)} "


def unsupported_names(sentence: str, passages: Sequence[str], allowed: Iterable[str] = ()) -> list[str]:
    """The names in `sentence` that none of `passages` (or `allowed`) contains, compared without case.

    A multiword name passes when its whole phrase appears, or each of its words does.

    >>> unsupported_names("We ship by DHL or Royal Mail.", ["Royal Mail Tracked 48 and Evri."])
    ['DHL']
    >>> unsupported_names("Maple & Moss answers Mon-Fri.", ["Open Monday to Friday."], ["Maple & Moss"])
    []
    """
    vocabularies = [_vocabulary(t) for t in (*passages, *allowed)]
    known = frozenset().union(*(v[0] for v in vocabularies))
    phrases = "".join(v[1] for v in vocabularies)
    missing = []
    for name in names_in(sentence):
        words = _words(" ".join(name))
        if f" {' '.join(words)} " in phrases:
            continue
        lookup = [ABBREVIATIONS.get(w.title(), w).lower() for w in words if w not in _CONNECTORS]
        if not all(w in known or w + "s" in known or (len(w) > 3 and w[:-1] in known) for w in lookup):
            missing.append(" ".join(name))
    return missing
