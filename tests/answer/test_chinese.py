"""A Chinese shopper on the Chinese demo store (knowledge_base_zh/), with the bundled English
embedder: Chinese questions are searched by their words (rjieba) and answered with the pages'
own Chinese sentences, cited (issue 34's first quoted failure)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chatbot.settings import REPO_ROOT

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def chinese_pipeline(tmp_path_factory, real_settings, real_embedder):
    from chatbot.answer.pipeline import Pipeline
    from chatbot.knowledge.retrieval import HybridRetriever
    from chatbot.service import index_knowledge_base, make_guard

    settings = replace(real_settings, kb_dir=REPO_ROOT / "knowledge_base_zh", index_dir=tmp_path_factory.mktemp("zh") / "index")
    index_knowledge_base(settings, real_embedder)
    retriever = HybridRetriever.from_settings(settings, real_embedder)
    return Pipeline(retriever, None, settings, guard=make_guard(settings, real_embedder), embedder=real_embedder)


def test_a_chinese_return_question_gets_the_30_day_answer_in_chinese(chinese_pipeline) -> None:
    answer = chinese_pipeline.answer("我可以退货吗？退货期限是多少天？")
    assert (answer.escalate, answer.reason) == (False, "answered")
    assert "30天" in answer.text and "[1]" in answer.text
    assert "faq-return-days" in {source.doc_id for source in answer.sources}


@pytest.mark.parametrize(("question", "fact", "doc_id"), [
    ("寄爱尔兰运费多少", "£6.95", "international-delivery"),
    ("客服电话多少", "0113 496 0123", "contact"),
])
def test_chinese_questions_find_their_page_by_its_words(chinese_pipeline, question: str, fact: str, doc_id: str) -> None:
    answer = chinese_pipeline.answer(question)
    assert fact in answer.text and doc_id in {source.doc_id for source in answer.sources}, answer


@pytest.mark.parametrize("question", [
    "买床架能上门安装吗",
    # Known misses: one of the question's two words is on a page (优惠 on discount codes, 手机 on contact).
    pytest.param("你们有学生优惠吗", marks=pytest.mark.xfail(strict=True, reason="优惠 is on the discount-code page")),
    pytest.param("你们有手机app吗", marks=pytest.mark.xfail(strict=True, reason="手机 is on the contact page")),
])
def test_a_chinese_question_the_pages_do_not_answer_is_handed_over(chinese_pipeline, question: str) -> None:
    # The English embedder's cosine says nothing of a Chinese question; its words decide.
    answer = chinese_pipeline.answer(question)
    assert answer.escalate, answer
