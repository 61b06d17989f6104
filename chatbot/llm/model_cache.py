"""A model read from a GGUF file, kept converted: its config, tokenizer and fp32 weights saved as a
transformers folder (safetensors) the first time, and loaded from there after. transformers
parses a GGUF file three times (config, tokenizer, weights) and maps its tensor names each time:
the bundled SmolLM2 took 26.6-27.3 s to load that way and 0.4 s from the folder, with the same
weights, tokenizer, chat template and logits bit for bit (docs/speed-log.md). The folder takes
about 520 MB (the weights in fp32, as transformers dequantizes them).

The folder is named by the GGUF file's path, size and modification time and by transformers'
version, under the `model_cache_dir` setting (~/.cache/chatbot-models; "" keeps nothing). It
names its GGUF file (source.json), and when a folder is kept, the others that no file would load
any more are removed (`prune`): each new install of the app (a new .venv) left another 520 MB."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
LAYOUT = 1  # raised when what is saved changes, so that older folders are not read
SOURCE = "source.json"  # in a kept folder: {"gguf": the GGUF file's path}


def converted_folder(source: str, gguf: str | None, cache_dir: str) -> Path | None:
    """Where the conversion of `source`/`gguf` is kept (it may not exist yet); None where the model
    is not a GGUF file, nothing is kept or the file cannot be found."""
    if not gguf or not cache_dir:
        return None
    import transformers

    path = Path(source, gguf)
    try:
        found = path.resolve().stat()
    except OSError:
        return None
    name = f"{path.resolve()}|{found.st_size}|{found.st_mtime_ns}|{transformers.__version__}|{LAYOUT}"
    tag = hashlib.sha256(name.encode()).hexdigest()[:16]
    return Path(cache_dir).expanduser() / f"{path.stem}-{tag}"


def is_kept(folder: Path | None) -> bool:
    return folder is not None and (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()


def forget(folder: Path) -> None:
    """Remove a kept folder that could not be loaded, so that the next load keeps a new one."""
    log.warning("The converted model in %s could not be loaded; it is read from its GGUF file again.", folder)
    shutil.rmtree(folder, ignore_errors=True)


def keep(model: Any, tokenizer: Any, folder: Path, gguf: Path) -> None:
    """Save `model` (fp32, as loaded from the file `gguf`) and `tokenizer` into `folder`, whole or
    not at all, then prune the folders beside it; where saving fails (a full disk, say), a
    warning: the model loaded is used as it is."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder.parent) as scratch:
            # transformers refuses to save a model its GGUF loader marked; the weights are plain fp32.
            loader = getattr(model, "hf_quantizer", None)
            model.hf_quantizer = None
            try:
                model.save_pretrained(scratch)
            finally:
                model.hf_quantizer = loader
            tokenizer.save_pretrained(scratch)
            config_file = Path(scratch) / "config.json"
            config = json.loads(config_file.read_text(encoding="utf-8"))
            config.pop("quantization_config", None)  # the folder's weights are not GGUF's
            config_file.write_text(json.dumps(config, indent=2), encoding="utf-8")
            (Path(scratch) / SOURCE).write_text(json.dumps({"gguf": str(gguf.resolve())}), encoding="utf-8")
            if is_kept(folder):  # another process kept it meanwhile
                return
            Path(scratch).replace(folder)  # whole, for another process loading it at the same time
            Path(scratch).mkdir()  # for TemporaryDirectory's clean-up
    except OSError as error:
        log.warning("The model loaded from its GGUF file could not be kept converted in %s: %s", folder, error)
        return
    prune(folder)


def prune(kept: Path) -> None:
    """Remove the folders beside `kept` that no GGUF file would load any more: their file is gone
    or has changed, or transformers or LAYOUT has moved on. Only folders that name their file
    are judged; others (kept before source.json, or not this module's) are left alone."""
    for folder in kept.parent.iterdir():
        try:
            gguf = Path(json.loads((folder / SOURCE).read_text(encoding="utf-8"))["gguf"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if folder != kept and converted_folder(str(gguf.parent), gguf.name, str(kept.parent)) != folder:
            log.info("Removing %s: the GGUF file %s would not load it any more.", folder, gguf)
            shutil.rmtree(folder, ignore_errors=True)
