"""The eval written for people: a markdown report, the abstention trade-off as an SVG plot, and the JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from chatbot.evaluation.harness import CaseResult, trade_off_curve
from chatbot.text.redaction import redact_record

METRIC_NOTES = {
    "hit@1": "an expected document is the first passage",
    "hit@3": "... within the first 3",
    "hit@5": "... within the first 5",
    "mrr": "mean of 1/rank of the first expected passage",
    "answer_rate": "answerable questions answered (not escalated)",
    "abstain_recall": "unanswerable questions escalated",
    "abstain_precision": "escalations that were for unanswerable questions",
    "decision_auroc": "how well the confidence separates answerable from unanswerable",
    "unsupported_number_rate": "answers stating a number none of their sources contains",
    "reference_token_f1": "word overlap with the reference answer",
    "reference_rouge_l": "longest common word sequence with the reference answer",
    "n_key_facts": "answerable questions with key facts (`must`, `must_not`)",
    "correct_rate": "... answered with every key fact and no contradiction",
    "incomplete_rate": "... answered without a contradiction, but missing a key fact",
    "wrong_rate": "... answered with a contradiction of the pages (`must_not`)",
    "escalated_rate": "... handed to a person",
}


def write_report(
    path: str | Path, metrics: dict[str, Any], results: Sequence[CaseResult], title: str, settings_used: dict[str, Any]
) -> list[Path]:
    """Write REPORT.md (or the given name), REPORT.json and, with both classes, REPORT.svg; return the paths."""
    path = Path(path)
    if path.suffix.lower() != ".md":
        path = path.with_suffix(".md")
    path.parent.mkdir(parents=True, exist_ok=True)
    json_path, svg_path = path.with_suffix(".json"), path.with_suffix(".svg")
    # Eval sets may come from real tickets: no emails, phones or card numbers in what is written.
    data = {"metrics": metrics, "settings": settings_used, "cases": redact_record([_case_json(r) for r in results])}
    json_path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    written = [path, json_path]
    plot = ""
    if metrics.get("decision_auroc") is not None:
        svg_path.write_text(trade_off_svg(trade_off_curve(results), settings_used.get("min_score")), encoding="utf-8")
        written.append(svg_path)
        plot = f"\n## Abstention trade-off\n\n![answer rate against abstain recall]({svg_path.name})\n"
    text = _markdown(metrics, results, title, settings_used) + plot + _key_fact_misses(results) + _misses(results)
    path.write_text(text, encoding="utf-8")
    return written


def _markdown(metrics: dict[str, Any], results: Sequence[CaseResult], title: str, settings_used: dict[str, Any]) -> str:
    rows = [f"| {key} | {_fmt(value)} | {METRIC_NOTES.get(key, '')} |" for key, value in metrics.items() if key != "multi_turn"]
    text = [f"# Eval: {title}", "", "| metric | value | meaning |", "| --- | --- | --- |", *rows, ""]
    if "multi_turn" in metrics:
        text += ["Follow-up questions only (rows with `history`):", ""]
        text += [f"- {key}: {_fmt(value)}" for key, value in metrics["multi_turn"].items()] + [""]
    text += ["Settings: " + ", ".join(f"`{k}={v}`" for k, v in settings_used.items()), ""]
    return "\n".join(text)


def _key_fact_misses(results: Sequence[CaseResult]) -> str:
    """Every wrong and every incomplete answer, with its question and the key facts it was held to."""
    missed = [r for r in results if r.verdict in ("wrong", "incomplete")]
    if not missed:
        return ""
    lines = ["", "## Wrong and incomplete answers", ""]
    lines += ["| verdict | question | answer | must | must not |", "| --- | --- | --- | --- | --- |"]

    def cell(text: str) -> str:
        return " ".join(text.split()).replace("|", "/")

    for r in sorted(missed, key=lambda r: r.verdict != "wrong"):
        lines.append(f"| {r.verdict} | {cell(r.case.question)} | {cell(r.answer or '')} | "
                     f"{cell(' ; '.join(r.case.must))} | {cell(' ; '.join(r.case.must_not))} |")
    return "\n".join(lines) + "\n"


def _misses(results: Sequence[CaseResult]) -> str:
    lines = ["", "## Misses", "", "Answerable questions whose expected document was not first, and wrong decisions.", ""]
    lines += ["| question | expected | retrieved (top 3) | decision |", "| --- | --- | --- | --- |"]
    for r in results:
        wrong_decision = r.escalate == r.case.answerable and r.judged
        if (r.case.answerable and r.rank != 1) or wrong_decision:
            got = ", ".join(f"{p.doc_id} ({p.score:.2f})" for p in r.retrieved[:3])
            decision = f"{'escalated' if r.escalate else 'answered'} ({r.confidence:.2f})"
            question = " ".join(r.case.question.split()).replace("|", "/")[:120]
            lines.append(f"| {question} | {', '.join(r.case.expected) or '-'} | {got} | {decision} |")
    return "\n".join(lines) + "\n"


def trade_off_svg(
    curve: Sequence[tuple[float, float, float]],
    current: float | None,
    size: int = 360,
    baseline: Sequence[tuple[float, float, float]] = (),
    labels: tuple[str, str] = ("", ""),
) -> str:
    """Answer rate (x) against abstain recall (y) for every confidence threshold; the current one
    marked; a `baseline` curve in grey beside it when given, with the two `labels` as a legend."""
    pad = 48
    inner = size - 2 * pad

    def xy(answer_rate: float, abstain_recall: float) -> tuple[float, float]:
        return pad + answer_rate * inner, pad + (1 - abstain_recall) * inner

    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(a, r) for _, a, r in curve))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" font-family="sans-serif" font-size="11">',
        f'<rect x="{pad}" y="{pad}" width="{inner}" height="{inner}" fill="none" stroke="#999"/>',
        f'<polyline points="{points}" fill="none" stroke="#1f77b4" stroke-width="2"/>',
        f'<text x="{size / 2}" y="{size - 12}" text-anchor="middle">answer rate (answerable answered)</text>',
        f'<text x="14" y="{size / 2}" text-anchor="middle" transform="rotate(-90 14 {size / 2})">abstain recall (unanswerable escalated)</text>',
        f'<text x="{pad}" y="{pad - 8}">1.0</text><text x="{pad}" y="{size - pad + 14}">0</text>',
        f'<text x="{size - pad}" y="{size - pad + 14}" text-anchor="end">1.0</text>',
    ]
    if baseline:
        grey = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(a, r) for _, a, r in baseline))
        parts.insert(2, f'<polyline points="{grey}" fill="none" stroke="#aaa" stroke-width="2" stroke-dasharray="4 3"/>')
    if any(labels):
        parts.append(f'<text x="{pad + 6}" y="{pad + 16}" fill="#1f77b4">{escape(labels[0])}</text>')
        parts.append(f'<text x="{pad + 6}" y="{pad + 30}" fill="#888">{escape(labels[1])}</text>')
    if current is not None and curve:
        t, a, r = min(curve, key=lambda point: abs(point[0] - current))
        x, y = xy(a, r)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#d62728"/>')
        parts.append(f'<text x="{x + 6:.1f}" y="{y - 6:.1f}">{escape(f"threshold {t:.2f}")}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _case_json(r: CaseResult) -> dict[str, Any]:
    data: dict[str, Any] = {
        "question": r.case.question,
        "expected": list(r.case.expected),
        "answerable": r.case.answerable,
        "rank": r.rank,
        "retrieved": [p.as_source() for p in r.retrieved],
        "escalate": r.escalate,
        "reason": r.reason,
        "confidence": round(r.confidence, 4),
    }
    if r.answer is not None:
        data |= {"answer": r.answer, "sources": [p.as_source() for p in r.sources], "timings": r.timings}
    if r.verdict is not None:
        data["key_facts"] = r.verdict
    return data


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def write_calibration_report(
    path: str | Path,
    figures: dict[str, Any],
    model_curve: Sequence[tuple[float, float, float]],
    cosine_curve: Sequence[tuple[float, float, float]],
) -> list[Path]:
    """PATH.md with the figures and the trade-off at several answer rates, and PATH.svg with both curves."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    svg = path.with_suffix(".svg")
    model, cosine = figures["model_cross_validated"], figures["cosine_threshold"]
    svg.write_text(
        trade_off_svg(model_curve, model["threshold"], baseline=cosine_curve, labels=("calibrated model (cross-validated)", "cosine threshold")),
        encoding="utf-8",
    )
    rows = ["| answer rate at least | abstain recall, model | abstain recall, cosine |", "|---|---|---|"]
    for rate in (0.8, 0.85, 0.9, 0.95):
        best = [max((r for _, a, r in curve if a >= rate), default=0.0) for curve in (model_curve, cosine_curve)]
        rows.append(f"| {rate:.2f} | {best[0]:.3f} | {best[1]:.3f} |")
    lines = [
        f"# Abstention calibration: {figures['questions']} questions ({figures['unanswerable']} unanswerable)",
        "",
        f"Each question scored by a model fitted without it ({figures['folds']}-fold cross-validation).",
        "",
        "| decision score | AUROC | threshold | answer rate | abstain recall |",
        "|---|---|---|---|---|",
        *(f"| {name} | {f['auroc']:.3f} | {f['threshold']:.3f} | {f['answer_rate']:.3f} | {f['abstain_recall']:.3f} |"
          for name, f in (("calibrated model", model), ("cosine", cosine))),
        "",
        *rows,
        "",
        f"![trade-off]({svg.name})",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return [path, svg]
