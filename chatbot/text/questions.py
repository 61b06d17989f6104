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
_JOINED = re.compile(rf"(?:,|;)?\s+(?:and|also|plus|n|&)\s+(?=(?:{_ASKING})\b)|,\s+(?=(?:{_ASKING})\b)", re.IGNORECASE)
_QUESTION_START = re.compile(rf"^\W*(?:{_ASKING})\b", re.IGNORECASE)


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
    """
    sentences = passage_sentences(" ".join(message.split()))
    context, asked = [], []
    for sentence in sentences:
        if not (sentence.rstrip().endswith("?") or _QUESTION_START.match(sentence)):
            context.append(sentence)
            continue
        body = sentence.rstrip("?.! ")
        mark = "??" if sentence.rstrip().endswith("??") else "?"
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
