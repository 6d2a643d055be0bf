"""The `surveybib` command as a user types it (the `cli` fixture), in temporary survey
directories; a real subprocess only where the test is about the process itself."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TESTS, Cli

from surveybib import __version__
from surveybib.readme.render import GENERATED_MARKER

SRC = TESTS.parent / "src"
DATA = TESTS / "data"
GOLDEN = TESTS / "golden" / "readme"


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SURVEYBIB_OFFLINE", "1")


def process(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m surveybib ARGS` as a real process (only where the test is about one)."""
    environ = {**os.environ, "PYTHONPATH": str(SRC), **env}
    return subprocess.run([sys.executable, "-m", "surveybib", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, check=False)


def survey(tmp_path: Path, fixture: str = "taxonomy") -> Path:
    return Path(shutil.copytree(DATA / fixture, tmp_path / "survey"))


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- build


def test_build_writes_the_readme(tmp_path: Path, cli: Cli) -> None:
    root = survey(tmp_path)
    result = cli("build", cwd=root)
    assert result.exit_code == 0, result.stderr
    data = (root / "README.md").read_bytes()
    assert data.startswith(GENERATED_MARKER.encode())
    assert data.endswith(b"\n") and not data.endswith(b"\n\n")
    assert b"\r" not in data
    assert data == (GOLDEN / "taxonomy.md").read_bytes()
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "offline: 6 entries lack metadata",
        "survey.bib:56: typo2024: taxonomy 'Quantisation' is not in the configured list "
        "(did you mean 'Quantization'?)",
        "wrote README.md; 1 error, 0 warnings",
    ]


def test_strict_build_fails_on_errors_but_still_writes(tmp_path: Path, cli: Cli) -> None:
    root = survey(tmp_path)
    result = cli("build", "--strict", cwd=root)
    assert result.exit_code == 1
    assert (root / "README.md").is_file()


def test_second_build_leaves_an_unchanged_readme_alone(tmp_path: Path, cli: Cli) -> None:
    root = survey(tmp_path)
    assert cli("build", cwd=root).exit_code == 0
    readme = root / "README.md"
    os.utime(readme, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    before = readme.stat()
    assert cli("build", cwd=root).exit_code == 0
    after = readme.stat()
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)


def test_build_rewrites_a_changed_readme_atomically(tmp_path: Path, cli: Cli) -> None:
    root = survey(tmp_path)
    (root / "README.md").write_text(f"{GENERATED_MARKER} stale -->\nhand-edited\n",
                                    encoding="utf-8")
    assert cli("build", cwd=root).exit_code == 0
    assert (root / "README.md").read_bytes() == (GOLDEN / "taxonomy.md").read_bytes()
    # no temporary file left beside it, and no lock file either
    assert sorted(p.name for p in root.iterdir() if p.name.startswith(".")) == []


def test_build_never_replaces_a_readme_it_did_not_write(tmp_path: Path, cli: Cli) -> None:
    root = survey(tmp_path)
    (root / "README.md").write_text("# My own project page\n", encoding="utf-8")
    result = cli("build", cwd=root)
    assert result.exit_code == 1
    assert "README.md exists and was not written by surveybib" in result.stderr
    assert "--force" in result.stderr
    assert (root / "README.md").read_text(encoding="utf-8") == "# My own project page\n"
    assert cli("build", "--force", cwd=root).exit_code == 0
    assert (root / "README.md").read_bytes() == (GOLDEN / "taxonomy.md").read_bytes()


def test_text_above_the_generated_marker_is_kept(tmp_path: Path, cli: Cli) -> None:
    root = survey(tmp_path)
    assert cli("build", cwd=root).exit_code == 0
    generated = (root / "README.md").read_text(encoding="utf-8")
    (root / "README.md").write_text("[![badge](https://example.org/b.svg)](x)\n\n"
                                    + generated + "edited below the marker\n", encoding="utf-8")
    assert cli("build", "--check", cwd=root).exit_code == 1  # the edit below is stale
    assert cli("build", cwd=root).exit_code == 0
    assert (root / "README.md").read_text(encoding="utf-8") == \
        "[![badge](https://example.org/b.svg)](x)\n\n" + generated
    assert cli("build", "--check", cwd=root).exit_code == 0


def test_build_output_does_not_depend_on_hash_seed_or_directory(tmp_path: Path) -> None:
    """Two processes with different hash seeds (a process-wide setting, hence subprocesses)."""
    one = Path(shutil.copytree(DATA / "titles", tmp_path / "one"))
    two = Path(shutil.copytree(DATA / "titles", tmp_path / "a" / "b" / "two"))
    assert process("build", cwd=one, PYTHONHASHSEED="1").returncode == 0
    assert process("-C", str(two), "build", cwd=tmp_path, PYTHONHASHSEED="2").returncode == 0
    assert (one / "README.md").read_bytes() == (two / "README.md").read_bytes()
    assert (one / "README.md").read_bytes() == (GOLDEN / "titles.md").read_bytes()


def test_build_check_when_fresh(tmp_path: Path, cli: Cli) -> None:
    root = survey(tmp_path)
    assert cli("build", cwd=root).exit_code == 0
    before = snapshot(root)
    result = cli("build", "--check", cwd=root)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == "up to date; 1 error, 0 warnings"
    assert snapshot(root) == before


def test_build_check_when_stale_prints_a_short_diff_and_writes_nothing(tmp_path: Path,
                                                                       cli: Cli) -> None:
    root = survey(tmp_path)
    assert cli("build", cwd=root).exit_code == 0
    bib = root / "survey.bib"
    bib.write_text(bib.read_text(encoding="utf-8").replace(
        "A Paper Without Any Category", "A Renamed Paper"), encoding="utf-8")
    before = snapshot(root)
    result = cli("build", "--check", cwd=root)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[:2] == ["--- README.md (on disk)", "+++ README.md (from survey.bib)"]
    assert "-| A Paper Without Any Category (2024) | Uncategorized |  | " \
           "[notes](#a-paper-without-any-category-2024) |" in lines
    assert "+### A Renamed Paper (2024)" in lines
    assert len(lines) <= 41
    assert result.stderr.splitlines()[-1] == (
        "surveybib: 1 output(s) stale; run `make readme` (or `surveybib build`)")
    assert snapshot(root) == before


def test_build_check_when_the_readme_is_missing(tmp_path: Path, cli: Cli) -> None:
    root = survey(tmp_path)
    result = cli("build", "--check", cwd=root)
    assert result.exit_code == 1
    assert result.stdout == "README.md: missing (run `surveybib build`)\n"
    assert not (root / "README.md").exists()


def test_a_long_diff_is_cut(tmp_path: Path, cli: Cli) -> None:
    root = survey(tmp_path, "titles")
    (root / "README.md").write_text("old\n", encoding="utf-8")
    result = cli("build", "--check", cwd=root)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 41
    assert lines[-1] == "... (diff cut; run `surveybib build` to regenerate)"


# ---------------------------------------------------------------- check


CLEAN = "@misc{clean2024,\n  title = {Clean},\n  author = {Doe, Jane},\n  taxonomy = {A},\n}\n"


def small_survey(tmp_path: Path, extra: str = "") -> Path:
    root = tmp_path / "small"
    root.mkdir()
    (root / "pyproject.toml").write_text('[tool.surveybib]\ntaxonomy = ["A"]\n', encoding="utf-8")
    (root / "survey.bib").write_text(CLEAN + extra, encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("extra", "note", "code", "lines"),
    [
        pytest.param("", None, 0, ["0 finding(s): 0 errors, 0 warnings"], id="clean"),
        pytest.param(
            "@misc{t, title = {T}, taxonomy = {B}}\n", None, 1,
            ["survey.bib:6: t: taxonomy 'B' is not in the configured list",
             "1 finding(s): 1 error, 0 warnings"], id="unknown-taxonomy"),
        pytest.param(
            "", "orphan", 1,
            ["notes/orphan.md: no entry with key 'orphan' in the bibliography",
             "1 finding(s): 1 error, 0 warnings"], id="orphan-note"),
        pytest.param(
            "@misc{t, title = {T}}\n", None, 0,
            ["survey.bib:6: t: warning: no taxonomy; listed under Uncategorized",
             "1 finding(s): 0 errors, 1 warning"], id="warnings-alone-pass"),
    ],
)
def test_check_exit_codes(
    tmp_path: Path, extra: str, note: str | None, code: int, lines: list[str], cli: Cli
) -> None:
    root = small_survey(tmp_path, extra)
    if note:
        (root / "notes").mkdir()
        (root / "notes" / f"{note}.md").write_text("A note.\n", encoding="utf-8")
    assert cli("build", cwd=root).exit_code == 0
    result = cli("check", cwd=root)
    assert (result.exit_code, result.stderr.splitlines()) == (code, lines)


def test_check_fails_on_a_stale_readme(tmp_path: Path, cli: Cli) -> None:
    root = small_survey(tmp_path)
    result = cli("check", cwd=root)
    assert result.exit_code == 1
    assert "README.md: stale: run `make readme` (or `surveybib build`) and commit it" in (
        result.stderr.splitlines())
    assert not (root / "README.md").exists()


# ---------------------------------------------------------------- note


def test_note_creates_a_stub_and_prints_its_path(tmp_path: Path, cli: Cli) -> None:
    root = survey(tmp_path)
    result = cli("note", "lin2024awq", cwd=root)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "notes/lin2024awq.md\n"
    assert result.stderr == "created notes/lin2024awq.md\n"
    text = (root / "notes" / "lin2024awq.md").read_text(encoding="utf-8")
    assert text.startswith(
        "<!-- Reading notes for lin2024awq: AWQ: Activation-aware Weight Quantization for LLM "
        "Compression and Acceleration (MLSys 2024).\n")
    assert text.rstrip().endswith("-->")
    # a stub is not a note yet
    assert cli("build", cwd=root).exit_code == 0
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert readme == (GOLDEN / "taxonomy.md").read_text(encoding="utf-8")


def test_note_never_overwrites(tmp_path: Path, cli: Cli) -> None:
    root = survey(tmp_path)
    note = root / "notes" / "miao2024specinfer.md"
    before = note.read_bytes()
    result = cli("note", "miao2024specinfer", cwd=root)
    assert result.exit_code == 0
    assert result.stdout == "notes/miao2024specinfer.md\n"
    assert result.stderr == ""
    assert note.read_bytes() == before


def test_note_for_a_key_that_is_not_a_file_name(tmp_path: Path, cli: Cli) -> None:
    root = survey(tmp_path, "keywords")  # has no notes/ directory yet
    bib = root / "survey.bib"
    bib.write_text(bib.read_text(encoding="utf-8")
                   + "\n@misc{DBLP:conf/x/../Y, title = {Dots}}\n", encoding="utf-8")
    result = cli("note", "DBLP:conf/x/../Y", cwd=root)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "notes/DBLP%3Aconf%2Fx%2F..%2FY.md\n"
    assert [p.name for p in (root / "notes").iterdir()] == ["DBLP%3Aconf%2Fx%2F..%2FY.md"]


def test_note_refuses_an_unknown_key(tmp_path: Path, cli: Cli) -> None:
    root = survey(tmp_path)
    result = cli("note", "Lin2024AWQ", cwd=root)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "surveybib: no entry with key 'Lin2024AWQ' in survey.bib; did you mean 'lin2024awq'?\n")
    assert not (root / "notes" / "Lin2024AWQ.md").exists()


def test_note_uses_the_users_template(tmp_path: Path, cli: Cli) -> None:
    root = survey(tmp_path)
    (root / "templates").mkdir()
    (root / "templates" / "note.md.j2").write_text("TODO {{ key }}\n", encoding="utf-8")
    assert cli("note", "kivi2024", cwd=root).exit_code == 0
    assert (root / "notes" / "kivi2024.md").read_text(encoding="utf-8") == "TODO kivi2024\n"


# ---------------------------------------------------------------- options, templates, errors


def test_dash_c_runs_in_another_directory(tmp_path: Path, cli: Cli) -> None:
    root = survey(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = cli("-C", str(root), "build", cwd=elsewhere)
    assert result.exit_code == 0, result.stderr
    assert (root / "README.md").read_bytes() == (GOLDEN / "taxonomy.md").read_bytes()
    assert list(elsewhere.iterdir()) == []
    assert result.stderr.splitlines()[1].startswith("survey.bib:56: typo2024: ")


def test_users_readme_template_overrides_the_packaged_one(tmp_path: Path, cli: Cli) -> None:
    root = survey(tmp_path, "keywords")
    (root / "templates").mkdir()
    (root / "templates" / "README.md.j2").write_text(
        "{{ marker }} -->\n"
        "# My List\n\n"
        "{% for p in papers %}- [{{ p.title|md }}](#{{ link_to(p.id) }})\n{% endfor %}\n\n"
        "{% for p in papers %}{{ heading(2, p.title, p.id) }}\n\n{% endfor %}",
        encoding="utf-8")
    assert cli("build", cwd=root).exit_code == 0
    assert (root / "README.md").read_text(encoding="utf-8") == (  # the renderer's marker
        "<!-- surveybib:generated: made by surveybib from survey.bib (3 papers). Do not edit "
        "it by hand:\n"
        "edit survey.bib, notes/ or INTRO.md instead, then run `make readme`. -->\n\n"
        "# My List\n\n"
        "- [Second Category First (ICML 2023)](#second-category-first-icml-2023)\n"
        "- [Kernels Only (Journal of Systems 2022)](#kernels-only-journal-of-systems-2022)\n"
        "- [Serving and Caching (2024)](#serving-and-caching-2024)\n\n"
        "## Second Category First (ICML 2023)\n\n"
        "## Kernels Only (Journal of Systems 2022)\n\n"
        "## Serving and Caching (2024)\n")


def test_bad_config_key_suggests_the_right_one(tmp_path: Path, cli: Cli) -> None:
    root = survey(tmp_path)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text(encoding="utf-8").replace("taxonomy =", "taxnomy ="),
                         encoding="utf-8")
    result = cli("build", cwd=root)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("surveybib: ")
    assert "unknown key 'taxnomy'; did you mean 'taxonomy'?" in result.stderr
    assert not (root / "README.md").exists()


def test_invalid_toml_is_one_line(tmp_path: Path, cli: Cli) -> None:
    root = survey(tmp_path)
    (root / "pyproject.toml").write_text("[tool.surveybib\n", encoding="utf-8")
    result = cli("check", cwd=root)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "not valid TOML" in result.stderr


def test_missing_survey_bib_is_one_line(tmp_path: Path, cli: Cli) -> None:
    result = cli("build", cwd=tmp_path)
    assert result.exit_code == 1
    assert result.stderr == (
        f"surveybib: no survey here: neither {tmp_path.resolve()} nor a folder above it has "
        "a survey.bib or a [tool.surveybib] table in pyproject.toml; run surveybib inside the "
        "survey's folder, or name it with -C DIR\n")
    assert list(tmp_path.iterdir()) == []


def test_non_utf8_survey_bib(tmp_path: Path, cli: Cli) -> None:
    gbk = DATA / "edge" / "bibtexparser-v2-tests" / "gbk_test.bib"
    shutil.copy(gbk, tmp_path / "survey.bib")
    result = cli("build", cwd=tmp_path)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("surveybib: survey.bib:1: not UTF-8")
    assert not (tmp_path / "README.md").exists()
    result = cli("--encoding", "gbk", "build", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert "测试期刊" in (tmp_path / "README.md").read_text(encoding="utf-8")


def test_entries_without_a_comma_after_the_key_are_named_and_the_rest_kept(
    tmp_path: Path, cli: Cli
) -> None:
    """As in openmlsys-zh's mlsys.bib (tests/data/SOURCES.md): `@misc{key` and a newline, no
    comma. Each such entry is a diagnostic with its line; the entries around it still build."""
    shutil.copy(DATA / "edge" / "synthetic" / "misc-without-comma-after-key.bib",
                tmp_path / "survey.bib")
    result = cli("build", cwd=tmp_path)
    assert result.exit_code == 1, result.stderr  # papers are missing: `make readme` stops
    assert [line.split(": @misc block")[0] for line in result.stderr.splitlines()
            if "does not parse" in line] == [
        "survey.bib:10: gilfree", "survey.bib:18: loader", "survey.bib:26: plugin"]
    assert ("3 entries are missing from README.md: gilfree (survey.bib:10), loader "
            "(survey.bib:18), plugin (survey.bib:26)") in result.stderr
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "| Analyzing Data Stalls (arXiv 2020) |" in readme
    assert "| A Distributed Framework (arXiv 2017) |" in readme
    assert cli("check", cwd=tmp_path).exit_code == 1


@pytest.mark.parametrize("command", [
    pytest.param([sys.executable, "-m", "surveybib"], id="python-m"),
    pytest.param([str(Path(sys.executable).with_name("surveybib"))], id="console-script"),
])
def test_version_from_the_installed_commands(command: list[str], tmp_path: Path) -> None:
    """What `pip install` puts on PATH (the console script) and `python -m surveybib`."""
    result = subprocess.run([*command, "--version"], cwd=tmp_path, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"surveybib, version {__version__}\n"


@pytest.mark.parametrize(
    "args",
    [pytest.param(["build", "--no-such-option"], id="unknown-option"),
     pytest.param(["no-such-command"], id="unknown-command"),
     pytest.param(["-C", "does-not-exist", "build"], id="missing-directory")],
)
def test_bad_usage_exits_2(tmp_path: Path, args: list[str], cli: Cli) -> None:
    result = cli(*args, cwd=tmp_path)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
