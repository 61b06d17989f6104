"""Typos put right in the pages' own words, and nothing else touched: English words, names,
contractions, British spellings, numbers and short chat words stay as the shopper wrote them."""

from __future__ import annotations

import pytest

from chatbot.text.spelling import Spelling, typos_apart

PAGES = [
    "Easy returns. Track your order from My account. Cancel an order within 1 hour of placing it.",
    "Refunds are paid to the original payment method. We reimburse delivery costs for faulty items.",
    "Free shipping on UK orders over £50. Create an account to save your address.",
]


@pytest.mark.parametrize(("written", "meant"), [
    ("how do i rtack my order", "how do i track my order"),  # two letters swapped
    ("cancfel order 00004587345", "cancel order 00004587345"),  # one added
    ("i cant rceate an acconut", "i cant create an account"),
    ("free shippping over how much?", "free shipping over how much?"),  # one repeated
    ("reimbvurse 1499 dollars", "reimburse 1499 dollars"),
    ("recieveing my refnuds", "recieveing my refunds"),  # the first near no page word
    ("Acconut locked", "Account locked"),  # a sentence's first word keeps its capital
    ("where is my ordr", "where is my order"),  # a short word missing a letter
])
def test_typos_become_the_pages_words(written: str, meant: str) -> None:
    assert Spelling(PAGES).corrected(written) == meant


@pytest.mark.parametrize("written", [
    "can i put my jute rug in the wash",  # English, though "june"/"jute" are a letter apart
    "do you take Venmo? or Klarna",  # names: not "venue"
    "it doesn’t fit and it doesn't suit me",  # not "does't"
    "thats the one, theyre late",  # contractions typed without their apostrophe
    "which colours and jumpers are organised in the catalogue",  # British spellings
    "order A1B2C3 at jo@example.com", "nw pls thx",  # codes, emails, short chat words
    "do you sell on etsy",  # a short word a changed letter from "easy": only a missing letter is put back
    "UPSS",  # capitals: an acronym or a code
])
def test_words_that_are_not_typos_stay(written: str) -> None:
    assert Spelling(PAGES).corrected(written) == written


def test_the_nearest_page_word_wins_then_the_most_used() -> None:
    spelling = Spelling(["order order order", "ordeal"])
    assert spelling.corrected("orderr") == "order"
    assert typos_apart("orderr", "order") == 1 and typos_apart("orderr", "ordeal") == 2


def test_pages_with_no_words_change_nothing() -> None:
    assert Spelling([]).corrected("how do i rtack my order") == "how do i rtack my order"


ZH_PAGES = ["普洱 适合长期存放，冰箱湿度大。", "江浙沪满99元包邮。", "退货期限为7天。", "紫砂壶不要用洗洁精。", "商用不在保修范围内。"]


@pytest.mark.parametrize(("written", "meant"), [
    ("普尔茶能放冰箱吗", "普洱茶能放冰箱吗"),  # a homophone one character off
    ("买多少包油", "买多少包邮"),
    ("紫沙壶能用洗洁精洗吗", "紫砂壶能用洗洁精洗吗"),
    ("铸铁锅能在电磁炉上用吗", "铸铁锅能在电磁炉上用吗"),  # "上用" is jieba's guess, not a typo of 商用
    ("用优惠卷", "用优惠卷"),  # not a homophone of anything the pages say
    ("退货期限多久", "退货期限多久"),
])
def test_a_chinese_homophone_typo_becomes_the_pages_word(written: str, meant: str) -> None:
    assert Spelling(ZH_PAGES).corrected(written) == meant
