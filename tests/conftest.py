"""Shared fixtures. The whole test run is kept off the internet by a guard that
refuses every connection not made to the loopback interface, keeps its caches (and
anything else written under HOME) in a temporary folder, and reads its data from
tests/data (SOURCES.md there names where each file comes from). Only the corpus sweep
(tests marked `corpora`) reads files from outside the repository: the folder named by
SURVEYBIB_CORPORA."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import pytest
from click.testing import CliRunner, Result
from localserver import serving

from surveybib.cli import main

pytest_plugins = ["chromium"]  # the browser and serve fixtures

TESTS = Path(__file__).resolve().parent
DATA = TESTS / "data"
# Read before the session drops the developer's SURVEYBIB_* settings (see `clean_environment`).
_CORPORA = os.environ.get("SURVEYBIB_CORPORA")
CORPORA = Path(_CORPORA).resolve() if _CORPORA else None
IN_CI = os.environ.get("CI") == "true"


def _is_loopback(address: Any) -> bool:
    if isinstance(address, tuple):
        host = address[0]
    else:  # AF_UNIX paths are local by construction
        return True
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if not _is_loopback(address):
        raise ConnectionRefusedError(f"test guard: refusing non-loopback connection to {address!r}")
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    if not _is_loopback(address):
        raise ConnectionRefusedError(f"test guard: refusing non-loopback connection to {address!r}")
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True, scope="session")
def no_internet() -> Iterator[None]:
    """Refuse any connection that is not to 127.0.0.0/8 or ::1."""
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]


@pytest.fixture(autouse=True, scope="session")
def clean_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """HOME and XDG_CACHE_HOME in a temporary folder (the jinja bytecode cache, and anything
    a subprocess such as Chromium keeps under HOME, never touch the user's home), and no
    SURVEYBIB_* setting of the developer's shell leaks into a test. The APIs default to a
    closed port on 127.0.0.1 (the `fake_api` fixture points them at the fake)."""
    home = tmp_path_factory.mktemp("home")
    saved = dict(os.environ)
    for name in [n for n in os.environ if n.startswith("SURVEYBIB_")]:
        del os.environ[name]
    os.environ["HOME"] = str(home)
    os.environ["XDG_CACHE_HOME"] = str(home / ".cache")
    for api in ("CROSSREF", "DATACITE", "S2", "HF"):
        os.environ[f"SURVEYBIB_{api}_URL"] = "http://127.0.0.1:9/"
    try:
        yield home
    finally:
        os.environ.clear()
        os.environ.update(saved)


def corpus_path(*parts: str) -> Path:
    """A file of the corpus sweep, under SURVEYBIB_CORPORA (only for tests marked `corpora`,
    which are skipped, or fail in CI, when it is unset)."""
    if CORPORA is None:
        raise AssertionError("corpus_path() outside the sweep: mark the test `corpora`")
    path = CORPORA.joinpath(*parts)
    if not path.exists():
        raise AssertionError(f"{path} is missing (SURVEYBIB_CORPORA={CORPORA})")
    return path


def corpus_files(*folders: str) -> list[str]:
    """The .bib files under SURVEYBIB_CORPORA/FOLDER..., as 'folder/name.bib' paths for
    parametrize; one placeholder (whose test is skipped) when the variable is unset."""
    if CORPORA is None:
        return ["<SURVEYBIB_CORPORA unset>"]
    tops = [CORPORA / f for f in folders] if folders else [CORPORA]
    return sorted(p.relative_to(CORPORA).as_posix() for top in tops for p in top.rglob("*.bib"))


@pytest.fixture(autouse=True)
def corpus_sweep(request: pytest.FixtureRequest) -> None:
    """Tests marked `corpora` run over SURVEYBIB_CORPORA: skipped when it is unset, except
    in CI (CI=true), where .ci/run sets it and a skip would hide a sweep that never ran."""
    if request.node.get_closest_marker("corpora") is None or CORPORA is not None:
        return
    if IN_CI:
        pytest.fail("the corpus sweep must run in CI: set SURVEYBIB_CORPORA (.ci/run does)")
    pytest.skip("corpus sweep: runs when SURVEYBIB_CORPORA names a folder of bibliographies")


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fake Crossref + DataCite API on 127.0.0.1 serving the recorded bodies in
    tests/data (tests/fakeapi.py); the CLI of this test talks to it (SURVEYBIB_CROSSREF_URL
    and SURVEYBIB_DATACITE_URL name it). Stopped after the test."""
    from fakeapi import FakeAPI

    yield from serving(FakeAPI(DATA), monkeypatch, "SURVEYBIB_CROSSREF_URL",
                       "SURVEYBIB_DATACITE_URL")


@pytest.fixture
def api(fake_api: Any) -> Any:
    """The fake Crossref/DataCite API that also knows SpecInfer (ASPLOS 2024, the paper the
    add and lookup tests add; fakeapi.add_specinfer). A module may define its own `api`."""
    from fakeapi import add_specinfer

    add_specinfer(fake_api)
    return fake_api


class Cli(Protocol):
    def __call__(self, *args: str | Path, input: str | bytes | None = None,
                 cwd: Path | None = None, env: Mapping[str, str | None] | None = None
                 ) -> Result: ...


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """cli(*args, input=..., cwd=..., env=...) runs `surveybib ARGS` in this process (click's
    CliRunner) in `cwd` (default: the test's tmp_path) and returns click's Result: exit_code,
    stdout and stderr apart. An exception that escapes the command (not a SystemExit) is
    raised here, so a traceback fails the test with its own stack."""

    def invoke(*args: str | Path, input: str | bytes | None = None, cwd: Path | None = None,
               env: Mapping[str, str | None] | None = None) -> Result:
        with monkeypatch.context() as scoped:
            scoped.chdir(cwd or tmp_path)
            result = CliRunner().invoke(main, [str(a) for a in args], input=input, env=env)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    return invoke
