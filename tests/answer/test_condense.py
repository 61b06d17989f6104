"""Follow-up questions made standalone: by rules, by the decoder, or not at all (settings)."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import pytest

from chatbot.answer.condense import ModelCondenser, condense_by_rules, make_condenser
from chatbot.answer.prompts import render_prompt
from chatbot.errors import SettingsError
from chatbot.settings import Settings
from tests.fakes import ScriptedGenerator

HISTORY = [
    {"role": "user", "content": "how long do i have to send stuff back"},
    {"role": "assistant", "content": "30 days from delivery [1]."},
]


def condenser(*replies: str) -> tuple[ModelCondenser, ScriptedGenerator]:
    generator = ScriptedGenerator(*replies)
    return ModelCondenser(generator, partial(render_prompt, Settings().prompts_dir)), generator


def test_the_decoder_rewrites_a_follow_up_from_the_conversation() -> None:
    condense, generator = condenser("Standalone question: How long do I have to return sale items?\nThanks")
    assert condense("what about sale items?", HISTORY) == "How long do I have to return sale items?"
    prompt = generator.received[0][0]["content"]
    assert "Shopper: how long do i have to send stuff back" in prompt
    assert "Assistant: 30 days from delivery [1]." in prompt
    assert prompt.rstrip().endswith("Shopper: what about sale items?\nStandalone question:")


def test_a_first_question_is_not_sent_to_the_decoder() -> None:
    condense, generator = condenser("unused")
    assert condense("do you ship to Canada?", []) == "do you ship to Canada?"
    assert generator.received == []


@pytest.mark.parametrize("reply", ["", "   ", "word " * 200])
def test_an_empty_or_rambling_rewrite_falls_back_to_the_rules(reply: str) -> None:
    condense, _ = condenser(reply)
    assert condense("what about sale items?", HISTORY) == condense_by_rules("what about sale items?", HISTORY)


def test_settings_choose_the_condenser() -> None:
    settings = Settings()
    render = partial(render_prompt, settings.prompts_dir)
    assert make_condenser(replace(settings, condense="off"), None, render)("and sale?", HISTORY) == "and sale?"
    assert make_condenser(replace(settings, condense="rules"), None, render) is condense_by_rules
    assert isinstance(make_condenser(replace(settings, condense="model"), ScriptedGenerator(), render), ModelCondenser)
    with pytest.raises(SettingsError, match="needs the decoder"):
        make_condenser(replace(settings, condense="model"), None, render)
    with pytest.raises(SettingsError, match="condense must be one of"):
        make_condenser(replace(settings, condense="magic"), None, render)


@pytest.mark.parametrize(("question", "history", "query"), [
    # Its own ask ("how long") with the earlier question's subject: not the earlier "how much".
    ("how long does it take?", ["how much is shipping to Germany?"], "shipping to Germany how long does it take?"),
    # A fragment borrows the earlier ask as well.
    ("and for sale items?", ["how long do I have to return stuff"], "how long do I have to return stuff and for sale items?"),
    ("what about to ireland", ["how much is delivery to france?"], "how much is delivery to france? what about to ireland"),
])
def test_a_follow_up_with_its_own_ask_takes_only_the_earlier_subject(question: str, history: list[str], query: str) -> None:
    assert condense_by_rules(question, [{"role": "user", "content": turn} for turn in history]) == query
