"""A fake Crossref + DataCite REST API: real HTTP on 127.0.0.1, in a thread.

It serves the real response bodies recorded in tests/data (see tests/data/SOURCES.md)
and records derived from them under the test prefix 10.5555/. It enforces Crossref's
polite/public pool limits (answering 429 when a client exceeds them), announces them in
the same headers as Crossref, counts every request, and can be told to misbehave: add
latency, answer 429 (with or without Retry-After), 500/503, hang past the client's
timeout, reset the connection, send malformed JSON, a plain-text 404, a 400
validation-failure body, or a huge body. Hostile modes too: JSON nested 200,000 deep,
an answer dripped one byte at a time, and (`flaky`) a share of all requests failing.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from localserver import Fake, FakeHandler

# Crossref's pools since December 2025: (requests, seconds) per route, and concurrency.
POOLS = {
    "polite": {"single": (10, 1.0), "list": (3, 1.0), "concurrency": 3},
    "public": {"single": (5, 1.0), "list": (1, 1.0), "concurrency": 1},
}
NOT_FOUND_TEXT = b"Resource not found."
# The fields /works accepts in `select` (Crossref answers 400 select-not-available otherwise).
_SELECTABLE_TEXT = """
    abstract URL resource member posted score created degree update-policy short-title
    license ISSN container-title issued update-to issue prefix approved indexed
    article-number clinical-trial-number accepted author group-title DOI
    is-referenced-by-count updated-by event chair standards-body original-title funder
    translator published archive published-print alternative-id subject subtitle
    published-online publisher-location content-domain reference title link type publisher
    volume references-count ISBN issn-type assertion deposited page contributor
    content-created short-container-title relation editor
"""
SELECTABLE = frozenset(_SELECTABLE_TEXT.split())
DATACITE_404 = {"errors": [{"status": "404",
                            "title": "The resource you are looking for doesn't exist."}]}


@dataclass
class Fault:
    """One kind of misbehaviour, for the next `times` requests matching `route`."""

    kind: str
    times: int = 1
    route: str = ""  # "", "single", "list", "search", "datacite"
    retry_after: str | None = None
    match: str = ""  # only requests whose path+query contains this


@dataclass
class Seen:
    """One request as the fake received it."""

    path: str
    query: dict[str, list[str]]
    route: str
    pool: str
    status: int = 0
    user_agent: str = ""
    raw_path: str = ""


@dataclass
class FakeAPI(Fake):
    data: Path
    latency: float = 0.0
    enforce: bool = True
    hang_seconds: float = 2.0
    drip_seconds: float = 0.2  # the pause between two bytes of a "drip" answer
    flaky: float = 0.0  # this share of requests answers 503, evenly spread
    works: dict[str, dict[str, Any]] = field(default_factory=dict)
    datacite: dict[str, dict[str, Any]] = field(default_factory=dict)
    searches: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    over_limit: int = 0  # 429s the fake gave because a client went over the limits
    lock: threading.Lock = field(default_factory=threading.Lock)
    pools: dict[str, dict[str, Any]] = field(default_factory=lambda: copy.deepcopy(POOLS))

    def __post_init__(self) -> None:
        self._windows: dict[tuple[str, str], deque[float]] = {}
        self._inflight: dict[str, int] = {"polite": 0, "public": 0}
        self._answered = 0  # requests counted for `flaky`
        self.max_inflight = 0
        self.load_real()

    # ------------------------------------------------------------ data

    def load_real(self) -> None:
        """The real single-work bodies and the DataCite body from tests/data."""
        for path in sorted((self.data / "crossref").glob("10.*.json")):
            if path.name.endswith(".csl.json"):
                continue  # the CSL transform is not a /works answer
            self.add_work(json.loads(path.read_text(encoding="utf-8"))["message"])
        for path in sorted((self.data / "datacite").glob("*.json")):
            body = json.loads(path.read_text(encoding="utf-8"))
            self.datacite[body["data"]["attributes"]["doi"].lower()] = body

    def real(self, name: str) -> dict[str, Any]:
        """The recorded body of tests/data/crossref/<name>.json."""
        data: dict[str, Any] = json.loads((self.data / "crossref" / f"{name}.json")
                                          .read_text(encoding="utf-8"))
        return data

    def add_work(self, message: dict[str, Any]) -> str:
        doi = str(message["DOI"]).lower()
        self.works[doi] = message
        return doi

    def derive(self, doi: str, *, base: str = "10.1145/3448016.3452841", title: str | None = None,
               authors: Iterable[tuple[str, str]] | None = None, year: int | None = None,
               **extra: Any) -> str:
        """A synthetic work made from a real record, under a new DOI."""
        message = copy.deepcopy(self.works[base])
        message["DOI"] = doi
        message["URL"] = f"https://doi.org/{doi}"
        if title is not None:
            message["title"] = [title]
            message["subtitle"] = []
        if authors is not None:
            message["author"] = [{"given": g, "family": f, "sequence": "additional",
                                  "affiliation": []} for g, f in authors]
        if year is not None:
            for name in ("published-print", "published-online", "issued", "published"):
                if name in message:
                    message[name] = {"date-parts": [[year]]}
        message.update(extra)
        return self.add_work(message)

    def synthetic(self, count: int, prefix: str = "10.5555/syn.") -> list[str]:
        """`count` distinct works derived from a real record (10.5555/syn.000001 ...)."""
        return [self.derive(f"{prefix}{i:06d}", title=f"Synthetic paper number {i}")
                for i in range(1, count + 1)]

    def derive_datacite(self, doi: str, *, title: str, creators: Iterable[tuple[str, str]],
                        year: int, bibtex: str = "misc", publisher: str = "arXiv",
                        url: str = "", related: Iterable[tuple[str, str]] = (),
                        identifiers: Iterable[tuple[str, str]] = ()) -> str:
        """A DataCite body made from the real LIPIcs one (e.g. an arXiv preprint)."""
        base = next(iter(b for d, b in self.datacite.items() if d.startswith("10.4230/")))
        body = copy.deepcopy(base)
        attributes = body["data"]["attributes"]
        body["data"]["id"] = doi.lower()
        attributes.update({
            "doi": doi.lower(),
            "titles": [{"title": title}],
            "creators": [{"name": f"{f}, {g}", "nameType": "Personal", "givenName": g,
                          "familyName": f, "affiliation": [], "nameIdentifiers": []}
                         for g, f in creators],
            "publicationYear": year,
            "dates": [{"date": str(year), "dateType": "Issued"}],
            "publisher": publisher,
            "container": {},
            "relatedItems": [],
            "types": {"bibtex": bibtex, "resourceTypeGeneral": "Preprint"},
            "url": url,
            "identifiers": [{"identifier": i, "identifierType": t} for t, i in identifiers],
            "relatedIdentifiers": [{"relationType": r, "relatedIdentifier": d,
                                    "relatedIdentifierType": "DOI"} for r, d in related],
        })
        self.datacite[doi.lower()] = body
        return doi.lower()

    # ------------------------------------------------------------ control

    def inject(self, kind: str, times: int = 1, route: str = "",
               retry_after: str | None = None, match: str = "") -> None:
        with self.lock:
            self.faults.append(Fault(kind, times, route, retry_after, match))

    def count(self, route: str = "") -> int:
        with self.lock:
            return sum(1 for s in self.seen if not route or s.route == route)

    def statuses(self) -> list[int]:
        with self.lock:
            return [s.status for s in self.seen]

    # ------------------------------------------------------------ the limits

    def _admit(self, pool: str, route: str) -> str:
        """"" when the request is within the pool's limits, else why not."""
        if not self.enforce or route == "datacite":
            return ""
        limits = self.pools[pool]
        kind = "single" if route == "single" else "list"
        limit, interval = limits[kind]
        now = time.monotonic()
        with self.lock:
            window = self._windows.setdefault((pool, kind), deque())
            while window and now - window[0] >= interval:
                window.popleft()
            if len(window) >= limit:
                self.over_limit += 1
                return f"over {limit} requests per {interval:g}s"
            window.append(now)
            if self._inflight[pool] >= limits["concurrency"]:
                self.over_limit += 1
                return f"over {limits['concurrency']} concurrent requests"
            self._inflight[pool] += 1
            self.max_inflight = max(self.max_inflight, self._inflight[pool])
        return ""

    def _leave(self, pool: str, route: str) -> None:
        if self.enforce and route != "datacite":
            with self.lock:
                self._inflight[pool] -= 1

    def _reenter(self, pool: str, route: str) -> None:
        if self.enforce and route != "datacite":
            with self.lock:
                self._inflight[pool] += 1

    def _fault(self, route: str, target: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and fault.route in ("", route) and fault.match in target:
                    fault.times -= 1
                    return fault
            if self.flaky:
                n = self._answered
                self._answered += 1
                if int((n + 1) * self.flaky) > int(n * self.flaky):
                    return Fault("503")
        return None

    # ------------------------------------------------------------ answers

    def answer_single(self, doi: str) -> tuple[int, Any]:
        message = self.works.get(doi.lower())
        if message is None:
            return 404, NOT_FOUND_TEXT
        return 200, {"status": "ok", "message-type": "work", "message-version": "1.0.0",
                     "message": message}

    def answer_list(self, query: dict[str, list[str]]) -> tuple[int, Any]:
        rows = int((query.get("rows") or ["20"])[0])
        if "filter" in query:
            wanted = [p.split(":", 1)[1].lower() for p in query["filter"][0].split(",")
                      if p.startswith("doi:")]
            items = [self.works[d] for d in reversed(wanted) if d in self.works][:rows]
        else:
            text = (query.get("query.bibliographic") or [""])[0]
            items = self._search(text, rows)
        select = query.get("select")
        if select:
            keys = set(select[0].split(","))
            unknown = sorted(keys - SELECTABLE)
            if unknown:
                return 400, {"status": "failed", "message-type": "validation-failure",
                             "message": [{"type": "select-not-available", "value": unknown[0],
                                          "message": f"Field {unknown[0]} cannot be selected"}]}
            items = [{k: v for k, v in item.items() if k in keys} for item in items]
        return 200, {"status": "ok", "message-type": "work-list", "message-version": "1.0.0",
                     "message": {"facets": {}, "total-results": len(items), "items": items,
                                 "items-per-page": rows,
                                 "query": {"start-index": 0, "search-terms": None}}}

    def _search(self, text: str, rows: int) -> list[dict[str, Any]]:
        if text in self.searches:
            return self.searches[text][:rows]
        words = set(re.findall(r"\w+", text.lower()))
        scored: list[tuple[float, str, dict[str, Any]]] = []
        for doi, work in self.works.items():
            hay = " ".join([*work.get("title", []), *work.get("subtitle", []),
                            *(a.get("family", "") for a in work.get("author", []))])
            found = words & set(re.findall(r"\w+", hay.lower()))
            if found:
                scored.append((len(found) * 3.1, doi, work))
        scored.sort(key=lambda t: (-t[0], t[1]))
        return [{**w, "score": s} for s, _, w in scored[:rows]]

    def answer_datacite(self, doi: str) -> tuple[int, Any]:
        body = self.datacite.get(doi.lower())
        return (200, body) if body is not None else (404, DATACITE_404)


class _Handler(FakeHandler):
    fake: FakeAPI

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        path = parts.path
        if path.startswith("/works/"):
            route = "single"
        elif path == "/works":
            route = "search" if "query.bibliographic" in query else "list"
        elif path.startswith("/dois/"):
            route = "datacite"
        else:
            route = "other"
        ua = self.headers.get("User-Agent", "")
        pool = "polite" if ("mailto" in query or "mailto:" in ua) else "public"
        seen = Seen(unquote(path), query, route, pool, user_agent=ua, raw_path=self.path)
        with self.fake.lock:
            self.fake.seen.append(seen)
        fault = self.fake._fault(route, self.path)
        if fault is not None and fault.kind == "reset":
            seen.status = -1
            self.reset()
            return
        refused = self.fake._admit(pool, route)
        if refused:
            seen.status = 429
            self._send(429, {"status": "failed", "message": refused}, pool, route)
            return
        try:
            if self.fake.latency:
                time.sleep(self.fake.latency)
            if fault is not None:
                seen.status = self._misbehave(fault, pool, route)
                return
            status, body = self._answer(route, path, query)
            seen.status = status
            self._send(status, body, pool, route)
        finally:
            self.fake._leave(pool, route)

    def _answer(self, route: str, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        if route == "single":
            return self.fake.answer_single(unquote(path[len("/works/"):]))
        if route in ("list", "search"):
            return self.fake.answer_list(query)
        if route == "datacite":
            return self.fake.answer_datacite(unquote(path[len("/dois/"):]))
        return 404, NOT_FOUND_TEXT

    def _headers(self, pool: str, route: str) -> list[tuple[str, str]]:
        if route == "datacite":
            return [("x-anonymous-consumer", "true")]
        limits = self.fake.pools[pool]
        limit, interval = limits["single" if route == "single" else "list"]
        name = f"{pool}-single" if route == "single" else pool
        return [("x-rate-limit-limit", str(limit)), ("x-rate-limit-interval", f"{interval:g}s"),
                ("x-concurrency-limit", str(limits["concurrency"])), ("x-api-pool", name)]

    def _send(self, status: int, body: Any, pool: str, route: str,
              extra: Iterable[tuple[str, str]] = ()) -> None:
        if isinstance(body, bytes):
            data, kind = body, "text/plain"
        else:
            data, kind = json.dumps(body).encode("utf-8"), "application/json;charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        for name, value in [*self._headers(pool, route), *extra]:
            self.send_header(name, value)
        self.end_headers()
        self.write_body(data)

    def _misbehave(self, fault: Fault, pool: str, route: str) -> int:
        kind = fault.kind
        if kind in ("429", "500", "503"):
            extra = [("Retry-After", fault.retry_after)] if fault.retry_after else []
            self._send(int(kind), {"status": "failed", "message": kind}, pool, route, extra)
            return int(kind)
        if kind == "hang":
            self.fake._leave(pool, route)  # a hung request no longer counts as in flight
            time.sleep(self.fake.hang_seconds)
            self.fake._reenter(pool, route)  # balanced by do_GET's _leave
            self.close_connection = True
            return -2
        if kind == "malformed":
            self._send(200, b'{"status":"ok","message-type":"work-list","message":{"items":[{',
                       pool, route)
            return 200
        if kind == "404text":
            self._send(404, NOT_FOUND_TEXT, pool, route)
            return 404
        if kind == "400":
            body = json.loads((self.fake.data / "crossref" /
                               "error_400_10.1371_journal.pone.0033693_query.author.json")
                              .read_text(encoding="utf-8"))
            self._send(400, body, pool, route)
            return 400
        if kind in ("huge", "huge-declared"):
            self._huge(declared=kind == "huge-declared")
            return 200
        if kind == "deep":  # valid-looking JSON nested past any parser's recursion
            self._send(200, b"[" * 200_000 + b"]" * 200_000, pool, route)
            return 200
        if kind == "drip":
            self.fake._leave(pool, route)  # a stalled answer no longer counts as in flight
            self._drip()
            self.fake._reenter(pool, route)
            return 200
        raise ValueError(f"unknown fault {kind!r}")

    def _drip(self) -> None:
        """A whole answer, one byte every `drip_seconds`: never idle long enough for a read
        timeout, until the client stops reading."""
        self.close_connection = True
        data = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100000\r\n\r\n" + b" " * 100_000)
        try:
            for index in range(len(data)):
                self.wfile.write(data[index:index + 1])
                self.wfile.flush()
                time.sleep(self.fake.drip_seconds)
        except OSError:
            pass

    def _huge(self, declared: bool) -> None:
        """300 MB of JSON-ish bytes, until the client stops reading."""
        total = 300 * 1024 * 1024
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if declared:
            self.send_header("Content-Length", str(total))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        chunk = b'{"status":"ok",' + b" " * (1024 * 1024 - 15)
        sent = 0
        try:
            while sent < total:
                self.wfile.write(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass


FakeAPI.handler = _Handler


SPECINFER_DOI = "10.1145/3620666.3651335"
SPECINFER_TITLE = ("SpecInfer: Accelerating Large Language Model Serving with Tree-based "
                   "Speculative Inference and Verification")


def add_specinfer(api: FakeAPI) -> None:
    """The issue's example paper (ASPLOS '24), derived from the real SIGMOD '21 record, and
    its arXiv preprint at DataCite, derived from the real LIPIcs record."""
    api.derive(
        SPECINFER_DOI, title=SPECINFER_TITLE, year=2024,
        authors=[("Xupeng", "Miao"), ("Gabriele", "Oliaro"), ("Zhihao", "Zhang")],
        event={"name": "ASPLOS '24: 29th ACM International Conference on Architectural "
                       "Support for Programming Languages and Operating Systems, Volume 3",
               "acronym": "ASPLOS '24", "location": "La Jolla CA USA"},
        page="932-949",
        **{"container-title": ["Proceedings of the 29th ACM International Conference on "
                               "Architectural Support for Programming Languages and "
                               "Operating Systems, Volume 3"]},
    )
    api.derive_datacite(
        "10.48550/arxiv.2305.09781", title=SPECINFER_TITLE, year=2023,
        creators=[("Xupeng", "Miao"), ("Gabriele", "Oliaro")],
        url="https://arxiv.org/abs/2305.09781", identifiers=[("arXiv", "2305.09781")],
        related=[("IsPreprintOf", SPECINFER_DOI)],
    )
