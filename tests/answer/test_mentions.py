"""Questions that ask for something the pages never mention ("do you sell dog beds?") are declined,
however close the nearest page scores; asking for what they do mention is answered as before."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chatbot.answer.mentions import Mentions, asked_for, asked_services
from chatbot.answer.pipeline import _REFERS_BACK, Pipeline
from chatbot.knowledge.index import build_index
from chatbot.knowledge.ingest import read_knowledge_base
from chatbot.knowledge.retrieval import HybridRetriever
from chatbot.service import make_mentions
from chatbot.settings import Settings
from tests.fakes import ToyEmbedder

PAGES = ["Delivery is free on orders over £50.", "Sale items can be returned within 14 days of delivery."]


@pytest.mark.parametrize(("question", "words"), [
    ("do you sell dog beds?", ["dog", "beds"]),
    ("Hi, is there a student discount on sale items?", ["student", "discount", "sale", "items"]),
    ("ok and can I get gift wrapping if it's a present", ["gift", "wrapping"]),
    ("do u offer engraving, it's for my mum", ["engraving"]),
    ("Do you deliver to Hungary?", []),  # a name: "Hungary" may be what the pages call "the EU"
    ("can I use Klarna if I'm in Ireland?", ["Klarna"]),  # a thing the shop takes or not; Ireland a place
    ("how long do refunds take?", []),  # not a question whether the shop has something
    ("what's the student discount?", []),
    ("what thread count are your cotton sheets", ["thread", "count"]),
    ("will the cast iron skillet work on an induction hob", ["induction", "hob"]),
    ("does your kettle have a limescale filter?", ["limescale", "filter"]),
    ("does WELCOME10 work on sale stuff?", []),  # a code, not a thing of the shop's
    ("is the wool in your jumpers mulesing-free?", ["jumpers", "mulesing-free"]),  # its last two words
    ("is it free if i spend loads", []),  # the condition is not what is asked
    ("where is the linen from, is it european flax", ["flax"]),  # a later clause asks
    ("Does the non-stick coating contain PTFE?", ["PTFE"]),  # an acronym is a term, not a name
    ("Does the linen duvet cover close with buttons or a zip?", ["buttons", "zip"]),
    ("the pans coating is peeling, can i get a refund or wat", ["refund"]),  # chat, not a thing asked for
    ("Do you sponsor trail races?", ["sponsor", "trail", "races"]),  # a service, named by its verb
    ("Is Trailhead Outfitters on Instagram?", ["Instagram"]),
    ("does the tent come with a footprint?", ["footprint"]),
    ("Can I trade in my old tent for store credit?", ["trade", "tent", "store", "credit"]),  # "old": no thing
    ("Can I choose a delivery time window, like evenings only?", ["delivery", "time", "window"]),
    ("I run a small cafe - do you offer a trade discount?", ["trade", "discount"]),
    ("do you ever sell refurbished items?", ["refurbished", "items"]),
    ("Can I set up a wedding gift list with Maple & Moss?", ["wedding", "gift", "list"]),  # a thing asked into being
    ("im in france, can i exchange a jumper for a smaller size?", []),  # any item: the exchange is what is asked
    ("is it normal for new towels to shed fluff?", []),  # whether a thing is as it should be
    ("is your packaging plastic free / recyclable?", ["recyclable"]),  # either one asked
    ("how much extra is it to add a gift message to my order?", ["gift", "message"]),
    ("is my parcel insured if it's worth over £500?", ["insured"]),  # up to the condition
    ("do you send out fabric swatches?", ["fabric", "swatches"]),
    ("can you send a wool rug to me in lyon?", []),  # where it goes is asked, not whether there is one
    ("I have a homeware shop, can I stock your products?", ["products"]),
    ("Does Glow Club have a refer-a-friend bonus?", ["refer-a-friend", "bonus"]),  # asked of a name
    ("Do DPD need a signature?", ["signature"]),
    ("Does Klarna work in Ireland?", []),  # a place is the pages' region
    ("do I need an account to order", []),  # "I" is no name
])
def test_what_an_existence_question_asks_for(question: str, words: list[str]) -> None:
    assert asked_for(question) == words


def test_a_service_of_two_parts_must_be_written_as_the_pages_write_it() -> None:
    # "pre-order" has the stem "order" alone, which any shop's pages use
    pages = ["Place your order online.", "Sold-out jugs in blue can be pre-ordered from the product page."]
    assert Mentions(pages[:1], ToyEmbedder(), min_similarity=0.6).unmentioned("can i pre-order the blue jug?") == ["pre-order"]
    assert Mentions(pages, ToyEmbedder(), min_similarity=0.6).unmentioned("can i pre-order the blue jug?") == []
    # ... and with a space: "gift" and "wrap" apart are not gift wrapping
    wrapped = ["Gift cards come in a wrap of tissue paper."]
    assert Mentions(wrapped, ToyEmbedder(), min_similarity=0.6).unmentioned("do you gift wrap?") == ["gift wrap"]
    assert Mentions(["We offer gift wrapping for £3."], ToyEmbedder(), min_similarity=0.6).unmentioned("do you gift wrap?") == []


@pytest.mark.parametrize(("question", "services"), [
    ("can you resend the e-gift card to a different email?", ["resend"]),
    ("how many points do I get if I refer a friend?", ["refer"]),  # a reward for an act
    ("how many points do I get if I review a product?", ["review"]),  # ... which these pages name
    ("can you send it to a different email?", []),
    ("do you charge a surcharge for paying with Amex?", ["surcharge"]),  # a charge by its name
    ("do you charge for returns?", []),
    ("is there a points bonus if I refer a friend?", ["refer"]),
    ("how many drops do i get for writing a product review?", ["review"]),  # a reward for an act, said with "for"
    ("can I pause my care plan over the winter?", ["pause"]),  # the verb alone, whatever is paused
    ("can i rent a bike for the weekend?", ["rent"]),
])
def test_a_service_or_a_rewarded_act_is_asked_for_by_its_verb(question: str, services: list[str]) -> None:
    assert asked_services(question) == services
    pages = Mentions(["You get 10 points for each product review you write."], ToyEmbedder(), min_similarity=0.6)
    assert bool(pages.unmentioned(question)) is (services not in ([], ["review"]))  # the pages say "review", not "surcharge"


def test_a_word_neither_the_pages_nor_a_near_word_use_is_unmentioned() -> None:
    mentions = Mentions(PAGES, ToyEmbedder(), min_similarity=0.6)
    assert mentions.unmentioned("do you sell dog beds?") == ["dog", "beds"]
    assert mentions.unmentioned("is there free delivery on sale items?") == []  # "items" is the pages' "item"
    assert mentions.unmentioned("what dog beds do you sell?") == []  # not asked whether the shop has them


def test_a_thing_of_two_words_no_sentence_puts_together_is_unmentioned() -> None:
    mentions = Mentions(["Sale items can be returned.", "Gift cards last 2 years.", "The warranty is extended by a repair."],
                        ToyEmbedder(), min_similarity=0.6)
    assert mentions.unmentioned("do you offer gift items?") == ["gift items"]  # both words, never in one sentence
    assert mentions.unmentioned("do you sell gift cards?") == []
    assert mentions.unmentioned("can I buy an extended warranty?") == []  # the pages do put them together
    listed = Mentions(["Not returnable: pillows in their plastic wrap, underwear, socks, earrings, engraved items, "
                       "fabric cut to length and gift cards."],
                      ToyEmbedder(), min_similarity=0.6)
    assert listed.unmentioned("do you offer gift wrapping?") == ["gift wrapping"]  # far apart in a list
    shop = Mentions(["Maple & Moss sells homeware.", "Confirm the payment in your banking app."], ToyEmbedder(), min_similarity=0.6)
    assert shop.unmentioned("is there a Maple & Moss app?") == ["Moss app"]  # the bank's app is not the shop's
    assert shop.unmentioned("do you sell homeware?") == []


class SynonymEmbedder(ToyEmbedder):
    """The toy embedder, with "student" read as "school": a word near one of the pages'."""

    def embed(self, texts):  # type: ignore[no-untyped-def]
        return super().embed([text.replace("student", "school") for text in texts])


def test_a_thing_whose_word_is_only_near_the_pages_is_unmentioned_unless_they_say_it_together() -> None:
    apart = Mentions(["School trips are welcome.", "Members get a discount."], SynonymEmbedder(), min_similarity=0.6)
    assert apart.unmentioned("do you have a student discount?") == ["student discount"]  # "school discount": never said
    together = Mentions(["School discount: 10% off for teachers."], SynonymEmbedder(), min_similarity=0.6)
    assert together.unmentioned("do you have a student discount?") == []
    assert apart.unmentioned("do you sell big rugs?") == ["rugs"]  # "big" is no thing


def test_the_pages_words_are_embedded_once_and_only_when_needed() -> None:
    embedder = ToyEmbedder()
    mentions = Mentions(PAGES, embedder, min_similarity=0.6)
    mentions.unmentioned("do you offer free delivery?")
    assert embedder.calls == []  # every word asked for is in the pages
    mentions.unmentioned("do you sell dog beds?")
    mentions.unmentioned("do you sell cat beds?")
    pages_words = [call for call in embedder.calls if "delivery" in call]
    assert len(pages_words) == 1


@pytest.fixture
def pipeline(toy_settings: Settings, toy_embedder: ToyEmbedder) -> Pipeline:
    build_index(read_knowledge_base(toy_settings.kb_dir).passages, toy_embedder, toy_settings.index_dir)
    settings = replace(toy_settings, answer_style="extractive", min_score=0.1)
    retriever = HybridRetriever.from_settings(settings, toy_embedder)
    return Pipeline(retriever, None, settings, embedder=toy_embedder,
                    mentions=make_mentions(settings, retriever, toy_embedder))


def test_asking_for_something_the_pages_never_mention_is_declined(pipeline: Pipeline) -> None:
    # The returns page shares "sale items" with the question and would be composed from.
    declined = pipeline.answer("do you offer gift vouchers for sale items?")
    assert (declined.escalate, declined.reason) == (True, "no_evidence")
    answered = pipeline.answer("do you offer free delivery?")
    assert (answered.escalate, answered.reason) == (False, "answered")
    assert "£50" in answered.text


def test_the_check_is_off_at_zero(pipeline: Pipeline) -> None:
    settings = replace(pipeline.settings, min_mention_similarity=0.0)
    assert make_mentions(settings, pipeline.retriever, pipeline.embedder) is None  # type: ignore[arg-type]


@pytest.mark.real
@pytest.mark.parametrize(("question", "declined"), [
    ("do you sell dog beds?", True),
    ("is there a whatsapp number?", True),
    ("do you sell gift cards?", False),
    ("do you take amex", False),  # near "American Express" on the payments page
    ("do you do layaway?", True),  # near only "away", which is no thing
    ("do I get a discount for following you on Instagram?", True),
])
def test_the_bundled_store_declines_what_its_pages_never_mention(real_settings, real_embedder, real_index,
                                                                 question: str, declined: bool) -> None:
    retriever = HybridRetriever.from_settings(real_settings, real_embedder)
    mentions = make_mentions(real_settings, retriever, real_embedder)
    assert mentions is not None
    assert bool(mentions.unmentioned(question)) is declined


@pytest.mark.real
def test_a_question_whether_the_shop_takes_what_its_best_page_names_is_answered(real_pipeline) -> None:
    # MiniLM scores it below min_score against "... or cryptocurrency such as Bitcoin".
    answer = real_pipeline.answer("do u take bitcoin")
    assert (answer.escalate, answer.reason) == (False, "answered")
    assert "Bitcoin" in answer.text
    # ... or the pages' words for it: "amex" is "American Express"
    amex = real_pipeline.answer("do you take amex")
    assert (amex.escalate, amex.reason) == (False, "answered")
    assert "American Express" in amex.text


def test_words_prepared_at_start_up_are_not_embedded_again() -> None:
    embedder = ToyEmbedder()
    mentions = Mentions(PAGES, embedder, min_similarity=0.6)
    mentions.prepare()
    mentions.unmentioned("do you sell dog beds?")
    assert sum("delivery" in call for call in embedder.calls) == 1


@pytest.mark.real
@pytest.mark.parametrize("question", ["How heavy is your 28cm cast iron skillet?",
                                      "what are the dimensions of the large cast iron skillet",
                                      "when was Maple & Moss founded?", "Are your products made in the UK?",
                                      "What's Maple & Moss Ltd's company registration number?",
                                      "When does the summer sale end?",
                                      "how old do you have to be to open an account?"])
def test_the_bundled_store_hands_over_a_measure_its_pages_never_state(real_pipeline, question: str) -> None:
    # the care and warranty pages score close, and none of their sentences states a weight, size, year, origin or
    # registration number (the postal address names Maple & Moss Ltd), nor the summer sale's end (only its start)
    answer = real_pipeline.answer(question)
    assert answer.escalate, answer.text


def test_a_question_with_typos_is_searched_in_the_pages_words(pipeline: Pipeline) -> None:
    decision = pipeline.decide("how much is standrd delivry")
    assert decision.question == "how much is standard delivery"
    assert (decision.escalate, decision.passages[0].doc_id) == (False, "shipping")


CARE_PAGES = ["Wash cast iron by hand, and never put it in the dishwasher or leave it to soak.",
              "Maple & Moss non-stick pans are dishwasher safe. Let pans cool before washing.",
              "Rugs have a 12-month warranty. Damage from washing items marked hand wash only is not covered."]


@pytest.mark.parametrize(("question", "uncared"), [
    ("can my cast iron skillet go in the dishwasher?", False),  # "skillet" is no page word: "cast iron" is
    ("are the non-stick pans dishwasher safe?", False),
    ("are your stoneware plates dishwasher safe?", True),  # no page word for the thing
    ("are your non-stick pans ok in the microwave?", True),  # the pans, but never the microwave
    ("can i put my rug in the washing machine?", True),  # rugs and washing in one passage, never one sentence
    ("does it work on induction hobs?", False),  # "it" is the conversation's
    ("do you sell dog beds?", False),  # no care question
])
def test_a_care_the_pages_never_say_of_the_thing_is_uncared(question: str, uncared: bool) -> None:
    assert Mentions(CARE_PAGES, ToyEmbedder(), min_similarity=0.6).uncared(question) is uncared


@pytest.mark.real
@pytest.mark.parametrize(("question", "declined"), [
    ("are your stoneware dinner plates dishwasher safe?", True),  # the non-stick pans' "dishwasher safe" is near
    ("can i put my jute rug in the washing machine", True),
    ("are your non-stick pans dishwasher safe?", False),
    ("what temp should I wash linen sheets at", False),
])
def test_the_bundled_store_hands_over_a_care_its_pages_never_say(composing, question: str, declined: bool) -> None:
    answer = composing.answer(question)
    assert answer.escalate is declined, answer.text


@pytest.mark.real
@pytest.mark.parametrize(("question", "said"), [
    ("is it normal for new towels to shed fluff", "normal"),  # whether a thing is as it should be, not whether the shop has it
    ("is anyone around on easter monday?", "Live chat is open"),  # chat for "are you open"
    ("can i send back a pillow ive taken out the plastic? its too firm", "pillows"),
    ("when does the winter sale start", "26 December"),  # a date asked for, and stated
])
def test_the_bundled_store_answers_a_question_in_everyday_words(composing, question: str, said: str) -> None:
    answer = composing.answer(question)
    assert not answer.escalate, answer.text
    assert said in answer.text


def test_a_part_about_what_an_unanswered_part_named_is_not_answered_either(pipeline: Pipeline) -> None:
    # "is delivery free for them" alone would be answered: of the vouchers the pages never offer, nothing is said
    declined = pipeline.answer("do you offer gift vouchers for sale items, and is delivery free for them?")
    assert (declined.escalate, declined.reason) == (True, "no_evidence")
    answered = pipeline.answer("do you offer gift vouchers for sale items, and how much is delivery?")
    assert not answered.escalate
    assert "£50" in answered.text


@pytest.mark.real
@pytest.mark.parametrize("question", ["do you gift wrap orders? how much", "do you offer gift wrapping? how much extra"])
def test_a_measure_after_an_unanswered_part_is_not_answered_either(composing, question: str) -> None:
    # answered alone, "how much" found the gift cards' prices
    answer = composing.answer(question)
    assert (answer.escalate, answer.reason) == (True, "no_evidence")


@pytest.mark.parametrize(("question", "unoffered"), [
    ("Can I place an order over the phone instead of online?", True),
    ("do you take phone orders?", True),
    ("can i order by email", True),
    ("can i cancel my order by phone", False),  # not a way to order
    ("can I pay by phone?", False),  # maybe Apple Pay
    ("can I pay for my order over the phone with my card?", True),
])
def test_a_way_to_order_the_pages_never_offer_is_unoffered(question: str, unoffered: bool) -> None:
    # "contact us by phone" and "once an order is dispatched": phone and order, but no ordering by phone
    pages = ["Contact us by live chat or phone; once an order is dispatched it cannot be cancelled."]
    assert Mentions(pages, ToyEmbedder(), min_similarity=0.6).unoffered_channel(question) is unoffered
    offered = Mentions(["You can also order by phone or by email on weekdays."], ToyEmbedder(), min_similarity=0.6)
    assert not offered.unoffered_channel(question)


ZH_CARE_PAGES = ["铸铁锅请用热水手洗，切勿放入洗碗机。如果出现锈点，在烤箱中重新开锅。",
                 "不粘锅可以放入洗碗机清洗。", "针织衫请避免烘干，因为可能会缩水。"]


@pytest.mark.parametrize(("question", "uncared"), [
    ("铸铁锅能扔洗碗机洗吗", False),
    ("你们家的不粘锅能放洗碗机洗吗？", False),
    ("羊毛衫能烘干吗", False),  # a word the pages never write: its last character, 针织衫's 衫
    ("不锈钢锅能放进洗碗机洗吗？", True),  # 锅 and 洗碗机 in one sentence, but never 不锈钢
    ("不粘锅能进烤箱吗", True),  # the oven only in the cast iron passage
    ("铸铁锅能在电磁炉上用吗", True),
    ("刀具咋保养 能进洗碗机不", True),  # the thing named in the clause before
    ("退货要多久？", False),
])
def test_an_appliance_the_chinese_pages_never_name_with_the_thing_is_uncared(question: str, uncared: bool) -> None:
    assert Mentions(ZH_CARE_PAGES, ToyEmbedder(), min_similarity=0.6).uncared_zh(question) is uncared


@pytest.mark.parametrize(("part", "refers"), [
    ("and how much does it cost?", True), ("要加钱吗？", True), ("它贵吗", True),
    ("how long do refunds take?", False), ("退货运费由谁承担？", False),
])
def test_a_part_that_refers_back_is_told_by_its_pronoun_or_its_shortness(part: str, refers: bool) -> None:
    assert (_REFERS_BACK.search(part) is not None) is refers


def test_a_chinese_thing_of_two_words_the_pages_never_write_together_is_unmentioned() -> None:
    mentions = Mentions(["未及时在银行 App 中完成验证。", "新用户首单享受优惠。", "学生可以注册账户。"], ToyEmbedder(), min_similarity=0.6)
    assert mentions.unmentioned_zh("你们有手机App吗？") == ["手机"]  # written nowhere: the word itself is missing
    assert mentions.unmentioned_zh("你们有学生优惠吗") == ["学生优惠"]  # each word written, never together
    assert mentions.unmentioned_zh("新用户有优惠吗") == []
    assert mentions.unmentioned_zh("在App上下单有没有额外优惠？") == ["额外"]
    # ... either way round: "电话客服" is the pages' "客服电话"
    phone = Mentions(["客服电话 400-820-6688，周一至周六 9:00-18:00。"], ToyEmbedder(), min_similarity=0.6)
    assert phone.unmentioned_zh("周日有电话客服吗") == []
    # bought, or a service with a word between ("能拿来以旧换新吗")
    assert mentions.unmentioned_zh("贵的东西寄送可以买运输保险吗") == ["运输", "保险"]
    assert mentions.unmentioned_zh("旧手机能拿来以旧换新吗") == ["以旧换新"]
    # a character the segmenter leaves alone belongs to its word: "运费险" is not the pages' "运费"
    shipping = Mentions(["退货运费由买家承担。礼品卡余额可以和支付宝组合使用。"], ToyEmbedder(), min_similarity=0.6)
    assert shipping.unmentioned_zh("退货有运费险吗") == ["运费险"]
    assert shipping.unmentioned_zh("两张礼品卡的余额能合并到一张上吗") == ["合并"]  # a service by its verb


@pytest.mark.real
def test_a_yes_no_part_with_one_word_of_its_own_is_about_the_part_before_it(composing) -> None:
    # "do i have to pay" alone is nearest Klarna's "pay in 3 instalments"; after a question on one's
    # data it asks whether that request is free
    answer = composing.answer("how do i get a copy of all the data you hold on me? do i have to pay")
    assert "free" in answer.text and "Klarna" not in answer.text, answer.text


@pytest.mark.parametrize(("question", "terms"), [
    ("Do NHS staff get a discount?", ["NHS"]),
    ("is your bedding OEKO-TEX certified?", ["OEKO"]),  # "tex" is an English word
    ("can you send it with DHL instead of DPD?", ["DHL"]),  # DPD: the pages' own carrier
    ("can it go to a PO box?", []),  # the pages write "P.O."
    ("I need it ASAP, it STILL hasn't come", []),  # English words in capitals
    ("I PUT THE WRONG ADDRESS ON MY ORDER HELP", []),  # shouting, not terms
    ("how much is delivery to PEI?", []),  # a place
])
def test_a_term_in_capitals_the_pages_never_write_is_unwritten(question: str, terms: list[str]) -> None:
    pages = ["We deliver with DPD and Royal Mail, to P.O. boxes too."]
    assert Mentions(pages, ToyEmbedder(), min_similarity=0.6).unwritten_terms(question) == terms


@pytest.mark.parametrize(("question", "unspoken"), [
    ("can you email me when the tent is back in stock?", ["stock alert"]),
    ("do you price match if I find it cheaper somewhere else?", ["price match"]),
    ("can I give my points to a friend?", ["points to another"]),
    ("will the price of my plan go up next year?", ["price rise"]),
    ("do you give a discount if I buy two grinders?", ["several"]),
    ("积分能转给我老婆的账号吗", ["points to another"]),
    ("how many points do I get per £1?", []),
])
def test_a_topic_no_page_speaks_of_is_unspoken(question: str, unspoken: list[str]) -> None:
    # the pages speak of points and of prices, but never of these topics
    pages = ["You earn 1 point per £1.", "Points cannot be combined with a promo code.", "Out-of-stock items are refunded."]
    assert Mentions(pages, ToyEmbedder(), min_similarity=0.6).unspoken_topics(question) == unspoken
    said = ["Points are personal and cannot be transferred to another account.", "We price match any UK retailer.",
            "Sign up for a back-in-stock email.", "Prices may change; your plan's price is fixed for 12 months.",
            "Buy 2 or more items and get 10% off."]
    assert Mentions(said, ToyEmbedder(), min_similarity=0.6).unspoken_topics(question) == []


def test_a_name_the_pages_never_write_is_unmentioned_without_likeness() -> None:
    pages = Mentions(["We sell city bikes and e-bikes.", "We accept American Express and Visa."], ToyEmbedder(), min_similarity=0.0)
    # every word is "near" at a likeness of 0, but a name has none
    assert pages.unmentioned("do you sell Gazelle e-bikes?") == ["Gazelle"]
    assert pages.unmentioned("do you take Amex?") == []  # the pages write its formal name
    assert pages.unmentioned("Do You Sell Gazelle Bikes?") != ["Gazelle"]  # capitals throughout name nothing
