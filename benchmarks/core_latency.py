"""Index build time for a knowledge base, and time to first token / decode speed of `ask`.

Run: .venv/bin/python benchmarks/core_latency.py [--kb DIR] [--runs N] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from chatbot.settings import load_settings

QUESTIONS = [
    "How many days do I have to return an item?",
    "How much is standard delivery in the UK?",
    "Do you ship to Canada?",
    "My payment was declined, what should I do?",
]


class RecordingGenerator:
    """Passes the decoder's stream through and keeps the raw text it wrote, to count its tokens."""

    def __init__(self, generator) -> None:  # noqa: ANN001
        self.generator = generator
        self.written = ""

    def stream(self, messages, max_new_tokens, temperature=None):  # noqa: ANN001, ANN201
        self.written = ""
        for piece in self.generator.stream(messages, max_new_tokens, temperature):
            self.written += piece
            yield piece


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, help="Knowledge base folder (default: the demo store).")
    parser.add_argument("--runs", type=int, default=2, help="Times each question is asked (the first is a warm-up).")
    parser.add_argument("--out", type=Path, help="Write the figures as JSON here too.")
    args = parser.parse_args()

    from chatbot.answer.pipeline import Pipeline
    from chatbot.knowledge.retrieval import HybridRetriever
    from chatbot.llm.huggingface import TransformersGenerator, TransformersOptions
    from chatbot.service import index_knowledge_base, load_embedder

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(kb_dir=args.kb, index_dir=Path(tmp) / "index", answer_style="generative")
        started = time.perf_counter()
        embedder = load_embedder(settings)
        embedder_load = time.perf_counter() - started
        indexing = index_knowledge_base(settings, embedder)
        rebuild = index_knowledge_base(settings, embedder)  # nothing changed: nothing re-embedded

        started = time.perf_counter()
        generator = TransformersGenerator(TransformersOptions(settings.model, settings.gguf_file, settings.device))
        generator_load = time.perf_counter() - started
        recorder = RecordingGenerator(generator)
        pipeline = Pipeline(HybridRetriever.from_settings(settings, embedder), recorder, settings)

        rows = []
        for question in QUESTIONS:
            for run in range(args.runs):
                answer = pipeline.answer(question)
                if run == 0 or answer.escalate:
                    continue
                tokens = len(generator.tokenizer.encode(recorder.written, add_special_tokens=False))
                decode_s = (answer.timings["total_ms"] - answer.timings["first_token_ms"]) / 1000
                rows.append({
                    "question": question,
                    "ttft_ms": answer.timings["first_token_ms"],
                    "retrieval_ms": answer.timings["retrieval_ms"],
                    "tokens": tokens,
                    "decode_tok_s": (tokens - 1) / decode_s if decode_s > 0 else 0.0,
                })

    figures = {
        "passages": indexing.report.passages,
        "index_build_s": round(indexing.report.seconds, 2),
        "index_rebuild_unchanged_s": round(rebuild.report.seconds, 2),
        "reembedded_on_rebuild": rebuild.report.embedded,
        "embedder_load_s": round(embedder_load, 2),
        "generator_load_s": round(generator_load, 2),
        "device": generator.device,
        "ttft_ms_p50": round(statistics.median(r["ttft_ms"] for r in rows), 1),
        "retrieval_ms_p50": round(statistics.median(r["retrieval_ms"] for r in rows), 1),
        "decode_tok_s_p50": round(statistics.median(r["decode_tok_s"] for r in rows), 1),
        "answers_measured": len(rows),
    }
    for row in rows:
        print(f"{row['ttft_ms']:7.0f} ms to first token, {row['decode_tok_s']:5.1f} tok/s, {row['tokens']:3d} tokens  {row['question']}")
    print(json.dumps(figures, indent=2))
    if args.out:
        args.out.write_text(json.dumps({"figures": figures, "answers": rows}, indent=2))


if __name__ == "__main__":
    main()
