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
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

from surveybib.config import base_url
from surveybib.errors import NetworkError
from surveybib.net.crossref import (
    RequestFailed,
    Unreachable,
    _address,
    _connect_reason,
    _FailFast,
    _Gate,
    _Hosts,
    _number,
    _Retry,
    _short,
    user_agent,
)
from surveybib.net.ratelimit import WindowLimiter
from surveybib.net.semanticscholar import not_json

log = logging.getLogger(__name__)

DEFAULT_HF_URL = "https://huggingface.co"
ANONYMOUS = (500, 300.0)  # Hub API calls per 5-minute window, per IP address
MAX_BODY = 2 * 1024 * 1024  # one paper's page data is a few kB
STORM = 3  # this many failed papers in a row end the Hugging Face part of a run
_POLICY_RE = re.compile(r";\s*q=(\d+)\s*;\s*w=(\d+)")
_REMAINING_RE = re.compile(r";\s*r=(\d+)\s*;\s*t=(\d+)")


@dataclass(frozen=True, slots=True)
class HFConfig:
    """Where and how to ask Hugging Face. Built from the environment by `hf_config`."""

    base_url: str = DEFAULT_HF_URL
    mailto: str = ""
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    retries: int = 4
    backoff: float = 0.5
    workers: int = 4


def hf_config(mailto: str = "", environ: Mapping[str, str] = os.environ) -> HFConfig:
    """SURVEYBIB_HF_URL, SURVEYBIB_TIMEOUT, SURVEYBIB_RETRIES."""
    timeout = _number(environ.get("SURVEYBIB_TIMEOUT"), 30.0)
    return HFConfig(
        base_url=base_url("SURVEYBIB_HF_URL", DEFAULT_HF_URL, environ),
        mailto=mailto,
        connect_timeout=min(5.0, timeout),
        read_timeout=timeout,
        retries=int(_number(environ.get("SURVEYBIB_RETRIES"), 4)),
        backoff=min(0.5, timeout / 4),
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


class HFPapers:
    """`/api/papers/{id}` over one session, a few at a time. Use as a context manager."""

    def __init__(self, config: HFConfig) -> None:
        self.config = config
        self.requests_made = 0
        self._lock = threading.Lock()
        self._down = ""
        self.limiter = WindowLimiter.published(*ANONYMOUS)
        self._gate = _Gate(config.workers)
        self._hosts = _Hosts(on_throttle=lambda host: self.limiter.slow_down())
        retry = _Retry(
            total=config.retries + 2, connect=2, read=2, status=config.retries, other=0,
            redirect=3, backoff_factor=config.backoff, backoff_jitter=config.backoff,
            backoff_max=30.0, retry_after_max=15, status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=frozenset({"GET"}), respect_retry_after_header=True,
            raise_on_status=False, hosts=self._hosts,
        )
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=retry, pool_connections=2,
                              pool_maxsize=max(2, config.workers + 1))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = user_agent(config.mailto)
        self.session.headers["Accept"] = "application/json"

    def __enter__(self) -> HFPapers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.close()

    def paper_url(self, arxiv_id: str) -> str:
        """`{base}/api/papers/{arxiv_id}`, the id percent-encoded into one path segment."""
        return f"{self.config.base_url}/api/papers/{quote(arxiv_id, safe='')}"

    def get_paper(self, arxiv_id: str) -> HFOutcome:
        """One paper's code links; a failed request is an outcome (Unreachable raises)."""
        url = self.paper_url(arxiv_id)
        try:
            status, body = self._get(url)
        except RequestFailed as exc:
            return HFMissed(arxiv_id, f"Hugging Face: {exc}", throttled=exc.status == 429)
        if status == 404:
            return CodeLinks(arxiv_id, indexed=False)
        if status == 429 or status >= 500:
            return HFMissed(arxiv_id, f"Hugging Face answered HTTP {status} (after retries)",
                            throttled=status == 429)
        if status >= 400:
            return HFMissed(arxiv_id, f"Hugging Face answered HTTP {status}")
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: too deep
            return HFMissed(arxiv_id, f"Hugging Face {not_json(body)}")
        if not isinstance(data, dict):
            return HFMissed(arxiv_id, "Hugging Face answered something other than a paper")
        return code_links(arxiv_id, data)

    def _get(self, url: str) -> tuple[int, bytes]:
        host = _address(url)
        if self._down:
            raise Unreachable(self._down)
        with self._gate:
            if self._down:
                raise Unreachable(self._down)
            self.limiter.take()
            with self._lock:
                self.requests_made += 1
            try:
                response = self.session.get(
                    url, stream=True, timeout=(self.config.connect_timeout,
                                               self.config.read_timeout))
            except requests.RequestException as exc:
                raise self._transport_error(host, urlsplit(url).netloc, exc) from None
            try:
                self._hosts.mark(host)
                self._follow(response.headers)
                body = _read(response)
            finally:
                response.close()
        return response.status_code, body

    def _follow(self, headers: Mapping[str, str]) -> None:
        """Follow the announced window (RateLimit-Policy) and an exhausted one (RateLimit)."""
        policy = _POLICY_RE.search(headers.get("RateLimit-Policy") or "")
        if policy and int(policy.group(1)) > 0 and int(policy.group(2)) > 0:
            self.limiter.set_limit(int(policy.group(1)), float(policy.group(2)))
        left = _REMAINING_RE.search(headers.get("RateLimit") or "")
        if left and int(left.group(1)) == 0:
            self.limiter.pause(float(left.group(2)))

    def _transport_error(self, host: str, shown: str,
                         exc: requests.RequestException) -> NetworkError:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, MaxRetryError):
            cause = reason.reason
            if isinstance(reason, _FailFast) or isinstance(cause, ConnectTimeoutError):
                self._down = f"cannot reach {shown}: {_connect_reason(cause)}"
                return Unreachable(self._down)
            return RequestFailed(f"{shown}: {_short(cause)} (after retries)")
        return RequestFailed(f"{shown}: {_short(exc)}")

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


def _read(response: requests.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > MAX_BODY:
                raise RequestFailed(f"answer is over the {MAX_BODY:,}-byte limit")
            chunks.append(chunk)
    except requests.RequestException as exc:
        raise RequestFailed(f"answer broke off: {_short(exc)}") from None
    return b"".join(chunks)
