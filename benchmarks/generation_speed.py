"""Generation speed on a realistic RAG prompt (6 demo-store passages, about 600 tokens): time to
first token and decode tokens/s, one chat and a batch of chats, for this project's transformers
generator's own decoding loop (fp32; fp32 with prompts read in bf16 on CPUs with AMX tiles or AVX-512 BF16;
bf16; int8 linear layers; and the default, the lean step of chatbot/fast_decode.py writing
replies with prompts read in bf16) and, in the same run, llama-cpp-python on the same GGUF file (an
optional dev extra: `pip install llama-cpp-python`; its column is skipped, saying so, when absent).
Every reply is made to run exactly --tokens tokens, so the rates compare like with like.

Run: .venv/bin/python benchmarks/generation_speed.py [--tokens 64] [--batch 4] [--runs 3] [--out FILE.json]
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatbot.settings import load_settings  # noqa: E402

QUESTIONS = ["How many days do I have to return an item?", "How much is standard delivery in the UK?",
             "Can I cancel my order after it has shipped?", "How long does a refund take to reach my card?"]


def rag_conversations(count: int) -> list[list[dict[str, str]]]:
    """The pipeline's own prompt (system prompt, then 6 passages and the question) for `count` questions."""
    from chatbot.knowledge import read_knowledge_base
    from chatbot.prompts import render_prompt

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


def time_transformers(generator, conversations, tokens: int, runs: int) -> dict[str, float]:  # noqa: ANN001
    """Median time to first token and decode rate of the generator's own decoding loop (the
    running batch that streams, batches and serves concurrent chats) over `conversations` at once."""
    from chatbot.running_batch import RunningBatch

    firsts, rates = [], []
    for run in range(runs + 1):
        # No end-of-text tokens: every reply runs exactly `tokens` tokens.
        batch = RunningBatch(generator.model, generator.tokenizer, set(), 0.0, generator.reader, generator.writer)
        started = time.perf_counter()
        batch.add(conversations, [None] * len(conversations))
        first = time.perf_counter()
        for _ in range(tokens - 1):
            batch.step()
        ended = time.perf_counter()
        if run:  # the first run warms up
            firsts.append(first - started)
            rates.append(len(conversations) * (tokens - 1) / (ended - first))
    prompt = generator.tokenizer.apply_chat_template(conversations[0], add_generation_prompt=True, return_dict=True)
    return {"prompt_tokens": len(prompt["input_ids"]),
            "ttft_s": round(statistics.median(firsts), 3), "decode_tokens_per_s": round(statistics.median(rates), 1)}


def time_llama_cpp(model_path: str, conversations, tokens: int, runs: int, tokenizer) -> dict[str, float] | None:  # noqa: ANN001
    """The same prompts through llama-cpp-python (2 threads), one at a time (it has no batch API)."""
    try:
        from llama_cpp import Llama
    except ImportError:
        return None
    llm = Llama(model_path=model_path, n_ctx=2048, n_threads=os.cpu_count() or 2, n_batch=512, verbose=False)
    eos = llm.token_eos()
    firsts, rates = [], []
    for run in range(runs + 1):
        for conversation in conversations:
            prompt = tokenizer.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
            llm.reset()
            started, first, count = time.perf_counter(), None, 0
            for _ in llm.create_completion(prompt, max_tokens=tokens, temperature=0.0, stream=True, logit_bias={eos: -1e9}):
                count += 1
                first = first or time.perf_counter()
            ended = time.perf_counter()
            if run:
                firsts.append(first - started)
                rates.append((count - 1) / (ended - first))
    return {"ttft_s": round(statistics.median(firsts), 3), "decode_tokens_per_s": round(statistics.median(rates), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from chatbot.generation import TransformersGenerator, resolve_model

    settings = load_settings()
    single, batch = rag_conversations(1), rag_conversations(args.batch)
    rows: dict[str, dict] = {}
    variants = {  # name: (dtype, quantize, prefill_dtype, decode_step)
        "transformers fp32": ("float32", "", "float32", "transformers"),
        "transformers fp32, prompts bf16": ("float32", "", "bfloat16", "transformers"),
        "transformers bf16": ("bfloat16", "", "bfloat16", "transformers"),
        "transformers int8, prompts bf16": ("float32", "int8", "bfloat16", "transformers"),
        "lean step, prompts bf16 (default)": ("float32", "", "bfloat16", "auto"),
    }
    generator = None
    for name, (dtype, quantize, prefill, step) in variants.items():
        del generator
        generator = TransformersGenerator(settings.model, settings.gguf_file, "cpu", dtype=dtype, quantize=quantize,
                                          prefill_dtype=prefill, decode_step=step)
        rows[name] = {"single": time_transformers(generator, single, args.tokens, args.runs),
                      "batch": time_transformers(generator, batch, args.tokens, args.runs)}
    folder, gguf = resolve_model(settings.model, settings.gguf_file)
    llama = time_llama_cpp(str(Path(folder) / gguf), single, args.tokens, args.runs, generator.tokenizer) if gguf else None
    if llama is None:
        print("llama-cpp-python is not installed (or the model is not a GGUF file): its column is skipped. "
              "pip install llama-cpp-python to compare.", file=sys.stderr)
    else:
        rows["llama.cpp (llama-cpp-python)"] = {"single": llama}

    anchor = llama or rows["transformers fp32"]["single"]
    print(f"prompt: {rows['transformers fp32']['single']['prompt_tokens']} tokens; {args.tokens} tokens written; "
          f"{os.cpu_count()} CPU threads; ratios against {'llama.cpp' if llama else 'transformers fp32'} single")
    print(f"{'generator':<34} {'TTFT s':>7} {'decode tok/s':>12} {'x decode':>8} {'batch':>5} {'batch tok/s':>11}")
    for name, row in rows.items():
        one, many = row["single"], row.get("batch")
        row["decode_vs_anchor"] = round(one["decode_tokens_per_s"] / anchor["decode_tokens_per_s"], 2)
        print(f"{name:<34} {one['ttft_s']:>7} {one['decode_tokens_per_s']:>12} {row['decode_vs_anchor']:>8} "
              f"{args.batch if many else '-':>5} {many['decode_tokens_per_s'] if many else '-':>11}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"tokens": args.tokens, "batch": args.batch, "cpu_threads": os.cpu_count(),
                                        "anchor": "llama.cpp" if llama else "transformers fp32", "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
