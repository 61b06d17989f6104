"""Questions how to care for a thing, or whether it can go in an appliance: "are your stoneware
plates dishwasher safe?" is answered by a sentence that speaks of the dishwasher and of the plates,
not by the non-stick pans' "dishwasher safe", however close its words."""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatbot.text.words import chinese_clauses, content_words

_THE = r"(?:(?:the|your|ur|my|our|a|an|these|those|this|that|some|one\s+of\s+(?:your|the|my))\s+)?"
_ITEM = r"(?P<item>(?:[\w'-]+\s+){0,4}?[\w'-]+)"
# Where a thing's name ends: the question's end, or a word that begins what is said of it.
_ITEM_ENDS = r"(?=\s*(?:[?.!,;:]|$|\s+(?:and|or|so|but|if|without|after|before|when|because|since|as|to|in|at|on|with|from)\b))"
_APPLIANCE = (r"(?P<care>dish\s?washers?|microwaves?|ovens?|washing\s+machines?|tumble\s*dryers?|dryers?|freezers?|fridges?"
              r"|induction(?:\s+hobs?)?|hobs?|grills?|air\s*fryers?)")
_CARE_VERB = (r"(?P<care>clean|wash|care\s+for|look\s+after|dry|store|maintain|descale|season|re-season|oil|polish|sharpen"
              r"|hoover|vacuum|bleach|tumble\s+dry|machine\s+wash|steam)")
_ASKING = [
    # "are your stoneware plates dishwasher safe?", "is the throw machine washable?"
    re.compile(r"\b(?:is|are)\s+" + _THE + _ITEM + r"\s+(?P<care>dish\s?washer|microwave|oven|machine|freezer|tumble\s*dryer"
               r"|induction|hob)[\s-]*(?:safe|proof|washable|friendly|compatible|ok|okay|suitable)\b", re.IGNORECASE),
    # "are the non-stick pans ok in the dishwasher?", "are your cast iron pans suitable for induction hobs?"
    re.compile(r"\b(?:is|are)\s+" + _THE + _ITEM + r"\s+(?:ok|okay|fine|safe|alright|suitable|good)\s+(?:to\s+\w+\s+)?"
               r"(?:in|on|with|for|under)\s+" + _THE + _APPLIANCE, re.IGNORECASE),
    # "can i put the wool throw in the washing machine?"
    re.compile(r"\b(?:can|could|should|do|may)\s+(?:i|you|u|we)\s+(?:put|use|wash|clean|cook|bake|heat|place|run|stick|pop|chuck)\s+"
               + _THE + _ITEM + r"\s+(?:in|on|into|under|through)\s+" + _THE + _APPLIANCE, re.IGNORECASE),
    # "can the casserole dish go in the oven?", "will the skillet work on an induction hob?"
    re.compile(r"\b(?:can|could|will|would|does|do|should)\s+" + _THE + _ITEM + r"\s+(?:go|be\s+(?:put|used|washed|cleaned|heated|placed)"
               r"|survive|handle|work)\s+(?:in|on|into|under|with)\s+" + _THE + _APPLIANCE, re.IGNORECASE),
    # "how do I clean the jute rug?", "how should I wash linen sheets"
    re.compile(r"\bhow\s+(?:do|should|can|could|would|to|best\s+to)\s+(?:(?:i|you|we)\s+)?(?:best\s+)?" + _CARE_VERB + r"\s+"
               + _THE + _ITEM + _ITEM_ENDS, re.IGNORECASE),
    # "what temperature should I wash linen sheets at?"
    re.compile(r"\b(?:what|which)\s+(?:temperature|temp|setting|cycle|programme|program)\s+(?:should|do|can|to)\s+(?:(?:i|you|we)\s+)?"
               r"(?P<care>wash|dry|clean)\s+" + _THE + _ITEM + _ITEM_ENDS, re.IGNORECASE),
    # "what's the max oven temperature for your frying pans?"
    re.compile(r"\b(?P<care>oven|dishwasher|microwave|washing)\s+(?:temperature|temp|setting|cycle)\s+(?:for|of)\s+" + _THE + _ITEM
               + _ITEM_ENDS, re.IGNORECASE),
]
# What a sentence that answers says, by the care asked about (its stems): "how do I clean ..." is
# answered by a sentence on washing or scrubbing it too.
_SAID_AS = {
    "clean": "clean wash scrub wipe", "wash": "wash washable", "machine": "wash washable", "washing": "wash washable",
    "washing machine": "wash washable", "machine wash": "wash washable", "care for": "care clean wash",
    "look after": "care clean wash", "maintain": "care clean wash", "dry": "dry tumble", "tumble dry": "tumble",
    "tumble dryer": "tumble", "dryer": "tumble dry", "induction": "induction hob", "hob": "induction hob",
    "induction hob": "induction hob", "re-season": "season", "hoover": "hoover vacuum", "vacuum": "hoover vacuum",
}
# Words of a thing's name that do not say which thing it is.
_NOT_THE_THING = frozenset(content_words("new old big small large little whole set one ones thing things stuff item items "
                                         "kind kinds type types sort colour color brand"))


@dataclass(frozen=True)
class CareQuestion:
    """What a care question asks about: the stems a sentence answering it says (`care`), and the
    stems of the thing it is about (`thing`, empty for "it")."""

    care: frozenset[str]
    thing: frozenset[str]


def asked_care(question: str) -> CareQuestion | None:
    """The care a question asks about and the thing it asks it of; None for any other question.

    >>> asked = asked_care("are your stoneware dinner plates dishwasher safe?")
    >>> sorted(asked.care), sorted(asked.thing)
    (['dishwash'], ['dinner', 'plate', 'stonewar'])
    >>> sorted(asked_care("how do I clean the jute rug? can it be hoovered?").thing), asked_care("how long do refunds take?")
    (['jute', 'rug'], None)
    >>> sorted(asked_care("can i put my wool throw in the washing machine").care)
    ['wash', 'washabl']
    """
    for pattern in _ASKING:
        found = pattern.search(question)
        if found is not None:
            care = re.sub(r"\s+", " ", found.group("care").lower()).rstrip("s").replace("dish washer", "dishwasher")
            return CareQuestion(content_words(_SAID_AS.get(care, care)), content_words(found.group("item")) - _NOT_THE_THING)
    return None


# The same in Chinese, for the appliances: "不锈钢锅能放进洗碗机洗吗" asks it of 不锈钢锅; each name of an
# appliance with the words a page may use for it.
_APPLIANCES_ZH = {"洗碗机": ("洗碗机",), "微波炉": ("微波炉",), "烤箱": ("烤箱",), "电磁炉": ("电磁炉",), "洗衣机": ("洗衣机", "机洗"),
                  "机洗": ("洗衣机", "机洗"), "烘干": ("烘干",), "冰箱": ("冰箱",), "冷冻": ("冷冻",)}
_APPLIANCE_ZH = re.compile("|".join(_APPLIANCES_ZH))
# Where the thing's name ends: the verb or modal after it ("能", "可以", "放进" ...).
_THING_ZH_ENDS = re.compile(r"(?:能不能|可不可以|可以|能否|能|可|适合|适用|放|进|扔|用|在|上|用于|咋|怎么|如何)")
_OWNER_ZH = re.compile(r"^(?:你们家的|你们的|你家的|你们家|我的|我家的|这个|那个|这款|那款|这种)")


@dataclass(frozen=True)
class CareQuestionZh:
    """What a Chinese appliance question asks about: the words a page may use for the appliance,
    and the thing's name."""

    care: tuple[str, ...]
    thing: str


def asked_care_zh(question: str) -> CareQuestionZh | None:
    """The appliance a Chinese question asks about and the thing it asks it of; None for any other.

    >>> asked_care_zh("不锈钢锅能放进洗碗机洗吗？")
    CareQuestionZh(care=('洗碗机',), thing='不锈钢锅')
    >>> asked_care_zh("你们家的不粘锅能放洗碗机洗吗"), asked_care_zh("地毯脏了能机洗吗")
    (CareQuestionZh(care=('洗碗机',), thing='不粘锅'), CareQuestionZh(care=('洗衣机', '机洗'), thing='地毯脏了'))
    >>> asked_care_zh("刀具咋保养 能进洗碗机不").thing, asked_care_zh("退货要多久？") is None
    ('刀具', True)
    """
    earlier = ""
    for clause in chinese_clauses(question):
        appliance = _APPLIANCE_ZH.search(clause)
        if appliance is None:
            earlier = clause
            continue
        # "刀具咋保养 能进洗碗机不": the thing is named in the clause before
        thing = _thing_zh(clause[: appliance.start()]) or _thing_zh(earlier)
        return CareQuestionZh(_APPLIANCES_ZH[appliance.group()], thing)
    return None


def _thing_zh(text: str) -> str:
    end = _THING_ZH_ENDS.search(text)
    return _OWNER_ZH.sub("", text[: end.start()] if end else text)
