"""Bounded in time and memory whatever the input (issue 15): hostile BibTeX, notes,
intros, configs, special files and keys, each through the real command.

Where a bound is on time, the test compares this thread's CPU time at two input sizes
(never a limit in seconds): the work a regular expression does inside C is invisible
to any Python-level count, and a quadratic step shows as a ratio near 16 between a size
and four times it, a linear one near 4 or less. Subprocesses only where the test is
about a process: a FIFO that would block, a file size limit, a memory limit.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Cli

import surveybib
from surveybib.issueform import parse_body

SRC = Path(surveybib.__file__).resolve().parents[1]  # subprocesses run the code tested here
TITLED = "@misc{{{key}, title = {{{title}}}, taxonomy = {{A}}}}\n"


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing here needs the network: build and check render from the file alone."""
    monkeypatch.setenv("SURVEYBIB_OFFLINE", "1")


def survey(root: Path, bib: str, notes: dict[str, str] | None = None, **files: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "survey.bib").write_text(bib, encoding="utf-8")
    for name, text in (notes or {}).items():
        (root / "notes").mkdir(exist_ok=True)
        (root / "notes" / f"{name}.md").write_text(text, encoding="utf-8")
    for name, text in files.items():
        (root / name.replace("__", ".")).write_text(text, encoding="utf-8")
    return root


def cpu(action: Callable[[], object]) -> float:
    start = time.thread_time()
    action()
    return time.thread_time() - start


def assert_linear(run_at: Callable[[int], object], size: int) -> None:
    """Four times the input costs at most about four times the CPU: 6x allows for noise,
    where a quadratic step gives about 16x and a cubic one 64x."""
    run_at(size)  # warm: imports, compiled templates
    small = min(cpu(lambda: run_at(size)) for _ in range(2))
    large = cpu(lambda: run_at(4 * size))
    assert large < 6 * small + 0.05, (small, large)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEYBIB_")}
    return {**env, "PYTHONPATH": str(SRC), "SURVEYBIB_OFFLINE": "1",
            "SURVEYBIB_LOCK_TIMEOUT": "1"}


def subprocess_run(root: Path, *args: str, limits: dict[int, int] | None = None,
                   timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python -m surveybib -C root ...` in its own process, with resource limits; the
    timeout only keeps a hang (on a FIFO) from stopping the suite."""

    def limit() -> None:
        for kind, value in (limits or {}).items():
            resource.setrlimit(kind, (value, value))

    return subprocess.run([sys.executable, "-m", "surveybib", "-C", str(root), *args],
                          env=_env(), capture_output=True, text=True, timeout=timeout,
                          preexec_fn=limit)


# ---------------------------------------------------------------- 1. @string expansion


def test_exponential_string_expansion_is_capped_and_named(tmp_path: Path,
                                                          cli: Cli) -> None:
    lines = ['@string{s0 = "ab"}']
    lines += [f"@string{{s{i} = s{i - 1} # s{i - 1}}}" for i in range(1, 22)]
    lines.append("@misc{big, title = s21, taxonomy = {A}}")
    lines.append("@misc{fine, title = {A fine title}, year = 2021, month = jun, "
                 "taxonomy = {A}}")
    root = survey(tmp_path, "\n".join(lines) + "\n")
    result = cli("-C", root, "build")
    assert result.exit_code == 0, result.output
    assert (root / "README.md").stat().st_size < 20_000  # 4 MB titles, five times each
    assert "A fine title" in (root / "README.md").read_text(encoding="utf-8")
    # the budget spent by one entry's macros never cuts another entry's own values
    assert "fine:" not in result.stderr, result.stderr
    assert "year = {2021}" in cli("-C", root, "export", "--keys", "fine").stdout
    assert "survey.bib:23: big: field 'title' uses @string s21, whose value was cut" \
        in result.stderr
    assert "@string expansion in this file passes" in result.stderr
    found = json.loads(cli("-C", root, "check", "--format", "json").stdout)["findings"]
    assert {"big", "@string s18"} <= {f["key"] for f in found if f["rule"] == "value-too-long"}


def test_a_value_longer_than_the_cap_is_cut_in_the_readme_and_the_export(
        tmp_path: Path, cli: Cli) -> None:
    """A 2 MB title once made a README of five times that (a 50 MB one, 262 MB)."""
    root = survey(tmp_path, TITLED.format(key="long", title="word " * 400_000)
                  + TITLED.format(key="short", title="Short title"))
    result = cli("-C", root, "build")
    assert result.exit_code == 0, result.output
    assert (root / "README.md").stat().st_size < 30_000
    assert "long: field 'title' is longer than 1,000,000 characters; cut there" in result.stderr
    assert "long: warning: title is 1,000,000 characters long; the README shows its first " \
           "1,000" in result.stderr
    export = cli("-C", root, "export", "--format", "bibtex")
    assert 1_000_000 < len(export.stdout) < 1_010_000


# ---------------------------------------------------------------- 2. headings in linear time


@pytest.mark.parametrize("heading", [
    pytest.param(lambda n: "# " + "`" * n, id="backticks"),
    pytest.param(lambda n: "# " + "[" * (5 * n), id="brackets"),
    pytest.param(lambda n: "# " + "![" * (3 * n), id="image-brackets"),
    pytest.param(lambda n: "# " + "<!--" * (5 * n), id="comment-openers"),
    pytest.param(lambda n: "# " + "*a " * (3 * n), id="emphasis-openers"),
    pytest.param(lambda n: "# x" + " " * (10 * n) + "#x", id="space-run"),
    pytest.param(lambda n: "# x" + " " * (10 * n) + "x #", id="space-run-closed"),
    pytest.param(lambda n: ("[" * 50 + "\n") * (n // 10) + "===", id="setext-of-brackets"),
    pytest.param(lambda n: "a\n" + "=\n" * (n // 2), id="setext-underlines"),
])
def test_note_and_intro_headings_cost_linear_time(tmp_path: Path, cli: Cli,
                                                  heading: Callable[[int], str]) -> None:
    def run_at(n: int) -> None:
        root = survey(tmp_path / str(n), TITLED.format(key="k", title="T"),
                      notes={"k": heading(n) + "\n\ntext\n"}, INTRO__md=heading(n) + "\n")
        result = cli("-C", root, "build")
        assert result.exit_code == 0, result.output

    assert_linear(run_at, 1_000)


@pytest.mark.parametrize("field", ["author", "reader", "journal"])
def test_runs_in_field_values_cost_linear_time(tmp_path: Path, cli: Cli, field: str) -> None:
    """Patterns such as `\\s+and\\s+` or an arXiv id in a journal field were tried at every
    position of a long run of spaces (or of `arxiv`), each try scanning the rest of it."""

    def run_at(n: int) -> None:
        value = "arxiv" * n if field == "journal" else "a" + " " * (5 * n) + "b"
        root = survey(tmp_path / str(n), f"@misc{{k, title={{T}}, taxonomy={{A}}, "
                                         f"{field}={{{value}}}}}\n",
                      notes={"k": "x" + " " * (5 * n) + "y\n"})
        assert cli("-C", root, "build").exit_code == 0
        assert cli("-C", root, "site", "-o", root / "site", "--offline").exit_code == 0

    assert_linear(run_at, 2_000)


# ---------------------------------------------------------------- 3. near-duplicate titles


def test_near_duplicate_test_is_linear_in_title_length(tmp_path: Path,
                                                       cli: Cli) -> None:
    def run_at(n: int) -> None:
        words = " ".join(f"w{i}" for i in range(n))
        root = survey(tmp_path / str(n), TITLED.format(key="a", title=words)
                      + TITLED.format(key="b", title=words + " extra"))
        assert cli("-C", root, "check").exit_code in (0, 1)

    assert_linear(run_at, 2_000)


# ---------------------------------------------------------------- 4. deep nesting


def test_a_store_nested_too_deeply_is_one_clear_error(tmp_path: Path,
                                                      cli: Cli) -> None:
    root = survey(tmp_path, TITLED.format(key="k", title="T"))
    (root / "survey.lock.json").write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    for args in (["build"], ["check"], ["export"], ["doi", "10.1145/1"], ["note", "k"]):
        result = cli("-C", root, *args)
        assert result.exit_code == 1, (args, result.output)
        assert "survey.lock.json: metadata store cannot be read: its JSON nests deeper" \
            in result.stderr, args
        assert "internal error" not in result.stderr


def test_deeply_nested_toml_is_one_clear_error(tmp_path: Path,
                                               cli: Cli) -> None:
    root = survey(tmp_path, TITLED.format(key="k", title="T"),
                  pyproject__toml="[tool.surveybib]\ntitle = 1\nx = " + "[" * 100_000 + "\n")
    for args in (["build"], ["check"], ["doi", "10.1145/1"]):
        result = cli("-C", root, *args)
        assert result.exit_code == 1
        assert "pyproject.toml: its TOML nests too deeply to read" in result.stderr
        assert "internal error" not in result.stderr


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_nested_braces_in_a_title_are_a_per_entry_problem(tmp_path: Path, fmt: str,
                                                          cli: Cli) -> None:
    deep = "{" * 1_000 + "x" + "}" * 1_000
    root = survey(tmp_path, TITLED.format(key="deep", title=deep)
                  + TITLED.format(key="fine", title="Fine title"))
    result = cli("-C", root, "export", "--format", fmt)
    assert result.exit_code == 1
    assert "survey.bib:1: deep: field 'title' nests braces more than 32 deep; this entry is " \
           "left out" in result.stderr
    assert "Fine title" in result.stdout
    assert "internal error" not in result.stderr


def test_a_taxonomy_declared_a_thousand_levels_deep_builds(tmp_path: Path,
                                                           cli: Cli) -> None:
    names = ["/".join(["c"] * depth) for depth in range(1, 1_001)]
    root = survey(tmp_path, f"@misc{{k, title={{T}}, taxonomy={{{names[-1]}}}}}\n",
                  pyproject__toml=f"[tool.surveybib]\ntaxonomy = {json.dumps(names)}\n")
    result = cli("-C", root, "build")
    assert result.exit_code == 0, result.output


# ---------------------------------------------------------------- 6. special files


def test_survey_bib_as_a_fifo_is_refused_by_name(tmp_path: Path) -> None:
    root = survey(tmp_path, "")
    (root / "survey.bib").unlink()
    os.mkfifo(root / "survey.bib")
    for args in (["build"], ["check"], ["export"]):
        done = subprocess_run(root, *args)
        assert done.returncode == 1
        assert "survey.bib: is a FIFO (named pipe), not a regular file" in done.stderr


def test_aux_fifo_and_dev_zero_are_refused(tmp_path: Path) -> None:
    root = survey(tmp_path, TITLED.format(key="k", title="T"))
    os.mkfifo(root / "paper.aux")
    done = subprocess_run(root, "export", "--aux", "paper.aux")
    assert done.returncode == 2
    assert "paper.aux: is a FIFO (named pipe), not a regular file" in done.stderr
    (root / "main.aux").write_text("\\citation{k}\n\\@input{/dev/zero}\n", encoding="utf-8")
    done = subprocess_run(root, "export", "--aux", "main.aux",
                          limits={resource.RLIMIT_AS: 1 << 30})
    assert done.returncode == 2, done.stderr
    assert "/dev/zero: is a character device, not a regular file" in done.stderr


def test_an_aux_that_inputs_itself_by_ever_longer_paths_ends(tmp_path: Path,
                                                             cli: Cli) -> None:
    root = survey(tmp_path / "s", TITLED.format(key="k", title="T"))
    (root / "a.aux").write_text("\\citation{k}\n\\@input{../s/a.aux}\n", encoding="utf-8")
    result = cli("-C", root, "export", "--aux", "a.aux")
    assert result.exit_code == 0, result.output
    assert "@misc{k," in result.stdout


def test_readme_as_a_fifo_is_refused_by_name(tmp_path: Path) -> None:
    root = survey(tmp_path, TITLED.format(key="k", title="T"))
    os.mkfifo(root / "README.md")
    done = subprocess_run(root, "build")
    assert done.returncode == 1
    assert "README.md: is a FIFO (named pipe), not a regular file" in done.stderr
    assert stat.S_ISFIFO((root / "README.md").lstat().st_mode)


@pytest.mark.parametrize("name", ["survey.bib", "pyproject.toml", "INTRO.md", "notes/k.md"])
def test_symlink_loops_are_named(tmp_path: Path, name: str,
                                 cli: Cli) -> None:
    root = survey(tmp_path, TITLED.format(key="k", title="T"))
    (root / "notes").mkdir(exist_ok=True)
    (root / name).unlink(missing_ok=True)
    (root / name).symlink_to(root / name)
    result = cli("-C", root, "build")
    assert "internal error" not in result.stderr
    assert f"{name}: a loop of symbolic links" in result.stderr
    assert "[tool.surveybib]" not in result.stderr  # the default: no setting to blame


def test_a_note_that_is_not_a_regular_file_is_named(tmp_path: Path,
                                                    cli: Cli) -> None:
    root = survey(tmp_path, TITLED.format(key="k", title="T") + TITLED.format(key="j",
                                                                               title="J"))
    (root / "notes").mkdir()
    os.mkfifo(root / "notes" / "k.md")
    (root / "notes" / "j.md").mkdir()
    result = cli("-C", root, "check")
    assert "notes/k.md: is a FIFO (named pipe), not a regular file; surveybib reads only " \
           "regular files; skipped" in result.stderr
    assert "notes/j.md: is a directory, not a regular file" in result.stderr


def test_a_survey_bib_linked_outside_says_what_to_do(tmp_path: Path,
                                                     cli: Cli) -> None:
    elsewhere = tmp_path / "shared.bib"
    elsewhere.write_text(TITLED.format(key="k", title="T"), encoding="utf-8")
    root = tmp_path / "survey"
    root.mkdir()
    (root / "survey.bib").symlink_to(elsewhere)
    result = cli("-C", root, "build")
    assert result.exit_code == 1
    assert f"survey.bib is a symbolic link to {elsewhere}, outside the survey" in result.stderr
    assert f"cp --remove-destination {elsewhere} survey.bib" in result.stderr


# ---------------------------------------------------------------- 10-12. writes and paths


def test_export_writes_through_a_symlink_to_its_target(tmp_path: Path,
                                                       cli: Cli) -> None:
    root = survey(tmp_path / "s", TITLED.format(key="k", title="T"))
    shared = tmp_path / "shared.bib"
    shared.write_text("old\n", encoding="utf-8")
    (root / "link.bib").symlink_to(shared)
    result = cli("-C", root, "export", "-o", "link.bib")
    assert result.exit_code == 0, result.output
    assert (root / "link.bib").is_symlink()
    assert "@misc{k," in shared.read_text(encoding="utf-8")


def test_export_writes_into_a_fifo_as_it_is(tmp_path: Path, cli: Cli) -> None:
    root = survey(tmp_path, TITLED.format(key="k", title="T"))
    fifo = root / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = cli("-C", root, "export", "-o", "pipe")
    reader.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert got and b"@misc{k," in got[0]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_export_o_dev_stdout_writes_into_a_pipe(tmp_path: Path) -> None:
    """`export -o /dev/stdout | ...`: the link goes to /proc/self/fd/1, whose target
    (`pipe:[1234]`) is no path; surveybib looked for a file there and failed."""
    root = survey(tmp_path, TITLED.format(key="k", title="T"))
    done = subprocess_run(root, "export", "-o", "/dev/stdout")  # stdout: a pipe
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("@misc{k,")
    assert "wrote 1 entry to /dev/stdout" in done.stderr


def test_export_o_dev_stdout_appends_where_the_shell_says(tmp_path: Path) -> None:
    """`export -o /dev/stdout >> all.bib` replaced all.bib (the link was followed to the
    file and the file replaced) and lost what was in it."""
    root = survey(tmp_path, TITLED.format(key="k", title="T"))
    target = tmp_path / "all.bib"
    target.write_text("% kept\n", encoding="utf-8")
    with target.open("ab") as appended:
        done = subprocess.run([sys.executable, "-m", "surveybib", "-C", str(root), "export",
                               "-o", "/dev/stdout"], env=_env(), stdout=appended,
                              stderr=subprocess.PIPE, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert target.read_text(encoding="utf-8").startswith("% kept\n@misc{k,")


def test_export_writes_into_a_character_device(tmp_path: Path,
                                               cli: Cli) -> None:
    root = survey(tmp_path, TITLED.format(key="k", title="T"))
    try:
        os.mknod(root / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs root (CI runs as root)")
    result = cli("-C", root, "export", "-o", "null")
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR((root / "null").lstat().st_mode)


def test_export_refuses_a_socket(tmp_path: Path, cli: Cli) -> None:
    root = survey(tmp_path, TITLED.format(key="k", title="T"))
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(root / "sock"))
        result = cli("-C", root, "export", "-o", "sock")
    assert result.exit_code == 1
    assert "sock: is a socket; surveybib writes only regular files" in result.stderr
    assert stat.S_ISSOCK((root / "sock").lstat().st_mode)


@pytest.mark.parametrize(("config", "message"), [
    pytest.param('exports = [{format = "bibtex", path = ".git/config"}]',
                 "(.git/config) is inside .git/", id="git-config"),
    pytest.param('exports = [{format = "bibtex", path = ".git/hooks/pre-commit"}]',
                 "(.git/hooks/pre-commit) is inside .git/", id="git-hook"),
    pytest.param('readme = ".git/HEAD"', "(.git/HEAD) is inside .git/", id="readme-in-git"),
    pytest.param('exports = [{format = "bibtex", path = "."}]', "is a directory; name a file",
                 id="dot"),
    pytest.param('exports = [{format = "bibtex", path = ""}]', "is a directory; name a file",
                 id="empty"),
    pytest.param('exports = [{format = "bibtex", path = "notes"}]',
                 "(notes) is a directory; name a file", id="notes"),
])
def test_outputs_are_never_repository_internals_or_directories(
        tmp_path: Path, config: str, message: str, cli: Cli) -> None:
    root = survey(tmp_path, TITLED.format(key="k", title="T"),
                  pyproject__toml=f"[tool.surveybib]\n{config}\n")
    (root / ".git" / "hooks").mkdir(parents=True)
    (root / ".git" / "config").write_text("[core]\n", encoding="utf-8")
    (root / "notes").mkdir()
    result = cli("-C", root, "build")
    assert result.exit_code == 1
    assert message in result.stderr
    assert "internal error" not in result.stderr
    assert (root / ".git" / "config").read_text(encoding="utf-8") == "[core]\n"


@pytest.mark.parametrize(("target", "message"), [
    pytest.param("notes", "-o notes: is a directory; name a file", id="notes"),
    pytest.param("", "-o '': is a directory; name a file", id="empty"),
    pytest.param(".git/config", "-o .git/config: is inside .git/", id="git"),
])
def test_export_o_refuses_directories_and_git(tmp_path: Path, target: str, message: str,
                                              cli: Cli,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    root = survey(tmp_path / "survey", TITLED.format(key="k", title="T"))
    (root / "notes").mkdir()
    (root / ".git").mkdir()
    monkeypatch.chdir(tmp_path)  # -o is taken relative to the survey (-C), not to here
    result = cli("-C", root, "export", "-o", target)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "internal error" not in result.stderr


def test_a_write_that_fails_names_the_file_and_why(tmp_path: Path) -> None:
    """A full disk, as a file size limit: the README cannot be written; the old one stays."""
    root = survey(tmp_path, TITLED.format(key="k", title="T"))
    (root / "README.md").write_text("<!-- surveybib:generated -->\nold\n", encoding="utf-8")
    done = subprocess_run(root, "build", limits={resource.RLIMIT_FSIZE: 100})
    assert done.returncode == 1
    assert "surveybib: README.md: cannot be written: File too large" in done.stderr
    assert "internal error" not in done.stderr
    assert (root / "README.md").read_text(encoding="utf-8").endswith("old\n")
    assert [p.name for p in root.iterdir() if p.name.endswith(".tmp")] == []


# ---------------------------------------------------------------- 13. keys


@pytest.mark.parametrize(("key", "why"), [
    pytest.param("a b", "a space", id="space"),
    pytest.param("a\tb", "a tab", id="tab"),
    pytest.param("a\x00b", "an invisible or control character (U+0000)", id="nul"),
    pytest.param("a%41", "a %", id="percent"),
    pytest.param("a#b", "a #", id="hash"),
    pytest.param("a(b", "a parenthesis", id="parenthesis"),
    pytest.param("", "the entry has no key", id="empty"),
])
def test_keys_bibtex_cannot_read_are_named_by_check_and_export(
        tmp_path: Path, key: str, why: str, cli: Cli) -> None:
    root = survey(tmp_path, TITLED.format(key=key, title="Odd")
                  + TITLED.format(key="fine", title="Fine"))
    cli("-C", root, "build")
    found = json.loads(cli("-C", root, "check", "--format", "json").stdout)["findings"]
    bad = [f for f in found if f["rule"] == "bad-key"]
    assert len(bad) == 1 and why in bad[0]["message"] and bad[0]["level"] == "error"
    for fmt in ("bibtex", "biblatex"):
        result = cli("-C", root, "export", "--format", fmt)
        assert result.exit_code == 1
        assert f"; left out of the {'BibTeX' if fmt == 'bibtex' else 'BibLaTeX'} export" \
            in result.stderr
        assert "@misc{fine," in result.stdout and "Odd" not in result.stdout


def test_an_entry_without_a_key_or_title_is_no_blank_readme_row(
        tmp_path: Path, cli: Cli) -> None:
    root = survey(tmp_path, "@misc{, taxonomy = {A}}\n" + TITLED.format(key="k", title="T"))
    assert cli("-C", root, "build").exit_code == 0
    readme = (root / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("| ")][2:]
    assert all(not row.startswith("|  |") for row in rows), rows
    assert any("(an entry without a key)" in row for row in rows)
    assert "](#)" not in readme


def test_add_is_all_or_nothing_for_a_key_too_long_for_a_file_name(
        tmp_path: Path, cli: Cli) -> None:
    root = survey(tmp_path, TITLED.format(key="k", title="T"))
    before = (root / "survey.bib").read_bytes()
    pasted = "@article{x, title={New paper}, author={Øster, Anna}, year={2019}}\n"
    result = cli("-C", root, "add", "-", "--key", "键" * 100, input=pasted)
    assert result.exit_code == 2
    assert "makes a note file name of 303 bytes, over the 255" in result.stderr
    assert (root / "survey.bib").read_bytes() == before
    assert not (root / "notes").exists() or list((root / "notes").iterdir()) == []


def test_a_generated_key_keeps_letters_without_a_decomposition(
        tmp_path: Path, cli: Cli) -> None:
    root = survey(tmp_path, TITLED.format(key="k", title="T"))
    pasted = "@article{, title={Ørsted and the magnet}, author={Øster, Anna}, year={2019}}\n"
    result = cli("-C", root, "add", "-", input=pasted)
    assert result.exit_code == 0, result.output
    assert "@article{oster2019orsted," in result.stdout


# ---------------------------------------------------------------- 16. diagnostics


@pytest.mark.parametrize("value", [
    pytest.param("10.1/x\n::error file=x.yml::injected", id="newline-workflow-command"),
    pytest.param("10.1/x\x1b]0;owned\x07", id="osc-escape"),
    pytest.param("10.1/x\u202e\u2066gpj.exe", id="bidi-override"),
])
@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_values_in_diagnostics_are_escaped(tmp_path: Path, value: str, fmt: str,
                                           cli: Cli) -> None:
    bib = f"@misc{{k\x1b[31m, title={{T}}, doi={{{value}}}, year={{{value}}}}}\n"
    root = survey(tmp_path, bib)
    result = cli("-C", root, "check", "--format", fmt)
    assert result.exit_code == 1
    out = result.stdout + result.stderr
    lines = out.splitlines()
    assert not [line for line in lines if line.startswith("::error file=x.yml")]
    for char in ("\x1b", "\x07", "\u202e", "\u2066"):
        assert char not in out
    if fmt == "json":
        assert any(f["rule"] == "bad-doi" for f in json.loads(result.stdout)["findings"])


# ---------------------------------------------------------------- smaller


@pytest.mark.parametrize(("head", "args", "message"), [
    pytest.param("% -*- coding: rot13 -*-\n", [], "'rot13' (from its coding line (rot13)) is "
                 "not a text encoding", id="rot13"),
    pytest.param("", ["--encoding", "hex"], "'hex' (from --encoding hex) is not a text "
                 "encoding", id="hex"),
])
def test_codecs_that_are_not_text_encodings_are_a_clear_error(
        tmp_path: Path, head: str, args: list[str], message: str,
        cli: Cli) -> None:
    root = tmp_path
    (root / "survey.bib").write_bytes(head.encode() + b"@misc{k, title={caf\xe9}}\n")
    result = cli("-C", root, *args, "check")
    assert result.exit_code == 1
    assert message in result.stderr and "internal error" not in result.stderr


def test_a_configured_codec_that_is_not_a_text_encoding_names_the_setting(
        tmp_path: Path, cli: Cli) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.surveybib]\nencoding = "rot13"\n',
                                             encoding="utf-8")
    (tmp_path / "survey.bib").write_bytes(b"@misc{k, title={caf\xe9}}\n")
    result = cli("-C", tmp_path, "check")
    assert result.exit_code == 1
    assert "survey.bib: 'rot13' (from [tool.surveybib] encoding = 'rot13') is not a text " \
           "encoding" in result.stderr


def test_a_file_with_cr_line_ends_reports_the_right_lines(tmp_path: Path,
                                                          cli: Cli) -> None:
    (tmp_path / "survey.bib").write_bytes(
        b"@misc{a, title={A}}\r@misc{b, title={B}, doi={bad}}\r\r@misc{c, title={C}, year={x}}\r")
    result = cli("-C", tmp_path, "check")
    assert "survey.bib:2: b: doi 'bad' is not a DOI" in result.stderr
    assert "survey.bib:4: c: year 'x' is not a year" in result.stderr


@pytest.mark.parametrize("fmt", ["bibtex", "biblatex", "csl-json", "ris", "text"])
def test_a_month_of_4300_digits_does_not_fail_exports(tmp_path: Path, fmt: str,
                                                      cli: Cli) -> None:
    root = survey(tmp_path, "@article{k, title={T}, author={A B}, journal={J}, year={2020}, "
                  f"month={{{'1' * 4_300}}}, day={{{'2' * 5_000}}}}}\n"
                  "@misc{j, title={J}, year={2020}, month={²}, day={³}}\n")
    result = cli("-C", root, "export", "--format", fmt)
    assert result.exit_code == 0, result.output
    assert "internal error" not in result.stderr


def test_thousands_of_categories_cost_linear_time(tmp_path: Path,
                                                  cli: Cli) -> None:
    """20,000 categories took 9 s: each was looked up in lists of all the others."""

    def run_at(n: int) -> None:
        names = [f"Category {i}" for i in range(n)]
        bib = (f"@misc{{a, title={{A}}, taxonomy={{{'; '.join(names)}}}}}\n"
               f"@misc{{b, title={{B}}, taxonomy={{{'; '.join(n + 'x' for n in names)}}}}}\n")
        root = survey(tmp_path / str(n), bib,
                      pyproject__toml=f"[tool.surveybib]\ntaxonomy = {json.dumps(names)}\n")
        result = cli("-C", root, "export", "--taxonomy", "Category 1")
        assert result.exit_code == 0 and "@misc{a," in result.stdout

    assert_linear(run_at, 2_000)


def test_thousands_of_findings_are_counted_readably(tmp_path: Path, cli: Cli) -> None:
    """20,000 categories gave "20000 errors": the counts a summary line prints are grouped
    by thousands, as the limits and the rest of the messages write numbers."""
    bib = "".join(f"@misc{{k{i}, title = {{Paper {i}}}}}\n" for i in range(1_200))
    root = survey(tmp_path, bib)
    assert cli("-C", root, "build").exit_code == 0
    result = cli("-C", root, "check")
    assert "1,200 finding(s): 0 errors, 1,200 warnings" in result.stderr.splitlines()


@pytest.mark.parametrize("line", [
    pytest.param("### a{spaces}b", id="spaces-inside"),
    pytest.param("###{spaces}", id="blanks-only"),
])
def test_an_issue_body_heading_costs_linear_time(line: str) -> None:
    """`### a` + 60,000 spaces + `b` in an issue body took 6 s (400,000: minutes) in the
    add-paper workflow, which any GitHub user can start: the heading pattern was lazy."""
    def run_at(n: int) -> None:
        body = ("### DOI or arXiv id\n\n10.1145/3448016.3452841\n\n"
                + line.format(spaces=" " * n) + "\n\nx\n")
        assert parse_body(body, ["A"]).paper == "10.1145/3448016.3452841"

    assert_linear(run_at, 50_000)


@pytest.mark.parametrize(("body", "reason"), [
    pytest.param("{{ cycler.__init__.__globals__.os.system('touch PWNED') }}",
                 "access to attribute '__init__' of 'type' object is unsafe", id="code"),
    pytest.param("{{ ('x' * 1500000000)|length }}",
                 "a value of more than 10,000,000 characters or items", id="memory"),
    pytest.param("{% for i in range(10**12) %}{% endfor %}",
                 "a number above 100,000 as an argument", id="huge-range"),
    pytest.param("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
                 "{% endfor %}", "loops of more than 5,000,000 steps in all", id="nested-loops"),
    pytest.param("{{ 'x'|center(1000000000) }}", "a number above 100,000 as an argument",
                 id="filter-width"),
    pytest.param("{{ '%999999999d' % 1 }}", "a field width above 100,000", id="format-width"),
    pytest.param("{{ 2**100000 }}", "a power above 2**64", id="power"),
    pytest.param("{{ 10.0**400 }}", "a power above 2**64", id="float-power"),
])
def test_a_survey_s_own_template_runs_sandboxed_and_bounded(
        tmp_path: Path, cli: Cli, body: str, reason: str) -> None:
    """A stranger's templates/README.md.j2 ran any code (`cycler.__init__.__globals__.os`)
    and claimed any time or memory, under `check` in the pull-request workflow too."""
    root = survey(tmp_path / "s", TITLED.format(key="k", title="T"))
    (root / "templates").mkdir()
    (root / "templates" / "README.md.j2").write_text(
        '{% extends "surveybib/README.md.j2" %}\n{% block intro %}'
        + body.replace("PWNED", str(tmp_path / "pwned")) + "{% endblock %}\n", encoding="utf-8")
    for command in ("build", "check"):
        result = cli("-C", root, command)
        assert result.exit_code == 1, result.output
        assert f"templates/README.md.j2:2: template error: {reason}" in result.stderr
    assert not (tmp_path / "pwned").exists()
    (root / "templates" / "README.md.j2").write_text(
        '{% extends "surveybib/README.md.j2" %}\n{% block intro %}{{ papers|length }} '
        "{{ '%5d' % 3 }} {{ 'ab' * 2 }}{% for i in range(3) %}{{ i }}{% endfor %}"
        "{% endblock %}\n", encoding="utf-8")
    assert cli("-C", root, "build").exit_code == 0  # what a template needs still works
    assert "1     3 abab012" in (root / "README.md").read_text(encoding="utf-8")


def test_a_csl_style_past_the_text_limit_is_refused_by_name(tmp_path: Path, cli: Cli) -> None:
    """`--csl` was parsed whole, however large: the style now reads as every other text
    file surveybib takes, a regular file of at most 4 MiB."""
    root = survey(tmp_path, TITLED.format(key="k", title="T"))
    style = root / "big.csl"
    style.write_text('<style xmlns="http://purl.org/net/xbiblio/csl">' + "<!-- x -->" * 500_000
                     + "</style>\n", encoding="utf-8")
    result = cli("-C", root, "export", "--format", "text", "--csl", str(style))
    assert result.exit_code == 1
    assert f"{style}: 5,000,056 bytes, over the 4,194,304-byte limit surveybib reads" \
        in result.stderr
