"""Places named with their region, so the pages' "other EU countries" or "countries in Asia" are found."""

from __future__ import annotations

import pytest

from chatbot.text.places import with_regions


@pytest.mark.parametrize(("text", "expected"), [
    ("sending a £130 order to italy, how much is shipping?",
     "sending a £130 order to italy (an EU country in Europe), how much is shipping?"),
    ("do you deliver to South Korea?", "do you deliver to South Korea (a country in Asia)?"),
    ("Paris or Berlin?", "Paris (an EU country in Europe) or Berlin?"),  # a region once
    ("do you ship to Ireland or Norway?", "do you ship to Ireland or Norway?"),  # priced apart by shops
    ("I'm in Guernsey", "I'm in Guernsey"),
    ("can I return a romantic gift", "can I return a romantic gift"),  # "Rome" only as a word
])
def test_a_place_is_followed_by_its_region(text: str, expected: str) -> None:
    assert with_regions(text) == expected


@pytest.mark.real
def test_an_eu_country_the_pages_do_not_name_gets_the_eu_price(real_pipeline) -> None:
    answer = real_pipeline.answer("sending a £130 order to italy, how much is shipping?")
    assert not answer.escalate and "other EU countries £9.95" in answer.text
