"""Build time, memory, query latency and recall@10 of the passage index at 10k, 100k and 1M synthetic passages.

Run: .venv/bin/python benchmarks/index_scale.py [--sizes 10000 100000 1000000] [--queries 200] [--out FILE.json]

Passages: a few hundred short shop-policy sentences, embedded with the bundled MiniLM, are the topic
centres. A passage is a centre plus gaussian noise whose covariance is that of the real sentence
embeddings, re-normalised: it varies the way text does (along a few strong directions) rather than
uniformly in all 384, which would make every neighbour equally far and overstate how hard the
search is. The noise is scaled so a passage keeps a cosine of about 0.7 with its centre.

For each size the exact IndexFlatIP (the anchor) and the size-chosen index (`choose_index_kind`, or
--kinds) are built, and each is measured: build time, serialised size (what faiss.write_index
writes), process RSS growth, and per-query latency for shoppers' questions embedded one at a time by
the real embedder then searched: p50/p95 of the total, of the embedding and of the search alone, and
the search's speed-up over flat. Each question is embedded once and searched in every index in turn,
so load from other processes on the machine (the 1-minute load average is recorded) skews them
alike. Queries run on one thread (faiss and torch), as each request does on a server that serves
several at once; builds use every core. Recall@10 against the exact index is given for the embedded
questions and for "near" queries: held-out passages from the same generator with a little more noise.
At 1M the process peaks at about 5 GB (the vectors, then the flat and HNSW indexes).
"""

from __future__ import annotations

import argparse
import ctypes
import itertools
import json
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from chatbot.knowledge.vector_index import build_vector_index, choose_index_kind  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "index_scale.json"
K = 10
CENTRE_COSINE = 0.7  # how close a passage stays to its centre sentence
NEAR_NOISE = 0.3  # extra noise on a held-out passage to make a "near" query, relative to the passage noise
CHUNK = 50_000
WARM_UP = 5

ITEMS = ["dresses", "jeans", "knitwear", "shoes", "boots", "coats", "swimwear", "jewellery", "bags",
         "homeware", "bedding", "candles", "gift sets", "sale items", "personalised items", "children's clothing"]
POLICY_TEMPLATES = [
    "Unworn {item} can be returned within {days} days of delivery for a full refund.",
    "{Item} bought in the sale can be exchanged within {days} days but not refunded.",
    "Refunds for {item} go back to the original payment method within {days} working days.",
    "Standard delivery of {item} takes {days} business days and costs {price}.",
    "Express delivery is available for {item} for {price}, ordered before 2pm.",
    "We ship {item} to {country} in {days} to {days2} working days; duties are paid by the customer.",
    "Orders of {item} over {price} qualify for free delivery to {country}.",
    "{Item} can be collected from our store in {city} within {days} days of your order.",
    "If your {item} arrive damaged, send us a photo within {days} days and we will replace them.",
    "Our {item} carry a {days}-month guarantee against manufacturing faults.",
    "Gift cards can be used on {item} and are valid for {days} months from purchase.",
    "Loyalty members earn double points on {item} during {month}.",
    "Returns of {item} from {country} are free with the prepaid label in your parcel.",
    "You can cancel an order of {item} within {days} hours if it has not been dispatched.",
    "We accept card, PayPal and Klarna for {item}; Klarna splits the cost into {days} payments.",
    "Size guides for {item} are on each product page; our advisers in {city} can help by phone.",
]
QUESTION_TEMPLATES = [
    "Can I return {item} after {days} days?",
    "How long does delivery of {item} take to {country}?",
    "Do you ship {item} to {country}?",
    "How much is delivery for {item}?",
    "Is there free shipping on {item}?",
    "My {item} arrived damaged, what should I do?",
    "Can I exchange {item} I bought in the sale?",
    "When will I get my refund for {item}?",
    "Can I pick up {item} from the {city} store?",
    "Is there a guarantee on {item}?",
    "Can I pay for {item} with Klarna?",
    "How do I cancel my order of {item}?",
    "Can I use a gift card on {item}?",
    "Do loyalty points apply to {item}?",
]
FILLS = {
    "days": ["2", "3", "5", "7", "14", "30"],
    "days2": ["6", "10"],
    "price": ["£3.95", "£5", "£7.50", "£50", "€12"],
    "country": ["the UK", "Ireland", "France", "Germany", "Canada", "the United States", "Australia"],
    "city": ["Leeds", "York", "Bristol", "Glasgow"],
    "month": ["March", "November", "December"],
}


def _fill(templates: list[str], count: int, seed: int) -> list[str]:
    """`count` distinct sentences: every template with every item, in rounds, the other slots at random."""
    rng = np.random.default_rng(seed)
    texts: dict[str, None] = {}
    for _ in range(count):  # each round adds at least one new sentence while any remain
        for template, item in itertools.product(templates, ITEMS):
            slots = {name: values[rng.integers(len(values))] for name, values in FILLS.items()}
            texts[template.format(item=item, Item=item[0].upper() + item[1:], **slots)] = None
        if len(texts) >= count:
            break
    return [list(texts)[i] for i in rng.permutation(len(texts))[:count]]


def synthetic_passages(centres: np.ndarray, count: int, seed: int, extra_noise: float = 0.0) -> np.ndarray:
    """`count` unit vectors, each a random centre plus noise with the centres' covariance (see the module doc)."""
    rng = np.random.default_rng(seed)
    offsets = (centres - centres.mean(axis=0)).astype(np.float32)
    # Noise = offsets^T z / sqrt(S) has the centres' covariance; scale it so cos(passage, centre) ~ CENTRE_COSINE.
    spread = float(np.sqrt((offsets**2).sum(axis=1).mean()))
    scale = np.sqrt(1 / CENTRE_COSINE**2 - 1) / spread * (1 + extra_noise)
    vectors = np.empty((count, centres.shape[1]), dtype=np.float32)
    for start in range(0, count, CHUNK):
        n = min(CHUNK, count - start)
        z = rng.standard_normal((n, len(centres)), dtype=np.float32) / np.sqrt(len(centres))
        block = centres[rng.integers(len(centres), size=n)] + np.float32(scale) * (z @ offsets)
        vectors[start:start + n] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return vectors


def rss_bytes() -> int:
    """Resident memory now, after handing freed heap back to the system so a build's growth shows (Linux)."""
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def serialized_bytes(index) -> int:  # noqa: ANN001
    """What faiss.write_index would write, counted as it streams (serialize_index would copy 1.7 GB at 1M)."""
    import faiss

    written = 0

    def count(chunk: bytes) -> int:
        nonlocal written
        written += len(chunk)
        return len(chunk)

    writer = faiss.PyCallbackIOWriter(count)
    faiss.write_index(index, writer)
    del writer
    return written


def build(vectors: np.ndarray, kind: str) -> tuple[object, dict]:
    rss_before = rss_bytes()
    started = time.perf_counter()
    index = build_vector_index(vectors, kind)
    build_s = time.perf_counter() - started
    rss_growth = rss_bytes() - rss_before
    row = {"passages": len(vectors), "index": kind, "build_s": build_s, "rss_growth_mb": rss_growth / 2**20,
           "index_mb": serialized_bytes(index) / 2**20}
    return index, row


def time_queries(indexes: list, embedder, questions: list[str]) -> list[dict[str, float]]:  # noqa: ANN001
    """Per index, single-threaded latency of embedding one question and searching it (and of the search alone).

    Each question is embedded once and searched in every index in turn, so load from other processes
    falls on all of them alike; an index's total for a question is that embedding plus its own search.
    """
    import faiss
    import torch

    faiss.omp_set_num_threads(1)
    torch.set_num_threads(1)
    embeds, searches = [], [[] for _ in indexes]
    for n, question in enumerate(questions[:WARM_UP] + questions):
        started = time.perf_counter()
        vector = embedder.embed([question])
        embeds.append(time.perf_counter() - started)
        for index, times in zip(indexes, searches):
            started = time.perf_counter()
            index.search(vector, K)
            times.append(time.perf_counter() - started)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    torch.set_num_threads(os.cpu_count() or 1)
    embed_ms = np.array(embeds[WARM_UP:]) * 1000
    figures = []
    for times in searches:
        search_ms = np.array(times[WARM_UP:]) * 1000
        total_ms = embed_ms + search_ms
        figures.append({
            "p50_ms": float(np.percentile(total_ms, 50)), "p95_ms": float(np.percentile(total_ms, 95)),
            "embed_p50_ms": float(np.percentile(embed_ms, 50)), "embed_p95_ms": float(np.percentile(embed_ms, 95)),
            "search_p50_ms": float(np.percentile(search_ms, 50)), "search_p95_ms": float(np.percentile(search_ms, 95)),
        })
    return figures


def recall_at_k(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(e)) / K for f, e in zip(found, exact)]))


def run_size(size: int, kinds: list[str], centres: np.ndarray, embedder, questions: list[str],  # noqa: ANN001
             question_vectors: np.ndarray) -> list[dict]:
    """Flat and each approximate kind over `size` synthetic passages, built in turn, timed side by side."""
    vectors = synthetic_passages(centres, size, seed=size)
    near = synthetic_passages(centres, len(questions), seed=size + 1, extra_noise=NEAR_NOISE)
    built = [build(vectors, kind) for kind in ["flat", *kinds]]
    del vectors  # the indexes hold their own copies: 1.5 GB each at 1M
    indexes, rows = [index for index, _ in built], [row for _, row in built]
    exact_questions, exact_near = indexes[0].search(question_vectors, K), indexes[0].search(near, K)
    load = os.getloadavg()[0]
    for index, row, timings in zip(indexes, rows, time_queries(indexes, embedder, questions)):
        row.update(timings)
        row["search_speedup"] = rows[0]["search_p50_ms"] / row["search_p50_ms"]
        row["recall_questions"] = recall_at_k(index.search(question_vectors, K)[1], exact_questions[1])
        row["recall_near"] = recall_at_k(index.search(near, K)[1], exact_near[1])
        row["load_average_1min"] = load
    rows[0]["top1_cosine_questions"] = float(exact_questions[0][:, 0].mean())
    rows[0]["top1_cosine_near"] = float(exact_near[0][:, 0].mean())
    for row in rows:
        print(markdown_row(row), flush=True)
    return rows


COLUMNS = [
    ("passages", "passages", "{:,}"), ("index", "index", "{}"), ("build_s", "build s", "{:.1f}"),
    ("index_mb", "index MB", "{:.0f}"), ("rss_growth_mb", "RSS +MB", "{:.0f}"),
    ("p50_ms", "p50 ms", "{:.1f}"), ("p95_ms", "p95 ms", "{:.1f}"), ("embed_p95_ms", "embed p95", "{:.1f}"),
    ("search_p50_ms", "search p50", "{:.2f}"), ("search_p95_ms", "search p95", "{:.2f}"),
    ("search_speedup", "search x flat", "{:.1f}"),
    ("recall_questions", "recall@10 questions", "{:.3f}"), ("recall_near", "recall@10 near", "{:.3f}"),
]


def markdown_row(row: dict) -> str:
    return "| " + " | ".join(fmt.format(row[key]) for key, _, fmt in COLUMNS) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=200, help="Questions timed per index (and near queries).")
    parser.add_argument("--centres", type=int, default=400, help="Shop-policy sentences used as topic centres.")
    parser.add_argument("--kinds", nargs="+", choices=["hnsw", "ivf"],
                        help="Approximate kinds to compare with flat at every size (default: the size-chosen kind).")
    parser.add_argument("--out", type=Path, default=RESULTS, help="Write the figures as JSON here.")
    args = parser.parse_args()

    import faiss
    import torch

    from chatbot.knowledge.embedding import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    centres = embedder.embed(_fill(POLICY_TEMPLATES, args.centres, seed=0))
    questions = _fill(QUESTION_TEMPLATES, args.queries, seed=1)
    question_vectors = embedder.embed(questions)
    print(f"{len(centres)} centre sentences, {len(questions)} questions, {os.cpu_count()} CPUs; "
          "queries on 1 thread, builds on all\n")
    print("| " + " | ".join(title for _, title, _ in COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    rows = []
    for size in args.sizes:
        kinds = args.kinds or [kind for kind in [choose_index_kind(size)] if kind != "flat"]
        rows += run_size(size, kinds, centres, embedder, questions, question_vectors)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    settings = {
        "centres": len(centres), "queries": len(questions), "k": K, "centre_cosine": CENTRE_COSINE,
        "near_noise": NEAR_NOISE, "cpus": os.cpu_count(), "faiss": faiss.__version__, "torch": torch.__version__,
        "query_threads": 1,
    }
    args.out.write_text(json.dumps({"settings": settings, "rows": rows}, indent=2))
    print(f"\nWrote {args.out}")


if __name__ == "__main__":
    main()
