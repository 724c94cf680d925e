"""The shape of the code, read from its imports: no import cycle in lab/, and the page modules never import each
other (they talk through ``lab.ui.session``). Function-level imports count; imports under ``if TYPE_CHECKING:``
do not, since they never run."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / "lab"

# One module per part of the page: what st.navigation shows.
PAGES = {"lab.ui.dataset", "lab.ui.architecture", "lab.ui.padding", "lab.ui.training", "lab.ui.runs",
         "lab.ui.predict", "lab.ui.samples"}
# What the pages share: the session's state and drawing helpers. Any of them may be imported by a page.
SHARED = {"lab.ui", "lab.ui.session", "lab.ui.autosave", "lab.ui.data_folders", "lab.ui.widgets", "lab.ui.charts",
          "lab.ui.tf_loader", "lab.ui.inside", "lab.ui.guides", "lab.ui.model_cache", "lab.ui.identity",
          "lab.ui.familiarity_view", "lab.ui.webcam", "lab.ui.recording"}


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_nodes(tree: ast.AST):
    """Every node of the tree, leaving out the bodies of ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and _type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def imports_of(path: Path, known: set[str], root: Path = ROOT) -> set[str]:
    """The lab modules that ``path`` imports, at any level of its code."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            # `from lab.ui import session` imports the module lab.ui.session; `from lab.spec import check` lab.spec
            targets = [f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in known else origin
                       for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    files = sorted(LAB.rglob("*.py"))
    known = {module_name(path) for path in files}
    return {module_name(path): imports_of(path, known) for path in files}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


def test_the_reader_finds_module_and_function_level_imports(tmp_path):
    source = tmp_path / "lab" / "ui"
    source.mkdir(parents=True)
    page = source / "page.py"
    page.write_text("from typing import TYPE_CHECKING\nfrom lab.ui import session, widgets\n"
                    "from lab.spec import check\nif TYPE_CHECKING:\n    from lab.ui import other\n"
                    "def render():\n    from lab.ui import other\n    import lab.data.folders\n", encoding="utf-8")
    known = {"lab", "lab.spec", "lab.ui", "lab.ui.session", "lab.ui.widgets", "lab.ui.other", "lab.ui.page",
             "lab.data", "lab.data.folders"}
    assert imports_of(page, known, root=tmp_path) == {"lab.ui.session", "lab.ui.widgets", "lab.spec", "lab.ui.other",
                                                      "lab.data.folders"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_lab_has_no_import_cycle():
    found = cycles(import_graph())
    assert found == [], "import cycles in lab/: " + "; ".join(" ↔ ".join(group) for group in found)


def test_every_ui_module_is_a_page_or_shared():
    ui = {name for name in import_graph() if name == "lab.ui" or name.startswith("lab.ui.")}
    assert ui == PAGES | SHARED, f"classify {sorted(ui - PAGES - SHARED)} in tests/test_structure.py"


def test_pages_never_import_each_other_and_only_the_entry_imports_them():
    graph = import_graph()
    wrong = sorted(f"{importer} imports {page}" for importer, targets in graph.items() for page in targets & PAGES)
    assert wrong == [], "pages talk through lab.ui.session, never by importing a page: " + "; ".join(wrong)


def test_the_entry_registers_every_page():
    tree = ast.parse((ROOT / "streamlit_app.py").read_text(encoding="utf-8"))
    imported = {f"lab.ui.{alias.name}" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                and node.module == "lab.ui" for alias in node.names}
    assert PAGES <= imported
