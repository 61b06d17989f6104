"""Answers composed from the pages' own sentences (`answer_style = "extractive"`): the sentences of
the top passages closest to the question, each cited by its passage, so that every fact the
shopper reads is one the store wrote."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from chatbot.answer.polarity import clauses, negated
from chatbot.answer.sums import worked_sum
from chatbot.answer.sums_zh import worked_sum_zh
from chatbot.knowledge.embedding import Embedder, QueryEmbedder
from chatbot.text.colloquial import with_formal_words
from chatbot.text.measures import asked_measure, states_measure
from chatbot.text.places import fits_places, scopes
from chatbot.text.topics import focus_topics, says_topic
from chatbot.text.words import chinese_clauses, content_words, has_han, passage_sentences, says_something
from chatbot.values import Passage

# Each content word the sentence shares with the question adds this much to its cosine: words
# break near-ties between sentences the embedder finds equally close ("30 days" beside "14 days").
WORD_WEIGHT = 0.05
# The sentence after the best one in its passage adds this much: a page says a thing, then its
# condition or next step ("Parcels count as lost when ... If this happens, contact us ...").
FOLLOWING_WEIGHT = 0.1
# Sentences beyond this many add detail to what the first ones say, not the rule for another place.
CORE_SENTENCES = 3
# A sentence that repeats a chosen one (an FAQ's answer beside its page's) may add this many words
# and still say nothing new.
NEW_WORDS = 5
# A follow-up's sentences score on its own words, plus this much on the conversation's standalone
# query: what the follow-up asks counts more than what the conversation was about.
CONTEXT_WEIGHT = 0.5
# A page's "Yes, ..." or "No, ..." answers the page's own question (an FAQ's), not necessarily the
# shopper's: the verdict is dropped and the statement kept ("Yes, we deliver to Ireland" beside a
# question about Japan must not read as a yes).
_BARE_VERDICT = re.compile(
    r"^(?:(?:yes|no)[,:;!.]\s+|(?:是的|不是|可以|不可以|不行|不能|没有|不会|是|对|不|能|有|会)[，,：:！!]\s*)(?=\S)", re.IGNORECASE
)
# A sentence that is nothing but a verdict ("不能。" before an FAQ answer's reason): it answers the
# FAQ's question, not the shopper's
_VERDICT_ONLY = re.compile(r"^\W*(?:是的|不是|可以|不可以|不行|不能|没有|不会|不建议|建议|不需要|需要|不用|当然|是|对|不|能|有|会)\W*$")


# Words that ask for a measure rather than say of what: "how much", "cost", "usually".
MEASURE_WORDS = content_words("much many long cost costs price prices charge fee heavy big wide tall weigh weight size "
                               "temperature temp year old usually typically roughly approximately")

# A question a verdict answers: it opens with an auxiliary ("Can I ...?", "do you ...", "is it ...").
_YES_NO = re.compile(
    r"^\W*(?:(?:ok(?:ay)?|and|so|also|but|hi|hello|hey)\W+)*"
    r"(?:can|could|do|does|did|is|are|was|were|will|would|should|may|might|have|has|am|must)\b",
    re.IGNORECASE,
)
# Words the content words leave out that a yes must still match: "same day" is not "day".
_QUALIFIER = re.compile(r"\b(?:same|only|all|every|both|any|extra|more|less|before|after)\b", re.IGNORECASE)
_ALTERNATIVES = re.compile(r"\bor\b", re.IGNORECASE)  # "from the order date or when it arrives?" wants a choice
# A rule for one case: "If ...", "For wrong items, ...", "Wrong item worth $25 or more: ...". It
# answers the shopper's question only in that case, so it gives no "Yes".
# The multilingual embedder's cosines span about a quarter of MiniLM's (0.7 to 0.95): scaled up to
# weigh against the shared words as MiniLM's do.
LANGUAGE_SCALE = 4.0
# A Chinese clause that asks something: "礼品卡有效期几年", "余额能提现吗"
_ASKS_ZH = re.compile(r"[吗么嘛呢][？?]?$|多少|多久|几|什么|怎么|咋|哪|能不能|可不可以|是不是|有没有|行不行|要不要")
_CONDITIONAL = re.compile(r"\W*(?:if|when|where|for|once|unless|provided)\b|[^:]{2,80}:(?:\*\*|__|\*|_)?\s", re.IGNORECASE)
_IF_CLAUSE = re.compile(r"^\W*(?:if|when|whenever|unless|once|where)\b[^,]*,\s*", re.IGNORECASE)
_SO = re.compile(r",\s+so\s+(?!that\b|far\b|much\b|many\b)", re.IGNORECASE)
_QUESTION_NEGATION = re.compile(r"\b(?:not|no|never)\b|n['’]t\b", re.IGNORECASE)


def asks_yes_or_no(question: str) -> str:
    """The one yes/no question in a message ("" when it has none, or several questions): its last
    sentence that ends in "?", or the whole message without a question mark.

    >>> asks_yes_or_no("Hi! I'm in Ohio. Do you ship to the US?"), asks_yes_or_no("how long do refunds take")
    ('Do you ship to the US?', '')
    >>> asks_yes_or_no("Can I return it? And how long do refunds take?")
    ''
    """
    asked = [s for s in passage_sentences(question) if s.rstrip().endswith("?")] or [question]
    if (len(asked) != 1 or not _YES_NO.match(asked[0]) or _QUESTION_NEGATION.search(asked[0])
            or _ALTERNATIVES.search(asked[0])):
        return ""
    return asked[0]


def verdict(question: str, sentence: str) -> str:
    """"No" when the sentence's clauses closest to the question deny it, "Yes" when one of them has
    every content word of the question (at least 3: two words are easily matched by chance) and
    no clause denies any of them, "" otherwise: the verdict comes from the sentence, never from
    a guess.

    >>> page = 'Sale items can be returned within 14 days, and items marked "Final Sale" cannot be returned.'
    >>> verdict("Can I return Final Sale items?", page), verdict("can i return sale items", page)
    ('No', '')
    >>> verdict("Can I return sale items within 14 days?", "Sale items can be returned within 14 days.")
    'Yes'
    >>> verdict("can I use Klarna in Ireland?", "UK customers can use Klarna.")
    ''
    >>> verdict("do you dispatch same day", "Orders may take 2 days to dispatch.")
    ''
    >>> verdict("do I need an account to order", "You do not need an account, but guest orders can be linked to an account.")
    ''
    >>> verdict("can you email me a prepaid return label?", "**Wrong item worth $25 or more:** we email you a prepaid return label.")
    ''
    >>> verdict("do you make your own pet food?", "If your pet won't eat a food you bought from us, we'll make it right.")
    ''
    >>> verdict("can i use a club voucher and a promo code on one order?", "Club vouchers aren't promo codes, so you can use them with a promo code.")
    ''
    """
    asked = asks_yes_or_no(question)
    wanted = content_words(asked)
    if not wanted:
        return ""
    shared, most, closest = _shared_clauses(wanted, sentence)
    if most < min(2, len(wanted)):
        return ""
    if all(negated(clause, common) for common, clause in closest) or _outside_only(asked, sentence):
        return "No"
    # A yes needs a clause that says all the question asks (its "same" or "only" too), and no
    # clause that denies any of it.
    qualifiers = {word.lower() for word in _QUALIFIER.findall(asked)}
    if _CONDITIONAL.match(without_verdict(sentence)):  # "Wrong item worth $25 or more: we email a label" is no yes
        return ""
    if (len(wanted) >= 3 and any(common == wanted and qualifiers <= {w.lower() for w in _QUALIFIER.findall(clause)} for common, clause in closest)
            and not any(common and negated(clause, common) for common, clause in shared)):
        return "Yes"
    return ""


# A Chinese yes/no question: "能退吗", "能不能退", "可以用klarna分期吗"; what it asks with, and how a
# page's denial of it is said ("能" -> "不能")
_YES_NO_ZH = re.compile(r"[吗么嘛][？?]?$|能不能|可不可以|是不是|有没有|会不会|算不算|要不要|用不用|需不需要|包不包|行不行")
_MODALS_ZH = (("可以", "不可以"), ("能", "不能"), ("会", "不会"), ("需要", "不需要"), ("要", "不需要"), ("算", "不算"),
              ("包邮", "不包邮"), ("有", "没有"), ("是", "不是"))
# A clause that denies: "不能退货", "不计入门槛", "无需付费" (not "不粘锅", "不锈钢", "不同", "不超过")
_DENIES_ZH = re.compile(r"不能|不可以|不可|无法|不会|不计入|不提供|不支持|不适用|不接受|不包括|不包含|不予|不允许|不得|不退|不享受"
                        r"|不参与|不算|不需要|无需|不用|不必|不收|没有|并非|不是|不再|不对外|不开放|不办理|不受理")
_CONDITION_ZH = re.compile(r"^(?:如果|若|假如|除非|只要|一旦|当)")
# A sentence that turns ("……不能获得积分，但如果……") or makes an exception ("除非到货时有故障") says no verdict
_TURNS_ZH = re.compile(r"但|不过|然而|除非|否则|例外|除[^，。；]{0,12}外")


def _denies_zh(clause: str, wanted: frozenset[str]) -> bool:
    """Whether the clause denies something the question asks of: a word of the question's after
    its denial ("积分不能抵扣运费"; not "……没有免运费门槛" for "地毯能寄法国么", nor "已支付的运费不退")."""
    return any(any(word in clause[found.end():].lower() for word in wanted) for found in _DENIES_ZH.finditer(clause))


def verdict_zh(question: str, sentence: str) -> str:
    """A Chinese yes/no question's "No" in its own words ("不能", "不会", "没有") when the clause of
    the sentence that shares the most of the question's words (two at least) denies it; "" when
    the message asks anything else too or asks it denied ("这也不能退吗"), the clause is a condition
    ("如果……"), or the sentence turns or makes an exception ("但……", "除非……").

    >>> verdict_zh("买了40镑的东西又加了张20镑的礼品卡 能包邮吗", "礼品卡不能用优惠码购买，也不计入£50的免运费门槛。")
    '不能'
    >>> verdict_zh("不粘锅能进洗碗机吗", "不粘锅可以放入洗碗机清洗。"), verdict_zh("退货要多久 能退现金吗", "退款不退现金。")
    ('', '')
    >>> verdict_zh("Final Sale的锅坏了 能退吗", "Final Sale商品不能退货，除非到货时损坏。"), verdict_zh("坏了也不能退吗", "坏了的商品不能退货。")
    ('', '')
    >>> verdict_zh("地毯能寄法国么", "欧盟以外的国家没有免运费门槛，地毯可寄往法国。"), verdict_zh("盖碗能退吗 运费谁出", "盖碗可以退，已支付的运费不退。")
    ('', '')
    """
    asking = [clause for clause in chinese_clauses(question) if _ASKS_ZH.search(clause) or _YES_NO_ZH.search(clause) or "谁" in clause]
    # (asked denied: "这也不能退吗", not "算不算")
    if (len(asking) != 1 or not _YES_NO_ZH.search(asking[0]) or _DENIES_ZH.search(_YES_NO_ZH.sub("", asking[0]))
            or _TURNS_ZH.search(sentence)):
        return ""
    wanted = content_words(question)
    shared = [(len(content_words(clause) & wanted), clause.strip()) for clause in re.split(r"[，,；;：:]", sentence) if clause.strip()]
    most = max((count for count, _ in shared), default=0)
    closest = [clause for count, clause in shared if count == most]
    if most < 2 or not all(_denies_zh(clause, wanted) and not _CONDITION_ZH.match(clause) for clause in closest):
        return ""
    return next((denied for modal, denied in _MODALS_ZH if modal in asking[0]), "不")


# A sentence that limits where something holds: "can only be delivered within the UK and Ireland".
_ONLY = re.compile(r"\bonly\b", re.IGNORECASE)


def _outside_only(asked: str, sentence: str) -> bool:
    """Whether the sentence allows what it says only in places, none of which the question asks about.

    >>> _outside_only("can I order a bed frame to spain", "Bed frames can only be delivered within the UK and Ireland.")
    True
    >>> _outside_only("can I order a bed frame to leeds", "Bed frames can only be delivered within the UK and Ireland.")
    False
    >>> _outside_only("can I order a bed frame to spain", "Bed frames are delivered to the UK and Ireland.")
    False
    """
    if not _ONLY.search(sentence):
        return False
    wanted, said = scopes(asked), scopes(sentence)
    return bool(wanted and said and not wanted & said)


Shared = list[tuple[frozenset[str], str]]  # clauses, each with the question's words it shares


def _shared_clauses(wanted: frozenset[str], sentence: str) -> tuple[Shared, int, Shared]:
    """Each clause of the sentence with the question's `wanted` words it shares, the most any
    shares, and the clauses that share that many (the closest)."""
    # a leading condition is not what the sentence says: "If your pet won't eat it, we'll make it right" denies nothing;
    # nor is a reason, only its outcome: "vouchers aren't promo codes, so you can use both" says yes
    outcome = _SO.split(without_verdict(sentence))[-1]
    said = [_IF_CLAUSE.sub("", clause, count=1) for clause in clauses(outcome)]
    shared = [(content_words(clause) & wanted, clause) for clause in said if clause]
    most = max((len(common) for common, _ in shared), default=0)
    return shared, most, [(common, clause) for common, clause in shared if len(common) == most]


def _disagrees(question: str, sentence: str, said: str, source: str) -> bool:
    """Whether another chosen sentence says the opposite of the verdict drawn from `source` about
    as much of the question: a clause sharing as many of its words that affirms a "No" or denies
    a "Yes".

    >>> q = "can i exchange something i bought in the sale"
    >>> _disagrees(q, "Sale items can be exchanged within 14 days.", "No", "Final Sale items cannot be exchanged.")
    True
    >>> _disagrees(q, "Refunds take 5 days.", "No", "Final Sale items cannot be exchanged.")
    False
    """
    wanted = content_words(asks_yes_or_no(question))
    _, needed, _ = _shared_clauses(wanted, source)
    _, most, closest = _shared_clauses(wanted, sentence)
    if most < max(needed, 1):
        return False
    denied = [negated(clause, common) for common, clause in closest]
    return not all(denied) if said == "No" else any(denied)


def without_verdict(sentence: str) -> str:
    """The sentence without a leading bare "Yes," or "No," (是的， 不，…).

    >>> without_verdict("Yes, we deliver to Ireland."), without_verdict("No returns are free.")
    ('We deliver to Ireland.', 'No returns are free.')
    >>> without_verdict("是的，我们配送至爱尔兰。"), without_verdict("不能退货。")
    ('我们配送至爱尔兰。', '不能退货。')
    """
    rest = _BARE_VERDICT.sub("", sentence, count=1)
    if rest == sentence or not rest[0].isalpha():
        return sentence
    return rest[0].upper() + rest[1:]



# A sentence that only leads into what follows: "Two shipping methods are available:", "Here's what
# you can change, and until when."
_LEAD_IN = re.compile(r"^\W*(?:here(?:'s|’s|\s+is|\s+are)|the\s+following|see\s+below|below\s+(?:is|are))\b"
                      r"|^\W*(?:\S+\s+){0,9}\S+:\W*$", re.IGNORECASE)  # a short one ending in a colon; a long one says something


# A list item that is no sentence of its own: a few words, no full stop or colon of its own ("Last Wave items")
_ITEM = re.compile(r"^(?!.*[.!?。！？]\s*$)(?!.*[:：])(?:\S+\s+){0,7}\S+\s*$")


def candidate_sentences(passages: Sequence[Passage]) -> list[tuple[int, int, str]]:
    """(passage number from 1, position, sentence) for every sentence of the passages that states
    something: a passage's own questions (an FAQ's "Can I ...?") answer nothing, nor does a lead-in
    to a list ("Two shipping methods are available:").

    A list's short items carry the sentence that leads into them ("Codes can't be used on: gift cards").

    >>> page = Passage("s", "shipping", "Shipping", "Two methods are available:\\n- Ground: $6.95", "s.md")
    >>> [s for _, _, s in candidate_sentences([page])]
    ['Ground: $6.95']
    >>> page = Passage("p", "promo", "Promo codes", "Codes can't be used on:\\n- gift cards\\n- shipping\\nOne code per order.", "p.md")
    >>> [s for _, _, s in candidate_sentences([page])]
    ["Codes can't be used on: gift cards", "Codes can't be used on: shipping", 'One code per order.']
    """
    found = []
    seen: set[str] = set()  # a sentence two passages share (an FAQ's answer and its page's) is said once
    for number, passage in enumerate(passages, 1):
        lead = ""  # "Promo codes can't be used on:", which the list items after it need
        for position, sentence in enumerate(passage_sentences(passage.text)):
            if _LEAD_IN.search(sentence):
                lead = sentence.rstrip().rstrip(":").rstrip() if sentence.rstrip().endswith(":") else ""
                continue
            if lead and _ITEM.match(sentence):  # "Last Wave items" says what only with its lead-in
                sentence = f"{lead}: {sentence}"
            else:
                lead = ""
            if not sentence.rstrip().endswith("?") and says_something(sentence) and not _VERDICT_ONLY.match(sentence):
                said = without_verdict(sentence)
                key = " ".join(said.lower().split())
                if key not in seen:
                    seen.add(key)
                    found.append((number, position, said))
    return found


def says_again(sentence: str, said: str) -> bool:
    """Whether `sentence` says little more than `said`: the shorter's content words nearly all
    (0.8) in the other's, and `sentence` adds no number and at most `NEW_WORDS` words.

    >>> said = "UK customers can use Klarna to pay in 3 instalments on orders between £30 and £1,000."
    >>> says_again("Klarna lets you split an order into 3 instalments on orders between £30 and £1,000, for UK customers.", said)
    True
    >>> says_again("Sale items can be returned within 14 days.", "Full-price items can be returned within 30 days.")
    False
    >>> says_again("Items delivered in December can be returned until 31 January instead of within 30 days.",
    ...            "Items can be returned within 30 days of delivery.")
    False
    """
    new, old = content_words(sentence), content_words(said)
    shorter = min(new, old, key=len)
    added = new - old
    return (bool(shorter) and len(new & old) >= 0.8 * len(shorter) and len(added) <= NEW_WORDS
            and not any(word[0].isdigit() for word in added))


def for_places(sentence: str, places: frozenset[str]) -> str:
    """A list of rules by place ("prices are: Ireland £6.95; other EU countries £9.95; ...") cut to
    the places asked about; the sentence itself when it is no such list or names none of them.

    >>> for_places("Prices are: Ireland £6.95; other EU countries £9.95; the United States £19.95.", frozenset({"eu"}))
    'Prices are: other EU countries £9.95.'
    >>> for_places("运费为：爱尔兰£6.95；其他欧盟国家£9.95；美国和加拿大£19.95。", frozenset({"us"}))
    '运费为：美国和加拿大£19.95。'
    """
    chinese = "；" in sentence
    semicolon, colon, stop = ("；", "：", "。") if chinese else (";", ":", ".")
    parts = sentence.split(semicolon)
    if len(parts) < 3 or not places:
        return sentence
    lead, found_colon, first = parts[0].rpartition(colon)
    rules = [first if found_colon else parts[0], *parts[1:]]
    kept = [rule.strip().rstrip(stop) for rule in rules if scopes(rule) & places]
    if not kept or len(kept) == len(rules):
        return sentence
    said = semicolon.join(kept) if chinese else "; ".join(kept)
    if found_colon:
        return f"{lead}{colon}{said}{stop}" if chinese else f"{lead}{colon} {said}{stop}"
    return f"{said}{stop}" if chinese else f"{said[0].upper()}{said[1:]}{stop}"


def sentence_scores(question: str, sentences: Sequence[str], titles: Sequence[str], embedder: Embedder | None) -> list[float]:
    """How well each sentence answers the question: its cosine with the question (read with its
    passage's title, which says what "it" is) plus `WORD_WEIGHT` for each content word shared;
    the shared words alone without an embedder.

    >>> sentence_scores("how long do refunds take", ["Refunds take 5 days.", "We love you."], ["", ""], None)
    [0.1, 0.0]
    """
    wanted = content_words(question)
    scores = [WORD_WEIGHT * len(content_words(sentence) & wanted) for sentence in sentences]
    if embedder is not None and sentences:
        read = [f"{title}: {s}" for title, s in zip(titles, sentences)]
        if isinstance(embedder, QueryEmbedder):  # E5: the question as a query, on a scale a quarter as wide
            cosines = LANGUAGE_SCALE * np.asarray(embedder.embed(read) @ embedder.embed_queries([question])[0], dtype=float)
        else:
            vectors = embedder.embed([question, *read])
            cosines = np.asarray(vectors[1:] @ vectors[0], dtype=float)
        scores = [float(c) + s for c, s in zip(cosines, scores)]
    return [round(score, 6) for score in scores]


def _verdict_of_chosen(question: str, sentences: Sequence[str], best: list[int]) -> tuple[int, str]:
    """The chosen sentence (of `best`, numbers in `sentences`) whose verdict answers an English
    yes/no question, and that verdict ("" for none): the best sentence's, or a "No" from a later
    one that allows it only elsewhere; none when another chosen sentence says the opposite."""
    asked = asks_yes_or_no(question)
    source = best[0]
    said = verdict(question, sentences[source])
    if not said:  # "... can only be delivered within the UK and Ireland", chosen second, still says no to Spain
        source = next((i for i in best[1:] if _outside_only(asked, sentences[i])
                       and _shared_clauses(content_words(asked), sentences[i])[1] >= 2), source)
        said = "No" if source != best[0] else ""
    # a "No" for a place the rule leaves out is not undone by a sentence that names no such place
    # ("bed frames are delivered by a two-person team" beside "... only within the UK and Ireland")
    place_no = said == "No" and _outside_only(asked, sentences[source])
    # ... nor by a general rule that does not name all of what the question asks it of ("We deliver
    # to the EU" beside "bed frames can only be delivered within the UK and Ireland")
    thing = {word for word in content_words(asked) & content_words(sentences[source]) if not scopes(word)}
    others = [i for i in best if i != source and not (place_no and not (scopes(sentences[i]) & scopes(asked)
                                                                        and thing <= content_words(sentences[i])))]
    if said and any(_disagrees(question, sentences[i], said, sentences[source]) for i in others):
        said = ""  # "Final Sale items cannot be exchanged" beside "Sale items can be exchanged": no verdict
    return source, said


def _elsewhere(sentence: str, chosen: Sequence[str], asked: frozenset[str]) -> bool:
    """Whether a sentence speaks only of places that neither the question nor the sentences chosen
    before it speak of: after "Standard UK delivery is free over £50", for a question that names no
    place, the international price list answers for elsewhere.

    >>> _elsewhere("Ireland £6.95; the US £19.95.", ["Standard UK delivery is free over £50."], frozenset())
    True
    >>> _elsewhere("Ireland £6.95; the US £19.95.", ["Standard UK delivery is free over £50."], frozenset({"us"}))
    False
    """
    said = scopes(sentence)
    before = frozenset().union(*(scopes(s) for s in chosen))
    return bool(said and before and not asked) and not said & before


def _with_one_that(best: list[int], ranked: Sequence[int], holds: Callable[[int], bool]) -> bool:
    """Whether a chosen sentence holds, once the closest one that does (of `ranked`) has taken the
    last place of `best` where none did; False when no sentence holds.

    >>> best = [0, 1]
    >>> _with_one_that(best, [0, 1, 2, 3], lambda i: i > 1), best
    (True, [0, 2])
    """
    if any(holds(i) for i in best):
        return True
    holding = next((i for i in ranked if holds(i)), None)
    if holding is None:
        return False
    best[-1] = holding
    return True


def compose(
    question: str, passages: Sequence[Passage], embedder: Embedder | None, sentences: int = 2, context: str = ""
) -> list[str]:
    """The `sentences` sentences of `passages` that best answer `question`, in the passages' order
    and each followed by its passage's marker ("... delivery. [1]"); [] when they have none. A
    yes/no question whose best sentence gives a verdict (`verdict`) gets it first: "No: ...". The
    sentence after the best one in its passage counts a little more (`FOLLOWING_WEIGHT`), never more
    than the best. A verdict another chosen sentence contradicts is left out.
    `context`, for a follow-up, is the conversation's standalone query ("and the wooden board?"
    after a question on cast iron): sentences score on the follow-up alone plus half on both together,
    so the answer is about the follow-up's own subject within the conversation's topic. Sentences
    about other places than those asked about are left out, and so is the rule for a larger place
    when another sentence speaks of the smaller one asked about (`fits_places`).

    >>> p = Passage("r", "returns", "Returns", "We love returns. Full-price items can be returned "
    ...             "within 30 days. Sale items within 14 days.", "r.md")
    >>> compose("How many days to return full-price items?", [p], None, sentences=1)
    ['Full-price items can be returned within 30 days. [1]']
    """
    found = candidate_sentences(passages)
    # A sentence about other places only ("Standard UK delivery ..." for a question on France) is
    # left out, unless no other is left; so is the UK's rule for a question on the Isle of Skye
    # when another sentence names the Scottish Islands.
    asked = f"{context} {question}"
    found = [f for f, fits in zip(found, fits_places([sentence for _, _, sentence in found], asked)) if fits]
    places = scopes(question) or scopes(asked)  # "and to the US?" after a question on Ireland: the US
    found = [(number, position, for_places(sentence, places)) for number, position, sentence in found]
    titles = [passages[number - 1].title for number, _, _ in found]
    texts = [sentence for _, _, sentence in found]
    scores = sentence_scores(question, texts, titles, embedder)
    if context:  # a follow-up: its own words count, and the conversation's topic half as much
        scores = [a + CONTEXT_WEIGHT * b for a, b in zip(scores, sentence_scores(asked, texts, titles, embedder))]
    if found:
        top = max(range(len(found)), key=lambda i: scores[i])
        following = (found[top][0], found[top][1] + 1)
        # ... but never above the best one itself
        scores = [min(score + FOLLOWING_WEIGHT, scores[top]) if found[i][:2] == following else score
                  for i, score in enumerate(scores)]
    ranked = sorted(range(len(found)), key=lambda i: -scores[i])
    # an FAQ's answer and its page's sentence often say one fact twice: the second says nothing new
    # (within one passage, like sentences are steps: "Click Delete." and "Click Delete to confirm.")
    best: list[int] = []
    # "礼品卡有效期几年 余额能提现吗": a Chinese message that asks two things with a space between
    # them gets each one's closest sentence first
    asked_apart = [clause for clause in chinese_clauses(question) if _ASKS_ZH.search(clause)]
    firsts: list[int] = []
    if len(asked_apart) > 1 and found:
        for clause in asked_apart:
            own = sentence_scores(clause, texts, titles, embedder)
            firsts.append(max(range(len(found)), key=own.__getitem__))
    for i in [*firsts, *ranked]:
        if len(best) == sentences:
            break
        if i not in best and not any(found[i][0] != found[j][0] and says_again(found[i][2], found[j][2]) for j in best) \
                and not (len(best) >= CORE_SENTENCES and _elsewhere(found[i][2], [found[j][2] for j in best], places)):
            best.append(i)

    def cited(chosen: list[int]) -> list[str]:  # in the passages' order, each with its passage's marker
        return [f"{found[i][2]} [{found[i][0]}]" for i in sorted(chosen, key=lambda i: found[i][:2])]

    worked = worked_sum_zh(question, texts) if has_han(question) else worked_sum(question, context, texts)
    if worked is not None:  # "is delivery free on £54 with 10% off?": the sum first, then its rule
        best = [i for i in best if i not in worked.inapplicable]  # "... between 1 November and 24 December" for May
        if worked.rule not in best:
            best[-1:] = [worked.rule]
        return [f"{worked.text} [{found[worked.rule][0]}]", *cited(best)]
    # a topic asked about ("can i give my points to my wife?"): the closest sentence that speaks of
    # it takes the last place when none chosen does
    topics = focus_topics(question)
    if topics and best:
        _with_one_that(best, ranked, lambda i: any(says_topic(found[i][2], topic) for topic in topics))
    measure = asked_measure(question)
    # a measure of what is asked about: "how much off in Black Friday week?" is not answered by the
    # welcome code's "minimum spend of £20"
    about = content_words(with_formal_words(f"{context} {question}", english=True)) - MEASURE_WORDS

    def states(i: int) -> bool:
        return states_measure(found[i][2], measure) and bool(content_words(found[i][2]) & about)

    # "how heavy is the skillet?": the closest sentence that states a weight takes the last place,
    # and without one the pages do not say
    if measure and best and not _with_one_that(best, ranked, states):
        return []
    chosen = cited(best)
    if not best or context:  # a follow-up lacks its subject
        return chosen
    if has_han(question):  # a Chinese "No" in the question's words, from the best sentence or none
        source, said, mark = best[0], verdict_zh(question, found[best[0]][2]), "："
    else:
        (source, said), mark = _verdict_of_chosen(question, [sentence for _, _, sentence in found], best), ": "
    if said:  # the sentence that gives the verdict comes first, after it
        first = chosen.pop(sorted(best, key=lambda i: found[i][:2]).index(source))
        chosen.insert(0, f"{said}{mark}{first}")
    return chosen
