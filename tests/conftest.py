"""Shared fixtures: a small knowledge base, fake models, and the real bundled models (once per session)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from chatbot.settings import REPO_ROOT, Settings, load_settings  # noqa: E402
from tests.fakes import ScriptedGenerator, ToyEmbedder  # noqa: E402

RETURNS_MD = """---
id: returns
title: Returns and refunds
---
# Returns and refunds

## Return window
Full-price items can be returned within 30 days of delivery for a full refund.

## Sale items
Sale items can be returned within 14 days of delivery.
"""

SHIPPING_MD = """# Shipping

## UK delivery
Standard UK delivery costs £3.95 and takes 2 to 4 business days. Delivery is free on orders over £50.
"""


def _run_cli(
    *args: str, env: dict[str, str] | None = None, input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chatbot", *args],
        cwd=REPO_ROOT,
        input=input_text,
        capture_output=True,
        text=True,
        timeout=600,
        # No order store unless a test gives one: `ask` would otherwise create data/orders.db in the repo.
        env={**os.environ, "HF_HUB_OFFLINE": "1", "CHATBOT_ORDERS_URL": "", **(env or {})},
    )


@pytest.fixture
def run_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """`python -m chatbot ARGS...` in the repository, as a user runs it (offline, no order store)."""
    return _run_cli


@pytest.fixture
def small_kb(tmp_path: Path) -> Path:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "returns.md").write_text(RETURNS_MD, encoding="utf-8")
    (kb / "shipping.md").write_text(SHIPPING_MD, encoding="utf-8")
    return kb


@pytest.fixture
def toy_settings(tmp_path: Path, small_kb: Path) -> Settings:
    return load_settings(
        env={},
        kb_dir=small_kb,
        index_dir=tmp_path / "index",
        store_name="Maple & Moss",  # the toy pages are the demo store's
        min_score=0.2,
        follow_up_min_score=0.1,
        passages_per_doc=2,
        answer_style="generative",  # the fast tests script the decoder's replies
    )


@pytest.fixture
def toy_embedder() -> ToyEmbedder:
    return ToyEmbedder()


@pytest.fixture
def scripted() -> ScriptedGenerator:
    return ScriptedGenerator()


# Real models: loaded once per session.


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_settings(env={}, kb_dir=REPO_ROOT / "knowledge_base", index_dir=tmp_path_factory.mktemp("index"))


@pytest.fixture(scope="session")
def real_embedder(real_settings: Settings):
    from chatbot.service import load_embedder

    return load_embedder(real_settings)


@pytest.fixture(scope="session")
def real_index(real_settings: Settings, real_embedder):
    from chatbot.service import index_knowledge_base

    return index_knowledge_base(real_settings, real_embedder)


@pytest.fixture(scope="session")
def real_generator(real_settings: Settings):
    from chatbot.service import load_transformers

    return load_transformers(real_settings)


@pytest.fixture(scope="session")
def real_pipeline(real_settings: Settings, real_embedder, real_index, real_generator):
    from chatbot.answer.pipeline import Pipeline
    from chatbot.knowledge.retrieval import HybridRetriever
    from chatbot.service import make_guard

    retriever = HybridRetriever.from_settings(real_settings, real_embedder)
    return Pipeline(retriever, real_generator, real_settings, guard=make_guard(real_settings, real_embedder),
                    embedder=real_embedder)


@pytest.fixture
def composing(real_settings: Settings, real_embedder, real_index):
    """The bundled store's pipeline as the app builds it, composing from the pages' sentences."""
    from dataclasses import replace

    from chatbot.answer.pipeline import Pipeline
    from chatbot.knowledge.retrieval import HybridRetriever
    from chatbot.service import make_mentions

    retriever = HybridRetriever.from_settings(real_settings, real_embedder)
    return Pipeline(retriever, None, replace(real_settings, answer_style="extractive"), embedder=real_embedder,
                    mentions=make_mentions(real_settings, retriever, real_embedder))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Keep each phase's report on the test item, so a fixture can tell that its test failed
    (the browser tests save a screenshot then)."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report
