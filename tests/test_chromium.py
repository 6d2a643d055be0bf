"""The browser harness itself: Debian's Chromium draws with the pinned Mermaid 11."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chromium import node_module

PAGE = """<!doctype html><meta charset="utf-8"><body>
<script src="mermaid.min.js"></script>
<script>
mermaid.initialize({startOnLoad: false});
window.drawn = mermaid.render("d", "graph TD\\n  A[Survey] --> B[Paper]")
  .then(r => r.svg, e => "error: " + e.message);
</script>"""


def test_mermaid_11_draws_in_headless_chromium(browser: Any, serve: Any, tmp_path: Path) -> None:
    (tmp_path / "mermaid.min.js").write_bytes(node_module("mermaid/dist/mermaid.min.js")
                                              .read_bytes())
    (tmp_path / "index.html").write_text(PAGE, encoding="utf-8")
    browser.get(serve(tmp_path) + "index.html")
    svg = browser.execute_async_script(
        "const done = arguments[0]; window.drawn.then(done);")
    assert svg.startswith("<svg"), svg[:200]
    assert "Survey" in svg and "Paper" in svg
    pinned = json.loads(node_module("mermaid/package.json").read_text(encoding="utf-8"))
    assert pinned["version"].startswith("11."), "GitHub draws README diagrams with Mermaid 11"
