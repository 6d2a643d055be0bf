"""The Hugging Face Papers client: code links (GitHub repository, its stars, the project
page) for arXiv ids.

`GET {base}/api/papers/{arxiv_id}`, no key, no batch; 404 for a paper Hugging Face does not
index. The fields read, as huggingface_hub's `PaperInfo` parses this answer
(huggingface_hub/hf_api.py): `githubRepo` (a URL string, optional), `githubStars` (int,
optional), `projectPage` (a URL string, optional), next to `id`, `title`, `authors`
([{name, ...}]), `publishedAt`, `summary`, `upvotes`.

Limits (huggingface.co/docs/hub/rate-limits): "Hub APIs" calls, 500 per 5-minute window
per IP address for anonymous users; answers carry `RateLimit: "api";r=<left>;t=<seconds>`
and `RateLimit-Policy: "fixed window";"api";q=<quota>;w=<window>` (IETF draft names), which
the limiter follows. A few failed papers in a row (a 429 storm, an outage answering 5xx,
a proxy answering HTML) stop the run's Hugging Face part; what was not asked is asked on
the next run.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from surveybib.config import base_url
from surveybib.limits import MAX_DEPTH, too_deep
from surveybib.net.ratelimit import Gate, WindowLimiter
from surveybib.net.semanticscholar import not_json
from surveybib.net.settings import SCHOLARLY_DEADLINE, Patience, patience_from_env
from surveybib.net.transport import (
    BadAnswer,
    HttpTransport,
    RequestFailed,
    Transport,
    WindowClient,
)

log = logging.getLogger(__name__)

DEFAULT_HF_URL = "https://huggingface.co"
ANONYMOUS = (500, 300.0)  # Hub API calls per 5-minute window, per IP address
MAX_BODY = 2 * 1024 * 1024  # one paper's page data is a few kB
STORM = 3  # this many failed papers in a row end the Hugging Face part of a run
_POLICY_RE = re.compile(r";\s*q=(\d+)\s*;\s*w=(\d+)")
_REMAINING_RE = re.compile(r";\s*r=(\d+)\s*;\s*t=(\d+)")


@dataclass(frozen=True, slots=True)
class HFConfig(Patience):
    """Where and how to ask Hugging Face. Built from the environment by `hf_config`."""

    base_url: str = DEFAULT_HF_URL
    workers: int = 4


def hf_config(mailto: str = "", environ: Mapping[str, str] = os.environ) -> HFConfig:
    """SURVEYBIB_HF_URL, SURVEYBIB_TIMEOUT, SURVEYBIB_RETRIES."""
    return HFConfig(
        base_url=base_url("SURVEYBIB_HF_URL", DEFAULT_HF_URL, environ),
        mailto=mailto,
        **patience_from_env(environ, SCHOLARLY_DEADLINE),
    )


@dataclass(frozen=True, slots=True)
class CodeLinks:
    """What Hugging Face says about one arXiv paper; `indexed` False for a 404."""

    arxiv_id: str
    indexed: bool
    repo: str = ""
    stars: int | None = None
    project: str = ""


@dataclass(frozen=True, slots=True)
class HFMissed:
    """A paper whose request failed (asked again next run)."""

    arxiv_id: str
    message: str
    throttled: bool = False


HFOutcome = CodeLinks | HFMissed


class HFPapers(WindowClient):
    """`/api/papers/{id}` over one transport, a few at a time. Use as a context manager.
    It is the transport's Limiter for its host: `limiter` spaces the starts."""

    def __init__(self, config: HFConfig, transport: Transport | None = None) -> None:
        self.config = config
        self.limiter = WindowLimiter.published(*ANONYMOUS)
        self.gate = Gate(config.workers)
        self.transport: Transport = transport if transport is not None else HttpTransport(
            config, max_body=MAX_BODY)
        self.transport.register(config.base_url, self)

    def update(self, route: str, headers: Mapping[str, str]) -> None:
        """Follow the announced window (RateLimit-Policy) and an exhausted one (RateLimit)."""
        policy = _POLICY_RE.search(headers.get("RateLimit-Policy") or "")
        if policy and int(policy.group(1)) > 0 and int(policy.group(2)) > 0:
            self.limiter.set_limit(int(policy.group(1)), float(policy.group(2)))
        left = _REMAINING_RE.search(headers.get("RateLimit") or "")
        if left and int(left.group(1)) == 0:
            self.limiter.pause(float(left.group(2)))

    def paper_url(self, arxiv_id: str) -> str:
        """`{base}/api/papers/{arxiv_id}`, the id percent-encoded into one path segment."""
        return f"{self.config.base_url}/api/papers/{quote(arxiv_id, safe='')}"

    def get_paper(self, arxiv_id: str) -> HFOutcome:
        """One paper's code links; a failed request is an outcome (Unreachable raises)."""
        try:
            reply = self.transport.get(self.paper_url(arxiv_id), self, "single")
        except RequestFailed as exc:
            return HFMissed(arxiv_id, f"Hugging Face: {exc}", throttled=exc.status == 429)
        except BadAnswer as exc:
            return HFMissed(arxiv_id, f"Hugging Face: {exc}")
        status = reply.status
        if status == 404:
            return CodeLinks(arxiv_id, indexed=False)
        if status == 429 or status >= 500:
            return HFMissed(arxiv_id, f"Hugging Face answered HTTP {status} (after retries)",
                            throttled=status == 429)
        if status >= 400:
            return HFMissed(arxiv_id, f"Hugging Face answered HTTP {status}")
        try:
            data = json.loads(reply.body)
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: too deep
            return HFMissed(arxiv_id, f"Hugging Face {not_json(reply.body)}")
        if not isinstance(data, dict):
            return HFMissed(arxiv_id, "Hugging Face answered something other than a paper")
        if too_deep(data):
            return HFMissed(arxiv_id, f"Hugging Face sent JSON nested deeper than {MAX_DEPTH} "
                                      "levels")
        return code_links(arxiv_id, data)

    def fetch_papers(self, arxiv_ids: Sequence[str],
                     on_done: Callable[[Sequence[HFOutcome]], None]) -> None:
        """Every id, a few at a time; `on_done` gets each chunk's outcomes in the calling
        thread. STORM failed papers in a row (429s, 5xx, broken or HTML answers, after
        their retries) stop the asking before the next request: the rest come back as
        HFMissed. Raises Unreachable when the host cannot be reached."""
        unique = list(dict.fromkeys(arxiv_ids))
        if not unique:
            return
        failed = [0]  # papers failed in a row, across the workers
        lock = threading.Lock()

        def ask(arxiv_id: str) -> HFOutcome:
            with lock:
                stormy = failed[0] >= STORM
            if stormy:
                return HFMissed(arxiv_id, "Hugging Face keeps failing; not asked")
            outcome = self.get_paper(arxiv_id)
            with lock:
                failed[0] = failed[0] + 1 if isinstance(outcome, HFMissed) else 0
            return outcome

        on_done([ask(unique[0])])  # alone: an unreachable host costs one request
        workers = max(1, self.config.workers)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="surveybib-hf") as pool:
            for start in range(1, len(unique), 5 * workers):
                on_done(list(pool.map(ask, unique[start:start + 5 * workers])))


def code_links(arxiv_id: str, data: Mapping[str, Any]) -> CodeLinks:
    """A `/api/papers/{id}` answer -> CodeLinks; only http(s) URLs and whole numbers kept."""
    stars = data.get("githubStars")
    return CodeLinks(
        arxiv_id, indexed=True, repo=_url(data.get("githubRepo")),
        stars=stars if isinstance(stars, int) and not isinstance(stars, bool) and stars >= 0
        else None,
        project=_url(data.get("projectPage")),
    )


def _url(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    value = value.strip()
    return value if re.match(r"^https?://[^\s/]+", value, re.I) and len(value) < 500 else ""
