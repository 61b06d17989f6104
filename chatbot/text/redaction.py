"""Redacting personal data (emails, card and phone numbers, addresses, postcodes) from what is logged or exported."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TypeVar, cast

T = TypeVar("T")
Span = tuple[int, int]

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")

# Digit groups joined by single spaces or dashes, not glued to a word, a "+", a decimal point or another number.
_CARD_RUN = re.compile(r"(?<![\w+])(?<!\d[ .,-])\d+(?:[ -]\d+)*")
_DIGITS = re.compile(r"\d+")

# The same with dots too, a leading "+" and bracketed area codes: "+44 (0)20 7946 0018". Not after a currency
# sign or "#", so "£1 000 000" and "#0123456789" are never read as phones.
_PHONE_RUN = re.compile(
    r"(?<![\w+#£$€(])(?<!\d[ .,-])\+?(?:\(\d{1,5}\)[ .-]?)?\d+(?:(?:[ .-]|[ .-]?\(\d{1,5}\)[ .-]?)\d+)*"
)
_NORTH_AMERICAN = re.compile(r"(?:\+?1[ .-]?)?(?:\(\d{3}\)|\d{3})[ .-]?\d{3}[ .-]\d{4}")

_STREET = (
    "Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Close|Way|Court|Ct|Crescent|Place|Pl|Boulevard|Blvd|"
    "Terrace|Gardens|Square|Sq|Row|Hill|Grove|Mews"
)
_UNIT = r"(?i:flat|apartment|apt|unit|suite)\.?[ ]?#?\d+[A-Za-z]?"
_ADDRESS = re.compile(
    rf"(?<![\w£$€#.,])(?:{_UNIT},?[ ]+)?\d{{1,5}}[A-Za-z]?(?:-\d{{1,5}}[A-Za-z]?)?,?[ ]+"
    rf"(?:[A-Z][A-Za-z'’-]*[ ]+){{1,4}}(?:{_STREET})\b"
    rf"(?:[ ]+(?:NE|NW|SE|SW|N|S|E|W)(?![\w-]))?(?:,?[ ]+{_UNIT}\b)?"
)

# Real UK postcode areas only, so "PS5 1TB" or "MP3 4GB" stay; the inward letters never include CIKMOV.
_UK_AREAS = (
    "AB|AL|B|BA|BB|BD|BH|BL|BN|BR|BS|BT|CA|CB|CF|CH|CM|CO|CR|CT|CV|CW|DA|DD|DE|DG|DH|DL|DN|DT|DY|E|EC|EH|EN|EX|"
    "FK|FY|G|GL|GU|GY|HA|HD|HG|HP|HR|HS|HU|HX|IG|IM|IP|IV|JE|KA|KT|KW|KY|L|LA|LD|LE|LL|LN|LS|LU|M|ME|MK|ML|N|"
    "NE|NG|NN|NP|NR|NW|OL|OX|PA|PE|PH|PL|PO|PR|RG|RH|RM|S|SA|SE|SG|SK|SL|SM|SN|SO|SP|SR|SS|ST|SW|SY|TA|TD|TF|TN|"
    "TQ|TR|TS|TW|UB|W|WA|WC|WD|WF|WN|WR|WS|WV|YO|ZE"
)
UK_POSTCODE = re.compile(rf"\b(?:{_UK_AREAS})\d[A-Z\d]?[ ]?\d[ABD-HJLNP-UW-Z]{{2}}\b")
_US_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|"
    "NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|PR|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY"
)
# Only the ZIP is redacted; the state before it, like a UK town, says too little to identify anyone.
_US_ZIP = re.compile(rf"\b(?:{_US_STATES})[ ]+(\d{{5}}(?:-\d{{4}})?)\b")


# Payment cards' first digit (Mastercard's 2-series, Amex and Diners 3, Visa 4, Mastercard and Maestro
# 5, Discover and UnionPay 6); 1, 7, 8 and 9 begin airline, fuel and telecom cards, not a shop's.
_CARD_FIRST_DIGITS = "23456"


def _passes_luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        doubled = int(char) * (2 if position % 2 else 1)
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0


def _card_windows(text: str, groups: list[Span]) -> list[Span]:
    """The longest stretch of whole digit groups that reads as a card (13-19 digits starting as a
    payment card's do, 2 to 6, passing Luhn), leftmost on a tie, then the same either side of it:
    "4111 1111 1111 1111 12 27"; not the order number 113542617735902, which passes Luhn too."""
    best: tuple[int, int, int] | None = None
    for i in range(len(groups)):
        digits = ""
        for j in range(i, len(groups)):
            digits += text[groups[j][0] : groups[j][1]]
            if len(digits) > 19:
                break
            longer = best is None or len(digits) > best[0]
            if len(digits) >= 13 and digits[0] in _CARD_FIRST_DIGITS and longer and _passes_luhn(digits):
                best = (len(digits), i, j)
    if best is None:
        return []
    _, i, j = best
    return [*_card_windows(text, groups[:i]), (groups[i][0], groups[j][1]), *_card_windows(text, groups[j + 1 :])]


def _cards(text: str) -> list[Span]:
    spans = []
    for run in _CARD_RUN.finditer(text):
        spans += _card_windows(text, [g.span() for g in _DIGITS.finditer(text, run.start(), run.end())])
    return spans


def _is_phone(run: str) -> bool:
    digits = re.sub(r"\D", "", run)
    shaped = run.startswith("+") or digits.startswith("0") or _NORTH_AMERICAN.fullmatch(run) is not None
    # Dots split a phone number only when nothing else does: "555.010.2345", not the prices "0.99 1.49 2.99".
    dotted_list = "." in run and re.search(r"[ ()-]", run) is not None
    return 9 <= len(digits) <= 15 and shaped and not dotted_list


def _phones(text: str) -> list[Span]:
    return [run.span() for run in _PHONE_RUN.finditer(text) if _is_phone(run.group())]


# Mainland China: a mobile number (11 digits from 13-19, "+86" optional, grouped 3-4-4 or not) and a
# resident identity card (身份证) number: a region code, a birth date, a sequence and a check digit.
# Han characters count as letters for \w, so these look past them rather than for word boundaries.
_CN_MOBILE = re.compile(r"(?<![\dA-Za-z+])(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?![\dA-Za-z])")
_CN_ID = re.compile(r"(?<![\dA-Za-z])[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![\dA-Za-z])")
_CN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


# A mainland street address: province, city, district and town as they are given, a road, lane or
# street with its number (号), then building, unit and room. The place names' characters leave out
# the little words around an address ("我的地址是", "寄到"), so they are not redacted with it.
_HAN_NAME = r"(?:(?![的是在我你他她寄到送往址请从和了给住])[\u4e00-\u9fff])"
_CN_ADDRESS = re.compile(
    rf"(?:{_HAN_NAME}{{2,9}}?(?:省|自治区|特别行政区))?(?:{_HAN_NAME}{{1,9}}?(?:市|州|盟))?"
    rf"(?:{_HAN_NAME}{{1,9}}?(?:区|县|旗))?(?:{_HAN_NAME}{{1,9}}?(?:街道|镇|乡))?"
    rf"(?:{_HAN_NAME}|\d){{1,12}}?(?:路|街|道|巷|弄|胡同)\s*\d+(?:-\d+)?\s*号"
    rf"(?:\s*(?:[A-Za-z]|{_HAN_NAME}){{0,10}}?(?:\d+|[A-Za-z])\s*(?:号楼|栋|幢|座|单元|楼|层|室))*"
)


def cn_id_checks(number: str) -> bool:
    """Whether an 18-character 身份证 number's last character is its check digit (ISO 7064 MOD 11-2).

    >>> cn_id_checks("11010519491231002X"), cn_id_checks("110105194912310021")
    (True, False)
    """
    total = sum(int(digit) * weight for digit, weight in zip(number[:17], _CN_ID_WEIGHTS))
    return "10X98765432"[total % 11] == number[17].upper()


def _cn_ids(text: str) -> list[Span]:
    return [m.span() for m in _CN_ID.finditer(text) if cn_id_checks(m.group())]


def _postcodes(text: str) -> list[Span]:
    return [m.span() for m in UK_POSTCODE.finditer(text)] + [m.span(1) for m in _US_ZIP.finditer(text)]


def _matches(pattern: re.Pattern[str]) -> Callable[[str], list[Span]]:
    return lambda text: [m.span() for m in pattern.finditer(text)]


# In order of precedence: what an earlier kind claims is hidden from the later ones, so the digits of a card
# are never read as a phone number.
_FINDERS: tuple[tuple[str, Callable[[str], list[Span]]], ...] = (
    ("email", _matches(EMAIL)),
    ("id_number", _cn_ids),
    ("card", _cards),
    ("address", _matches(_ADDRESS)),
    ("address", _matches(_CN_ADDRESS)),
    ("postcode", _postcodes),
    ("phone", _phones),
    ("phone", _matches(_CN_MOBILE)),
)


def _spans(text: str) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = []
    masked = text
    for kind, finder in _FINDERS:
        for start, end in finder(masked):
            found.append((start, end, kind))
            masked = masked[:start] + "\0" * (end - start) + masked[end:]
    return sorted(found)


def find_pii(text: str) -> list[tuple[str, str]]:
    """The personal data in a text as (kind, matched text), in order of appearance.

    Kinds: email, id_number (a mainland 身份证 number whose check digit holds), card (13-19 digits, spaced or dashed, passing Luhn), address (house number, one to four
    capitalised words and a street suffix, with a flat or apartment before or after; or a mainland
    address down to its road and 号, with the building and room after it), postcode (UK, or a US
    ZIP after a state code) and phone (9-15 digits in groups split by single spaces or dashes, or by dots alone,
    starting with "+" or 0 or shaped like 555-010-2345; or a mainland mobile number, 1[3-9] and 9 more digits).

    >>> find_pii("Card 4111 1111 1111 1111, Flat 3, 12 High Street, Leeds LS1 4AP. Order 10452.")
    [('card', '4111 1111 1111 1111'), ('address', 'Flat 3, 12 High Street'), ('postcode', 'LS1 4AP')]
    >>> find_pii("我的手机13812345678，身份证11010519491231002X，订单10452")
    [('phone', '13812345678'), ('id_number', '11010519491231002X')]
    >>> find_pii("请寄到上海市浦东新区世纪大道1000号3栋502室，谢谢")
    [('address', '上海市浦东新区世纪大道1000号3栋502室')]
    """
    return [(kind, text[start:end]) for start, end, kind in _spans(text)]


def redact(text: str) -> str:
    """The text with each piece of personal data replaced by its kind: [email], [id_number], [card], [address], [postcode] or
    [phone]. Prices, dates, times, order numbers and short numbers stay; so does a text without personal data.
    Redacting twice changes nothing more.

    >>> redact("Ring 07700 900123 or write to jo@example.com about order 10452 (£3.95) by 25/12/2026.")
    'Ring [phone] or write to [email] about order 10452 (£3.95) by 25/12/2026.'
    >>> redact("Card 4111 1111 1111 1112 was declined.")
    'Card 4111 1111 1111 1112 was declined.'
    """
    parts, position = [], 0
    for start, end, kind in _spans(text):
        parts += [text[position:start], f"[{kind}]"]
        position = end
    return "".join(parts) + text[position:]


def has_card_number(text: str) -> bool:
    """Whether the text holds a card number (one that passes the Luhn check).

    >>> has_card_number("4539-1488-0343-6467"), has_card_number("4111 1111 1111 1112")
    (True, False)
    """
    return any(kind == "card" for _, _, kind in _spans(text))


def redact_record(value: T) -> T:
    """A copy of a JSON-like row with every string inside dicts, lists and tuples redacted; keys and
    non-string values are kept as they are.

    >>> redact_record({"email": "jo@example.com", "turns": [("user", "Call 0113 496 0123")], "order": 10452})
    {'email': '[email]', 'turns': [('user', 'Call [phone]')], 'order': 10452}
    """
    redacted: object
    if isinstance(value, str):
        redacted = redact(value)
    elif isinstance(value, dict):
        redacted = {key: redact_record(item) for key, item in value.items()}
    elif isinstance(value, list):
        redacted = [redact_record(item) for item in value]
    elif isinstance(value, tuple):
        redacted = tuple(redact_record(item) for item in value)
    else:
        redacted = value
    return cast(T, redacted)


# In logs only: order references and parcel tracking numbers (Royal Mail "AB123456789GB", a letter
# and 15 digits, or 10 to 20 digits), which exports and answers keep. The order desk finds a
# shopper's order number with the same ORDER_REFERENCE (group 1 is the number).
# "order no. 10452", "#A-88", "订单号：MM48213" (Chinese puts no space or word boundary around it).
ORDER_REFERENCE = re.compile(
    r"(?:\border(?:\s+(?:no\.?|number|num|ref))?|#|订单号?|单号)\s*[:#：]?\s*([A-Z]{0,3}-?\d{2,8})(?![A-Za-z\d])",
    re.IGNORECASE,
)
_TRACKING = re.compile(r"\b(?:[A-Z]{2}\d{9}GB|[A-Z]\d{15}|\d{10,20})\b")


def redact_for_logs(text: str) -> str:
    """`redact`, and order numbers and tracking numbers too.

    >>> redact_for_logs("Order #10452 for jo@example.com, tracking YF834826251GB")
    '[order] for [email], tracking [tracking]'
    """
    return _TRACKING.sub("[tracking]", ORDER_REFERENCE.sub("[order]", redact(text)))


class RedactingFilter(logging.Filter):
    """A logging filter that redacts each record's message (with its arguments filled in), so
    nothing a shopper typed reaches a log file with their email, phone, card, order or tracking
    number in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_for_logs(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def redact_logs(logger: logging.Logger | None = None) -> None:
    """Install RedactingFilter on every handler of `logger` (the root logger by default)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
