"""Shoppers' everyday Chinese beside the words shop pages use: "包邮" is what a page calls "免运费",
"打折" its "促销". A Chinese question is searched and answered with the pages' words added, so that
retrieval by words and the choice of sentences find the page that says it formally."""

from __future__ import annotations

import re
from functools import cache

# Everyday word: the written words a shop's pages use for it. General e-commerce Chinese, not one
# shop's: each line is a colloquialism any Chinese shopper may use.
_FORMAL = {
    "包邮": "免运费", "免邮": "免运费", "邮费": "运费", "快递费": "运费",
    "打折": "促销 折扣", "特价": "促销", "减价": "降价", "便宜": "价格",
    "退钱": "退款", "钱退": "退款", "返钱": "退款", "扣钱": "扣款", "扣费": "扣款",
    "交钱": "收费 费用", "要钱": "收费 费用", "付钱": "付款", "花钱": "费用",
    "物流": "追踪 配送", "快递": "配送 包裹 承运商", "快递员": "承运商", "到货": "送达",
    "没货": "缺货", "断货": "缺货", "补货": "缺货 到货",
    "东西": "商品", "宝贝": "商品", "衣服": "服装",
    "账号": "账户", "号被锁": "账户 锁定", "锁号": "账户 锁定",
    "坏了": "故障 损坏", "碎了": "损坏 破损", "破了": "损坏 破损", "裂了": "损坏 破损",
    "漏发": "缺件", "少发": "缺件", "丢件": "丢失", "丢了": "丢失",
    "比价": "价格匹配", "保价": "降价 差价",
    "上班": "开放时间 服务时间", "下班": "开放时间 服务时间",
    "过生日": "生日", "福利": "优惠 权益",
    "券": "奖励券 优惠码", "优惠券": "奖励券 优惠码", "红包": "优惠",
    "含税": "增值税 关税", "交税": "增值税 关税",
    "加急": "次日达 升级",
}


# The same in English: a shopper's everyday words, and what help pages call them.
_FORMAL_EN = {
    "money back": "refund", "cheaper": "price drop difference", "price dropped": "price drop difference",
    "price went down": "price drop difference", "gone down in price": "price drop difference",
    "swap": "exchange", "broken": "damaged", "smashed": "damaged", "shattered": "damaged", "cracked": "damaged", "dented": "damaged",
    "ripped": "damaged", "torn": "damaged", "burst": "damaged",
    "send it back": "return", "send them back": "return", "post it back": "return", "send back": "return", "send something back": "return",
    "send stuff back": "return", "send things back": "return", "send everything back": "return",
    "out the plastic": "removed sealed plastic wrap", "out of the plastic": "removed sealed plastic wrap",
    "anyone around": "open opening hours", "anybody around": "open opening hours",
    "postage": "delivery shipping", "package": "parcel", "customs fees": "import duties", "customs charges": "import duties",
    "amex": "American Express",
}


def formal_words(word: str) -> str:
    """The pages' words for one everyday word ("amex": "American Express"), "" for none."""
    return _FORMAL.get(word) or _FORMAL_EN.get(word.lower(), "")


@cache
def _pattern(english: bool) -> re.Pattern[str]:
    chinese = "|".join(re.escape(word) for word in sorted(_FORMAL, key=len, reverse=True))
    if not english:
        return re.compile(chinese)
    words = "|".join(re.escape(word) for word in sorted(_FORMAL_EN, key=len, reverse=True))
    return re.compile(rf"{chinese}|\b(?i:{words})\b")


def with_formal_words(text: str, english: bool = False) -> str:
    """The text with the pages' words for each everyday word it uses after it, once each; English
    ones too with `english` (for searching: beside the sentences' own words, "money back (refund)"
    would make a page's unrelated "return label" sentence look like the answer).

    >>> with_formal_words("买多少包邮啊"), with_formal_words("打折买的东西能退吗")
    ('买多少包邮（免运费）啊', '打折（促销 折扣）买的东西（商品）能退吗')
    >>> with_formal_words("how much is delivery?"), with_formal_words("it's now cheaper, can I get money back?", english=True)
    ('how much is delivery?', "it's now cheaper (price drop difference), can I get money back (refund)?")
    """
    said: set[str] = set()

    def add(match: re.Match[str]) -> str:
        word = match.group(0)
        formal = formal_words(word)
        if formal in said:
            return word
        said.add(formal)
        return f"{word}（{formal}）" if word in _FORMAL else f"{word} ({formal})"

    return _pattern(english).sub(add, text)
