"""A small OpenAI-compatible chat-completions server over any Generator (`python -m chatbot
serve-openai` serves the configured transformers model): for sharing one loaded model between
processes, and for testing the OpenAI backend against a real endpoint."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from chatbot.errors import BusyError
from chatbot.llm.base import Generator


class ChatMessage(BaseModel):
    role: str
    content: str


class ChatRequest(BaseModel):
    model: str = ""
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int = Field(default=256, ge=1, le=4096)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    stream: bool = False


def create_openai_app(generator: Generator, model_id: str) -> FastAPI:
    """`/v1/models` and `/v1/chat/completions` (streamed as server-sent events or whole)."""
    app = FastAPI(title="chatbot OpenAI-compatible endpoint")

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": model_id, "object": "model", "owned_by": "local"}]}

    @app.post("/v1/chat/completions", response_model=None)
    def chat_completions(request: ChatRequest) -> dict[str, Any] | StreamingResponse:
        if request.model and request.model != model_id:
            raise HTTPException(404, f"This server serves {model_id!r}, not {request.model!r}.")
        messages = [m.model_dump() for m in request.messages]
        reply = generator.stream(messages, request.max_tokens, request.temperature)
        try:  # the first piece before answering: a full batch is a 429, which clients retry
            first = next(reply, None)
        except BusyError as error:
            raise HTTPException(429, str(error)) from error
        pieces = itertools.chain(() if first is None else (first,), reply)
        completion_id, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        if not request.stream:
            text = "".join(pieces)
            return {"id": completion_id, "object": "chat.completion", "created": created, "model": model_id,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}

        def events() -> Iterator[str]:
            def chunk(delta: dict[str, str], finish: str | None = None) -> str:
                body = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model_id,
                        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
                return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

            yield chunk({"role": "assistant"})
            for piece in pieces:
                yield chunk({"content": piece})
            yield chunk({}, "stop")
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app

