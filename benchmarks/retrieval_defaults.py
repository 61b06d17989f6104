"""Retrieval settings side by side on public stores they were not tuned on: WixQA, ABCD, Bitext.

Each store is imported into a fresh folder and indexed with the bundled embedder and the default
settings (ABCD without its importer's retrieval settings and without the tuned embedder); then
every retrieval configuration is run through the eval harness in retrieval-only mode (retrieve
and decide, no decoder), as `chatbot eval --retrieval-only` does. The index does not depend on
the retrieval settings (`build_index` takes only the passages and the embedder), so one index per
store serves every configuration.

Abstention: each configuration's decisions are taken twice, once with every top cosine counted as
strong evidence and once as weak (min_score 0 and above 1); the decision at any threshold t is
then the weak one for questions whose top cosine is below t and the strong one otherwise, exactly
what the pipeline decides with min_score = t (the topic guard included). That gives the answer
rate and abstain recall at every threshold without running the pipeline once per threshold.

Run: .venv/bin/python benchmarks/retrieval_defaults.py [--configs NAME ...] [--work DIR]
         [--passage-chars N] [--out benchmarks/results/retrieval_defaults.json]
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from chatbot.answer.guardrails import TopicGuard
from chatbot.answer.pipeline import Pipeline
from chatbot.evaluation import abcd, wixqa
from chatbot.evaluation.harness import CaseResult, EvalCase, read_eval_cases, run_eval, summarize
from chatbot.knowledge.embedding import Embedder, RememberingEmbedder, SentenceTransformerEmbedder
from chatbot.knowledge.retrieval import HybridRetriever
from chatbot.service import index_knowledge_base, make_guard, make_mentions
from chatbot.settings import REPO_ROOT, Settings, load_settings

BITEXT = REPO_ROOT.parent / "shared" / "benchmarks" / "bitext_cs_en"
# The issue's targets: answer at least this share of answerable questions, decline at least this
# share of unanswerable ones.
TARGET_ANSWER_RATE = 0.90
TARGET_ABSTAIN_RECALL = 0.80
THRESHOLDS = [round(0.01 * i, 2) for i in range(101)]
# The part of the trade-off curves kept in the JSON: where the stores' thresholds fall.
CURVE_KEPT = slice(25, 56)

# Each configuration: settings replaced on top of the defaults. "default" is the settings as they
# stand (a --settings file and CHATBOT_* variables are honoured there, as in every command).
CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    "dense": {"retrieval": "dense"},
    "lexical": {"retrieval": "lexical"},
    "w0.5": {"retrieval": "hybrid", "fusion": "weighted", "dense_weight": 0.5},
    "w0.7": {"retrieval": "hybrid", "fusion": "weighted", "dense_weight": 0.7},
    "w0.85": {"retrieval": "hybrid", "fusion": "weighted", "dense_weight": 0.85},
    "w0.9": {"retrieval": "hybrid", "fusion": "weighted", "dense_weight": 0.9},
    "std": {"retrieval": "hybrid", "fusion": "standardised", "dense_weight": 0.7},
    # The ABCD importer's own retrieval settings (chatbot/evaluation/abcd.py), tried on every store.
    "std-abcd": {"retrieval": "hybrid", "fusion": "standardised", "dense_weight": 0.7, "title_weight": 0.35,
                 "document_weight": 0.5},
    "rrf": {"retrieval": "hybrid", "fusion": "rrf"},
    "w0.7-c20": {"retrieval": "hybrid", "fusion": "weighted", "dense_weight": 0.7, "candidates": 20},
    "w0.7-c100": {"retrieval": "hybrid", "fusion": "weighted", "dense_weight": 0.7, "candidates": 100},
    "w0.85-c20": {"retrieval": "hybrid", "fusion": "weighted", "dense_weight": 0.85, "candidates": 20},
    "w0.85-c100": {"retrieval": "hybrid", "fusion": "weighted", "dense_weight": 0.85, "candidates": 100},
    "std-c20": {"retrieval": "hybrid", "fusion": "standardised", "dense_weight": 0.7, "candidates": 20},
    "std-c100": {"retrieval": "hybrid", "fusion": "standardised", "dense_weight": 0.7, "candidates": 100},
}


@dataclass(frozen=True)
class EvalSet:
    """One eval set over one store's knowledge base."""

    name: str
    store: str
    cases: list[EvalCase]


def import_stores(work: Path) -> tuple[dict[str, Path], list[EvalSet]]:
    """Each store's knowledge-base folder, and the eval sets asked of them."""
    full = wixqa.import_wixqa(wixqa.DEFAULT_SOURCE, work / "wixqa")
    left_out = wixqa.import_wixqa(wixqa.DEFAULT_SOURCE, work / "wixqa-leave-out-4", leave_out_every=4)
    procedures = abcd.import_abcd(abcd.DEFAULT_SOURCE, work / "abcd")  # its settings.toml is not read
    kbs = {"wixqa": full.kb_dir, "wixqa-lo4": left_out.kb_dir, "abcd": procedures.kb_dir, "bitext": BITEXT / "kb"}
    sets = [
        EvalSet("wixqa", "wixqa", read_eval_cases(full.questions_path)),
        EvalSet("wixqa-lo4", "wixqa-lo4", read_eval_cases(left_out.questions_path)),
        EvalSet("abcd-held-out", "abcd", read_eval_cases(REPO_ROOT / "evals" / "abcd_messages.jsonl")),
        EvalSet("abcd-dev", "abcd", read_eval_cases(REPO_ROOT / "evals" / "abcd_dev.jsonl")),
        EvalSet("bitext", "bitext", read_eval_cases(BITEXT / "questions.jsonl")),
    ]
    return kbs, sets


def index_stores(base: Settings, kbs: dict[str, Path], work: Path, embedder: Embedder) -> dict[str, dict[str, Any]]:
    """Build one index per store (in `work`), with the base settings' passage size."""
    built = {}
    for store, kb_dir in kbs.items():
        settings = replace(base, kb_dir=kb_dir, index_dir=work / "indexes" / f"{store}-{base.passage_chars}")
        result = index_knowledge_base(settings, embedder)
        built[store] = {"index_dir": str(settings.index_dir), "passages": result.report.passages,
                        "embedded": result.report.embedded, "build_s": round(result.report.seconds, 2)}
    return built


def decisions_at(strong: Sequence[CaseResult], weak: Sequence[CaseResult], threshold: float) -> list[CaseResult]:
    """The pipeline's decisions with min_score = `threshold`, from its decisions with every top
    cosine counted as strong and as weak evidence (the retrieved passages are the same in both)."""
    return [w if s.confidence < threshold else s for s, w in zip(strong, weak)]


def measure(base: Settings, overrides: dict[str, Any], eval_set: EvalSet, index_dir: Path, embedder: Embedder,
            guard: TopicGuard | None) -> dict[str, Any]:
    """The harness's figures for one configuration on one eval set, at its min_score and at every threshold."""
    settings = replace(base, index_dir=index_dir, **overrides)
    retriever = HybridRetriever.from_settings(settings, embedder)
    mentions = make_mentions(settings, retriever, embedder)
    runs = []
    for min_score in (0.0, 1.01):
        pipeline = Pipeline(retriever, None, replace(settings, min_score=min_score), guard=guard, embedder=embedder,
                            mentions=mentions)
        runs.append(run_eval(pipeline, eval_set.cases, retrieval_only=True))
    strong, weak = runs
    figures = summarize(decisions_at(strong, weak, settings.min_score), retrieval_only=True)
    curve = []
    for t in THRESHOLDS:
        at = summarize(decisions_at(strong, weak, t), retrieval_only=True)
        curve.append((t, at["answer_rate"], at["abstain_recall"]))
    figures["asked_for_human"] = sum(1 for r in strong if not r.judged)
    figures["curve"] = curve
    return figures


def best_thresholds(curve: Sequence[tuple[float, float | None, float | None]]) -> dict[str, Any]:
    """The best abstain recall at the target answer rate, and the best answer rate at the target recall."""
    at_rate = [(recall or 0.0, t) for t, rate, recall in curve if (rate or 0.0) >= TARGET_ANSWER_RATE]
    at_recall = [(rate or 0.0, -t) for t, rate, recall in curve if (recall or 0.0) >= TARGET_ABSTAIN_RECALL]
    recall, t_rate = max(at_rate) if at_rate else (None, None)
    rate, t_recall = max(at_recall) if at_recall else (None, None)
    return {"recall_at_target_rate": recall, "threshold_at_target_rate": t_rate,
            "rate_at_target_recall": rate, "threshold_at_target_recall": -t_recall if t_recall is not None else None}


def joint_threshold(per_set: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The one min_score for the sets with unanswerable questions (the targets are set on those):
    answer rate >= the target on each, and the lower of their abstain recalls as high as can be.
    The answer rates of the other sets at that threshold are reported beside it."""
    best: tuple[float, float, float] | None = None  # (lower recall, summed recall, threshold)
    judged = [figures for figures in per_set.values() if figures["n_unanswerable"]]
    for i, t in enumerate(THRESHOLDS):
        rates = [figures["curve"][i][1] or 0.0 for figures in judged]
        recalls = [figures["curve"][i][2] or 0.0 for figures in judged]
        # A tie on the lower recall goes to the threshold that declines more of the other set.
        if recalls and min(rates) >= TARGET_ANSWER_RATE and (best is None or (min(recalls), sum(recalls)) > best[:2]):
            best = (min(recalls), sum(recalls), t)
    if best is None:
        return {"threshold": None}
    i = THRESHOLDS.index(best[2])
    return {"threshold": best[2], "min_abstain_recall": best[0],
            "answer_rate": {name: figures["curve"][i][1] for name, figures in per_set.items()},
            "abstain_recall": {name: figures["curve"][i][2] for name, figures in per_set.items()
                               if figures["n_unanswerable"]}}


ROWS = [  # (eval set, figure, label) printed in the table
    ("wixqa", "hit@1", "WixQA hit@1"), ("wixqa", "hit@3", "WixQA hit@3"), ("wixqa", "hit@5", "WixQA hit@5"),
    ("wixqa", "mrr", "WixQA MRR"),
    ("wixqa-lo4", "hit@1", "WixQA-lo4 hit@1"), ("wixqa-lo4", "answer_rate", "WixQA-lo4 answer rate*"),
    ("wixqa-lo4", "abstain_recall", "WixQA-lo4 abstain recall*"), ("wixqa-lo4", "decision_auroc", "WixQA-lo4 AUROC"),
    ("wixqa-lo4", "recall_at_target_rate", "WixQA-lo4 recall @ans>=.90"),
    ("wixqa-lo4", "threshold_at_target_rate", "  at min_score"),
    ("wixqa-lo4", "rate_at_target_recall", "WixQA-lo4 ans @recall>=.80"),
    ("abcd-held-out", "hit@1", "ABCD held-out hit@1"), ("abcd-held-out", "hit@3", "ABCD held-out hit@3"),
    ("abcd-held-out", "mrr", "ABCD held-out MRR"),
    ("abcd-dev", "hit@1", "ABCD dev hit@1"), ("abcd-dev", "hit@3", "ABCD dev hit@3"),
    ("bitext", "hit@1", "Bitext hit@1"), ("bitext", "hit@3", "Bitext hit@3"),
    ("bitext", "answer_rate", "Bitext answer rate*"), ("bitext", "abstain_recall", "Bitext abstain recall*"),
    ("bitext", "decision_auroc", "Bitext AUROC"),
    ("bitext", "recall_at_target_rate", "Bitext recall @ans>=.90"),
    ("bitext", "threshold_at_target_rate", "  at min_score"),
    ("bitext", "rate_at_target_recall", "Bitext ans @recall>=.80"),
]


def table(results: dict[str, dict[str, Any]]) -> str:
    """One row per figure, one column per configuration."""
    names = list(results)
    width = max(9, *(len(n) + 1 for n in names))
    lines = [f"{'':28}" + "".join(f"{n:>{width}}" for n in names)]
    for eval_set, key, label in ROWS:
        cells = [results[n]["sets"][eval_set].get(key) for n in names]
        lines.append(f"{label:28}" + "".join(f"{'-' if c is None else f'{c:.3f}':>{width}}" for c in cells))
    joint: list[tuple[str, str | None, str]] = [
        ("threshold", None, "one min_score, lo4+Bitext*"), ("min_abstain_recall", None, "  lower abstain recall"),
        ("answer_rate", "wixqa", "  WixQA answer rate"), ("answer_rate", "abcd-held-out", "  ABCD held-out ans. rate"),
    ]
    for key, per_set, label in joint:
        cells = [results[n]["joint"].get(key) for n in names]
        cells = [c.get(per_set) if isinstance(c, dict) else c for c in cells]
        lines.append(f"{label:28}" + "".join(f"{'-' if c is None else f'{c:.3f}':>{width}}" for c in cells))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS),
                        help="Configurations to run.")
    parser.add_argument("--settings", type=Path, help="A settings file for the base (default: the defaults).")
    parser.add_argument("--passage-chars", type=int, help="Passage size for every index (default: the settings').")
    parser.add_argument("--work", type=Path,
                        help="Keep the imported stores and indexes here (default: a temporary folder).")
    parser.add_argument("--out", type=Path, help="Write the figures as JSON here too.")
    args = parser.parse_args()

    base = load_settings(args.settings, passage_chars=args.passage_chars)
    # One embedder for every store and configuration; it remembers each question's vector, so
    # a question is embedded once however many configurations ask it.
    embedder = RememberingEmbedder(SentenceTransformerEmbedder(base.embedder, device=base.device), size=4096)
    guard = make_guard(base, embedder)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        kbs, sets = import_stores(work)
        indexes = index_stores(base, kbs, work, embedder)
        results: dict[str, dict[str, Any]] = {}
        for name in args.configs:
            started = time.perf_counter()
            per_set = {}
            for eval_set in sets:
                index_dir = Path(indexes[eval_set.store]["index_dir"])
                per_set[eval_set.name] = measure(base, CONFIGS[name], eval_set, index_dir, embedder, guard)
                per_set[eval_set.name] |= best_thresholds(per_set[eval_set.name]["curve"])
            results[name] = {"overrides": CONFIGS[name], "sets": per_set, "joint": joint_threshold(per_set)}
            print(f"{name}: {time.perf_counter() - started:.0f} s", flush=True)

    print()
    print(table(results))
    print(f"* at each configuration's min_score ({base.min_score} unless overridden); 'one min_score': answer rate "
          f">= {TARGET_ANSWER_RATE} on WixQA-lo4 and Bitext, the lower of their abstain recalls highest.")
    asked = {s.name: results[args.configs[0]]["sets"][s.name]["asked_for_human"] for s in sets}
    print(f"Rows where the shopper asks for a person (handed over; hit@k from the search all the same): {asked}")
    if args.out:
        used = {f: str(v) if isinstance(v, Path) else v for f, v in vars(base).items()
                if f in ("embedder", "passage_chars", "retrieval", "fusion", "dense_weight", "title_weight",
                         "document_weight", "candidates", "passages_per_doc", "top_k", "min_score",
                         "follow_up_min_score", "topics_file")}
        built = {store: {k: v for k, v in index.items() if k != "index_dir"} for store, index in indexes.items()}
        report = {"base_settings": used, "indexes": built, "sizes": {s.name: len(s.cases) for s in sets},
                  "targets": {"answer_rate": TARGET_ANSWER_RATE, "abstain_recall": TARGET_ABSTAIN_RECALL},
                  "curve_thresholds": THRESHOLDS[CURVE_KEPT], "results": without_full_curves(results)}
        args.out.write_text(compact_json(report) + "\n", encoding="utf-8")


def without_full_curves(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The results with each curve cut to CURVE_KEPT, as answer rates and abstain recalls."""
    kept: dict[str, dict[str, Any]] = {}
    for name, result in results.items():
        sets = {}
        for eval_set, figures in result["sets"].items():
            curve = figures["curve"][CURVE_KEPT]
            sets[eval_set] = {k: v for k, v in figures.items() if k != "curve"}
            sets[eval_set]["answer_rate_curve"] = [rate for _, rate, _ in curve]
            if figures["n_unanswerable"]:
                sets[eval_set]["abstain_recall_curve"] = [recall for _, _, recall in curve]
        kept[name] = result | {"sets": sets}
    return kept


def compact_json(data: Any) -> str:
    """JSON indented, with each list of numbers (a curve's points) kept on one line.

    >>> print(compact_json({"curve": [[0.0, 1.0, None]]}))
    {
     "curve": [
      [0.0, 1.0, null]
     ]
    }
    """
    text = json.dumps(data, indent=1)
    return re.sub(r"\[\s+([-0-9.e,\snul]*?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text)


if __name__ == "__main__":
    main()
