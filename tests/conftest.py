"""Shared fixtures. The whole test run is kept off the internet by a guard that
refuses every connection not made to the loopback interface."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["chromium"]  # the browser and serve fixtures

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED = Path(os.environ.get("SURVEYBIB_SHARED", SHARED))
TESTS = Path(__file__).resolve().parent


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
    os.environ.setdefault("SURVEYBIB_CROSSREF_URL", "http://127.0.0.1:9/")
    os.environ.setdefault("SURVEYBIB_DATACITE_URL", "http://127.0.0.1:9/")
    os.environ.setdefault("SURVEYBIB_S2_URL", "http://127.0.0.1:9/")
    os.environ.setdefault("SURVEYBIB_HF_URL", "http://127.0.0.1:9/")
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]


def shared_path(*parts: str) -> Path:
    """A path under ../shared; skips (never in CI) when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI") == "true":
            raise AssertionError(f"{path} is missing, and CI must have ../shared")
        pytest.skip(f"{path} is absent (../shared is not beside this clone)")
    return path


@pytest.fixture
def fake_api() -> Iterator[Any]:
    """A fake Crossref + DataCite API on 127.0.0.1 serving ../shared/data's real bodies
    (tests/fakeapi.py); stopped after the test."""
    from fakeapi import FakeAPI

    api = FakeAPI(shared_path("data")).start()
    try:
        yield api
    finally:
        api.stop()
