"""Crossref's REST API: single works, `filter=doi:` work lists and title searches.

DOIs are percent-encoded into the path, so no DOI can change the host or the route. The
limits start from Crossref's documented pools and then follow what each answer announces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from surveybib.identifiers import doi_path
from surveybib.model import Work
from surveybib.net.ratelimit import Limits
from surveybib.net.settings import ClientConfig
from surveybib.net.transport import BadAnswer, Reply, RequestFailed, Transport, json_body

# Crossref's documented pools (since December 2025): requests per second for single works
# and for lists/searches, and concurrent requests. Responses' headers then take over.
POLITE = {"single": 10.0, "list": 3.0, "concurrency": 3}
PUBLIC = {"single": 5.0, "list": 1.0, "concurrency": 1}

# Only what the mapping and the match guard read: keeps search answers small. Every name
# must be one /works accepts in `select` (an unknown one, e.g. `institution`, makes
# Crossref answer 400 select-not-available to every search).
SEARCH_SELECT = (
    "DOI,title,subtitle,short-title,author,editor,issued,published-print,published-online,"
    "posted,type,container-title,event,page,article-number,volume,issue,publisher,"
    "publisher-location,ISSN,ISBN,URL,relation,score"
)


class Crossref:
    """The Crossref routes, asked through a transport within Crossref's limits."""

    def __init__(self, transport: Transport, config: ClientConfig) -> None:
        self.transport = transport
        self.config = config
        self.limits = Limits(POLITE if config.mailto else PUBLIC)
        transport.register(config.crossref_url, self.limits)

    def _params(self, params: Mapping[str, str]) -> str:
        items = dict(params)
        if self.config.mailto:
            items["mailto"] = self.config.mailto
        return urlencode(items, safe=":,/", quote_via=quote)

    def work_url(self, doi: str) -> str:
        """`{base}/works/{doi}`, the DOI percent-encoded into the path."""
        url = f"{self.config.crossref_url}/works/{doi_path(doi)}"
        query = self._params({})
        return f"{url}?{query}" if query else url

    def list_url(self, dois: Sequence[str]) -> str:
        """`{base}/works?filter=doi:A,doi:B,...&rows=N`."""
        query = {"filter": ",".join(f"doi:{d}" for d in dois), "rows": str(len(dois))}
        return f"{self.config.crossref_url}/works?{self._params(query)}"

    def work(self, doi: str) -> Work | None:
        """`/works/{doi}`: the work, or None when Crossref does not hold the DOI."""
        reply = self.transport.get(self.work_url(doi), self.limits, "single")
        if reply.status == 404:
            return None
        return Work(doi, "crossref", envelope(reply, "work"))

    def works(self, dois: Sequence[str]) -> dict[str, Mapping[str, Any]]:
        """One `filter=doi:` request: the works Crossref returned, by lower-case DOI."""
        reply = self.transport.get(self.list_url(dois), self.limits, "list")
        items = envelope(reply, "work-list").get("items")
        if not isinstance(items, list):
            raise BadAnswer("Crossref's work-list has no items")
        wanted = set(dois)
        found: dict[str, Mapping[str, Any]] = {}
        for item in items:
            if isinstance(item, dict):
                doi = str(item.get("DOI") or "").lower()
                if doi in wanted:
                    found[doi] = item
        return found

    def search(self, text: str, rows: int = 5) -> list[Mapping[str, Any]]:
        """`query.bibliographic` title search: the items, best first. Raises NetworkError."""
        query = {"query.bibliographic": text, "rows": str(rows), "select": SEARCH_SELECT}
        url = f"{self.config.crossref_url}/works?{self._params(query)}"
        try:
            message = envelope(self.transport.get(url, self.limits, "list"), "work-list")
        except BadAnswer as exc:
            raise RequestFailed(str(exc)) from None
        items = message.get("items")
        return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []

    def batches(self, dois: Sequence[str]) -> list[list[str]]:
        """Split DOIs into `filter=doi:` lists whose URL stays under the length limit.
        DOIs the filter syntax cannot carry (a comma inside) are left out: asked singly."""
        out: list[list[str]] = []
        current: list[str] = []
        for doi in dois:
            if "," in doi:
                continue
            if current and len(self.list_url([*current, doi])) > self.config.max_url:
                out.append(current)
                current = []
            current.append(doi)
        if current:
            out.append(current)
        return out


def envelope(reply: Reply, kind: str) -> Mapping[str, Any]:
    """Crossref's `{"status": "ok", "message-type": kind, "message": {...}}` -> message."""
    data = json_body(reply, "Crossref")
    if reply.status >= 400:
        detail = _validation(data) if isinstance(data, dict) else f"HTTP {reply.status}"
        raise BadAnswer(f"Crossref rejected the request (HTTP {reply.status}): {detail}")
    if not isinstance(data, dict) or data.get("message-type") != kind \
            or not isinstance(data.get("message"), dict):
        raise BadAnswer(f"Crossref answered something other than a {kind}")
    message: Mapping[str, Any] = data["message"]
    return message


def _validation(data: Mapping[str, Any]) -> str:
    """The messages of a `validation-failure` envelope."""
    message = data.get("message")
    if isinstance(message, list):
        parts = [str(m.get("message") or m.get("type")) for m in message if isinstance(m, dict)]
        if parts:
            return "; ".join(parts)
    return str(message or data.get("message-type") or "validation failure")
