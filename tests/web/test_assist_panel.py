"""The assist panel over HTTP beside the shopper chat, on the real models: the login is enforced
on every endpoint, and a pasted message yields passages, a cited draft, the order card and stored
feedback."""

from __future__ import annotations

import sqlite3

import httpx
import pytest

from tests.web.server import STAFF_NAME, STAFF_PASSWORD, running_site

pytestmark = pytest.mark.real

@pytest.fixture(scope="module")
def site(real_pipeline, real_settings, real_embedder, tmp_path_factory: pytest.TempPathFactory):
    with running_site(real_pipeline, real_settings, real_embedder, tmp_path_factory.mktemp("panel")) as running:
        yield running


@pytest.fixture(scope="module")
def staff_client(site):
    from gradio_client import Client

    return Client(f"{site.url}/assist/", auth=(STAFF_NAME, STAFF_PASSWORD), verbose=False)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/assist/config"), ("GET", "/assist/gradio_api/info"), ("POST", "/assist/gradio_api/call/draft"),
     ("POST", "/assist/gradio_api/queue/join"), ("POST", "/assist/gradio_api/run/draft"),
     ("POST", "/assist/gradio_api/call/dashboard"), ("POST", "/assist/gradio_api/call/export_conversations_csv")],
)
def test_the_panel_refuses_requests_without_a_login(site, method: str, path: str) -> None:
    response = httpx.request(method, site.url + path, json={"data": ["Where is order 10001?", None], "fn_index": 0})
    assert response.status_code == 401, response.text


def test_a_wrong_password_gets_no_session_and_the_chat_cannot_reach_the_panel(site) -> None:
    base = site.url
    refused = httpx.post(f"{base}/assist/login", data={"username": "ana", "password": "not the password"})
    assert refused.status_code >= 400 and not refused.cookies
    assert httpx.get(f"{base}/config").status_code == 200  # the shopper chat needs no login
    info = httpx.get(f"{base}/gradio_api/info").json()["named_endpoints"]
    assert "/chat" in info and not {"/draft", "/rate_good", "/queue", "/load_knowledge_base", "/dashboard"} & info.keys()
    through_chat = httpx.post(f"{base}/gradio_api/call/draft", json={"data": ["Where is order 10001?", None]})
    assert through_chat.status_code != 200


def test_a_pasted_message_with_an_order_number_gets_passages_a_cited_draft_and_the_order_card(site, staff_client) -> None:
    store, database = site.store, site.support_db
    order = store.list_orders("delivered")[0]
    reply, cited, dropped, card, action, passages, saved = staff_client.predict(
        f"Hi, order #{order.number} arrived last week. Can I still return it? Thanks, Jo", api_name="/draft")
    assert "[1]" in reply and "**[1] Order" in cited
    assert f"### Order {order.number}" in card and "Delivered" in card and "History" in card
    assert "Next: Answer" in action
    assert passages.count('class="passage"') == 6 and "<mark>" in passages and "similarity 0." in passages
    saved = staff_client.predict(reply + " Kind regards, Ana", api_name="/rate_good")  # sent after a change
    assert saved.startswith("Saved:") and "edited" in saved
    with sqlite3.connect(database) as db:
        rating, final_text, agent = db.execute("SELECT rating, final_text, agent FROM drafts ORDER BY id DESC").fetchone()
    assert (rating, agent) == ("edited", "ana") and final_text.endswith("Kind regards, Ana")


def test_the_model_drafts_a_policy_reply_and_feedback_is_stored(site, staff_client) -> None:
    database = site.support_db
    reply, cited, *_ = staff_client.predict("How many days do I have to return an item? I want to speak to a person.",
                                             api_name="/draft")
    assert "30" in reply and "[1]" in reply and "**[1] " in cited and "return" in cited.lower()
    assert staff_client.predict(reply, api_name="/rate_bad").startswith("Saved:")
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT rating FROM drafts ORDER BY id DESC").fetchone() == ("bad",)


def test_an_escalated_chat_reaches_the_staff_queue(site, staff_client) -> None:
    from gradio_client import Client

    base, log = site.url, site.log
    Client(f"{base}/", verbose=False).predict("I'd like to talk to a person, please.", [], api_name="/chat")
    waiting = [c for c in log.escalation_queue() if c.reason == "user_asked_for_human"]
    assert waiting
    staff_client.predict(api_name="/queue")  # the panel's "Refresh": the dropdown now lists it
    message, transcript = staff_client.predict(waiting[0].id, api_name="/open_conversation")
    assert message == "I'd like to talk to a person, please." and "user_asked_for_human" in transcript


def test_another_stores_folder_is_indexed_from_the_panel_and_searched(site, staff_client, tmp_path_factory) -> None:
    # Last in this module: the panel answers from the new folder from now on.
    folder = tmp_path_factory.mktemp("other_store")
    (folder / "gift-cards.md").write_text("# Gift cards\n\nOur gift cards never expire and work in every branch.\n", encoding="utf-8")
    loaded = staff_client.predict(str(folder), api_name="/load_knowledge_base")
    assert loaded.startswith("Indexed 1 passages (1 embedded") and str(folder) in loaded
    found = staff_client.predict("do gift cards expire?", api_name="/search")
    assert "gift-cards.md" in found and "<mark>expire</mark>" in found
