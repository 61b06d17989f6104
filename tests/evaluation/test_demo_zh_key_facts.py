"""The Chinese demo eval sets: their rows point at documents of the Chinese knowledge base (the
first set at every one of them), every answerable row has key facts its reference passes and its
wrong example does not, and the unanswerable rows expect nothing."""

from __future__ import annotations

import json

import pytest

from chatbot.evaluation.harness import EvalCase, key_fact_verdict, read_eval_cases
from chatbot.knowledge.ingest import read_knowledge_base
from chatbot.settings import REPO_ROOT

# Answerable, unanswerable and follow-up rows in each set; the second was written later from the
# pages alone, as a held-out set.
SETS = {"demo_store_zh.jsonl": (139, 28, 14), "demo_store_zh_fresh.jsonl": (50, 30, 6),
        "demo_store_zh_fresh2.jsonl": (50, 30, 6)}
ROWS, CASES = [], []
for name in SETS:
    path = REPO_ROOT / "evals" / name
    ROWS += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    CASES += read_eval_cases(path)
KEYED = [(row, case) for row, case in zip(ROWS, CASES) if case.answerable]


@pytest.mark.parametrize("name", SETS)
def test_each_set_has_its_answerable_unanswerable_and_follow_up_rows(name: str) -> None:
    cases = read_eval_cases(REPO_ROOT / "evals" / name)
    answerable = sum(1 for case in cases if case.answerable)
    counts = (answerable, len(cases) - answerable, sum(1 for case in cases if case.history))
    assert counts == SETS[name]


def test_every_expected_id_is_a_document_of_the_chinese_knowledge_base() -> None:
    doc_ids = {passage.doc_id for passage in read_knowledge_base(REPO_ROOT / "knowledge_base_zh").passages}
    unknown = sorted({expected for case in CASES for expected in case.expected} - doc_ids)
    first = read_eval_cases(REPO_ROOT / "evals" / "demo_store_zh.jsonl")
    uncovered = sorted(doc_ids - {expected for case in first for expected in case.expected})
    assert (unknown, uncovered) == ([], [])


def test_every_answerable_row_has_key_facts_and_a_wrong_example() -> None:
    missing = [row["question"] for row, case in KEYED if not case.must or "wrong_example" not in row]
    assert missing == []


def test_unanswerable_rows_expect_no_document_and_no_key_facts() -> None:
    keyed = [case.question for case in CASES if not case.answerable and (case.expected or case.has_key_facts)]
    assert keyed == []


@pytest.mark.parametrize(("row", "case"), KEYED, ids=[row["question"][:40] for row, _ in KEYED])
def test_the_reference_is_right_and_the_wrong_example_is_not(row: dict, case: EvalCase) -> None:
    assert key_fact_verdict(case, row["reference"], escalated=False) == "correct"
    expected = "wrong" if case.must_not else "incomplete"
    assert key_fact_verdict(case, row["wrong_example"], escalated=False) == expected
