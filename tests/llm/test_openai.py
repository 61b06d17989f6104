"""The OpenAI-compatible backend against real local endpoints: our own server over a scripted
generator (exact text), flaky and slow servers (retries, timeouts), and the bundled model."""

from __future__ import annotations

import time

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse, StreamingResponse

from chatbot.errors import GenerationError
from chatbot.llm.openai_client import OpenAIGenerator
from chatbot.llm.openai_server import create_openai_app
from tests.fakes import ScriptedGenerator
from tests.web.server import free_port, serving

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Return window?"}]


@pytest.fixture
def scripted_endpoint():
    generator = ScriptedGenerator("Full-price items can be returned within 30 days [1].", "Second reply.")
    with serving(create_openai_app(generator, "shop-model"), "/v1/models") as url:
        yield f"{url}/v1", generator


def test_the_answer_streams_through_the_endpoint(scripted_endpoint) -> None:
    url, generator = scripted_endpoint
    pieces = list(OpenAIGenerator(url, "shop-model").stream(MESSAGES, 64, temperature=0.7))
    assert len(pieces) > 1 and "".join(pieces) == "Full-price items can be returned within 30 days [1]."
    assert generator.received == [MESSAGES] and generator.temperatures == [0.7]


def test_the_pipeline_answers_through_the_endpoint(scripted_endpoint, toy_settings, toy_embedder) -> None:
    from chatbot.answer.pipeline import Pipeline
    from chatbot.knowledge.index import build_index
    from chatbot.knowledge.ingest import read_knowledge_base
    from chatbot.knowledge.retrieval import HybridRetriever

    url, generator = scripted_endpoint
    build_index(read_knowledge_base(toy_settings.kb_dir).passages, toy_embedder, toy_settings.index_dir)
    pipeline = Pipeline(HybridRetriever.from_settings(toy_settings, toy_embedder), OpenAIGenerator(url, "shop-model"), toy_settings)
    answer = pipeline.answer("How many days do I have to return a full-price item?")
    assert answer.text == "Full-price items can be returned within 30 days [1]." and answer.sources[0].doc_id == "returns"
    assert "Full-price items can be returned within 30 days" in generator.received[0][-1]["content"]  # the passages were sent


def test_our_server_answers_whole_and_refuses_another_model(scripted_endpoint) -> None:
    import httpx

    url, _ = scripted_endpoint
    whole = httpx.post(f"{url}/chat/completions", json={"model": "shop-model", "messages": MESSAGES}).json()
    assert whole["choices"][0]["message"]["content"] == "Full-price items can be returned within 30 days [1]."
    assert httpx.post(f"{url}/chat/completions", json={"model": "gpt-9", "messages": MESSAGES}).status_code == 404
    with pytest.raises(GenerationError, match="answered 404"):
        list(OpenAIGenerator(url, "gpt-9", retries=0).stream(MESSAGES, 8))


def flaky_app(failures: int, status: int = 503, delay: float = 0.0) -> tuple[FastAPI, list[float]]:
    """Answers `status` to the first `failures` requests (after `delay` s), then streams "OK."."""
    app, calls = FastAPI(), []

    @app.get("/v1/models")
    def models() -> dict:
        return {"data": []}

    @app.post("/v1/chat/completions")
    def complete():  # noqa: ANN202
        calls.append(time.monotonic())
        time.sleep(delay)
        if len(calls) <= failures:
            return JSONResponse({"error": "busy"}, status_code=status)
        chunk = '{"choices": [{"index": 0, "delta": {"content": "OK."}}]}'
        return StreamingResponse(iter([f"data: {chunk}\n\n", "data: [DONE]\n\n"]), media_type="text/event-stream")

    return app, calls


def test_our_server_answers_429_when_its_batch_is_full_and_the_client_tries_again() -> None:
    import httpx

    from chatbot.errors import BusyError

    class FullAtFirst(ScriptedGenerator):
        """Full for the first `full` requests, as ConcurrentGenerator is beyond max_waiting."""

        def __init__(self, full: int, *replies: str) -> None:
            super().__init__(*replies)
            self.full = full

        def stream(self, messages, max_new_tokens, temperature=None):  # noqa: ANN001, ANN201
            if self.full:
                self.full -= 1
                raise BusyError("Many shoppers are asking right now; please try again in a moment.")
            yield from super().stream(messages, max_new_tokens, temperature)

    with serving(create_openai_app(FullAtFirst(2, "Later, then."), "shop-model"), "/v1/models") as url:
        refused = httpx.post(f"{url}/v1/chat/completions", json={"messages": MESSAGES})
        assert refused.status_code == 429 and "try again" in refused.text
        # Full once more: the client's first try is refused, its second answered.
        assert "".join(OpenAIGenerator(f"{url}/v1", "shop-model", retries=1, backoff=0.01).stream(MESSAGES, 8)) == "Later, then."


def test_a_busy_endpoint_is_tried_again_with_backoff() -> None:
    app, calls = flaky_app(failures=2)
    with serving(app, "/v1/models") as url:
        assert "".join(OpenAIGenerator(f"{url}/v1", "m", retries=2, backoff=0.1).stream(MESSAGES, 8)) == "OK."
    assert len(calls) == 3 and calls[2] - calls[1] >= 0.2 > calls[1] - calls[0] >= 0.1


def test_retries_run_out_with_a_clear_error() -> None:
    app, calls = flaky_app(failures=5, status=500)
    with serving(app, "/v1/models") as url, pytest.raises(GenerationError, match="answered 500"):
        list(OpenAIGenerator(f"{url}/v1", "m", retries=1, backoff=0.01).stream(MESSAGES, 8))
    assert len(calls) == 2


def test_a_slow_endpoint_times_out() -> None:
    app, _ = flaky_app(failures=0, delay=1.5)
    with serving(app, "/v1/models") as url, pytest.raises(GenerationError, match="timed out after 1 tries"):
        list(OpenAIGenerator(f"{url}/v1", "m", timeout=0.3, retries=0).stream(MESSAGES, 8))


def test_nothing_listening_is_a_clear_error() -> None:
    with pytest.raises(GenerationError, match=r"failed .* after 2 tries"):
        list(OpenAIGenerator(f"http://127.0.0.1:{free_port()}/v1", "m", retries=1, backoff=0.01).stream(MESSAGES, 8))
    with pytest.raises(GenerationError, match="must be an http"):
        OpenAIGenerator("localhost:8000", "m")


@pytest.mark.real
def test_the_bundled_model_served_as_an_endpoint_writes_what_it_writes_in_process(real_generator) -> None:
    from chatbot.llm.concurrent import ConcurrentGenerator

    # As serve-openai serves it: through a running batch on its own thread.
    with serving(create_openai_app(ConcurrentGenerator(real_generator), "bundled"), "/v1/models") as url:
        remote = "".join(OpenAIGenerator(f"{url}/v1", "bundled").stream(MESSAGES, 24))
    assert remote.strip() and remote == "".join(real_generator.stream(MESSAGES, 24))


def test_settings_choose_the_backend() -> None:
    from chatbot.errors import SettingsError
    from chatbot.service import make_generator
    from chatbot.settings import load_settings

    remote = make_generator(load_settings(env={"CHATBOT_GENERATOR": "openai", "CHATBOT_OPENAI_BASE_URL": "http://10.0.0.5:8000/v1",
                                               "CHATBOT_MODEL": "llama-3.1-8b", "CHATBOT_OPENAI_API_KEY": "sk-test"}))
    assert isinstance(remote, OpenAIGenerator) and remote.url == "http://10.0.0.5:8000/v1/chat/completions"
    assert remote.id == "llama-3.1-8b" and remote.client.headers["Authorization"] == "Bearer sk-test"
    with pytest.raises(SettingsError, match="must be \"transformers\" or \"openai\""):
        make_generator(load_settings(env={}, generator="gpt"))
    with pytest.raises(SettingsError, match="cross-encoder reranker or none"):
        make_generator(load_settings(env={}, generator="openai", openai_base_url="http://h/v1", reranker="bundled"))
