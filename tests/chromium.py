"""Headless Chromium from Debian (`chromium`, `chromium-driver`), driven by Selenium, and the
pinned npm packages it loads (package.json: Mermaid 11, axe-core).

Nothing is downloaded: Selenium is pointed at /usr/bin/chromedriver, and the browser is
started with background networking off, so the only connections it makes are the test's own
to 127.0.0.1. Outside CI a machine without the browser skips these tests with the command
that installs it; in CI (CI=true) a missing browser fails.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from localserver import LocalServer

ROOT = Path(__file__).resolve().parents[1]
NODE_MODULES = ROOT / "node_modules"
CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--disable-dev-shm-usage",
    "--window-size=1280,900",
)


def _missing(what: str, how: str) -> None:
    if os.environ.get("CI") == "true":
        raise AssertionError(f"{what} is missing, and CI must have it ({how})")
    pytest.skip(f"{what} is missing: {how}")


def node_module(relative: str) -> Path:
    """A file of a pinned npm package (`npm ci` installs them)."""
    path = NODE_MODULES / relative
    if not path.is_file():
        _missing(f"node_modules/{relative}", "run `npm ci` in the repository")
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session (a fresh profile in a temporary folder)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        _missing("Debian's chromium and chromium-driver",
                 "apt-get install chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="surveybib-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(driver_path)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def serve() -> Iterator[Any]:
    """serve(folder) -> the http://127.0.0.1:PORT/ URL of a static server over that folder."""
    servers: list[LocalServer] = []

    def start(folder: Path) -> str:
        servers.append(LocalServer.static(folder))
        return servers[-1].url + "/"

    yield start
    for server in servers:
        server.stop()
