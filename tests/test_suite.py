"""The test suite's own promises: everything it reads is in the repository with its source
named (tests/data/SOURCES.md), and a run leaves nothing in the user's home."""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA, Cli


def _named_in_sources() -> list[str]:
    return re.findall(r"`([^`\s]+)`", (DATA / "SOURCES.md").read_text(encoding="utf-8"))


def _is_named(relative: str, names: list[str]) -> bool:
    return any(relative.startswith(n) if n.endswith("/") else fnmatch.fnmatch(relative, n)
               for n in names)


def test_every_data_file_has_its_source_named() -> None:
    names = _named_in_sources()
    files = [p.relative_to(DATA).as_posix() for p in sorted(DATA.rglob("*")) if p.is_file()]
    unnamed = [f for f in files if f != "SOURCES.md" and not _is_named(f, names)]
    assert unnamed == [], "name these in tests/data/SOURCES.md (source, path, commit, licence)"
    licences = [n for n in names if n.startswith("LICENSES/") and n != "LICENSES/"]
    assert licences and all((DATA / n).is_file() for n in licences)


def test_caches_and_home_are_temporary(cli: Cli, tmp_path: Path,
                                       tmp_path_factory: pytest.TempPathFactory) -> None:
    """A build writes its template cache (jinja bytecode) under XDG_CACHE_HOME, which the
    session points into pytest's temporary folder, as it does HOME, for this process and
    every subprocess a test starts."""
    base = tmp_path_factory.getbasetemp()
    cache = Path(os.environ["XDG_CACHE_HOME"])
    assert cache.is_relative_to(base) and Path.home().is_relative_to(base)
    (tmp_path / "survey.bib").write_text("@misc{a, title = {A}}\n", encoding="utf-8")
    assert cli("build").exit_code == 0
    assert [p for p in (cache / "surveybib").rglob("*") if p.is_file()]
    child = subprocess.run([sys.executable, "-c", "import os; print(os.path.expanduser('~'))"],
                           capture_output=True, text=True, check=True)
    assert Path(child.stdout.strip()).is_relative_to(base)
