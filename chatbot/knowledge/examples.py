"""Labelled example files (TOML), shared by the topic guard and the ticket triage: tables of
labels with example messages, and a [patterns] table of regexes that decide a label alone."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from chatbot.errors import SettingsError

Pattern = tuple[str, str, re.Pattern[str]]  # (group, label, regex)


def read_examples(path: str | Path, what: str) -> tuple[dict[str, Any], list[Pattern]]:
    """The example tables of `path` and its patterns (compiled, case-insensitive, in file order);
    a SettingsError naming `what` ("topic examples") when the file or a regex cannot be read."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        patterns = [
            (group, label, re.compile(pattern, re.IGNORECASE))
            for group, labels in data.pop("patterns", {}).items()
            for label, texts in labels.items()
            for pattern in texts
        ]
    except (OSError, tomllib.TOMLDecodeError, re.error) as error:
        raise SettingsError(f"Cannot read the {what} {path}: {error}") from error
    return data, patterns
