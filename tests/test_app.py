"""The shopper chat, driven through its HTTP API with gradio_client, on the real pipeline."""

from __future__ import annotations

import pytest

from chatbot.values import Answer, Passage

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def client(real_pipeline, real_settings):
    from gradio_client import Client

    from app import build_app

    demo = build_app(real_pipeline, real_settings).queue()
    demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
    try:
        yield Client(demo.local_url, verbose=False)
    finally:
        demo.close()


def texts(history: list[dict]) -> list[str]:
    from app import message_text

    return [message_text(m["content"]) for m in history]


def test_chat_answers_with_sources_shown(client) -> None:
    history = client.predict("How many days do I have to return an item?", [], api_name="/chat")
    assert [m["role"] for m in history] == ["user", "assistant", "assistant"]
    user, reply, sources = texts(history)
    assert user == "How many days do I have to return an item?"
    assert "30" in reply and "[1]" in reply
    assert history[2]["metadata"]["title"].startswith("Sources")
    assert sources.startswith("**[1] ") and "30 days" in sources


def test_off_topic_question_offers_a_person(client) -> None:
    history = client.predict("What is the capital of France?", [], api_name="/chat")
    reply = history[-1]
    assert "can't answer" in texts([reply])[0]
    assert reply["options"][0]["label"] == "Talk to a person"


@pytest.mark.parametrize(
    ("message", "expected"), [("   ", "Please type a question"), ("x" * 100_000, "limit is 2,000")]
)
def test_bad_input_is_a_clear_error(client, message: str, expected: str) -> None:
    with pytest.raises(Exception, match=expected):
        client.predict(message, [], api_name="/chat")


def test_history_drops_sources_boxes() -> None:
    from app import answer_messages, conversation

    passage = Passage("returns#window", "returns", "Returns", "30 days.", "returns.md")
    history = [{"role": "user", "content": [{"type": "text", "text": "Return window?"}]},
               *answer_messages(Answer("30 days [1].", (passage,), 0.7))]
    assert conversation(history) == [
        {"role": "user", "content": "Return window?"}, {"role": "assistant", "content": "30 days [1]."}
    ]


def test_answer_is_streamed_in_several_updates(client) -> None:
    job = client.submit("How do I return an item?", [], api_name="/chat")
    final_history = job.result(timeout=300)
    updates = job.outputs()
    assert len(updates) >= 3  # the question at once, checked sentences, then the final answer
    assert texts(updates[0]) == ["How do I return an item?"]
    first_partial = texts(updates[1])
    assert first_partial[0] == "How do I return an item?" and first_partial[-1].strip()
    assert texts(final_history)[1].strip()
