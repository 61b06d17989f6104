"""The shopper chat, driven through its HTTP API with gradio_client, on the real pipeline."""

from __future__ import annotations

import pytest

from chatbot.values import Answer, Passage

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def client(real_pipeline, real_settings):
    from gradio_client import Client

    from chatbot.web.chat import build_app

    demo = build_app(real_pipeline, real_settings).queue()
    demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
    try:
        yield Client(demo.local_url, verbose=False)
    finally:
        demo.close()


def texts(history: list[dict]) -> list[str]:
    from chatbot.web.chat import message_text

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
    assert "can't answer" in texts([reply])[0] and "connect you with a person" in texts([reply])[0]
    assert reply["options"] is None  # the page offers a person with a button under the chat, not in the reply


@pytest.mark.parametrize(
    ("message", "expected"), [("   ", "Please type a question"), ("x" * 100_000, "limit is 2,000")]
)
def test_bad_input_is_a_clear_error(client, message: str, expected: str) -> None:
    with pytest.raises(Exception, match=expected):
        client.predict(message, [], api_name="/chat")


@pytest.mark.parametrize(("message", "expected"), [
    ("   ", "请输入您的问题。"),  # no words: the browser's language (Accept-Language)
    ("退" * 3000, "您的消息有 3,000 个字符，上限为 2,000 个。"),  # the message's own language
])
def test_bad_input_is_a_clear_error_in_the_shoppers_language(client, message: str, expected: str) -> None:
    from gradio_client import Client

    chinese = Client(client.src, verbose=False, headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    with pytest.raises(Exception, match=expected):
        chinese.predict(message, [], api_name="/chat")


def test_a_chinese_question_on_english_pages_is_told_so_in_chinese(client) -> None:
    reply = texts(client.predict("我可以退货吗？退货期限是多少天？", [], api_name="/chat"))[-1]
    assert reply.startswith("很抱歉") and "英文" in reply and "人工客服" in reply


def test_history_drops_sources_boxes() -> None:
    from chatbot.web.chat import answer_messages, conversation

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


@pytest.fixture(scope="module")
def order_chat(real_pipeline, real_settings, tmp_path_factory: pytest.TempPathFactory):
    """The chat with an order store (the demo orders in a temporary SQLite file), and the store."""
    from gradio_client import Client

    from chatbot.answer.pipeline import Pipeline
    from chatbot.orders.chat import OrderDesk
    from chatbot.orders.store import open_order_store
    from chatbot.web.chat import build_app

    path = tmp_path_factory.mktemp("orders") / "orders.db"
    store = open_order_store(f"sqlite:///{path}")
    store.seed_demo(count=120)
    pipeline = Pipeline(real_pipeline.retriever, real_pipeline.generator, real_settings, orders=OrderDesk(store),
                        embedder=real_pipeline.embedder)
    demo = build_app(pipeline, real_settings).queue()
    demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
    try:
        yield Client(demo.local_url, verbose=False), path, demo.local_url
    finally:
        demo.close()
        store.close()


def test_where_is_my_order_end_to_end(order_chat) -> None:
    import sqlite3

    client, path, _ = order_chat
    with sqlite3.connect(path) as db:
        number, email, tracking = db.execute(
            "SELECT o.number, c.email, s.tracking_number FROM orders o JOIN customers c ON c.id = o.customer_id "
            "JOIN shipments s ON s.order_id = o.id WHERE o.status = 'shipped'"
        ).fetchone()
    history = client.predict(f"Where is my order {number}?", [], api_name="/chat")
    assert "email address or the postcode" in texts(history)[-1] and tracking not in " ".join(texts(history))
    # the same browser session answers the check in its next message
    history = client.predict(email, history, api_name="/chat")
    reply, sources = texts(history)[-2:]
    assert tracking in reply and "[1]" in reply
    assert history[-1]["metadata"]["title"].startswith("Sources") and sources.startswith(f"**[1] Order {number}**")


def test_new_sessions_cannot_farm_guesses_at_a_postcode(order_chat) -> None:
    # A script that knows an order number opens a fresh session (a new gradio Client) for each guess.
    import sqlite3

    from gradio_client import Client

    _, path, url = order_chat
    with sqlite3.connect(path) as db:
        number, email = db.execute("SELECT o.number, c.email FROM orders o JOIN customers c ON c.id = o.customer_id "
                                   "WHERE o.status = 'delivered' ORDER BY o.number DESC").fetchone()
    replies = []
    for n in range(6):
        history = Client(url, verbose=False).predict(f"where is order {number}? postcode LS{n + 1} 9ZZ", [], api_name="/chat")
        replies.append(texts(history)[-1])
    locked = [("passed this conversation" in reply) for reply in replies]
    assert locked == [False] * 4 + [True] * 2  # the order's fifth failed check, whichever session made it
    fresh = Client(url, verbose=False)
    history = fresh.predict(f"where is order {number}? my email is {email}", [], api_name="/chat")
    assert "passed this conversation" in texts(history)[-1] and "Delivered" not in texts(history)[-1]
    # that chat is now handed over: its next message, not about an order, gets the same reply
    history = fresh.predict("ok then, how long do refunds take?", history, api_name="/chat")
    assert "passed this conversation" in texts(history)[-1]
