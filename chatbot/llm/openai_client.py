"""A Generator for any OpenAI-compatible chat endpoint (vLLM, TGI, llama.cpp server, a hosted
API): streamed over server-sent events, with timeouts and retries before the first token."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from chatbot.errors import GenerationError
from chatbot.llm.base import Message, Reply

log = logging.getLogger(__name__)
RETRY_STATUSES = {408, 409, 429, 500, 502, 503, 504}


class OpenAIGenerator:
    """Chat completions from `base_url` (e.g. http://127.0.0.1:8000/v1) for `model`.

    A request that fails before any text arrived (connection refused, timeout, 429 or 5xx) is
    tried again up to `retries` times, waiting `backoff`, 2 x `backoff`, ... seconds. Once text
    has been shown, a failure is not retried (the shopper would see it twice): it is an error.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str = "",
        temperature: float = 0.0,
        timeout: float = 60.0,
        retries: int = 2,
        backoff: float = 0.5,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise GenerationError(f"openai_base_url must be an http(s) URL such as http://127.0.0.1:8000/v1, not {base_url!r}.")
        if not model:
            raise GenerationError("Set openai_model: the model name the endpoint serves.")
        self.id = model
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.temperature = temperature
        self.retries = retries
        self.backoff = backoff
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # `timeout` bounds connecting and each wait for the next piece of the stream.
        self.client = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)))

    def stream(self, messages: Sequence[Message], max_new_tokens: int, temperature: float | None = None) -> Reply:
        body = {
            "model": self.id,
            "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
            "max_tokens": max_new_tokens,
            "temperature": self.temperature if temperature is None else temperature,
            "stream": True,
        }
        for attempt in range(self.retries + 1):
            started = False
            try:
                with self.client.stream("POST", self.url, json=body) as response:
                    if response.status_code in RETRY_STATUSES and attempt < self.retries:
                        log.warning("%s answered %d; trying again", self.url, response.status_code)
                        self._wait(attempt)
                        continue
                    if response.status_code != 200:
                        response.read()
                        raise GenerationError(f"The model endpoint {self.url} answered {response.status_code}: "
                                              f"{response.text[:200]}")
                    for piece in _text_pieces(response.iter_lines()):
                        started = True
                        yield piece
                    return
            except (httpx.TimeoutException, httpx.TransportError) as error:
                if started or attempt >= self.retries:
                    what = "timed out" if isinstance(error, httpx.TimeoutException) else f"failed ({error})"
                    raise GenerationError(f"The model endpoint {self.url} {what}"
                                          f"{' mid-answer' if started else f' after {attempt + 1} tries'}.") from error
                log.warning("%s: %s; trying again", self.url, error)
                self._wait(attempt)

    def _wait(self, attempt: int) -> None:
        time.sleep(self.backoff * 2**attempt)

    def close(self) -> None:
        self.client.close()


def _text_pieces(lines: Iterator[str]) -> Iterator[str]:
    """The text in an OpenAI chat-completions event stream ("data: {...}" lines, then "data: [DONE]")."""
    for line in lines:
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            event: dict[str, Any] = json.loads(data)
            choice = (event.get("choices") or [{}])[0]
            piece = (choice.get("delta") or {}).get("content") or ""
        except (ValueError, AttributeError, IndexError) as error:
            raise GenerationError(f"The model endpoint sent an event that is not chat-completions JSON: {data[:120]!r}") from error
        if event.get("error"):
            raise GenerationError(f"The model endpoint reported an error: {event['error']}")
        if piece:
            yield piece
