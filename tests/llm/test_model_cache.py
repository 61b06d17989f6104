"""The folders of converted GGUF models (model_cache.py): each names its file, and keeping one
removes those that no file would load any more, never a folder that does not name its file."""

from __future__ import annotations

import json
import os
from pathlib import Path

from chatbot.llm.model_cache import SOURCE, converted_folder, prune


def kept_for(gguf: Path, cache_dir: Path) -> Path:
    """A folder as keep() leaves it for `gguf` (its weights stand-ins)."""
    folder = converted_folder(str(gguf.parent), gguf.name, str(cache_dir))
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"weights")
    (folder / SOURCE).write_text(json.dumps({"gguf": str(gguf.resolve())}))
    return folder


def test_keeping_a_folder_removes_those_whose_file_is_gone_or_changed_and_leaves_the_rest(tmp_path: Path) -> None:
    cache, files = tmp_path / "cache", tmp_path / "models"
    files.mkdir()
    for name in ("new.gguf", "other.gguf", "gone.gguf", "changed.gguf"):
        (files / name).write_bytes(b"GGUF" + name.encode())
    new, other, gone, changed = (kept_for(files / name, cache)
                                 for name in ("new.gguf", "other.gguf", "gone.gguf", "changed.gguf"))
    (files / "gone.gguf").unlink()  # a .venv removed, and the file with it
    stat = (files / "changed.gguf").stat()
    os.utime(files / "changed.gguf", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # installed again
    unnamed = cache / "SmolLM2-135M-Instruct.Q4_1-0123456789abcdef"  # kept before folders named their file
    unnamed.mkdir()
    (unnamed / "config.json").write_text("{}")
    (unnamed / "model.safetensors").write_bytes(b"weights")
    broken = cache / "broken"
    broken.mkdir()
    (broken / SOURCE).write_text("not json")
    prune(new)
    assert sorted(p.name for p in cache.iterdir()) == sorted([new.name, other.name, unnamed.name, broken.name])
    assert not gone.exists() and not changed.exists()
