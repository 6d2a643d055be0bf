"""`make site-shot`: screenshots of the paper explorer, for a person to look at.

    python tests/site_shot.py SITE_DIR OUT.png

Opens SITE_DIR/index.html (served on 127.0.0.1) in Debian's headless Chromium, as the
browser tests do, and writes OUT.png (light colour scheme, a note opened) and
OUT-dark.png (dark scheme, filtered by a search). Not a test: nothing is asserted.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from chromium import CHROMIUM_FLAGS
from localserver import LocalServer

WIDTH, HEIGHT = 1280, 1400


def _driver(profile: str) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chrome, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not chrome or not driver_path:
        sys.exit("site_shot.py: needs Debian's chromium and chromium-driver "
                 "(apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chrome
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_window_size(WIDTH, HEIGHT)
    return driver


def shoot(site: Path, out: Path) -> list[Path]:
    server = LocalServer.static(site)
    url = server.url + "/index.html"
    profile = tempfile.mkdtemp(prefix="surveybib-shot-")
    driver = _driver(profile)
    written = []
    try:
        driver.get(url)
        notes = driver.find_elements("css selector", "#results details.note > summary")
        if notes:
            notes[0].click()
        driver.execute_script("window.scrollTo(0, 0)")
        out.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(out))
        written.append(out)
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {
            "features": [{"name": "prefers-color-scheme", "value": "dark"}]})
        driver.get("about:blank")
        driver.get(url + "#q=attention")
        dark = out.with_name(out.stem + "-dark" + out.suffix)
        driver.save_screenshot(str(dark))
        written.append(dark)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
        server.stop()
    return written


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    for path in shoot(Path(sys.argv[1]), Path(sys.argv[2])):
        print(f"wrote {path}")
