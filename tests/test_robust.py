"""Any input, any fault, hostile data: real corpora, property tests, kills, locks, hostile
keys and titles, broken templates. Everything goes through the real CLI."""

from __future__ import annotations

import fcntl
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli, corpus_files, corpus_path
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveybib.bibtex.parse import parse_bib
from surveybib.config import load_settings
from surveybib.readme import markdown, papers, render
from surveybib.readme.anchors import Slugger, heading_plain_text
from surveybib.survey import load_survey

SRC = Path(__file__).resolve().parents[1] / "src"
# An entry's opening, found without the parser: `@type{key` or `@type(key`.
ENTRY_START = re.compile(r"^[ \t]*@[ \t]*([A-Za-z_][\w-]*)[ \t]*[{(][ \t]*([^,\s{}()]*)", re.M)
# Files that are neither UTF-8 nor declare a coding line (SOURCES.md names them).
ENCODINGS = {"gbk_test.bib": "gbk"}


def _corpus_files() -> list[object]:
    return [pytest.param(n, id=re.sub(r"[^\w./-]", "_", n)[-60:]) for n in corpus_files()]


# ---------------------------------------------------------------- any input


@pytest.mark.corpora
@pytest.mark.parametrize("name", _corpus_files())
def test_every_corpus_file_builds_and_checks_and_loses_nothing(tmp_path: Path, name: str,
                                                               cli: Cli) -> None:
    """SURVEYBIB_CORPORA (../shared/corpora, sources in its SOURCES.md): no traceback, and
    every entry that the raw text opens is in README.md or named (by key or line) in a check
    finding."""
    source = corpus_path(name)
    shutil.copy(source, tmp_path / "survey.bib")
    options: list[str] = []
    result = cli("build")
    if source.name in ENCODINGS:
        assert result.exit_code == 1
        assert re.search(r"survey\.bib:\d+: not UTF-8 .* --encoding", result.stderr), result.stderr
        options = ["--encoding", ENCODINGS[source.name]]
        result = cli(*options, "build")
    assert result.exit_code == 0 or (
        result.exit_code == 1 and " missing from README.md: " in result.stderr), result.stderr
    assert "internal error" not in result.stderr
    result = cli(*options, "check", "--format", "json")
    assert result.exit_code in (0, 1), result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert "stale-output" not in {f["rule"] for f in findings}
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    survey = load_survey(load_settings(tmp_path), encoding=options[1] if options else None)
    shown = {e.key for e in survey.entries if markdown.md_text(papers.display_title(e)) in readme}
    named = {f["key"] for f in findings if f["key"]}
    lines = {f["line"] for f in findings if f["line"]}
    text = survey.source.text
    lost = []
    for match in ENTRY_START.finditer(text):
        if match.group(1).lower() in ("string", "comment", "preamble"):
            continue
        line = text.count("\n", 0, match.start()) + 1
        if match.group(2) not in shown | named and line not in lines:
            lost.append((line, match.group(2)))
    assert lost == []


@pytest.mark.parametrize(("data", "line"), [
    pytest.param(b"@misc{a, title={ok}}\n@misc{b, title={caf\xe9}}\n", 2, id="latin-1"),
    pytest.param(b"@misc{a,\n title={\xc4\xe3\xba\xc3}}\n", 2, id="gbk"),
])
def test_undecodable_input_names_line_and_option(tmp_path: Path, data: bytes, line: int,
                                                 cli: Cli) -> None:
    (tmp_path / "survey.bib").write_bytes(data)
    result = cli("check")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"surveybib: survey.bib:{line}: not UTF-8")
    assert "--encoding" in result.stderr
    assert "Traceback" not in result.stderr


_KEY = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
_JUNK = st.text(st.sampled_from(list("ab {}()@,=\"#%\n\\é")), max_size=40)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_KEY, _JUNK), min_size=1, max_size=6, unique_by=lambda t: t[0]))
def test_parser_never_crashes_nor_loses_a_well_formed_entry(
    items: list[tuple[str, str]]
) -> None:
    """Well-formed entries between arbitrary junk: each is parsed or named in a problem."""
    parts = []
    for key, junk in items:
        parts.append(junk)
        parts.append(f"\n@misc{{{key},\n  title = {{Title {key}}},\n}}\n")
    text = "".join(parts)
    parsed = parse_bib(text)
    keys = {e.key for e in parsed.entries}
    named = {p.key for p in parsed.problems} | {p.line for p in parsed.problems}
    for key, _ in items:
        line = text.count("\n", 0, text.index(f"@misc{{{key},")) + 1
        assert key in keys or key in named or line in named, (key, parsed.problems)


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_parser_never_crashes_on_arbitrary_text(text: str) -> None:
    parse_bib(text)
    parse_bib("@article{k, title = {" + text + "}}\n@misc{" + text + "}")


_TITLE = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30) | \
    st.text(st.sampled_from(list("<>[]()|`*_#!&$\\{}:/ aé漢")), min_size=1, max_size=30)


@settings(max_examples=50, deadline=None)
@given(st.lists(_TITLE, min_size=1, max_size=4))
def test_any_titles_give_resolving_links_and_four_column_rows(titles: list[str]) -> None:
    from surveybib.latex import escape_latex
    from surveybib.model import Entry

    entries = tuple(Entry(f"k{i}", "misc", (("title", escape_latex(t)), ("taxonomy", "A")),
                          line=i + 1) for i, t in enumerate(titles))
    env = render.make_environment(None)
    readme, _ = render.render_readme(env, entries=entries, notes={}, taxonomy=("A",),
                                     group_by="taxonomy", intro="", title="T", source="s.bib")
    assert_links_resolve(readme)
    rows = [line for line in readme.splitlines()
            if line.startswith("| ") and not line.startswith("| :---")]
    assert len(rows) == len(titles) + 1
    for row in rows:
        assert len(re.split(r"(?<!\\)\|", row)) == 6, row  # 4 cells between 5 bars


def assert_links_resolve(readme: str) -> None:
    slugger = Slugger()
    anchors = set()
    fence = False
    for line in readme.splitlines():
        if line.startswith("```"):
            fence = not fence
        match = re.match(r"^(#{1,6}) (.*)$", line)
        if match and not fence:
            anchors.add(slugger.slug(heading_plain_text(match.group(2))))
    targets = re.findall(r"\]\(#([^)]*)\)", readme)
    assert targets
    assert set(targets) <= anchors


# ---------------------------------------------------------------- hostile data


HOSTILE_TITLES = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "`code` and ``more``",
    "a | b | c",
    "![x](http://evil.example/pixel.png)",
]


def test_hostile_titles_authors_and_venues_render_inert(tmp_path: Path, cli: Cli) -> None:
    entries = []
    for i, title in enumerate(HOSTILE_TITLES):
        entries.append(f"@inproceedings{{h{i},\n  title = {{{title}}},\n  author = {{{title}}},\n"
                       f"  booktitle = {{{title}}},\n  year = {{2020}},\n  reader = {{{title}}},\n"
                       f"  taxonomy = {{Safe}},\n}}\n")
    entries.append("@misc{u, title = {Bad url}, url = {javascript:alert(1)}, taxonomy = {Safe}}\n")
    entries.append("@misc{d, title = {Bad doi}, doi = {10.1/x)](javascript:alert(1)<b>},"
                   " taxonomy = {Safe}}\n")
    (tmp_path / "survey.bib").write_text("".join(entries), encoding="utf-8")
    assert cli("build").exit_code == 0
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    for markup in ("<script", "<img", "<b>", "](javascript:", "![x](", "[click]"):
        assert not re.search(r"(?<!\\)" + re.escape(markup), readme), markup
    link_targets = re.findall(r"(?<!\\)\]\(([^)#][^)]*)\)", readme)
    assert link_targets  # the DOI link is there
    assert all(t.startswith(("https://", "http://")) for t in link_targets), link_targets
    assert_links_resolve(readme)
    for row in [r for r in readme.splitlines() if r.startswith("| ") and "---" not in r]:
        assert len(re.split(r"(?<!\\)\|", row)) == 6, row
    assert not re.search(r"(?<!\\)`code", readme)  # backticks escaped: no code span


HOSTILE_KEYS = ["../../etc/x", "/abs", "a/b", "con", "a\x00b", "..", ".hidden", "NUL.txt"]


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_hostile_keys_never_leave_notes(tmp_path: Path, cli: Cli) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    bib = "".join(f"@misc{{{k},\n  title = {{Paper {i}}},\n  taxonomy = {{T}},\n}}\n"
                  for i, k in enumerate(HOSTILE_KEYS))
    (repo / "survey.bib").write_text(bib, encoding="utf-8")
    before = _files(tmp_path)
    for key in HOSTILE_KEYS:
        result = cli("note", key, cwd=repo)
        assert result.exit_code == 0, result.stderr
        path = (repo / result.stdout.strip()).resolve()
        assert path.parent == (repo / "notes").resolve(), result.stdout
        path.write_text(f"Note on {key!r}", encoding="utf-8")
    assert cli("build", cwd=repo).exit_code == 0
    new = _files(tmp_path) - before
    assert all(p.parent == repo / "notes" or p.parent == repo for p in new), new
    assert len([p for p in new if p.parent == repo / "notes"]) == len(HOSTILE_KEYS)
    readme = (repo / "README.md").read_text(encoding="utf-8")
    for key in HOSTILE_KEYS:
        assert f"Note on {key!r}" in readme  # each note found again under its own key


@pytest.mark.parametrize("key", ["../../x", "/etc/passwd", "a\nb"])
def test_note_for_unknown_hostile_key_creates_nothing(tmp_path: Path, key: str, cli: Cli) -> None:
    (tmp_path / "survey.bib").write_text("@misc{a, title={A}}\n", encoding="utf-8")
    before = _files(tmp_path.parent)
    result = cli("note", key)
    assert result.exit_code == 1
    assert "no entry with key" in result.stderr
    assert _files(tmp_path.parent) == before


# ---------------------------------------------------------------- templates and config


@pytest.mark.parametrize(("template", "message"), [
    pytest.param("line one\n{{ title }\n", "templates/README.md.j2:2: template syntax error",
                 id="syntax-error"),
    pytest.param("one\n\n{{ nosuch.attr }}\n", "templates/README.md.j2:3: template error: "
                 "'nosuch' is undefined", id="undefined"),
    pytest.param('{% include "missing.j2" %}\n', "template not found: missing.j2",
                 id="missing-include"),
    pytest.param('{{ link_to("nowhere") }}\n', "links to 'nowhere', which no heading",
                 id="link-without-heading"),
])
def test_template_errors_name_file_and_line(tmp_path: Path, template: str, message: str,
                                            cli: Cli) -> None:
    (tmp_path / "survey.bib").write_text("@misc{a, title={A}}\n", encoding="utf-8")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "README.md.j2").write_text(template, encoding="utf-8")
    for command in ("build", "check"):
        result = cli(command)
        assert result.exit_code == 1
        assert message in result.stderr
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_bad_config_key_names_it_with_a_suggestion(tmp_path: Path, cli: Cli) -> None:
    (tmp_path / "survey.bib").write_text("@misc{a, title={A}}\n", encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text("[tool.surveybib]\ntaxonmy = []\n")
    result = cli("build")
    assert result.exit_code == 1
    assert "unknown key 'taxonmy'; did you mean 'taxonomy'?" in result.stderr


# ---------------------------------------------------------------- any fault


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _bib(n: int, suffix: str) -> str:
    return "".join(f"@article{{k{i},\n  author = {{Author {i}}},\n  title = {{Paper {i} "
                   f"{suffix}}},\n  journal = {{J}},\n  year = {{2020}},\n  taxonomy = "
                   f"{{C{i % 7}}},\n}}\n" for i in range(n))


def test_a_killed_build_leaves_the_old_or_the_new_readme(tmp_path: Path, cli: Cli) -> None:
    (tmp_path / "survey.bib").write_text(_bib(2000, "old"), encoding="utf-8")
    assert cli("build").exit_code == 0
    old = (tmp_path / "README.md").read_bytes()
    (tmp_path / "survey.bib").write_text(_bib(2000, "new"), encoding="utf-8")
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(tmp_path / "survey.bib", copy / "survey.bib")
    assert cli("build", cwd=copy).exit_code == 0
    new = (copy / "README.md").read_bytes()
    assert old != new
    rng = random.Random(6)
    for _ in range(15):  # a whole build takes about 0.3 s here: kills land all through it
        proc = subprocess.Popen([sys.executable, "-m", "surveybib", "-C", str(tmp_path), "-q",
                                 "build"], env=_env(), stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.0, 0.35))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        current = (tmp_path / "README.md").read_bytes()
        assert current in (old, new)
        if current == new:
            (tmp_path / "README.md").write_bytes(old)


class _DirLock:
    """Holds the survey directory's flock, as a running surveybib does."""

    def __init__(self, root: Path) -> None:
        self.fd = os.open(root, os.O_RDONLY)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def close(self) -> None:
        os.close(self.fd)


def _hold_lock(root: Path) -> _DirLock:
    return _DirLock(root)


def test_a_second_build_refuses_while_the_lock_is_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Cli
) -> None:
    (tmp_path / "survey.bib").write_text(_bib(3, "x"), encoding="utf-8")
    monkeypatch.setenv("SURVEYBIB_LOCK_TIMEOUT", "0.2")
    handle = _hold_lock(tmp_path)
    try:
        result = cli("build")
    finally:
        handle.close()
    assert result.exit_code == 1
    assert "another surveybib run is working on this survey (waited 0.2 s)" in result.stderr
    assert not (tmp_path / "README.md").exists()
    assert cli("build", "--check").exit_code == 1  # --check needs no lock: it writes nothing


def test_a_second_build_waits_for_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Cli
) -> None:
    (tmp_path / "survey.bib").write_text(_bib(3, "x"), encoding="utf-8")
    monkeypatch.setenv("SURVEYBIB_LOCK_TIMEOUT", "600")
    handle = _hold_lock(tmp_path)
    release = threading.Timer(0.3, handle.close)
    release.start()
    result = cli("build")
    release.join()
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "README.md").is_file()


def test_two_concurrent_builds_leave_a_complete_readme(tmp_path: Path, cli: Cli) -> None:
    (tmp_path / "survey.bib").write_text(_bib(300, "x"), encoding="utf-8")
    procs = [subprocess.Popen([sys.executable, "-m", "surveybib", "-C", str(tmp_path), "-q",
                               "build"], env=_env(), stderr=subprocess.PIPE) for _ in range(2)]
    assert [p.wait() for p in procs] == [0, 0]
    assert cli("build", "--check").exit_code == 0


def test_note_linked_outside_notes_is_not_read(tmp_path: Path, cli: Cli) -> None:
    """A notes/*.md symlink to a file elsewhere must not leak that file into README.md."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT\n", encoding="utf-8")
    survey = tmp_path / "survey"
    (survey / "notes").mkdir(parents=True)
    (survey / "survey.bib").write_text("@misc{k, title = {T}}\n", encoding="utf-8")
    (survey / "notes" / "k.md").symlink_to(secret)
    result = cli("build", cwd=survey)
    assert result.exit_code == 0, result.stderr
    assert "TOP-SECRET-CONTENT" not in (survey / "README.md").read_text(encoding="utf-8")
    assert "notes/k.md: is a link to a file outside the notes directory" in result.stderr


def test_a_killed_enrich_write_leaves_every_file_whole(tmp_path: Path, fake_api: Any) -> None:
    """`enrich --write` killed at random moments: survey.bib is the old text or the complete
    new one, and the metadata store is always a readable store (it is saved per batch)."""
    from surveybib.metadata.store import load_store

    fake_api.latency = 0.05
    dois = fake_api.synthetic(240, prefix="10.5555/kill.")
    bib = "".join(f"@article{{p{i},\n  doi = {{{doi}}},\n  taxonomy = {{T}},\n}}\n"
                  for i, doi in enumerate(dois)).encode("utf-8")
    env = {**_env(), "SURVEYBIB_CROSSREF_URL": fake_api.url,
           "SURVEYBIB_DATACITE_URL": fake_api.url, "SURVEYBIB_OFFLINE": "0"}
    command = [sys.executable, "-m", "surveybib", "-q", "enrich", "--write"]
    done = tmp_path / "done"
    done.mkdir()
    (done / "survey.bib").write_bytes(bib)
    assert subprocess.run(command, cwd=done, env=env, capture_output=True).returncode == 0
    new = (done / "survey.bib").read_bytes()
    assert new != bib and new.startswith(b"@article{p0,")
    rng = random.Random(11)
    for attempt in range(5):
        work = tmp_path / f"run{attempt}"
        work.mkdir()
        (work / "survey.bib").write_bytes(bib)
        proc = subprocess.Popen(command, cwd=work, env=env, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, 2.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert (work / "survey.bib").read_bytes() in (bib, new)
        store = work / "survey.lock.json"
        if store.exists():
            load_store(store)  # raises if the file were cut short


@pytest.mark.parametrize(
    ("config", "message"),
    [
        pytest.param('exports = [{format = "bibtex", path = "survey.bib"}]',
                     "exports path 'survey.bib' would overwrite the bibliography",
                     id="export-over-survey-bib"),
        pytest.param('readme = "survey.bib"', "readme would overwrite the bibliography",
                     id="readme-over-survey-bib"),
        pytest.param('readme = "notes/a.md"', "readme would overwrite a note",
                     id="readme-into-notes"),
        pytest.param('exports = [{format = "csl-json", path = "survey.lock.json"}]',
                     "would overwrite the metadata store", id="export-over-store"),
        pytest.param('exports = [{format = "ris", path = "README.md"}]',
                     "would overwrite readme", id="export-over-readme"),
        pytest.param('taxonomy = ["X", "X"]', "taxonomy lists 'X' more than once",
                     id="taxonomy-twice"),
    ],
)
def test_configured_outputs_never_overwrite_inputs(tmp_path: Path, config: str,
                                                   message: str, cli: Cli) -> None:
    bib = "@string{j = {J}}\n@misc{a, title = {T}, journal = j, taxonomy = {X}}\n"
    (tmp_path / "survey.bib").write_text(bib, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(f"[tool.surveybib]\n{config}\n", encoding="utf-8")
    result = cli("build")
    assert result.exit_code == 1 and message in result.stderr, result.stderr
    assert (tmp_path / "survey.bib").read_text(encoding="utf-8") == bib


def test_export_o_refuses_the_bibliography(tmp_path: Path, cli: Cli) -> None:
    (tmp_path / "survey.bib").write_text("@misc{a, title = {T}}\n", encoding="utf-8")
    result = cli("export", "-o", "survey.bib")
    assert result.exit_code == 2 and "-o survey.bib: that is survey.bib" in result.stderr
    assert (tmp_path / "survey.bib").read_text(encoding="utf-8") == "@misc{a, title = {T}}\n"


@pytest.mark.parametrize(
    ("note", "reason"),
    [
        pytest.param("```python\nprint(1)", "code fence ``` is never closed", id="fence"),
        pytest.param("draft\n<!-- todo: finish", "HTML comment <!-- is never closed",
                     id="comment"),
    ],
)
def test_a_note_left_open_cannot_swallow_the_readme(tmp_path: Path, note: str,
                                                    reason: str, cli: Cli) -> None:
    (tmp_path / "survey.bib").write_text(
        "@misc{a, title = {First}}\n@misc{b, title = {Second}}\n", encoding="utf-8")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.md").write_text(note, encoding="utf-8")
    result = cli("build")
    assert result.exit_code == 0, result.stderr
    assert f"notes/a.md: a: warning: {reason}" in result.stderr
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert_links_resolve(readme)
    assert "### Second" in readme


def test_notes_are_merged_exactly_as_written(tmp_path: Path, cli: Cli) -> None:
    """Hard line breaks (two trailing spaces) and blank lines inside code survive."""
    body = "first line  \nsecond line\n\n```\na\n\n\n\nb\n```"
    (tmp_path / "survey.bib").write_text("@misc{a, title = {T}}\n", encoding="utf-8")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.md").write_text(body, encoding="utf-8")
    assert cli("build").exit_code == 0
    assert body in (tmp_path / "README.md").read_text(encoding="utf-8")


def test_deep_categories_stay_markdown_headings(tmp_path: Path, cli: Cli) -> None:
    (tmp_path / "survey.bib").write_text("@misc{a, title = {Deep}, taxonomy = {A/B/C/D/E}}\n",
                                         encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.surveybib]\ntaxonomy = ["A", "A/B", "A/B/C", "A/B/C/D", "A/B/C/D/E"]\n',
        encoding="utf-8")
    result = cli("build")
    assert result.exit_code == 0, result.stderr
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "\n###### Deep\n" in readme
    assert_links_resolve(readme)


def test_a_category_named_with_and_or_keywords_with_commas(tmp_path: Path, cli: Cli) -> None:
    (tmp_path / "survey.bib").write_text(
        "@misc{a, title = {T}, taxonomy = {Search and Retrieval}}\n"
        "@misc{b, title = {U}, taxonomy = {Search and Quantization}}\n", encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.surveybib]\ntaxonomy = ["Search and Retrieval", "Search", "Quantization"]\n',
        encoding="utf-8")
    result = cli("build")
    assert result.exit_code == 0, result.stderr
    assert "not in the configured list" not in result.stderr
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "| T (misc) |" not in readme
    assert "| T | Search and Retrieval |" in readme
    assert "| U | Search, Quantization |" in readme
    (tmp_path / "pyproject.toml").write_text('[tool.surveybib]\ngroup_by = "keywords"\n',
                                             encoding="utf-8")
    (tmp_path / "survey.bib").write_text("@misc{a, title = {T}, keywords = {LLM, Inference}}\n",
                                         encoding="utf-8")
    assert cli("build").exit_code == 0
    assert "| T | LLM, Inference |" in (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "## 3.2 Inference" in (tmp_path / "README.md").read_text(encoding="utf-8")


def test_an_intro_that_is_not_utf8_is_named(tmp_path: Path, cli: Cli) -> None:
    (tmp_path / "survey.bib").write_text("@misc{a, title = {T}}\n", encoding="utf-8")
    (tmp_path / "INTRO.md").write_bytes(b"caf\xe9\n")
    result = cli("build")
    assert result.exit_code == 1
    assert "INTRO.md: not UTF-8" in result.stderr and "internal error" not in result.stderr


def test_private_use_characters_in_data_cannot_break_the_anchor_pass(tmp_path: Path,
                                                                     cli: Cli) -> None:
    """surveybib marks headings and links with private-use characters while it renders;
    the same characters in a key, a title, a category or a note are dropped, not obeyed."""
    (tmp_path / "survey.bib").write_text(
        "@misc{k\ue001ey, title = {T\ue000x}, taxonomy = {Cat\ue000x}}\n"
        "@misc{b, title = {B\ue003}}\n", encoding="utf-8")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "b.md").write_text("# foo\ue000bar\ntext \ue004\n", encoding="utf-8")
    result = cli("build")
    assert result.exit_code == 0, result.stderr
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert not re.search("[\ue000-\ue004]", readme)
    assert_links_resolve(readme)
