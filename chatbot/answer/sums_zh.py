"""The small sums of `sums` for a question in Chinese, read from Chinese sentences and said in
Chinese: a basket after a discount against the free-delivery threshold ("买了52镑的东西 用了5镑
优惠码 还包邮吗"), points turned into vouchers ("500积分能换多少钱"). Numbers and currencies are
first normalised (`facts.normalise`: 五十二镑 -> £52)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from chatbot.answer.sums import MEMBERSHIP, THRESHOLD_WORDS, Sum, after_discount, against_threshold, points_worth, price
from chatbot.text.facts import normalise
from chatbot.text.places import scopes

_AMOUNT = r"\d+(?:,\d{3})*(?:\.\d{1,2})?"
_MONEY = re.compile(rf"(?P<cur>[£$€¥])\s?(?P<amount>{_AMOUNT})")
# A fixed discount ("£5优惠码", "减£5", "优惠£5") or a percentage ("10%", "九折" normalised or "9折").
_AMOUNT_OFF = re.compile(rf"[£$€¥]\s?(?P<code>{_AMOUNT})\s*(?:的)?\s*(?:优惠码|优惠券|折扣码|代金券|券)"
                         rf"|(?:减|减去|优惠|抵扣?|便宜)\s*[£$€¥]\s?(?P<less>{_AMOUNT})")
_PERCENT_OFF = re.compile(r"(?<![\d.])(\d{1,2}(?:\.\d+)?)\s?%\s*(?:的)?\s*(?:优惠|折扣|off)?|(?<![\d.])([1-9一二三四五六七八九])(?:\.(\d))?\s*折")
_DIGITS = {name: number for number, name in enumerate("一二三四五六七八九", 1)}
_ASKS_FREE_DELIVERY = re.compile(r"包邮|免运费|免邮|运费|邮费")
# "金额达到£50或以上……免费标准配送", "订单超过£100免运费", "满£50包邮"
_FREE_FROM = re.compile(
    rf"(?P<how>达到|满|超过|高于|以上)\s*(?P<cur>[£$€¥])\s?(?P<amount>{_AMOUNT})(?P<more>\s*(?:或|及)以上)?[^。；]{{0,20}}?(?:免运费|免邮|包邮|免费[^。；]{{0,8}}配送)"
)
# A sum the question names as the condition, not as its basket: "剩下不到50镑", "能算进50镑包邮里吗"
_CONDITION_BEFORE = re.compile(r"(?:不到|低于|少于|不足|超过|高于|满|达到|够|门槛是?)\s*$")
_CONDITION_AFTER = re.compile(r"的?(?:包邮|免运费|免邮|门槛)|\s*(?:以上|以下)")
_AFTER_DISCOUNTS = re.compile(r"扣除优惠|优惠(?:码)?后|折扣后|使用优惠码后")
_THRESHOLD = re.compile(rf"(?:达到|满|超过|高于)\s*[£$€¥]\s?{_AMOUNT}")
# Points: "每100积分可兑换一张£5的奖励券", "以100积分为单位兑换", "至少200积分"
_HELD_POINTS = re.compile(r"(?<![\d.])(\d+(?:,\d{3})*)\s*(?:个)?(?:\w{0,6}?)积分")
_POINTS_VALUE = re.compile(rf"每\s*(?P<points>\d+)\s*(?:个)?积分[^。；]*?(?P<cur>[£$€¥])\s?(?P<value>{_AMOUNT})")
_POINTS_STEP = re.compile(r"以\s*(\d+)\s*(?:个)?积分为(?:单位|一档)")
_POINTS_MINIMUM = re.compile(r"(?:至少|满|最少)\s*(\d+)\s*(?:个)?积分")
_ASKS_VALUE = re.compile(r"换|兑|值|多少钱|抵|能用")


def worked_sum_zh(question: str, sentences: Sequence[str]) -> Sum | None:
    """The sum a Chinese question asks for, worked from the first sentence that states its rule.

    >>> rule = ["每笔扣除优惠码后金额达到£50或以上的订单，均可享受英国免费标准配送。"]
    >>> worked_sum_zh("买了52镑的东西 用了个5镑优惠码 还包邮吗", rule).text
    '不包邮：£52减去£5后为£47，低于免运费所需的£50（还差£3）。'
    >>> worked_sum_zh("500积分能换多少钱啊", ["以100积分为单位兑换奖励券，每100积分可兑换一张£5的奖励券。"]).text
    '500积分可兑换£25的奖励券（每100积分£5）。'
    """
    question = normalise(question)
    return _free_delivery_sum(question, sentences) or _points_sum(question, sentences)


def _free_delivery_sum(question: str, sentences: Sequence[str]) -> Sum | None:
    if not _ASKS_FREE_DELIVERY.search(question) or MEMBERSHIP.search(question):
        return None
    off = list(_AMOUNT_OFF.finditer(question))
    off_spans = [found.span() for found in off]
    money = [found for found in _MONEY.finditer(question)
             if not any(start <= found.start() < end for start, end in off_spans)]
    if len(money) != 1 or len(off) > 1:
        return None
    if _CONDITION_BEFORE.search(question[:money[0].start()]) or _CONDITION_AFTER.match(question, money[0].end()):
        return None
    currency, basket = money[0].group("cur"), float(money[0].group("amount").replace(",", ""))
    cut = float((off[0].group("code") or off[0].group("less")).replace(",", "")) if off else 0.0
    percent = _percent(question) if not off else None
    places = scopes(question)
    for number, sentence in enumerate(sentences):
        clauses = sentence.split("；") if len(_THRESHOLD.findall(sentence)) > 1 else [sentence]
        for clause in clauses:
            rule = _FREE_FROM.search(normalise(clause))
            if rule is None or (len(clauses) > 1 and not places & scopes(clause)):
                continue
            if places and scopes(clause) and not places & scopes(clause):
                continue
            sign = rule.group("cur")
            if sign != currency or ((percent is not None or off) and not _AFTER_DISCOUNTS.search(sentence)):
                continue
            threshold = float(rule.group("amount").replace(",", ""))
            total = after_discount(basket, percent, cut)
            enough = total > threshold if rule.group("how") == "超过" and not rule.group("more") else total >= threshold
            return against_threshold(THRESHOLD_WORDS["zh"], sign, basket, percent, cut, threshold, enough, number)
    return None


def _percent(question: str) -> float | None:
    """The percentage off: "10%", or "9折" and "九折" (pay 90%, so 10% off)."""
    found = _PERCENT_OFF.search(question)
    if found is None:
        return None
    if found.group(1):
        return float(found.group(1))
    tenths = found.group(2)
    paid = (_DIGITS.get(tenths) or int(tenths)) * 10 + int(found.group(3) or 0)
    return float(100 - paid)


def _points_sum(question: str, sentences: Sequence[str]) -> Sum | None:
    held = _HELD_POINTS.findall(question)
    if len(held) != 1 or not _ASKS_VALUE.search(question):
        return None
    points = int(held[0].replace(",", ""))
    found = points_worth(points, sentences, _POINTS_VALUE, _POINTS_STEP, _POINTS_MINIMUM)
    if found is None:
        return None
    if points < found.minimum:
        return Sum(f"{points}积分还不够：满{found.minimum}积分才能使用。", found.rule)
    return Sum(f"{points}积分可兑换{price(found.currency, found.worth)}的奖励券（每{found.per}积分{price(found.currency, found.value)}）。",
               found.rule)
