"""The agent-assist desk with fake models: drafts (a greeting, the cited answers, the shop's
sign-off; or a plain note when nothing answers), orders without the shopper's check, next actions,
the queue, feedback, and loading another store's knowledge base."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from chatbot.answer.pipeline import Pipeline
from chatbot.errors import ChatbotError, QuestionError
from chatbot.knowledge.index import build_index
from chatbot.knowledge.ingest import read_knowledge_base
from chatbot.knowledge.retrieval import HybridRetriever
from chatbot.orders.chat import OrderDesk
from chatbot.orders.store import open_order_store
from chatbot.service import create_assist_desk
from chatbot.settings import Settings
from chatbot.support.assist import (
    ANSWER,
    ASK_FOR_ORDER_NUMBER,
    ESCALATE,
    AssistDesk,
    CustomerMessage,
    highlight,
    latest_message,
    next_action,
    read_customer_message,
)
from chatbot.support.log import open_support_log
from chatbot.support.triage import Triage
from chatbot.text.words import passage_sentences
from chatbot.values import Answer
from tests.fakes import ScriptedGenerator, ToyEmbedder

RETURN_REPLY = "Full-price items can be returned within 30 days of delivery [1]."
SIGN_OFF = "\n\nBest wishes,\nThe Maple & Moss team"


@pytest.fixture
def shop(tmp_path: Path):
    with open_order_store(f"sqlite:///{tmp_path / 'orders.db'}") as store:
        store.seed_demo(count=40)
        yield store


@pytest.fixture
def support_log(tmp_path: Path):
    with open_support_log(f"sqlite:///{tmp_path / 'support.db'}") as log:
        yield log


@pytest.fixture
def make_desk(toy_settings: Settings, toy_embedder: ToyEmbedder, shop, support_log, tmp_path: Path):
    build_index(read_knowledge_base(toy_settings.kb_dir).passages, toy_embedder, toy_settings.index_dir)
    settings = replace(toy_settings, triage_file="", panel_index_dir=tmp_path / "indexes")

    def make(*replies: str, style: str = "generative") -> tuple[AssistDesk, ScriptedGenerator]:
        styled = replace(settings, answer_style=style)
        generator = ScriptedGenerator(*replies)
        retriever = HybridRetriever.from_settings(styled, toy_embedder)
        pipeline = Pipeline(retriever, generator, styled, orders=OrderDesk(shop))
        return create_assist_desk(styled, pipeline, toy_embedder, support_log), generator

    return make


@pytest.mark.parametrize(
    ("thread", "newest"),
    [
        ("Where is my refund?", "Where is my refund?"),
        ("Still nothing!\n\nOn Mon, 3 Nov 2026 at 09:12, Maple & Moss <help@maplemoss.example> wrote:\n> Your refund is on its way.",
         "Still nothing!"),
        ("It came broken.\n> Thanks for your order\nPlease help", "It came broken.\nPlease help"),
        ("Any news?\n-----Original Message-----\nFrom: Maple & Moss\nYour parcel has shipped.", "Any news?"),
        ("Hi team,\nWhere is it?\nSent from my iPhone", "Hi team,\nWhere is it?"),
        ("> only a quote", "> only a quote"),
    ],
)
def test_the_newest_message_of_an_email_thread_is_read(thread: str, newest: str) -> None:
    assert latest_message(thread) == newest


def test_highlight_marks_the_words_the_question_shares() -> None:
    pieces = highlight("Sale items can be returned within 14 days of delivery.", "can I return a sale item after 14 days?")
    assert [text for text, hit in pieces if hit] == ["Sale items", "returned", "14 days"]
    assert "".join(text for text, _ in pieces) == "Sale items can be returned within 14 days of delivery."


UPSET = Triage("complaint", "negative", "high", "en")
CALM = Triage("return", "neutral", "low", "en")
DISPUTE = Triage("payment", "neutral", "high", "en", payment_dispute=True)


@pytest.mark.parametrize(
    ("message", "answer", "number", "found", "triage", "action"),
    [
        ("How do I return?", Answer("Within 30 days [1].", (), 0.8, False, "answered"), "", False, CALM, ANSWER),
        ("Where is order 12345?", Answer("..."), "12345", False, CALM, ASK_FOR_ORDER_NUMBER),
        ("Where is my parcel?", Answer("Within 30 days [1].", (), 0.8, False, "answered"), "", False, CALM, ASK_FOR_ORDER_NUMBER),
        ("Can I sue you?", Answer("A person will help.", (), 0.2, True, "sensitive"), "", False, CALM, ESCALATE),
        ("Return a sofa bed?", Answer("A person will help.", (), 0.2, True, "no_evidence"), "", False, CALM, ESCALATE),
        ("Charged twice!!", Answer("Within 30 days [1].", (), 0.8, False, "answered"), "", False, UPSET, ESCALATE),
        ("I see two payments", Answer("Pending holds drop off [1].", (), 0.8, False, "answered"), "", False, DISPUTE, ESCALATE),
        ("Capital of France?", Answer("I can only help with the shop.", (), 0.1, True, "off_topic"), "", False, CALM, ANSWER),
    ],
)
def test_next_action(message: str, answer: Answer, number: str, found: bool, triage: Triage, action: str) -> None:
    assert next_action(message, answer, number, None, triage).action == action


def test_a_pasted_question_gets_passages_a_cited_draft_and_is_stored(make_desk, support_log) -> None:
    desk, _ = make_desk(RETURN_REPLY)
    draft = desk.draft("I'm jo@example.com. How many days do I have to return a full-price item?", "ana")
    assert draft.answer.text == f"Hello,\n\n{RETURN_REPLY}{SIGN_OFF}" and draft.answer.sources[0].title == "Returns and refunds"
    assert draft.passages[0].doc_id == "returns" and [p.score for p in draft.passages] == sorted((p.score for p in draft.passages), reverse=True)
    assert draft.next_action.action == ANSWER and draft.order is None and draft.order_number == ""
    [stored] = support_log.drafts()
    assert (stored.id, stored.agent, stored.draft) == (draft.id, "ana", draft.answer.text)
    assert stored.message == "I'm [email]. How many days do I have to return a full-price item?"


def test_staff_see_the_order_without_the_identity_check(make_desk, shop) -> None:
    desk, generator = make_desk()
    order = shop.list_orders("shipped")[0]
    draft = desk.draft(f"Hello, any news on order #{order.number}? Thanks, Sam", "ana")
    assert draft.order == order and draft.order_number == order.number
    assert draft.answer.reason == "order_found" and order.shipment.tracking_number in draft.answer.text
    assert draft.next_action.action == ANSWER and "shipped" in draft.next_action.reason
    assert generator.received == []  # the status reply comes from the record's template, not the model


def test_an_unknown_order_number_asks_the_customer_to_check_it(make_desk) -> None:
    desk, _ = make_desk()
    draft = desk.draft("Where is order 99999?", "ana")
    assert draft.order is None and draft.order_number == "99999" and draft.next_action.action == ASK_FOR_ORDER_NUMBER


def test_a_request_for_a_person_does_not_stop_the_draft(make_desk) -> None:
    desk, _ = make_desk(RETURN_REPLY)
    draft = desk.draft("I want to speak to a real person! How many days do I have to return a full-price item?", "ana")
    assert draft.answer.reason == "answered" and draft.answer.text == f"Hello,\n\n{RETURN_REPLY}{SIGN_OFF}"


@pytest.mark.parametrize(
    ("message", "read"),
    [
        ("Hi Maple & Moss team,\nWhere is my refund?\n\nKind regards,\nSam Jones\n07700 900123",
         CustomerMessage("Where is my refund?", "Sam")),
        ("Dear Sir/Madam,\nMy sofa arrived broken. Can I return it?\nYours faithfully,\nMrs Smith",
         CustomerMessage("My sofa arrived broken. Can I return it?", "Mrs Smith")),
        ("hi whats ur return policy? thx", CustomerMessage("whats ur return policy?")),
        ("Hey I need help. Can I return a rug?\n- Zoë", CustomerMessage("I need help. Can I return a rug?", "Zoë")),
        ("Where is it? Thanks! Also, can I return it?", CustomerMessage("Where is it? Thanks! Also, can I return it?")),
        ("Can I return it?\nThanks, Maple & Moss team", CustomerMessage("Can I return it?")),
        ("Can I return it?\nThanks, but the lamp is broken.", CustomerMessage("Can I return it? Thanks, but the lamp is broken.")),
        ("Hiking boots: can I return them?", CustomerMessage("Hiking boots: can I return them?")),
    ],
)
def test_the_customers_greeting_and_signature_are_set_apart(message: str, read: CustomerMessage) -> None:
    # A name only from a signature; a thanks followed by a question or a complaint is the message.
    assert read_customer_message(message) == read


EMAIL = ("Hi Maple & Moss team,\nI bought a lamp in the sale. How long do I have to return sale items, and how much is "
         "UK delivery?\n\nThanks,\nPriya")


def test_two_questions_in_one_email_get_two_cited_answers_between_a_greeting_and_a_sign_off(make_desk) -> None:
    desk, generator = make_desk(style="extractive")
    draft = desk.draft(EMAIL, "ana")
    assert draft.answer.text == (
        "Hi Priya,\n\n"
        "Sale items can be returned within 14 days of delivery. [1] "
        "Standard UK delivery costs £3.95 and takes 2 to 4 business days. [2]" + SIGN_OFF)
    assert [s.doc_id for s in draft.answer.sources] == ["returns", "shipping"]
    assert draft.next_action.reason == "The draft is supported by 2 cited passages." and generator.received == []


@pytest.mark.parametrize("style", ["extractive", "generative"])
def test_a_draft_never_repeats_the_customers_email(make_desk, style: str) -> None:
    # The decoder imitates what it is shown: "Hi Maple & Moss team, [1]" was once a whole draft.
    desk, generator = make_desk(RETURN_REPLY, style=style)
    email = ("Hi Maple & Moss team,\nI love the oak lamp. How many days do I have to return a full-price item?\n"
             "Kind regards,\nPriya Shah\n07700 900123")
    draft = desk.draft(email, "ana")
    text = draft.answer.text
    assert text.startswith("Hi Priya,\n\nFull-price items can be returned within 30 days of delivery") and text.endswith(SIGN_OFF)
    assert [sentence for sentence in passage_sentences(email) if sentence in text] == [] and text.count("Priya") == 1
    assert draft.order_number == "" and draft.next_action.action == ANSWER  # the phone number is no order number
    if style == "generative":  # the decoder saw the questions, not the greeting or the signature
        [[_, (_, prompt)]] = [[(m["role"], m["content"]) for m in sent] for sent in generator.received]
        assert "I love the oak lamp. How many days" in prompt and "Maple & Moss team" not in prompt and "Priya" not in prompt
    else:
        assert generator.received == []


@pytest.mark.parametrize(
    ("message", "action"),
    [
        ("Hello,\nDo you sell gift vouchers for spas?\nThanks, Sam",
         ("Escalate to a specialist. No passage in the knowledge base answers this: a specialist should reply (and the "
          "answer may be worth adding to the knowledge base).")),
        ("Hi, where is order 99999?",
         "Ask for the order number. Order 99999 is not in the order store: ask the customer to check the number."),
    ],
)
def test_a_message_nothing_answers_gets_a_note_with_the_next_action(make_desk, support_log, message: str, action: str) -> None:
    desk, _ = make_desk(style="extractive")
    draft = desk.draft(message, "ana")
    note = f"No reply drafted: Maple & Moss's knowledge base does not answer this message.\nNext action: {action}"
    assert draft.answer.text == note and support_log.drafts()[0].draft == note


def test_regenerate_samples_another_wording(make_desk) -> None:
    desk, generator = make_desk(RETURN_REPLY, RETURN_REPLY)
    desk.draft("How many days do I have to return a full-price item?", "ana")
    desk.draft("How many days do I have to return a full-price item?", "ana", regenerate=True)
    assert generator.temperatures == [None, 0.7]


def test_an_empty_message_is_refused(make_desk) -> None:
    desk, _ = make_desk()
    with pytest.raises(QuestionError, match="Paste the customer's message"):
        desk.draft("  \n ", "ana")


def test_a_queued_chat_is_answered_with_its_history_then_leaves_the_queue(make_desk, support_log) -> None:
    desk, _ = make_desk("Standard UK delivery costs £3.95 [1].")
    conversation = support_log.new_conversation()
    support_log.record_turn(conversation, "How much is UK delivery?", Answer("It costs £3.95 [1].", (), 0.7, False, "answered"))
    support_log.record_turn(conversation, "and to Jersey?", Answer("Let me get a person.", (), 0.1, True, "no_evidence"))
    assert [c.id for c in desk.queue()] == [conversation]
    question, history, reason = desk.conversation(conversation)
    assert (question, reason) == ("and to Jersey?", "no_evidence")
    assert history == [{"role": "user", "content": "How much is UK delivery?"}, {"role": "assistant", "content": "It costs £3.95 [1]."}]
    draft = desk.draft(question, "ben", history, conversation)
    desk.rate(draft.id, "edited", "We don't deliver to Jersey yet, sorry.")
    assert desk.queue() == [] and support_log.drafts("edited")[0].final_text == "We don't deliver to Jersey yet, sorry."
    assert desk.conversation(conversation)[2] == "handled"


def test_a_queued_chat_opens_at_its_escalated_question_not_its_last(make_desk, support_log) -> None:
    desk, _ = make_desk()
    conversation = support_log.new_conversation()
    support_log.record_turn(conversation, "How much is UK delivery?", Answer("It costs £3.95 [1].", (), 0.7, False, "answered"))
    support_log.record_turn(conversation, "Do you deliver to Jersey?", Answer("Let me get a person.", (), 0.1, True, "no_evidence"))
    support_log.record_turn(conversation, "And sale items?", Answer("14 days [1].", (), 0.7, False, "answered"))
    question, history, reason = desk.conversation(conversation)
    assert (question, reason) == ("Do you deliver to Jersey?", "no_evidence")
    assert history == [{"role": "user", "content": "How much is UK delivery?"}, {"role": "assistant", "content": "It costs £3.95 [1]."}]


def test_feedback_needs_a_draft_and_a_log(make_desk, toy_settings) -> None:
    desk, _ = make_desk()
    with pytest.raises(ChatbotError, match="Draft a reply first"):
        desk.rate(None, "good")
    desk.log = None
    with pytest.raises(ChatbotError, match="support log is off"):
        desk.rate(1, "good")


def test_another_stores_folder_is_indexed_with_progress_and_used(make_desk, tmp_path: Path) -> None:
    desk, _ = make_desk()
    folder = tmp_path / "other_store"
    folder.mkdir()
    (folder / "gift-cards.md").write_text("# Gift cards\n\nGift cards never expire and can be used online.\n", encoding="utf-8")
    (folder / "broken.md").write_bytes(b"\xff\xfe not utf-8")
    seen: list[tuple[int, int]] = []
    kb = desk.use_knowledge_base(str(folder), lambda done, total: seen.append((done, total)))
    assert (kb.folder, kb.passages, kb.embedded) == (folder.resolve(), 1, 1) and seen == [(1, 1)]
    assert kb.skipped and kb.skipped[0].startswith("broken.md: not valid UTF-8")
    assert [p.doc_id for p in desk.search("do gift cards expire")] == ["gift-cards"]
    assert desk.use_knowledge_base(folder).embedded == 0  # loaded again: nothing re-embedded
    with pytest.raises(ChatbotError, match="No folder"):
        desk.use_knowledge_base(tmp_path / "missing")
    with pytest.raises(ChatbotError, match="Give the path"):
        desk.use_knowledge_base("  ")
