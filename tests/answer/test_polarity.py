"""Sentences that say the opposite of their sources, and ones that only look as if they do."""

from __future__ import annotations

import pytest

from chatbot.answer.grounding import ground
from chatbot.answer.polarity import clauses, contradicted, negated
from chatbot.knowledge.ingest import read_knowledge_base
from chatbot.settings import REPO_ROOT
from chatbot.text.words import passage_sentences
from chatbot.values import Passage

DELIVERY = (
    "We deliver to every country in the European Union. Maple & Moss does not currently deliver to countries in "
    "Asia (including Japan, China, India and Singapore), Africa or South America. International orders usually "
    "arrive within 5 to 10 working days."
)
RETURNS = (
    "Full-price items can be returned within 30 days of delivery for a full refund. "
    'Sale items can be returned within 14 days, but clearance items marked "Final Sale" cannot be returned. '
    "Return postage is free for UK orders."
)


@pytest.mark.parametrize("sentence", [
    "Yes, we deliver to Japan [1].",
    "Yes we deliver to Japan and China.",
    "Maple & Moss delivers to countries in Asia.",
    "International orders do not arrive within 5 to 10 working days.",
    "We don't deliver to the European Union.",
])
def test_a_sentence_that_turns_its_source_around_is_found(sentence: str) -> None:
    assert contradicted(sentence, [DELIVERY])


@pytest.mark.parametrize("sentence", [
    "No, we do not deliver to Japan [1].",
    "No, Maple & Moss doesn't deliver to Asia.",
    "We deliver to the European Union, but not to Asia.",
    "We deliver to every country in the EU.",
    "International orders arrive within 5 to 10 working days.",
    "We only deliver to the European Union.",  # a restriction, which the page words the other way
    "Orders to Japan are not possible.",  # shares one word with the page's clause: not compared
])
def test_a_sentence_that_agrees_or_cannot_be_compared_is_left_alone(sentence: str) -> None:
    assert contradicted(sentence, [DELIVERY]) == ""


@pytest.mark.parametrize(("sentence", "opposite"), [
    ("Sale items cannot be returned within 14 days.", True),
    ("Sale items can be returned within 14 days.", False),
    ('Clearance items marked "Final Sale" can be returned.', True),
    ('Clearance items marked "Final Sale" cannot be returned.', False),
    ("Return postage costs £5 for UK orders.", True),  # "free" is "not charged"
    ("Return postage costs nothing for UK orders.", False),
    ("Return postage is not free for UK orders.", True),
])
def test_clauses_are_matched_to_the_clause_that_shares_their_words(sentence: str, opposite: bool) -> None:
    assert bool(contradicted(sentence, [RETURNS])) is opposite


def test_idioms_and_a_leading_yes_or_no_are_not_negations() -> None:
    assert not negated("Refunds take no more than 5 days")
    assert not negated("Returns are accepted, no questions asked")
    assert not negated("No, returns are free")
    assert negated("Nope, we can't do that")
    turning = "Free in the UK; £5 elsewhere, however tracked costs more"
    assert clauses(turning) == ["Free in the UK", "£5 elsewhere", "tracked costs more"]


def test_ground_drops_the_contradiction_and_says_which_source_clause_it_turned() -> None:
    page = Passage("d", "delivery", "International delivery", DELIVERY, "delivery.md")
    kept, dropped = ground("Yes, we deliver to Japan [1]. Orders arrive within 5 to 10 working days [1].", [page])
    assert kept == "Orders arrive within 5 to 10 working days [1]."
    assert [d.sentence for d in dropped] == ["Yes, we deliver to Japan [1]."]
    assert dropped[0].reason.startswith('says the opposite of its sources: "Maple & Moss does not currently deliver')
    assert ground("Yes, we deliver to Japan [1].", [page], check_polarity=False)[0] == "Yes, we deliver to Japan [1]."


def test_every_sentence_of_the_demo_pages_agrees_with_its_own_page() -> None:
    """Quoting a page back must never count as contradicting it."""
    base = read_knowledge_base(REPO_ROOT / "knowledge_base", 800)
    said = [(p, sentence) for p in base.passages for sentence in passage_sentences(p.text)]
    assert len(said) > 300
    assert [(p.id, sentence) for p, sentence in said if contradicted(sentence, [p.text])] == []
