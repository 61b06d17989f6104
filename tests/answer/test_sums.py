"""Small sums worked from the pages' rules: a basket against the free-delivery threshold, points
into vouchers, points an order earns, a deadline from a date."""

from __future__ import annotations

import pytest

from chatbot.answer.compose import compose
from chatbot.answer.sums import worked_sum
from chatbot.answer.sums_zh import worked_sum_zh
from chatbot.values import Passage

FREE = "Standard UK delivery is free on orders of £50 or more after discounts."
NEXT_DAY = "The free shipping offer only covers standard delivery, so next-day delivery still costs £6.95 on orders over £50."
CODE = "Sign up to our newsletter to get 10% off your first order with the code WELCOME10."
VOUCHERS = "Points are swapped for vouchers in steps of 100 points, and every 100 points gives you a £5 reward voucher."
MINIMUM = "You can redeem points in blocks of 100 once you have at least 200 points, and every 100 points is worth €5 off."
RATES = ["Every account earns 1 point per £1 spent.", "Fern members (500 to 1,499 points a year) earn 1.25 points per £1.",
         "Oak members (1,500 points or more a year) earn 1.5 points per £1."]
RETURNS = ["Full-price items can be returned within 30 days of delivery.",
           "Sale items can be returned within 14 days of delivery."]


def said(question: str, sentences: list[str], context: str = "") -> str | None:
    found = worked_sum(question, context, sentences)
    return found.text if found else None


@pytest.mark.parametrize(("question", "expected"), [
    ("my basket is £54 but i've got a 10% off code. will delivery still be free?",
     "No: £54 with 10% off comes to £48.60, below the £50 needed for free delivery (£1.40 short)."),
    ("got £55 of full price stuff and im using WELCOME10, free delivery?",
     "No: £55 with 10% off comes to £49.50, below the £50 needed for free delivery (£0.50 short)."),
    ("is delivery free on a £60 order?", "Yes: £60, which reaches the £50 needed for free delivery."),
    # "do I pay?" is the opposite question to "is it free?"
    ("if I spend 45 quid do i pay for delivery", "Yes: £45, below the £50 needed for free delivery (£5 short)."),
    ("basket is £60, do i have to pay for shipping?", "No: £60, which reaches the £50 needed for free delivery."),
])
def test_a_basket_is_set_against_the_free_delivery_threshold_after_its_discount(question: str, expected: str) -> None:
    assert said(question, [NEXT_DAY, CODE, FREE]) == expected


@pytest.mark.parametrize("question", [
    "my basket is £75 so delivery's free - is next day free too then?",  # the rule is standard delivery's
    "do i still need to spend £50 to get free delivery?",  # £50 is the condition, not a basket
    "I spent over £50, can I upgrade to next day?",
    "is delivery to the US free if I spend £150?",  # the rule is the UK's
    "£45 throw plus a £10 gift card, do i get free delivery?",  # two sums: which count is another rule
    "how much is delivery?",
])
def test_no_sum_where_the_rule_or_the_basket_is_not_the_questions(question: str) -> None:
    assert said(question, [NEXT_DAY, "Free standard UK delivery applies to every order of £50 or more."]) is None


def test_a_discount_needs_a_rule_that_says_it_counts_after_discounts() -> None:
    assert said("£54 basket with 10% off, free delivery?", ["Standard delivery is free on orders of £50 or more."]) is None
    assert said("£54 basket, free delivery?", ["Standard delivery is free on orders of £50 or more."]) == (
        "Yes: £54, which reaches the £50 needed for free delivery.")


def test_a_currency_with_its_country_is_the_same_currency() -> None:
    rule = "Standard shipping is free on orders of CA$59 or more."
    assert said("my cart is $52, do I get free shipping?", [rule]) == "No: CA$52, below the CA$59 needed for free delivery (CA$7 short)."


def test_no_sum_when_the_places_rules_differ_and_the_shopper_says_not_where() -> None:
    canada, us = "In Canada, standard shipping is free on orders of CA$59 or more.", "It's free on US orders of CA$125 or more."
    assert said("my cart is $52.50, do I get free shipping?", [canada, us]) is None
    assert said("my cart is $52.50, do I get free shipping to Canada?", [canada, us]) == (
        "No: CA$52.50, below the CA$59 needed for free delivery (CA$6.50 short).")


def test_a_rule_with_one_threshold_per_country_is_not_summed() -> None:
    per_country = "Standard delivery is free on orders of €40 or more to Ireland, €60 or more to the UK and EU countries."
    assert said("is delivery free on a €50 order?", [per_country]) is None


def test_points_are_worth_their_vouchers_in_steps_once_the_minimum_is_met() -> None:
    assert said("ive got 340 points, what voucher can i get?", [VOUCHERS]) == "340 points are worth £15 in vouchers (£5 for every 100 points)."
    assert said("how much are 350 points worth?", [MINIMUM]) == "350 points are worth €15 in vouchers (€5 for every 100 points)."
    assert said("what can I get with 150 points?", [MINIMUM]) == "150 points are not enough yet: points can be used from 200 points."
    assert said("what are 85 points worth?", [VOUCHERS]) == "85 points are not enough yet for a voucher (£5 for every 100 points)."
    # a follow-up about points: the number stands alone
    assert said("ive got 730, whats that worth", [VOUCHERS], context="how do moss points work") == (
        "730 points are worth £35 in vouchers (£5 for every 100 points).")
    assert said("ive got 730, whats that worth", [VOUCHERS]) is None
    # the programme's name between the number and "points"; steps and minimum in a sentence of their own
    assert said("i have 340 glow club points, how much can i get off?",
                ["Every 100 points is worth €5 off.", "You can redeem points in blocks of 100, once you have at least 200 points."]
                ) == "340 points are worth €15 in vouchers (€5 for every 100 points)."


TIERS = ["**Glow** (€0 to €149.99): 1 point per €1 spent.", "**Radiant** (€150 to €399.99): 1.5 points per €1 spent.",
         "**Luminous** (€400 or more): 2 points per €1 spent."]


@pytest.mark.parametrize(("question", "sentences", "expected"), [
    ("I've spent €180 with you in the last year, which Glow Club tier am I in?", TIERS, "€180 puts you in Radiant (€150 to €399.99)."),
    ("spent 500 euro this year what level is that", TIERS, "€500 puts you in Luminous (€400 or more)."),
    ("I earned 600 points this year, what tier am I?", RATES, "600 points puts you in Fern (500 to 1,499 points)."),
    ("I earned 1,600 points, which tier would I be?", RATES, "1,600 points puts you in Oak (1,500 points or more)."),
    # a sum of money against tiers in points: no sum
    ("I spent £600 this year, what tier am I?", RATES, None),
])
def test_the_tier_that_holds_the_shoppers_spend_or_points(question: str, sentences: list[str], expected: str | None) -> None:
    assert said(question, sentences) == expected


@pytest.mark.parametrize(("question", "expected"), [
    ("fern member here. how many points will a £80 order get me?", "An £80 order earns 100 points at 1.25 points per £1."),
    ("how many points do I get for £40?", "A £40 order earns 40 points at 1 point per £1."),
    ("im a normal member, not fern or oak. how many points for £85?", "An £85 order earns 85 points at 1 point per £1."),
    # what delivery cost earns nothing
    ("Paid £67.80 for products, plus £3.95 delivery. how many points do I get?", "A £67.80 order earns 67 points at 1 point per £1."),
])
def test_an_order_earns_the_rate_of_the_tier_the_shopper_names(question: str, expected: str) -> None:
    assert said(question, RATES) == expected


def test_earned_points_are_turned_into_vouchers_when_asked() -> None:
    assert said("im oak tier and about to spend £200, how many points is that and what voucher would it get me?",
                [*RATES, VOUCHERS]) == ("A £200 order earns 300 points at 1.5 points per £1, and 300 points are worth £15 in "
                                        "vouchers (£5 for every 100 points).")


def test_a_deadline_runs_from_the_date_the_rule_counts_from() -> None:
    assert said("my order came on 10 May, what's the last day I can send it back?", RETURNS) == (
        "With delivery on 10 May, the 30 days run until 9 June.")
    assert said("bought a sale jumper, it arrived 20th june. whats the deadline to return it?", RETURNS) == (
        "With delivery on 20 June, the 14 days run until 4 July.")
    assert said("I ordered on 10 May, what's the last day to return it?", RETURNS) is None  # counted from delivery
    assert said("delivered on 2 May and 5 May, last day to return?", RETURNS) is None
    christmas = "Full-price items delivered between 1 November and 24 December can be returned until 31 January."
    assert said("it arrived on 10 December, what's the last day I can return it?", [*RETURNS, christmas]) == (
        "With delivery on 10 December, between 1 November and 24 December, you have until 31 January.")
    assert said("it arrived on 10 May, what's the last day I can return it?", [*RETURNS, christmas]) == (
        "With delivery on 10 May, the 30 days run until 9 June.")  # a window that does not hold the date
    closed = "Our warehouse is closed on 25 December."  # a date of another matter
    assert said("it arrived on 10 May, what's the last day I can return it?", [*RETURNS, closed]) == (
        "With delivery on 10 May, the 30 days run until 9 June.")
    january = "Items bought in the January sale can be returned until 28 February."  # a rule by date of another kind
    assert said("it arrived on 10 May, what's the last day I can return the items?", [*RETURNS, january]) is None
    example = "The 30 days start on delivery, so if your order arrived on 3 March you have until 2 April."
    assert said("my order came on 10 May, what's the last day I can send it back?", [example, *RETURNS]) == (
        "With delivery on 10 May, the 30 days run until 9 June.")  # the page's example sets no other rule


def test_the_sum_goes_first_and_its_rule_is_among_the_sentences_cited() -> None:
    delivery = Passage("shipping#0", "shipping", "Delivery", f"Standard UK delivery costs £3.95. {FREE} "
                       "Next-day delivery costs £6.95.", "s.md")
    offers = Passage("offers#0", "offers", "Offers", f"{CODE} We love a bargain.", "o.md")
    chosen = compose("my basket is £54 and I'm using WELCOME10, do I still get free delivery?", [offers, delivery], None,
                     sentences=2)
    assert chosen[0] == "No: £54 with 10% off comes to £48.60, below the £50 needed for free delivery (£1.40 short). [2]"
    assert f"{FREE} [2]" in chosen[1:]


INTERNATIONAL = ("International delivery prices per order are: Ireland £6.95, free on orders over £100; other EU countries "
                 "£9.95, free on orders over £150; the United States and Canada £19.95.")
AFTER_CODES = "Free standard UK delivery applies to every order of £50 or more after any discount codes are taken off."


@pytest.mark.parametrize(("question", "expected"), [
    ("My basket comes to £54 but I've got a £5 off code. Will I still get free standard delivery?",
     "No: £54 with £5 off comes to £49, below the £50 needed for free delivery (£1 short)."),
    ("im in france and my order is £120, do i get free shipping?", "No: £120, below the £150 needed for free delivery (£30 short)."),
    ("im in dublin and my order is £120, is delivery free?", "Yes: £120, which reaches the £100 needed for free delivery."),
    ("my order is £120, do i get free shipping?", "Yes: £120, which reaches the £50 needed for free delivery."),  # no place: not the list's
])
def test_a_fixed_discount_and_a_threshold_per_country_are_worked(question: str, expected: str) -> None:
    assert said(question, [AFTER_CODES, INTERNATIONAL]) == expected


@pytest.mark.parametrize(("question", "expected"), [
    ("Is Klarna an option for a £25 order?", "No: £25 is not between £30 and £1,000."),
    ("can i use WELCOME10 on a £15 order?", "No: £15 is below the £20 minimum."),
    ("can i use klarna on a £300 order", None),  # inside the range other conditions may apply: no yes
    ("can I use klarna if I spend over £25?", None),  # the sum is a condition, not the basket
])
def test_a_sum_outside_the_range_a_rule_states_is_a_no(question: str, expected: str | None) -> None:
    rules = ["UK customers can use Klarna to pay in 3 interest-free instalments on orders between £30 and £1,000.",
             "WELCOME10 needs a minimum spend of £20 and is valid for 30 days."]
    assert said(question, rules) == expected


def test_a_deadline_counts_from_the_day_the_shopper_got_the_order() -> None:
    assert said("got my order on 10 may, its a full price lamp. whats the last day i can send it back??", RETURNS) == (
        "With delivery on 10 May, the 30 days run until 9 June.")
    # ... and says whether a day the shopper names is in time
    assert said("my lamp came on 10 may, can i still send it back on the 2nd?", RETURNS) == (
        "Yes: with delivery on 10 May, the 30 days run until 9 June.")
    assert said("my lamp came on 10 may, can i still send it back on 12 june?", RETURNS) == (
        "No: with delivery on 10 May, the 30 days run until 9 June.")


FREE_ZH = "每笔扣除优惠码后金额达到£50或以上的订单，均可享受英国免费标准配送。"
INTERNATIONAL_ZH = "每笔订单的国际运费为：爱尔兰£6.95，订单超过£100免运费；其他欧盟国家£9.95，订单超过£150免运费；挪威、瑞士和冰岛£14.95。"
TIERS_ZH = ["Sprout（新芽）会员（每年0至499积分）每消费£1获得1积分。", "Fern（蕨叶）会员（每年500至1,499积分）每消费£1获得1.25积分。"]
RETURNS_ZH = ["原价商品可在送达后30天内退货。", "以折扣价购买的促销商品可在送达后14天内退货。"]
KLARNA_ZH = "英国顾客订单金额在£30至£1,000之间时，可以使用 Klarna 分3期免息付款。"
POINTS_ZH = ["每100积分可兑换一张£5的奖励券。", "以100积分为单位兑换，至少200积分才能使用。"]


@pytest.mark.parametrize(("question", "sentences", "expected"), [
    ("买了52镑的东西 用了个5镑优惠码 还包邮吗", [FREE_ZH], "不包邮：£52减去£5后为£47，低于免运费所需的£50（还差£3）。"),
    ("55英镑打九折还免运费吗", [FREE_ZH], "不包邮：£55减去10%后为£49.50，低于免运费所需的£50（还差£0.50）。"),
    ("六十镑的订单包邮吗", [FREE_ZH], "包邮：£60，达到免运费所需的£50。"),
    ("寄德国 140镑 包邮吗", [INTERNATIONAL_ZH], "不包邮：£140，低于免运费所需的£150（还差£10）。"),
    ("我有350积分 能换多少钱", POINTS_ZH, "350积分可兑换3张£5的奖励券，共£15（每100积分£5）。"),
    # a sum outside the range a rule holds in
    ("订单才25镑 可以用klarna分期吗", [KLARNA_ZH], "不可以：£25不在£30至£1,000之间。"),
    ("订单40镑 可以用klarna分期吗", [KLARNA_ZH], None),  # inside it: other conditions may apply
    ("150积分能抵多少", POINTS_ZH, "150积分还不够：满200积分才能使用。"),
    # the sum is the condition, not the basket; a member may have a rule of their own; no place said
    ("剩下不到50镑 还要补运费吗", [FREE_ZH], None),
    ("我买礼品卡的钱能算进50镑包邮里吗", [FREE_ZH], None),
    ("我是Fern会员 买£20的东西包邮吗", [FREE_ZH], None),
    ("140镑 包邮吗", [INTERNATIONAL_ZH], None),
    # the points an order earns, at the named tier's rate or the lowest; a deadline from a date
    ("我是普通会员 买了£64.80的东西 能拿多少分", TIERS_ZH, "£64.80的订单可获得64积分（每消费£1获得1积分）。"),
    ("我是Fern会员 这单80镑 能得几个积分", TIERS_ZH, "£80的订单可获得100积分（每消费£1获得1.25积分）。"),
    # on what is paid after a code, where the pages say so
    ("买了80镑东西 用码减了8镑 运费3.95 能拿多少积分", [*TIERS_ZH, "积分按使用优惠码后的实付金额计算。"],
     "£80减去£8后为£72，可获得72积分（每消费£1获得1积分）。"),
    ("买了80镑东西 用码减了8镑 能拿多少积分", TIERS_ZH, None),
    ("5月10号收到的 原价买的 最晚哪天要寄回", RETURNS_ZH, "5月10日送达，30天期限到6月9日。"),
    ("12月5号到的 打折买的 最晚哪天退", RETURNS_ZH, "12月5日送达，14天期限到12月19日。"),
    ("5月10号下的单 最晚哪天要寄回", RETURNS_ZH, None),  # counted from delivery
    ("5月10号收到的 原价买的 最晚哪天要寄回", [*RETURNS_ZH, "冬季促销通常在节礼日（12月26日）开始。"], "5月10日送达，30天期限到6月9日。"),
    # a window that holds the date sets the day; one that does not is left out
    ("12月10号收到的 原价买的 最晚哪天要寄回", [*RETURNS_ZH, "11月1日至12月24日期间送达的原价商品最晚可在次年1月31日退货。"],
     "12月10日送达，在11月1日至12月24日期间，最晚可在次年1月31日退货。"),
    ("5月20号签收的原价杯子 最晚哪天要寄回去退", [*RETURNS_ZH, "11月1日至12月24日期间送达的原价商品最晚可在次年1月31日退货。"],
     "5月20日送达，30天期限到6月19日。"),
])
def test_chinese_questions_get_their_sums_in_chinese(question: str, sentences: list[str], expected: str | None) -> None:
    found = worked_sum_zh(question, sentences)
    assert (found.text if found else None) == expected


def test_a_member_is_not_held_to_everyones_free_delivery_threshold() -> None:
    assert said("im a fern member, is delivery free on a £20 order?", [FREE]) is None


@pytest.mark.real
def test_a_window_further_down_the_page_sets_the_last_day(composing) -> None:
    # the Christmas window is a passage of the returns page the question alone does not find
    answer = composing.answer("got a full price lamp delivered on 10 dec, when's the last day i can return it")
    assert answer.text.startswith("With delivery on 10 December, between 1 November and 24 December, you have until 31 January.")
    may = composing.answer("my order came on 10 May, what's the last day I can send it back?")
    assert may.text.startswith("With delivery on 10 May, the 30 days run until 9 June.")
    assert "24 December" not in may.text


@pytest.mark.real
def test_points_after_a_code_come_from_the_page_that_says_so(composing) -> None:
    # the tiers' rates and "calculated on the amount you pay after any promo code" are passages apart
    answer = composing.answer("I'm an Oak member: how many points will a £60 order with a 10% off code earn me?")
    assert answer.text.startswith("£60 with 10% off comes to £54, which earns 81 points at 1.5 points per £1.")
