"""`surveybib init`: a new survey repository that builds and checks at once; refusals that
name every file in the way; `--here` filling in only what an existing survey lacks;
`--update`; and the repository's own workflows and form, which are init's output."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from surveybib import __version__
from surveybib.bibtex.parse import parse_bib
from surveybib.cli import main
from surveybib.config import load_settings
from surveybib.files import write_new_atomic
from surveybib.issueform import FORM_PATH
from surveybib.scaffold.files import (
    ADD_WORKFLOW,
    CHECK_WORKFLOW,
    PAGES_WORKFLOW,
    default_spec,
    github_files,
    origin_note,
)

REPO = Path(__file__).resolve().parents[1]
NEW_FILES = ["pyproject.toml", "survey.bib", "notes/.gitkeep", "INTRO.md", "Makefile",
             ".gitignore", CHECK_WORKFLOW, ADD_WORKFLOW, PAGES_WORKFLOW, FORM_PATH]


def run(*args: str, cwd: Path | None = None) -> Result:
    env = {"SURVEYBIB_OFFLINE": "1"}
    if cwd is not None:
        args = ("-C", str(cwd), *args)
    return CliRunner().invoke(main, list(args), env=env)


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_init_makes_a_survey_that_builds_and_checks(tmp_path: Path) -> None:
    result = run("init", str(tmp_path / "llm"), "--title", "Efficient LLMs",
                 "--taxonomy", "Quantization", "--taxonomy", "Dynamic Inference", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    root = tmp_path / "llm"
    assert files_under(root) == sorted(NEW_FILES)
    assert [line.split()[1] for line in result.stderr.splitlines()[:10]] == NEW_FILES
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    assert config == {"tool": {"surveybib": {
        "title": "Efficient LLMs", "taxonomy": ["Quantization", "Dynamic Inference"],
        "issue_form": True, "site": "site"}}}  # no [project]: a survey is no Python package
    bib = parse_bib((root / "survey.bib").read_text(encoding="utf-8"), "survey.bib")
    assert (bib.entries, bib.problems) == ((), ())  # the example is only a comment
    assert "surveybib add 10.1145/3620666.3651335 --taxonomy Quantization" in \
        (root / "survey.bib").read_text(encoding="utf-8")
    assert f"SURVEYBIB_SPEC ?= surveybib=={__version__}\n" in \
        (root / "Makefile").read_text(encoding="utf-8")
    assert run("build", cwd=root).exit_code == 0
    assert (root / "site" / "index.html").is_file()  # the explorer, which git ignores
    assert "/site/\n" in (root / ".gitignore").read_text(encoding="utf-8")
    checked = run("check", cwd=root)
    assert checked.exit_code == 0, checked.output
    assert "0 finding(s)" in checked.stderr
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "# Efficient LLMs" in readme and "A reading list on Efficient LLMs" in readme


def test_init_in_the_current_folder_takes_its_name(tmp_path: Path) -> None:
    root = tmp_path / "reading-group"
    root.mkdir()
    (root / "LICENSE").write_text("MIT\n", encoding="utf-8")  # other files are fine
    assert run("init", cwd=root).exit_code == 0
    assert load_settings(root).title == "reading-group"
    assert (root / "LICENSE").read_text(encoding="utf-8") == "MIT\n"


def test_init_refuses_to_overwrite_and_names_each_file(tmp_path: Path) -> None:
    (tmp_path / "Makefile").write_text("all:\n", encoding="utf-8")
    (tmp_path / "survey.bib").write_text("@misc{a, title={A}}\n", encoding="utf-8")
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / CHECK_WORKFLOW).write_text("name: mine\n", encoding="utf-8")
    before = {p: (tmp_path / p).read_bytes() for p in files_under(tmp_path)}
    result = run("init", "--taxonomy", "A", cwd=tmp_path)
    assert result.exit_code == 1
    assert result.stderr == (
        f"surveybib: {tmp_path}: survey.bib, Makefile, {CHECK_WORKFLOW} already exist; "
        "nothing written (`surveybib init --here` fills in only what is missing)\n")
    assert {p: (tmp_path / p).read_bytes() for p in files_under(tmp_path)} == before


def test_init_names_a_single_file_in_the_way(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    result = run("init", cwd=tmp_path)
    assert result.exit_code == 1
    assert "notes/ already exists; nothing written" in result.stderr
    assert files_under(tmp_path) == []


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["--taxonomy", "A", "--taxonomy", "A"], "--taxonomy lists 'A' more than once",
                 id="repeated-category"),
    pytest.param(["--taxonomy", " "], "--taxonomy: a category needs a name", id="blank"),
    pytest.param(["--spec", "surveybib'; rm -rf ~"], "--spec", id="quote-in-spec"),
    pytest.param(["--update"], "--update goes with --here", id="update-alone"),
])
def test_init_bad_usage(tmp_path: Path, args: list[str], message: str) -> None:
    result = run("init", *args, cwd=tmp_path)
    assert result.exit_code == 2
    assert message in result.stderr
    assert files_under(tmp_path) == []


def test_any_title_and_category_stay_data_in_toml_and_yaml(tmp_path: Path) -> None:
    names = ['a "quoted" \\ name', "yes", "# not a comment", "x = 1", "[table]", "大算子",
             "tab\tin", "del\x7f", "@at"]
    title = 'T "1" \\ \n[tool.evil]'
    args = [arg for name in names for arg in ("--taxonomy", name)]
    result = run("init", "--title", title, *args, cwd=tmp_path)
    assert result.exit_code == 0, result.output
    settings = load_settings(tmp_path)
    assert (settings.title, list(settings.taxonomy)) == (title.strip(), names)
    bib = parse_bib((tmp_path / "survey.bib").read_text(encoding="utf-8"), "survey.bib")
    assert (bib.entries, bib.problems) == ((), ())  # '@at' is never the example category
    form = yaml.safe_load((tmp_path / FORM_PATH).read_text(encoding="utf-8"))
    dropdown = next(i for i in form["body"] if i["type"] == "dropdown")
    assert dropdown["attributes"]["options"] == [n for n in names if n.isprintable()]
    assert run("build", cwd=tmp_path).exit_code == 0
    assert run("check", cwd=tmp_path).exit_code == 0


# ---------------------------------------------------------------- --here


EXISTING_BIB = """\
@misc{a, title = {Paper A}, year = {2023}, taxonomy = {Pruning; Quantization}}
@misc{b, title = {Paper B}, year = {2024}, taxonomy = {Distillation}}
@misc{c, title = {Paper C}, year = {2024}, taxonomy = {Quantization}}
"""


def test_here_fills_in_only_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "survey.bib").write_text(EXISTING_BIB, encoding="utf-8")
    (tmp_path / "INTRO.md").write_text("Our reading group's list.\n", encoding="utf-8")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.md").write_text("Good.\n", encoding="utf-8")
    result = run("init", "--here", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert "kept (they exist): notes/, INTRO.md\n" in result.stderr
    assert (tmp_path / "survey.bib").read_text(encoding="utf-8") == EXISTING_BIB
    assert (tmp_path / "INTRO.md").read_text(encoding="utf-8") == "Our reading group's list.\n"
    assert not (tmp_path / "notes" / ".gitkeep").exists()
    settings = load_settings(tmp_path)
    assert settings.taxonomy == ("Pruning", "Quantization", "Distillation")  # as first used
    assert settings.title == tmp_path.name
    assert (tmp_path / "Makefile").is_file() and (tmp_path / ADD_WORKFLOW).is_file()
    assert run("build", cwd=tmp_path).exit_code == 0
    assert run("check", cwd=tmp_path).exit_code == 0
    again = run("init", "--here", cwd=tmp_path)
    assert again.exit_code == 0
    assert "created" not in again.stderr  # nothing is missing any more


def test_here_adds_the_table_to_a_python_projects_pyproject(tmp_path: Path) -> None:
    project = '[project]\nname = "mytool"\nversion = "1.0"\n\n[tool.ruff]\nline-length = 99\n'
    (tmp_path / "pyproject.toml").write_text(project, encoding="utf-8")
    (tmp_path / "survey.bib").write_text(EXISTING_BIB, encoding="utf-8")
    result = run("init", "--here", "--title", "Compression", "--taxonomy", "Pruning", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert "updated pyproject.toml" in result.stderr
    text = (tmp_path / "pyproject.toml").read_text(encoding="utf-8")
    assert text.startswith(project)  # the project's own text stays, byte for byte
    config = tomllib.loads(text)
    assert config["project"]["name"] == "mytool"
    assert config["tool"]["surveybib"]["taxonomy"] == ["Pruning"]
    assert "No Python package is built" not in text


def test_here_leaves_an_existing_config_alone(tmp_path: Path) -> None:
    config = '[tool.surveybib]\ntitle = "Mine"\ntaxonomy = ["Pruning"]\nbib = "refs.bib"\n'
    (tmp_path / "pyproject.toml").write_text(config, encoding="utf-8")
    (tmp_path / "refs.bib").write_text(EXISTING_BIB, encoding="utf-8")
    refused = run("init", "--here", "--taxonomy", "Other", cwd=tmp_path)
    assert refused.exit_code == 2
    assert "change the title and taxonomy there" in refused.stderr
    assert files_under(tmp_path) == ["pyproject.toml", "refs.bib"]
    result = run("init", "--here", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "pyproject.toml").read_text(encoding="utf-8") == config
    assert not (tmp_path / "survey.bib").exists()  # the configured bib is the survey's
    assert "refs.bib (the papers)" in (tmp_path / CHECK_WORKFLOW).read_text(encoding="utf-8")
    form = yaml.safe_load((tmp_path / FORM_PATH).read_text(encoding="utf-8"))
    assert "Mine" in form["description"]


GITHUB_GITIGNORE = "# Byte-compiled / optimized\n__pycache__/\n*.py[cod]\n\n# Environments\nenv/\n"


def test_here_starts_a_survey_in_a_repository_github_made(tmp_path: Path) -> None:
    """A repository created on GitHub with a README, a licence and a .gitignore, cloned:
    `init` names .gitignore and points at `init --here`, which then works."""
    (tmp_path / "README.md").write_text("# reading-group\n", encoding="utf-8")
    (tmp_path / "LICENSE").write_text("MIT\n", encoding="utf-8")
    (tmp_path / ".gitignore").write_text(GITHUB_GITIGNORE, encoding="utf-8")
    refused = run("init", "--taxonomy", "A", cwd=tmp_path)
    assert refused.exit_code == 1
    assert ".gitignore already exists; nothing written (`surveybib init --here` fills in " \
        "only what is missing)" in refused.stderr
    result = run("init", "--here", "--taxonomy", "A", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert "created survey.bib\n" in result.stderr
    assert "updated .gitignore\n" in result.stderr
    ignore = (tmp_path / ".gitignore").read_text(encoding="utf-8")
    assert ignore.startswith(GITHUB_GITIGNORE)  # theirs, byte for byte, then ours
    assert ignore[len(GITHUB_GITIGNORE):] == "\n# surveybib\n.venv/\n*.tmp\n/site/\n"
    assert "README.md exists and was not written by surveybib" in result.stderr
    assert load_settings(tmp_path).taxonomy == ("A",)
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == "# reading-group\n"
    (tmp_path / "README.md").unlink()
    assert run("build", cwd=tmp_path).exit_code == 0
    assert run("check", cwd=tmp_path).exit_code == 0
    again = run("init", "--here", cwd=tmp_path)
    assert "created" not in again.stderr and "updated" not in again.stderr


def test_here_leaves_a_gitignore_that_has_our_lines(tmp_path: Path) -> None:
    (tmp_path / "survey.bib").write_text(EXISTING_BIB, encoding="utf-8")
    (tmp_path / ".gitignore").write_text("/.venv\n__pycache__\n*.tmp\nsite\n", encoding="utf-8")
    result = run("init", "--here", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / ".gitignore").read_text(encoding="utf-8") == \
        "/.venv\n__pycache__\n*.tmp\nsite\n"
    assert ".gitignore" in result.stderr.split("kept (they exist): ")[1]


def test_update_writes_the_workflows_again_and_nothing_else(tmp_path: Path) -> None:
    assert run("init", "--taxonomy", "A", cwd=tmp_path).exit_code == 0
    fresh = (tmp_path / ADD_WORKFLOW).read_text(encoding="utf-8")
    (tmp_path / ADD_WORKFLOW).write_text("name: edited by hand\n", encoding="utf-8")
    (tmp_path / "Makefile").write_text("readme:\n\techo mine\n", encoding="utf-8")
    result = run("init", "--here", "--update", "--spec", "surveybib>=0.1", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert f"updated {ADD_WORKFLOW}" in result.stderr
    updated = (tmp_path / ADD_WORKFLOW).read_text(encoding="utf-8")
    assert updated == fresh.replace(f'"surveybib=={__version__}"', '"surveybib>=0.1"')
    assert (tmp_path / "Makefile").read_text(encoding="utf-8") == "readme:\n\techo mine\n"


def test_update_gives_the_makefile_the_workflows_spec(tmp_path: Path) -> None:
    """`--update --spec` is how a survey started with an unpublished release switches to
    what pip can install: the Makefile and the workflows never disagree about it."""
    assert run("init", "--taxonomy", "A", cwd=tmp_path).exit_code == 0
    before = (tmp_path / "Makefile").read_text(encoding="utf-8")
    wheel = "./wheels/surveybib-0.1.0-py3-none-any.whl"
    result = run("init", "--here", "--update", "--spec", wheel, cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert "updated Makefile\n" in result.stderr
    after = (tmp_path / "Makefile").read_text(encoding="utf-8")
    assert after == before.replace(f"SURVEYBIB_SPEC ?= surveybib=={__version__}\n",
                                   f"SURVEYBIB_SPEC ?= {wheel}\n")
    for workflow in (ADD_WORKFLOW, CHECK_WORKFLOW, PAGES_WORKFLOW):
        assert f'SURVEYBIB_SPEC: "{wheel}"' in (tmp_path / workflow).read_text("utf-8")
    again = run("init", "--here", "--update", "--spec", wheel, cwd=tmp_path)
    assert "updated" not in again.stderr  # nothing to change any more
    assert f"{ADD_WORKFLOW}, {PAGES_WORKFLOW}, {FORM_PATH}\n" in again.stderr  # kept


@pytest.mark.parametrize(("origin", "spec", "note"), [
    pytest.param(None, f"surveybib=={__version__}", "", id="from-an-index"),
    pytest.param({"url": "https://github.com/o/surveybib.git",
                  "vcs_info": {"vcs": "git", "commit_id": "0f3c", "requested_revision": "v1"}},
                 "surveybib @ git+https://github.com/o/surveybib.git@0f3c", "",
                 id="from-git"),
    pytest.param({"url": "https://github.com/o/mono", "subdirectory": "tools/surveybib",
                  "vcs_info": {"vcs": "git", "commit_id": "0f3c"}},
                 "surveybib @ git+https://github.com/o/mono@0f3c#subdirectory=tools/surveybib",
                 "", id="from-git-subdirectory"),
    pytest.param({"url": "https://example.org/surveybib-0.1.0-py3-none-any.whl",
                  "archive_info": {}},
                 "surveybib @ https://example.org/surveybib-0.1.0-py3-none-any.whl", "",
                 id="from-a-url"),
    pytest.param({"url": "file:///home/ada/dist/surveybib-0.1.0-py3-none-any.whl",
                  "archive_info": {}}, f"surveybib=={__version__}",
                 "--spec ./wheels/surveybib-0.1.0-py3-none-any.whl", id="from-a-wheel-file"),
    pytest.param({"url": "file:///home/ada/surveybib", "dir_info": {"editable": True}},
                 f"surveybib=={__version__}", "git URL", id="from-a-folder"),
    pytest.param({"url": "https://x/y'$(id)", "vcs_info": {"vcs": "git", "commit_id": "1"}},
                 f"surveybib=={__version__}", "", id="unsafe-url"),
])
def test_the_default_spec_follows_where_surveybib_came_from(
        origin: dict[str, Any] | None, spec: str, note: str) -> None:
    assert default_spec(origin) == spec
    said = origin_note(origin, spec)
    assert (note in said) if note else said == ""
    if note:
        assert f"'surveybib=={__version__}'" in said and "not on PyPI" in said


def test_this_repository_carries_what_init_writes() -> None:
    """Regenerate with `surveybib init --here --update --spec .`."""
    settings = load_settings(REPO)
    assert settings.issue_form is True
    for item in github_files(settings.title, settings.taxonomy, "."):
        assert (REPO / item.path).read_text(encoding="utf-8") == item.text, item.path


def test_write_new_atomic_never_replaces(tmp_path: Path) -> None:
    target = tmp_path / "a" / "file.txt"
    write_new_atomic(target, b"first")
    with pytest.raises(FileExistsError):
        write_new_atomic(target, b"second")
    assert target.read_bytes() == b"first"
    assert os.listdir(target.parent) == ["file.txt"]  # no temporary file left behind
