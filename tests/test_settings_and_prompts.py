"""Settings precedence and prompt rendering."""

from __future__ import annotations

from pathlib import Path

import pytest

import chatbot
from chatbot.answer.prompts import render_prompt
from chatbot.errors import SettingsError
from chatbot.settings import REPO_ROOT, Settings, load_settings
from chatbot.values import Passage


def test_defaults_then_file_then_environment_then_overrides(tmp_path: Path) -> None:
    file = tmp_path / "chatbot.toml"
    file.write_text('top_k = 7\nmin_score = 0.5\nstore_name = "File Shop"\nindex_dir = "/srv/index"\n')
    env = {"CHATBOT_MIN_SCORE": "0.25", "CHATBOT_SETTINGS": str(file)}
    settings = load_settings(env=env, store_name="Flag Shop")
    assert (settings.top_k, settings.min_score, settings.store_name) == (7, 0.25, "Flag Shop")
    assert settings.index_dir == Path("/srv/index")
    assert settings.max_new_tokens == Settings().max_new_tokens


def test_bad_settings_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="'top_k' expects"):
        load_settings(env={"CHATBOT_TOP_K": "lots"})
    file = tmp_path / "chatbot.toml"
    file.write_text("topk = 3\n")
    with pytest.raises(SettingsError, match="Unknown settings .*topk"):
        load_settings(file, env={})


def test_settings_are_frozen() -> None:
    with pytest.raises(AttributeError):
        Settings().top_k = 3  # type: ignore[misc]


def test_every_prompt_renders_without_leftover_markup() -> None:
    settings = Settings()
    passages = [Passage("returns#window", "returns", "Returns", "30 days.", "returns.md", ("Window",))]
    values = {"store_name": "Maple & Moss", "support_contact": "help@example.com", "passages": passages, "question": "Q?"}
    for name in ("system", "answer", "escalation", "handoff"):
        text = render_prompt(settings.prompts_dir, name, **values)
        assert text and "{{" not in text and "{%" not in text and "}}" not in text
    answer = render_prompt(settings.prompts_dir, "answer", **values)
    assert answer == "Passages:\n[1] Returns - Window\n30 days.\n\nQuestion: Q?"


def test_another_shops_pages_get_no_demo_name_or_contact(tmp_path: Path) -> None:
    other = load_settings(env={"CHATBOT_KB_DIR": str(tmp_path)})
    assert (other.store_name, other.support_contact) == ("", "our support team")
    named = load_settings(env={"CHATBOT_KB_DIR": str(tmp_path), "CHATBOT_STORE_NAME": "Pawprint Pantry"})
    assert named.store_name == "Pawprint Pantry"
    assert load_settings(env={}).store_name == "Maple & Moss"


@pytest.mark.parametrize("language", ["", "zh/"])
def test_every_shopper_message_reads_without_a_store_name(language: str) -> None:
    folder = Settings().prompts_dir
    values = {"store_name": "", "support_contact": "our support team", "question": "Q?", "pages_language": "English",
              "action": "Escalate", "reason": "", "customer_name": "", "answer": "A."}
    for template in sorted((folder / language).glob("*.j2")):
        if "store_name" not in template.read_text(encoding="utf-8"):
            continue
        text = render_prompt(folder, f"{language}{template.stem}", **values)
        assert "  " not in text.replace("\n", "") and " 's" not in text and "the  " not in text, template.name
    assert render_prompt(folder, "escalation", **values).startswith("I'm sorry, I can't answer that from our policies")
    assert "转给我们的客服团队" in render_prompt(folder, "zh/handoff", **values)


def test_a_missing_prompt_variable_is_an_error_not_a_blank() -> None:
    with pytest.raises(SettingsError, match="store_name"):
        render_prompt(Settings().prompts_dir, "system")
    with pytest.raises(SettingsError, match="not found"):
        render_prompt(Settings().prompts_dir, "no-such-prompt")


def test_the_default_prompts_and_examples_are_the_package_s_own() -> None:
    package = Path(chatbot.__file__).resolve().parent
    settings = Settings()
    # Inside the package, not through the repository's top-level prompts/ link.
    assert (settings.prompts_dir.parent.resolve(), settings.prompts_dir.name) == (package, "prompts")
    assert (settings.prompts_dir / "system.j2").is_file()
    assert Path(settings.topics_file).resolve() == package / "answer" / "topics.toml"
    assert Path(settings.triage_file).resolve() == package / "support" / "triage.toml"
    assert Path(settings.topics_file).is_file() and Path(settings.triage_file).is_file()
    # The repository's top-level prompts/ is a link to them, not a second copy.
    assert (REPO_ROOT / "prompts").resolve() == package / "prompts"


def test_a_store_s_own_prompts_and_examples_are_used(tmp_path: Path) -> None:
    (tmp_path / "handoff.j2").write_text("Passed on to {{ store_name }}.")
    env = {
        "CHATBOT_PROMPTS_DIR": str(tmp_path),
        "CHATBOT_TOPICS_FILE": str(tmp_path / "topics.toml"),
        "CHATBOT_TRIAGE_FILE": "",
    }
    settings = load_settings(env=env)
    assert render_prompt(settings.prompts_dir, "handoff", store_name="Shop") == "Passed on to Shop."
    assert (settings.topics_file, settings.triage_file) == (str(tmp_path / "topics.toml"), "")
