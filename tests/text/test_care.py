"""What a care question asks about: the care ("dishwasher", "clean") and the thing it asks it of."""

from __future__ import annotations

import pytest

from chatbot.text.care import asked_care
from chatbot.text.words import content_words


@pytest.mark.parametrize(("question", "care", "thing"), [
    ("are your stoneware dinner plates dishwasher safe?", "dishwasher", "stoneware dinner plates"),
    ("are the non-stick pans ok in the dishwasher? and is scratching covered?", "dishwasher", "non-stick pans"),
    ("can i put my jute rug in the washing machine", "wash washable", "jute rug"),
    ("Can I put one of your rugs in the washing machine?", "wash washable", "rugs"),
    ("can the ceramic dinner plates go in the microwave", "microwave", "ceramic dinner plates"),
    ("will the cast iron skillet work on an induction hob", "induction hob", "cast iron skillet"),
    ("Are your cast iron pans suitable for induction hobs?", "induction hob", "cast iron pans"),
    ("how do I clean the jute rug? can it be hoovered?", "clean wash scrub wipe", "jute rug"),
    ("how do i wash my wool jumper without shrinking it", "wash washable", "wool jumper"),
    ("what temp should I wash linen sheets at", "wash washable", "linen sheets"),
    ("whats the max oven temperature for your non stick frying pans", "oven", "non stick frying pans"),
    ("is the throw machine washable?", "wash washable", "throw"),
    ("does it work on induction hobs", "induction hob", ""),  # "it": the conversation's thing
])
def test_a_care_question_names_its_care_and_thing(question: str, care: str, thing: str) -> None:
    asked = asked_care(question)
    assert asked is not None
    assert (asked.care, asked.thing) == (content_words(care), content_words(thing))


@pytest.mark.parametrize("question", [
    "how long do refunds take?",
    "can i return a dishwasher-safe pan I bought in the sale?",
    "my kettle stopped working after 8 months",
    "how do I return it?",  # returning is no care
])
def test_other_questions_ask_no_care(question: str) -> None:
    assert asked_care(question) is None
