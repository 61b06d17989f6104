"""The eval harness: its numbers on a tiny fixed example, its input errors, its report files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatbot.answer.pipeline import REASON_ASKED_FOR_HUMAN, Pipeline
from chatbot.errors import EvalSetError
from chatbot.evaluation.harness import CaseResult, EvalCase, read_eval_cases, run_eval, summarize, trade_off_curve
from chatbot.evaluation.report import write_report
from chatbot.knowledge.index import build_index
from chatbot.knowledge.ingest import read_knowledge_base
from chatbot.knowledge.retrieval import HybridRetriever
from chatbot.values import Passage

SOURCE = Passage("returns#0", "returns", "Returns", "Returns within 30 days; sale items 14 days.", "returns.md")


def result(answerable: bool, rank: int | None, confidence: float, escalate: bool, **extra) -> CaseResult:
    case = EvalCase("q", ("returns",) if answerable else (), answerable, extra.pop("reference", None))
    return CaseResult(case, [], rank, confidence, escalate, extra.pop("reason", "answered"), **extra)


# Four answerable questions (first hit at ranks 1, 3, none, 2; one escalated) and two
# unanswerable ones (one escalated). Worked out by hand:
#   hit@1 = 1/4, hit@3 = 3/4, hit@5 = 3/4, MRR = (1 + 1/3 + 0 + 1/2) / 4 = 0.4583
#   answer_rate = 3/4; abstain_recall = 1/2; abstain_precision = 1 escalated unanswerable / 2 escalated
#   AUROC: answerable confidences 0.9, 0.7, 0.2, 0.6 vs unanswerable 0.3, 0.65:
#   pairs won 2 + 2 + 0 + 1 = 5 of 8 = 0.625
FIXED = [
    result(True, 1, 0.9, False, answer="Returns within 30 days [1].", sources=[SOURCE],
           reference="You can return items within 30 days.", timings={"total_ms": 100.0, "first_token_ms": 10.0}),
    result(True, 3, 0.7, False, answer="Returns within 60 days [1].", sources=[SOURCE],
           timings={"total_ms": 200.0, "first_token_ms": 30.0}),
    result(True, None, 0.2, True, timings={"total_ms": 50.0}),
    result(True, 2, 0.6, False, answer="Sale items: 14 days [1].", sources=[SOURCE],
           timings={"total_ms": 300.0, "first_token_ms": 20.0}),
    result(False, None, 0.3, True, timings={"total_ms": 40.0}),
    result(False, None, 0.65, False, answer="We ship to Mars in 3 days.", sources=[SOURCE],
           timings={"total_ms": 400.0, "first_token_ms": 50.0}),
]


def test_summary_arithmetic_on_a_fixed_example() -> None:
    metrics = summarize(FIXED, retrieval_only=False)
    assert metrics["n"] == 6
    assert (metrics["hit@1"], metrics["hit@3"], metrics["hit@5"]) == (0.25, 0.75, 0.75)
    assert metrics["mrr"] == pytest.approx(0.4583, abs=1e-4)
    assert metrics["answer_rate"] == 0.75
    assert metrics["abstain_recall"] == 0.5
    assert metrics["abstain_precision"] == 0.5
    assert metrics["decision_auroc"] == 0.625
    # Answered: 30 (supported), 60 (not), 14 (supported), 3 (not): 2 of 4.
    assert metrics["unsupported_number_rate"] == 0.5
    # "returns within 30 days" vs "you can return items within 30 days": 3 shared tokens,
    # precision 3/4, recall 3/7, F1 = 6/11; the LCS is "within 30 days", so ROUGE-L is the same.
    assert metrics["reference_token_f1"] == pytest.approx(6 / 11, abs=1e-4)
    assert metrics["reference_rouge_l"] == pytest.approx(6 / 11, abs=1e-4)
    assert metrics["latency_ms_p50"] == 150.0
    assert metrics["ttft_ms_p50"] == 25.0  # of 10, 30, 20, 50
    assert metrics["latency_ms_p95"] == pytest.approx(375.0)


def test_retrieval_only_summary_has_no_answer_metrics_and_auroc_needs_both_classes() -> None:
    metrics = summarize(FIXED[:4], retrieval_only=True)
    assert "reference_token_f1" not in metrics and "latency_ms_p50" not in metrics
    assert metrics["decision_auroc"] is None
    assert metrics["abstain_recall"] is None


def test_asking_for_a_person_is_left_out_of_abstention_metrics() -> None:
    handed_over = result(True, 1, 0.9, True, reason=REASON_ASKED_FOR_HUMAN)
    metrics = summarize([*FIXED, handed_over], retrieval_only=True)
    assert metrics["answer_rate"] == 0.75
    assert metrics["hit@1"] == 0.4  # still a ranking case: 2 of 5


def test_trade_off_curve_runs_from_answer_everything_to_escalate_everything() -> None:
    curve = trade_off_curve(FIXED)
    assert curve[0] == (0.0, 1.0, 0.0)
    assert curve[-1] == (1.0, 0.0, 1.0)
    assert (0.65, 0.5, 0.5) in curve  # answering at >= 0.65: 0.9 and 0.7 of four; 0.3 abstained


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "line 2"),
        ('{"expected": ["returns"]}', "'question'"),
        ('{"question": "  "}', "non-empty"),
        ('{"question": "where is my parcel"}', "needs 'expected'"),
        ("[1, 2]", "JSON object"),
        ('{"question": "q?", "expected": ["a"], "must": ["(30 days"]}', "'must' holds a pattern"),
    ],
)
def test_a_bad_row_names_its_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text('{"question": "ok?", "expected": ["a"]}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(EvalSetError, match=message):
        read_eval_cases(path)


def test_reading_cases_defaults_and_history(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    rows = [
        {"question": "refund?", "expected": "returns"},
        {"question": "ufo?", "answerable": False},
        {"question": "and sale items?", "expected": ["Returns"], "history": [{"role": "user", "content": "returns?"}]},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    cases = read_eval_cases(path)
    assert [c.expected for c in cases] == [("returns",), (), ("Returns",)]
    assert [c.answerable for c in cases] == [True, False, True]
    assert cases[2].history == ({"role": "user", "content": "returns?"},)
    with pytest.raises(EvalSetError, match="no questions"):
        (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
        read_eval_cases(tmp_path / "empty.jsonl")


def test_report_files(tmp_path: Path) -> None:
    metrics = summarize(FIXED, retrieval_only=False)
    write_report(tmp_path / "reports" / "demo.md", metrics, FIXED, "Demo", {"retrieval": "hybrid"})
    markdown = (tmp_path / "reports" / "demo.md").read_text(encoding="utf-8")
    assert "hit@1" in markdown and "0.25" in markdown and "retrieval" in markdown
    data = json.loads((tmp_path / "reports" / "demo.json").read_text(encoding="utf-8"))
    assert data["metrics"]["mrr"] == metrics["mrr"] and len(data["cases"]) == 6
    assert (tmp_path / "reports" / "demo.svg").read_text(encoding="utf-8").startswith("<svg")


def test_run_eval_over_a_small_index(toy_settings, toy_embedder) -> None:
    build_index(read_knowledge_base(toy_settings.kb_dir, toy_settings.passage_chars).passages, toy_embedder, toy_settings.index_dir)
    pipeline = Pipeline(HybridRetriever.from_settings(toy_settings, toy_embedder), None, toy_settings)
    cases = [
        EvalCase("how long is the return window for full-price items", ("returns",)),
        EvalCase("uk delivery cost", ("Shipping",)),
        EvalCase("quantum chromodynamics lecture notes", (), answerable=False),
    ]
    results = run_eval(pipeline, cases, retrieval_only=True)
    assert [r.rank for r in results[:2]] == [1, 1]
    assert results[2].escalate and not results[0].escalate
    assert summarize(results, retrieval_only=True)["abstain_recall"] == 1.0


def keyed(answer: str | None, escalate: bool = False, must: tuple[str, ...] = (r"\b30 days\b",),
          must_not: tuple[str, ...] = (r"\b60 days\b",)) -> CaseResult:
    case = EvalCase("How long do I have to return an item?", ("returns",), must=must, must_not=must_not)
    return CaseResult(case, [], 1, 0.9, escalate, "no_evidence" if escalate else "answered", answer=answer)


def test_key_facts_sort_answers_into_correct_incomplete_wrong_and_escalated() -> None:
    results = [
        keyed("You have **30 days** to return it [1]."),  # emphasis removed before matching: correct
        keyed("You have 30 days, or 60 days at Christmas [1]."),  # a contradiction wins over the fact: wrong
        keyed("Returns are free [1]."),  # incomplete
        keyed(None, escalate=True),  # escalated
        keyed("Within 30 days [1].", must=(r"30 days", r"full refund")),  # one of two facts: incomplete
        result(True, 1, 0.9, False, answer="anything"),  # no key facts: not counted
    ]
    assert [r.verdict for r in results] == ["correct", "wrong", "incomplete", "escalated", "incomplete", None]
    metrics = summarize(results, retrieval_only=False)
    assert metrics["n_key_facts"] == 5
    assert (metrics["correct_rate"], metrics["wrong_rate"], metrics["incomplete_rate"], metrics["escalated_rate"]) == (
        0.2, 0.2, 0.4, 0.2)
    assert "correct_rate" not in summarize(FIXED, retrieval_only=False)


def test_key_facts_are_read_from_a_row_and_the_report_lists_wrong_and_incomplete_answers(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    row = {"question": "Can I return Final Sale items?", "expected": ["returns"], "must": r"\bno\b|cannot",
           "must_not": [r"\byes\b", "within 14 days"]}
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    [case] = read_eval_cases(path)
    assert (case.must, case.must_not) == ((r"\bno\b|cannot",), (r"\byes\b", "within 14 days"))
    results = [CaseResult(case, [], 1, 0.9, False, "answered", answer="Yes, within 14 days [1]."),
               CaseResult(case, [], 1, 0.9, False, "answered", answer="No: they cannot be returned [1].")]
    write_report(tmp_path / "demo.md", summarize(results, retrieval_only=False), results, "Demo", {})
    markdown = (tmp_path / "demo.md").read_text(encoding="utf-8")
    assert "## Wrong and incomplete answers" in markdown
    assert "| wrong | Can I return Final Sale items? | Yes, within 14 days [1]. |" in markdown
    assert "No: they cannot" not in markdown.split("## Wrong and incomplete answers")[1]
    cases = json.loads((tmp_path / "demo.json").read_text(encoding="utf-8"))["cases"]
    assert [c["key_facts"] for c in cases] == ["wrong", "correct"]
