from __future__ import annotations

import pytest

from surveybib.identifiers import (
    arxiv_doi,
    doi_path,
    doi_url,
    entry_doi,
    normalize_doi,
    parse_arxiv_id,
)
from surveybib.model import Entry


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("10.1145/3620666.3651335", "10.1145/3620666.3651335", id="bare"),
        pytest.param("doi:10.1145/3620666.3651335", "10.1145/3620666.3651335", id="doi-prefix"),
        pytest.param("DOI: 10.1145/3620666.3651335", "10.1145/3620666.3651335", id="DOI-space"),
        pytest.param("https://doi.org/10.1109/ICDCSW.2003.1203662", "10.1109/icdcsw.2003.1203662",
                     id="https-upper"),
        pytest.param("http://dx.doi.org/10.1007/978-3-642-33191-6_49",
                     "10.1007/978-3-642-33191-6_49", id="dx"),
        pytest.param("https://doi.org/10.1007%2F978-3-642-33191-6_49",
                     "10.1007/978-3-642-33191-6_49", id="percent-encoded"),
        pytest.param("10.1101/097196.", "10.1101/097196", id="trailing-period-from-pdf"),
        pytest.param("10.1101/097196).", "10.1101/097196", id="closing-paren-of-sentence"),
        pytest.param("10.1002/(SICI)1097-4571(199806)49:8<693::AID-ASI4>3.0.CO;2-0",
                     "10.1002/(sici)1097-4571(199806)49:8<693::aid-asi4>3.0.co;2-0",
                     id="wiley-sici-parens-kept"),
        pytest.param("  10.48550/arXiv.2305.09781 ", "10.48550/arxiv.2305.09781", id="arxiv"),
        pytest.param("10.1145", None, id="no-suffix"),
        pytest.param("11.1145/123", None, id="not-10"),
        pytest.param("https://example.org/10.1145/x", None, id="other-url"),
        pytest.param("", None, id="empty"),
        pytest.param("2305.09781", None, id="arxiv-id-is-not-a-doi"),
    ],
)
def test_normalize_doi(text: str, expected: str | None) -> None:
    assert normalize_doi(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2305.09781", "2305.09781", id="new"),
        pytest.param("2305.09781v2", "2305.09781", id="version-dropped"),
        pytest.param("arXiv:2305.09781", "2305.09781", id="prefix"),
        pytest.param("https://arxiv.org/abs/2305.09781v3", "2305.09781", id="abs-url"),
        pytest.param("https://arxiv.org/pdf/2305.09781.pdf", "2305.09781", id="pdf-url"),
        pytest.param("http://arxiv.org/pdf/2305.09781v1", "2305.09781", id="pdf-url-no-ext"),
        pytest.param("cs/0112017", "cs/0112017", id="old-style"),
        pytest.param("math.GT/0309136v1", "math.gt/0309136", id="old-style-subject-class"),
        pytest.param("https://arxiv.org/abs/hep-th/9901001", "hep-th/9901001", id="old-url"),
        pytest.param("1501.00001", "1501.00001", id="4-digit-new"),
        pytest.param("10.48550/arXiv.2305.09781", "2305.09781", id="arxiv-doi"),
        pytest.param("10.1145/3620666.3651335", None, id="other-doi"),
        pytest.param("hello", None, id="junk"),
    ],
)
def test_parse_arxiv_id(text: str, expected: str | None) -> None:
    assert parse_arxiv_id(text) == expected


def test_arxiv_doi_is_lower_case_store_key() -> None:
    assert arxiv_doi("2305.09781") == "10.48550/arxiv.2305.09781"


def _entry(**fields: str) -> Entry:
    return Entry("k", "misc", tuple(fields.items()))


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param({"doi": "https://doi.org/10.1145/3620666.3651335"},
                     "10.1145/3620666.3651335", id="doi-field"),
        pytest.param({"doi": "10.1007/978-3-642-33191-6\\_49"}, "10.1007/978-3-642-33191-6_49",
                     id="latex-escaped-underscore"),
        pytest.param({"eprint": "2305.09781", "archiveprefix": "arXiv"},
                     "10.48550/arxiv.2305.09781", id="eprint-archiveprefix"),
        pytest.param({"eprint": "2305.09781v2", "eprinttype": "arxiv"},
                     "10.48550/arxiv.2305.09781", id="eprint-eprinttype"),
        pytest.param({"url": "https://arxiv.org/abs/2305.09781"}, "10.48550/arxiv.2305.09781",
                     id="arxiv-url"),
        pytest.param({"eprint": "2305.09781"}, None, id="eprint-without-archive"),
        pytest.param({"eprint": "123", "archiveprefix": "HAL"}, None, id="other-archive"),
        pytest.param({"doi": "not a doi", "url": "https://arxiv.org/abs/2305.09781"},
                     "10.48550/arxiv.2305.09781", id="bad-doi-falls-back-to-arxiv"),
        pytest.param({"title": "x"}, None, id="nothing"),
    ],
)
def test_entry_doi(fields: dict[str, str], expected: str | None) -> None:
    assert entry_doi(_entry(**fields)) == expected


def test_doi_url_quotes_what_would_break_the_url() -> None:
    assert doi_url("10.1007/978-3-642-33191-6_49") == \
        "https://doi.org/10.1007/978-3-642-33191-6_49"
    assert doi_url("10.5555/a b?c#d") == "https://doi.org/10.5555/a%20b%3Fc%23d"


@pytest.mark.parametrize(
    "doi",
    [
        pytest.param("10.5555/../../admin", id="dot-dot"),
        pytest.param("10.5555/x?rows=1000", id="query"),
        pytest.param("10.5555/x#frag", id="fragment"),
        pytest.param("10.5555/@evil.example.com", id="userinfo"),
        pytest.param("10.5555/x%2F..%2F..", id="encoded-slash"),
        pytest.param("10.5555/a\\b", id="backslash"),
    ],
)
def test_doi_path_cannot_leave_its_route(doi: str) -> None:
    from urllib.parse import urljoin, urlsplit

    url = "https://api.crossref.org/works/" + doi_path(doi)
    parts = urlsplit(url)
    assert parts.hostname == "api.crossref.org"
    assert parts.query == "" and parts.fragment == ""
    assert parts.path.startswith("/works/10.5555/")
    assert urljoin(url, ".").startswith("https://api.crossref.org/works/")
