"""Tickets per minute: `answer-tickets` (batched generation) beside answering the same tickets one
by one with the same loaded pipeline, as `ask` does for each. Tickets are the demo eval set's
single questions, repeated to reach --tickets.

Run: .venv/bin/python benchmarks/batch_tickets.py [--tickets 200] [--batch-size 16] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from itertools import cycle, islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatbot.settings import REPO_ROOT, load_settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from chatbot.service import create_pipeline

    rows = [json.loads(line) for line in (REPO_ROOT / "evals" / "demo_store.jsonl").read_text().splitlines()]
    questions = list(islice(cycle([r["question"] for r in rows if not r.get("history")]), args.tickets))
    pipeline = create_pipeline(load_settings(), build_if_missing=True)

    started = time.perf_counter()
    single = [pipeline.answer(q) for q in questions]
    one_by_one = time.perf_counter() - started
    started = time.perf_counter()
    batched = pipeline.answer_batch(questions, args.batch_size)
    together = time.perf_counter() - started

    result = {
        "tickets": len(questions),
        "batch_size": args.batch_size,
        "one_by_one_per_minute": round(60 * len(questions) / one_by_one, 1),
        "batched_per_minute": round(60 * len(questions) / together, 1),
        "speed_up": round(one_by_one / together, 2),
        "same_answers": sum(a.text == b.text for a, b in zip(single, batched)),
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
