"""Checking answers against their sources: fact spellings, names, support scores and the quoted fallback."""

from __future__ import annotations

import pytest

from chatbot.answer.grounding import (
    Dropped,
    embedding_similarity,
    extract,
    ground,
    passage_sentences,
    sentences,
    support_score,
)
from chatbot.knowledge.ingest import read_knowledge_base
from chatbot.settings import REPO_ROOT
from chatbot.text.facts import facts_in
from chatbot.text.names import names_in, unsupported_names
from chatbot.values import Passage
from tests.fakes import ToyEmbedder

RETURNS = (
    "Full-price items can be returned within 30 days of delivery for a full refund. "
    "Refunds are issued within 5 business days of the return arriving at our Leeds warehouse. "
    'Sale items can be returned within 14 days, but clearance items marked "Final Sale" cannot be returned. '
    "Return postage is free for UK orders, e.g. by Royal Mail or Evri drop-off."
)
STORE = "Maple & Moss"
CONTACT = "our support team at help@maplemoss.example or 0113 496 0123 (Mon-Fri 8:00-18:00)"


def passage(text: str, title: str = "Policy", headings: tuple[str, ...] = ()) -> Passage:
    return Passage("p", "policy", title, text, "policy.md", headings)


@pytest.fixture
def returns() -> Passage:
    return passage(RETURNS, "Returns and refunds", ("Return window",))


# --- Facts: equivalent spellings match. -------------------------------------------------------


@pytest.mark.parametrize(
    ("one", "other", "facts"),
    [
        ("30 days", "thirty days", {"30"}),
        ("30 days", "a 30-day window", {"30"}),
        ("10%", "10 percent", {"10"}),
        ("10%", "ten per cent", {"10"}),
        ("£50", "50 pounds", {"50"}),
        ("£50", "£50.00", {"50"}),
        ("£1,000", "1000 pounds", {"1000"}),
        ("50p", "£0.50", {"0.50"}),
        ("the 1st", "the first", {"1"}),
        ("the 21st", "the twenty-first", {"21"}),
        ("21", "twenty-one", {"21"}),
        ("21", "twenty one", {"21"}),
        ("150", "one hundred and fifty", {"150"}),
        ("25 December", "25th December", {"25", "25 December"}),
        ("25 December", "December 25", {"25", "25 December"}),
        ("25 December", "the twenty-fifth of December", {"25", "25 December"}),
        ("2 to 4 business days", "2-4 business days", {"2", "4", "2-4"}),
        ("2 to 4 business days", "between 2 and 4 business days", {"2", "4", "2-4"}),
        ("2 to 4 business days", "2–4 business days", {"2", "4", "2-4"}),
        ("6pm", "18:00", {"18:00"}),
        ("6pm", "6 pm", {"18:00"}),
        ("6pm", "6 p.m.", {"18:00"}),
        ("6:30pm", "18:30", {"18:30"}),
        ("12pm", "noon", {"12:00"}),
        ("8am to 6pm", "8:00-18:00", {"8:00", "18:00", "8:00-18:00"}),
    ],
)
def test_equivalent_spellings_give_the_same_facts(one: str, other: str, facts: set[str]) -> None:
    assert facts_in(one) == facts_in(other) == facts


@pytest.mark.parametrize(
    ("text", "facts"),
    [
        ("no one will call you, but one of our team will email", set()),  # "one" as a pronoun is no count
        ("a one-hour delivery window", {"1"}),
        ("Call 0113 496 0123 or write to help@shop.example.", {"0113", "496", "0123", "help@shop.example"}),
        ("Standard delivery costs £3.95 - 2 to 4 days.", {"3.95", "2", "4", "2-4"}),  # a spaced hyphen is no range
        ("You may return it by 2 May.", {"2", "2 May"}),
    ],
)
def test_facts_of_tricky_texts(text: str, facts: set[str]) -> None:
    assert facts_in(text) == facts


@pytest.mark.parametrize(
    ("source", "sentence"),
    [
        ("Full-price items can be returned within 30 days.", "You have thirty days to return them [1]."),
        ("Get 10% off your first order.", "Get ten per cent off your 1st order [1]."),
        ("Free delivery on orders of £50 or more.", "Delivery is free over fifty pounds [1]."),
        ("Orders placed by 20 December arrive before Christmas.", "Order by December 20th [1]."),
        ("Standard delivery takes 2 to 4 business days.", "It takes 2-4 business days [1]."),
        ("Phone lines are open 8am to 6pm.", "Call us between 8:00 and 18:00 [1]."),
        ("Next-day orders must be placed by 2pm.", "Order by 14:00 for next-day delivery [1]."),
        ("Next-day orders must be placed by 2pm.", "The cut-off is 14:00 [1]."),  # the same time
    ],
)
def test_a_fact_in_another_spelling_is_kept(source: str, sentence: str) -> None:
    assert ground(sentence, [passage(source)]) == (sentence, ())


@pytest.mark.parametrize(
    ("source", "sentence", "reason"),
    [
        ("Standard delivery takes 2 to 4 business days.", "It takes 2 to 7 business days [1].", "2-7"),
        ("Orders placed by 20 December arrive before Christmas.", "Order by 20 January [1].", "20 January"),
        ("Phone lines are open 8am to 6pm.", "Call us until 8pm [1].", "20:00"),
        ("Free delivery on orders of £50 or more.", "Delivery is free over £40.00 [1].", "40"),
        ("Returns are accepted within 30 days.", "Gifts get 7 days [1].", "7"),
    ],
)
def test_a_fact_its_source_lacks_is_dropped_and_named(source: str, sentence: str, reason: str) -> None:
    assert ground(sentence, [passage(source)]) == ("", (Dropped(sentence, f"not in its sources: {reason}"),))


def test_ground_keeps_its_two_argument_form(returns: Passage) -> None:
    kept, dropped = ground("You have 30 days [1]. Gift returns get 7 days [1].", [returns])
    assert kept == "You have 30 days [1]."
    assert dropped == (Dropped("Gift returns get 7 days [1].", "not in its sources: 7"),)


def test_support_contact_facts_are_always_allowed(returns: Passage) -> None:
    sentence = "Call 0113 496 0123 on Mon-Fri from 8am to 6pm [1]."
    assert ground(sentence, [returns], allowed=[STORE, CONTACT]) == (sentence, ())
    assert ground(sentence, [returns])[1][0].reason.startswith("not in its sources: 0113, 0123")


# --- Names. ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "missing"),
    [
        ("We send returns by DHL [1].", ["DHL"]),
        ("You can pay for it with PayPal [1].", ["PayPal"]),
        ("Refunds take longer on Sunday [1].", ["Sunday"]),
        ("Sunday returns are refunded on Monday [1].", ["Sunday", "Monday"]),  # a weekday counts at the start too
        ("Return postage is free to the Isle of Wight [1].", ["Isle of Wight"]),
        ("UPS collects returns [1].", ["UPS"]),  # an acronym counts at the start too
        ("Refunds go to your Amazon account [1].", ["Amazon"]),
    ],
)
def test_a_name_its_sources_lack_is_dropped(returns: Passage, sentence: str, missing: list[str]) -> None:
    assert unsupported_names(sentence, [returns.indexed_text]) == missing
    assert ground(sentence, [returns]) == ("", (Dropped(sentence, "names what its sources do not: " + ", ".join(missing)),))


@pytest.mark.parametrize(
    "sentence",
    [
        "Refunds are issued within 5 business days [1].",  # capitalised only for starting the sentence
        "Yes, I can help: Please note that sale items have 14 days [1].",
        "No, clearance items marked \"Final Sale\" cannot be returned [1].",
        "Steps:\n- Drop it off with Royal Mail or Evri [1].",
        "Your refund comes from our LEEDS warehouse [1].",  # names compare without case
        "Send it by Royal Mail [1].",
        "Returns to the warehouse in Leeds are free for UK orders [1].",
        "Returns are free for Royal Mail drop-offs [1].",  # part of a multiword name
    ],
)
def test_sentence_starts_and_names_in_the_source_are_kept(returns: Passage, sentence: str) -> None:
    assert unsupported_names(sentence, [returns.indexed_text]) == []
    assert ground(sentence, [returns])[1] == ()


def test_the_store_name_passes_when_allowed(returns: Passage) -> None:
    sentence = "You can return full-price items to Maple & Moss within 30 days [1]."
    assert ground(sentence, [returns], allowed=[STORE, CONTACT]) == (sentence, ())
    assert ground(sentence, [returns])[1] == (Dropped(sentence, "names what its sources do not: Maple & Moss"),)


def test_month_names_must_be_in_the_source() -> None:
    source = passage("Christmas gifts bought in November or December can be returned until 31 January.")
    assert ground("Gifts bought in December can be returned until 31 January [1].", [source])[1] == ()
    dropped = ground("Gifts bought in October can be returned until 31 January [1].", [source])[1]
    assert [d.reason for d in dropped] == ["names what its sources do not: October"]
    assert names_in("You may return it in May, or by 2 May.") == [("May",)]  # the month, not the verb


def test_acronyms_abbreviations_and_multiword_names_match_their_long_forms() -> None:
    source = "We deliver to all European Union countries, Monday to Friday, and to the Isle of Man."
    assert unsupported_names("We deliver to the EU on Mon-Fri, and the Isle of Man [1].", [source]) == []


def test_name_check_can_be_turned_off(returns: Passage) -> None:
    assert ground("We send returns by DHL [1].", [returns], check_names=False) == ("We send returns by DHL [1].", ())


def test_several_reasons_are_joined() -> None:
    source = passage("Returns are accepted within 30 days.")
    assert ground("Gifts get 7 days with DHL [1].", [source], min_support=0.9)[1][0].reason == (
        "not in its sources: 7; names what its sources do not: DHL; weakly supported (0.25 < 0.90)"
    )


# --- Support score. ----------------------------------------------------------------------------


def test_a_paraphrase_scores_above_an_unrelated_sentence() -> None:
    paraphrase = support_score("You can send full-price items back within 30 days for a refund.", [RETURNS])
    loose = support_score("Refunds for sale items come by cheque.", [RETURNS])
    unrelated = support_score("Gift cards never expire and work in our shops.", [RETURNS])
    assert paraphrase == pytest.approx(7 / 9)
    assert loose == pytest.approx(3 / 5)
    assert unrelated == 0.0
    assert paraphrase > loose > unrelated


@pytest.mark.parametrize(
    ("sentence", "score"),
    [
        ("Yes, of course!", 1.0),  # nothing to support
        ("The answer is: no. [1]", 1.0),  # words about the conversation are not checked
        ("Returns arrive at our Leeds warehouse.", 1.0),
        ("Returning items is free.", 1.0),  # stemmed: returning / returned, items / item
        ("Full-price items get thirty days.", 1.0),  # numbers in one spelling
    ],
)
def test_support_score_of_short_sentences(sentence: str, score: float) -> None:
    assert support_score(sentence, [RETURNS]) == pytest.approx(score)


def test_allowed_words_count_as_support() -> None:
    assert support_score("Maple & Moss refunds within 30 days.", [RETURNS]) == pytest.approx(4 / 6)
    assert support_score("Maple & Moss refunds within 30 days.", [RETURNS], [STORE]) == 1.0


def test_min_support_drops_weakly_supported_sentences(returns: Passage) -> None:
    text = "Full-price items can be returned within 30 days [1]. Gift cards never expire [1]."
    assert ground(text, [returns]) == (text, ())  # off by default
    assert ground(text, [returns], min_support=0.4) == (
        "Full-price items can be returned within 30 days [1].",
        (Dropped("Gift cards never expire [1].", "weakly supported (0.00 < 0.40)"),),
    )


def test_support_is_judged_against_the_cited_passage_only(returns: Passage) -> None:
    gifts = passage("Gift cards never expire and can be used online.", "Gift cards")
    text = "Gift cards never expire [2]. Gift cards never expire [1]."
    assert ground(text, [returns, gifts], min_support=0.5) == (
        "Gift cards never expire [2].",
        (Dropped("Gift cards never expire [1].", "weakly supported (0.00 < 0.50)"),),
    )


def test_a_similarity_replaces_the_word_share(returns: Passage) -> None:
    seen: list[tuple[str, list[str]]] = []

    def similarity(sentence: str, texts: list[str]) -> float:
        seen.append((sentence, list(texts)))
        return 0.25

    kept, dropped = ground("Full-price items can be returned within 30 days [1].", [returns], min_support=0.3,
                           similarity=similarity)
    assert seen == [("Full-price items can be returned within 30 days.", [returns.indexed_text])]
    assert (kept, [d.reason for d in dropped]) == ("", ["weakly supported (0.25 < 0.30)"])


def test_embedding_similarity_is_the_best_cosine_with_a_passage_sentence() -> None:
    embedder = ToyEmbedder()
    similarity = embedding_similarity(embedder)
    assert similarity("Refunds are issued within 5 business days of the return arriving at our Leeds warehouse.",
                      [RETURNS]) == pytest.approx(1.0)
    # 6 words, all in the 13 of the passage's second sentence (toy bag of words): 6 / sqrt(6 * 13)
    assert similarity("Refunds are issued within 5 days.", [RETURNS]) == pytest.approx(6 / 78**0.5)
    assert similarity("Tea towels fade.", [RETURNS]) == 0.0
    assert similarity("Refunds take 5 days.", []) == 0.0
    calls = len(embedder.calls)
    similarity("Tea towels fade.", [RETURNS])
    assert len(embedder.calls) == calls  # the passage's sentences were embedded once


# --- Sentences and the quoted fallback. ------------------------------------------------------------


def test_a_quotation_is_one_sentence() -> None:
    assert sentences('Our policy says: "Sale: 14 days. Gifts: 30 days." [1] Ask us.') == [
        'Our policy says: "Sale: 14 days. Gifts: 30 days." [1]',
        "Ask us.",
    ]
    assert sentences('He said "hi. Bye.') == ['He said "hi.', "Bye."]  # an unclosed quote joins nothing


def test_passage_sentences_are_whole() -> None:
    assert passage_sentences(RETURNS)[3] == "Return postage is free for UK orders, e.g. by Royal Mail or Evri drop-off."
    assert passage_sentences("Costs £3.95. Free over £50!\n- Rugs\n2. Beds") == ["Costs £3.95.", "Free over £50!", "Rugs", "Beds"]


@pytest.mark.parametrize(
    ("question", "quoted"),
    [
        (
            "How long do I have to return full-price items?",
            (
                "Full-price items can be returned within 30 days of delivery for a full refund. Sale items can be "
                'returned within 14 days, but clearance items marked "Final Sale" cannot be returned.'
            ),
        ),
        (
            "when will i get my refund",
            (
                "Full-price items can be returned within 30 days of delivery for a full refund. "
                "Refunds are issued within 5 business days of the return arriving at our Leeds warehouse."
            ),
        ),
        ("is return postage free?", "Return postage is free for UK orders, e.g. by Royal Mail or Evri drop-off."),
    ],
)
def test_extract_quotes_the_most_relevant_sentences_in_passage_order(returns: Passage, question: str, quoted: str) -> None:
    answer = extract(question, [returns, passage("Unrelated text about refunds.")])
    assert answer == f'Our policy says: "{quoted}" [1]'
    assert ground(answer, [returns], allowed=[STORE, CONTACT], min_support=0.5) == (answer, ())


def test_extract_respects_its_limits(returns: Passage) -> None:
    assert extract("What's the weather in Paris?", [returns]) == ""
    assert extract("How long do I have to return items?", []) == ""
    assert extract("return refund", [returns], max_sentences=1) == (
        'Our policy says: "Full-price items can be returned within 30 days of delivery for a full refund." [1]'
    )
    assert extract("when will i get my refund", [returns], min_overlap=2) == ""
    assert extract("refund", [returns], max_sentences=1, intro="From our returns page:").startswith(
        'From our returns page: "Full-price'
    )


def test_ground_keeps_every_extract_from_the_knowledge_base_whole() -> None:
    passages = read_knowledge_base(REPO_ROOT / "knowledge_base").passages
    checked = 0
    for p in passages:
        answer = extract(" ".join((p.title, *p.headings)) + " " + p.text.split(".")[0], [p], max_sentences=3)
        assert answer, p.id
        assert ground(answer, [p], allowed=[STORE, CONTACT], min_support=1.0) == (answer, ()), p.id
        checked += 1
    assert checked == len(passages) > 50
