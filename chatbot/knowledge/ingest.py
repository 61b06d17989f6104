"""Read a knowledge-base folder (Markdown, text, HTML, CSV/JSONL FAQ tables) into passages."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from chatbot.errors import KnowledgeBaseError
from chatbot.text.words import has_han
from chatbot.values import Passage

MARKDOWN = {".md", ".markdown"}
TEXT = {".txt"}
HTML = {".html", ".htm"}
TABLES = {".csv", ".jsonl"}
SUPPORTED = MARKDOWN | TEXT | HTML | TABLES

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.DOTALL)


@dataclass(frozen=True)
class Skipped:
    """A file that was not ingested, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class KnowledgeBase:
    passages: list[Passage]
    skipped: list[Skipped]


def read_knowledge_base(kb_dir: str | Path, passage_chars: int = 900) -> KnowledgeBase:
    """Read every supported file below `kb_dir` into passages.

    A file that cannot be read (not UTF-8, broken front matter, no question/answer columns) is
    listed in `skipped` with the reason and does not stop the others. Hidden files are ignored.
    """
    root = Path(kb_dir)
    if not root.is_dir():
        raise KnowledgeBaseError(f"Knowledge base folder not found: {root}. Pass --kb DIR or set CHATBOT_KB_DIR.")
    passages: list[Passage] = []
    skipped: list[Skipped] = []
    seen_docs: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or any(part.startswith(".") for part in relative.parts):
            continue
        if path.suffix.lower() not in SUPPORTED:
            skipped.append(Skipped(str(relative), f"unsupported file type {path.suffix or '(none)'}"))
            continue
        try:
            text = path.read_text(encoding="utf-8")
            found = list(_read_file(path, relative, text, passage_chars))
        except UnicodeDecodeError as error:
            skipped.append(Skipped(str(relative), f"not valid UTF-8 ({error.reason} at byte {error.start})"))
            continue
        except (OSError, ValueError, yaml.YAMLError, csv.Error) as error:
            skipped.append(Skipped(str(relative), str(error).splitlines()[0] if str(error) else type(error).__name__))
            continue
        if not found:
            skipped.append(Skipped(str(relative), "no text found"))
            continue
        clash = {p.doc_id for p in found} & seen_docs.keys()
        if clash:
            doc = sorted(clash)[0]
            skipped.append(Skipped(str(relative), f"document id {doc!r} already used by {seen_docs[doc]}"))
            continue
        seen_docs.update({p.doc_id: str(relative) for p in found})
        passages.extend(found)
    return KnowledgeBase(passages, skipped)


def _read_file(path: Path, relative: Path, text: str, passage_chars: int) -> Iterator[Passage]:
    default_id = relative.with_suffix("").as_posix()
    suffix = path.suffix.lower()
    if suffix in TABLES:
        yield from _faq_passages(text, suffix, default_id, str(relative))
        return
    meta: dict = {}
    if suffix in HTML:
        title, text = _html_to_markdown(text)
        meta = {"title": title} if title else {}
    elif suffix in MARKDOWN:
        meta, text = _split_front_matter(text)
    text = _tables_as_sentences(text)
    doc_id = str(meta.get("id") or default_id)
    sections = list(_sections(text))
    title = str(meta.get("title") or _first_heading(sections) or _humanise(path.stem))
    yield from _chunk_sections(sections, doc_id, title, str(relative), passage_chars)


_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")


def _tables_as_sentences(text: str) -> str:
    """Each Markdown table row as a sentence of its own (`row_sentence`), so that an answer can
    quote the row and a search can find it; other lines unchanged.

    >>> print(_tables_as_sentences("Costs:\\n\\n| Destination | Standard | Express |\\n|---|---|---|\\n| Ireland | €3.95 | €6.95 |\\n"))
    Costs:
    <BLANKLINE>
    Ireland: Standard €3.95; Express €6.95.
    <BLANKLINE>
    """
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        if _TABLE_ROW.match(lines[i]) and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1]):
            header = _cells(lines[i])
            i += 2
            while i < len(lines) and _TABLE_ROW.match(lines[i]):
                out.append(row_sentence(header, _cells(lines[i])))
                i += 1
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def row_sentence(header: list[str], cells: list[str]) -> str:
    """A table row as a sentence: its first cell, then each other cell after its column's heading
    (with two columns, the cell alone); empty cells and dashes left out.

    >>> row_sentence(["Day", "Store", "Workshop"], ["Monday", "Closed", "08:30-17:30"])
    'Monday: Store Closed; Workshop 08:30-17:30.'
    >>> row_sentence(["Day", "Hours"], ["Saturday", "9:00-17:00"])
    'Saturday: 9:00-17:00.'
    >>> row_sentence(["地区", "运费", "时效"], ["港澳台", "¥30", "3-5天"])
    '港澳台：运费 ¥30；时效 3-5天。'
    """
    cells = [cell.strip() for cell in cells]
    first, rest = (cells[0], cells[1:]) if cells else ("", [])
    named = [(header[i + 1] if len(header) > 2 and i + 1 < len(header) else "", cell) for i, cell in enumerate(rest)]
    chinese = has_han(" ".join(cells))
    colon, semicolon, stop = ("：", "；", "。") if chinese else (": ", "; ", ".")
    said = semicolon.join(f"{name} {cell}".strip() for name, cell in named if cell and cell not in ("-", "–", "—"))
    sentence = f"{first}{colon}{said}" if first and said else first or said
    return sentence if sentence.endswith((".", "!", "?", "。", "！", "？")) else f"{sentence}{stop}"


def _split_front_matter(text: str) -> tuple[dict, str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    meta = yaml.safe_load(match.group(1)) or {}
    if not isinstance(meta, dict):
        raise ValueError("front matter is not a YAML mapping")
    return meta, text[match.end():]


def _sections(text: str) -> Iterator[tuple[tuple[str, ...], str]]:
    """Yield (heading path, body) for each heading's own text, in document order."""
    path: list[tuple[int, str]] = []
    body: list[str] = []

    def flush() -> Iterator[tuple[tuple[str, ...], str]]:
        joined = "\n".join(body).strip()
        if joined:
            yield tuple(h for _, h in path), joined
        body.clear()

    in_code = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
        match = None if in_code else _HEADING.match(line)
        if match:
            yield from flush()
            level = len(match.group(1))
            path = [(lvl, h) for lvl, h in path if lvl < level] + [(level, match.group(2).strip())]
        else:
            body.append(line)
    yield from flush()


def _first_heading(sections: list[tuple[tuple[str, ...], str]]) -> str | None:
    return sections[0][0][0] if sections and sections[0][0] else None


def _chunk_sections(
    sections: Iterable[tuple[tuple[str, ...], str]], doc_id: str, title: str, source: str, passage_chars: int
) -> Iterator[Passage]:
    used: dict[str, int] = {}
    for headings, body in sections:
        # The document title is carried separately; drop it from the heading path.
        headings = headings[1:] if headings and headings[0] == title else headings
        base = f"{doc_id}#{_slug(headings[-1])}" if headings else doc_id
        for part in split_text(body, passage_chars):
            used[base] = used.get(base, 0) + 1
            passage_id = base if used[base] == 1 else f"{base}-{used[base]}"
            yield Passage(id=passage_id, doc_id=doc_id, title=title, text=part, source=source, headings=headings)


def split_text(text: str, max_chars: int) -> list[str]:
    """Split text at paragraph, then sentence, boundaries into pieces of at most about `max_chars`.

    >>> split_text("One. Two.\\n\\nThree.", 12)
    ['One. Two.', 'Three.']
    """
    pieces: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        paragraph = paragraph.strip()
        if len(paragraph) <= max_chars:
            pieces.append(paragraph)
            continue
        sentences = re.split(r"(?<=[.!?])\s+", paragraph)
        pieces.extend(s[i : i + max_chars] for s in sentences for i in range(0, len(s), max_chars))
    merged: list[str] = []
    for piece in filter(None, pieces):
        if merged and len(merged[-1]) + len(piece) + 2 <= max_chars:
            merged[-1] = f"{merged[-1]}\n\n{piece}"
        else:
            merged.append(piece)
    return merged


def _faq_passages(text: str, suffix: str, default_id: str, source: str) -> Iterator[Passage]:
    if suffix == ".csv":
        rows = list(csv.DictReader(io.StringIO(text)))
    else:
        rows = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as error:
                    raise ValueError(f"line {number} is not valid JSON: {error.msg}") from error
    if not rows:
        return
    columns = {key.strip().lower(): key for key in rows[0] if isinstance(key, str)}
    if "question" not in columns or "answer" not in columns:
        raise ValueError(f"an FAQ table needs 'question' and 'answer' columns, found: {', '.join(columns)}")
    for number, row in enumerate(rows, 1):
        question = str(row.get(columns["question"]) or "").strip()
        answer = str(row.get(columns["answer"]) or "").strip()
        if not question or not answer:
            continue
        row_id = str(row.get(columns["id"]) or "").strip() if "id" in columns else ""
        doc_id = row_id or f"{default_id}/{number}"
        yield Passage(id=doc_id, doc_id=doc_id, title=question, text=answer, source=source)


def _html_to_markdown(html: str) -> tuple[str, str]:
    """Keep an HTML page's headings and text blocks, as Markdown lines; return (title, text)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(["script", "style", "nav", "header", "footer", "noscript", "template", "title"]):
        tag.decompose()
    for table in soup.find_all("table"):  # each row a sentence, as for a Markdown table
        rows = [[" ".join(cell.get_text(" ", strip=True).split()) for cell in row.find_all(["td", "th"])]
                for row in table.find_all("tr")]
        rows = [row for row in rows if any(row)]
        has_header = bool(table.find("th")) and len(rows) > 1
        header, body = (rows[0], rows[1:]) if has_header else ([], rows)
        replacement = soup.new_tag("div")
        for row in body:
            line = soup.new_tag("p")
            line.string = row_sentence(header, row)
            replacement.append(line)
        table.replace_with(replacement)
    lines: list[str] = []
    blocks = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "dt", "dd", "td", "th", "pre", "blockquote"]
    for element in soup.find_all(blocks):
        if element.find_parent(blocks):
            continue
        text = " ".join(element.get_text(" ", strip=True).split())
        if not text:
            continue
        if element.name[0] == "h" and element.name[1:].isdigit():
            lines.append(f"\n{'#' * int(element.name[1:])} {text}\n")
        else:
            lines.append(f"{'- ' if element.name == 'li' else ''}{text}\n")
    if not lines:
        lines = [soup.get_text("\n", strip=True)]
    return title, "\n".join(lines)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def _humanise(stem: str) -> str:
    return re.sub(r"[-_]+", " ", stem).strip().capitalize()
