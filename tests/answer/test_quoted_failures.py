"""The wrong answers a new user met (issue 33), asked again of the bundled store with the default
settings: each must now be right, or handed to a person, never the opposite of its page."""

from __future__ import annotations

import re

import pytest

from chatbot.answer.grounding import ground
from chatbot.knowledge.ingest import read_knowledge_base
from chatbot.settings import REPO_ROOT

pytestmark = pytest.mark.real

SALE = [{"role": "user", "content": "Can I return sale items?"},
        {"role": "assistant", "content": "Sale items can be returned within 14 days of delivery. [1]"}]


@pytest.mark.parametrize(("question", "history"), [
    ("Can I return items marked Final Sale?", []),
    ("What about items marked Final Sale?", SALE),
    ("ok and the ones marked final sale?", SALE),
])
def test_final_sale_items_are_not_returnable(real_pipeline, question: str, history: list) -> None:
    answer = real_pipeline.answer(question, history)
    assert not answer.escalate
    assert re.search(r'"Final Sale"[^.]*cannot be returned', answer.text)
    assert not re.search(r"(?<!cannot )return (items marked )?final sale items? within", answer.text, re.IGNORECASE)


def test_refunds_take_five_business_days_at_the_warehouse(real_pipeline) -> None:
    answer = real_pipeline.answer("how long do refunds take")
    assert "within 5 business days of your return arriving" in answer.text and not answer.escalate


def test_a_cracked_vase_is_reported_to_the_shop_with_photos_and_the_order_number(real_pipeline) -> None:
    answer = real_pipeline.answer("my vase arrived cracked, what do I do?")
    assert "photos of the damage" in answer.text and "order number" in answer.text
    assert "manufacturer" not in answer.text and "board oil" not in answer.text  # cracking wood is another page


def test_a_jumper_that_does_not_fit_is_answered_from_the_returns_page(real_pipeline) -> None:
    answer = real_pipeline.answer("Jumper doesn't fit, how do I return it?")
    assert not answer.escalate
    assert "returns" in [source.doc_id for source in answer.sources]


@pytest.mark.parametrize("written", [
    "You can return items marked Final Sale within 14 days of delivery [1].",
    "Yes, you can return Final Sale items [1].",
    "Yes. [1]",
])
def test_the_answer_check_drops_what_the_decoder_wrote_against_the_returns_page(written: str) -> None:
    pages = [p for p in read_knowledge_base(REPO_ROOT / "knowledge_base").passages if p.doc_id == "returns"]
    final_sale = next(p for p in pages if "Final Sale" in p.text)
    assert ground(written, [final_sale]) == ("", ground(written, [final_sale])[1])
    assert ground(written, [final_sale])[1]
