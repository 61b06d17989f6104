"""Turn the public WixQA sample into a knowledge-base folder, an eval set and a settings file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from chatbot.errors import EvalSetError
from chatbot.settings import REPO_ROOT

DEFAULT_SOURCE = REPO_ROOT.parent / "shared" / "benchmarks" / "wixqa" / "wixqa_public_rag_sample.jsonl"
# The reference figures were measured on ~800-character chunks.
PASSAGE_CHARS = 800


@dataclass(frozen=True)
class WixQAImport:
    articles: int
    questions: int
    held_out: int
    kb_dir: Path
    questions_path: Path
    settings_path: Path


def import_wixqa(source: str | Path, out_dir: str | Path, holdout: int = 0, leave_out_every: int = 0) -> WixQAImport:
    """Write `out_dir/kb/<article>.md` (front matter id and title), `questions.jsonl` and `settings.toml`.

    Two ways to make unanswerable questions, which the bot should hand to a person rather than
    answer from the other articles. With `holdout` N, the gold articles of N questions (ones
    whose articles answer no other question) are left out. With `leave_out_every` K, every K-th
    article (sorted by id) is left out, and a question whose gold articles are all left out is
    unanswerable; one that keeps some of them stays answerable from those.
    """
    source, out_dir = Path(source), Path(out_dir)
    rows = _read_rows(source)
    articles: dict[str, dict[str, str]] = {}
    for row in rows:
        for context in row.get("contexts", []):
            articles.setdefault(str(context["id"]), context)
    held_out_questions = _pick_holdout(rows, holdout)
    dropped = {a for i in held_out_questions for a in rows[i]["article_ids"]}
    if leave_out_every > 0:
        dropped |= set(sorted(articles)[leave_out_every - 1 :: leave_out_every])
        held_out_questions |= {i for i, row in enumerate(rows) if set(map(str, row["article_ids"])) <= dropped}

    kb_dir = out_dir / "kb"
    kb_dir.mkdir(parents=True, exist_ok=True)
    for old in kb_dir.glob("*.md"):
        old.unlink()  # a previous import with another holdout must not leave its articles behind
    for article_id, context in articles.items():
        if article_id not in dropped:
            (kb_dir / f"{article_id}.md").write_text(article_markdown(article_id, context["text"]), encoding="utf-8")

    questions_path = out_dir / "questions.jsonl"
    with open(questions_path, "w", encoding="utf-8") as handle:
        for i, row in enumerate(rows):
            answerable = i not in held_out_questions
            case = {
                "question": row["question"],
                "expected": [a for a in map(str, row["article_ids"]) if a not in dropped] if answerable else [],
                "answerable": answerable,
                "reference": row.get("answer") or None,
                "id": row.get("id"),
            }
            handle.write(json.dumps(case, ensure_ascii=False) + "\n")

    settings_path = out_dir / "settings.toml"
    settings_path.write_text(
        "# Written by `python -m chatbot import-wixqa`.\n"
        'store_name = "Wix"\n'
        'support_contact = "Wix Customer Care"\n'
        f"kb_dir = {json.dumps(str(kb_dir.resolve()))}\n"
        f"index_dir = {json.dumps(str((out_dir / 'index').resolve()))}\n"
        f"passage_chars = {PASSAGE_CHARS}\n",
        encoding="utf-8",
    )
    return WixQAImport(len(articles) - len(dropped), len(rows), len(held_out_questions), kb_dir, questions_path, settings_path)


def article_markdown(article_id: str, text: str) -> str:
    """An article as markdown: its first line is the title, the rest the body.

    >>> print(article_markdown("ab12", "Connecting a Domain\\nGo to Domains."))
    ---
    id: "ab12"
    title: "Connecting a Domain"
    ---
    # Connecting a Domain
    <BLANKLINE>
    Go to Domains.
    <BLANKLINE>
    """
    title, _, body = text.strip().partition("\n")
    title = " ".join(title.split())
    body = body.replace("\u00a0", " ").strip()
    return f"---\nid: {json.dumps(article_id)}\ntitle: {json.dumps(title, ensure_ascii=False)}\n---\n# {title}\n\n{body}\n"


def _read_rows(source: Path) -> list[dict]:
    try:
        rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, ValueError) as error:
        raise EvalSetError(f"Cannot read the WixQA sample {source}: {error}") from error
    for number, row in enumerate(rows, 1):
        if not {"question", "article_ids", "contexts"} <= row.keys():
            raise EvalSetError(f"{source}, line {number}: expected question, article_ids and contexts.")
    return rows


def _pick_holdout(rows: list[dict], count: int) -> set[int]:
    """Every k-th question whose gold articles are gold for no other question, `count` of them."""
    if count <= 0:
        return set()
    uses: dict[str, int] = {}
    for row in rows:
        for article in set(row["article_ids"]):
            uses[article] = uses.get(article, 0) + 1
    eligible = [i for i, row in enumerate(rows) if all(uses[a] == 1 for a in row["article_ids"])]
    if count > len(eligible):
        raise EvalSetError(f"Only {len(eligible)} questions can be held out without affecting others; asked for {count}.")
    step = len(eligible) / count
    return {eligible[int(j * step)] for j in range(count)}
