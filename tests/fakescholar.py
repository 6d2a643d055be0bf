"""A fake Semantic Scholar Graph API and Hugging Face Papers API: real HTTP on 127.0.0.1,
in a thread.

Where each answer's shape comes from:

- `POST .../graph/v1/paper/batch?fields=...` with `{"ids": [...]}`: the Graph API's
  documentation (api.semanticscholar.org/api-docs/graph, "Get details for multiple papers
  at once"): a JSON list in the order of the ids, `null` for an unknown id, at most 500 ids
  ("Can only process 500 paper ids at a time"), `paperId` always returned, a 400
  `{"error": "Unrecognized or unsupported fields: [...]"}` for an unknown field name. The
  paper objects follow the FullPaper schema of the same documentation: `externalIds`
  ({"ArXiv", "DBLP", "DOI", "CorpusId"}), `publicationVenue` ({id, name, type,
  alternate_names, url}, as its ACL example), `journal` ({name, volume, pages}),
  `publicationTypes`, `publicationDate`, `authors` ([{authorId, name}]), `citationCount`,
  `influentialCitationCount`. A paper known only as an arXiv preprint has `venue`
  "arXiv.org", the arXiv publicationVenue and `journal` {"name": "ArXiv", "volume":
  "abs/<id>"}, as Semantic Scholar shows arXiv-only papers.
- Limits: without an `x-api-key` header 100 requests per 5 minutes, with one 1 request a
  second (the API's documentation); beyond that 429 `{"message": "Too Many Requests..."}`.
  A key it does not know (when told its `keys`) gets 403 `{"message": "Forbidden"}`, as
  users of a wrong or suspended key report it (allenai/s2-folks #113, #224).
- `GET /api/papers/{arxiv_id}`: Hugging Face's paper endpoint as huggingface_hub's
  `PaperInfo` reads it (huggingface_hub/hf_api.py): id, title, authors [{name, ...}],
  publishedAt, summary, upvotes, githubRepo, githubStars, projectPage; 404 for a paper it
  does not index. Limits (huggingface.co/docs/hub/rate-limits): 500 calls per 5-minute
  window per IP, announced in `RateLimit` / `RateLimit-Policy` headers.

The fake can be told to misbehave: latency, 429 (with or without Retry-After), 500, hang
past the client's timeout, reset the connection, malformed JSON, an HTML page (a captive
portal or a proxy's error page), a partial batch (a shorter list than asked), `null` for
every id.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from localserver import Fake, FakeHandler, serving

# The FullPaper properties the batch endpoint accepts in `fields`.
_FIELDS_TEXT = """
    paperId corpusId externalIds url title abstract venue publicationVenue year referenceCount
    citationCount influentialCitationCount isOpenAccess openAccessPdf fieldsOfStudy
    s2FieldsOfStudy publicationTypes publicationDate journal citationStyles authors
    citations references embedding tldr textAvailability
"""
S2_FIELDS = frozenset(_FIELDS_TEXT.split())
ARXIV_VENUE = {"id": "1901e811-ee72-4b20-8f7e-de08cd395a10", "name": "arXiv.org",
               "alternate_names": ["ArXiv"], "issn": "2331-8422", "url": "https://arxiv.org"}
VENUES: dict[str, dict[str, Any]] = {
    "NeurIPS": {"id": "d9720b90-d60b-48bc-9df8-87a30b9a60dd", "type": "conference",
                "name": "Neural Information Processing Systems",
                "alternate_names": ["Neural Inf Process Syst", "NeurIPS", "NIPS"],
                "url": "http://neurips.cc/"},
    "ICLR": {"id": "939c6e1d-0d17-4d6e-8a82-66d960df0e40", "type": "conference",
             "name": "International Conference on Learning Representations",
             "alternate_names": ["Int Conf Learn Represent", "ICLR"],
             "url": "https://iclr.cc/"},
    "ICML": {"id": "fc0a208c-acb7-47dc-a0d4-af8190e21d29", "type": "conference",
             "name": "International Conference on Machine Learning",
             "alternate_names": ["ICML", "Int Conf Mach Learn"], "url": "https://icml.cc/"},
    "ACL": {"id": "1e33b3be-b2ab-46e9-96e8-d4eb4bad6e44", "type": "conference",
            "name": "Annual Meeting of the Association for Computational Linguistics",
            "alternate_names": ["Annu Meet Assoc Comput Linguistics",
                                "Meeting of the Association for Computational Linguistics",
                                "ACL", "Meet Assoc Comput Linguistics"],
            "url": "https://www.aclweb.org/anthology/venues/acl/"},
    "TMLR": {"id": "c0c8d1c4-f5e8-4c06-8e38-8e0e0c3f3a5b", "type": "journal",
             "name": "Trans. Mach. Learn. Res.",
             "alternate_names": ["Transactions on Machine Learning Research", "TMLR"],
             "url": "https://jmlr.org/tmlr/"},
}


def paper_id(seed: str) -> str:
    """A 40-hex-digit paperId, like Semantic Scholar's."""
    return hashlib.sha1(seed.encode()).hexdigest()


def s2_paper(arxiv: str, title: str, authors: Iterable[str], year: int, *,
             venue: str = "", workshop: str = "", doi: str = "", dblp: str = "",
             pages: str = "", volume: str = "", citations: int = 0, influential: int = 0,
             date: str = "") -> dict[str, Any]:
    """A FullPaper-shaped record. `venue` is a key of VENUES (the paper's version of
    record); "" makes an arXiv-only paper; `workshop` a workshop venue's name."""
    external: dict[str, Any] = {"ArXiv": arxiv, "CorpusId": int(paper_id(arxiv)[:7], 16)}
    if dblp:
        external["DBLP"] = dblp
    if doi:
        external["DOI"] = doi
    record: dict[str, Any] = {
        "paperId": paper_id(arxiv), "externalIds": external, "title": title, "year": year,
        "authors": [{"authorId": str(int(paper_id(n)[:8], 16)), "name": n} for n in authors],
        "citationCount": citations, "influentialCitationCount": influential,
        "publicationDate": date or f"{year}-06-01",
    }
    if workshop:
        record.update(venue=workshop, publicationVenue=None, publicationTypes=["Conference"],
                      journal={"name": workshop})
    elif venue:
        place = VENUES[venue]
        kind = "JournalArticle" if place["type"] == "journal" else "Conference"
        journal: dict[str, Any] = {"name": place["name"]}
        if volume:
            journal["volume"] = volume
        if pages:
            journal["pages"] = pages
        record.update(venue=place["name"], publicationVenue=place,
                      publicationTypes=["JournalArticle", kind], journal=journal)
    else:
        record.update(venue="arXiv.org", publicationVenue=ARXIV_VENUE,
                      publicationTypes=["JournalArticle"],
                      journal={"name": "ArXiv", "volume": f"abs/{arxiv}"})
    return record


def hf_paper(arxiv: str, title: str, authors: Iterable[str], *, repo: str = "",
             stars: int | None = None, project: str = "") -> dict[str, Any]:
    """A `/api/papers/{id}` body."""
    body: dict[str, Any] = {
        "id": arxiv, "title": title, "summary": f"Abstract of {title}.", "upvotes": 7,
        "authors": [{"_id": paper_id(n)[:24], "name": n, "hidden": False} for n in authors],
        "publishedAt": "2023-06-01T17:59:59.000Z", "discussionId": paper_id(arxiv)[:24],
    }
    if repo:
        body["githubRepo"] = repo
    if stars is not None:
        body["githubStars"] = stars
    if project:
        body["projectPage"] = project
    return body


@dataclass
class Fault:
    """One kind of misbehaviour for the next `times` requests of `route` ("s2" or "hf")."""

    kind: str
    times: int = 1
    route: str = ""
    retry_after: str | None = None


@dataclass
class Seen:
    """One request as the fake received it."""

    route: str
    path: str
    ids: list[str]
    fields: str
    keyed: bool
    at: float
    status: int = 0


@dataclass
class FakeScholar(Fake):
    latency: float = 0.0
    enforce: bool = True
    hang_seconds: float = 2.0
    papers: dict[str, dict[str, Any]] = field(default_factory=dict)  # "ARXIV:x"/"DOI:y"
    hf: dict[str, dict[str, Any]] = field(default_factory=dict)  # arXiv id -> body
    faults: list[Fault] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)  # when set: the API keys it accepts
    seen: list[Seen] = field(default_factory=list)
    over_limit: int = 0
    # Hugging Face's RateLimit and RateLimit-Policy headers, when a test sets its own
    hf_announce: tuple[str, str] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._windows: dict[str, deque[float]] = {}

    # ------------------------------------------------------------ data

    def add(self, record: dict[str, Any]) -> None:
        """A paper, findable by its arXiv id and its DOI."""
        external = record["externalIds"]
        if "ArXiv" in external:
            self.papers[f"ARXIV:{external['ArXiv']}"] = record
        if "DOI" in external:
            self.papers[f"DOI:{external['DOI'].lower()}"] = record

    def add_hf(self, body: dict[str, Any]) -> None:
        self.hf[body["id"]] = body

    # ------------------------------------------------------------ control

    def inject(self, kind: str, times: int = 1, route: str = "",
               retry_after: str | None = None) -> None:
        with self.lock:
            self.faults.append(Fault(kind, times, route, retry_after))

    def count(self, route: str = "") -> int:
        with self.lock:
            return sum(1 for s in self.seen if not route or s.route == route)

    def requests(self, route: str = "") -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if not route or s.route == route]

    # ------------------------------------------------------------ limits and faults

    def admit(self, route: str, keyed: bool) -> bool:
        """Within the published limits (the request is counted), or not."""
        if not self.enforce:
            return True
        if route == "s2":
            name, (limit, window) = ("s2-key", (1, 1.0)) if keyed else ("s2", (100, 300.0))
        else:
            name, (limit, window) = "hf", (500, 300.0)
        now = time.monotonic()
        with self.lock:
            starts = self._windows.setdefault(name, deque())
            while starts and now - starts[0] >= window:
                starts.popleft()
            if len(starts) >= limit:
                self.over_limit += 1
                return False
            starts.append(now)
        return True

    def hf_left(self) -> int:
        with self.lock:
            return 500 - len(self._windows.get("hf", ()))

    def fault(self, route: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and fault.route in ("", route):
                    fault.times -= 1
                    return fault
        return None

    # ------------------------------------------------------------ answers

    def batch(self, ids: list[str], fields: set[str]) -> list[Any]:
        out: list[Any] = []
        for asked in ids:
            kind, _, value = asked.partition(":")
            kind = kind.upper()
            record = self.papers.get(f"{kind}:{value.lower() if kind == 'DOI' else value}")
            if record is None:
                out.append(None)
            else:
                out.append({k: v for k, v in record.items() if k in fields or k == "paperId"})
        return out


class _Handler(FakeHandler):
    fake: FakeScholar
    asked: tuple[list[str], str] = ([], "")

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if not parts.path.endswith("/graph/v1/paper/batch"):
            self._send(404, {"error": "Not found"})
            return
        fields = (parse_qs(parts.query).get("fields") or ["paperId,title"])[0]
        try:
            ids = [str(i) for i in json.loads(raw)["ids"]]
        except (ValueError, KeyError, TypeError):
            self._send(400, {"error": "Unacceptable body"})
            return
        key = self.headers.get("x-api-key") or ""
        keyed = bool(key)
        self.asked = (ids, fields)
        seen = Seen("s2", parts.path, ids, fields, keyed, time.monotonic())
        with self.fake.lock:
            self.fake.seen.append(seen)
        if keyed and self.fake.keys and key not in self.fake.keys:
            self._send(403, {"message": "Forbidden"})
            seen.status = 403
            return
        seen.status = self._serve("s2", keyed, lambda: self._batch(ids, fields))

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if not parts.path.startswith("/api/papers/"):
            self._send(404, {"error": "Not found"})
            return
        arxiv = unquote(parts.path[len("/api/papers/"):])
        seen = Seen("hf", parts.path, [arxiv], "", False, time.monotonic())
        with self.fake.lock:
            self.fake.seen.append(seen)
        seen.status = self._serve("hf", False, lambda: self._hf(arxiv))

    def _serve(self, route: str, keyed: bool, answer: Any) -> int:
        fault = self.fake.fault(route)
        if fault is not None and fault.kind == "reset":
            self.reset()
            return -1
        if not self.fake.admit(route, keyed):
            self._send(429, {"message": "Too Many Requests. Please wait and try again or apply "
                                        "for a key for higher rate limits.", "code": "429"},
                       route=route)
            return 429
        if self.fake.latency:
            time.sleep(self.fake.latency)
        if fault is not None:
            return self._misbehave(fault, route)
        status, body = answer()
        self._send(status, body, route=route)
        return int(status)

    def _batch(self, ids: list[str], fields: str) -> tuple[int, Any]:
        wanted = set(fields.split(","))
        unknown = sorted(wanted - S2_FIELDS)
        if unknown:
            return 400, {"error": f"Unrecognized or unsupported fields: [{', '.join(unknown)}]"}
        if len(ids) > 500:
            return 400, {"error": "Too many ids in request. Can only process 500 paper ids "
                                  "at a time."}
        return 200, self.fake.batch(ids, wanted)

    def _hf(self, arxiv: str) -> tuple[int, Any]:
        body = self.fake.hf.get(arxiv)
        return (200, body) if body is not None else (404, {"error": "Paper not found"})

    def _misbehave(self, fault: Fault, route: str) -> int:
        kind = fault.kind
        if kind in ("429", "500", "503"):
            extra = [("Retry-After", fault.retry_after)] if fault.retry_after else []
            self._send(int(kind), {"message": kind}, extra, route=route)
            return int(kind)
        if kind == "hang":
            time.sleep(self.fake.hang_seconds)
            self.close_connection = True
            return -2
        if kind == "malformed":
            self._send(200, b'[{"paperId": "0', route=route)
            return 200
        if kind == "html":
            self._send(200, b"<!DOCTYPE html><html><body><h1>Sign in to the Wi-Fi</h1>"
                            b"</body></html>", [("Content-Type", "text/html")], route=route)
            return 200
        if kind in ("partial", "nulls"):
            ids, fields = self.asked
            answer = self.fake.batch(ids, set(fields.split(",")))
            if kind == "partial":  # a list shorter than asked, its order lost
                answer = list(reversed(answer[: max(1, len(answer) // 2)]))
            else:
                answer = [None] * len(answer)
            self._send(200, answer, route=route)
            return 200
        raise ValueError(f"unknown fault {kind!r}")

    def _send(self, status: int, body: Any, extra: Iterable[tuple[str, str]] = (),
              route: str = "") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        extra = list(extra)
        self.send_response(status)
        if not any(name.lower() == "content-type" for name, _ in extra):
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if route == "hf":
            left = max(0, self.fake.hf_left())
            limit, policy = self.fake.hf_announce or (f'"api";r={left};t=300',
                                                      '"fixed window";"api";q=500;w=300')
            self.send_header("RateLimit", limit)
            self.send_header("RateLimit-Policy", policy)
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.write_body(data)


FakeScholar.handler = _Handler


@pytest.fixture
def fake_scholar(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeScholar]:
    """A fake Semantic Scholar + Hugging Face on 127.0.0.1; the CLI of this test talks to it
    (SURVEYBIB_S2_URL and SURVEYBIB_HF_URL name it). Stopped after the test."""
    yield from serving(FakeScholar(), monkeypatch, "SURVEYBIB_S2_URL", "SURVEYBIB_HF_URL")
