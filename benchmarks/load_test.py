"""Many shoppers at once: simulated shoppers chat with the running app (app.py, started here on
127.0.0.1, with its default settings) through its HTTP API, 1, 4, 16 and 32 at a time. Reports
p50/p95 time to the first visible words as the client sees them (from sending the message to the
first non-empty bot text it receives) and to the whole answer, errors, and whether the support log
holds a turn for every answer received, as a table and JSON;
when the decoder writes the answers (`--style generative`, or the settings say so), tokens per
second per shopper and in total too.

The app runs with its own settings (answer_style "extractive" by default: the answer is composed
from the pages' sentences, no decoder loaded), its support log and order store in a scratch
folder. The first words are timed through the chat's API route (/chat: one request); the page
sends the message and then asks for the answer, two requests.

Shoppers ask from 12 common questions, each asked once before the levels start, so that the app's
prompt cache holds every prompt and reads nothing (a shop's frequent questions); or, with
--distinct, questions nobody in the run asked before (each prompt read but for the start it
shares with the others).

The levels are run in turns, `--rounds` times (3 for common questions; --distinct has questions
for one), and each level's figures are its rounds' medians with the lowest and highest: a level
takes 1-20 s, and this 2-core machine's speed drifts by 20-40% within minutes. Each level's total
against one shopper's is the median of the rounds' own ratios.

Run: .venv/bin/python benchmarks/load_test.py [--users 1 4 16 32] [--questions 2] [--rounds 3] [--distinct]
     [--style extractive|generative] [--out FILE.json] (with the decoder: --max-batch 1 runs the same app
     without batching, --prompt-cache-mb 0 without the prompt cache)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent  # for evals/ and app.py

QUESTIONS = [
    "How many days do I have to return an item?", "How much is delivery in the UK?", "Do you ship to Canada?",
    "My payment was declined, what should I do?", "Can I cancel my order?", "How long do refunds take?",
    "Can I return a sale item?", "Do you offer gift wrapping?", "How do I use a gift card?",
    "What is your warranty on pans?", "Can I change my delivery address?", "Do you price match?",
]


def percentile(values: list[float], share: float) -> float | None:
    from chatbot.support.analytics import percentile as nearest_rank

    found = nearest_rank(values, share)
    return None if found is None else round(found, 2)


TokenCounter = Callable[[str], int] | None  # None: the answers are composed, not decoded; no tokens counted


def shopper(url: str, questions: list[str], results: list[dict], count_tokens: TokenCounter, start: threading.Barrier,
            time_limit: float) -> None:
    """Wait for every shopper of the level, then ask each question in turn through the app's
    HTTP API (gradio's /call route: a POST, then its events streamed back); record time to the
    first visible words, the whole answer, and the reply's tokens.

    Plain HTTP, not gradio_client: 16 gradio_client shoppers took 7.8 s of CPU in a 12.9 s
    level (scratch), a third of this 2-core machine's, taken from the app they measure. A
    shopper's browser runs on the shopper's own computer."""
    try:
        start.wait(timeout=120)
    except threading.BrokenBarrierError:
        results.append({"error": "the level did not start"})
        return
    deadline = time.monotonic() + time_limit
    with httpx.Client(base_url=f"{url.rstrip('/')}/gradio_api/call/chat", timeout=httpx.Timeout(30.0, read=time_limit)) as http:
        for question in questions:
            if time.monotonic() > deadline:
                results.append({"error": "time limit"})
                continue
            started = time.perf_counter()
            try:
                results.append(ask(http, question, started, count_tokens))
            except Exception as error:  # noqa: BLE001 - counted, and the run goes on
                results.append({"error": str(error)[:200]})


def ask(http: httpx.Client, question: str, started: float, count_tokens: TokenCounter) -> dict:
    """One question: when its first non-empty bot text arrived and when the reply was complete
    (seconds after `started`, when the message was sent), and its tokens, from the events the app
    streams back."""
    posted = http.post("", json={"data": [question, []]})
    posted.raise_for_status()
    first, event = None, ""
    with http.stream("GET", f"/{posted.json()['event_id']}") as stream:
        for line in stream.iter_lines():
            if line.startswith("event: "):
                event = line[len("event: "):]
            elif line.startswith("data: ") and event in ("generating", "complete"):
                chat = json.loads(line[len("data: "):])[0]
                reply = str(chat[1].get("content") or "") if len(chat) > 1 else ""
                if first is None and reply.strip():
                    first = time.perf_counter()
                if event == "complete":
                    ended = time.perf_counter()
                    tokens = count_tokens(reply) if count_tokens else None
                    return {"first_words_s": (first or ended) - started, "total_s": ended - started,
                            "tokens": tokens, "writing_s": ended - (first or ended)}
            elif line.startswith("data: ") and event == "error":
                raise RuntimeError(f"the app answered with an error: {line[len('data: '):]}")
    raise RuntimeError("the reply's events ended before it was complete")


def common_questions(users: int, per_user: int) -> list[list[str]]:
    """Each shopper's questions from 12 common ones: 16 shoppers asking 2 each ask some twice."""
    return [[QUESTIONS[(u * per_user + q) % len(QUESTIONS)] for q in range(per_user)] for u in range(users)]


def distinct_questions() -> Callable[[int, int], list[list[str]]]:
    """Each shopper's questions from the demo eval's answerable ones, none asked twice in the run
    (so the prompt cache finds only shared starts: the system prompt, passages ranked first)."""
    rows = [json.loads(line) for line in (REPO / "evals" / "demo_store.jsonl").read_text(encoding="utf-8").splitlines()]
    unasked = iter([row["question"] for row in rows if row["answerable"]])

    def draw(users: int, per_user: int) -> list[list[str]]:
        try:
            return [[next(unasked) for _ in range(per_user)] for _ in range(users)]
        except StopIteration:
            raise SystemExit("--distinct: the demo eval has too few answerable questions for these levels") from None

    return draw


def run_level(url: str, users: int, questions: list[list[str]], count_tokens: TokenCounter, time_limit: float) -> dict:
    results: list[dict] = []
    start = threading.Barrier(users + 1)  # every shopper connected, and this thread: the clock starts
    threads = [threading.Thread(target=shopper, args=(url, questions[u], results, count_tokens, start, time_limit))
               for u in range(users)]
    for thread in threads:
        thread.start()
    try:
        start.wait(timeout=180)
    except threading.BrokenBarrierError:
        pass  # a shopper could not connect: counted as errors
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    done = [r for r in results if "error" not in r]
    firsts, totals = [r["first_words_s"] for r in done], [r["total_s"] for r in done]
    level = {
        "users": users, "answers": len(done), "errors": len(results) - len(done),
        "error_examples": sorted({r["error"] for r in results if "error" in r})[:3],
        "first_words_p50_s": percentile(firsts, 0.5), "first_words_p95_s": percentile(firsts, 0.95),
        "answer_p50_s": percentile(totals, 0.5), "answer_p95_s": percentile(totals, 0.95),
        "tokens_per_s_per_user": None, "tokens_per_s_total": None, "wall_s": round(wall, 1),
    }
    if count_tokens is not None:
        per_user_rates = [r["tokens"] / r["total_s"] for r in done if r["total_s"] > 0]
        level["tokens_per_s_per_user"] = round(statistics.median(per_user_rates), 2) if per_user_rates else None
        level["tokens_per_s_total"] = round(sum(r["tokens"] for r in done) / wall, 2)
    return level


def start_app(port: int, changed: dict[str, str], scratch: Path) -> subprocess.Popen:
    """app.py on 127.0.0.1:`port` with its settings, the `changed` CHATBOT_* variables on top,
    its support log and order store in `scratch` (logged and looked up as by default, not in
    the repository's data/), and its output written to scratch/app.log (a pipe nobody reads
    would stop the app once full)."""
    log = scratch / "app.log"
    env = {**os.environ, "CHATBOT_SUPPORT_LOG_URL": f"sqlite:///{scratch / 'support.db'}",
           "CHATBOT_ORDERS_URL": f"sqlite:///{scratch / 'orders.db'}", **changed,
           "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    with log.open("w", encoding="utf-8") as output:
        app = subprocess.Popen([sys.executable, str(REPO / "app.py"), "--port", str(port)], cwd=REPO, env=env,
                               stdout=output, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if app.poll() is not None:
            raise SystemExit(f"app.py exited: {log.read_text(encoding='utf-8', errors='replace')[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/config", timeout=2).status_code == 200:
                return app
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    app.kill()
    raise SystemExit("app.py did not start within 300 s")


def logged_turns(path: Path) -> int:
    """How many turns the app's support log holds: every answer a shopper received should be one."""
    from chatbot.support.log import open_support_log

    with open_support_log(f"sqlite:///{path}") as log:
        return len(log.turn_rows())


def summarise(runs: list[dict], ratios: list[float | None]) -> dict:
    """One level's rounds as one: counts summed, figures as the rounds' medians (with the lowest and
    highest total), `ratios` (each round's total against one shopper's) as their median."""

    def median(key: str) -> float | None:
        found = [run[key] for run in runs if run[key] is not None]
        return round(statistics.median(found), 2) if found else None

    totals = [run["tokens_per_s_total"] for run in runs if run["tokens_per_s_total"] is not None]
    known = [ratio for ratio in ratios if ratio is not None]
    return {
        "users": runs[0]["users"], "answers": sum(run["answers"] for run in runs),
        "errors": sum(run["errors"] for run in runs),
        "error_examples": sorted({example for run in runs for example in run["error_examples"]})[:3],
        "first_words_p50_s": median("first_words_p50_s"), "first_words_p95_s": median("first_words_p95_s"),
        "answer_p50_s": median("answer_p50_s"), "answer_p95_s": median("answer_p95_s"),
        "tokens_per_s_per_user": median("tokens_per_s_per_user"), "tokens_per_s_total": median("tokens_per_s_total"),
        "tokens_per_s_total_range": [min(totals), max(totals)] if totals else None, "wall_s": median("wall_s"),
        "total_vs_one_user": round(statistics.median(known), 2) if known else None,
        "total_vs_one_user_range": [round(min(known), 2), round(max(known), 2)] if known else None,
    }


def decoder_tokens(settings) -> TokenCounter:  # noqa: ANN001 - chatbot.settings.Settings, imported late
    """Counts a reply's tokens with the decoder's tokenizer, or None when the answers are composed."""
    if settings.answer_style != "generative":
        return None
    from transformers import AutoTokenizer

    from chatbot.llm import model_cache
    from chatbot.llm.huggingface import resolve_model

    source, gguf = resolve_model(settings.model, settings.gguf_file)
    kept = model_cache.converted_folder(source, gguf, settings.model_cache_dir)
    if model_cache.is_kept(kept):  # the app's converted copy: its tokenizer loads at once, the GGUF file's in 5 s
        tokenizer = AutoTokenizer.from_pretrained(str(kept))
    else:
        tokenizer = AutoTokenizer.from_pretrained(source, **({"gguf_file": gguf} if gguf else {}))

    def count_tokens(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return count_tokens


def print_table(levels: list[dict], rounds: int, decoded: bool) -> None:
    print(f"{rounds} round(s); figures are medians over them; times in seconds, as the client saw them")
    header = (f"{'users':>5} {'answers':>7} {'errors':>6} {'first words p50':>15} {'p95':>6} "
              f"{'answer p50':>10} {'p95':>6}")
    if decoded:
        header += f" {'tok/s/user':>10} {'tok/s total (range)':>21} {'x 1 user (range)':>18}"
    print(header)
    for level in levels:
        line = (f"{level['users']:>5} {level['answers']:>7} {level['errors']:>6} {level['first_words_p50_s']!s:>15} "
                f"{level['first_words_p95_s']!s:>6} {level['answer_p50_s']!s:>10} {level['answer_p95_s']!s:>6}")
        if decoded:
            low, high = level["tokens_per_s_total_range"] or (None, None)
            ratio = level["total_vs_one_user_range"]
            total = f"{level['tokens_per_s_total']}" + (f" ({low}-{high})" if rounds > 1 else "")
            spread = f" ({ratio[0]}-{ratio[1]})" if ratio and rounds > 1 else ""
            against_one = f"{level['total_vs_one_user']}{spread}"
            line += f" {level['tokens_per_s_per_user']!s:>10} {total:>21} {against_one:>18}"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description="Simulated shoppers chat with the app: first visible words, errors.")
    parser.add_argument("--users", type=int, nargs="+", default=[1, 4, 16, 32])
    parser.add_argument("--questions", type=int, default=2, help="questions each shopper asks, one after another")
    parser.add_argument("--rounds", type=int, help="the levels run in turns this many times (default 3; --distinct: 1)")
    parser.add_argument("--time-limit", type=float, default=600.0, help="seconds per level")
    parser.add_argument("--style", choices=["extractive", "generative"],
                        help="the app's answer_style (default: its settings; generative loads the decoder)")
    parser.add_argument("--max-batch", type=int, help="chats the decoder writes at once (default: the app's settings)")
    parser.add_argument("--port", type=int, default=7871)
    parser.add_argument("--distinct", action="store_true",
                        help="no question asked twice in the run (demo-eval questions), instead of 12 common ones")
    parser.add_argument("--prompt-cache-mb", type=float, help="the app's prompt cache (0: off; default: its settings)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.distinct else 3)

    from chatbot.settings import load_settings

    asked = {"CHATBOT_ANSWER_STYLE": args.style, "CHATBOT_MAX_BATCH": args.max_batch,
             "CHATBOT_PROMPT_CACHE_MB": args.prompt_cache_mb}
    changed = {name: str(value) for name, value in asked.items() if value is not None}
    settings = load_settings(env={**os.environ, **changed})  # what the app will run with
    count_tokens = decoder_tokens(settings)
    draw = distinct_questions() if args.distinct else common_questions
    loads = {"before": os.getloadavg()[0]}  # a shared machine's other work slows the app: say how busy it was
    with tempfile.TemporaryDirectory() as scratch:
        app = start_app(args.port, changed, Path(scratch))
        try:
            url = f"http://127.0.0.1:{args.port}/"
            warm_up = [draw(1, 1)[0]] if args.distinct else [QUESTIONS]  # not reported
            warmed = run_level(url, 1, warm_up, count_tokens, args.time_limit)
            runs = [[run_level(url, users, draw(users, args.questions), count_tokens, args.time_limit)
                     for users in args.users] for _ in range(rounds)]
        finally:
            app.terminate()
            app.wait(30)
        answered = warmed["answers"] + sum(level["answers"] for run in runs for level in run)
        logged = logged_turns(Path(scratch) / "support.db")
    loads["after"] = os.getloadavg()[0]
    levels = []
    for index in range(len(args.users)):
        ratios = []
        for run in runs:
            single = next((level["tokens_per_s_total"] for level in run if level["users"] == 1), None)
            own = run[index]["tokens_per_s_total"]
            ratios.append(round(own / single, 2) if single and own is not None else None)
        levels.append(summarise([run[index] for run in runs], ratios))
    print_table(levels, rounds, count_tokens is not None)
    print(f"support log: {logged} turns for {answered} answers received (warm-up included)")
    print(f"load average (1 min) before {loads['before']:.1f}, after {loads['after']:.1f} on {os.cpu_count()} cores")
    result = {"answer_style": settings.answer_style, "max_batch": settings.max_batch, "load_average": loads,
              "questions_per_user": args.questions, "distinct": args.distinct,
              "prompt_cache_mb": settings.prompt_cache_mb, "cpu_count": os.cpu_count(), "rounds": rounds,
              "levels": levels, "each_round": runs, "answers_received": answered, "turns_logged": logged}
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
