"""Questions on a topic that shops often leave unsaid (a back-in-stock alert, a price match, giving
points to someone else, a price rise, a discount for buying several, a gift receipt, a delivery
time, two-factor sign-in, repeat orders, taking the old one away), and whether pages speak of it:
"can I get an email when the tent is back in stock?" is not answered by the tent's warranty, however
close its words, unless some page speaks of stock."""

from __future__ import annotations

import re

_POINTS = r"(?:points?|drops|rewards?|credits?|balance|stamps|stars|beans|vouchers?)"
# topic -> (what asks about it, what speaks of it)
_TOPICS = {
    # being told when a thing is back: "can you email me when the tent is back in stock?"
    "stock alert": (
        re.compile(r"\bback[\s-]+in[\s-]+stock\b|\bre-?stock|\bwait(?:ing)?[\s-]?list\b|\bstock\s+alerts?\b|\bback-?order"
                   r"|\b(?:email|notify|tell|text|alert|let)\s+(?:me|us)\b[^?.!]{0,40}\b(?:back|available|in\s+stock|restocked)\b"
                   r"|到货(?:通知|提醒)|补货", re.IGNORECASE),
        re.compile(r"\bback[\s-]+in[\s-]+stock\b|\bre-?stock|\bwait(?:ing)?[\s-]?list\b|\bstock\s+(?:alerts?|notifications?|emails?)\b"
                   r"|\bback-?order|\bnotify\s+(?:me|you)\b|到货(?:通知|提醒)|补货", re.IGNORECASE),
    ),
    "price match": (
        re.compile(r"\bprice[\s-]*match|\bmatch\s+(?:the\s+|a\s+|their\s+|that\s+|his\s+|her\s+)?(?:[\w'’-]+\s+)?prices?\b"
                   r"|\bbeat\s+(?:the\s+|a\s+|their\s+|any\s+)?(?:[\w'’-]+\s+)?prices?\b|\bcheaper\s+(?:somewhere|elsewhere|at\s+\w+|on\s+\w+)"
                   r"|\brefund\s+(?:me\s+)?the\s+difference\b|\b(?:goes|went|go)\s+on\s+sale\s+(?:after|later|the\s+\w+\s+after|a\s+\w+\s+after)"
                   r"|价保|保价|价格保护|比价|退差价|补差价", re.IGNORECASE),
        re.compile(r"\bprice[\s-]*match|\bmatch\w*\s+(?:the\s+|a\s+|their\s+|any\s+)?(?:[\w'’-]+\s+)?prices?\b"
                   r"|\bprice\s+(?:guarantee|promise|protection|adjustment)|\bcheaper\s+(?:elsewhere|somewhere|at\s+another)"
                   r"|\bthe\s+difference\b|价保|保价|价格保护|比价|(?:退|补|返)(?:还)?差价|差价(?:补偿|退还|返还)", re.IGNORECASE),
    ),
    # giving points to someone else: "can I transfer my Ink Drops to my sister?"
    "points to another": (
        re.compile(rf"\b(?:transfer|give|gift|share|pool|merge|move)\b(?:\s+[\w'’-]+){{0,4}}?\s+{_POINTS}\b(?:\s+[\w'’-]+){{0,2}}?\s+(?:to|with)\b"
                   rf"|\b(?:combine|merge|pool|link)\s+(?:my|our|two)\s+(?:\w+\s+)?accounts?\b|{_POINTS}\s+(?:be\s+)?transferr?(?:ed|able)\b"
                   r"|积分.{0,6}(?:转让|转赠|转给|送给|给别人|给朋友|给家人|合并)|(?:转让|转赠|合并).{0,6}积分", re.IGNORECASE),
        re.compile(rf"\b(?:transferr?\w*|non-?transferable|shar(?:e|ed|ing)|pool(?:ed|ing)?|merg\w*)\b[^.]{{0,60}}\b(?:{_POINTS}|accounts?)\b"
                   rf"|\b(?:{_POINTS}|accounts?)\b[^.]{{0,60}}\b(?:transferr?\w*|shar(?:e|ed|ing)|pool(?:ed|ing)?|merg\w*)\b"
                   r"|\b(?:another|someone\s+else's|other)\s+(?:person|member|account|customer)s?\b"
                   r"|积分.{0,10}(?:转让|转赠|转给|合并|共享)|(?:转让|转赠|合并|共享).{0,10}积分", re.IGNORECASE),
    ),
    "price rise": (
        re.compile(r"\b(?:prices?|costs?|fees?|subscriptions?|plans?|membership)\b[^?.!]{0,40}\b(?:go(?:es|ing)?\s+up|increase[sd]?|ris(?:e|es|ing)"
                   r"|rais(?:e|ed|ing)|stay\s+the\s+same|locked\s+in)\b|\b(?:increase|raise)\s+(?:the\s+|your\s+|my\s+)?(?:prices?|fees?)\b"
                   r"|涨价|调价|价格(?:会)?(?:上涨|变|调整)", re.IGNORECASE),
        re.compile(r"\b(?:prices?|costs?|fees?)\b[^.]{0,50}\b(?:go(?:es)?\s+up|increas\w*|ris(?:e|es)|rais\w*|chang\w*|locked|fixed|stay)\b"
                   r"|\b(?:increas\w*|rais\w*|chang\w*)\b[^.]{0,30}\b(?:prices?|fees?)\b|涨价|调价|价格(?:调整|变动|上涨)", re.IGNORECASE),
    ),
    # a discount for buying several: "do you give a discount if I buy two grinders?"
    "several": (
        re.compile(r"\b(?:discount|cheaper|deal|money\s+off|price\s+break)\b[^?.!]{0,50}\b(?:(?:buy|order|get|put|purchase)\w*\s+(?:two|2|three|3|several"
                   r"|multiple|more\s+than\s+one|a\s+few|in\s+bulk|a\s+second)|bulk|multiple|several)\b"
                   r"|\b(?:buy|order|get|purchase)\w*\s+(?:two|2|three|3|several|multiple|in\s+bulk)\b[^?.!]{0,40}\b(?:discount|cheaper|deal|off)\b"
                   r"|批量|多买(?:几|些|一些|优惠|有|能|可以|打折)|团购", re.IGNORECASE),
        re.compile(r"\bbulk\b|\bmulti-?buy|\bquantity\s+discount|\bwholesale|\bbuy\s+(?:one|1|two|2|three|3)\b"
                   r"|\b(?:two|2|three|3|second|more)\s+(?:or\s+more\s+)?(?:\w+\s+)?(?:items?|products?|units?|pieces?)\b[^.]{0,40}\b(?:off|discount|cheaper|free)\b"
                   r"|批量|多件|第二件|团购", re.IGNORECASE),
    ),
    # a gift that does not show what it cost: "can you leave the prices off the packing slip?"
    "gift receipt": (
        re.compile(r"\bgift\s+receipts?\b|\b(?:leave|take|keep)\s+(?:the\s+)?prices?\s+off\b|\bhide\s+(?:the\s+)?prices?\b"
                   r"|\bwithout\s+(?:the\s+|any\s+)?prices?\b|礼品小票|不(?:显示|要|放)(?:价格|价钱|发票)|隐藏价格", re.IGNORECASE),
        re.compile(r"\bgift\s+receipts?\b|\bprices?\b[^.]{0,40}\b(?:packing\s+slips?|parcels?|packages?|invoices?|receipts?)\b"
                   r"|\b(?:packing\s+slips?|invoices?|receipts?)\b[^.]{0,40}\bprices?\b|礼品小票|不(?:显示|含)(?:价格|价钱)|隐藏价格",
                   re.IGNORECASE),
    ),
    # choosing when a parcel comes: "can I pick a delivery date?", "what time does the courier come?"
    "delivery time": (
        re.compile(r"\bwhat\s+time\s+(?:of\s+(?:the\s+)?day\s+)?(?:will|does|do|would|is)\b[^?.!]{0,40}\b(?:deliver\w*|arrive|come|drop)"
                   r"|\b(?:choose|pick|select|book|schedule|request|set)\s+(?:a\s+|the\s+|my\s+|an?\s+exact\s+)?(?:specific\s+)?"
                   r"(?:delivery\s+|dispatch\s+|shipping\s+)?(?:date|day|time|slot)\b|\btime\s+slot|\bship\s+on\s+a\s+(?:specific|certain|particular)\s+(?:date|day)"
                   r"|指定(?:送货|配送|送达)?(?:日期|时间)|几点(?:送货|送达|配送|能送)", re.IGNORECASE),
        re.compile(r"\btime\s+slots?\b|\bdelivery\s+(?:window|slot|date)s?\b|\b(?:one|1|two|2)[- ]hour\s+(?:delivery\s+)?window"
                   r"|\b(?:choose|pick|select|book)\s+(?:a|your|the)\s+(?:delivery\s+|dispatch\s+)?(?:date|day|time)"
                   r"|\b(?:date|day|time)\s+you\s+(?:choose|pick|select)|\b(?:deliver\w*|couriers?|drivers?)\b[^.]{0,40}\b(?:\d{1,2}(?::\d\d)?\s*(?:am|pm)|morning|afternoon|evening)"
                   r"|指定(?:送货|配送|送达)?(?:日期|时间)|送达时间段|配送时间段", re.IGNORECASE),
    ),
    "two-factor": (
        re.compile(r"\btwo[- ]factor\b|\b2fa\b|\btwo[- ]step\b|\bmulti[- ]factor\b|两步验证|双重验证|二次验证|双因素", re.IGNORECASE),
        re.compile(r"\btwo[- ]factor\b|\b2fa\b|\btwo[- ]step\b|\bmulti[- ]factor\b|两步验证|双重验证|二次验证|双因素", re.IGNORECASE),
    ),
    # sent again and again: "can I set up a repeat order every 6 months?"
    "repeat order": (
        re.compile(r"\brepeat\s+(?:order|delivery|deliveries)\b|\bsubscriptions?\b(?![^?.!]{0,20}\b(?:newsletter|e-?mails?|mailing)\b)"
                   r"|\bsubscribe\s+(?:&|and)\s+save\b|\bauto-?ship|\brecurring\b"
                   r"|\bautomatic(?:ally)?\s+(?:every|each|re-?order|sen[dt]|deliver\w*|ship\w*)|\b(?:sen[dt]|deliver\w*|ship\w*)\s+(?:to\s+me\s+)?automatically\b"
                   r"|定期(?:配送|发货|送|购买)|自动(?:续订|发货|下单)|周期购", re.IGNORECASE),
        re.compile(r"\bsubscriptions?\b(?![^.]{0,20}\b(?:newsletter|e-?mails?|mailing)\b)|\bsubscribe\s+(?:&|and)\s+save\b|\bauto-?ship"
                   r"|\brepeat\s+(?:order|deliver)|\brecurring\b|订阅(?:服务|计划|套餐|制|盒|商品|订单)|(?:按月|每月|定期)(?:配送|发货|送|购买)"
                   r"|自动续订|周期购",
                   re.IGNORECASE),
    ),
    # taking the old one away: "can the delivery team take away my old rug?"
    "old one taken": (
        re.compile(r"\b(?:take|haul|cart)\s+(?:away|back)\s+(?:my|the|our|your)?\s*old\b|\b(?:take|haul)\s+(?:my|the|our)\s+old\s+[\w\s]{1,20}?\s+away\b"
                   r"|\b(?:remove|dispose\s+of|collect)\s+(?:my|the|our)\s+old\b|旧(?:家具|床垫|地毯|电器|沙发|床)?(?:拉走|带走|搬走)", re.IGNORECASE),
        re.compile(r"\bold\s+(?:[\w-]+\s+){0,2}?(?:away|removal|collection|recycl\w*|disposal)\b|\b(?:take|haul)\s+away\b"
                   r"|\b(?:take|takes)\s+back\s+(?:any\s+|your\s+)?old\b|\b(?:remov\w*|dispos\w*|recycl\w*|collect\w*)\s+(?:of\s+)?(?:your\s+)?old\b"
                   r"|旧.{0,6}(?:回收|拉走|带走|搬走)|以旧换新", re.IGNORECASE),
    ),
}


TOPICS = tuple(_TOPICS)  # their names


def asked_topics(question: str) -> list[str]:
    """The topics of `_TOPICS` a question asks about.

    >>> asked_topics("can you email me when the tent is back in stock?"), asked_topics("do you price match?")
    (['stock alert'], ['price match'])
    >>> asked_topics("can i transfer my ink drops to my sister's account?"), asked_topics("how do I earn points?")
    (['points to another'], [])
    >>> asked_topics("will the price of my plan go up next year?"), asked_topics("do you give a discount if I buy two grinders?")
    (['price rise'], ['several'])
    """
    return [topic for topic, (asks, _) in _TOPICS.items() if asks.search(question)]


def says_topic(text: str, topic: str) -> bool:
    """Whether `text` speaks of `topic` at all.

    >>> says_topic("Points cannot be transferred to another account.", "points to another")
    True
    >>> says_topic("Points cannot be combined with a promo code.", "points to another")
    False
    """
    return _TOPICS[topic][1].search(text) is not None


def focus_topics(question: str) -> list[str]:
    """The asked topics that are the question's point: a subscription is often only where the
    question comes from ("what if they came from my subscription tho").

    >>> focus_topics("can i give my points to my wife?"), focus_topics("what if it came from my subscription?")
    (['points to another'], [])
    """
    return [topic for topic in asked_topics(question) if topic != "repeat order"]
