"""Answers composed from the pages' own sentences (answer_style "extractive"), with fake models."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chatbot.answer.compose import candidate_sentences, compose, sentence_scores, verdict
from chatbot.answer.pipeline import Decision, Pipeline
from chatbot.errors import SettingsError
from chatbot.knowledge.index import build_index
from chatbot.knowledge.ingest import read_knowledge_base
from chatbot.knowledge.retrieval import HybridRetriever
from chatbot.settings import Settings
from chatbot.values import Passage
from tests.fakes import ScriptedGenerator, ToyEmbedder

RETURNS = Passage("returns#0", "returns", "Returns", "Can I return things? Full-price items can be returned within "
                  "30 days of delivery. Sale items can be returned within 14 days. We love our customers.", "r.md")
DELIVERY = Passage("shipping#0", "shipping", "Delivery", "Standard UK delivery costs £3.95. Delivery is free on "
                   "orders over £50.", "s.md")


def test_a_pages_own_questions_are_not_answers() -> None:
    assert [s for _, _, s in candidate_sentences([RETURNS])] == [
        "Full-price items can be returned within 30 days of delivery.",
        "Sale items can be returned within 14 days.",
        "We love our customers.",
    ]


def test_a_sentence_that_says_a_chosen_one_again_gives_its_place_to_the_next() -> None:
    faq = Passage("f", "faq-klarna", "Can I pay in instalments?",
                  "UK customers can use Klarna to pay in 3 instalments on orders between £30 and £1,000.", "faq.csv")
    page = Passage("p", "payments", "Payments", "Klarna lets you split an order into 3 instalments on orders between £30 and "
                   "£1,000, for UK customers. The first Klarna payment is taken when your order is dispatched.", "p.md")
    chosen = compose("can i pay with klarna in instalments", [faq, page], None, sentences=2)
    assert chosen == ["Yes: UK customers can use Klarna to pay in 3 instalments on orders between £30 and £1,000. [1]",
                      "The first Klarna payment is taken when your order is dispatched. [2]"]


def test_a_sentence_two_passages_share_is_said_once() -> None:
    returns = Passage("r", "returns", "Returns", "Opened food can't be returned. You don't need to send the opened bag back.", "r.md")
    damaged = Passage("d", "damaged", "Damaged", "Damaged food: tell us within 14 days. You don't need to send the opened bag back.", "d.md")
    chosen = compose("do i have to send the opened bag back", [returns, damaged], None, sentences=3)
    assert sum("send the opened bag back" in sentence for sentence in chosen) == 1
    assert "Damaged food: tell us within 14 days. [2]" in chosen


@pytest.mark.parametrize("embedder", [None, ToyEmbedder()], ids=["words", "embedder"])
def test_the_closest_sentences_are_kept_in_the_passages_order_and_cited(embedder: ToyEmbedder | None) -> None:
    chosen = compose("How much is UK delivery, and is it free over £50?", [RETURNS, DELIVERY], embedder, sentences=2)
    assert chosen == ["Standard UK delivery costs £3.95. [2]", "Delivery is free on orders over £50. [2]"]
    assert compose("sale items days", [RETURNS], embedder, sentences=1) == ["Sale items can be returned within 14 days. [1]"]
    assert compose("anything", [], embedder) == []


@pytest.fixture
def extractive(toy_settings: Settings, toy_embedder: ToyEmbedder):
    build_index(read_knowledge_base(toy_settings.kb_dir).passages, toy_embedder, toy_settings.index_dir)
    settings = replace(toy_settings, answer_style="extractive", compose_sentences=1)
    generator = ScriptedGenerator("never written")
    pipeline = Pipeline(HybridRetriever.from_settings(settings, toy_embedder), generator, settings, embedder=toy_embedder)
    return pipeline, generator


def test_an_extractive_answer_is_the_pages_sentence_cited_and_the_decoder_is_not_asked(extractive) -> None:
    pipeline, generator = extractive
    answer = pipeline.answer("How many days to return sale items?")
    assert answer.text == "Sale items can be returned within 14 days of delivery. [1]"
    assert [p.id for p in answer.sources] == ["returns#sale-items"]
    assert (answer.escalate, answer.reason) == (False, "answered")
    assert generator.received == []
    assert pipeline.answer("Who won the football yesterday?").reason == "no_evidence"


def test_the_passage_closest_to_the_question_is_composed_from_whatever_its_rank(extractive) -> None:
    pipeline, _ = extractive
    ranked = [Passage(f"p{i}", f"d{i}", f"D{i}", "Words.", "d.md", score=score) for i, score in enumerate([0.63, 0.6, 0.58, 0.71])]
    chosen = pipeline._composable(Decision(tuple(ranked), 0.71, False, "answered", "q"))
    assert [p.id for p in chosen] == ["p0", "p1", "p3"]


def test_a_follow_up_is_composed_for_its_conversation(extractive) -> None:
    pipeline, _ = extractive
    history = [{"role": "user", "content": "Can I return sale items?"},
               {"role": "assistant", "content": "Yes. [1]"}]
    alone = pipeline.answer("how many days for those?")
    answer = pipeline.answer("how many days for those?", history)
    assert answer.text == "Sale items can be returned within 14 days of delivery. [1]" != alone.text


def test_tickets_are_composed_without_a_decoder(extractive, toy_settings: Settings, toy_embedder: ToyEmbedder) -> None:
    pipeline, _ = extractive
    without_decoder = Pipeline(pipeline.retriever, None, pipeline.settings, embedder=toy_embedder)
    answers = without_decoder.answer_batch(["How many days to return sale items?", "", "Who won the football?"])
    assert answers[0].text == "Sale items can be returned within 14 days of delivery. [1]"
    assert type(answers[1]).__name__ == "QuestionError" and answers[2].escalate


def test_an_unknown_answer_style_is_a_clear_error(toy_settings: Settings, toy_embedder: ToyEmbedder) -> None:
    with pytest.raises(SettingsError, match="answer_style must be one of extractive, generative"):
        Pipeline(HybridRetriever, None, replace(toy_settings, answer_style="poetic"))


def test_each_question_of_a_message_is_answered_and_cited(extractive) -> None:
    pipeline, _ = extractive
    answer = pipeline.answer("how many days to return sale items, and how much is UK delivery?")
    assert answer.text == (
        "Sale items can be returned within 14 days of delivery. [1] "
        "Standard UK delivery costs £3.95 and takes 2 to 4 business days. [2]"
    )
    assert [p.id for p in answer.sources] == ["returns#sale-items", "shipping#uk-delivery"]


def test_a_question_of_a_message_that_the_pages_do_not_answer_is_named(extractive) -> None:
    pipeline, _ = extractive
    answer = pipeline.answer("how many days to return sale items, and who won the football yesterday?")
    assert answer.text.startswith("Sale items can be returned within 14 days of delivery. [1] ")
    assert 'I can\'t answer "who won the football yesterday" from' in answer.text
    assert not answer.escalate


def test_a_no_question_gets_the_verdict_its_sentence_states() -> None:
    page = Passage("r", "returns", "Returns", 'Sale items can be returned within 14 days, and items marked '
                   '"Final Sale" cannot be returned or exchanged unless they arrive faulty.', "r.md")
    assert compose("Can I return Final Sale items?", [page], None, sentences=1) == [
        'No: Sale items can be returned within 14 days, and items marked "Final Sale" cannot be returned or '
        'exchanged unless they arrive faulty. [1]'
    ]
    assert compose("Can I return sale items?", [page], None, sentences=1)[0].startswith("Sale items")  # no verdict


@pytest.mark.parametrize(("lead_in", "kept"), [
    ("You have 14 days to return sale items.", True),
    ("You have 30 days to return sale items.", False),  # a number the composed sentence does not state
    ("Sale items cannot be returned.", False),  # the opposite of it
])
def test_a_hybrid_lead_in_is_kept_only_when_the_composed_sentences_support_it(
    toy_settings: Settings, toy_embedder: ToyEmbedder, lead_in: str, kept: bool
) -> None:
    build_index(read_knowledge_base(toy_settings.kb_dir).passages, toy_embedder, toy_settings.index_dir)
    settings = replace(toy_settings, answer_style="hybrid", compose_sentences=1)
    generator = ScriptedGenerator(lead_in)
    pipeline = Pipeline(HybridRetriever.from_settings(settings, toy_embedder), generator, settings, embedder=toy_embedder)
    answer = pipeline.answer("How many days to return sale items?")
    composed = "Sale items can be returned within 14 days of delivery. [1]"
    assert answer.text == (f"{lead_in} {composed}" if kept else composed)
    assert "Sale items can be returned within 14 days of delivery." in generator.received[0][-1]["content"]


INTERNATIONAL = Passage("international#0", "international", "International delivery", "Delivery to other EU countries "
                        "takes 4 to 8 business days. Standard UK delivery takes 2 to 4 business days. Exchanges are only "
                        "available for UK addresses.", "i.md")


def test_a_sentence_about_other_places_only_is_left_out() -> None:
    composed = compose("how long does delivery to Germany take and can I exchange?", [INTERNATIONAL], None, sentences=3)
    assert composed == ["Delivery to other EU countries takes 4 to 8 business days. [1]",
                        "Exchanges are only available for UK addresses. [1]"]  # it limits where exchanges hold


def test_the_sentence_after_the_best_one_counts_a_little_more() -> None:
    page = Passage("lost#0", "lost", "Lost parcels", "Parcels count as lost after 5 business days without tracking. "
                   "If this happens, contact us for a replacement. Parcels usually arrive on time.", "l.md")
    assert compose("is my parcel lost", [page], None, sentences=2) == [
        "Parcels count as lost after 5 business days without tracking. [1]", "If this happens, contact us for a replacement. [1]"]


def test_no_verdict_when_another_chosen_sentence_says_the_opposite() -> None:
    page = Passage("exchanges#0", "exchanges", "Exchanges", 'Clearance items marked "Final Sale" cannot be exchanged. '
                   "Sale items can be exchanged within 14 days of delivery.", "e.md")
    composed = compose("can i exchange something i bought in the sale", [page], None, sentences=2)
    assert not composed[0].startswith("No") and any("14 days" in sentence for sentence in composed)
    assert compose("can i exchange final sale items", [page], None, sentences=1)[0].startswith("No: ")


def test_the_rule_for_a_larger_place_gives_way_to_the_exception_asked_about() -> None:
    page = Passage("shipping#0", "shipping", "UK delivery", "Standard UK delivery takes 2 to 4 business days. "
                   "Deliveries to the Scottish Highlands and Islands take 4 to 7 business days. Next-day delivery is "
                   "not available to the Scottish Highlands and Islands.", "s.md")
    composed = compose("i live on the isle of skye, how long does delivery take and can i get next day?", [page], None, 3)
    assert not any("2 to 4" in sentence for sentence in composed)
    assert compose("can i get next day delivery to the isle of skye?", [page], None, 1)[0].startswith("No: ")


CARE = Passage("care#0", "product-care", "Product care", "Cast iron comes pre-seasoned. Wash cast iron by hand and "
               "dry it on a low heat. Bulky items over 20 kg go by two-person delivery.", "c.md")


@pytest.mark.parametrize("embedder", [None, ToyEmbedder()], ids=["words", "embedder"])
def test_a_measure_asked_for_is_stated_or_the_pages_do_not_answer(embedder: ToyEmbedder | None) -> None:
    # "how heavy" wants a weight of what is asked about: the sentence that states one takes the last place ...
    chosen = compose("how heavy are bulky items?", [CARE], embedder, sentences=2)
    assert "Bulky items over 20 kg go by two-person delivery. [1]" in chosen
    # ... and with none in the passages nothing is composed (the pipeline hands over), nor with a
    # weight of something else
    assert compose("how heavy is the cast iron pan?", [CARE], embedder, sentences=2) == []
    assert compose("what are the dimensions of the cast iron pan?", [CARE], embedder, sentences=2) == []
    assert compose("when was the cast iron range founded?", [CARE], embedder, sentences=2) == []
    assert compose("where is your cast iron made?", [CARE], embedder, sentences=2) == []
    assert compose("how many characters can a gift message be?", [CARE], embedder, sentences=2) == []
    assert compose("how much is UK delivery?", [RETURNS, DELIVERY], embedder, sentences=1) == [
        "Standard UK delivery costs £3.95. [2]"]
    assert compose("how much does it cost to wash cast iron?", [CARE], embedder, sentences=2) == []
    assert compose("what colours does the cast iron pan come in?", [CARE], embedder, sentences=2) == []
    sage = Passage("c", "colours", "Colours", "The cast iron pan comes in sage and charcoal.", "c.md")
    assert "The cast iron pan comes in sage and charcoal. [2]" in compose("what colours does the cast iron pan come in?",
                                                                          [CARE, sage], embedder, sentences=2)


@pytest.mark.real
def test_a_place_the_pages_only_rule_leaves_out_gets_its_no(real_pipeline) -> None:
    # the country list scores closest; the bulky-items rule, chosen beside it, says no to Spain
    answer = real_pipeline.answer("can I get a bed frame delivered to spain?")
    assert answer.text.startswith("No: Bulky items over 20 kg") and "UK and Ireland" in answer.text


def test_a_list_of_non_returnable_things_says_no_to_returning_one_of_them() -> None:
    listed = "Non-returnable items are pillows once removed from their sealed plastic wrap, earrings and gift cards."
    assert verdict("can i return earrings if i havent worn them", listed) == "No"
    # ... and nothing about the things themselves
    assert verdict("can you take away my old pillows and earrings when you deliver?", listed) == ""


def test_a_chinese_message_that_asks_two_things_gets_a_sentence_for_each() -> None:
    from tests.fakes import ToyMultilingualEmbedder

    page = Passage("g", "gift-cards", "礼品卡", "礼品卡自激活之日起3年内有效。礼品卡余额和有效期可在账户中查看。"
                   "礼品卡可以购买店内所有商品。礼品卡余额不可提现。", "g.md")
    said = compose("礼品卡有效期几年 余额能提现吗", [page], ToyMultilingualEmbedder(), sentences=2)
    assert said == ["礼品卡自激活之日起3年内有效。 [1]", "礼品卡余额不可提现。 [1]"]


def test_the_multilingual_embedder_ranks_sentences_with_the_question_as_a_query() -> None:
    from tests.fakes import ToyMultilingualEmbedder

    embedder = ToyMultilingualEmbedder()
    scores = sentence_scores("退货期限", ["退货期限为7天。", "运费10元。"], ["", ""], embedder)
    assert scores[0] > scores[1]


GIFT_CARDS_ZH = Passage("g", "gift-cards", "礼品卡", "礼品卡不能用另一张礼品卡或优惠码购买，也不计入£50的免运费门槛。实体礼品卡有£25、£50和£100三种面额。", "g.md")


@pytest.mark.parametrize(("question", "first"), [
    ("优惠码能买礼品卡吗", "不能：礼品卡不能用另一张礼品卡或优惠码购买"),
    ("礼品卡的钱算不算进免运费门槛", "不算：礼品卡不能用另一张礼品卡或优惠码购买"),
    ("礼品卡有几种面额", "礼品卡不能用"),  # no yes/no question: no verdict
    ("礼品卡有几种面额 能用优惠码买吗", "礼品卡不能用"),  # two things asked: no verdict for the whole
])
def test_a_chinese_yes_no_question_gets_the_no_its_sentence_states(question: str, first: str) -> None:
    assert compose(question, [GIFT_CARDS_ZH], None)[0].startswith(first)


@pytest.mark.parametrize(("question", "sentence"), [
    ("Final Sale的锅坏了 能退吗", "Final Sale商品不能退货，除非到货时损坏。"),  # an exception
    ("游客的单能补积分吗", "游客订单不能获得积分，但30天内注册可以补上。"),  # a turn
    ("坏了也不能退吗", "坏了的商品不能退货。"),  # asked denied
    ("地毯能寄法国么", "欧盟以外的国家没有免运费门槛。"),  # the denial is of something else
])
def test_no_chinese_verdict_where_the_sentence_turns_or_denies_something_else(question: str, sentence: str) -> None:
    from chatbot.answer.compose import verdict_zh

    assert verdict_zh(question, sentence) == ""


PROMO = Passage("promo#0", "promo", "Promo codes", "You can use one promo code per order. Promo codes can't be used on:\n"
                "- Last Wave items\n- gift cards\n\nClub vouchers aren't promo codes, so you can use them on the same order "
                "as a promo code.", "p.md")


def test_a_list_item_says_what_its_lead_in_says_of_it() -> None:
    # "gift cards" alone says nothing; after its lead-in it says no
    answer = compose("can I use a promo code on gift cards?", [PROMO], None, sentences=1)
    assert answer == ["No: Promo codes can't be used on: gift cards [1]"]


def test_a_reason_before_so_is_not_the_verdict() -> None:
    # "aren't promo codes" is why; "so you can use them" is the answer
    answer = compose("can i use a club voucher and a promo code on the same order?", [PROMO], None, sentences=2)
    assert not answer[0].startswith("No"), answer
    assert any("so you can use them" in sentence for sentence in answer)


def test_a_sentence_that_is_only_a_verdict_is_no_answer() -> None:
    # an FAQ's "不能。" answers the FAQ's own question, not the shopper's
    faq = Passage("faq#0", "faq", "FAQ", "不能。茶叶拆封后不支持 7 天无理由退货。", "faq.csv")
    assert [sentence for _, _, sentence in candidate_sentences([faq])] == ["茶叶拆封后不支持 7 天无理由退货。"]


def test_a_topic_asked_about_gets_the_sentence_that_speaks_of_it() -> None:
    # "give my points to my wife" shares "points" with every sentence; the one on transfers answers
    points = Passage("points#0", "points", "Moss Points", "Every 100 points gives you a £5 voucher. Points earn on "
                     "every order. Points expire after 12 months and cannot be transferred to another person.", "p.md")
    answer = compose("can i give my points to my wife", [points], None, sentences=2)
    assert any("transferred" in sentence for sentence in answer), answer


def test_a_general_rule_for_the_place_does_not_undo_the_no_for_the_thing_asked_about() -> None:
    everywhere = Passage("a", "international", "International delivery", "We deliver to Ireland, the rest of the EU and "
                         "Norway. Delivery to other EU countries costs £9.95, free on orders over £150.", "a.md")
    bulky = Passage("b", "shipping", "Bulky items", "Bulky items over 20 kg, such as rugs and bed frames, can only be "
                    "delivered within the UK and Ireland.", "b.md")
    answer = compose("can I order a bed frame to Spain (an EU country in Europe)?", [everywhere, bulky], None, sentences=3)
    assert answer[0] == "No: Bulky items over 20 kg, such as rugs and bed frames, can only be delivered within the UK and Ireland. [2]"


def test_a_sentence_beyond_the_first_three_is_not_the_rule_for_places_nobody_asked_about() -> None:
    uk = Passage("s", "shipping", "Shipping", "Standard UK delivery is free on orders of £50 or more. Below £50, "
                 "standard UK delivery costs £3.95. Next-day delivery costs £6.95.", "s.md")
    abroad = Passage("i", "international", "International delivery", "International delivery prices are: Ireland "
                     "£6.95, free on orders over £100; the United States £19.95; Australia £24.95.", "i.md")
    answer = compose("how much is delivery?", [uk, abroad], None, sentences=4)
    assert len(answer) == 3 and not any("Ireland" in sentence for sentence in answer)
    assert any("Ireland" in sentence for sentence in compose("how much is delivery to Ireland?", [uk, abroad], None, sentences=4))
