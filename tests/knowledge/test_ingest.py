"""Reading a knowledge-base folder into passages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatbot.errors import KnowledgeBaseError
from chatbot.knowledge.ingest import read_knowledge_base, split_text


def test_markdown_sections_become_passages_with_stable_ids(small_kb: Path) -> None:
    kb = read_knowledge_base(small_kb)
    assert [p.id for p in kb.passages] == ["returns#return-window", "returns#sale-items", "shipping#uk-delivery"]
    first = kb.passages[0]
    assert (first.doc_id, first.title, first.headings, first.source) == (
        "returns", "Returns and refunds", ("Return window",), "returns.md"
    )
    assert first.text == "Full-price items can be returned within 30 days of delivery for a full refund."
    # Without front matter: id from the path, title from the first heading.
    assert (kb.passages[2].doc_id, kb.passages[2].title) == ("shipping", "Shipping")
    assert kb.skipped == []


def test_title_and_headings_travel_with_the_indexed_text(small_kb: Path) -> None:
    passage = read_knowledge_base(small_kb).passages[1]
    assert passage.indexed_text.splitlines()[0] == "Returns and refunds > Sale items"


def test_nested_folders_give_path_ids_and_long_sections_are_split(tmp_path: Path) -> None:
    (tmp_path / "policies").mkdir()
    body = "\n\n".join(f"Paragraph {i} " + "word " * 40 for i in range(6))
    (tmp_path / "policies" / "warranty.md").write_text(f"# Warranty\n\n## Cover\n{body}\n\n### Claims\nSend a photo.", "utf-8")
    passages = read_knowledge_base(tmp_path, passage_chars=500).passages
    assert {p.doc_id for p in passages} == {"policies/warranty"}
    assert [p.id for p in passages] == [
        "policies/warranty#cover", "policies/warranty#cover-2", "policies/warranty#cover-3", "policies/warranty#claims"
    ]
    assert all(len(p.text) <= 500 for p in passages)
    assert passages[-1].headings == ("Cover", "Claims")


def test_split_text_never_exceeds_the_limit_even_without_sentence_breaks() -> None:
    pieces = split_text("x" * 2500, 1000)
    assert [len(p) for p in pieces] == [1000, 1000, 500]


def test_faq_tables_in_csv_and_jsonl(tmp_path: Path) -> None:
    (tmp_path / "faq.csv").write_text(
        'id,question,answer\nfaq-cards,Do you take Amex?,"Yes, we accept\nAmerican Express."\n,Gift wrap?,Yes for £3.\n',
        encoding="utf-8",
    )
    rows = [{"question": "Do you ship to Mars?", "answer": "No."}]
    (tmp_path / "more.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    kb = read_knowledge_base(tmp_path)
    assert [(p.id, p.title, p.text) for p in kb.passages] == [
        ("faq-cards", "Do you take Amex?", "Yes, we accept\nAmerican Express."),
        ("faq/2", "Gift wrap?", "Yes for £3."),
        ("more/1", "Do you ship to Mars?", "No."),
    ]


def test_html_pages_keep_their_headings(tmp_path: Path) -> None:
    (tmp_path / "care.html").write_text(
        "<html><head><title>Product care</title><script>var x=1;</script></head><body>"
        "<nav>Home | Shop</nav><h1>Product care</h1><h2>Cast iron</h2><p>Dry it straight away.</p>"
        "<ul><li>Oil it lightly.</li></ul><h2>Linen</h2><p>Wash at 40 degrees.</p></body></html>",
        encoding="utf-8",
    )
    passages = read_knowledge_base(tmp_path).passages
    assert [(p.id, p.title, p.text) for p in passages] == [
        ("care#cast-iron", "Product care", "Dry it straight away.\n\n- Oil it lightly."),
        ("care#linen", "Product care", "Wash at 40 degrees."),
    ]


def test_a_table_row_is_a_sentence_of_its_own_in_markdown_and_html(tmp_path: Path) -> None:
    (tmp_path / "shipping.md").write_text(
        "# Shipping\n\nCosts by destination:\n\n| Destination | Standard | Express |\n|:---|---:|---|\n"
        "| Ireland | €3.95 | €6.95 |\n| Rest of world | €14.95 | - |\n\nOrders ship from Cork.\n", encoding="utf-8")
    (tmp_path / "hours.html").write_text(
        "<html><head><title>Hours</title></head><body><h2>Opening hours</h2><table><tr><th>Day</th><th>Hours</th></tr>"
        "<tr><td>Monday</td><td>Closed</td></tr><tr><td>Saturday</td><td>09:30-17:00</td></tr></table></body></html>",
        encoding="utf-8")
    texts = {p.doc_id: p.text for p in read_knowledge_base(tmp_path).passages}
    assert texts["shipping"] == ("Costs by destination:\n\nIreland: Standard €3.95; Express €6.95.\n"
                                 "Rest of world: Standard €14.95.\n\nOrders ship from Cork.")
    assert texts["hours"] == "Monday: Closed.\n\nSaturday: 09:30-17:00."


def test_plain_text_files(tmp_path: Path) -> None:
    (tmp_path / "gift_wrap.txt").write_text("Gift wrap costs £3 per item.\n\nWe add a card for free.", "utf-8")
    [passage] = read_knowledge_base(tmp_path).passages
    assert (passage.id, passage.title) == ("gift_wrap", "Gift wrap")


def test_bad_files_are_reported_by_name_and_skipped(small_kb: Path) -> None:
    (small_kb / "latin1.md").write_bytes("# Caf\xe9\nPrix: 5 \xa3".encode("latin-1"))
    (small_kb / "broken.md").write_text("---\nid: [unclosed\n---\n# X\ntext", encoding="utf-8")
    (small_kb / "faq.csv").write_text("q,a\nhello,there\n", encoding="utf-8")
    (small_kb / "logo.png").write_bytes(b"\x89PNG")
    (small_kb / "empty.md").write_text("", encoding="utf-8")
    (small_kb / ".hidden.md").write_text("# secret", encoding="utf-8")
    kb = read_knowledge_base(small_kb)
    reasons = {s.path: s.reason for s in kb.skipped}
    assert set(reasons) == {"latin1.md", "broken.md", "faq.csv", "logo.png", "empty.md"}
    assert reasons["latin1.md"].startswith("not valid UTF-8")
    assert "question" in reasons["faq.csv"]
    assert len(kb.passages) == 3  # the good files are all there


def test_duplicate_document_ids_are_reported(small_kb: Path) -> None:
    (small_kb / "zz-copy.md").write_text("---\nid: returns\n---\n# Copy\n\n## A\ntext", encoding="utf-8")
    kb = read_knowledge_base(small_kb)
    assert [s.path for s in kb.skipped] == ["zz-copy.md"]
    assert "already used by returns.md" in kb.skipped[0].reason


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="not found"):
        read_knowledge_base(tmp_path / "nope")
