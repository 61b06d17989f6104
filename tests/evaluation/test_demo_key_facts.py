"""The demo eval sets' key facts: every answerable row has them, its reference answer passes them,
and its wrong example (a contradiction a weak model might write) does not."""

from __future__ import annotations

import json

import pytest

from chatbot.evaluation.harness import EvalCase, key_fact_verdict, read_eval_cases
from chatbot.knowledge.ingest import read_knowledge_base
from chatbot.settings import REPO_ROOT

SETS = {"demo_store.jsonl": 211, "demo_store_hard.jsonl": 60, "demo_store_fresh2.jsonl": 60,
        "demo_store_fresh3.jsonl": 50, "demo_store_fresh4.jsonl": 50, "demo_store_fresh5.jsonl": 50, "demo_store_fresh6.jsonl": 50,
        "trailhead.jsonl": 60,
        "lumen.jsonl": 60, "pawprint.jsonl": 60}  # answerable rows in each
KEYED = []
for name in SETS:
    path = REPO_ROOT / "evals" / name
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    KEYED += [(row, case) for row, case in zip(rows, read_eval_cases(path)) if case.answerable]


def test_every_answerable_row_has_key_facts_and_a_wrong_example() -> None:
    missing = [row["question"] for row, case in KEYED if not case.must or "wrong_example" not in row]
    assert len(KEYED) == sum(SETS.values()) and missing == []


@pytest.mark.parametrize(("row", "case"), KEYED, ids=[row["question"][:40] for row, _ in KEYED])
def test_the_reference_is_right_and_the_wrong_example_is_not(row: dict, case: EvalCase) -> None:
    assert key_fact_verdict(case, row["reference"], escalated=False) == "correct"
    expected = "wrong" if case.must_not else "incomplete"
    assert key_fact_verdict(case, row["wrong_example"], escalated=False) == expected


@pytest.mark.parametrize("store", ["trailhead", "lumen", "pawprint"])
def test_every_expected_id_of_another_store_is_one_of_its_documents(store: str) -> None:
    doc_ids = {passage.doc_id for passage in read_knowledge_base(REPO_ROOT / "evals" / "stores" / store).passages}
    expected = {value for case in read_eval_cases(REPO_ROOT / "evals" / f"{store}.jsonl") for value in case.expected}
    assert expected and sorted(expected - doc_ids) == []
