"""The questions in one message: "what's the return fee and how long does the refund take?" asks
two things, and each gets its own answer."""

from __future__ import annotations

import re

from chatbot.text.words import content_words, passage_sentences

_ASKING = (
    r"how|what|whats|what's|when|whens|when's|where|which|who|why|can|could|do|does|did|is|are|will|would|"
    r"should|may|am|has|have|hw|wot|wat"
)
# A second question joined to the first: ", and how long ...", " and can I ...", "; also do you ...".
_JOINED = re.compile(rf"(?:,|;)?\s+(?:and|also|plus|n|&)\s+(?:(?:roughly|approximately|about|then|also)\s+)?(?=(?:{_ASKING})\b)"
                     rf"|,\s+(?=(?:{_ASKING})\b)", re.IGNORECASE)
# "if not, how long does standard take": a question after what it depends on
# (or after a connective: "? also do gift cards expire", "? and how long have i got")
_QUESTION_START = re.compile(rf"^\W*(?:(?:if\s+not|if\s+so|otherwise|or\s+else|and|also|plus|oh|but)\W+)?(?:{_ASKING})\b",
                             re.IGNORECASE)
# What a question opens with before its subject: "how much is", "can I", "do you", "what's the".
_ASK = re.compile(
    rf"^\W*(?:how\s+(?:much|many|long|soon|often)|{_ASKING})\b"
    r"(?:\s+(?:is|are|does|do|did|will|would|can|could|i|you|u|we|it|they|the|a|an|my|your|there|much|long|many|have|get))*\b\s*",
    re.IGNORECASE,
)
# What a follow-up may open with before its own ask: "and how long does it take?".
_CONNECTIVE = re.compile(r"^\W*(?:(?:and|or|but|also|plus|so|ok|okay)\b\W*)+", re.IGNORECASE)
_ABOUT = re.compile(r"^\W*(?:what|how)\s+about\b", re.IGNORECASE)  # "what about ireland?" asks nothing of its own


def split_questions(message: str) -> list[str]:
    """The message's questions, each a text that stands alone: the message itself when it asks one
    thing. Statements in the message ("I bought a lamp in the sale.") go before each question,
    because they say what the question is about.

    >>> split_questions("whats the return fee and how long till the refund shows up?")
    ['whats the return fee?', 'how long till the refund shows up?']
    >>> split_questions("I'm in Norway. How much is shipping, how long does it take, and will I pay import fees?")
    ["I'm in Norway. How much is shipping?", "I'm in Norway. how long does it take?", "I'm in Norway. will I pay import fees?"]
    >>> split_questions("can I return it without her finding out??")
    ['can I return it without her finding out??']
    >>> split_questions("do you deliver to ireland and the uk")
    ['do you deliver to ireland and the uk']
    >>> split_questions("I live in Germany, can I do an exchange?")
    ['I live in Germany, can I do an exchange?']
    >>> split_questions("How much is shipping to Australia and roughly how long will it take?")
    ['How much is shipping to Australia?', 'how long will it take?']
    >>> split_questions("I'm in Belfast - can I get next day delivery? if not how long does standard take")
    ["I'm in Belfast - can I get next day delivery?", 'if not how long does standard take']
    >>> split_questions("can i stack 2 promo codes on one order? also do gift cards expire")
    ['can i stack 2 promo codes on one order?', 'also do gift cards expire']
    >>> split_questions("寄到德国运费多少？多久能到？")
    ['寄到德国运费多少？', '多久能到？']
    """
    sentences = passage_sentences(" ".join(message.split()))
    context, asked = [], []
    for sentence in sentences:
        if not (sentence.rstrip().endswith(("?", "？")) or _QUESTION_START.match(sentence)):
            context.append(sentence)
            continue
        body = sentence.rstrip("?.! ？")
        mark = "??" if sentence.rstrip().endswith("??") else "？" if sentence.rstrip().endswith("？") else "?"
        pieces = [piece.strip(" ,;") for piece in _JOINED.split(body) if piece.strip(" ,;")]
        questions = [piece for piece in pieces if _QUESTION_START.match(piece) and len(piece.split()) >= 3]
        if len(questions) < 2:  # one question, perhaps after what it is about ("I live in Germany, can I ...")
            asked.append(sentence)
            continue
        context.extend(piece for piece in pieces if piece not in questions)
        asked.extend(f"{question}{mark}" for question in questions)
    if len(asked) < 2:
        return [message]
    prefix = " ".join(context)
    return [f"{prefix} {question}".strip() for question in asked]


def asked_part(message: str) -> str:
    """The question of a one-question message without what it says first about the shopper's
    situation ("Jumper doesn't fit, how do I return it?" asks "how do I return it?"): an unusual
    word in the situation ("jumper") can pull the whole message away from the page that answers
    it. The message itself when it has no such lead-in.

    >>> asked_part("Jumper doesn't fit, how do I return it?"), asked_part("how do I return a jumper?")
    ('how do I return it?', 'how do I return a jumper?')
    >>> asked_part("I live in Germany. Can I do an exchange?"), asked_part("my vase is cracked, what do I do?")
    ('Can I do an exchange?', 'my vase is cracked, what do I do?')
    """
    sentences = passage_sentences(" ".join(message.split()))
    if not sentences:
        return message
    last = sentences[-1]
    pieces = [piece.strip(" ,;") for piece in _JOINED.split(last) if piece.strip(" ,;")]
    asking = [piece for piece in pieces if _QUESTION_START.match(piece) and len(piece.split()) >= 3]
    # "what do I do?" says nothing without its situation: the whole message is the question then.
    if len(asking) == 1 and (asking[0] != pieces[0] or len(sentences) > 1) and content_words(asking[0]):
        return asking[0] + ("?" if last.rstrip().endswith("?") and not asking[0].endswith("?") else "")
    return message


def asks_its_own(message: str) -> bool:
    """Whether the message is a question with its own ask ("how long does it take?"), not a fragment
    that borrows an earlier one's ("and for sale items?", "what about ireland?").

    >>> asks_its_own("how long does it take?"), asks_its_own("and for sale items?"), asks_its_own("what about ireland")
    (True, False, False)
    >>> asks_its_own("and how long will it take to get there?")
    True
    """
    rest = _CONNECTIVE.sub("", message, count=1)
    return bool(_QUESTION_START.match(rest)) and not _ABOUT.match(rest)


def subject(question: str) -> str:
    """The question without what it opens with: what it is about ("how much is shipping to
    Germany?" is about "shipping to Germany"). The question itself when it opens otherwise.

    >>> subject("how much is shipping to Germany?"), subject("Can I return sale items"), subject("my vase broke")
    ('shipping to Germany', 'return sale items', 'my vase broke')
    """
    rest = _ASK.sub("", question, count=1).rstrip("?!. ")
    return rest if rest and content_words(rest) else question
