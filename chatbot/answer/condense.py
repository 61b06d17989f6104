"""Follow-up questions made standalone before retrieval ("and for sale items?" after a returns question)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from chatbot.errors import SettingsError
from chatbot.llm.base import Generator, Message, generate
from chatbot.settings import Settings
from chatbot.text.questions import asks_its_own, subject

CONDENSERS = ("off", "rules", "model")
Condenser = Callable[[str, Sequence[Message]], str]


def shopper_turns(history: Sequence[Message]) -> list[str]:
    return [m["content"] for m in history if m.get("role") == "user" and m.get("content")]


# A message that refers back to an earlier one ("can i use it on sale stuff?"): its own topic is
# named before it.
_REFERS_BACK = re.compile(
    r"\b(?:it|its|that|those|them|they|this|these|one|ones|there)\b|^\W*(?:and|what about|how about|also)\b"
    r"|它|这个|那个|这些|那些|^\W*(?:那|还有)",
    re.IGNORECASE,
)
MAX_TURNS_BACK = 3


def condense_by_rules(question: str, history: Sequence[Message]) -> str:
    """The question after the shopper's previous message, which usually names the topic; when
    that message refers back too, after the one before it as well (up to `MAX_TURNS_BACK`). A
    question with its own ask takes only the earlier messages' subjects: "how long does it take?"
    after "how much is shipping to Germany?" asks about time, not price.

    >>> condense_by_rules("and for sale items?", [{"role": "user", "content": "how long do I have to return stuff"},
    ...                                            {"role": "assistant", "content": "30 days."}])
    'how long do I have to return stuff and for sale items?'
    >>> condense_by_rules("how long do i have to use it", [{"role": "user", "content": "do you have a first order discount"},
    ...                                                     {"role": "user", "content": "can i use it on sale stuff"}])
    'first order discount use it on sale stuff how long do i have to use it'
    >>> condense_by_rules("how long does it take?", [{"role": "user", "content": "how much is shipping to Germany?"}])
    'shipping to Germany how long does it take?'
    >>> condense_by_rules("do you ship to Canada?", [])
    'do you ship to Canada?'
    """
    previous = shopper_turns(history)
    if not previous:
        return question
    start = len(previous) - 1
    while start > 0 and len(previous) - start < MAX_TURNS_BACK and _REFERS_BACK.search(previous[start]):
        start -= 1
    earlier = previous[start:]
    if asks_its_own(question):
        earlier = [subject(turn) for turn in earlier]
    return " ".join([*earlier, question])


class ModelCondenser:
    """Ask the decoder to rewrite the follow-up as a standalone question (prompt: prompts/condense.j2).

    Falls back to the rules when the rewrite is empty or runs on far longer than a question.
    """

    def __init__(self, generator: Generator, render: Callable[..., str], max_new_tokens: int = 48) -> None:
        self.generator = generator
        self.render = render
        self.max_new_tokens = max_new_tokens

    def __call__(self, question: str, history: Sequence[Message]) -> str:
        previous = shopper_turns(history)
        if not previous:
            return question
        turns = [{"role": m["role"], "content": m["content"]} for m in history if m.get("content")][-4:]
        prompt = self.render("condense", history=turns, question=question)
        reply = generate(self.generator, [{"role": "user", "content": prompt}], self.max_new_tokens)
        rewritten = re.sub(r"^\W*(standalone question|question)\s*:\s*", "", reply.strip(), flags=re.IGNORECASE)
        rewritten = rewritten.splitlines()[0].strip() if rewritten else ""
        if not rewritten or len(rewritten) > 3 * len(question) + 200:
            return condense_by_rules(question, history)
        return rewritten


def make_condenser(settings: Settings, generator: Generator | None, render: Callable[..., str]) -> Condenser:
    if settings.condense == "off":
        return lambda question, history: question
    if settings.condense == "rules":
        return condense_by_rules
    if settings.condense == "model":
        if generator is None:
            raise SettingsError("condense = 'model' needs the decoder, and this pipeline was built without one.")
        return ModelCondenser(generator, render)
    raise SettingsError(f"condense must be one of {CONDENSERS}, got {settings.condense!r}.")
