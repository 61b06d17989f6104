"""Prompt templates, rendered with Jinja2 (a missing variable is an error): the package's own in
chatbot/prompts/ (package data; the `prompts_dir` setting's default) or a store's own folder."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from chatbot.errors import SettingsError


@lru_cache(maxsize=8)
def _environment(prompts_dir: Path):  # noqa: ANN202 - jinja2 is imported lazily
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(prompts_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    environment.filters["possessive"] = possessive
    return environment


def possessive(name: str) -> str:
    """A name's possessive, for the templates' `{{ store_name | possessive }}`: a name ending in a
    plural's s takes only the apostrophe.

    >>> possessive("Maple & Moss"), possessive("Trailhead Outfitters")
    ("Maple & Moss's", "Trailhead Outfitters'")
    """
    return f"{name}'" if name.endswith("s") and not name.endswith("ss") else f"{name}'s"


def render_prompt(prompts_dir: str | Path, name: str, **values: Any) -> str:
    """Render `<name>.j2` from `prompts_dir` with `values`; raise SettingsError for a missing file or variable.

    >>> from chatbot.settings import Settings
    >>> render_prompt(Settings().prompts_dir, "handoff", store_name="Shop", support_contact="x@y.z").split(".")[0]
    'I have passed this conversation to a member of the Shop support team, who will get back to you'
    """
    import jinja2

    try:
        template = _environment(Path(prompts_dir).resolve()).get_template(f"{name}.j2")
        return template.render(**values).strip()
    except jinja2.TemplateNotFound as error:
        raise SettingsError(f"Prompt template {name}.j2 not found in {prompts_dir}.") from error
    except jinja2.UndefinedError as error:
        raise SettingsError(f"Prompt template {name}.j2: {error.message}.") from error
