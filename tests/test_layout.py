"""The package's shape: no import cycles (counting imports inside functions, so none can hide one),
each subpackage importing only the rooms its __init__ names, and gradio only in the web layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "chatbot"

# What each room may import of chatbot's own (besides itself); as each __init__ docstring says.
ALLOWED = {
    "values": set(),
    "errors": set(),
    "text": {"values"},
    "llm": {"errors"},
    "settings": {"errors", "llm"},
    "database": {"errors"},
    "openmp": set(),
    "knowledge": {"errors", "values", "settings", "openmp", "llm", "text"},
    "orders": {"database", "errors", "values", "text"},
    "answer": {"errors", "values", "settings", "text", "knowledge", "llm", "orders"},
    "support": {"errors", "values", "database", "text", "knowledge", "llm", "orders", "answer"},
    "evaluation": {"errors", "values", "settings", "text", "knowledge", "answer"},
    "tickets": {"errors", "values", "settings", "text", "answer", "support"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """chatbot modules the file imports anywhere in it (top level or inside a function)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("chatbot"):
            candidates = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        found |= {name for name in candidates if name in modules}
    return found


def room(module: str) -> str:
    """The subpackage (or top-level module) a module belongs to: chatbot.llm.lean.decoder -> llm."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "chatbot"


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    files = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: imported_modules(path, set(files)) - {name} for name, path in files.items()}


def cycle_in(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as a list of modules, or [] when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node], _ = 1, path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (found := visit(target)):
                return found
        state[node], _ = 2, path.pop()
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_cycle_in_finds_a_cycle() -> None:
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle_in({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_itself_back(graph: dict[str, set[str]]) -> None:
    assert cycle_in(graph) == []


def test_each_room_imports_only_what_it_may(graph: dict[str, set[str]]) -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        if room(module) in ALLOWED
        for target in targets
        if room(target) != room(module) and room(target) not in ALLOWED[room(module)] | {"chatbot"}
    )
    assert wrong == []


def test_only_the_web_layer_imports_gradio() -> None:
    users = sorted(
        module_name(path)
        for path in PACKAGE.rglob("*.py")
        if any(
            (isinstance(node, ast.Import) and any(a.name.split(".")[0] == "gradio" for a in node.names))
            or (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "gradio")
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        )
    )
    assert users and all(name.startswith("chatbot.web.") for name in users)
