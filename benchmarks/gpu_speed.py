"""Generation speed on a GPU: the transformers generator as the app loads it with CUDA (bf16,
`device_map="auto"`, PyTorch's SDPA attention), on generation_speed.py's RAG prompt (6 demo-store
passages, about 600 tokens). Time to first token and decode tokens/s through the generator's own
decoding loop (the running batch that streams, batches tickets and serves concurrent chats), one
chat and batches of chats, every reply made to run exactly --tokens tokens; then, beside it,
transformers' own generate() on the same prompt, plain and with a static cache (which generate
compiles); last, the replies to the 4 questions written to their end, each beside the text
generate() writes for it greedily (the first GPU check found replies that read "The-----" here).

Run (on a machine with CUDA): .venv/bin/python benchmarks/gpu_speed.py [--model ID_OR_FOLDER]
     [--gguf-file NAME] [--tokens 64] [--batch 1 16] [--runs 3] [--out FILE.json]
`--device cpu` runs the same rows on the CPU (the model's own forward in bf16, no lean step), to try
the script: there too the prompts are read by the model that writes the replies, so each reply
should be generate()'s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

# Beside this script: Python puts a script's own folder first on sys.path.
from generation_speed import QUESTIONS, rag_conversations, time_transformers

from chatbot.settings import load_settings


def synchronized(device: str):  # noqa: ANN201
    """A clock that waits for the device's queued work before reading the time."""
    import torch

    def now() -> float:
        if device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter()

    return now


def chat_inputs(generator, conversation) -> dict:  # noqa: ANN001
    """The chat's prompt as generate() takes it, on the model's device."""
    return generator.tokenizer.apply_chat_template(conversation, add_generation_prompt=True, return_dict=True,
                                                   return_tensors="pt").to(generator.model.device)


def time_generate(generator, conversation, tokens: int, runs: int, now, **options) -> dict[str, float]:  # noqa: ANN001
    """transformers' generate() on one chat: time to first token (a 1-token generate) and decode
    tokens/s (the rest of a `tokens`-token generate), medians over `runs` after a warm-up run
    (with a static cache, generate compiles the model's forward in the warm-up)."""
    model, inputs = generator.model, chat_inputs(generator, conversation)
    firsts, rates = [], []
    for run in range(runs + 1):
        timed = []
        for count in (1, tokens):
            started = now()
            model.generate(**inputs, max_new_tokens=count, min_new_tokens=count, do_sample=False, **options)
            timed.append(now() - started)
        if run:
            firsts.append(timed[0])
            rates.append((tokens - 1) / (timed[1] - timed[0]))
    return {"ttft_s": round(statistics.median(firsts), 4), "decode_tokens_per_s": round(statistics.median(rates), 1)}


def written_replies(generator, conversations, max_tokens: int, now) -> list[dict]:  # noqa: ANN001
    """Each chat's reply written to its end, alone, as the app streams it (text, seconds), beside
    transformers' generate()'s greedy text. Written again without prompt lookup, the reply must be
    generate()'s token for token: the same model reads the prompt and writes each token. With
    it, a near-tie can turn: a check of several guessed tokens sums its bf16 products in another
    order than a step of one (on this CPU, one of the 4 replies then differed by one word)."""
    lookup = generator.draft_tokens
    replies = []
    for conversation in conversations:
        started = now()
        text = "".join(generator.stream(conversation, max_tokens))
        seconds = round(now() - started, 3)
        generator.draft_tokens = 0
        try:
            plain = "".join(generator.stream(conversation, max_tokens))
        finally:
            generator.draft_tokens = lookup
        inputs = chat_inputs(generator, conversation)
        written = generator.model.generate(**inputs, max_new_tokens=max_tokens, do_sample=False)
        theirs = generator.tokenizer.decode(written[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True).strip()
        replies.append({"seconds": seconds, "text": text, "same_as_generate": text.strip() == theirs,
                        "same_as_generate_without_lookup": plain.strip() == theirs}
                       | ({} if text.strip() == theirs == plain.strip() else {"generate_text": theirs}))
    return replies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="", help="a Hugging Face id, folder or GGUF folder (default: settings')")
    parser.add_argument("--gguf-file", default="")
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reply-tokens", type=int, default=96, help="at most this many tokens a written reply")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    import torch
    import transformers

    from chatbot.service import load_transformers

    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("gpu_speed.py needs a CUDA GPU (torch.cuda.is_available() is False); "
                 "--device cpu tries it on the CPU.")
    settings = load_settings()
    settings = replace(settings, model=args.model or settings.model, model_cache_dir="", device=args.device,
                       gguf_file=args.gguf_file if args.model else settings.gguf_file, prompt_cache_mb=0,
                       dtype="bfloat16", decode_step="auto" if args.device == "cuda" else "transformers")
    now = synchronized(args.device)
    started = now()
    generator = load_transformers(settings)
    model = generator.model
    report = {
        "device": torch.cuda.get_device_name() if args.device == "cuda" else "cpu",
        "torch": torch.__version__, "transformers": transformers.__version__,
        "model": settings.model, "gguf_file": settings.gguf_file, "load_s": round(now() - started, 1),
        "dtype": str(model.dtype), "attention": model.config._attn_implementation,
        "device_map": getattr(model, "hf_device_map", None), "lean_step": generator.writer is not None,
        "rows": {},
    }
    print(json.dumps({k: v for k, v in report.items() if k != "rows"}), flush=True)
    for rows in args.batch:
        figures = time_transformers(generator, rag_conversations(rows), args.tokens, args.runs)
        figures["total_tokens_per_s"] = round(figures["decode_tokens_per_s"] * rows, 1) if rows > 1 else None
        report["rows"][f"our decoding loop, {rows} chat{'s' if rows > 1 else ''}"] = figures
        print(rows, figures, flush=True)
    conversation = rag_conversations(1)[0]
    for name, options in (("transformers generate(), dynamic cache", {}),
                          ("transformers generate(), static cache, compiled", {"cache_implementation": "static"})):
        try:
            report["rows"][name] = time_generate(generator, conversation, args.tokens, args.runs, now, **options)
        except Exception as error:  # noqa: BLE001 - a row that cannot run says why, the rest still runs
            report["rows"][name] = {"error": f"{type(error).__name__}: {error}"[:500]}
        print(name, report["rows"][name], flush=True)
    report["replies"] = written_replies(generator, rag_conversations(len(QUESTIONS)), args.reply_tokens, now)
    if args.device == "cuda":
        report["peak_gpu_memory_mb"] = round(torch.cuda.max_memory_allocated() / 2**20)
    print(f"\n| rows ({report['device']}, {report['dtype']}, {report['attention']}) | first token s "
          "| decode tokens/s a chat | in all |\n| --- | --- | --- | --- |")
    for name, figures in report["rows"].items():
        print(f"| {name} | {figures.get('ttft_s', '-')} | {figures.get('decode_tokens_per_s', figures.get('error'))} "
              f"| {figures.get('total_tokens_per_s') or '-'} |")
    for question, reply in zip(QUESTIONS, report["replies"]):
        print(f"\n{question}\n  ({reply['seconds']} s) {reply['text']}")
        if "generate_text" in reply:
            print(f"  generate() wrote instead: {reply['generate_text']}")
        if not reply["same_as_generate_without_lookup"]:
            print("  WRONG: without prompt lookup, the reply should be generate()'s")
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
