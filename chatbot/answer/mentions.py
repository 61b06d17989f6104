"""Whether a question asks for something the pages never mention: "do you sell dog beds?" on pages
that never name a dog is not answered by the nearest page about bedding, however close it scores."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from functools import cache, cached_property
from itertools import pairwise
from typing import TYPE_CHECKING

from chatbot.knowledge.embedding import Embedder
from chatbot.text.care import asked_care, asked_care_zh
from chatbot.text.colloquial import formal_words, with_formal_words
from chatbot.text.places import scopes
from chatbot.text.spelling import Spelling, is_english
from chatbot.text.topics import TOPICS, asked_topics, says_topic
from chatbot.text.words import CHINESE_STOPWORDS, chinese_clauses, content_words, has_han, is_stopword, passage_sentences
from chatbot.values import Passage

if TYPE_CHECKING:
    import numpy as np

# A question whether the shop has, sells or does something ("do you sell dog beds?"), what a thing
# of theirs is ("what tog is your duvet?") or whether it has or works with something ("does the
# duvet cover come in super king?"): the group `asked` is what it asks for.
_OPENING = r"^\W*(?:(?:ok(?:ay)?|and|so|also|hi|hey|hello|please|pls)\W+)*"
# what a question asks of: one of the shop's things, or a name ("Glow Club", "DPD"; not "I", nor a code: "WELCOME10")
_THING = r"(?:the|your|ur|my|it|they|this|that|these|those|(?-i:[A-Z][A-Za-z'-]+(?:\s+(?:&\s+)?[A-Z][A-Za-z'-]+){0,2}))\b"
# "do you charge a surcharge for Amex?": a charge by its name, which pages that make it write
_CHARGED = re.compile(_OPENING + r"(?:do|does|will|would)\s+(?:you|u|ya|it|they)\s+charge\s+(?:me\s+|us\s+)?(?:a\s+|an\s+|any\s+)?"
                      r"(?P<verb>[a-z][a-z-]+)", re.IGNORECASE)
# "how many points do I get if I refer a friend?": a reward for an act the pages name if they reward it
_REWARDED = re.compile(r"\b(?:get|earn|receive|win|bonus|rewards?|points|credit|discount|perks?)\b.*\b(?:if\s+(?:i|we)\s+"
                       r"|for\s+(?:writing\s+|leaving\s+|posting\s+|doing\s+)?(?:a\s+|an\s+)?(?:product\s+)?)"
                       r"(?P<verb>refer|recommend|introduce|nominate|review)(?:s|ing|ring)?\b",
                       re.IGNORECASE | re.DOTALL)
# "how do I apply for a job at your warehouse?": what one applies for
_APPLY = re.compile(_OPENING + r"(?:how\s+(?:do|can|could|would|should)\s+(?:i|we)|(?:can|could)\s+(?:i|we))\s+apply\s+(?:for|to)\s+"
                    r"(?P<asked>(?:(?!(?:at|in|with|for|from|on)\b)[\w-]+\s*){1,3})", re.IGNORECASE)
# "do you sponsor trail races?", "can I trade in my old tent?": a service asked for by its verb,
# which the pages name if they offer it.
_SERVICE = re.compile(
    _OPENING + r"(?:(?:do|does|can|could|will|would)\s+(?:you|u|ya|the\s+(?:[\w-]+\s+){0,3}?(?:team|driver|drivers|courier|couriers))"
    r"|(?:can|could)\s+(?:i|we))\s+"
    r"(?:guys\s+|also\s+|still\s+|even\s+|ever\s+)?"
    r"(?P<asked>(?P<verb>sponsor|donate|engrave|personali[sz]e|monogram|assemble|install|recycle|trade"
    r"|buy\s+back|lend|loan|gift[- ]wrap|resend|re-send|reissue|re-issue|refer|pre-?order)\b.*)",
    re.IGNORECASE | re.DOTALL,
)
# A service asked for by a verb the pages must write, whatever it is done to ("can I pause my plan
# over the winter?"): the verb alone is asked for.
_SERVICE_VERB = re.compile(
    _OPENING + r"(?:(?:do|does|can|could|will|would)\s+(?:you|u|ya)|(?:can|could)\s+(?:i|we))\s+(?:guys\s+|also\s+|still\s+|even\s+)?"
    r"(?P<verb>pause|suspend|freeze|rent|hire|organi[sz]e|host)\b",
    re.IGNORECASE,
)
_ASKING = [
    _SERVICE,
    re.compile(
        _OPENING + r"(?:(?:do|does|can|could|will|would)\s+(?:you|u|ya)\s+(?:guys\s+|also\s+|still\s+|even\s+|ever\s+|actually\s+|currently\s+|now\s+)?"
        r"(?:sell|offer|have|do|stock|make|carry|provide|run|support|accept|take|give|use"
        # "do you send out fabric swatches?", not "can you send a rug to France?", which asks where
        r"|(?:send|post)(?:\s+out)?(?![^?.!]*\bto\b))"
        r"|(?:is|are)\s+there"
        r"|(?:can|could)\s+i\s+(?:get|buy|order|have|use|pay\s+(?:with|by|for)|stock|sell|resell)"
        r"|do\s+i\s+get)\b(?P<asked>.*)",
        re.IGNORECASE | re.DOTALL,
    ),
    # "can I set up a wedding gift list with you?": a thing asked into being, up to a preposition (not
    # "can I exchange a jumper?", where the thing is any item and the action is what is asked).
    re.compile(_OPENING + r"(?:(?:can|could)\s+(?:i|we)|how\s+much\s+(?:extra\s+|more\s+)?(?:is\s+it|does\s+it\s+cost|would\s+it\s+cost)\s+to)"
               r"\s+(?:set\s+up|book|arrange|reserve|request|open|create|join|hire|rent|choose|pick|schedule|add)"
               r"\s+(?P<asked>(?:(?!(?:to|in|at|for|from|with|on|by|into|after|before|within|it|them|this|that)\b)[\w-]+\s*)+)",
               re.IGNORECASE),
    re.compile(_OPENING + r"what\s+(?P<asked>(?:[\w-]+\s+){0,2}?[\w-]+)\s+(?:is|are)\s+" + _THING, re.IGNORECASE),
    # "what tog ratings do your duvets come in?"
    re.compile(_OPENING + r"what\s+(?P<asked>(?:[\w-]+\s+){0,2}?[\w-]+)\s+(?:do|does)\s+" + _THING + r"(?:\s+[\w-]+){1,4}?\s+come\s+in\b",
               re.IGNORECASE),
    # "are you hiring?", "how do I apply for a job at your warehouse?"
    re.compile(_OPENING + r"(?:are|is)\s+(?:you|u|ya|they|we|it|[\w&-]+(?:\s+[\w&-]+)?)\s+(?:guys\s+|currently\s+|still\s+|now\s+)?"
               r"(?P<asked>hiring|recruiting)\b", re.IGNORECASE),
    # "is Trailhead Outfitters on Instagram?", "are you on tiktok"
    re.compile(_OPENING + r"(?i:are|is)\s+(?i:you|u|ya|you\s+guys|[A-Z][\w&'-]*(?:\s+(?:&\s+)?[A-Z][\w&'-]*){0,2})\s+(?i:also\s+|still\s+)?(?i:on)\s+"
               r"(?P<asked>[\w-]+)\s*\??\s*$"),
    _APPLY,
    re.compile(
        _OPENING + r"(?:does|do|will|would|can|is|are)\s+" + _THING + r"(?:\s+[\w-]+){0,4}?\s+"
        r"(?:have|has|contain|contains|come\s+(?:in|with)|comes\s+(?:in|with)|work\s+(?:on|with|in)|works\s+(?:on|with|in)|close\s+with"
        r"|closes\s+with|fit|fits|use|uses|need|needs)\b(?P<asked>.*)",
        re.IGNORECASE | re.DOTALL,
    ),
    re.compile(_OPENING + r"(?:is|are)\s+" + _THING + r"(?:\s+(?!(?:if|when|because|since)\b)[\w-]+)+?\s+(?P<asked>[\w-]+(?:\s+[\w-]+)?)"
               r"(?:\s*\??\s*$|\s+(?:if|when|because|since)\b)", re.IGNORECASE),
]
# (and where a second thing is done: "use my code on sale stuff and also stack it with ...")
_ASKED_ENDS = re.compile(r"[?.!,;:]|\s+(?:if|when|because|since|as)\s+|\s+and\s+(?:also|then)\s+", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]")
_OWNER = re.compile(r"(?<=s)['’](?!\w)")  # "customers' data", "kids' bedding": whose, not one thing with what follows
# Where a message's questions begin: "where is the linen from, is it european flax?" asks the second too.
_CLAUSE = re.compile(r"(?<=[?.!,;])\s+|\s+[-–—]\s+")
_WITH = re.compile(r"(?<!\w)w/(?!o\b)|(?<=\s)w(?=\s+[a-z])", re.IGNORECASE)  # "w/ paypal", "w affirm"
_SLASH = re.compile(r"\s+/\s+|(?<=\w\w)/(?=\w)")  # "plastic free / recyclable": either asked (not "w/ paypal")
# "do I get the delivery money back?": a refund asked about, not a thing the shop has
_GOT_BACK = re.compile(r"\b(?:do|can|will|would|could|shall)\s+(?:i|we)\s+get\b[^?.!]*\bmoney\s+back\b", re.IGNORECASE)
_MAY_I = re.compile(r"\bis\s+it\s+(?:possible|ok|okay|allowed)\b", re.IGNORECASE)
# "is it normal for new towels to shed fluff?": whether something is as it should be, not whether the shop has it.
_JUDGING = re.compile(r"^\W*(?:is|are)\s+(?:it|this|that)\s+(?:normal|usual|common|expected|true)\b",
                      re.IGNORECASE)
# Words too general to be a thing or to make one with their neighbour ("send things", "using another").
_GENERIC = frozenset("thing things stuff something anything everything another other one ones using use get "
                     # sizes and praise: "big wool rugs" asks for wool rugs
                     "big bigger huge large larger small smaller tiny little new old good nice great lovely".split())
NEAR_WORDS = 5  # a thing's two words, as the pages put them together: "gift cards", not "wrap, ..., gift cards"
_ADVERBS = frozenset("back away instead rather out off up down again too either".split())
# Who a thing is for or sent to ("sent to my mum's", "a gift for my wife"): people, not things a shop has.
_PEOPLE = frozenset("mum mums mom moms mam dad dads parents sister sisters brother brothers friend friends wife husband "
                    "partner son daughter grandma gran nan grandad aunt uncle cousin boyfriend girlfriend neighbour "
                    "neighbours neighbor neighbors colleague".split())  # not "kids": "kids' bedding" is a thing
# A name's thing ("a Maple & Moss app"), not a name and what happens to it ("Subscribe & Save delivered").
_NAME_OF_THING = re.compile(r"^[A-Z][\w&'-]* [a-z][a-z-]*(?<!ed)(?<!ing)$")
_NOT_THINGS = _ADVERBS | _GENERIC | _PEOPLE  # never asked for, and no page word a missing one is likened to
_ACRONYM = re.compile(r"^[A-Z]{2,6}s?$")  # "PTFE", "GSM", "NHS": terms, not names
# A term in capitals anywhere in a question ("is the coating PFAS free?", "do NHS staff get a
# discount?"), three letters at least: two may be a country's code ("NL").
_TERM = re.compile(r"(?<![\w.])([A-Z]{3,6})s?(?![\w.])")
# A name after these is a place, which the pages may call by its region ("to Hungary": "the EU");
# any other name is a thing the shop has or not ("an Instagram", "Venmo", "an iPhone app").
_TO_A_PLACE = frozenset("to in from at near into within around across outside".split())


# "can I place an order over the phone?": a way to order, which pages that offer it name with the order.
_CHANNEL = r"(?P<channel>phone|telephone|e-?mail|post|mail|whatsapp|text|sms|instagram|facebook|live\s+chat)"
_ORDER_BY_ASKED = (
    re.compile(r"^\W*(?:(?:can|could|may)\s+(?:i|we)|is\s+it\s+possible\s+to)\s+"
               r"(?:(?:place|make|put\s+in)\s+(?:an?\s+|my\s+|the\s+)?orders?|order|buy|shop|purchase)\b"
               r"(?:\s+[\w'-]+){0,3}?\s+(?:over|by|via|through|on)\s+(?:the\s+)?" + _CHANNEL + r"\b", re.IGNORECASE),
    re.compile(r"^\W*do\s+you\s+(?:take|accept)\s+" + _CHANNEL + r"\s+orders\b", re.IGNORECASE),
    # paying over the phone, a call (not "pay by phone", which may be Apple Pay)
    re.compile(r"^\W*(?:(?:can|could|may)\s+(?:i|we)|is\s+it\s+possible\s+to)\s+pay\b(?:\s+[\w'-]+){0,4}?\s+over\s+the\s+"
               r"(?P<channel>phone|telephone)\b", re.IGNORECASE),
)
_ORDER_BY_SAID = (r"\b(?:order|buy|shop|purchase|pay)\w*(?:\s+[\w'-]+){{0,3}}?\s+(?:over|by|via|through|on)\s+(?:the\s+)?{channel}\b",
                  r"\b{channel}\s+orders\b", r"\b{channel}\s+us\s+to\s+(?:place\s+)?(?:an?\s+|your\s+)?order")

# A Chinese question whether the shop has, sells or offers something: "你们卖沙发吗", "有学生优惠吗";
# `asked` is the thing, after the verb (the subject before it, "新用户有优惠吗", is who asks).
_ASKING_ZH = re.compile(r"(?:有没有|有|卖不卖|卖|提供|支持|接受|(?:花钱|付费|加钱|可以|能)购?买)(?P<asked>[^，。？！?,!；;\s]{1,12}?)(?:的)?(?:吗|么|嘛|不|没|没有)[？?]?$")
# "能帮忙做礼品包装吗", "可以帮忙安装吗": a service, asked for by its name, which pages that offer it write.
_SERVICE_ZH = re.compile(r"(?:能|可以|能不能|可不可以|会|能否)(?:顺便|免费|帮忙|帮我|帮|给我|给|拿来|拿去|参加|参与|申请|办理|花钱|付费|加钱|加个|加上|加)*"
                         r"(?:做|提供|进行)?(?P<asked>礼品包装|安装|组装|回收|刻字|雕刻|上门取件|以旧换新|合并|转让|转赠|暂停|冻结|租赁|出租|预约|拆分|拆开"
                         r"|分装|加急|延保|延长保修)")
# "有没有额外优惠？", "涂层含不含特氟龙"
_ASKING_ZH_OPEN = re.compile(r"(?:有没有|有无|卖不卖|含不含|含没含)(?P<asked>[^，。？！?,!；;\s]{1,12}?)[？?]?$")
_ASKED_ZH_ENDS = re.compile(r"(?:可以|能|可|要|是|在|的|呢|啊|吧)$")


def asked_for_zh(question: str) -> list[str]:
    """The Chinese words of what an existence question asks for, after its verb, or the service
    it asks to be done.

    >>> asked_for_zh("你们卖沙发吗？"), asked_for_zh("你们有学生优惠吗"), asked_for_zh("退货要多久？")
    (['沙发'], ['学生', '优惠'], [])
    >>> asked_for_zh("你们有手机app吗"), asked_for_zh("能帮忙做礼品包装吗？要加钱吗？")
    (['手机', 'app'], ['礼品包装'])
    >>> asked_for_zh("不粘锅的涂层含不含特氟龙"), asked_for_zh("能额外花钱买延长保修吗")
    (['特氟龙'], ['延长', '保修'])
    """
    words: list[str] = []
    for clause in chinese_clauses(question):
        words += [found.group("asked") for found in _SERVICE_ZH.finditer(clause)]
        words += [word for thing in _asked_things_zh(clause) for word in _thing_words_zh(thing)]
    return words


def asked_pairs_zh(question: str) -> list[str]:
    """The things of two or more words a Chinese existence question asks for ("学生优惠", "手机app"),
    which pages that have them write together.

    >>> asked_pairs_zh("你们有学生优惠吗"), asked_pairs_zh("你们卖沙发吗"), asked_pairs_zh("有婚礼礼品清单服务吗")
    (['学生优惠'], [], [])
    >>> asked_pairs_zh("在App上下单有没有额外优惠？")
    ['额外优惠']
    """
    return [thing for clause in chinese_clauses(question) for thing in _asked_things_zh(clause)
            if len(thing) <= 6 and len(_thing_words_zh(thing)) >= 2]


def _asked_things_zh(clause: str) -> list[str]:
    found = _ASKING_ZH.search(clause) or _ASKING_ZH_OPEN.search(clause)
    return [_ASKED_ZH_ENDS.sub("", found.group("asked"))] if found is not None else []


def _thing_words_zh(thing: str) -> list[str]:
    """The words of a Chinese thing; a character the segmenter leaves alone after a word is part
    of it: "运费险" is no "运费".

    >>> _thing_words_zh("运费险"), _thing_words_zh("学生优惠")
    (['运费险'], ['学生', '优惠'])
    """
    import rjieba

    words: list[str] = []
    for piece in rjieba.cut(thing):
        if len(piece) > 1 and (has_han(piece) or piece.isascii() and piece.isalpha()) and piece not in CHINESE_STOPWORDS:
            words.append(piece)
        elif len(piece) == 1 and has_han(piece) and piece not in CHINESE_STOPWORDS and words and words[-1] + piece in thing:
            words[-1] += piece
    return words


def asked_for(question: str) -> list[str]:
    """The words of what an existence question asks for, as written, that could be missing from
    the pages: not stopwords, short words or contractions, and not a place's name (a capitalised
    word after "to", "in" ...: "Hungary" may be in "the EU", which the pages do say). Each clause
    of the message may ask.

    >>> asked_for("do you sell dog beds?"), asked_for("Do you ship to Hungary?"), asked_for("how do I return it")
    (['dog', 'beds'], [], [])
    >>> asked_for("can I use Klarna if I'm in Ireland?"), asked_for("is there a whatsapp number too")
    (['Klarna'], ['whatsapp', 'number'])
    >>> asked_for("do you have an Instagram page?"), asked_for("can I pay from Germany?")
    (['Instagram', 'page'], [])
    >>> asked_for("can i get a bed frame delivered to cork?"), asked_for("can i get it sent to my mums in belfast?")
    (['bed', 'frame', 'delivered'], ['sent'])
    >>> asked_for("what tog is your all-season duvet?"), asked_for("does the linen duvet cover come in super king")
    (['tog'], ['super', 'king'])
    >>> asked_for("where is the linen from, is it european flax"), asked_for("does your pan contain PTFE?")
    (['flax'], ['PTFE'])
    >>> asked_for("are you hiring at the leeds warehouse?"), asked_for("How do I apply for a job at your warehouse?")
    (['hiring'], ['job'])
    """
    return [word for span in _asked_spans(question) for word in span if word]


def asked_services(question: str) -> list[str]:
    """The services a question asks for by their verbs, and what it asks to apply for.

    >>> asked_services("Can I trade in my old tent for store credit?"), asked_services("do you gift wrap?")
    (['trade'], ['gift wrap'])
    >>> asked_services("do you sell tents?"), asked_services("how do I apply for a job at your warehouse?")
    ([], ['job'])
    """
    clauses = _CLAUSE.split(question)
    verbs = [" ".join(match.group("verb").lower().split()) for clause in clauses
             if (match := _SERVICE.match(clause) or _SERVICE_VERB.match(clause) or _REWARDED.search(clause))]
    verbs += [charge for clause in clauses if (match := _CHARGED.match(clause))
              and not is_stopword(charge := match.group("verb").lower()) and charge not in _NOT_THINGS]
    # "how do I apply for a job?": what one applies for, which the pages name if one can
    applied = [word for clause in clauses if (match := _APPLY.match(clause))
               for word in _WORD.findall(match.group("asked")) if not is_stopword(word.lower())]
    return verbs + applied


def asked_pairs(question: str) -> list[tuple[str, str]]:
    """Neighbouring words of what an existence question asks for, as a thing of two words
    ("gift wrapping", "extended warranty", a name's "Moss app"); adverbs and numbers are not part
    of a thing.

    >>> asked_pairs("do you offer gift wrapping on orders?"), asked_pairs("can I get my money back?")
    ([('gift', 'wrapping')], [])
    >>> asked_pairs("is there a fee to send things back?"), asked_pairs("can I buy a gift card using another gift card?")
    ([], [('gift', 'card'), ('gift', 'card')])
    >>> asked_pairs("can I get Subscribe & Save delivered?"), asked_pairs("do you take Apple Pay")
    ([('Subscribe', 'Save')], [('Apple', 'Pay')])
    >>> asked_pairs("can i pay for my autoship w/ paypal?"), asked_pairs("is there a Maple & Moss app?")
    ([], [('Maple', 'Moss'), ('Moss', 'app')])
    >>> asked_pairs("can i pay the rest w affirm?"), asked_pairs("do I get the delivery money back?")
    ([], [])
    >>> asked_pairs("do you sell customers' personal data?")
    [('personal', 'data')]
    """
    if _MAY_I.search(question):  # "is it possible to use the free profile?": what to do, not a thing to have
        return []
    pairs = []
    for span in _asked_spans(question):
        # a name and a word beside it are two things ("Subscribe & Save delivered"), a name of two words one
        pairs += [(a, b) for a, b in pairwise(span) if a and b and (a.islower() == b.islower() or _NAME_OF_THING.match(f"{a} {b}"))]
    return pairs


def _asked_spans(question: str) -> list[list[str]]:
    """The words of each clause's asked-for span, "" in place of a word that cannot be missing
    (a stopword, a name, a contraction, an adverb or a number)."""
    spans = []
    for clause in _CLAUSE.split(_SLASH.sub(" or ", question)):
        found = next((match for pattern in _ASKING if (match := pattern.match(clause))), None)
        if found is not None and not _JUDGING.match(clause) and not _GOT_BACK.search(clause):
            asked = _ASKED_ENDS.split(found.group("asked"), maxsplit=1)[0]
            asked = _WITH.sub(" with ", asked)  # "my autoship w/ paypal": two things, not one
            found_words = list(_WORD.finditer(asked))
            words = [word.group() for word in found_words]
            before = ["", *(word.lower() for word in words)]
            span = [word if (word.islower() or _ACRONYM.match(word) or before[i] not in _TO_A_PLACE)
                    and not scopes(word)  # "to cork", "work in Ireland": a place, which the pages speak of by its region
                    and "'" not in word and "’" not in word
                    and not is_stopword(word.lower()) and word.lower() not in _NOT_THINGS
                    and not all(w.isdigit() for w in content_words(word)) else ""
                    for i, word in enumerate(words)]
            owners = {match.start() for match in _OWNER.finditer(asked)}
            # an owner is asked for, but is no thing with the word after it
            spans.append([piece for word, written in zip(span, found_words)
                          for piece in ([word, ""] if written.end() in owners else [word])])
    return spans


def _titled(question: str) -> bool:
    """Whether most of a question's words are capitalised ("Do You Sell Dog Beds?"): its capitals name nothing."""
    words = _WORD.findall(question)
    return sum(word[0].isupper() for word in words) > len(words) / 2


def named_in(question: str, passage: Passage) -> bool:
    """Whether `passage` names every word an existence question asks for ("bitcoin" in "... or
    cryptocurrency such as Bitcoin"); False for any other question.

    >>> page = Passage("p", "payments", "Payments", "We do not accept cryptocurrency such as Bitcoin.", "p.md")
    >>> named_in("do u take bitcoin", page), named_in("do you take amex", page), named_in("bitcoin?", page)
    (True, False, False)
    >>> named_in("do you take amex", Passage("p", "payments", "Payments", "We accept Visa and American Express.", "p.md"))
    True
    """
    asked = asked_for(question)
    said = content_words(passage.indexed_text)
    # or by the pages' words for it: "amex" is "American Express"
    return bool(asked) and all(content_words(word) <= said or (formal := formal_words(word)) != "" and content_words(formal) <= said
                               for word in asked)


class Mentions:
    """The words the pages use (stemmed, and as written for the embedder), to tell whether a
    question's asked-for words are among them or near one of them ("amex" is near "American
    Express"'s words, "whatsapp" is near none of a shop's that does not use it).

    The written words' vectors are embedded by `prepare`, or else at the first question that needs
    them (a second or two for a few thousand words)."""

    def __init__(self, texts: Iterable[str], embedder: Embedder, min_similarity: float) -> None:
        self.embedder = embedder
        self.min_similarity = min_similarity
        said: set[str] = set()
        # Each stem's neighbours: the stems at most NEAR_WORDS content words from it in a sentence.
        self.near: dict[str, set[str]] = {}
        written: set[str] = set()
        texts_kept = list(texts)
        # Each passage's sentences' stems, and all of them: where the pages say how to care for a thing.
        self.passages: list[tuple[frozenset[str], list[frozenset[str]]]] = []
        for text in texts_kept:
            said |= content_words(text)
            sentences = passage_sentences(text)
            sentence_stems = [content_words(sentence) for sentence in sentences]
            self.passages.append((frozenset().union(*sentence_stems), sentence_stems))
            for sentence in sentences:
                stems = [stem for word in re.findall(r"[a-z]+", sentence.lower()) if (stem := _stem(word))]
                for i, stem in enumerate(stems):
                    for other in stems[i + 1 : i + 1 + NEAR_WORDS]:
                        self.near.setdefault(stem, set()).add(other)
                        self.near.setdefault(other, set()).add(stem)
            # a thing's word, for likeness: not "away", which "layaway" is close to and no thing
            written.update(w.lower() for w in _WORD.findall(text)
                           if not is_stopword(w.lower()) and w.lower() not in _NOT_THINGS)
        self.stems = frozenset(said)
        self.text = "\n".join(texts_kept)
        self.spelling = Spelling(texts_kept)  # "rtack my order": the pages' "track"
        self.written = sorted(written)
        self.chinese_passages = [text for text in texts_kept if has_han(text)]
        self.chinese = "".join(self.chinese_passages)
        self._vectors: np.ndarray | None = None
        self._lock = threading.Lock()

    def prepare(self) -> np.ndarray:
        """The pages' words' vectors, embedded now if they were not yet, and the English word list
        read (the web app does it at start-up, so no shopper waits for either)."""
        self.spelling.prepare()
        with self._lock:
            if self._vectors is None:
                self._vectors = self.embedder.embed(self.written)
            return self._vectors

    def unmentioned(self, question: str) -> list[str]:
        """The words an existence question asks for that neither the pages nor a word near one of
        theirs (cosine >= `min_similarity`) say, or else its two-word things ("extended
        warranty") whose words no sentence of the pages puts within `NEAR_WORDS` of each other;
        [] for any other question. A service asked for by its verb ("can I trade in my tent?") must
        be the pages' own word: a near one ("exchanged") is another service."""
        missing = [word for word in asked_for(question) if not content_words(word) <= self.stems]
        services = [verb for verb in asked_services(question) if not content_words(verb) <= self.stems or not self._written(verb)]
        if services:
            return services
        pairs = asked_pairs(question)
        if not missing:
            return [f"{a} {b}" for a, b in pairs if not self._together(a, b)]
        # a name the pages never write ("do you have Gazelle e-bikes?") is like none of their words
        # (unless they write its formal name: "Amex" is "American Express")
        names = [word for word in missing if word[:1].isupper() and not formal_words(word)]
        if names and not _titled(question):
            return names
        if not self.written:
            return []
        likeness = self.embedder.embed(missing) @ self.prepare().T
        nearest = likeness.max(axis=1).tolist()
        unsaid = [word for word, similarity in zip(missing, nearest) if similarity < self.min_similarity]
        if unsaid:
            return unsaid
        # each missing word as the pages' nearest: "student discount" is "school discount", which
        # no sentence of theirs says
        said_as = {word: self.written[int(i)] for word, i in zip(missing, likeness.argmax(axis=1).tolist())}
        # (and a name's thing, "Moss app", whichever word is missing: "for iPhone" is near "Apple")
        return [f"{a} {b}" for a, b in pairs if (a in said_as or b in said_as or a.islower() != b.islower())
                and not self._together(said_as.get(a, a), said_as.get(b, b))]

    def unsaid(self, question: str) -> bool:
        """Whether the question asks for something the pages never say: a thing they never mention
        (`unmentioned`), a term they never write (`unwritten_terms`), a care they never say of it
        (`uncared`), a way to order they never offer (`unoffered_channel`) or a topic they never
        speak of (`unspoken_topics`)."""
        return (bool(self.unmentioned(question)) or bool(self.unwritten_terms(question)) or self.uncared(question)
                or self.unoffered_channel(question) or bool(self.unspoken_topics(question)))

    def unspoken_topics(self, question: str) -> list[str]:
        """The topics shops often leave unsaid (`chatbot.text.topics`) that the question asks about
        and no page speaks of: "can I give my points to a friend?" where no page says whether points
        pass to someone else."""
        return [topic for topic in asked_topics(question) if topic not in self.spoken_topics]

    @cached_property
    def spoken_topics(self) -> frozenset[str]:
        """The topics of `chatbot.text.topics` some page speaks of, read once."""
        return frozenset(topic for topic in TOPICS if says_topic(self.text, topic))

    def unwritten_terms(self, question: str) -> list[str]:
        """The terms in capitals a question names ("OEKO-TEX", "NHS", "DHL") that the pages never
        write in any case, dotted or not: what they never name they say nothing of, however the
        question is put. Not an English word in capitals ("STILL no refund"), not a place ("PEI"),
        and nothing in a message written mostly in capitals.

        >>> mentions = Mentions(["We ship with DPD and Royal Mail. P.O. boxes are fine."], None, 0.5)  # type: ignore[arg-type]
        >>> mentions.unwritten_terms("do you use DHL or DPD?"), mentions.unwritten_terms("can it go to a PO box")
        (['DHL'], [])
        >>> mentions.unwritten_terms("I need it ASAP, where is it STILL"), mentions.unwritten_terms("Do NHS staff get a discount?")
        ([], ['NHS'])
        """
        letters = [c for c in question if c.isalpha()]
        if sum(c.isupper() for c in letters) > len(letters) / 2:
            return []
        return [term for term in _TERM.findall(question)
                if not is_english(term.lower()) and not scopes(term)
                and not re.search(r"(?<!\w)" + r"\.?".join(term) + r"(?!\w)", self.text, re.IGNORECASE)]

    def unoffered_channel(self, question: str) -> bool:
        """Whether the question asks to order by a channel ("can I place an order over the phone?")
        that no page offers orders by: pages that take phone orders say "order by phone" or "phone
        orders", not only "contact us by phone"."""
        asked = next((found for pattern in _ORDER_BY_ASKED if (found := pattern.search(question))), None)
        if asked is None:
            return False
        channel = asked.group("channel").lower()
        return not any(re.search(pattern.format(channel=re.escape(channel)), self.text, re.IGNORECASE) for pattern in _ORDER_BY_SAID)

    def uncared(self, question: str) -> bool:
        """Whether a care question ("are your stoneware plates dishwasher safe?") asks about a thing
        no passage speaks of with that care: one whose words the pages use, all in the passage, and
        a sentence of it saying the care and the thing ("Maple & Moss non-stick pans are dishwasher
        safe" says it of pans, not plates). Words of the thing the pages never use are let be
        ("cast iron skillet": the pages say "cast iron"), unless it has no other. False for any
        other question, and for one about "it"."""
        asked = asked_care(question)
        if asked is None or not asked.thing:
            return False
        known = asked.thing & self.stems
        return not known or not any(
            known <= in_passage and any(asked.care & said and known & said for said in sentences)
            for in_passage, sentences in self.passages
        )

    def unsaid_zh(self, question: str) -> bool:
        """`unsaid` for a Chinese question: a thing the pages never write, or an appliance they never
        say of the thing, or a topic they never speak of."""
        return bool(self.unmentioned_zh(question)) or self.uncared_zh(question) or bool(self.unspoken_topics(question))

    def uncared_zh(self, question: str) -> bool:
        """Whether a Chinese appliance question ("不锈钢锅能放进洗碗机洗吗") asks it of a thing no
        passage names with the appliance: each word of the thing the pages write in the passage (of
        a word they never write, "羊毛衫", its last character, "针织衫"), and one of them in a
        sentence that names the appliance ("不粘锅可以放入洗碗机" is no answer for 不锈钢锅)."""
        asked = asked_care_zh(question)
        if asked is None or not self.chinese:
            return False
        import rjieba

        needed = [word if word in self.chinese else word[-1]
                  for word in rjieba.cut(asked.thing) if has_han(word) and word not in CHINESE_STOPWORDS
                  and (len(word) > 1 or word in self.chinese)]
        if not needed:
            return False
        return not any(
            all(word in passage for word in needed)
            and any(any(care in sentence for care in asked.care) and any(word in sentence for word in needed)
                    for sentence in re.split(r"[。！？；\n]", passage))
            for passage in self.chinese_passages
        )

    def unmentioned_zh(self, question: str) -> list[str]:
        """The words a Chinese existence question asks for that the pages' Chinese text never
        writes, nor their word for it ("你们卖沙发吗" on pages without 沙发; "有包邮吗" on pages with
        免运费 is answered), or else its things of two words they never write together ("手机app"
        on pages that only write "银行 App"); [] for any other question, and for pages with no
        Chinese. No likeness is tried: the multilingual embedder finds every word near some word."""
        if not self.chinese:
            return []
        missing = [word for word in asked_for_zh(question) if not self._written_zh(word)]
        # a thing of two words may be written the other way round: "电话客服" is the pages' "客服电话"
        return missing or [thing for thing in asked_pairs_zh(question)
                           if not self._written_zh(thing) and not self._written_zh("".join(reversed(_thing_words_zh(thing))))]

    def _written_zh(self, word: str) -> bool:
        """Whether the pages write `word`, or the word they use for it ("包邮": "免运费")."""
        if word.isascii():  # "app", not inside "Apple Pay"
            return re.search(rf"\b{re.escape(word)}\b", self.chinese, re.IGNORECASE) is not None
        alternatives = [w for w in re.split(r"[（）\s]+", with_formal_words(word)) if w]
        return any(w in self.chinese for w in alternatives)

    def _written(self, verb: str) -> bool:
        """Whether the pages write a service's verb of two parts as one ("pre-order", "preorder",
        "gift wrapping"): its stems alone are "order", or "gift" and "wrap" anywhere."""
        parts = re.split(r"[-\s]+", verb)
        if len(parts) == 1:
            return True
        return re.search(r"\b" + r"[-\s]?".join(map(re.escape, parts)), self.text, re.IGNORECASE) is not None

    def _together(self, first: str, second: str) -> bool:
        a, b = _stem(first.lower()), _stem(second.lower())
        return not a or not b or a == b or b in self.near.get(a, ())


@cache
def _stem(word: str) -> str:
    """A word's one stem, "" for a stopword."""
    stems = content_words(word)
    return next(iter(stems)) if len(stems) == 1 else ""
