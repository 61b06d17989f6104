"""Ticket triage: scoring, patterns, rules and language with fakes; the bundled examples with the real embedder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatbot.errors import EvalSetError, SettingsError
from chatbot.support.triage import LanguageGuesser, TicketTriage, Triage, read_labelled_tickets, score_triage
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
    assert charged.payment_dispute and not calm.payment_dispute
    assert triage.classify([]) == []


def test_a_broken_pattern_is_a_settings_error(tmp_path: Path, toy_embedder: ToyEmbedder) -> None:
    path = tmp_path / "triage.toml"
    path.write_text(EXAMPLES.replace("\\bcharged twice\\b", "(unclosed"), encoding="utf-8")
    with pytest.raises(SettingsError, match="Cannot read the triage examples"):
        TicketTriage(toy_embedder, path)


RULES = """
[rules]
pattern_only = { urgency = ["high"] }
unreadable = { intent = "shipping", sentiment = "neutral", urgency = "low" }
payment_dispute = { urgency = "high" }
shouting = { sentiment = "negative" }
"""


@pytest.fixture
def ruled(tmp_path: Path, toy_embedder: ToyEmbedder) -> TicketTriage:
    path = tmp_path / "ruled.toml"
    path.write_text(EXAMPLES + RULES, encoding="utf-8")
    return TicketTriage(toy_embedder, path)


def test_a_pattern_only_label_is_never_the_nearest(triage: TicketTriage, ruled: TicketTriage) -> None:
    message = "I need it now, immediately"  # the words of the high examples, no pattern
    assert triage.classify([message])[0].urgency == "high"
    assert ruled.classify([message])[0].urgency == "low"


def test_a_payment_dispute_gets_its_labels_and_flag(ruled: TicketTriage) -> None:
    disputed, settled = ruled.classify(["I don't recognise this charge on my card", "Thanks for sorting the double charge"])
    assert (disputed.urgency, disputed.payment_dispute) == ("high", True)  # the rule: no pattern matches
    assert (settled.urgency, settled.payment_dispute) == ("low", False)


def test_a_ticket_the_embedder_cannot_read_gets_the_unreadable_labels(ruled: TicketTriage) -> None:
    calm, disputed = ruled.classify(["你好，请问你们可以寄到上海吗？运费是多少？", "我的信用卡被重复扣款了，请退款"])
    assert calm == Triage("shipping", "neutral", "low", "zh")
    assert (disputed.urgency, disputed.payment_dispute) == ("high", True)


def test_a_ticket_the_embedder_cannot_read_is_read_by_the_multilingual_embedder(tmp_path: Path, toy_embedder: ToyEmbedder) -> None:
    from tests.fakes import ToyMultilingualEmbedder

    path = tmp_path / "ruled.toml"
    # Each label has one Chinese example: the multilingual embedder compares a Chinese ticket with it.
    path.write_text(EXAMPLES.replace('"where is my refund"]', '"where is my refund", "退款到账"]')
                    .replace('"do you ship abroad"]', '"do you ship abroad", "运费多少"]') + RULES, encoding="utf-8")
    language = ToyMultilingualEmbedder()
    triage = TicketTriage(toy_embedder, path, language_embedder=language)
    refund, english = triage.classify(["我的退款什么时候到账？", "do you ship abroad"])
    assert refund.intent == "refund"  # not the unreadable rule's "shipping"
    assert english.intent == "shipping"
    assert language.calls[-1] == ["我的退款什么时候到账？"]  # the English ticket is read by the first embedder
    assert toy_embedder.calls[-1] == ["do you ship abroad"]  # and the Chinese one by the multilingual one alone


def test_shouting_and_double_question_marks_are_negative(ruled: TicketTriage) -> None:
    calm, shouting, asking = ruled.classify(["where is my refund money", "WHERE IS my refund money", "where is my refund money??"])
    assert (calm.sentiment, shouting.sentiment, asking.sentiment) == ("neutral", "negative", "negative")


@pytest.mark.parametrize(
    ("rules", "error"),
    [
        ('[rules]\nunreadable = { urgency = "soon" }\n', "names a field or label the file does not have"),
        ('[rules]\npattern_only = { mood = ["high"] }\n', "names a field or label the file does not have"),
        ('[rules]\npattern_only = { urgency = ["high", "low"] }\n', "leaves a field no label"),
        ('[rules]\nunreadble = { urgency = "low" }\n', "remove or rename unreadble"),
    ],
)
def test_a_wrong_rule_is_a_settings_error(tmp_path: Path, toy_embedder: ToyEmbedder, rules: str, error: str) -> None:
    path = tmp_path / "triage.toml"
    path.write_text(EXAMPLES + rules, encoding="utf-8")
    with pytest.raises(SettingsError, match=error):
        TicketTriage(toy_embedder, path)


@pytest.fixture(scope="module")
def bundled() -> TicketTriage:
    """The bundled file's patterns and rules; the toy embedder stands in for the examples' vote."""
    return TicketTriage(ToyEmbedder())


@pytest.mark.parametrize(
    ("message", "field", "label"),
    [
        ("This is really frustrating, I spent £120 on it", "sentiment", "negative"),
        ("Not ideal that one mug was missing from the set", "sentiment", "negative"),
        ("Thanks for nothing. Still no reply to my email.", "sentiment", "negative"),
        ("Love waiting three weeks for a parcel", "sentiment", "negative"),
        ("Sono davvero arrabbiato, il rimborso non è arrivato", "sentiment", "negative"),
        ("太失望了，杯子是碎的", "sentiment", "negative"),
        ("Thank you so much, the rug is gorgeous", "sentiment", "positive"),
        ("I need the tablecloth by Friday for a dinner", "urgency", "high"),
        ("The plug melted at the socket", "urgency", "high"),
        ("When will the refund come for the lamp I sent back on Monday?", "urgency", "normal"),
        ("你好，请问你们可以寄到上海吗？运费是多少？", "urgency", "normal"),
        ("请尽快回复，明天要用", "urgency", "high"),
        ("I've been charged twice for order MM40551", "intent", "payment"),
    ],
)
def test_the_bundled_patterns_and_rules(bundled: TicketTriage, message: str, field: str, label: str) -> None:
    assert getattr(bundled.classify([message])[0], field) == label


def test_the_bundled_rules_send_a_payment_dispute_to_a_person(bundled: TicketTriage) -> None:
    (disputed,) = bundled.classify(["I was charged twice for one order and if it isn't refunded I'm filing a chargeback"])
    assert (disputed.intent, disputed.urgency, disputed.payment_dispute) == ("payment", "high", True)


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


def test_scores_count_the_dispute_flag_where_every_row_has_it() -> None:
    truth = [{"intent": "payment", "sentiment": "negative", "urgency": "high", "language": "en", "payment_dispute": True},
             {"intent": "payment", "sentiment": "neutral", "urgency": "low", "language": "en", "payment_dispute": False}]
    predicted = [Triage("payment", "negative", "high", "en", payment_dispute=True), Triage("payment", "neutral", "low", "en", payment_dispute=True)]
    assert score_triage(predicted, truth)["payment_dispute"]["confusion"] == {"yes": {"yes": 1}, "no": {"yes": 1}}
    assert "payment_dispute" not in score_triage(predicted, [truth[0], {k: v for k, v in truth[1].items() if k != "payment_dispute"}])


def test_a_dispute_label_must_be_true_or_false(tmp_path: Path) -> None:
    labelled = tmp_path / "labelled.jsonl"
    row = {"text": "charged twice", "intent": "payment", "sentiment": "negative", "urgency": "high", "language": "en"}
    labelled.write_text(json.dumps({**row, "payment_dispute": "yes"}) + "\n", encoding="utf-8")
    with pytest.raises(EvalSetError, match="line 1: payment_dispute must be true or false"):
        read_labelled_tickets(labelled)
    labelled.write_text(json.dumps({**row, "payment_dispute": True}) + "\n", encoding="utf-8")
    assert read_labelled_tickets(labelled)[0]["payment_dispute"] is True


def test_the_new_triage_set_is_labelled_with_the_flag() -> None:
    rows = read_labelled_tickets(Path(__file__).parents[2] / "evals" / "triage_new.jsonl")
    assert len(rows) >= 40 and all(isinstance(r["payment_dispute"], bool) for r in rows)
    assert len({r["id"] for r in rows}) == len(rows)


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
def test_bundled_triage_reads_the_issue_35_tickets(real_embedder) -> None:
    frustrated, disputed, chinese = TicketTriage(real_embedder).classify([
        "This is really frustrating, I spent £120 on it and it broke in a week.",
        "You charged me twice for order MM40551. Refund one or I'm doing a chargeback.",
        "你好，请问你们可以寄到上海吗？运费是多少？",
    ])
    assert frustrated.sentiment == "negative"
    assert (disputed.payment_dispute, disputed.urgency) == (True, "high")
    assert (chinese.urgency, chinese.language) == ("normal", "zh")


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
