"""Questions that ask for a measure (a weight, a size, a year, a temperature, a colour, a price), for who is behind
the shop, where its products are made or its registration number, and whether a sentence states one:
"how heavy is the skillet?" is not answered by a sentence about seasoning cast iron, however close its
words."""

from __future__ import annotations

import re

from chatbot.text.words import content_words

# A month's name, written out or cut short ("10 may", "Sept"), to match without regard to case.
MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?"
         r"|nov(?:ember)?|dec(?:ember)?)")
_NUMBER = r"(?:\d+(?:[.,]\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|twenty|thirty|fifty|hundred)"
# kind -> (what asks for it, what states it)
_MEASURES = {
    "weight": (
        re.compile(r"\bhow\s+heavy\b|\bweigh(?:s|t)?\b|多重|重量是多少|几斤|几公斤|多少克|几克|克重", re.IGNORECASE),
        re.compile(rf"\b{_NUMBER}\s?(?:kg|g|grams?|kilos?|kilograms?|lbs?|pounds?|oz|ounces?)\b|\d\s*(?:公斤|千克|克|斤)",
                   re.IGNORECASE),
    ),
    "size": (
        re.compile(r"\bdimensions?\b|\bmeasurements?\b|\bhow\s+(?:big|wide|tall|deep|large|high)\b|\bcapacity\b"
                   r"|\bhow\s+many\s+(?:litres|liters|ml|millilitres|cups|quarts|ounces)\b|\bhow\s+much\s+(?:does|will)\s+it\s+hold\b"
                   r"|尺寸是多少|尺寸多少|多大尺寸|有多大|多宽|多高|容量",
                   re.IGNORECASE),
        re.compile(rf"\b{_NUMBER}\s?(?:cm|mm|m|metres?|meters?|inch(?:es)?|in|ft|feet|foot|l|litres?|liters?|ml|cups?|quarts?|oz)\b"
                   r"|\d\s?x\s?\d|\d\s*(?:厘米|毫米|米|寸|升|毫升)",
                   re.IGNORECASE),
    ),
    "year": (
        re.compile(r"\b(?:when|what\s+year|which\s+year)\s+(?:was|were|did)\b.*\b(?:found|founded|establish|established|start|started|set\s+up|open|opened)\b"
                   r"|\bhow\s+long\s+(?:has|have)\b.*\b(?:been\s+(?:going|around|in\s+business|trading|open|running|operating|selling)|existed)\b"
                   r"|\bhow\s+old\s+is\s+(?:the\s+)?(?:company|shop|store|business|brand)\b|\bsince\s+when\b|哪一?年(?:成立|创立|创办|开)|什么时候(?:成立|创立|创办)|成立(?:多久|几年)",
                   re.IGNORECASE),
        # a year, or an age ("for over 20 years"), not a customer's age ("at least 18 years old")
        re.compile(r"\b(?:1[89]|20)\d\d\b|\b\d+\s+years?\s+ago\b|\bfor\s+(?:over\s+|more\s+than\s+)?\d+\s+years\b|\d{4}\s*年",
                   re.IGNORECASE),
    ),
    # who is behind the shop: a founder's or owner's name, which pages rarely give
    "founder": (
        re.compile(r"\bwho\s+(?:actually\s+|originally\s+|first\s+)?(?:founded|started|owns|runs|set\s+up|created|is\s+behind)\b"
                   r"|\bwho\s+(?:is|are|was|were)\s+(?:the\s+)?(?:owners?|founders?|ceo|boss|managing\s+director)\b"
                   r"|谁(?:创办|创立|成立)|创始人是谁|老板是谁", re.IGNORECASE),
        re.compile(r"\b(?:founded|founders?|co-?founders?|owners?|owned|owns|set\s+up|established|ceo|managing\s+director)\b"
                   r"|\bstarted\s+(?:by|in)\b|创始人|创办|创立|老板", re.IGNORECASE),
    ),
    # how old a shopper must be: an age the pages state ("18 or over", "aged 16 and above")
    "age": (
        re.compile(r"\bhow\s+old\s+(?:do|must|should|does|would)\s+(?:i|you|we|they|he|she|my\s+\w+)\s+(?:have\s+to\s+|need\s+to\s+|got\s+to\s+)?be\b"
                   r"|\b(?:minimum|min)\s+age\b|\bage\s+(?:limit|requirement|restriction)s?\b|多大(?:年龄|岁数)?才能|年龄(?:限制|要求)|满多少岁|几岁(?:才)?(?:能|可以)",
                   re.IGNORECASE),
        re.compile(r"\b\d{1,2}\s*(?:\+|years?\s+old|years?\s+of\s+age|or\s+(?:over|older|above))|\baged?\s+(?:over\s+|at\s+least\s+)?\d{1,2}\b"
                   r"|\d{1,2}\s*(?:周)?岁", re.IGNORECASE),
    ),
    "temperature": (
        re.compile(r"\bwhat\s+temperature\b|\bhow\s+hot\b|\bwhat\s+temp\b|多少度|温度是多少|最高温度", re.IGNORECASE),
        re.compile(rf"\b{_NUMBER}\s?(?:°|º|degrees?)|\d\s?°?\s?[CF]\b|\d\s*(?:度|°)", re.IGNORECASE),
    ),
    # where a product is made: pages rarely say, and "made in pounds sterling" is no answer
    "origin": (
        re.compile(r"\b(?:made|manufactured|produced|crafted|woven|knitted|assembled)\s+in\b"
                   r"|\bwhere\s+(?:are|is|do|does)\b[^?.!,]{0,60}\b(?:made|manufactured|produced|sourced|crafted|woven)\b"
                   r"|\bcountry\s+of\s+origin\b|产地|哪里?(?:生产|制造|产)的|在哪(?:里|儿)?(?:生产|制造)|哪个?(?:国家|地方)(?:生产|制造|产)", re.IGNORECASE),
        re.compile(r"\b(?:made|manufactured|produced|crafted|woven|knitted|sourced|grown|assembled)\s+(?:in|by)\s+(?:the\s+)?[A-Z]"
                   r"|\b(?:country\s+of\s+)?origin\b|产自|产地|生产于|制造于|(?:在|于)[^，。]{1,8}(?:生产|制造)"),
    ),
    # an official identifier of the business: pages that give one print it with its digits
    "registration": (
        re.compile(r"\b(?:registration|registered|vat|company|tax|business|licen[cs]e|charity|eori|ein|abn|gst)\s+"
                   r"(?:registration\s+|reg\s+|id\s+)?(?:number|no\b|#)|营业执照|注册号|税号", re.IGNORECASE),
        re.compile(r"\b(?:registered|registration|company|vat|tax|licen[cs]e|charity|eori|ein|abn|gst)\b[^.]{0,40}?"
                   r"(?:[A-Z]{2})?\s?\d[\d -]{4,}\d|营业执照|注册号|税号", re.IGNORECASE),
    ),
    # when a sale or an offer ends: a date or a month, said with its end ("runs until 31 January")
    "date:end": (
        re.compile(r"\bwhen\s+(?:does|do|will|is|are)\b[^?.!]{0,40}?\b(?:end|ends|finish|finishes|close|closes|over)\b"
                   r"|(?:什么时候|哪天|几号|几月)结束|到什么时候(?:结束|为止)?$|持续到(?:什么时候|哪天|几号)", re.IGNORECASE),
        re.compile(rf"(?=.*\b(?:end|ends|ending|until|till|through|runs?\s+to|lasts?|finish(?:es)?|closes?)\b).*\b{MONTH}\b"
                   r"|\d+\s*月[^。；]*(?:结束|截止|为止)|(?:截止|持续)到[^。；]*\d+\s*月",
                   re.IGNORECASE | re.DOTALL),
    ),
    # an appliance's electrics and a fabric's thread count: pages that give them print the number
    "electrics": (
        re.compile(r"\bvoltage\b|\bwattage\b|\bhow\s+many\s+watts\b|\bwhat\s+plug\b|电压|功率|多少瓦|几瓦", re.IGNORECASE),
        re.compile(r"(?<![\d.])\d+\s?(?:v|volts?|w|watts?|kw)(?![a-z])|\d\s*(?:伏|瓦|千瓦)", re.IGNORECASE),
    ),
    "thread count": (
        re.compile(r"\bthread\s+count\b|多少支|支数", re.IGNORECASE),
        re.compile(r"\b\d+\s*(?:-\s*)?thread\b|\bthread\s+count\s+(?:of\s+)?\d|\d+\s*支", re.IGNORECASE),
    ),
    # when a sale starts, or the next one: a date or a month ("starts on Boxing Day, 26 December")
    "date": (
        re.compile(r"\bwhen\s+(?:does|do|will|is|are)\b[^?.!]{0,40}?\b(?:sale|sales|black\s+friday|offer|offers|promotion|event)\b"
                   r"[^?.!]{0,20}?\b(?:start|starts|begin|begins|on|happen|happening)\b|\bwhen\s+is\s+(?:the|your)\s+next\b"
                   r"|\blast\s+(?:order(?:ing)?|posting|shipping)\s+(?:date|day)\b"
                   # "what's the last day I can order for Christmas?", "order by when?"
                   r"|\b(?:last|latest)\s+(?:day|date)\s+(?:to|(?:i|we|you)\s+can|for)\s+(?:order|place|post|buy)\b"
                   r"|\border\s+by\s+(?:when|what\s+date)\b", re.IGNORECASE),
        re.compile(rf"\b{MONTH}\b", re.IGNORECASE),
    ),
    # the colours a product comes in: pages that say so name them ("in sage, oat and charcoal")
    "colour": (
        re.compile(r"\b(?:what|which)\s+(?:other\s+)?colou?rs?\b|\bcolou?r\s+(?:options|choices)\b"
                   r"|\b(?:come|comes|available|have\s+(?:it|this|them|these))\s+in\s+(?:any\s+)?(?:other|different|more)\s+colou?rs?\b"
                   r"|什么颜色|哪些颜色|几种颜色|有(?:几|哪)种颜色|有(?:没有)?(?:别的|其他)颜色", re.IGNORECASE),
        re.compile(r"\b(?:black|white|gr[ae]y|navy|blue|green|red|pink|yellow|orange|purple|brown|beige|cream|ivory|charcoal"
                   r"|sage|teal|olive|oat|oatmeal|ochre|terracotta|rust|mustard|lilac|burgundy|sand|stone|natural)\b"
                   r"|[黑白灰蓝绿红粉黄橙紫棕米]色|藏青|卡其", re.IGNORECASE),
    ),
    "price": (
        re.compile(r"\bhow\s+much\b(?!\s+(?:time|longer|later|sooner|earlier)\b)|多少钱|费用是多少|运费多少"
                   # "is there a fee for paying with PayPal?" (not "does it cost extra?", which "the same as a
                   # normal call" answers)
                   r"|\b(?:is|are)\s+there\s+(?:a|an|any)\s+(?:extra\s+|additional\s+)?(?:fee|charge|surcharge|cost)s?\b", re.IGNORECASE),
        re.compile(r"[£$€¥]\s?\d|\b\d+(?:[.,]\d+)?\s?(?:p|pence|%|percent|per\s*cent|points?|dollars?|euros?|pounds?)\b"
                   r"|\bfree\b|\bno\s+(?:extra\s+)?(?:fee|charge|cost)\b|\b(?:at\s+)?no\s+cost\b|\bdifference\b"
                   r"|\b(?:not|never|n't)\s+charge\b|\bno\s+(?:sales\s+)?tax\b"
                   r"|\d\s*(?:元|镑|英镑|欧元|%)|免费|免运费|差价",
                   re.IGNORECASE),
    ),
}


# "how many characters can the gift message be?": a count of a thing, stated as a number before it
# ("up to 200 characters") or as no limit ("as many as you need"); not "how many times", which
# pages answer with "once". The thing is among the (up to 3) words after "how many".
_HOW_MANY = re.compile(r"\bhow\s+many\s+((?:[a-z-]+\s*){1,3})", re.IGNORECASE)
_NOT_COUNTED = frozenset("times time".split())
_COUNT = re.compile(rf"(?<![\w.£$€¥]){_NUMBER}(?:,\d{{3}})*\s+((?:[a-z-]+\s+){{0,2}}[a-z-]+)", re.IGNORECASE)
_NO_LIMIT = re.compile(r"\bas\s+many\b|\bunlimited\b|\bno\s+(?:limit|maximum)\b|\bany\s+number\s+of\b", re.IGNORECASE)


def asked_measure(question: str) -> str:
    """The kind of measure `question` asks for ("weight", "size", "year", "founder", "temperature", "origin", "registration", "colour", "price",
    or "count:" and the stem of what "how many" counts), "" if none.

    >>> asked_measure("How heavy is your 28cm skillet?"), asked_measure("what are the dimensions of the rug")
    ('weight', 'size')
    >>> asked_measure("when was Maple & Moss founded?"), asked_measure("how much is delivery to France?")
    ('year', 'price')
    >>> asked_measure("how long do refunds take?"), asked_measure("how much time do I have?")
    ('', '')
    >>> asked_measure("who started maple & moss?"), asked_measure("What year did Maple & Moss start trading?")
    ('founder', 'year')
    >>> asked_measure("毛巾是多少克重的"), asked_measure("铸铁锅多重")
    ('weight', 'weight')
    >>> asked_measure("how many litres does the kettle hold?"), asked_measure("Are your products made in the UK?")
    ('size', 'origin')
    >>> asked_measure("where are your own-brand pans manufactured"), asked_measure("where do you ship from?")
    ('origin', '')
    >>> asked_measure("how many characters can the gift message be?"), asked_measure("how many times can I exchange it?")
    ('count:charact', '')
    >>> asked_measure("What's Maple & Moss Ltd's company registration number?"), asked_measure("what's your phone number")
    ('registration', '')
    >>> asked_measure("When does the summer sale end?"), asked_measure("when does the winter sale start"), asked_measure("when is your next sale")
    ('date:end', 'date', 'date')
    >>> asked_measure("is there a fee for paying with paypal?"), asked_measure("is there a way to pay later?")
    ('price', '')
    >>> asked_measure("夏季促销一般到什么时候结束"), asked_measure("水壶电压多少"), asked_measure("床单是多少支的棉")
    ('date:end', 'electrics', 'thread count')
    >>> asked_measure("what's the last day I can order for delivery before christmas?"), asked_measure("what's the last day I can return it?")
    ('date', '')
    >>> asked_measure("what colours does the duvet cover come in?"), asked_measure("can I exchange it for another colour?")
    ('colour', '')
    """
    kind = next((kind for kind, (asks, _) in _MEASURES.items() if asks.search(question)), "")
    counted = _HOW_MANY.search(question)
    if kind or counted is None or counted.group(1).split()[0].lower() in _NOT_COUNTED:
        return kind
    return "count:" + " ".join(stem for word in counted.group(1).split() if (stem := _stem(word)))


def states_measure(text: str, kind: str) -> bool:
    """Whether `text` states a measure of `kind` (one of `asked_measure`'s kinds).

    >>> states_measure("Bulky items over 20 kg go by DPD.", "weight"), states_measure("Cast iron is pre-seasoned.", "weight")
    (True, False)
    >>> states_measure("Returns are free for faulty items.", "price"), states_measure("Returns take 5 days.", "price")
    (True, False)
    >>> states_measure("We do not charge sales tax on orders to Oregon.", "price")
    True
    >>> states_measure("Founded in 2009.", "year"), states_measure("Renters must be at least 18 years old.", "year")
    (True, False)
    >>> states_measure("Our linen is woven in Portugal.", "origin"), states_measure("Refunds are made in pounds sterling.", "origin")
    (True, False)
    >>> states_measure("Gift messages can be up to 200 characters long.", "count:charact"), states_measure("Add a gift message.", "count:charact")
    (True, False)
    >>> states_measure("Oak members need 1,500 points a year.", "count:moss point"), states_measure("Make as many as you need.", "count:site")
    (True, True)
    >>> states_measure("Every 100 points gives a £5 reward voucher.", "count:reward voucher")  # a price, not a count
    False
    >>> states_measure("You must be 18 or over to buy knives.", "age"), states_measure("Accounts are free to create.", "age")
    (True, False)
    >>> states_measure("Maple & Moss Ltd is registered in England, company number 09876543.", "registration")
    True
    >>> states_measure("Maple & Moss Ltd, Unit 4 Kirkstall Works, Leeds LS5 3AB.", "registration")
    False
    >>> states_measure("A summer sale usually starts in late June.", "date:end"), states_measure("It runs until 31 January.", "date:end")
    (False, True)
    >>> states_measure("夏季促销通常在6月下旬开始。", "date:end"), states_measure("冬季促销持续到1月31日。", "date:end")
    (False, True)
    >>> states_measure("需要20W及以上的充电头。", "electrics"), states_measure("A 1.7 litre kettle, 3kW.", "electrics")
    (True, True)
    """
    if kind.startswith("count:"):
        counted = set(kind[6:].split())
        return _NO_LIMIT.search(text) is not None or any(
            counted & {_stem(word) for word in found.group(1).split()} for found in _COUNT.finditer(text))
    return _MEASURES[kind][1].search(text) is not None


def _stem(word: str) -> str:
    return next(iter(content_words(word)), "")
