"""Tune the embedder on a store's own labelled customer messages: each message is pulled towards
the document it should bring up and away from the other documents in its batch (in-batch
negatives, as sentence-transformers' MultipleNegativesRankingLoss). A small embedder reads
"where is my refund??" far from a procedure written from the agent's side; a few dozen labelled
messages per flow close much of that gap (README, ABCD procedures)."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from chatbot.errors import EvalSetError, ModelLoadError
from chatbot.evaluation.harness import EvalCase, passage_matches
from chatbot.values import Passage

SIMILARITY_SCALE = 20.0  # cosines times this are the logits (sentence-transformers' default)
MANIFEST = "tuning.json"


@dataclass(frozen=True)
class TuningReport:
    pairs: int  # labelled messages trained on
    documents: int  # distinct documents they name
    unmatched: tuple[str, ...]  # messages whose expected documents are not in the knowledge base
    epochs: int
    seconds: float
    out_dir: Path


def labelled_pairs(cases: Sequence[EvalCase], passages: Sequence[Passage]) -> tuple[list[tuple[str, str]], list[str]]:
    """(message, document id) for every answerable case whose expected document is in the
    knowledge base (the first that is, by id or title); and the messages whose isn't."""
    documents = list(dict.fromkeys(p.doc_id for p in passages))
    first_passage = {p.doc_id: p for p in reversed(passages)}
    pairs, unmatched = [], []
    for case in cases:
        if not case.answerable:
            continue
        found = next((d for d in documents if passage_matches(first_passage[d], case.expected)), None)
        if found is None:
            unmatched.append(case.question)
        else:
            pairs.append((case.question, found))
    return pairs, unmatched


def document_texts(passages: Sequence[Passage]) -> dict[str, str]:
    """Each document as one text, its title then its passages (the embedder reads the first 256
    tokens or so: the title and the opening steps)."""
    texts: dict[str, list[str]] = {}
    for passage in passages:
        texts.setdefault(passage.doc_id, [passage.title]).append(passage.text)
    return {doc_id: "\n".join(parts) for doc_id, parts in texts.items()}


def tune_embedder(
    base: str,
    cases: Sequence[EvalCase],
    passages: Sequence[Passage],
    out_dir: str | Path,
    epochs: int = 3,
    learning_rate: float = 2e-5,
    batch_size: int = 16,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> TuningReport:
    """Fine-tune the sentence-transformers model `base` (a setting's value: the bundled id, a
    folder or a hub id) on `cases` over `passages`, and save it to `out_dir`, which must not hold
    anything yet. The same inputs and seed give the same weights. `progress(done, total)` is told
    after each batch."""
    import torch
    from sentence_transformers import SentenceTransformer

    from chatbot.knowledge.embedding import resolve_embedder_path

    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise EvalSetError(f"{out_dir} is not empty; choose a new folder (a tuned embedder is never overwritten).")
    pairs, unmatched = labelled_pairs(cases, passages)
    if len(pairs) < 2:
        raise EvalSetError(
            f"Only {len(pairs)} labelled message(s) name a document of this knowledge base; tuning needs at least 2 "
            "(each row: question, expected document ids or titles)."
        )
    texts = document_texts(passages)
    try:
        model = SentenceTransformer(resolve_embedder_path(base), device="cpu")
    except (OSError, ValueError) as error:
        raise ModelLoadError(f"Cannot load embedder {base!r} to tune it: {error}") from error
    torch.manual_seed(seed)
    order = random.Random(seed)
    optimiser = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    started = time.perf_counter()
    steps, total = 0, epochs * -(-len(pairs) // batch_size)
    model.train()
    for _ in range(epochs):
        shuffled = order.sample(pairs, len(pairs))
        for first in range(0, len(shuffled), batch_size):
            batch = shuffled[first:first + batch_size]
            documents = list(dict.fromkeys(doc_id for _, doc_id in batch))  # a document once, so no false negatives
            messages = _embed(model, [message for message, _ in batch])
            targets = _embed(model, [texts[doc_id] for doc_id in documents])
            labels = torch.tensor([documents.index(doc_id) for _, doc_id in batch])
            loss = torch.nn.functional.cross_entropy(messages @ targets.T * SIMILARITY_SCALE, labels)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            steps += 1
            if progress:
                progress(steps, total)
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(str(out_dir))
    seconds = time.perf_counter() - started
    manifest = {"base": base, "pairs": len(pairs), "documents": len({d for _, d in pairs}), "epochs": epochs,
                "learning_rate": learning_rate, "batch_size": batch_size, "seed": seed}
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return TuningReport(len(pairs), len({d for _, d in pairs}), tuple(unmatched), epochs, seconds, out_dir)


def _embed(model, texts: list[str]):  # noqa: ANN001, ANN202 - a SentenceTransformer and its tensors
    import torch

    features = model.tokenize(texts)
    return torch.nn.functional.normalize(model(features)["sentence_embedding"], dim=-1)
