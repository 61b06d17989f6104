"""Generation speed on a realistic RAG prompt (6 demo-store passages, about 600 tokens): time to
first token and decode tokens/s, one chat and a batch of chats, for this project's transformers
generator's own decoding loop (fp32; fp32 with prompts read in bf16 on CPUs with AMX tiles or AVX-512 BF16;
bf16; int8 linear layers; the lean step of chatbot/llm/lean/decoder.py writing replies with prompts
read in bf16, with and without prompt lookup, where a lone reply guesses its next tokens from its
prompt and checks them in one pass; that step with its layers compiled by torch.compile, with
prompt lookup and without it; and the default, compiled, its int4 products and attention by this
project's kernels (chatbot/llm/lean/native.py), with prompt lookup and without it) and, in the same run, llama-cpp-python on the
same GGUF file, plain and with its own prompt lookup (an optional dev extra: `pip install
llama-cpp-python`; its rows are skipped, saying so, when absent).
Every reply is made to run exactly --tokens tokens (end of text banned), so the rates compare
like with like; prompts are read cold (no prompt cache). Then, as the app writes them, the replies
to --natural demo-eval questions written to their end: the lean step with and without prompt
lookup, compiled and not, and llama.cpp; and those questions' time to first token asked one after another, with
the prompt cache (chatbot/llm/prompt_cache.py) against llama.cpp keeping its previous prompt. Last,
the default and llama.cpp timed in turns, --rounds rounds: the rows above are timed minutes
apart, and this machine drifts by 20-40% within minutes, so those turns give the ratios to trust.

Run: .venv/bin/python benchmarks/generation_speed.py [--tokens 64] [--batch 4] [--runs 3] [--natural 24]
     [--rounds 5] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

from chatbot.settings import load_settings

REPO = Path(__file__).resolve().parent.parent  # for evals/

QUESTIONS = ["How many days do I have to return an item?", "How much is standard delivery in the UK?",
             "Can I cancel my order after it has shipped?", "How long does a refund take to reach my card?"]


def rag_conversations(count: int) -> list[list[dict[str, str]]]:
    """The pipeline's own prompt (system prompt, then 6 passages and the question) for `count` questions."""
    from chatbot.answer.prompts import render_prompt
    from chatbot.knowledge.ingest import read_knowledge_base

    settings = load_settings()
    passages = read_knowledge_base(settings.kb_dir, settings.passage_chars).passages
    by_doc = {p.doc_id: p for p in reversed(passages)}  # each document's first passage, cut to about 90 tokens
    documents = ("returns", "shipping", "order-changes", "payments", "exchanges", "international-delivery")
    shown = [replace(by_doc[d], text=by_doc[d].snippet(330)) for d in documents]

    def render(name: str, **values: object) -> str:
        return render_prompt(settings.prompts_dir, name, store_name=settings.store_name,
                             support_contact=settings.support_contact, **values)

    return [[{"role": "system", "content": render("system")},
             {"role": "user", "content": render("answer", passages=shown, question=QUESTIONS[i % len(QUESTIONS)])}]
            for i in range(count)]


def endless_batch(generator):  # noqa: ANN001, ANN201
    """The generator's running batch with its end-of-text tokens never chosen, so every reply runs
    the asked number of tokens and goes on as the reply would (llama.cpp's run below bans its
    end-of-text token likewise); letting the model write an end token and go on past it, a
    made-up next chat turn followed."""
    from chatbot.llm.continuous_batch import RunningBatch

    banned = sorted(generator._end_tokens())

    class Banning:  # the writer, its checks of guessed tokens never choosing an end token
        def __init__(self, writer) -> None:  # noqa: ANN001
            self.writer = writer

        def __getattr__(self, name: str):  # noqa: ANN204
            return getattr(self.writer, name)

        def extend(self, *args):  # noqa: ANN002, ANN202
            logits = self.writer.extend(*args)
            logits[:, banned] = float("-inf")
            return logits

    class EndlessBatch(RunningBatch):
        def _choose(self, logits, temperatures):  # noqa: ANN001, ANN202
            logits[:, banned] = float("-inf")
            return super()._choose(logits, temperatures)

    writer = generator.writer and Banning(generator.writer)
    return EndlessBatch(generator.model, generator.tokenizer, set(), 0.0, generator.reader, writer,
                        generator.draft_tokens)


def lookup_counts(batches) -> dict[str, int]:  # noqa: ANN001
    """Prompt lookup over these batches: passes that checked guesses, guessed and kept tokens ({} when none)."""
    counts = {name: sum(getattr(batch, name) for batch in batches) for name in ("checks", "guessed", "kept")}
    return counts if counts["checks"] else {}


def time_transformers(generator, conversations, tokens: int, runs: int) -> dict[str, float]:  # noqa: ANN001
    """Median time to first token and decode rate of the generator's own decoding loop (the
    running batch that streams, batches and serves concurrent chats) over `conversations` at once."""
    firsts, rates, timed_batches = [], [], []
    for run in range(runs + 1):
        batch = endless_batch(generator)
        started = time.perf_counter()
        batch.add(conversations, [None] * len(conversations))
        first = time.perf_counter()
        for _ in range(tokens - 1):
            batch.step()
        ended = time.perf_counter()
        if run:  # the first run warms up
            firsts.append(first - started)
            rates.append(len(conversations) * (tokens - 1) / (ended - first))
            timed_batches.append(batch)
    prompt = generator.tokenizer.apply_chat_template(conversations[0], add_generation_prompt=True, return_dict=True)
    return {"prompt_tokens": len(prompt["input_ids"]), "ttft_s": round(statistics.median(firsts), 3),
            "decode_tokens_per_s": round(statistics.median(rates), 1)} | lookup_counts(timed_batches)


def open_llama_cpp(model_path: str, draft_tokens: int = 0):  # noqa: ANN201
    """llama-cpp-python on the GGUF file (2 threads), or None when it is not installed; with
    `draft_tokens`, with its own prompt lookup (LlamaPromptLookupDecoding) guessing that many."""
    try:
        from llama_cpp import Llama
        from llama_cpp.llama_speculative import LlamaPromptLookupDecoding
    except ImportError:
        return None
    # Checking guesses needs the logits of every position (logits_all).
    lookup = ({"draft_model": LlamaPromptLookupDecoding(num_pred_tokens=draft_tokens), "logits_all": True}
              if draft_tokens else {})
    return Llama(model_path=model_path, n_ctx=2048, n_threads=os.cpu_count() or 2, n_batch=512, verbose=False, **lookup)


def llama_cpp_reply(llm, prompt: str, max_tokens: int, endless: bool) -> tuple[float, float, int]:  # noqa: ANN001
    """Start, first token and end times of one reply, and its tokens; `endless`: end of text banned."""
    llm.reset()
    bias = {llm.token_eos(): -1e9} if endless else None
    started, first, count = time.perf_counter(), None, 0
    for _ in llm.create_completion(prompt, max_tokens=max_tokens, temperature=0.0, stream=True, logit_bias=bias):
        count += 1
        first = first or time.perf_counter()
    return first - started, time.perf_counter() - first, count


def time_llama_cpp(llm, conversations, tokens: int, runs: int, tokenizer) -> dict[str, float]:  # noqa: ANN001
    """The same prompts through llama-cpp-python, one at a time (it has no batch API)."""
    firsts, rates = [], []
    for run in range(runs + 1):
        for conversation in conversations:
            prompt = tokenizer.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
            first, decoding, count = llama_cpp_reply(llm, prompt, tokens, endless=True)
            if run:
                firsts.append(first)
                rates.append((count - 1) / decoding)
    return {"ttft_s": round(statistics.median(firsts), 3), "decode_tokens_per_s": round(statistics.median(rates), 1)}


def demo_conversations(count: int) -> list[list[dict[str, str]]]:
    """The prompts the pipeline writes (system prompt, its passages and the question) for the
    first `count` demo-eval questions it answers rather than escalates."""
    from chatbot.answer.pipeline import Pipeline
    from chatbot.service import load_embedder, open_retriever

    settings = load_settings()
    pipeline = Pipeline(open_retriever(settings, load_embedder(settings), build_if_missing=True), None, settings)
    conversations = []
    for line in (REPO / "evals" / "demo_store.jsonl").read_text(encoding="utf-8").splitlines():
        decision = pipeline.decide(json.loads(line)["question"])
        if not decision.escalate:
            conversations.append(pipeline._messages(decision.question, [], pipeline._shown(decision)))
        if len(conversations) == count:
            break
    return conversations


def natural_rate(replies: list[tuple[float, int]]) -> dict[str, float]:
    """Decode tokens/s over whole replies (time after each first token, tokens after it)."""
    decoding, tokens = sum(d for d, _ in replies), sum(n - 1 for _, n in replies)
    return {"replies": len(replies), "tokens": tokens + len(replies),
            "decode_tokens_per_s": round(tokens / decoding, 1)}


def natural_transformers(generator, conversations, max_tokens: int) -> dict[str, float]:  # noqa: ANN001
    """Replies written to their end, one at a time, as a lone chat is (`stream`'s loop)."""
    replies, batches = [], []
    for conversation in conversations:
        batch = generator.open_batch()
        pieces = batch.add([conversation], [None])
        first = time.perf_counter()
        while pieces[0] is not None and len(batch.tokens[0]) < max_tokens:
            pieces = batch.step()
        replies.append((time.perf_counter() - first, len(batch.tokens[0])))
        batches.append(batch)
    return natural_rate(replies) | lookup_counts(batches)


def natural_llama_cpp(llm, conversations, max_tokens: int, tokenizer) -> dict[str, float]:  # noqa: ANN001
    replies = []
    for conversation in conversations:
        prompt = tokenizer.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
        _, decoding, count = llama_cpp_reply(llm, prompt, max_tokens, endless=False)
        replies.append((decoding, count))
    return natural_rate(replies)


def head_to_head(generator, llm, conversation, demo, tokens: int, rounds: int, max_tokens: int,
                 tokenizer) -> dict:  # noqa: ANN001
    """The default generator (`generator`, its prompt lookup on and off) and llama.cpp timed in
    turns, round after round, so that the machine's drift (20-40% within minutes on a 2-core
    cloud machine) falls on both alike: each round, 64 forced tokens of one reply each, then a
    share of the demo questions' replies written to their end. Each figure is a median over the
    rounds; each ratio the median of the rounds' own ratios."""
    draft, share = generator.draft_tokens, max(1, len(demo) // rounds) if demo else 0
    timed: dict[str, list[float]] = {}
    for round_ in range(rounds):
        figures = {}
        for name, guessing in (("ours", draft), ("ours, no prompt lookup", 0)):
            generator.draft_tokens = guessing
            figures[f"{name}: forced"] = time_transformers(generator, [conversation], tokens, 1)["decode_tokens_per_s"]
        figures["llama.cpp: forced"] = time_llama_cpp(llm, [conversation], tokens, 1, tokenizer)["decode_tokens_per_s"]
        questions = demo[round_ * share:(round_ + 1) * share]
        if questions:
            generator.draft_tokens = draft
            figures["ours: to the end"] = natural_transformers(generator, questions, max_tokens)["decode_tokens_per_s"]
            figures["llama.cpp: to the end"] = natural_llama_cpp(llm, questions, max_tokens,
                                                                 tokenizer)["decode_tokens_per_s"]
        for name, figure in figures.items():
            timed.setdefault(name, []).append(figure)
        for ours, theirs in (("ours: forced", "llama.cpp: forced"),
                             ("ours, no prompt lookup: forced", "llama.cpp: forced"),
                             ("ours: to the end", "llama.cpp: to the end")):
            if ours in figures:
                timed.setdefault(f"{ours} x llama.cpp", []).append(figures[ours] / figures[theirs])
    generator.draft_tokens = draft
    return {name: {"median": round(statistics.median(values), 2), "low": round(min(values), 2),
                   "high": round(max(values), 2)} for name, values in timed.items()} | {"rounds": rounds}


def first_token_time(generator, conversation, prompt_cache) -> float:  # noqa: ANN001
    """Seconds to read the chat's prompt and choose the reply's first token, with `prompt_cache` (or None)."""
    batch = generator.open_batch()
    batch.prompt_cache = prompt_cache
    started = time.perf_counter()
    batch.add([conversation], [None])
    return time.perf_counter() - started


def prompt_cache_transformers(generator, conversations, budget_mb: float) -> dict[str, float]:  # noqa: ANN001
    """Median time to first token over `conversations` asked one after another, as shoppers'
    questions reach the app: read cold, read with the prompt cache holding the prompts before it
    (its start is read once: the system prompt, passages ranked first before), and the same chat
    asked again (its whole prompt held). Interleaved in one process, so the machine's drift hits
    all three alike."""
    from chatbot.llm.prompt_cache import PromptCache

    cache = PromptCache(int(budget_mb * 2**20))
    first_token_time(generator, conversations[0], None)  # warm-up
    cold, after_others, again, tokens = [], [], [], 0
    for conversation in conversations:
        cold.append(first_token_time(generator, conversation, None))
        after_others.append(first_token_time(generator, conversation, cache))
        tokens += len(generator.tokenizer.apply_chat_template(conversation, add_generation_prompt=True, return_dict=True)["input_ids"])
        reused = cache.reused
        again.append(first_token_time(generator, conversation, cache))
        cache.reused = reused  # the share below counts the prompts' first reads only
    return {"prompts": len(conversations), "prompt_tokens": tokens, "tokens_found": cache.reused,
            "ttft_cold_s": round(statistics.median(cold), 3), "ttft_after_others_s": round(statistics.median(after_others), 3),
            "ttft_asked_again_s": round(statistics.median(again), 3)}


def prompt_cache_llama_cpp(llm, conversations, tokenizer) -> dict[str, float]:  # noqa: ANN001
    """The same through llama-cpp-python, which keeps the previous prompt's keys and values and
    reads a new prompt from where the two part: cold (reset), after the one before, and again."""
    def first_token(prompt: str, reset: bool) -> float:
        if reset:
            llm.reset()
        started = time.perf_counter()
        for _ in llm.create_completion(prompt, max_tokens=1, temperature=0.0, stream=True):
            break
        return time.perf_counter() - started

    prompts = [tokenizer.apply_chat_template(c, add_generation_prompt=True, tokenize=False) for c in conversations]
    cold, after_others, again = [], [], []
    for before, prompt in zip([prompts[0], *prompts], prompts):
        cold.append(first_token(prompt, reset=True))
        first_token(before, reset=True)
        after_others.append(first_token(prompt, reset=False))
        again.append(first_token(prompt, reset=False))
    return {"prompts": len(prompts), "ttft_cold_s": round(statistics.median(cold), 3),
            "ttft_after_others_s": round(statistics.median(after_others), 3),
            "ttft_asked_again_s": round(statistics.median(again), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--natural", type=int, default=24,
                        help="demo-eval questions whose replies are also written to their end, as the app "
                             "writes them (0: none)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="rounds of the default generator and llama.cpp timed in turns (0: none)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from chatbot.llm.huggingface import TransformersGenerator, TransformersOptions, resolve_model

    settings = load_settings()
    single, batch = rag_conversations(1), rag_conversations(args.batch)
    demo = demo_conversations(args.natural) if args.natural else []
    rows: dict[str, dict] = {}
    # name: (dtype, quantize, prefill_dtype, decode_step, compile_step, native_kernel, draft_tokens)
    variants = {
        "transformers fp32": ("float32", "", "float32", "transformers", False, False, 0),
        "transformers fp32, prompts bf16": ("float32", "", "bfloat16", "transformers", False, False, 0),
        "transformers bf16": ("bfloat16", "", "bfloat16", "transformers", False, False, 0),
        "transformers int8, prompts bf16": ("float32", "int8", "bfloat16", "transformers", False, False, 0),
        "lean step, prompts bf16": ("float32", "", "bfloat16", "auto", False, False, 0),
        "lean step + prompt lookup": ("float32", "", "bfloat16", "auto", False, False, settings.draft_tokens),
        "lean step compiled": ("float32", "", "bfloat16", "auto", True, False, 0),
        "lean step compiled + prompt lookup": ("float32", "", "bfloat16", "auto", True, False, settings.draft_tokens),
        "lean step compiled, own kernels": ("float32", "", "bfloat16", "auto", True, True, 0),
        "lean step compiled, own kernels + prompt lookup (default)": ("float32", "", "bfloat16", "auto", True, True,
                                                                      settings.draft_tokens),
    }
    generator, loaded, turns = None, None, None
    for name, (dtype, quantize, prefill, step, compiled, native, draft) in variants.items():
        if loaded != (dtype, quantize, prefill, step, compiled, native):  # a prompt lookup row reuses the model before it
            del generator
            generator = TransformersGenerator(TransformersOptions(
                settings.model, settings.gguf_file, "cpu", dtype=dtype, quantize=quantize, prefill_dtype=prefill,
                decode_step=step, compile_step=compiled, native_kernel=native))
            if compiled and generator.writer.compile_error:
                print(f"{name}: not compiled ({generator.writer.compile_error})", file=sys.stderr)
            if native and generator.writer.native_error:
                print(f"{name}: without this project's kernels ({generator.writer.native_error})", file=sys.stderr)
            loaded = (dtype, quantize, prefill, step, compiled, native)
        generator.draft_tokens = draft
        rows[name] = {"single": time_transformers(generator, single, args.tokens, args.runs),
                      "batch": time_transformers(generator, batch, args.tokens, args.runs)}
        if demo and name.startswith("lean step"):
            rows[name]["natural"] = natural_transformers(generator, demo, settings.max_new_tokens)
        if demo and name.endswith("(default)"):
            rows[name]["prompt_cache"] = prompt_cache_transformers(generator, demo, settings.prompt_cache_mb)
    folder, gguf = resolve_model(settings.model, settings.gguf_file)
    llamas = {"llama.cpp (llama-cpp-python)": 0}
    if settings.draft_tokens:
        llamas[f"llama.cpp + prompt lookup ({settings.draft_tokens})"] = settings.draft_tokens
    for name, draft in llamas.items():
        llm = open_llama_cpp(str(Path(folder) / gguf), draft) if gguf else None
        if llm is None:
            print("llama-cpp-python is not installed (or the model is not a GGUF file): its rows are skipped. "
                  "pip install llama-cpp-python to compare.", file=sys.stderr)
            break
        rows[name] = {"single": time_llama_cpp(llm, single, args.tokens, args.runs, generator.tokenizer)}
        if demo:
            rows[name]["natural"] = natural_llama_cpp(llm, demo, settings.max_new_tokens, generator.tokenizer)
            if not draft:
                rows[name]["prompt_cache"] = prompt_cache_llama_cpp(llm, demo, generator.tokenizer)
        if not draft and args.rounds:  # `generator` is the default, the last row loaded
            turns = head_to_head(generator, llm, single[0], demo, args.tokens, args.rounds,
                                 settings.max_new_tokens, generator.tokenizer)
        del llm
    anchor_name = next((name for name in rows if name.startswith("llama.cpp")), "transformers fp32")

    anchor = rows[anchor_name]["single"]
    width = max(map(len, rows))
    print(f"prompt: {rows['transformers fp32']['single']['prompt_tokens']} tokens; {args.tokens} tokens written; "
          f"{os.cpu_count()} CPU threads; ratios against {anchor_name} single")
    print(f"{'generator':<{width}} {'TTFT s':>7} {'decode tok/s':>12} {'x decode':>8} {'batch':>5} {'batch tok/s':>11}")
    for name, row in rows.items():
        one, many = row["single"], row.get("batch")
        row["decode_vs_anchor"] = round(one["decode_tokens_per_s"] / anchor["decode_tokens_per_s"], 2)
        print(f"{name:<{width}} {one['ttft_s']:>7} {one['decode_tokens_per_s']:>12} {row['decode_vs_anchor']:>8} "
              f"{args.batch if many else '-':>5} {many['decode_tokens_per_s'] if many else '-':>11}")
    natural = {name: row["natural"] for name, row in rows.items() if "natural" in row}
    if natural:
        anchor = natural.get(anchor_name) or next(iter(natural.values()))
        print(f"\nreplies written to their end, the app's own prompts for {args.natural} demo-eval questions "
              f"(at most {settings.max_new_tokens} tokens); "
              f"ratios against {anchor_name if anchor_name in natural else 'the first row'}")
        print(f"{'generator':<{width}} {'tokens':>7} {'decode tok/s':>12} {'x decode':>8}")
        for name, timed in natural.items():
            timed["decode_vs_anchor"] = round(timed["decode_tokens_per_s"] / anchor["decode_tokens_per_s"], 2)
            print(f"{name:<{width}} {timed['tokens']:>7} {timed['decode_tokens_per_s']:>12} {timed['decode_vs_anchor']:>8}")
    cached = {name: row["prompt_cache"] for name, row in rows.items() if "prompt_cache" in row}
    if cached:
        print(f"\ntime to first token (s, median), the same {args.natural} prompts asked one after another: "
              "cold; after the ones before (the prompt cache; llama.cpp keeps the previous prompt); asked again")
        print(f"{'generator':<{width}} {'cold':>6} {'after others':>12} {'asked again':>11}")
        for name, timed in cached.items():
            print(f"{name:<{width}} {timed['ttft_cold_s']:>6} {timed['ttft_after_others_s']:>12} {timed['ttft_asked_again_s']:>11}")
            if "tokens_found" in timed:
                print(f"  {timed['tokens_found']} of {timed['prompt_tokens']} prompt tokens found in the prompt cache")
    if turns:
        print(f"\nthe default and llama.cpp in turns, {turns['rounds']} rounds (tokens/s, median of the rounds, "
              "lowest-highest; ratios: median of each round's own)")
        for name, figure in turns.items():
            if name != "rounds":
                print(f"{name:<46} {figure['median']:>7} ({figure['low']}-{figure['high']})")
    for name, row in rows.items():
        for kind, timed in row.items():
            if isinstance(timed, dict) and "checks" in timed:
                print(f"{name}, {kind}: {timed['kept']} of {timed['guessed']} guessed tokens kept, "
                      f"in {timed['checks']} checks")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"tokens": args.tokens, "batch": args.batch, "natural": args.natural,
                                        "cpu_threads": os.cpu_count(), "anchor": anchor_name, "rows": rows,
                                        "in_turns": turns}, indent=2) + "\n")


if __name__ == "__main__":
    main()
