"""The package as a stranger gets it: `python -m build` makes a wheel and an sdist with
every template and style inside; the wheel, installed into a fresh venv with nothing else,
starts a survey with `surveybib init`, adds two papers (one from an issue form's body),
builds it and passes `surveybib check`; and the new survey's own `make readme` sets up
its venv and builds.

Nothing here uses the network but the fake API on 127.0.0.1: surveybib's dependencies
come from the wheelhouse `make test` (and so .ci/run) fills, `.ci/wheels`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakeapi import SPECINFER_DOI, add_specinfer

from surveybib import __version__

REPO = Path(__file__).resolve().parents[1]
WHEELHOUSE = Path(os.environ.get("SURVEYBIB_WHEELHOUSE", REPO / ".ci" / "wheels"))
PACKAGED = [  # data files a survey cannot work without
    "surveybib/py.typed",
    "surveybib/readme/templates/README.md.j2",
    "surveybib/readme/templates/note.md.j2",
    "surveybib/export/styles/surveybib-numeric.csl",
    "surveybib/scaffold/templates/issue-form.yml.j2",
    "surveybib/scaffold/templates/add-paper.yml.j2",
    "surveybib/scaffold/templates/check.yml.j2",
    "surveybib/scaffold/templates/Makefile.j2",
    "surveybib/scaffold/templates/survey.bib.j2",
    "surveybib/site/templates/site.html.j2",
    "surveybib/site/templates/site-base.html.j2",
    "surveybib/site/templates/site-paper.html.j2",
    "surveybib/site/assets/explorer.js",
    "surveybib/site/assets/explorer.css",
]
ISSUE = ("### DOI or arXiv id\n\n10.1145/3448016.3452841\n\n### Title\n\n_No response_\n\n"
         "### First author\n\n_No response_\n\n### Year\n\n_No response_\n\n"
         "### Category\n\nSystems\n\n### Reader\n\nAda\n\n"
         "### Note\n\nTheir **index** beats ours.\r\n\r\n- fast\r\n- small")


def _require_wheelhouse() -> None:
    if not (WHEELHOUSE / ".complete").is_file():
        if os.environ.get("CI") == "true":
            raise AssertionError(f"{WHEELHOUSE} is missing, and CI must have it (make test)")
        pytest.skip(f"{WHEELHOUSE} is absent: `make test` downloads the runtime wheels")


def sh(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    out = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                         env={**os.environ, **(env or {})})
    assert out.returncode == 0, f"{args}\n{out.stdout}\n{out.stderr}"
    return out.stdout + out.stderr


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel and sdist `python -m build` makes, from a copy of the sources (the build
    writes egg-info and build/ beside them)."""
    pytest.importorskip("build")
    source = tmp_path_factory.mktemp("source")
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    shutil.copytree(REPO / "src", source / "src", ignore=ignore)
    for name in ("pyproject.toml", "docs/usage.md", "CHANGELOG.md"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, source / name)
    out = source / "dist"
    sh(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, source, cwd=source)
    return out


@pytest.fixture(scope="module")
def installed(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel and its dependencies from the wheelhouse, nothing else."""
    _require_wheelhouse()
    venv = tmp_path_factory.mktemp("venv")
    sh(sys.executable, "-m", "venv", venv, cwd=venv)
    (wheel,) = dist.glob("surveybib-*.whl")
    sh(venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-index",
       "--find-links", WHEELHOUSE, wheel, cwd=venv)
    return venv


def wheel_of(venv: Path) -> str:
    """The file:// URL the venv's surveybib was installed from (PEP 610)."""
    import json

    (record,) = venv.glob("lib/python*/site-packages/surveybib-*.dist-info/direct_url.json")
    url: str = json.loads(record.read_text(encoding="utf-8"))["url"]
    return url


@pytest.fixture
def api(fake_api: Any) -> Iterator[dict[str, str]]:
    add_specinfer(fake_api)
    yield {"SURVEYBIB_CROSSREF_URL": fake_api.url, "SURVEYBIB_DATACITE_URL": fake_api.url,
           "SURVEYBIB_OFFLINE": "", "SURVEYBIB_MAILTO": "", "SURVEYBIB_RETRIES": "0"}


def test_wheel_and_sdist_hold_every_template(dist: Path) -> None:
    (wheel,) = dist.glob(f"surveybib-{__version__}-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert set(PACKAGED) <= names
    assert f"surveybib-{__version__}.dist-info/entry_points.txt" in names
    (sdist,) = dist.glob(f"surveybib-{__version__}.tar.gz")
    with tarfile.open(sdist) as archive:
        inside = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
    assert {f"src/{name}" for name in PACKAGED} <= inside


def test_a_stranger_starts_fills_and_checks_a_survey(installed: Path, api: dict[str, str],
                                                     tmp_path: Path) -> None:
    bin_ = installed / "bin"
    assert sh(bin_ / "surveybib", "--version", cwd=tmp_path) == \
        f"surveybib, version {__version__}\n"
    listed = sh(bin_ / "python", "-m", "pip", "list", "--format=freeze", cwd=tmp_path)
    assert not {"pytest", "ruff", "mypy", "hypothesis"} & {
        line.split("==")[0].lower() for line in listed.splitlines()}
    survey = tmp_path / "survey"
    started = sh(bin_ / "surveybib", "init", survey, "--title", "Serving LLMs", "--taxonomy",
                 "Speculative Decoding", "--taxonomy", "Systems", cwd=tmp_path)
    # installed from a wheel file, not an index: init says what the survey will pip install
    assert f"note: this surveybib was installed from {wheel_of(installed)}" in started
    assert f"--spec ./wheels/surveybib-{__version__}-py3-none-any.whl" in started
    sh(bin_ / "surveybib", "add", SPECINFER_DOI, "--taxonomy", "Speculative Decoding",
       cwd=survey, env=api)
    (tmp_path / "issue.md").write_text(ISSUE, encoding="utf-8")
    answer = sh(bin_ / "surveybib", "add", "--from-issue", tmp_path / "issue.md", "--format",
                "github", cwd=survey, env=api)
    assert "Adds the paper below to survey.bib" in answer
    sh(bin_ / "surveybib", "build", cwd=survey, env=api)
    checked = sh(bin_ / "surveybib", "check", cwd=survey, env=api)
    assert "0 errors" in checked
    readme = (survey / "README.md").read_text(encoding="utf-8")
    assert "SpecInfer" in readme and "Their **index** beats ours." in readme
    assert (survey / "notes" / "miao2024specinfer.md").is_file()


def test_the_new_surveys_make_readme_sets_itself_up(installed: Path, dist: Path,
                                                    tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    survey = tmp_path / "survey"
    sh(installed / "bin" / "surveybib", "init", survey, "--taxonomy", "A", cwd=tmp_path)
    (wheel,) = dist.glob("surveybib-*.whl")
    pip_flags = f"PIP_FLAGS=--no-index --find-links {WHEELHOUSE}"
    # the release the Makefile names is on no index here (nor, today, on PyPI)
    first = subprocess.run(["make", "readme", pip_flags], cwd=survey, capture_output=True,
                           text=True, env={**os.environ, "SURVEYBIB_OFFLINE": "1"})
    assert first.returncode != 0
    assert f"pip could not install 'surveybib=={__version__}'" in first.stderr
    assert "set SURVEYBIB_SPEC to the surveybib you have" in first.stderr
    out = sh("make", "readme", f"SURVEYBIB_SPEC={wheel}", pip_flags, cwd=survey,
             env={"SURVEYBIB_OFFLINE": "1"})
    assert "wrote README.md" in out
    assert (survey / ".venv" / "bin" / "surveybib").is_file()
    assert (survey / "README.md").is_file()
    again = sh("make", "check", cwd=survey, env={"SURVEYBIB_OFFLINE": "1"})
    assert "pip install" not in again  # set up once, on the first run
