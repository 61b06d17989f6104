"""Ticket triage: scoring, patterns and language with fakes; the bundled examples with the real embedder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatbot.errors import SettingsError
from chatbot.support.triage import LanguageGuesser, TicketTriage, Triage, score_triage
from tests.fakes import ToyEmbedder

EXAMPLES = """
[intent]
refund = ["refund money back", "where is my refund"]
shipping = ["shipping cost delivery", "do you ship abroad"]
[sentiment]
negative = ["awful terrible", "angry upset"]
neutral = ["refund money", "shipping cost"]
[urgency]
high = ["need it now", "immediately now"]
low = ["refund money", "shipping cost"]
[patterns.urgency]
high = ['\\bcharged twice\\b']
"""


@pytest.fixture
def triage(tmp_path: Path, toy_embedder: ToyEmbedder) -> TicketTriage:
    path = tmp_path / "triage.toml"
    path.write_text(EXAMPLES, encoding="utf-8")
    return TicketTriage(toy_embedder, path)


def test_the_nearest_labels_and_a_pattern_decide(triage: TicketTriage) -> None:
    calm, charged = triage.classify(["What does shipping cost to France?", "Refund please, I was charged twice"])
    assert calm == Triage("shipping", "neutral", "low", "en")
    assert (charged.intent, charged.urgency) == ("refund", "high")  # the pattern, though the words say low
    assert triage.classify([]) == []


def test_a_broken_pattern_is_a_settings_error(tmp_path: Path, toy_embedder: ToyEmbedder) -> None:
    path = tmp_path / "triage.toml"
    path.write_text(EXAMPLES.replace("\\bcharged twice\\b", "(unclosed"), encoding="utf-8")
    with pytest.raises(SettingsError, match="Cannot read the triage examples"):
        TicketTriage(toy_embedder, path)


def test_language_falls_back_when_unsure() -> None:
    guesser = LanguageGuesser(default="en")
    assert guesser.guess("Bonjour, ma commande n'est toujours pas arrivée, pouvez-vous m'aider ?") == "fr"
    assert guesser.guess("refund pls") == "en"  # too short to tell: the store's language


def test_scores_count_each_field() -> None:
    truth = [{"intent": "refund", "sentiment": "negative", "urgency": "high", "language": "en"},
             {"intent": "return", "sentiment": "neutral", "urgency": "low", "language": "fr"}]
    scores = score_triage([Triage("refund", "negative", "high", "en"), Triage("refund", "neutral", "high", "fr")], truth)
    assert scores["intent"]["accuracy"] == 0.5
    assert scores["intent"]["macro_f1"] == round((2 * 0.5 * 1 / 1.5 + 0) / 2, 3)  # refund: P 0.5 R 1; return: 0
    assert scores["intent"]["confusion"] == {"refund": {"refund": 1}, "return": {"refund": 1}}
    assert scores["language"]["accuracy"] == 1.0


@pytest.mark.real
def test_bundled_examples_sort_plain_tickets(real_embedder) -> None:
    triage = TicketTriage(real_embedder)
    refund, urgent, french = triage.classify([
        "Where is my refund? I sent the parcel back two weeks ago and still no money.",
        "URGENT - I need the duvet delivered by tomorrow for guests, order MM40211",
        "Bonjour, je voudrais savoir où en est ma commande MM51020, merci.",
    ])
    assert refund.intent == "refund"
    assert urgent.urgency == "high"
    assert french.language == "fr"


@pytest.mark.real
def test_eval_triage_scores_a_labelled_file(run_cli, tmp_path: Path) -> None:
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text(json.dumps({"text": "Where is my refund? I sent the kettle back weeks ago.", "intent": "refund",
                                    "sentiment": "negative", "urgency": "normal", "language": "en"}) + "\n")
    result = run_cli("eval-triage", "--tickets", str(labelled), "--out", str(tmp_path / "scores.json"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["intent"]["accuracy"] == 1.0
    assert json.loads((tmp_path / "scores.json").read_text())["intent"]["confusion"] == {"refund": {"refund": 1}}
    labelled.write_text('{"text": "no labels"}\n')
    missing = run_cli("eval-triage", "--tickets", str(labelled))
    assert missing.returncode == 1 and "line 1: missing intent" in missing.stderr
