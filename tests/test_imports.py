"""The package's import graph reads top-down: no cycle, no hidden edges (an import of the
package's own modules inside a function), and the build path never loads the HTTP stack or
the citation formatters."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "surveybib"
DATA = Path(__file__).resolve().parent / "data"
# Third-party modules heavy enough to import only where they are used (each costs tens of
# milliseconds, and a build with nothing to fetch or format needs none of the first five).
LAZY = frozenset({"requests", "urllib3", "pybtex", "citeproc", "regex", "jinja2", "pypinyin",
                  "bibtexparser", "markdown_it", "nh3", "markupsafe"})
# Parts of surveybib that a build needs only when the survey asks for them, with what
# they pull in (the paper explorer: markdown-it, nh3, hashlib's OpenSSL).
OPTIONAL = frozenset({"surveybib.site"})


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking(node: ast.If) -> bool:
    return getattr(node.test, "id", "") == "TYPE_CHECKING"


def _imports(tree: ast.Module) -> list[tuple[ast.stmt, bool]]:
    """Every import statement and whether it sits inside a function (TYPE_CHECKING blocks,
    which never run, are left out)."""
    found: list[tuple[ast.stmt, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.append((child, in_function))
            visit(child, in_function or isinstance(child, ast.FunctionDef
                                                   | ast.AsyncFunctionDef))

    visit(tree, False)
    return found


def _targets(node: ast.stmt, importer: str) -> list[str]:
    """The surveybib modules an import statement in `importer` loads, with the packages
    above each that are not yet running (importing `a.b.c` from outside `a.b` runs
    `a/b/__init__` first)."""
    if isinstance(node, ast.Import):
        named = [a.name for a in node.names if a.name in MODULES]
    else:
        assert isinstance(node, ast.ImportFrom)
        base = node.module or ""
        named = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES]
        named = named or ([base] if base in MODULES else [])
    parents = [name.rsplit(".", depth)[0] for name in named
               for depth in range(1, name.count(".") + 1)]
    return [*named, *(p for p in parents
                      if p in MODULES and p != importer and not importer.startswith(p + "."))]


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[name] = {t for node, _ in _imports(tree) for t in _targets(node, name)} - {name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle, as the modules along it, or [] when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := walk(nxt)):
                return found
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (found := walk(node)):
            return found
    return []


def test_the_walk_finds_a_cycle_when_there_is_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []


def test_a_submodule_import_runs_its_package_first() -> None:
    """`from surveybib.scaffold.text import x` outside the scaffold package runs
    scaffold/__init__ first: a cycle through a package's __init__ is a cycle."""
    node = ast.parse("from surveybib.scaffold.text import render").body[0]
    assert set(_targets(node, "surveybib.issueform")) == {"surveybib.scaffold.text",
                                                          "surveybib.scaffold"}
    assert _targets(node, "surveybib.scaffold.files") == ["surveybib.scaffold.text"]


def test_no_import_cycle() -> None:
    graph = _graph()
    assert len(graph) > 40 and "surveybib.export.formatted" in graph["surveybib.export"]
    assert _cycle(graph) == []


def test_function_local_imports_are_only_for_heavy_third_party_modules() -> None:
    hidden = []
    for name, path in MODULES.items():
        for node, in_function in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if not in_function:
                continue
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [getattr(node, "module", "") or ""]
            hidden += [f"{name}:{node.lineno} {n}" for n in names
                       if n.split(".")[0] not in LAZY
                       and not any(n == o or n.startswith(f"{o}.") for o in OPTIONAL)]
    assert hidden == []


def test_an_offline_build_loads_no_http_stack_or_formatter(tmp_path: Path) -> None:
    """Nor bibtexparser (a well-formed survey.bib takes the fast split), the `regex`
    package (anchors known to this Python's Unicode tables) or the paper explorer."""
    survey = shutil.copytree(DATA / "taxonomy", tmp_path / "survey")
    code = ("import sys\n"
            "from surveybib.cli import main\n"
            "try:\n"
            f"    main(['-q', '-C', {str(survey)!r}, 'build'])\n"
            "except SystemExit as exc:\n"
            "    assert not exc.code, exc.code\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'requests', 'urllib3', "
            "'pybtex', 'citeproc', 'bibtexparser', 'regex'} | "
            "({'surveybib.site'} & set(sys.modules))))\n")
    env = {**os.environ, "PYTHONPATH": str(SRC), "SURVEYBIB_OFFLINE": "1",
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
    assert (survey / "README.md").is_file()
