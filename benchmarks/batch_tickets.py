"""Tickets per minute: `answer-tickets` (batched generation, triage included) beside answering the
same tickets one by one with the same loaded pipeline, as `ask` does for each, each run starting
with an empty prompt cache. Tickets are the 160 helpdesk-style tickets of evals/triage.jsonl,
then the demo eval set's single questions, to reach --tickets.

Run: .venv/bin/python benchmarks/batch_tickets.py [--tickets 200] [--batch-size 32] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import time
from itertools import cycle, islice
from pathlib import Path

from chatbot.settings import REPO_ROOT, load_settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from chatbot.llm.prompt_cache import PromptCache
    from chatbot.service import create_ticket_answerer
    from chatbot.tickets.answering import shorten
    from chatbot.tickets.reader import Ticket

    def texts(name: str, field: str) -> list[str]:
        rows = [json.loads(line) for line in (REPO_ROOT / "evals" / name).read_text(encoding="utf-8").splitlines()]
        return [r[field] for r in rows if not r.get("history")]

    questions = list(islice(cycle(texts("triage.jsonl", "text") + texts("demo_store.jsonl", "question")), args.tickets))
    tickets = [Ticket(str(n), q, n) for n, q in enumerate(questions)]
    settings = load_settings(answer_style="generative")  # the decoder's batched writing is what is timed
    answerer = create_ticket_answerer(settings, args.batch_size, build_if_missing=True)
    pipeline = answerer.pipeline

    def forget_prompts() -> None:
        """An empty prompt cache (chatbot/llm/prompt_cache.py), so that neither run finds the prompts
        the other read; within a run, tickets still find the starts they share."""
        cache = getattr(pipeline.generator, "prompt_cache", None)
        if cache is not None:
            pipeline.generator.prompt_cache = PromptCache(cache.budget)

    forget_prompts()
    started = time.perf_counter()
    single = [pipeline.answer(shorten(q, settings.max_question_chars)) for q in questions]
    one_by_one = time.perf_counter() - started
    forget_prompts()
    started = time.perf_counter()
    batched = {row["id"]: row for rows in answerer.answer(tickets) for row in rows}
    together = time.perf_counter() - started

    result = {
        "tickets": len(questions),
        "batch_size": args.batch_size,
        "one_by_one_per_minute": round(60 * len(questions) / one_by_one, 1),
        "batched_per_minute": round(60 * len(questions) / together, 1),
        "speed_up": round(one_by_one / together, 2),
        "same_answers": sum(a.text == batched[str(n)]["answer"] for n, a in enumerate(single)),
        "escalated": sum(a.escalate for a in single),
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
