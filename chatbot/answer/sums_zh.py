"""The small sums of `sums` for a question in Chinese, read from Chinese sentences and said in
Chinese: a basket after a discount against the free-delivery threshold ("买了52镑的东西 用了5镑
优惠码 还包邮吗"), points turned into vouchers ("500积分能换多少钱"), the points an order earns
("买了£64.80的东西 能拿多少分"), the last day of a window that runs from a date ("5月10号收到的
最晚哪天要寄回"). Numbers and currencies are first normalised (`facts.normalise`: 五十二镑 -> £52)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date, timedelta

from chatbot.answer.sums import (MEMBERSHIP, THRESHOLD_WORDS, Sum, after_discount, against_threshold, code_percent,
                                 points_worth, price, speaks_of)
from chatbot.text.facts import normalise
from chatbot.text.places import scopes

_AMOUNT = r"\d+(?:,\d{3})*(?:\.\d{1,2})?"
_MONEY = re.compile(rf"(?P<cur>[£$€¥])\s?(?P<amount>{_AMOUNT})")
# A fixed discount ("£5优惠码", "减£5", "优惠£5") or a percentage ("10%", "九折" normalised or "9折").
_AMOUNT_OFF = re.compile(rf"[£$€¥]\s?(?P<code>{_AMOUNT})\s*(?:的)?\s*(?:优惠码|优惠券|折扣码|代金券|券)"
                         rf"|(?:减|减去|优惠|抵扣?|便宜|少)了?\s*[£$€¥]\s?(?P<less>{_AMOUNT})")
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
# points on what is paid after a code: "积分按使用优惠码后的实付金额计算"
_EARNED_AFTER_CODES = re.compile(r"积分[^。；]{0,12}(?:优惠码?后|折扣后|实付|扣除优惠)|(?:优惠码?后|折扣后|实付|扣除优惠)[^。；]{0,12}积分")
_AFTER_DISCOUNTS = re.compile(r"扣除优惠|优惠(?:码)?后|折扣后|使用优惠码后")
_THRESHOLD = re.compile(rf"(?:达到|满|超过|高于)\s*[£$€¥]\s?{_AMOUNT}")
# Points: "每100积分可兑换一张£5的奖励券", "以100积分为单位兑换", "至少200积分"
_HELD_POINTS = re.compile(r"(?<![\d.])(\d+(?:,\d{3})*)\s*(?:个)?(?:\w{0,6}?)积分")
_POINTS_VALUE = re.compile(rf"每\s*(?P<points>\d+)\s*(?:个)?积分[^。；]*?(?P<cur>[£$€¥])\s?(?P<value>{_AMOUNT})")
_POINTS_STEP = re.compile(r"以\s*(\d+)\s*(?:个)?积分为(?:单位|一档)")
_POINTS_MINIMUM = re.compile(r"(?:至少|满|最少)\s*(\d+)\s*(?:个)?积分")
_ASKS_VALUE = re.compile(r"换|兑|值|多少钱|抵|能用")
# Points an order earns: "能拿多少分", "能得几个积分"; at "每消费£1获得1.25积分", the tier's name
# before it ("Fern（蕨叶）会员……")
_ASKS_EARNED = re.compile(r"(?:多少|几)\s*(?:个)?\s*(?:积)?分|(?:拿|得|赚|积|攒|返)多少")
_EARN_RATE = re.compile(r"每(?:消费|花费|花|购物)?\s*(?P<cur>[£$€¥])\s?1(?![\d.])\s*(?:至少)?(?:可)?(?:获得|得到|得|积|赚)\s*(?P<rate>\d+(?:\.\d+)?)\s*(?:个)?积分")
_TIER_NAME = re.compile(r"[A-Za-z]+|(?<=[（(])[\u4e00-\u9fff]{1,4}(?=[）)])")
_SPENT = re.compile(rf"(?P<cur>[£$€¥])\s?(?P<amount>{_AMOUNT})(?!\s*(?:的)?\s*(?:运费|邮费|配送费|快递费))")
# A deadline from a date: "5月10号收到的 最晚哪天要寄回" and "送达后30天内"
_DATE_ZH = re.compile(r"(?<!\d)(?P<month>1[0-2]|[1-9])\s*月\s*(?P<day>3[01]|[12]\d|[1-9])\s*(?:日|号)")
_ASKS_DEADLINE = re.compile(r"最晚|最迟|截止|哪天|哪一天|几号|到什么时候|什么时候之前|什么时候前")
_WITHIN_DAYS = re.compile(r"(?P<event>送达|收货|签收|到货|下单|购买)(?:之日)?后\s*(?P<days>\d+)\s*天内")
_DELIVERED = re.compile(r"收到|送达|到货|签收|到的|寄到|送到")
# "11月1日至12月24日期间送达的原价商品最晚可在次年1月31日退货"
_WINDOW_ZH = re.compile(r"(?P<m1>1[0-2]|[1-9])月(?P<d1>3[01]|[12]\d|[1-9])日?(?:至|到|-|—|~)(?P<m2>1[0-2]|[1-9])月(?P<d2>3[01]|[12]\d|[1-9])日"
                        r"[^。；]*?(?:最晚|截止|直到|可在)[^。；]*?(?:次年)?(?P<m3>1[0-2]|[1-9])月(?P<d3>3[01]|[12]\d|[1-9])日")
_EXAMPLE = re.compile(r"所以如果|例如|比如|假如|举例")
_SALE = re.compile(r"促销|打折|特价|折扣价|减价|清仓")
# A range a rule holds in ("订单金额在£30至£1,000之间时"), asked whether ("25镑 可以用klarna分期吗")
_BETWEEN = re.compile(rf"(?P<cur>[£$€¥])\s?(?P<low>{_AMOUNT})\s*(?:至|到|-|~|–)\s*[£$€¥]?\s?(?P<high>{_AMOUNT})\s*(?:之间|以内|范围内)")
_ASKS_WHETHER = re.compile(r"[吗么嘛][？?]?$|能不能|可不可以|是不是|行不行|能否")


def worked_sum_zh(question: str, sentences: Sequence[str]) -> Sum | None:
    """The sum a Chinese question asks for, worked from the first sentence that states its rule.

    >>> rule = ["每笔扣除优惠码后金额达到£50或以上的订单，均可享受英国免费标准配送。"]
    >>> worked_sum_zh("买了52镑的东西 用了个5镑优惠码 还包邮吗", rule).text
    '不包邮：£52减去£5后为£47，低于免运费所需的£50（还差£3）。'
    >>> worked_sum_zh("500积分能换多少钱啊", ["以100积分为单位兑换奖励券，每100积分可兑换一张£5的奖励券。"]).text
    '500积分可兑换5张£5的奖励券，共£25（每100积分£5）。'
    >>> tiers = ["Sprout（新芽）会员每消费£1获得1积分。", "Fern（蕨叶）会员每消费£1获得1.25积分。"]
    >>> worked_sum_zh("我是普通会员 买了£64.80的东西 能拿多少分", tiers).text
    '£64.80的订单可获得64积分（每消费£1获得1积分）。'
    >>> worked_sum_zh("我是蕨叶会员 花了80镑能得几个积分", tiers).text
    '£80的订单可获得100积分（每消费£1获得1.25积分）。'
    >>> worked_sum_zh("买了80镑东西 用码减了8镑 运费3.95 能拿多少积分", [*tiers, "积分按使用优惠码后的实付金额计算。"]).text
    '£80减去£8后为£72，可获得72积分（每消费£1获得1积分）。'
    >>> worked_sum_zh("订单才25镑 可以用klarna分期吗", ["订单金额在£30至£1,000之间时，可以使用 Klarna 分3期免息付款。"]).text
    '不可以：£25不在£30至£1,000之间。'
    >>> worked_sum_zh("5月10号收到的 原价买的 最晚哪天要寄回", ["原价商品可在送达后30天内退货。"]).text
    '5月10日送达，30天期限到6月9日。'
    """
    question = normalise(question)
    return (_free_delivery_sum(question, sentences) or _range_sum(question, sentences) or _earned_sum(question, sentences)
            or _points_sum(question, sentences) or _deadline_sum(question, sentences))


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
    cut = _cut(off[0]) if off else 0.0
    percent = (_percent(question) or code_percent(question, sentences)) if not off else None
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


def _cut(found: re.Match[str]) -> float:
    """The fixed sum off that `_AMOUNT_OFF` found ("£5优惠码", "减了8镑")."""
    return float((found.group("code") or found.group("less")).replace(",", ""))


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
    vouchers = round(found.worth / found.value) if found.value else 0
    return Sum(f"{points}积分可兑换{vouchers}张{price(found.currency, found.value)}的奖励券，共{price(found.currency, found.worth)}"
               f"（每{found.per}积分{price(found.currency, found.value)}）。", found.rule)


def _earned_sum(question: str, sentences: Sequence[str]) -> Sum | None:
    """"买了£64.80的东西 能拿多少分": the order's sum at the rate of the tier the question names, or
    the lowest rate when it names none (a name in more than one rate's sentence names no tier)."""
    off = list(_AMOUNT_OFF.finditer(question))
    spent = [found for found in _SPENT.finditer(question) if not any(cut.start() <= found.start() < cut.end() for cut in off)]
    if len(spent) != 1 or len(off) > 1 or not _ASKS_EARNED.search(question):
        return None
    currency, amount = spent[0].group("cur"), float(spent[0].group("amount").replace(",", ""))
    percent = None if off else _percent(question)
    paid = ""
    if off or percent is not None:  # "用码减了8镑": points on what is paid, where a page says so
        if not any(earns_after_discount_zh(sentence) for sentence in sentences):
            return None
        cut = _cut(off[0]) if off else 0.0
        less = price(currency, cut) if off else f"{percent:g}%"
        paid, amount = f"{price(currency, amount)}减去{less}后为", after_discount(amount, percent, cut)
    rates = [(float(found.group("rate")), number, {name.lower() for name in _TIER_NAME.findall(sentence[: found.start()])})
             for number, sentence in enumerate(sentences) for found in _EARN_RATE.finditer(normalise(sentence))
             if found.group("cur") == currency]
    if not rates:
        return None
    naming: dict[str, int] = {}
    for _, _, names in rates:
        for name in names:
            naming[name] = naming.get(name, 0) + 1
    asked = question.lower()
    named = [rate for rate in rates if any(naming[name] == 1 and name in asked for name in rate[2])]
    rate, number, _ = named[0] if named else min(rates)
    order = f"{paid}{price(currency, amount)}，" if paid else f"{price(currency, amount)}的订单"
    return Sum(f"{order}可获得{math.floor(amount * rate)}积分（每消费{currency}1获得{rate:g}积分）。", number)


def _deadline_sum(question: str, sentences: Sequence[str]) -> Sum | None:
    """"5月10号收到的 最晚哪天要寄回": the one date in the question plus the days of the first
    sentence that counts them from that event ("送达后30天内"), when it is about sale items just
    when the question is. No sum when a sentence names another date, which may set another rule
    ("11月1日至12月24日期间送达的……最晚可在次年1月31日退货"); a date in an example sets none."""
    if not asks_deadline_zh(question):
        return None
    found = _DATE_ZH.search(question)
    if found is None:
        return None
    try:
        start = date(2025, int(found.group("month")), int(found.group("day")))  # a year with 28 days in February
    except ValueError:
        return None
    dated = [number for number, sentence in enumerate(sentences) if _DATE_ZH.search(_EXAMPLE.split(normalise(sentence), maxsplit=1)[0])]
    windows = {number: window for number in dated if (window := _WINDOW_ZH.search(normalise(sentences[number])))}
    for number, window in windows.items():  # "11月1日至12月24日期间送达的……最晚可在次年1月31日退货"
        if bool(_SALE.search(sentences[number])) != bool(_SALE.search(question)):
            continue
        first, last, until = (_day_zh(window, n) for n in "123")
        if first and last and until and first <= start <= last:
            return Sum(f"{start.month}月{start.day}日送达，在{first.month}月{first.day}日至{last.month}月{last.day}日期间，"
                       f"最晚可在{'次年' if until < start else ''}{until.month}月{until.day}日退货。", number)
    if any(number not in windows and speaks_of(sentences[number], question) for number in dated):  # a rule by date of another kind
        return None
    for number, sentence in enumerate(sentences):
        rule = _WITHIN_DAYS.search(normalise(sentence))
        if rule is None or bool(_SALE.search(sentence)) != bool(_SALE.search(question)):
            continue
        delivered = rule.group("event") in ("送达", "收货", "签收", "到货")
        if delivered != bool(_DELIVERED.search(question)):
            continue
        days = int(rule.group("days"))
        end = start + timedelta(days=days)
        event = "送达" if delivered else "下单"
        return Sum(f"{start.month}月{start.day}日{event}，{days}天期限到{end.month}月{end.day}日。", number, frozenset(windows))
    return None


def asks_deadline_zh(question: str) -> bool:
    """Whether a Chinese question asks the last day of a window from the one date it names.

    >>> asks_deadline_zh("5月20号签收的 最晚哪天要寄回去退"), asks_deadline_zh("退货要多久")
    (True, False)
    """
    return len(_DATE_ZH.findall(question)) == 1 and _ASKS_DEADLINE.search(question) is not None


def asks_points_after_discount_zh(question: str) -> bool:
    """Whether a Chinese question asks the points an order earns after a code or a percentage off.

    >>> asks_points_after_discount_zh("原价80镑 用了个减10镑的优惠码 能拿多少积分"), asks_points_after_discount_zh("80镑能拿多少积分")
    (True, False)
    """
    asked = normalise(question)
    return (_ASKS_EARNED.search(asked) is not None and _SPENT.search(asked) is not None
            and (_AMOUNT_OFF.search(asked) is not None or _percent(asked) is not None))


def earns_after_discount_zh(text: str) -> bool:
    """Whether a Chinese text says points are counted on what is paid after a code ("积分按使用优惠码后的实付金额计算")."""
    return _EARNED_AFTER_CODES.search(text) is not None


def counts_days_zh(text: str) -> bool:
    """Whether a Chinese text counts days from an event ("送达后30天内") or names a date."""
    return _WITHIN_DAYS.search(normalise(text)) is not None or _DATE_ZH.search(text) is not None


def _day_zh(window: re.Match[str], n: str) -> date | None:
    try:
        return date(2025, int(window.group(f"m{n}")), int(window.group(f"d{n}")))
    except ValueError:
        return None


def _range_sum(question: str, sentences: Sequence[str]) -> Sum | None:
    """"订单才25镑 可以用klarna分期吗": 不可以 when the one sum in a yes/no question is outside the
    range a sentence about the same thing states ("£30至£1,000之间"); inside it, other conditions
    may still apply: no sum then."""
    money = list(_MONEY.finditer(question))
    if len(money) != 1 or not _ASKS_WHETHER.search(question):
        return None
    currency, amount = money[0].group("cur"), float(money[0].group("amount").replace(",", ""))
    asked = {word.lower() for word in re.findall(r"[A-Za-z]{3,}", question)} | set(re.findall(r"分期|付款|使用|优惠码|包邮", question))
    for number, sentence in enumerate(sentences):
        found = _BETWEEN.search(normalise(sentence))
        if found is None or found.group("cur") != currency or not any(word in sentence.lower() for word in asked):
            continue
        low, high = (float(found.group(name).replace(",", "")) for name in ("low", "high"))
        if not low <= amount <= high:
            return Sum(f"不可以：{price(currency, amount)}不在{price(currency, low)}至{price(currency, high)}之间。", number)
    return None
