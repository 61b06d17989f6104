"""The command line, run as a user runs it: a real process on files in tmp_path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chatbot.settings import REPO_ROOT


def test_help_is_quick_and_lists_the_commands(run_cli) -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    assert all(name in result.stdout for name in ("build-index", "search", "ask"))


@pytest.mark.real
def test_build_index_then_search_json(run_cli, small_kb: Path, tmp_path: Path) -> None:
    (small_kb / "latin1.md").write_bytes("# Caf\xe9".encode("latin-1"))
    built = run_cli("build-index", "--kb", str(small_kb), "--index", str(tmp_path / "index"))
    assert built.returncode == 0, built.stderr
    assert "Indexed 3 passages" in built.stdout
    assert "skipped latin1.md: not valid UTF-8" in built.stderr

    found = run_cli("search", "sale items", "--index", str(tmp_path / "index"), "--k", "2", "--json")
    assert found.returncode == 0, found.stderr
    results = json.loads(found.stdout)["results"]
    # One passage per document in the top k (passages_per_doc = 1), so shipping comes second.
    assert [r["id"] for r in results] == ["returns#sale-items", "shipping#uk-delivery"]
    assert set(results[0]) == {"id", "doc_id", "title", "score", "text"}


@pytest.mark.real
def test_ask_json_shape(run_cli, real_settings, real_index) -> None:
    result = run_cli("ask", "How much does standard UK delivery cost?", "--index", str(real_settings.index_dir), "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) == {"answer", "sources", "escalate", "confidence", "reason", "dropped"}
    assert answer["escalate"] is False and answer["answer"]
    assert answer["sources"] and set(answer["sources"][0]) == {"id", "doc_id", "title", "score"}
    assert 0.0 <= answer["confidence"] <= 1.0


def test_missing_index_is_a_clear_error(run_cli, tmp_path: Path) -> None:
    result = run_cli("search", "returns", "--index", str(tmp_path / "none"))
    assert result.returncode == 1
    assert "No index found" in result.stderr and "build-index" in result.stderr
    assert "Traceback" not in result.stderr


def test_mismatched_index_is_a_clear_error(run_cli, small_kb: Path, tmp_path: Path) -> None:
    from chatbot.knowledge.index import build_index
    from chatbot.knowledge.ingest import read_knowledge_base
    from tests.fakes import ToyEmbedder

    build_index(read_knowledge_base(small_kb).passages, ToyEmbedder(), tmp_path / "index")
    result = run_cli("search", "returns", "--index", str(tmp_path / "index"))
    assert result.returncode == 1
    assert "embedder 'toy-bag-of-words'" in result.stderr
    assert "python -m chatbot build-index --index" in result.stderr and "Traceback" not in result.stderr


def test_empty_question_is_a_clear_error(run_cli, tmp_path: Path) -> None:
    result = run_cli("ask", "  ", "--index", str(tmp_path / "none"))
    assert result.returncode == 1 and "Please type a question" in result.stderr


def wixqa_row(number: int, question: str, title: str, body: str) -> dict:
    article = f"{number:064x}"
    return {
        "id": f"q{number}",
        "question": question,
        "answer": body,
        "article_ids": [article],
        "contexts": [{"id": article, "title": title, "text": f"{title}\n{body}", "url": "", "article_type": "article"}],
    }


def test_eval_with_a_broken_eval_set_names_the_line(run_cli, tmp_path: Path) -> None:
    broken = tmp_path / "set.jsonl"
    broken.write_text('{"question": "refund?", "expected": ["returns"]}\n{"question": \n', encoding="utf-8")
    result = run_cli("eval", "--questions", str(broken), "--retrieval-only")
    assert result.returncode == 1
    assert f"{broken}, line 2" in result.stderr


def test_tune_embedder_on_messages_naming_no_document_of_the_kb_is_a_clear_error(run_cli, small_kb: Path, tmp_path: Path) -> None:
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text('{"question": "my 2fa code never arrives", "expected": ["Account Access / Reset 2FA"]}\n', encoding="utf-8")
    result = run_cli("tune-embedder", "--questions", str(labelled), "--out", str(tmp_path / "tuned"), "--kb", str(small_kb))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "Only 0 labelled message(s) name a document" in result.stderr
    assert not (tmp_path / "tuned").exists()


@pytest.mark.real
def test_import_wixqa_then_eval_writes_metrics_and_a_report(run_cli, tmp_path: Path) -> None:
    rows = [
        wixqa_row(1, "How do I connect my own domain?", "Connecting a Domain", "Go to Domains and click Connect."),
        wixqa_row(2, "can i get a refund for my premium plan", "Cancelling a Premium Plan", "Refunds within 14 days."),
        wixqa_row(3, "How do I add a blog?", "Adding a Blog", "Open the Add panel and choose Blog."),
    ]
    source = tmp_path / "sample.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "wixqa"
    imported = run_cli("import-wixqa", "--source", str(source), "--out", str(out), "--holdout", "1")
    assert imported.returncode == 0, imported.stderr
    assert "Wrote 2 articles" in imported.stdout and "(1 unanswerable)" in imported.stdout
    assert len(list((out / "kb").glob("*.md"))) == 2

    settings = str(out / "settings.toml")
    assert run_cli("build-index", "--settings", settings).returncode == 0
    report = tmp_path / "reports" / "wixqa.md"
    result = run_cli("eval", "--settings", settings, "--questions", str(out / "questions.jsonl"),
                     "--retrieval-only", "--json", "--out", str(report))
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert {"n", "hit@1", "hit@3", "hit@5", "mrr", "answer_rate", "abstain_recall", "abstain_precision",
            "decision_auroc"} <= metrics.keys()
    assert metrics["n"] == 3 and metrics["hit@1"] == 1.0
    assert "eval:" in result.stderr  # the progress bar
    assert report.exists() and report.with_suffix(".json").exists() and report.with_suffix(".svg").exists()


def test_import_wixqa_leaves_every_kth_article_out(tmp_path: Path) -> None:
    from chatbot.evaluation.wixqa import import_wixqa

    rows = [wixqa_row(n, f"question {n}?", f"Article {n}", f"Body {n}.") for n in range(1, 9)]
    shared = dict(rows[7], id="q9", question="question 9?")  # cites a kept and a left-out article
    shared["article_ids"] = [rows[2]["article_ids"][0], rows[3]["article_ids"][0]]
    shared["contexts"] = rows[2]["contexts"] + rows[3]["contexts"]
    source = tmp_path / "sample.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in [*rows, shared]) + "\n", encoding="utf-8")
    result = import_wixqa(source, tmp_path / "out", leave_out_every=4)
    assert (result.articles, result.held_out) == (6, 2)  # articles 4 and 8 (sorted ids) are left out
    cases = [json.loads(line) for line in result.questions_path.read_text().splitlines()]
    assert [c["answerable"] for c in cases] == [True, True, True, False, True, True, True, False, True]
    assert cases[8]["expected"] == [rows[2]["article_ids"][0]]  # only its kept article is expected


@pytest.mark.real
def test_calibrate_reports_cross_validated_figures_and_saves_the_model(run_cli, tmp_path: Path) -> None:
    index = tmp_path / "index"
    assert run_cli("build-index", "--index", str(index)).returncode == 0
    rows = [json.loads(line) for line in (REPO_ROOT / "evals" / "demo_store.jsonl").read_text().splitlines()]
    single = [r for r in rows if not r.get("history")]
    chosen = [r for r in single if r["answerable"]][:20] + [r for r in single if not r["answerable"]][:10]
    questions = tmp_path / "labelled.jsonl"
    questions.write_text("\n".join(json.dumps(r) for r in chosen) + "\n", encoding="utf-8")
    result = run_cli("calibrate", "--questions", str(questions), "--index", str(index), "--folds", "3", "--out", str(tmp_path / "cal.md"))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["questions"], report["unanswerable"]) == (30, 10)
    assert report["model_cross_validated"]["answer_rate"] >= 0.9
    assert (index / "abstention.json").exists() and (tmp_path / "cal.svg").exists()
    assert "| calibrated model |" in (tmp_path / "cal.md").read_text()
    asked = run_cli("ask", "What is the capital of France?", "--index", str(index), "--json")
    assert json.loads(asked.stdout)["escalate"] is True


def test_calibrate_needs_both_kinds_of_question(run_cli, tmp_path: Path) -> None:
    questions = tmp_path / "labelled.jsonl"
    questions.write_text('{"question": "refund?", "expected": ["returns"]}\n', encoding="utf-8")
    result = run_cli("calibrate", "--questions", str(questions))
    assert result.returncode == 1 and "needs answerable and unanswerable" in result.stderr


@pytest.mark.real
def test_answer_tickets_survives_kill_9_and_resumes(run_cli, tmp_path: Path) -> None:
    import signal
    import time

    index = tmp_path / "index"
    assert run_cli("build-index", "--index", str(index)).returncode == 0
    questions = ["How many days do I have to return an item?", "Do you ship to Canada?", "How do I reset my password?",
                 "Can I pay with Klarna?", "Do you price match?", "How long does a refund take?"]
    export = tmp_path / "export.jsonl"
    export.write_text("".join(json.dumps({"id": f"T{n}", "body": q}) + "\n" for n, q in enumerate(questions)))
    out = tmp_path / "answers.jsonl"
    command = [sys.executable, "-m", "chatbot", "answer-tickets", str(export), "--out", str(out), "--index", str(index),
               "--batch-size", "1"]  # rows are written a few at a time, so the kill lands mid-run
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    run = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and run.poll() is None:
        if out.exists() and out.read_text().count("\n") >= 2:
            break
        time.sleep(0.2)
    assert run.poll() is None, "the run ended before it could be killed"
    run.send_signal(signal.SIGKILL)
    run.wait()
    assert run_cli("answer-tickets", str(export), "--out", str(out), "--index", str(index)).returncode == 1  # no overwrite
    resumed = run_cli("answer-tickets", str(export), "--out", str(out), "--index", str(index), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert sorted(ids) == [f"T{n}" for n in range(6)]  # every ticket exactly once
    summary = json.loads(resumed.stdout)
    assert summary["skipped"] >= 2
    report = Path(summary["report"]).read_text()
    assert report.startswith("# Ticket run: answers.jsonl") and "6 tickets:" in report  # earlier rows counted too
    assert "## By intent" in report and (out.parent / "answers.report.svg").exists()


def test_answer_tickets_names_the_engines(run_cli, tmp_path: Path) -> None:
    export = tmp_path / "export.jsonl"
    export.write_text('{"id": "1", "body": "Do you ship to Canada?"}\n')
    result = run_cli("answer-tickets", str(export), "--out", str(tmp_path / "a.jsonl"), "--engine", "spark")
    assert result.returncode == 1 and "--engine must be local or ray, not 'spark'" in result.stderr
    assert not (tmp_path / "a.jsonl").exists()


def test_answer_tickets_refuses_an_output_it_cannot_write_before_loading_the_models(run_cli, tmp_path: Path) -> None:
    export = tmp_path / "export.jsonl"
    export.write_text('{"id": "1", "body": "Do you ship to Canada?"}\n')
    out = tmp_path / "answers.jsonl"
    out.write_text('{"id": "0", "answer": "an earlier run"}\n')
    no_model = {"CHATBOT_MODEL": str(tmp_path / "no-such-model")}  # loading the models would fail otherwise
    refused = run_cli("answer-tickets", str(export), "--out", str(out), env=no_model)
    assert refused.returncode == 1 and "already exists: add --resume" in refused.stderr, refused.stderr
    out.write_text("not a row\n")
    broken = run_cli("answer-tickets", str(export), "--out", str(out), "--resume", env=no_model)
    assert broken.returncode == 1 and "not a row this command wrote" in broken.stderr, broken.stderr
    assert out.read_text() == "not a row\n"


@pytest.mark.real
def test_seed_orders_then_ask_where_an_order_is(run_cli, tmp_path: Path) -> None:
    import sqlite3

    database = tmp_path / "shop" / "orders.db"
    env = {"CHATBOT_ORDERS_URL": f"sqlite:///{database}"}
    seeded = run_cli("seed-orders", "--count", "120", env=env)
    assert seeded.returncode == 0 and "Seeded 120 demo orders" in seeded.stdout and "lost 10" in seeded.stdout
    assert run_cli("seed-orders", env=env).returncode == 1  # never over existing orders
    with sqlite3.connect(database) as db:
        number, email = db.execute(
            "SELECT o.number, c.email FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.status = 'delivered'"
        ).fetchone()
    index = tmp_path / "index"
    assert run_cli("build-index", "--index", str(index)).returncode == 0
    result = run_cli("ask", f"where is my order {number}? {email}", "--index", str(index), "--json", env=env)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert (answer["reason"], answer["sources"][0]["id"]) == ("order_found", f"order:{number}")
    assert "was delivered on" in answer["answer"]


def test_answer_tickets_resume_of_a_finished_output_returns_without_loading_models(run_cli, tmp_path: Path) -> None:
    export = tmp_path / "export.jsonl"
    export.write_text('{"id": "1", "body": "Do you ship to Canada?"}\n{"id": "2", "body": "Refund?"}\n')
    out = tmp_path / "answers.jsonl"
    row = {"answer": "", "sources": [], "confidence": 0.0, "escalate": True, "reason": "no_evidence", "intent": "",
           "sentiment": "", "urgency": "", "language": "", "error": ""}
    out.write_text("".join(json.dumps({"id": i, **row}) + "\n" for i in ("1", "2")))
    no_models = {"CHATBOT_MODEL": str(tmp_path / "no-model"), "CHATBOT_EMBEDDER": str(tmp_path / "no-embedder")}
    result = run_cli("answer-tickets", str(export), "--out", str(out), "--resume", env=no_models)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["skipped"], summary["answered"], summary["errors"]) == (2, 0, 0)
    assert "Nothing left to answer" in result.stderr and "loading the embedder" not in result.stderr


@pytest.mark.real
def test_answer_tickets_answers_every_ticket_after_an_unclosed_quote(run_cli, real_settings, real_index, tmp_path: Path) -> None:
    from tests.tickets.test_broken_rows import UNCLOSED_QUOTE_CSV

    export = tmp_path / "export.csv"
    export.write_text(UNCLOSED_QUOTE_CSV, encoding="utf-8")
    out = tmp_path / "answers.jsonl"
    result = run_cli("answer-tickets", str(export), "--out", str(out), "--index", str(real_settings.index_dir),
                     env={"CHATBOT_TRIAGE_FILE": ""})
    assert result.returncode == 0, result.stderr
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in written] == [f"M-{n}" for n in range(1, 9)]
    assert [r["id"] for r in written if r["error"]] == ["M-3"]
    assert "loading the embedder" in result.stderr  # start-up's progress lines


@pytest.mark.real
def test_ask_answers_questions_from_standard_input_with_one_load(run_cli, real_settings, real_index) -> None:
    typed = "How many days do I have to return an item?\nHow much does standard UK delivery cost?\n"
    result = run_cli("ask", "-", "--json", "--index", str(real_settings.index_dir), input_text=typed)
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["question"] for a in answers] == typed.splitlines()
    assert [(a["escalate"], a["sources"] != []) for a in answers] == [(False, True), (False, True)]
    assert "£3.95" in answers[1]["answer"]
    assert result.stderr.count("loading the embedder") == 2  # begun and done: loaded once for both
