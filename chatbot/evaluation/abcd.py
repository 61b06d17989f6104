"""Turn ASAPP's ABCD store guidelines (../shared/benchmarks/abcd) into a knowledge-base folder:
one document per subflow, titled "Flow / Subflow", for the agent-assist panel's procedures."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from chatbot.errors import EvalSetError
from chatbot.settings import REPO_ROOT

DEFAULT_SOURCE = REPO_ROOT.parent / "shared" / "benchmarks" / "abcd" / "guidelines.json"

# Sibling procedures share most of their steps and differ in a title and a sentence, so each
# document signal is standardised over the candidates before it is weighed (see knowledge/retrieval.py).
# On the demo store's articles the default "weighted" fusion stays slightly better.
RETRIEVAL_SETTINGS = """\
fusion = "standardised"
dense_weight = 0.7
title_weight = 0.35
document_weight = 0.5
"""


@dataclass(frozen=True)
class AbcdImport:
    documents: int
    kb_dir: Path
    settings_path: Path


def import_abcd(source: str | Path, out_dir: str | Path) -> AbcdImport:
    """Write `out_dir/kb/<flow>--<subflow>.md` for every subflow and `out_dir/settings.toml`."""
    source, out_dir = Path(source), Path(out_dir)
    try:
        flows = json.loads(source.read_text(encoding="utf-8"))
        subflows = [(flow, name, body) for flow, data in flows.items() for name, body in data["subflows"].items()]
    except (OSError, ValueError, KeyError, AttributeError) as error:
        raise EvalSetError(f"Cannot read the ABCD guidelines {source}: {error}") from error
    kb_dir = out_dir / "kb"
    kb_dir.mkdir(parents=True, exist_ok=True)
    for old in kb_dir.glob("*.md"):
        old.unlink()
    for flow, name, body in subflows:
        doc_id = f"{slug(flow)}--{slug(name)}"
        (kb_dir / f"{doc_id}.md").write_text(subflow_markdown(doc_id, flow, name, body), encoding="utf-8")
    settings_path = out_dir / "settings.toml"
    settings_path.write_text(
        "# Written by `python -m chatbot import-abcd`.\n"
        'store_name = "ABCD clothing store"\n'
        'support_contact = "the support team"\n'
        f"kb_dir = {json.dumps(str(kb_dir.resolve()))}\n"
        f"index_dir = {json.dumps(str((out_dir / 'index').resolve()))}\n"
        f"{RETRIEVAL_SETTINGS}",
        encoding="utf-8",
    )
    return AbcdImport(len(subflows), kb_dir, settings_path)


def slug(text: str) -> str:
    """A file-name-safe id.

    >>> slug("Single-Item Query")
    'single-item-query'
    """
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def subflow_markdown(doc_id: str, flow: str, name: str, body: dict) -> str:
    """A subflow as markdown: the instructions (when it applies), then each step with its notes.

    The flow's one-line description is left out: every sibling subflow would carry the same
    words, which makes their opening passages look alike; the title already names the flow.

    >>> print(subflow_markdown("a--b", "Order Issue", "Manage Cancel",
    ...       {"instructions": ["Cancel it"], "actions": [{"text": "Verify", "subtext": ["Order ID"]}]}))
    ---
    id: "a--b"
    title: "Order Issue / Manage Cancel"
    ---
    # Order Issue / Manage Cancel
    <BLANKLINE>
    Cancel it
    <BLANKLINE>
    ## Steps
    <BLANKLINE>
    1. Verify
       - Order ID
    <BLANKLINE>
    """
    title = f"{flow} / {name}"
    lines = ["---", f"id: {json.dumps(doc_id)}", f"title: {json.dumps(title)}", "---", f"# {title}", ""]
    lines += [*(str(i) for i in body.get("instructions", [])), ""]
    lines += ["## Steps", ""]
    for number, action in enumerate(body.get("actions", []), 1):
        lines.append(f"{number}. {action.get('text', '')}")
        lines += [f"   - {note}" for note in action.get("subtext", [])]
    return "\n".join(lines) + "\n"
