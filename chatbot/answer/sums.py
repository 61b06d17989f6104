"""Small sums a shopper asks the pages to do: a basket after a discount against the free-delivery
threshold, a sum outside a rule's range, points turned into vouchers, the points an order earns,
the last day of a window that runs from a date. The rule is read from one of the passages' sentences, never assumed, and the
shopper's numbers from the question; the result is one sentence, cited to the rule's passage,
that goes before the composed answer."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from chatbot.text.colloquial import with_formal_words
from chatbot.text.facts import MONTHS
from chatbot.text.measures import MONTH
from chatbot.text.places import scopes
from chatbot.text.words import content_words

_CURRENCY = r"(?:(?<![A-Za-z])[A-Z]{1,2})?[£$€]"  # £, $, €, and CA$, US$, A$ ...
_AMOUNT = r"\d+(?:,\d{3})*(?:\.\d{1,2})?"
# "£54", "$ 75", "54 pounds", "40 quid": a sum of money
_MONEY = re.compile(
    rf"(?P<cur>{_CURRENCY})\s?(?P<amount>{_AMOUNT})(?![\d.,]*\d)|(?<![\w.])(?P<bare>{_AMOUNT})\s?(?P<word>pounds?|quid|euros?|dollars?|bucks)\b",
    re.IGNORECASE,
)
_WORD_CURRENCY = {"pound": "£", "pounds": "£", "quid": "£", "euro": "€", "euros": "€", "dollar": "$", "dollars": "$", "bucks": "$"}
_PERCENT_OFF = re.compile(r"(?<![\d.])(\d{1,2}(?:\.\d+)?)\s?(?:%|percent|per\s+cent)", re.IGNORECASE)
_AMOUNT_OFF = re.compile(rf"(?:{_CURRENCY})\s?{_AMOUNT}\s*(?:off|discount|voucher|coupon)\b", re.IGNORECASE)
# A range or a minimum a sum must meet: "on orders between £30 and £1,000", "a minimum spend of £20".
_BETWEEN = re.compile(rf"\bbetween\s+(?P<cur>{_CURRENCY})\s?(?P<low>{_AMOUNT})\s+and\s+{_CURRENCY}?\s?(?P<high>{_AMOUNT})", re.IGNORECASE)
_MINIMUM = re.compile(rf"\bminimum\s+(?:spend|order|purchase|basket|order\s+value)?\s*(?:of\s+)?(?P<cur>{_CURRENCY})\s?(?P<amount>{_AMOUNT})",
                      re.IGNORECASE)
_ASKS_WHETHER = re.compile(r"^\W*(?:(?:hi|hey|hello|ok|so|and)\W+)*(?:can|could|is|are|do|does|will|would|may)\b", re.IGNORECASE)
# Words of the question that do not say what the range is for.
_NOT_WHAT = content_words("order orders spend spent basket buy buying pay paying use using option cost costs price total")
_CODE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{3,}\d{1,3}(?![A-Za-z0-9])")  # a promo code: WELCOME10, SPRING15

# Free delivery from a threshold, the sum tied to the word free: "Standard UK delivery is free on orders
# of £50 or more after discounts", "Free standard delivery applies to every order of £50 or more" (not
# "... next-day delivery still costs £6.95 on orders over £50").
_FREE_FROM = re.compile(
    rf"\bfree\b[^.;£$€]{{0,60}}?\b(?:(?:orders?|baskets?|purchases?|spend(?:ing)?)\s+(?P<how>of|over|above|from)|(?:starts?|begins?)\s+(?:at|from))\s+"
    rf"(?P<cur>{_CURRENCY})\s?(?P<amount>{_AMOUNT})(?P<more>\s+or\s+more)?",
    re.IGNORECASE,
)
_THRESHOLD = re.compile(rf"\b(?:of|over|above|from|starts?\s+at|begins?\s+at)\s+{_CURRENCY}\s?({_AMOUNT})|{_CURRENCY}\s?({_AMOUNT})\s+or\s+(?:more|over|above)",
                        re.IGNORECASE)
# A sum the question names as the condition, not as its basket: "do I need to spend £50", "I spent over £50".
_CONDITION = re.compile(r"\b(?:over|above|more\s+than|at\s+least|minimum(?:\s+of)?|min|need\s+to\s+spend|have\s+to\s+spend"
                        r"|threshold(?:\s+of)?|under|below|less\s+than)\s*$", re.IGNORECASE)
# A shopper who names a membership may have its own delivery rule ("Fern members get free standard
# UK delivery on every order"): no sum against everyone's threshold.
MEMBERSHIP = re.compile(r"\bmember(?:ship)?s?\b|\btier\b|会员|等级", re.IGNORECASE)
_SAYS_WHO = re.compile(r"\b(?:i['’]?m|i\s+am|as)\s+(?:an?\s+)?(?-i:[A-Z][a-z]+)\b(?!\s+(?:time|here))", re.IGNORECASE)
_AFTER_DISCOUNTS = re.compile(r"\bafter\s+(?:any\s+|your\s+|the\s+)?(?:discounts?|promo(?:tion)?s?|codes?|(?:discount|promo)\s+codes?)|\b(?:discounts?|codes?)\s+(?:are|is)\s+taken\s+off",
                              re.IGNORECASE)
# "do I pay for delivery?": whether delivery is free, asked the other way round
_ASKS_TO_PAY = re.compile(r"\bpay\s+(?:for\s+)?(?:delivery|shipping|postage)\b", re.IGNORECASE)
_ASKS_FREE_DELIVERY = re.compile(
    r"\bfree\s+(?:standard\s+)?(?:delivery|shipping|postage|p\s?&\s?p)\b|\b(?:delivery|shipping|postage)\b[^.?!]*\bfree\b|\bqualify\b|"
    + _ASKS_TO_PAY.pattern,
    re.IGNORECASE,
)
# Points into money: "every 100 points gives you a £5 reward voucher", "Every 100 points is worth €5 off".
_POINTS_VALUE = re.compile(
    rf"\bevery\s+(?P<points>\d+)\s+points?\b[^.;]*?(?P<cur>{_CURRENCY})\s?(?P<value>{_AMOUNT})", re.IGNORECASE
)
_POINTS_STEP = re.compile(r"\b(?:in\s+)?(?:steps|blocks|multiples|lots)\s+of\s+(\d+)", re.IGNORECASE)
_POINTS_MINIMUM = re.compile(r"\bat\s+least\s+(\d+)\s+points?\b", re.IGNORECASE)
# "340 points", "340 Glow Club points": a programme's name may stand between.
_HELD_POINTS = re.compile(r"(?<![\w.£$€])(\d+(?:,\d{3})*)\s*(?:[a-z]+\s+){0,2}?(?:points?|pts)\b", re.IGNORECASE)
_BARE_NUMBER = re.compile(r"(?<![\w.£$€])(\d+(?:,\d{3})*)(?![\w%]|[.,]\d|\s*(?:%|days?|weeks?|months?|years?|hours?))", re.IGNORECASE)
_ASKS_VALUE = re.compile(r"\bworth\b|\bvouchers?\b|\bredeem\b|\bswap\b|\bexchange\b|\bspend\b|\buse\b|\bget\b|\bhow\s+much\b|\bvalue\b",
                         re.IGNORECASE)
# Tiers by spend or points: "**Glow** (€0 to €149.99)", "Oak members (1,500 points or more a year)".
_ASKS_TIER = re.compile(r"\b(?:which|what)\s+(?:\w+\s+)?(?:tier|level|band|status)\b|\b(?:tier|level|band)\s+(?:am|would|will|do|does|is)\b",
                        re.IGNORECASE)
_TIER = re.compile(
    rf"(?:\*\*)?(?P<name>[A-Z][a-z]+)(?:\*\*)?\s*(?:members?\s*|tier\s*)?\((?P<range>(?P<cur>{_CURRENCY})?\s?(?P<low>{_AMOUNT})"
    rf"(?:\s*points?)?\s*(?:(?:to|-|–)\s*{_CURRENCY}?\s?(?P<high>{_AMOUNT})(?:\s*points?)?|or\s+more|\+|and\s+(?:over|above)))[^)]*\)"
)
# Points an order earns: "Oak members ... earn 1.5 points per £1", "1 point for every £1 you spend".
_EARN_RATE = re.compile(rf"(?P<rate>\d+(?:\.\d+)?)\s+points?\s+(?:per|for\s+every|for\s+each|on\s+every)\s+(?P<cur>{_CURRENCY})1\b(?!\.?\d)",
                        re.IGNORECASE)
# ... and as a table's row puts it: "Reef: Spend A$400 to A$999; Points per A$1 1.25."
_EARN_RATE_LISTED = re.compile(rf"\bpoints?\s+(?:per|for\s+every|for\s+each)\s+(?P<cur>{_CURRENCY})1:?\s+(?P<rate>\d+(?:\.\d+)?)(?!\.?\d)",
                               re.IGNORECASE)
_ASKS_EARNED = re.compile(r"\bhow\s+many\s+(?:moss\s+|reward\s+|loyalty\s+)?points\b|\bpoints?\s+(?:will|would|do|does|did)\b[^.?!]*\b(?:get|earn|give)\b",
                          re.IGNORECASE)
# A deadline from a date: "delivered 10 May, what's the last day I can return it?" and "within 30 days of delivery".
# A sum that is the delivery's cost: "£3.95 delivery", "£3.95 for shipping"
_DELIVERY_COST = re.compile(rf"{_CURRENCY}?\s?{_AMOUNT}\s+(?:for\s+|of\s+)?(?:the\s+)?(?:delivery|shipping|postage|p&p)\b", re.IGNORECASE)
_DATE = re.compile(rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<month>{MONTH})\b|\b(?P<month2>{MONTH})\.?\s+(?P<day2>\d{{1,2}})(?:st|nd|rd|th)?\b(?!\s*(?:days?|weeks?|%))",
                   re.IGNORECASE)
_ASKS_DEADLINE = re.compile(r"\blast\s+day\b|\bdeadline\b|\b(?:until|till|til)\s+when\b|\bby\s+when\b|\blatest\b|\bhow\s+long\s+(?:do|have)\b"
                            r"|\bwhen\s+(?:is|does)\s+(?:the|my)\s+\w+\s+(?:window|period|deadline)\b|\bstill\s+(?:return|send|exchange)", re.IGNORECASE)
_ON = re.compile(r"\b(?:on|by|before)\s+(?:the\s+)?$", re.IGNORECASE)
_DAY_ONLY = re.compile(r"\b(?:on|by|before)\s+the\s+(?P<day>3[01]|[12]\d|[1-9])(?:st|nd|rd|th)\b", re.IGNORECASE)
_WITHIN_DAYS = re.compile(r"\bwithin\s+(?P<days>\d+)\s+days?\s+of\s+(?:the\s+)?(?P<event>delivery|receiving|receipt|purchase|your\s+order|ordering|order)",
                          re.IGNORECASE)
# "delivered between 1 November and 24 December ... until 31 January"
_ANY_DATE = re.sub(r"\(\?P<\w+>", "(?:", _DATE.pattern)
_WINDOW = re.compile(rf"\bbetween\s+(?:{_ANY_DATE})\s+and\s+(?:{_ANY_DATE})[^.;]*?\b(?:until|till|up\s+to|by)\s+(?:{_ANY_DATE})",
                     re.IGNORECASE)
_EXAMPLE = re.compile(r"\b(?:for\s+example|for\s+instance|e\.g\.|so\s+if|say)\b", re.IGNORECASE)
_DELIVERED = re.compile(r"\b(?:delivered|arrived|came|got\s+(?:it|them|my\s+(?:order|parcel|delivery))|received|turned\s+up|landed)\b",
                        re.IGNORECASE)
_ORDERED = re.compile(r"\b(?:ordered|bought|purchased|placed)\b", re.IGNORECASE)
_NAME = re.compile(r"\b[A-Z][a-z]+\b")  # a tier's name: "Oak members earn ..."
_DENIED_NAME = re.compile(r"\b(?:not|no|n't|never)\s+(?:an?\s+|the\s+)?(?:[a-z]+\s+(?:or|and|nor)\s+)*[a-z]+", re.IGNORECASE)
# A kind of delivery the question asks about must be the rule's: £50 buys free standard delivery, not next-day.
_DELIVERY_KIND = re.compile(r"\b(?:next|same)[- ]?day\b|\bexpress\b|\bsaturday\b|\bsunday\b|\bpriority\b|\bovernight\b"
                            r"|\bexpedited\b|\binternational\b|\btwo[- ]?day\b|\b2[- ]?day\b", re.IGNORECASE)


@dataclass(frozen=True)
class Sum:
    """A worked sum: the sentence that states it, the candidate sentence (by its position in the
    list given) whose rule it applies, and those whose rules it found do not apply (a Christmas
    window beside a date in May)."""

    text: str
    rule: int
    inapplicable: frozenset[int] = frozenset()


def worked_sum(question: str, context: str, sentences: Sequence[str]) -> Sum | None:
    """The sum the question asks for, worked from the first of `sentences` that states its rule;
    None when it asks none, or no sentence states the rule. `context`, for a follow-up, is what
    the conversation is about ("ive got 340, whats that worth" after a question on points).

    >>> rule = ["Standard UK delivery is free on orders of £50 or more after discounts."]
    >>> worked_sum("my basket is £54 and I have a 10% off code, is delivery still free?", "", rule).text
    'No: £54 with 10% off comes to £48.60, below the £50 needed for free delivery (£1.40 short).'
    >>> points = ["Every 100 points gives you a £5 reward voucher, in steps of 100 points."]
    >>> worked_sum("i've got 340 points, what voucher can i get?", "", points).text
    '340 points are worth £15 in vouchers (£5 for every 100 points).'
    >>> rates = ["Fern members earn 1.25 points per £1.", "Oak members earn 1.5 points per £1."]
    >>> worked_sum("im oak tier, how many points will a £200 order get me?", "", rates).text
    'A £200 order earns 300 points at 1.5 points per £1.'
    >>> worked_sum("paid £67.80 for products plus £3.95 delivery, how many points do i get?", "", rates[:1]).text
    'A £67.80 order earns 84 points at 1.25 points per £1.'
    >>> returns = ["Full-price items can be returned within 30 days of delivery."]
    >>> worked_sum("my order came on 10 May, what's the last day I can send it back?", "", returns).text
    'With delivery on 10 May, the 30 days run until 9 June.'
    >>> worked_sum("how long does delivery take?", "", rule) is None
    True
    >>> worked_sum("I'm Quill and my order is $60, is shipping free?", "", ["Free shipping on orders of $85 or more."]) is None
    True
    >>> worked_sum("my Quill order is $60, is shipping free?", "", ["Quill: free shipping from $50.", "Free shipping on orders of $85 or more."]) is None
    True
    >>> tiers = ["**Glow** (€0 to €149.99): 1 point per €1 spent.", "**Radiant** (€150 to €399.99): 1.5 points per €1."]
    >>> worked_sum("I've spent €180 in the last year, which tier am I in?", "", tiers).text
    '€180 puts you in Radiant (€150 to €399.99).'
    """
    return (_free_delivery_sum(question, sentences) or _range_sum(question, sentences) or _tier_sum(question, sentences)
            or _earned_sum(question, context, sentences) or _points_sum(question, context, sentences)
            or _deadline_sum(question, sentences) or _dispatch_sum(question, sentences))


def _tier_sum(question: str, sentences: Sequence[str]) -> Sum | None:
    """"I've spent €180 this year, which tier am I in?": the tier whose range, in money or in
    points as the question's one figure is, holds that figure."""
    if not _ASKS_TIER.search(question):
        return None
    money, points = _sums_and_discounts(question)[0], _HELD_POINTS.findall(question)
    if len(money) + len(points) != 1:
        return None
    currency, amount = (money[0][0], money[0][1]) if money else ("", float(points[0].replace(",", "")))
    for number, sentence in enumerate(sentences):
        for tier in _TIER.finditer(sentence):
            if bool(tier.group("cur")) != bool(money) or (not money and "point" not in tier.group("range")):
                continue
            if money and tier.group("cur")[-1] != currency[-1]:
                continue
            low = float(tier.group("low").replace(",", ""))
            high = float(tier.group("high").replace(",", "")) if tier.group("high") else math.inf
            if low <= amount <= high:
                held = price(currency, amount) if money else f"{amount:,.0f} points"
                return Sum(f"{held} puts you in {tier.group('name')} ({tier.group('range')}).", number)
    return None


def _range_sum(question: str, sentences: Sequence[str]) -> Sum | None:
    """"can I use Klarna on a £25 order?": "No" when the one sum in the question is outside the
    range ("between £30 and £1,000") or below the minimum ("a minimum spend of £20") a sentence
    about the same thing states. Inside it, other conditions may still apply: no sum then."""
    money, _ = _sums_and_discounts(question)
    if len(money) != 1 or not _ASKS_WHETHER.match(question):
        return None
    currency, amount, start = money[0]
    if _CONDITION.search(question[:start]):
        return None
    about = content_words(question) - _NOT_WHAT
    for number, sentence in enumerate(sentences):
        if not about & content_words(sentence):
            continue
        if (found := _BETWEEN.search(sentence)) is not None:
            low, high = (float(found.group(name).replace(",", "")) for name in ("low", "high"))
            sign = found.group("cur")
            if sign[-1] == currency[-1] and not low <= amount <= high:
                return Sum(f"No: {price(sign, amount)} is not between {price(sign, low)} and {price(sign, high)}.", number)
        elif (found := _MINIMUM.search(sentence)) is not None:
            low, sign = float(found.group("amount").replace(",", "")), found.group("cur")
            if sign[-1] == currency[-1] and amount < low:
                return Sum(f"No: {price(sign, amount)} is below the {price(sign, low)} minimum.", number)
    return None


def _money(text: str) -> list[tuple[str, float, int]]:
    """The sums of money in a text, each with its currency sign and where it starts."""
    found = []
    for match in _MONEY.finditer(text):
        if match.group("cur"):
            found.append((match.group("cur"), float(match.group("amount").replace(",", "")), match.start()))
        else:
            found.append((_WORD_CURRENCY[match.group("word").lower()], float(match.group("bare").replace(",", "")), match.start()))
    return found


def _sums_and_discounts(question: str) -> tuple[list[tuple[str, float, int]], list[tuple[str, float, int]]]:
    """The question's sums of money apart from its fixed discounts ("a £5 off code"), and those."""
    money = _money(question)
    off = [found for found in money if _AMOUNT_OFF.match(question, found[2]) is not None]
    return [found for found in money if found not in off], off


def _plain(kind: str) -> str:
    return re.sub(r"[\s-]", "", kind.lower())


def price(currency: str, amount: float) -> str:
    """£48.60, £50: pence shown only when there are some."""
    return f"{currency}{amount:,.0f}" if amount == int(amount) else f"{currency}{amount:,.2f}"


def _discount(question: str, sentences: Sequence[str]) -> float | None:
    """The percentage off the question's basket: stated ("10% off") or the code's, as a page
    states it ("WELCOME10 ... 10% off")."""
    stated = _PERCENT_OFF.search(question)
    if stated:
        return float(stated.group(1))
    return code_percent(question, sentences)


def code_percent(question: str, sentences: Sequence[str]) -> float | None:
    """The percentage off of a promo code the question names, as the first sentence that names it
    states it ("WELCOME10 ... 10% off", "优惠码 WELCOME10 享受首单10%的折扣").

    >>> code_percent("用WELCOME10打完折", ["订阅即可使用优惠码 WELCOME10 享受首单10%的折扣。"])
    10.0
    """
    for code in _CODE.findall(question):
        for sentence in sentences:
            if code in sentence and (percent := _PERCENT_OFF.search(sentence)):
                return float(percent.group(1))
    return None


def _free_delivery_sum(question: str, sentences: Sequence[str]) -> Sum | None:
    """"is delivery free on my £54 basket with 10% off?": one sum in the question, against the one
    threshold a free-delivery sentence states (after discounts, when there is a discount)."""
    money, off = _sums_and_discounts(question)
    if len(money) != 1 or len(off) > 1 or not _ASKS_FREE_DELIVERY.search(question) or MEMBERSHIP.search(question):
        return None
    # "I'm Quill and my order is $60": a shopper who names what they are, or a name a page gives free
    # delivery to, may have a rule of their own
    names = {name for name in re.findall(r"(?<=\s)[A-Z][a-z]+\b", question) if not scopes(name)}
    if _SAYS_WHO.search(question) or any(re.search(rf"\b{name}\b", sentence) and re.search(r"\bfree\b", sentence, re.IGNORECASE)
                                         for name in names for sentence in sentences):
        return None
    currency, basket, start = money[0]
    if _CONDITION.search(question[:start]):
        return None
    discount = _discount(question, sentences) if not off else None
    kinds = {_plain(kind) for kind in _DELIVERY_KIND.findall(question)}
    places = scopes(question)
    # a sentence with a threshold for each of several countries ("Ireland £6.95, free on orders over
    # £100; other EU countries £9.95, free on orders over £150") is a rule per clause, for a shopper
    # who says where
    rules = [(number, clause, rule, scopes(clause)) for number, sentence in enumerate(sentences)
             for clause in (sentence.split(";") if len(_THRESHOLD.findall(sentence)) > 1 else [sentence])
             if (rule := _FREE_FROM.search(clause)) and (places or clause == sentence)]
    if not places and len({spoken for *_, spoken in rules if spoken}) > 1:
        return None  # "free in Canada from CA$59" beside "free to the US from CA$125", and the shopper says not where
    for number, sentence, rule, spoken in rules:
        if len({a or b for a, b in _THRESHOLD.findall(sentence)}) != 1:  # not one per country
            continue
        if not kinds <= {_plain(kind) for kind in _DELIVERY_KIND.findall(sentence)}:
            continue
        if places and spoken and not places & spoken:  # "to the US" is not the UK's rule
            continue
        how, sign, amount, more = rule.group("how", "cur", "amount", "more")
        if sign[-1] != currency[-1] or ((discount is not None or off) and not _AFTER_DISCOUNTS.search(sentence)):
            continue
        threshold = float(amount.replace(",", ""))
        total = after_discount(basket, discount, off[0][1] if off else 0.0)
        enough = total > threshold if (how or "").lower() == "over" and not more else total >= threshold
        # in the page's sign: CA$ for the shopper's $
        found = against_threshold(THRESHOLD_WORDS["en"], sign, basket, discount, off[0][1] if off else 0.0, threshold, enough, number)
        if _ASKS_TO_PAY.search(question) and not re.search(r"\bfree\b", question, re.IGNORECASE):
            # "do I pay for delivery?" is answered No when it is free
            said, _, rest = found.text.partition(":")
            return replace(found, text=f"{'No' if said == 'Yes' else 'Yes'}:{rest}")
        return found
    return None


# How a basket against the free-delivery threshold is said, in each language's words.
THRESHOLD_WORDS = {
    "en": {"percent": "{basket} with {percent}% off comes to {total}", "cut": "{basket} with {cut} off comes to {total}",
           "yes": "Yes: {worked}, which reaches the {threshold} needed for free delivery.",
           "no": "No: {worked}, below the {threshold} needed for free delivery ({short} short)."},
    "zh": {"percent": "{basket}减去{percent}%后为{total}", "cut": "{basket}减去{cut}后为{total}",
           "yes": "包邮：{worked}，达到免运费所需的{threshold}。", "no": "不包邮：{worked}，低于免运费所需的{threshold}（还差{short}）。"},
}


def against_threshold(words: dict[str, str], sign: str, basket: float, percent: float | None, cut: float, threshold: float,
                      enough: bool, rule: int) -> Sum:
    """The basket, after its discount, said against the threshold in `words` (`THRESHOLD_WORDS`)."""
    total = after_discount(basket, percent, cut)
    worked = price(sign, basket)
    if percent is not None:
        worked = words["percent"].format(basket=worked, percent=f"{percent:g}", total=price(sign, total))
    elif cut:
        worked = words["cut"].format(basket=worked, cut=price(sign, cut), total=price(sign, total))
    said = words["yes" if enough else "no"]
    return Sum(said.format(worked=worked, threshold=price(sign, threshold), short=price(sign, round(threshold - total, 2))), rule)


def after_discount(basket: float, percent: float | None, cut: float) -> float:
    """The basket less a percentage (when given) and a fixed sum off.

    >>> after_discount(54.0, 10.0, 0.0), after_discount(52.0, None, 5.0)
    (48.6, 47.0)
    """
    total = round(basket * (1 - percent / 100), 2) if percent is not None else basket
    return round(total - cut, 2)


def _points_sum(question: str, context: str, sentences: Sequence[str]) -> Sum | None:
    """"i've got 340 points, what are they worth?": the points (or, in a conversation about points,
    the one bare number) at the rate a sentence states, in its steps, once its minimum is met."""
    held = _HELD_POINTS.findall(question)
    if not held and re.search(r"\bpoints?\b", context, re.IGNORECASE) and not _money(question):
        held = _BARE_NUMBER.findall(question)
    if len(held) != 1 or not _ASKS_VALUE.search(question) or _ASKS_EARNED.search(question):
        return None
    points = int(held[0].replace(",", ""))
    found = points_worth(points, sentences, _POINTS_VALUE, _POINTS_STEP, _POINTS_MINIMUM)
    if found is None:
        return None
    if points < found.minimum:
        return Sum(f"{points} points are not enough yet: points can be used from {found.minimum} points.", found.rule)
    if not found.worth:  # fewer than one step
        return Sum(f"{points} points are not enough yet for a voucher ({price(found.currency, found.value)} for every "
                   f"{found.per} points).", found.rule)
    return Sum(f"{points} points are worth {price(found.currency, found.worth)} in vouchers "
               f"({price(found.currency, found.value)} for every {found.per} points).", found.rule)


@dataclass(frozen=True)
class PointsWorth:
    """What points are worth by the first sentence that states a rate (`rule`, its number)."""

    rule: int
    per: int
    currency: str
    value: float
    worth: float
    minimum: int


def points_worth(points: int, sentences: Sequence[str], rate: re.Pattern[str], steps: re.Pattern[str],
                 minimum: re.Pattern[str]) -> PointsWorth | None:
    """`points` at the rate the first sentence that `rate` finds in states (groups `points`,
    `cur`, `value`), counted in the steps and from the minimum the sentences state: in that
    sentence or one of their own ("You can redeem points in blocks of 100 once you have at least
    200 points")."""
    for number, sentence in enumerate(sentences):
        found = rate.search(sentence)
        if found is None:
            continue
        per, currency, value = int(found.group("points")), found.group("cur"), float(found.group("value"))
        rules = [sentence] + [other for other in sentences if other != sentence and steps.search(other)]
        step = next((int(said.group(1)) for rule in rules if (said := steps.search(rule))), per)
        least = next((int(said.group(1)) for rule in rules if (said := minimum.search(rule))), 0)
        return PointsWorth(number, per, currency, value, math.floor(points / step) * step / per * value, least)
    return None


def _article(amount: float) -> str:
    """ "An" before an amount said with a vowel first ("an £80 order", "an $11 order"), "A" otherwise.

    >>> [_article(n) for n in (80, 8.5, 11, 18000, 110, 1800, 40)]
    ['An', 'An', 'An', 'An', 'A', 'A', 'A']
    """
    whole = str(int(amount))
    return "An" if whole[0] == "8" or whole[:2] in ("11", "18") and len(whole) % 3 == 2 else "A"


def _earned_sum(question: str, context: str, sentences: Sequence[str]) -> Sum | None:
    """"how many points will a £200 order get me? I'm Oak": the order's sum at the rate of the tier
    the question names (a capitalised name in the rule's sentence), or the lowest rate when it
    names none; with the points' worth when a sentence states it and the question asks. A
    percentage off counts when a page says points are earned after it.

    >>> rules = ["Fern members earn 1.25 points per £1.", "Points are calculated on the amount you pay after any promo code."]
    >>> _earned_sum("I'm Fern. how many points for an £80 pan with a 10% off code?", "", rules).text
    '£80 with 10% off comes to £72, which earns 90 points at 1.25 points per £1.'
    >>> _earned_sum("how many points for an £80 pan with a 10% off code?", "", rules[:1]) is None
    True
    """
    # "£67.80 for products, plus £3.95 delivery": what delivery cost earns nothing
    money = [found for found in _money(question) if not _DELIVERY_COST.match(question, found[2])]
    if len(money) != 1 or not _ASKS_EARNED.search(question):
        return None
    currency, spent, _ = money[0]
    percent = _discount(question, sentences)  # "with a 10% off code": points on what is paid, where a page says so
    if percent is not None and not any(earns_after_discount(sentence) for sentence in sentences):
        return None
    asked_text = f"{context} {question}"
    # "a normal member, not fern or oak"
    denied = {word.lower() for span in _DENIED_NAME.findall(asked_text) for word in span.split()}
    asked = {word.lower() for word in re.findall(r"[A-Za-z]+", asked_text)} - denied
    rates = []
    for number, sentence in enumerate(sentences):
        for found in [*_EARN_RATE.finditer(sentence), *_EARN_RATE_LISTED.finditer(sentence)]:
            if found.group("cur")[-1] == currency[-1]:
                # the tier a rate belongs to: a name before it in its sentence ("Oak members ... earn 1.5 ...")
                rates.append((float(found.group("rate")), number, {name.lower() for name in _NAME.findall(sentence[: found.start()])}))
    if not rates:
        return None
    # a name in more than one rate's sentence ("Moss Points") names no tier
    naming: dict[str, set[int]] = {}
    for _, number, names in rates:
        for name in names:
            naming.setdefault(name, set()).add(number)
    shared = {name for name, numbers in naming.items() if len(numbers) > 1}
    named = [rate for rate in rates if (rate[2] - shared) & asked]
    if named:
        rate, number, _ = named[0]
    else:
        rate, number, _ = min(rates)
    paid = spent if percent is None else after_discount(spent, percent, 0.0)
    earned = math.floor(paid * rate)
    order = f"{_article(spent)} {price(currency, spent)} order" if percent is None else \
        f"{price(currency, spent)} with {percent:g}% off comes to {price(currency, paid)}, which"
    said = (f"{order} earns {earned} point{'s' if earned != 1 else ''} at {rate:g} "
            f"point{'s' if rate != 1 else ''} per {currency}1.")
    if _ASKS_VALUE.search(re.sub(r"\bget\b", "", question)):  # "... and what voucher would it get me?"
        worth = _points_sum(f"{earned} points worth", "", sentences)
        if worth is not None:
            said = f"{said[:-1]}, and {worth.text[0].lower()}{worth.text[1:]}"
    return Sum(said, number)


# Words of any date and deadline, which a sentence shares with a question about one by chance
_DATE_WORDS = content_words(" ".join(MONTHS) + " jan feb mar apr jun jul aug sep sept oct nov dec day days date last latest "
                            "deadline until when 月 日 号 天 哪天 最晚")


def speaks_of(sentence: str, question: str) -> bool:
    """Whether a sentence that names a date speaks of what the question asks about: a word of the
    question's, not a number nor a word of dates ("Items bought in the January sale can be returned
    until 28 February" for "bought it in the sale on 3 Jan, last day to return it?"; not "Our
    warehouse is closed on 25 December").

    >>> speaks_of("Our warehouse is closed on 25 December.", "it arrived on 10 May, what's the last day I can return it?")
    False
    >>> speaks_of("Sale items bought on 26 December can be returned until 28 February.", "sale item, came on 2 jan, last day to return?")
    True
    """
    return any(not word.isdigit() and word not in _DATE_WORDS for word in content_words(sentence) & content_words(question))


def asks_points_after_discount(question: str) -> bool:
    """Whether the question asks the points an order earns after a percentage off or a code.

    >>> asks_points_after_discount("how many points for an £80 pan with a 10% off code?")
    True
    >>> asks_points_after_discount("how many points for an £80 pan?")
    False
    """
    return (_ASKS_EARNED.search(question) is not None and bool(_money(question))
            and (_PERCENT_OFF.search(question) is not None or _CODE.search(question) is not None))


def earns_after_discount(text: str) -> bool:
    """Whether a text says points are counted on what is paid after a promo code."""
    return _AFTER_DISCOUNTS.search(text) is not None and "point" in text.lower()


def names_date(text: str) -> bool:
    """Whether a text names a day of a month ("31 January", "Dec 24")."""
    return _DATE.search(text) is not None


def asks_deadline(question: str) -> bool:
    """Whether the question asks the last day of a window from the one date it names.

    >>> asks_deadline("delivered on 10 dec, when's the last day i can return it"), asks_deadline("when is the sale?")
    (True, False)
    """
    dates = _dates(question)
    # a second date is the day asked about ("came on 5 jan, can I still return it on 25 jan?") or
    # the delivery after the order ("ordered on 1 June but it turned up on 5 June")
    return (len(dates) == 1 or len(dates) == 2 and (_asks_day(question, dates) or dates[1][1] == "delivery")) \
        and _ASKS_DEADLINE.search(question) is not None


def _dates(question: str) -> list[tuple[re.Match[str], str]]:
    """The dates a question names, each with the event the words before it name: "delivery"
    ("turned up on 5 June"), "order" ("ordered on 1 June") or ""."""
    found, start = [], 0
    for date_found in _DATE.finditer(question):
        before = question[start:date_found.start()]
        event = "delivery" if _DELIVERED.search(before) else "order" if _ORDERED.search(before) else ""
        found.append((date_found, event))
        start = date_found.end()
    return found


def _asks_day(question: str, dates: list[tuple[re.Match[str], str]]) -> bool:
    """Whether the second of two dates is the day asked about ("... return it on 25 jan?")."""
    return not dates[1][1] and _ON.search(question[dates[0][0].end():dates[1][0].start()]) is not None


def _asked_day(question: str, start: date) -> date | None:
    """The day a deadline question asks about after its first date `start` ("... on 25 Jan",
    "... on the 25th"), in the year after when it falls before `start`; None when it names none."""
    dates = _dates(question)
    if len(dates) > 1:
        if not _asks_day(question, dates):
            return None
        asked = _day(dates[1][0])
    else:
        found = _DAY_ONLY.search(question, dates[0][0].end()) if dates else None
        if found is None:
            return None
        day = int(found.group("day"))
        month = start.month if day > start.day else start.month % 12 + 1
        try:
            asked = date(start.year + (month < start.month), month, day)
        except ValueError:
            return None
    return asked.replace(year=asked.year + 1) if asked is not None and asked < start else asked


def _judged(text: str, start: date, end: date, question: str) -> str:
    """The deadline's text with "Yes: " or "No: " before it when the question asks about a day."""
    asked = _asked_day(question, start)
    if asked is None:
        return text
    end = end.replace(year=end.year + 1) if end < start else end
    return f"{'Yes' if asked <= end else 'No'}: {text[0].lower()}{text[1:]}"


def _said(day: date) -> str:
    """"10 May": a day as the answers say it."""
    return f"{day.day} {MONTHS[day.month - 1]}"


def _day(found: re.Match[str]) -> date | None:
    """The date `_DATE` found, in a year with 28 days in February (the shopper's year is not known)."""
    written = (found.group("month") or found.group("month2"))[:3].lower()
    month = next(i for i, name in enumerate(MONTHS, 1) if name.lower().startswith(written))
    try:
        return date(2025, month, int(found.group("day") or found.group("day2")))
    except ValueError:
        return None


def _deadline_sum(question: str, sentences: Sequence[str]) -> Sum | None:
    """"it was delivered on 10 May, what's the last day I can send it back?": the one date in the
    question plus the days of the first sentence that counts them from that event ("within 30
    days of delivery"), when what the sentence is about (sale items) is what the question is about.
    A window that holds the date ("delivered between 1 November and 24 December ... until 31
    January") sets the day instead; no sum when a sentence names a date otherwise, which may set
    another rule. A date in an example ("so if your order arrived on 3 March ...") sets none.

    >>> christmas = ["Items delivered between 1 November and 24 December can be returned until 31 January."]
    >>> _deadline_sum("delivered on 10 dec, when's the last day i can return it", christmas).text
    'With delivery on 10 December, between 1 November and 24 December, you have until 31 January.'
    >>> _deadline_sum("delivered on 10 oct, when's the last day i can return it", christmas) is None
    True
    >>> _deadline_sum("delivered on 10 oct, when's the last day i can return it", ["Returns within 30 days of delivery.", *christmas]).text
    'With delivery on 10 October, the 30 days run until 9 November.'
    >>> _deadline_sum("delivered on 10 oct, the last day to return?", ["Returns within 30 days of delivery.", "Returns bought on 1 May: 60 days."]) is None
    True
    >>> _deadline_sum("sale throw came on 5 jan. can i still return it on the 25th??", ["Sale items within 14 days of delivery."]).text
    'No: with delivery on 5 January, the 14 days run until 19 January.'
    >>> _deadline_sum("delivered 20 dec, can i still return it on 10 jan?", ["Returns within 30 days of delivery."]).text
    'Yes: with delivery on 20 December, the 30 days run until 19 January.'
    >>> _deadline_sum("ordered on 1 June but it only turned up on 5 June. last day to send it back?",
    ...               ["If it is lost, contact us within 14 days of delivery.", "Returns within 30 days of delivery."]).text
    'With delivery on 5 June, the 30 days run until 5 July.'
    """
    if not asks_deadline(question):
        return None
    dates = _dates(question)
    # the day the rule counts from: the delivery's when the question names the order's too
    delivery = next((_day(found) for found, event in dates if event == "delivery"), None) if len(dates) > 1 else None
    start = delivery or _day(dates[0][0])
    if start is None:
        return None
    asked = content_words(question)
    dated = [number for number, sentence in enumerate(sentences) if _DATE.search(_EXAMPLE.split(sentence, maxsplit=1)[0])]
    windows = {number: found for number in dated if (found := _WINDOW.search(sentences[number]))}
    for number, window in windows.items():
        if ("sale" in content_words(sentences[number])) != ("sale" in asked):
            continue
        first, last, until = (_day(found) for found in _DATE.finditer(window.group(0)))
        if first and last and until and first <= start <= last:
            return Sum(_judged(f"With delivery on {_said(start)}, between {_said(first)} and {_said(last)}, you have until {_said(until)}.",
                               start, until, question), number)
    if any(number not in windows and speaks_of(sentences[number], question) for number in dated):  # a rule by date of another kind
        return None
    doing = content_words(with_formal_words(question, english=True)) - _DATE_WORDS
    for number, sentence in enumerate(sentences):
        rule = _WITHIN_DAYS.search(sentence)
        # the days must be for what is asked: "contact us within 14 days of the delivery date" (a
        # lost parcel) is no last day to send it back
        if rule is None or not content_words(sentence[: rule.start()]) & doing:
            continue
        delivered = rule.group("event").lower() in ("delivery", "receiving", "receipt")
        if not (_DELIVERED if delivered else _ORDERED).search(question) or delivery and not delivered:
            continue
        # "Sale items ... within 14 days" answers for a sale item only, and a sale item only by such a rule
        if ("sale" in content_words(sentence)) != ("sale" in asked):
            continue
        days = int(rule.group("days"))
        end = start + timedelta(days=days)
        event = "delivery" if delivered else "the order"
        return Sum(_judged(f"With {event} on {_said(start)}, the {days} days run until {_said(end)}.", start, end, question),
                   number, frozenset(windows))
    return None


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_CLOCK = r"(?P<hour>1[0-2]|0?[1-9])(?:[:.](?P<minute>[0-5]\d))?\s*(?P<half>am|pm|a\.m\.|p\.m\.)"
_ASKED_TIME = re.compile(rf"\b{_CLOCK}(?!\w)", re.IGNORECASE)
_ASKED_WEEKDAY = re.compile(r"\b(mon|tue|wed|thu|fri|sat|sun)(?:day|s|sday|nesday|rsday|urday|rs|r)?\b", re.IGNORECASE)
_ASKS_DISPATCH = re.compile(r"\b(?:ship|shipped|sent|send|dispatch\w*|go\s+out|goes\s+out|leave|posted|packed)\b", re.IGNORECASE)
# "Standard orders placed by 1pm AEST, Monday to Friday, are dispatched the same day."
_CUT_OFF = re.compile(
    rf"\b(?P<kind>standard|express|next[- ]day|tracked|priority)?\s*orders?\s+(?:placed\s+|made\s+|received\s+)?(?P<how>before|by)\s+{_CLOCK}"
    r"[^.;]{0,80}?\b(?:dispatched|shipped|ship|leave|leaves|go\s+out|sent|packed)\b[^.;]{0,40}?\bsame\s+(?:business\s+|working\s+)?day\b",
    re.IGNORECASE,
)
_SAME_DAY_ASKED = re.compile(r"\b(?:that|the\s+same|same)\s+day\b|\btoday\b", re.IGNORECASE)
# the kinds a cut-off is stated for (not `_DELIVERY_KIND`'s: "will it go out the same day?" names none)
_DELIVERY_KINDS = re.compile(r"\b(standard|express|next[- ]day|tracked|priority)\b", re.IGNORECASE)


def _minutes(found: re.Match[str]) -> int:
    hour = int(found.group("hour")) % 12 + (12 if found.group("half").lower().startswith("p") else 0)
    return hour * 60 + int(found.group("minute") or 0)


def _dispatch_sum(question: str, sentences: Sequence[str]) -> Sum | None:
    """"if I order at 3pm on a Friday, when will it be sent?": the one time (and weekday) in the
    question against the cut-off of the first sentence that states one for the kind of delivery
    asked about ("Standard orders placed by 1pm, Monday to Friday, are dispatched the same day").

    >>> rule = ["Standard orders placed by 1pm AWST on a business day are dispatched the same day."]
    >>> _dispatch_sum("If I place a standard order at 3pm on a Friday, when will it be sent?", rule).text
    'An order at 3pm on Friday is after the 1pm cut-off, so it is dispatched the next business day, Monday.'
    >>> _dispatch_sum("will an order at 12:30pm tuesday go out that day?", rule).text
    'Yes: an order at 12:30pm on Tuesday is before the 1pm cut-off, so it is dispatched the same day.'
    >>> _dispatch_sum("if I order express at 12pm, when does it ship?", rule) is None
    True
    """
    times = list(_ASKED_TIME.finditer(question))
    days = {found.group(1).lower() for found in _ASKED_WEEKDAY.finditer(question)}
    if len(times) != 1 or len(days) > 1 or not _ASKS_DISPATCH.search(question):
        return None
    asked_kinds = {_plain(kind) for kind in _DELIVERY_KINDS.findall(question)}
    at = _minutes(times[0])
    day = next((i for i, name in enumerate(_WEEKDAYS) if name[:3].lower() in days), None)
    ordered = f"an order at {times[0].group(0).replace(' ', '')}" + (f" on {_WEEKDAYS[day]}" if day is not None else "")
    for number, sentence in enumerate(sentences):
        for rule in _CUT_OFF.finditer(sentence):
            kind = _plain(rule.group("kind") or "")
            if asked_kinds and kind not in asked_kinds or not asked_kinds and kind not in ("", "standard"):
                continue
            cut_off = _minutes(rule)
            in_time = at < cut_off if rule.group("how").lower() == "before" else at <= cut_off
            clock = sentence[rule.start("hour"):rule.end("half")].replace(" ", "")
            if day is not None and day >= 5:
                said = f"{ordered} falls on a weekend, so it is dispatched the next business day, Monday."
            elif in_time:
                said = f"{ordered} is before the {clock} cut-off, so it is dispatched the same day."
            else:
                following = "" if day is None else f", {_WEEKDAYS[0 if day >= 4 else day + 1]}"
                said = f"{ordered} is after the {clock} cut-off, so it is dispatched the next business day{following}."
            if _SAME_DAY_ASKED.search(question):  # "will it go out that day?"
                return Sum(f"{'Yes' if in_time and (day is None or day < 5) else 'No'}: {said}", number)
            return Sum(said[0].upper() + said[1:], number)
    return None
