"""The Semantic Scholar Graph API client: paper records for arXiv ids and DOIs, in batches.

Only `POST /graph/v1/paper/batch` is used. From the Graph API documentation
(api.semanticscholar.org/api-docs/graph, "Get details for multiple papers at once"):
`fields` is a query parameter and `{"ids": [...]}` the JSON body; ids may be prefixed
(`ARXIV:2106.15928`, `DOI:10.18653/v1/...`); it "can only process 500 paper ids at a
time" and return up to 10 MB; the answer is a JSON list in the order of the ids, with
`null` for an id it does not know. An API key goes in the `x-api-key` header.

Limits (the API's documentation and the API Commons rate-limit record of late 2026):
without a key a pool shared by everyone of about 100 requests per 5 minutes; with a free
key 1 request a second on every endpoint; 429 beyond that. The client stays under them
with a WindowLimiter, retries 429/5xx through urllib3 with backoff and Retry-After (a
longer wait asked for is cut to 15 s; a batch still failing after the retries is asked
again on the next run), stops at once when the API key is refused (403), and goes through
the same transport as Crossref (net/transport.py): one session, a concurrency gate,
bodies read with a size cap, a host that never answered is reported at once as
unreachable.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from surveybib.config import base_url
from surveybib.errors import NetworkError
from surveybib.limits import MAX_DEPTH, too_deep
from surveybib.net.ratelimit import Gate, WindowLimiter
from surveybib.net.settings import SCHOLARLY_DEADLINE, Patience, patience_from_env
from surveybib.net.transport import (
    BadAnswer,
    HttpTransport,
    RequestFailed,
    Transport,
    WindowClient,
)

log = logging.getLogger(__name__)

DEFAULT_S2_URL = "https://api.semanticscholar.org"
BATCH_SIZE = 500  # "Can only process 500 paper ids at a time"
MAX_BODY = 10 * 1024 * 1024  # "Can only return up to 10 MB of data at a time"
UNKEYED = (100, 300.0)  # requests per seconds, the shared pool
KEYED = (1, 1.0)  # a free key: 1 request a second

# What the upgrade and the counts read. Shapes (the Graph API's FullPaper schema):
# title str; year int; venue str ("Neural Information Processing Systems", "arXiv.org");
# publicationVenue {id, name, type ("conference" | "journal"), alternate_names [str],
# url} or null; externalIds {ArXiv, DOI, DBLP, MAG, ACL, CorpusId, ...}; publicationTypes
# [str] ("JournalArticle", "Conference", "Review") or null; publicationDate "YYYY-MM-DD";
# journal {name, volume, pages} or null; authors [{authorId, name}]; citationCount int;
# influentialCitationCount int.
UPGRADE_FIELDS = ("title", "year", "venue", "publicationVenue", "externalIds",
                  "publicationTypes", "publicationDate", "journal", "authors")
COUNT_FIELDS = ("externalIds", "citationCount", "influentialCitationCount")


@dataclass(frozen=True, slots=True)
class S2Config(Patience):
    """Where and how to ask Semantic Scholar. Built from the environment by `s2_config`."""

    base_url: str = DEFAULT_S2_URL
    api_key: str = ""
    max_body: int = MAX_BODY
    batch_size: int = BATCH_SIZE
    workers: int = 2


def s2_config(mailto: str = "", environ: Mapping[str, str] = os.environ) -> S2Config:
    """SURVEYBIB_S2_URL, SURVEYBIB_S2_API_KEY, SURVEYBIB_TIMEOUT, SURVEYBIB_RETRIES."""
    return S2Config(
        base_url=base_url("SURVEYBIB_S2_URL", DEFAULT_S2_URL, environ),
        api_key=(environ.get("SURVEYBIB_S2_API_KEY") or "").strip(),
        mailto=mailto,
        **patience_from_env(environ, SCHOLARLY_DEADLINE),
    )


# ------------------------------------------------------------------ outcomes


@dataclass(frozen=True, slots=True)
class Found:
    """Semantic Scholar's record for one asked id (`ARXIV:...` or `DOI:...`)."""

    id: str
    record: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Unknown:
    """An id Semantic Scholar answered `null` for."""

    id: str


@dataclass(frozen=True, slots=True)
class Missed:
    """An id whose request failed (asked again next run); `unreachable` when the host
    could not be reached at all."""

    id: str
    message: str
    unreachable: bool = False


S2Outcome = Found | Unknown | Missed


class KeyRefused(NetworkError):
    """Semantic Scholar refused SURVEYBIB_S2_API_KEY: every later request would be too."""


# ------------------------------------------------------------------ the client


class SemanticScholar(WindowClient):
    """The batch endpoint over one transport. Thread-safe; use as a context manager.
    It is the transport's Limiter for its host: `limiter` spaces the starts."""

    def __init__(self, config: S2Config, transport: Transport | None = None) -> None:
        self.config = config
        if config.api_key:  # one start a second, with a margin for timing jitter
            self.limiter = WindowLimiter(1, KEYED[1] / 0.9)
        else:  # the shared pool's 5-minute budget, spread out: others use the pool too
            self.limiter = WindowLimiter.published(*UNKEYED, spacing=1.0)
        self.gate = Gate(config.workers if config.api_key else 1)
        headers = {"x-api-key": config.api_key} if config.api_key else {}
        self.transport: Transport = transport if transport is not None else HttpTransport(
            config, headers=headers, methods=("POST",),  # the batch only reads: safe to repeat
            max_body=config.max_body)
        self.transport.register(config.base_url, self)

    @property
    def batch_url(self) -> str:
        """`{base}/graph/v1/paper/batch`, or `{base}/paper/batch` for a base ending in
        `/graph/v1`."""
        base = self.config.base_url
        if base.endswith("/graph/v1"):
            return f"{base}/paper/batch"
        return f"{base}/graph/v1/paper/batch"

    # -------------------------------------------------------------- one request

    def fetch_batch(self, ids: Sequence[str], fields: Sequence[str]) -> list[Any]:
        """One POST: Semantic Scholar's list (a record or None per id, in the ids' order).
        Raises Unreachable, KeyRefused, RequestFailed or BadAnswer."""
        reply = self.transport.request("POST", self.batch_url, self, "list",
                                       params={"fields": ",".join(dict.fromkeys(fields))},
                                       json={"ids": list(ids)})
        body = _check_status(reply.status, reply.body, keyed=bool(self.config.api_key))
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: too deep
            raise BadAnswer(f"Semantic Scholar {not_json(body)}") from None
        if not isinstance(data, list):
            raise BadAnswer("Semantic Scholar answered something other than a list")
        return data

    # -------------------------------------------------------------- many ids

    def fetch_papers(self, ids: Sequence[str], fields: Sequence[str],
                     on_done: Callable[[Sequence[S2Outcome]], None]) -> None:
        """Every id, in batches of up to 500 (one after the other: the limits allow no
        more); `on_done` gets each batch's outcomes, so the caller can save after each.
        An unreachable host or a refused key ends the run (what finished was delivered) by
        raising Unreachable or KeyRefused."""
        unique = list(dict.fromkeys(ids))
        size = max(1, min(self.config.batch_size, BATCH_SIZE))
        for start in range(0, len(unique), size):
            on_done(self._batch_outcomes(unique[start:start + size], fields))

    def _batch_outcomes(self, ids: Sequence[str], fields: Sequence[str]) -> list[S2Outcome]:
        try:
            answer = self.fetch_batch(ids, fields)
        except (RequestFailed, BadAnswer) as exc:
            return [Missed(i, _named(exc)) for i in ids]
        outcomes, left = _pair(ids, answer)
        if left:
            # A short or reordered answer: what it did not clearly answer is asked once more.
            log.info("Semantic Scholar answered %d of %d ids; asking the rest again",
                     len(ids) - len(left), len(ids))
            try:
                again, still = _pair(left, self.fetch_batch(left, fields))
            except (RequestFailed, BadAnswer) as exc:
                again, still = [], []
                outcomes.extend(Missed(i, _named(exc)) for i in left)
            outcomes.extend(again)
            outcomes.extend(Missed(i, "Semantic Scholar left it out of its answer")
                            for i in still)
        order = {i: n for n, i in enumerate(ids)}
        return sorted(outcomes, key=lambda o: order[o.id])


_TOO_DEEP = f"Semantic Scholar sent a record nested deeper than {MAX_DEPTH} levels"


def _pair(ids: Sequence[str], answer: Sequence[Any]) -> tuple[list[S2Outcome], list[str]]:
    """Outcomes for the ids the answer clearly settles, and the ids it does not. The answer
    keeps the request's order; an answer of another length is matched by externalIds."""
    if len(answer) == len(ids):
        out: list[S2Outcome] = []
        for asked, item in zip(ids, answer, strict=True):
            if item is None:
                out.append(Unknown(asked))
            elif isinstance(item, dict) and too_deep(item):  # it would spoil the store
                out.append(Missed(asked, _TOO_DEEP))
            elif isinstance(item, dict):
                out.append(Found(asked, item))
            else:
                out.append(Missed(asked, "Semantic Scholar sent something other than a paper"))
        return out, []
    found: dict[str, S2Outcome] = {}
    for item in answer:
        if isinstance(item, dict) and not too_deep(item):
            for asked in paper_ids(item):
                if asked in ids:
                    found.setdefault(asked, Found(asked, item))
    return list(found.values()), [i for i in ids if i not in found]


def paper_ids(record: Mapping[str, Any]) -> list[str]:
    """The `ARXIV:` and `DOI:` ids a record's externalIds name (as this client asks)."""
    external = record.get("externalIds")
    if not isinstance(external, dict):
        return []
    out = []
    if isinstance(external.get("ArXiv"), str):
        out.append(f"ARXIV:{external['ArXiv']}")
    if isinstance(external.get("DOI"), str):
        out.append(f"DOI:{external['DOI'].lower()}")
    return out


def _named(exc: Exception) -> str:
    """A failure's message, naming Semantic Scholar once."""
    text = str(exc)
    return text if text.startswith("Semantic Scholar") else f"Semantic Scholar: {text}"


def not_json(body: bytes) -> str:
    """What an answer that does not parse as JSON was, for the message: an HTML page (a
    proxy or a network's sign-in page answering in the API's place) or broken JSON."""
    if body.lstrip()[:1] == b"<":
        return "sent an HTML page, not JSON (a proxy or a network sign-in page?)"
    return "sent malformed JSON"


def _check_status(status: int, body: bytes, keyed: bool = False) -> bytes:
    if status == 429 or status >= 500:
        raise RequestFailed(f"Semantic Scholar answered HTTP {status} (after retries)", status)
    if status >= 400:
        # 400 {"error": "Unrecognized or unsupported fields: [...]"}; 403 {"message":
        # "Forbidden"} for a wrong or suspended key (allenai/s2-folks #113, #224).
        try:
            data = json.loads(body)
            detail = str(data.get("error") or data.get("message") or "")
        except (ValueError, AttributeError, UnicodeDecodeError, RecursionError):
            detail = body[:80].decode("utf-8", "replace").strip()
        answer = f"HTTP {status}: {detail}" if detail else f"HTTP {status}"
        if keyed and status in (401, 403):
            raise KeyRefused(f"Semantic Scholar refused the API key in SURVEYBIB_S2_API_KEY "
                             f"({answer}); check it, or unset it to use the shared pool")
        raise BadAnswer(f"Semantic Scholar answered {answer}")
    return body
