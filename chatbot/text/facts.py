"""A text's checkable facts (numbers, amounts, times, dates, ranges) in one spelling, so they can be compared."""

from __future__ import annotations

import re
from collections.abc import Sequence

# Amounts and counts as written in answers: "£3.95", "1,000", "30", "2pm" -> "3.95", "1000", "30", "2".
# Digits not inside a word ("A4", "v2"); Chinese puts them right after a character ("运费20元").
_NUMBER = re.compile(r"(?<![^\W\u4e00-\u9fff])(?<!\.)\d+(?:[.,]\d+)*")
_CITATION = re.compile(r"\[[\d,\s]+\]")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s\])>。，、；：！？）」]+", re.IGNORECASE)  # a Chinese full stop ends it
_UNITS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_ORDINAL_UNITS = (
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh",
    "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth",
)
# word -> (value, kind); the kind says what may follow it inside one number.
_CARDINALS = {w: (v, "unit" if v < 10 else "teen") for v, w in enumerate(_UNITS)}
_CARDINALS |= {w: (v, "tens") for v, w in zip(range(20, 100, 10), _TENS)}
_CARDINALS |= {"hundred": (100, "hundred"), "thousand": (1000, "thousand")}
_ORDINALS = {w: (v, "unit" if v < 10 else "teen") for v, w in enumerate(_ORDINAL_UNITS, 1)}
_ORDINALS |= {"twentieth": (20, "tens"), "thirtieth": (30, "tens")}
_NUMBER_WORDS = _CARDINALS | _ORDINALS
# What may follow what inside one spelled-out number ("two hundred and twenty-one").
_FOLLOWS = {
    "unit": {"hundred", "thousand"}, "teen": {"hundred", "thousand"}, "tens": {"unit"},
    "hundred": {"unit", "teen", "tens", "thousand"}, "thousand": {"unit", "teen", "tens"}, "ordinal": set(),
}
_WORD = "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
_SPELLED = re.compile(rf"\b(?:{_WORD})(?:(?:[\s-]+|\s+and\s+)(?:{_WORD}))*\b", re.IGNORECASE)
# "one" as a pronoun ("no one", "the one you ordered", "one of our team") is not a count.
_BEFORE_PRONOUN = re.compile(r"\b(?:no|any|every|some|which|this|that|each|the|another)\s+$", re.IGNORECASE)
_AFTER_PRONOUN = re.compile(r"\s+(?:of|another)\b", re.IGNORECASE)

MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
    "December",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ABBREVIATIONS = {m[:3]: m for m in MONTHS if m != "May"} | {"Sept": "September"}
ABBREVIATIONS |= {d[:3]: d for d in WEEKDAYS} | {"Tues": "Tuesday", "Thur": "Thursday", "Thurs": "Thursday"}
_MONTH = "|".join([*MONTHS, *(a for a in ABBREVIATIONS if ABBREVIATIONS[a] in MONTHS)])
_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})\s+(?:of\s+)?({_MONTH})\b")
_MONTH_DAY = re.compile(rf"\b({_MONTH})\.?\s+(?:the\s+)?(\d{{1,2}})\b(?![:.,]?\d)")
_DATE = re.compile(rf"\b(\d{{1,2}}) ({'|'.join(MONTHS)})\b")

_CLOCK_12 = re.compile(r"(?<![\d:.£$€])(\d{1,2})(?:[:.](\d{2}))?\s*([ap])\.?m\b\.?", re.IGNORECASE)
_CLOCK_24 = re.compile(r"(?<![\d:.£$€])(\d{1,2}):(\d{2})(?![\d:])")
_TIME = re.compile(r"(?<![\d:])\d{1,2}:\d{2}(?![\d:])")
# An amount, count or time that may start or end a range.
_END = r"£?\d+(?:,\d{3})*(?:\.\d+)?(?::\d{2})?%?"
_BETWEEN = re.compile(rf"\b(?:between|from)\s+({_END})\s+(?:and|to)\s+({_END})")
# A spaced hyphen separates clauses ("£3.95 - 2 to 4 days"), so only "2-4", "2 – 4" and "2 to 4" are ranges.
_SPAN = re.compile(rf"(?<![\w.,:-])({_END})(?:-|\s*–\s*|\s+to\s+)({_END})(?![\w:]|[.,]\d|-\d)")

# A run of Chinese (Han) characters (text/words.py and BM25 cut them into words).
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# Chinese numerals before a unit ("三十天", "两周", "十四个工作日"): written as digits. Only before a
# unit, since 一 is also part of words ("一起", "一些").
_HAN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_HAN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_HAN_NUMBER = re.compile(
    r"([零〇一二两三四五六七八九十百千万]+)(?=\s*(?:个?工作日|个?小时|个?月|个?星期|天|日|周|年|分钟|件|次|倍|元|块|英镑|镑|积分|岁|%|％))"
)
# Chinese amounts and ranges: "20元", "人民币20", "6.95英镑", "3至5个工作日".
_YUAN = re.compile(r"(?:人民币|RMB)\s*(\d[\d,]*(?:\.\d+)?)|(\d[\d,]*(?:\.\d+)?)\s*(?:元|块钱|块|人民币)")
_POUNDS_ZH = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*(?:英镑|镑)")
_HAN_SPAN = re.compile(r"(\d+)\s*(?:至|到|~|～|-|–)\s*(\d+)")
_RANGE = re.compile(r"(?<![\w.,:-])£?([\d.,:]+)%?-£?([\d.,:]+)%?(?![\w:]|[.,]\d|-\d)")


def _spell_out(match: re.Match[str]) -> str:
    """ "twenty-one" -> "21", "two hundred and five" -> "205", "one two" -> "1 2"; "no one" stays."""
    text, start, end = match.string, match.start(), match.end()
    if match.group(0).lower() == "one" and (
        _BEFORE_PRONOUN.search(text, max(0, start - 10), start) and not text.startswith("-", end)
        or _AFTER_PRONOUN.match(text, end)
    ):
        return match.group(0)
    words = re.findall(r"[a-z]+", match.group(0).lower())
    numbers: list[int] = []
    total = current = 0
    last: str | None = None
    for word in words:
        if word == "and":
            continue
        value, kind = _NUMBER_WORDS[word]
        if last is not None and kind not in _FOLLOWS[last]:
            numbers.append(total + current)
            total = current = 0
        if kind == "hundred":
            current = max(current, 1) * 100
        elif kind == "thousand":
            total, current = total + max(current, 1) * 1000, 0
        else:
            current += value
        last = "ordinal" if word in _ORDINALS else kind
    numbers.append(total + current)
    return " ".join(map(str, numbers))


def _clock(hour: int, minute: int, half: str = "") -> str | None:
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half.lower() == "p" else 0)
    return f"{hour}:{minute:02d}" if hour <= 23 and minute <= 59 else None


def normalise(text: str) -> str:
    """Rewrite equivalent spellings of facts to one form: digits for number words and ordinals,
    "£50" for amounts, "10%" for percentages, "18:00" for times, "25 December" for dates and
    "2-4" for ranges. Emails and URLs are left as they are.

    >>> normalise("Twenty-one days, the first of December, fifty pounds or ten per cent")
    '21 days, the 1 December, £50 or 10%'
    >>> normalise("December 25th at 6 pm, £50.00, 2 to 4 business days, between 8am and 6pm")
    '25 December at 18:00, £50, 2-4 business days, 8:00-18:00'
    """
    text = re.sub(r"\ba\s+(hundred|thousand)\b", r"one \1", text, flags=re.IGNORECASE)
    text = _SPELLED.sub(_spell_out, text)
    text = re.sub(r"\b(\d+)(?:st|nd|rd|th)\b", r"\1", text)
    text = re.sub(r"(\d)\s*(?:per\s?cent|percent)\b", r"\1%", text, flags=re.IGNORECASE)
    text = re.sub(r"\bGBP\s*(\d)", r"£\1", text)
    text = re.sub(r"(\d[\d,]*(?:\.\d+)?)\s*(?:pounds?|quid|GBP)\b", r"£\1", text, flags=re.IGNORECASE)
    text = re.sub(r"(£\d[\d,]*)\.00\b", r"\1", text)
    text = _CLOCK_12.sub(lambda m: _clock(int(m[1]), int(m[2] or 0), m[3]) or m[0], text)
    text = _CLOCK_24.sub(lambda m: _clock(int(m[1]), int(m[2])) or m[0], text)
    text = re.sub(r"\b(?:12\s*)?(?:noon|midday)\b", "12:00", text, flags=re.IGNORECASE)
    text = re.sub(r"\bmidnight\b", "0:00", text, flags=re.IGNORECASE)
    text = re.sub(r"(?<![\w.£])(\d{1,2})p\b", lambda m: f"£0.{int(m[1]):02d}", text)
    text = _DAY_MONTH.sub(lambda m: f"{m[1]} {ABBREVIATIONS.get(m[2], m[2])}", text)
    text = _MONTH_DAY.sub(lambda m: f"{m[2]} {ABBREVIATIONS.get(m[1], m[1])}", text)
    text = _BETWEEN.sub(r"\1-\2", text)
    text = _SPAN.sub(r"\1-\2", text)
    return _chinese_facts(text) if HAN.search(text) else text


def _chinese_facts(text: str) -> str:
    """Chinese spellings of facts in the forms `normalise` gives: "三十天" as "30天", "20元" and
    "人民币20" as "¥20", "6.95英镑" as "£6.95", "3至5个工作日" as "3-5个工作日".

    >>> _chinese_facts("收货后三十天内退货，两周内退款，运费20元或人民币15，满50英镑免运费，3至5个工作日")
    '收货后30天内退货，2周内退款，运费¥20或¥15，满£50免运费，3-5个工作日'
    """
    text = _HAN_NUMBER.sub(lambda m: str(value) if (value := chinese_number(m[1])) is not None else m[0], text)
    text = _YUAN.sub(lambda m: f"¥{m[1] or m[2]}", text)
    text = _POUNDS_ZH.sub(r"£\1", text)
    return _HAN_SPAN.sub(r"\1-\2", text)


def chinese_number(numeral: str) -> int | None:
    """The value of a Chinese numeral ("三十" 30, "十四" 14, "一百二十" 120, "两千" 2000); None when
    it is not one.

    >>> [chinese_number(n) for n in ("三十", "十四", "一百二十", "两千", "七", "三三")]
    [30, 14, 120, 2000, 7, None]
    """
    total, digit, last_unit = 0, None, None
    for character in numeral:
        if character in _HAN_DIGITS:
            if digit is not None:
                return None  # two digits in a row ("三三") is not a number we read
            digit = _HAN_DIGITS[character]
        elif character in _HAN_UNITS:
            unit = _HAN_UNITS[character]
            if last_unit is not None and unit >= last_unit:
                return None
            total += (1 if digit is None else digit) * unit
            digit, last_unit = None, unit
        else:
            return None
    return total + (digit or 0)


def _number(raw: str) -> str:
    return re.sub(r",(?=\d{3}\b)", "", raw).rstrip(".,")


def facts_in(text: str) -> set[str]:
    """The checkable facts of a text, each in one spelling: numbers (words and "30-day" included),
    times, dates, ranges, emails and URLs.

    >>> sorted(facts_in("Thirty days, a 14-day window, £3.95 or help@shop.example."))
    ['14', '3.95', '30', 'help@shop.example']
    >>> sorted(facts_in("From 8am to 6pm on 25th December, in 2 to 4 days."))
    ['18:00', '2', '2-4', '25', '25 December', '4', '8:00', '8:00-18:00']
    """
    emails = {e.lower().rstrip(".") for e in _EMAIL.findall(text)}
    urls = {u.lower().rstrip(".,;:") for u in _URL.findall(text)}
    rest = normalise(_URL.sub(" ", _EMAIL.sub(" ", text)))
    ranges = {f"{_number(a)}-{_number(b)}" for a, b in _RANGE.findall(rest)}
    dates = {f"{int(day)} {month}" for day, month in _DATE.findall(rest)}
    times = set(_TIME.findall(rest))
    return numbers_in(_TIME.sub(" ", rest)) | times | dates | ranges | emails | urls


_CLOCK_TIME = re.compile(r"\b\d{1,2}(?::\d{2})?\s*(?:[ap]\.?m\b\.?)|\b\d{1,2}:\d{2}\b", re.IGNORECASE)


def supporting_facts(text: str) -> set[str]:
    """A source's facts, plus its numbers as written, so "2 to 4 days" supports "2 days"; but
    not the hour of a time: "order by 2pm" does not support "a 2-week journey".

    >>> sorted(supporting_facts("Order by 2pm for delivery in 2 to 4 days."))
    ['14:00', '2', '2-4', '4']
    >>> "2" in supporting_facts("Order by 2pm.")
    False
    """
    plain = _CLOCK_TIME.sub(" ", _SPELLED.sub(_spell_out, _URL.sub(" ", _EMAIL.sub(" ", text))))
    return facts_in(text) | numbers_in(plain)


def reported(missing: set[str]) -> list[str]:
    """Missing facts, without the numbers that a missing date, time or range already names."""
    parts = {p for fact in missing if not fact.replace(".", "").isdigit() for p in re.split(r"[- :]", fact)}
    shown = [f for f in missing if not (f.replace(".", "").isdigit() and f in parts)]
    return sorted(shown)


def numbers_in(text: str) -> set[str]:
    """The numbers in a text, thousands separators removed, citation markers ignored.

    >>> sorted(numbers_in("£3.95, or free over £1,000 [2]. Call 0113 496 0123."))
    ['0113', '0123', '1000', '3.95', '496']
    """
    found = set()
    for raw in _NUMBER.findall(_CITATION.sub(" ", text)):
        number = re.sub(r",(?=\d{3}\b)", "", raw).rstrip(".,")
        found.add(number)
    return found


def unsupported_numbers(answer: str, sources: Sequence[str]) -> set[str]:
    """Numbers the answer states that none of its sources contains, numbers in words included
    ("the other two" states 2), as the answer check reads them.

    >>> sorted(unsupported_numbers("Returns within 30 days, or 14 for sale items.", ["thirty days"]))
    ['14']
    >>> sorted(unsupported_numbers("收货后30天内可以退货，运费20元。", ["收货后三十天内可以退货，运费15元。"]))
    ['20']
    """
    supported = set().union(*(numbers_in(normalise(s)) for s in sources)) if sources else set()
    return numbers_in(normalise(answer)) - supported
