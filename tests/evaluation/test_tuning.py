"""Tuning the embedder on labelled customer messages: which messages it trains on, what it refuses,
and (real model) that the tuned copy pulls messages towards their documents and is reproducible."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chatbot.errors import EvalSetError
from chatbot.evaluation.harness import EvalCase
from chatbot.evaluation.tuning import MANIFEST, document_texts, labelled_pairs, tune_embedder
from chatbot.knowledge.ingest import read_knowledge_base
from chatbot.settings import BUNDLED_EMBEDDER

PROCEDURES = {
    "refund-status": ("Refund Status", "Pull up the account. Look up the refund by order ID and read its stage "
                      "from the system: requested, received at warehouse, approved, paid out."),
    "manage-cancel": ("Manage Cancel", "Check the order's shipping status. If it has not shipped, click "
                      "[Cancel Order] and confirm the item count with the customer."),
    "reset-2fa": ("Reset Two-Factor Auth", "Verify identity with the zip code and phone number on file, then "
                  "send a new two-factor code with [Send Code] to the email on the account."),
}

MESSAGES = [
    ("hey its been two weeks, where is my money??", "refund-status"),
    ("sent the jacket back ages ago, did u guys ever pay me", "refund-status"),
    ("oops i bought the wrong size, stop it before it leaves please", "manage-cancel"),
    ("i dont want the boots anymore, can you kill the order", "manage-cancel"),
    ("the code thing on my phone isnt arriving and i cant log in", "reset-2fa"),
    ("locked out, the login keeps asking for a number i never get", "reset-2fa"),
]


def write_procedures(kb: Path) -> Path:
    kb.mkdir()
    for doc_id, (title, text) in PROCEDURES.items():
        (kb / f"{doc_id}.md").write_text(f'---\nid: "{doc_id}"\ntitle: "{title}"\n---\n# {title}\n\n{text}\n')
    return kb


def cases(rows: list[tuple[str, str]]) -> list[EvalCase]:
    return [EvalCase(message, (doc_id,)) for message, doc_id in rows]


def test_messages_are_paired_with_the_document_they_name_by_id_or_title(tmp_path: Path) -> None:
    passages = read_knowledge_base(write_procedures(tmp_path / "kb")).passages
    labelled = [
        EvalCase("where is my refund", ("refund-status",)),
        EvalCase("cancel it please", ("manage cancel",)),  # a title, in any case
        EvalCase("what is the meaning of life", (), answerable=False),  # nothing to pull towards
        EvalCase("change my address", ("Shipping Address / Update",)),  # not in this knowledge base
    ]
    pairs, unmatched = labelled_pairs(labelled, passages)
    assert pairs == [("where is my refund", "refund-status"), ("cancel it please", "manage-cancel")]
    assert unmatched == ["change my address"]
    assert document_texts(passages)["reset-2fa"].startswith("Reset Two-Factor Auth\n")


def test_too_few_labelled_messages_or_a_used_folder_is_refused_before_any_training(tmp_path: Path) -> None:
    passages = read_knowledge_base(write_procedures(tmp_path / "kb")).passages
    with pytest.raises(EvalSetError, match="Only 1 labelled message"):
        tune_embedder(BUNDLED_EMBEDDER, cases(MESSAGES[:1]), passages, tmp_path / "out")
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("an earlier tuned model")
    with pytest.raises(EvalSetError, match="not empty"):
        tune_embedder(BUNDLED_EMBEDDER, cases(MESSAGES), passages, used)
    assert (used / "keep.txt").read_text() == "an earlier tuned model"


def test_a_tuned_embedder_brings_messages_closer_to_their_documents_and_is_reproducible(tmp_path: Path) -> None:
    from chatbot.knowledge.embedding import SentenceTransformerEmbedder
    from chatbot.knowledge.index import build_index, load_index

    passages = read_knowledge_base(write_procedures(tmp_path / "kb")).passages
    texts = document_texts(passages)
    documents = list(texts)

    def cosines(embedder: SentenceTransformerEmbedder) -> np.ndarray:
        """Each message's cosine to its own document."""
        messages = embedder.embed([m for m, _ in MESSAGES])
        targets = embedder.embed([texts[d] for d in documents])
        return np.array([messages[i] @ targets[documents.index(d)] for i, (_, d) in enumerate(MESSAGES)])

    before = cosines(SentenceTransformerEmbedder(BUNDLED_EMBEDDER))
    report = tune_embedder(BUNDLED_EMBEDDER, cases(MESSAGES), passages, tmp_path / "tuned", epochs=3, learning_rate=5e-5)
    assert (report.pairs, report.documents, report.unmatched) == (6, 3, ())
    assert (tmp_path / "tuned" / MANIFEST).exists()
    tuned = SentenceTransformerEmbedder(str(tmp_path / "tuned"))
    after = cosines(tuned)
    assert after.mean() > before.mean() + 0.05 and (after > before).sum() >= 5

    again = SentenceTransformerEmbedder(
        str(tune_embedder(BUNDLED_EMBEDDER, cases(MESSAGES), passages, tmp_path / "again", epochs=3, learning_rate=5e-5).out_dir)
    )
    np.testing.assert_allclose(again.embed(["where is my refund"]), tuned.embed(["where is my refund"]), atol=1e-5)

    build_index(passages, tuned, tmp_path / "index")
    assert load_index(tmp_path / "index", tuned.id, tuned.dimension).manifest["embedder"] == str(tmp_path / "tuned")
