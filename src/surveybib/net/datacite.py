"""DataCite's REST API: the DOIs Crossref does not hold (arXiv's `10.48550/arXiv.*`,
Zenodo, Dagstuhl LIPIcs, ...)."""

from __future__ import annotations

from surveybib.identifiers import doi_path, is_arxiv_doi
from surveybib.model import Work
from surveybib.net.ratelimit import Limits
from surveybib.net.settings import ClientConfig
from surveybib.net.transport import BadAnswer, Transport, json_body

# Registration agencies other than Crossref hold these prefixes: ask DataCite directly.
# 10.48550 arXiv, 10.4230 Dagstuhl LIPIcs, 10.5281 Zenodo.
DATACITE_PREFIXES = ("10.48550/", "10.4230/", "10.5281/")
LIMITS = {"single": 10.0, "list": 10.0, "concurrency": 3}  # 3,000 requests / 5 minutes


def datacite_first(doi: str) -> bool:
    """Whether DataCite, not Crossref, is the agency to ask first for this DOI."""
    return doi.startswith(DATACITE_PREFIXES) or is_arxiv_doi(doi)


class DataCite:
    """The DataCite route, asked through a transport within DataCite's limits."""

    def __init__(self, transport: Transport, config: ClientConfig) -> None:
        self.transport = transport
        self.config = config
        self.limits = Limits(LIMITS)
        transport.register(config.datacite_url, self.limits)

    def url(self, doi: str) -> str:
        """`{base}/dois/{doi}`, the DOI percent-encoded into the path."""
        return f"{self.config.datacite_url}/dois/{doi_path(doi)}"

    def work(self, doi: str) -> Work | None:
        """`/dois/{doi}`: the work's `data.attributes`, or None when DataCite does not hold it."""
        reply = self.transport.get(self.url(doi), self.limits, "single")
        if reply.status == 404:
            return None
        data = json_body(reply, "DataCite")
        record = data.get("data") if isinstance(data, dict) else None
        attributes = record.get("attributes") if isinstance(record, dict) else None
        if not isinstance(attributes, dict):
            raise BadAnswer(f"DataCite answered HTTP {reply.status} without data.attributes")
        return Work(doi, "datacite", attributes)
