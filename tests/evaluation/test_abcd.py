"""The ABCD guidelines as a knowledge base: one document per subflow, read back by the ingester."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatbot.errors import EvalSetError
from chatbot.evaluation.abcd import DEFAULT_SOURCE, import_abcd
from chatbot.knowledge.ingest import read_knowledge_base
from chatbot.settings import REPO_ROOT, load_settings

needs_abcd = pytest.mark.skipif(not DEFAULT_SOURCE.exists(), reason="../shared/benchmarks/abcd is not beside the project")


@needs_abcd
def test_every_subflow_becomes_a_titled_document(tmp_path: Path) -> None:
    result = import_abcd(DEFAULT_SOURCE, tmp_path / "abcd")
    assert result.documents == 55
    kb = read_knowledge_base(result.kb_dir)
    assert kb.skipped == []
    titles = {p.title for p in kb.passages}
    assert len(titles) == 55 and "Order Issue / Manage Cancel" in titles and "Single-Item Query / Boots FAQ" in titles
    cancel = " ".join(p.text for p in kb.passages if p.doc_id == "order-issue--manage-cancel")
    assert "accidentally ordered two items" in cancel and "Order Received" in cancel
    assert "get status of an order or change an order" not in cancel  # the flow's description is left out
    settings = load_settings(result.settings_path, env={})
    assert settings.kb_dir == result.kb_dir.resolve() and settings.fusion == "standardised"
    assert (settings.dense_weight, settings.title_weight, settings.document_weight) == (0.7, 0.35, 0.5)


@needs_abcd
def test_the_messages_name_real_procedures() -> None:
    titles = {f"{flow} / {name}" for flow, data in json.loads(DEFAULT_SOURCE.read_text()).items() for name in data["subflows"]}
    rows = [json.loads(line) for line in (REPO_ROOT / "evals" / "abcd_messages.jsonl").read_text().splitlines()]
    assert len(rows) >= 40 and all(set(r["expected"]) <= titles for r in rows)


def test_a_broken_guidelines_file_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "guidelines.json"
    broken.write_text('{"Order Issue": {"no subflows": 1}}')
    with pytest.raises(EvalSetError, match="Cannot read the ABCD guidelines"):
        import_abcd(broken, tmp_path / "out")
