"""DOIs and arXiv identifiers: recognise them in what people paste, normalise them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from urllib.parse import quote, unquote

from surveybib.latex import url_from_latex
from surveybib.model import Entry

# A DOI is "10." + a registrant code of digits (sub-codes separated by dots) + "/" + suffix.
_DOI_RE = re.compile(r"10\.\d{4,9}(?:\.\d+)*/\S+")
_DOI_PREFIXES = re.compile(
    r"^(?:doi:\s*|(?:https?://)?(?:dx\.|www\.)?doi\.org/|info:doi/)", re.IGNORECASE
)
# Characters a PDF or a sentence leaves stuck to the end of a DOI.
_TRAILING = ".,;:'\"!?>]}"

_ARXIV_NEW = re.compile(r"(\d{4}\.\d{4,5})(?:v\d+)?")
_ARXIV_OLD = re.compile(r"([a-z][a-z-]*(?:\.[A-Za-z]{2})?/\d{7})(?:v\d+)?")
_ARXIV_URL = re.compile(
    r"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/(.+?)(?:\.pdf)?/?$",
    re.IGNORECASE,
)
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(.+)$")


def normalize_doi(text: str) -> str | None:
    """A DOI in any common spelling -> its lower-case bare form, or None if it is not a DOI."""
    value = text.strip()
    if "%" in value:
        value = unquote(value)
    value = _DOI_PREFIXES.sub("", value.strip()).strip()
    value = value.rstrip(_TRAILING)
    # A closing parenthesis belongs to the DOI only if it closes one opened inside it
    # (Wiley's 10.1002/(SICI)... DOIs); otherwise it came from the surrounding sentence.
    while value.endswith(")") and value.count(")") > value.count("("):
        value = value[:-1].rstrip(_TRAILING)
    if not _DOI_RE.fullmatch(value):
        return None
    if any(part in ("", ".", "..") for part in value.split("/")[1:]):
        return None  # no DOI has such a segment, and a server could resolve it as a path
    return value.lower()


def strip_doi_prefix(value: str) -> str:
    """`https://doi.org/10.x/y`, `doi:10.x/y` -> `10.x/y` (case and the rest kept)."""
    return _DOI_PREFIXES.sub("", value.strip()).strip()


def parse_arxiv_id(text: str) -> str | None:
    """`2305.09781v2`, `arXiv:...`, an arxiv.org URL, `cs/0112017` -> the id, version dropped."""
    value = text.strip()
    url = _ARXIV_URL.match(value)
    if url:
        value = url.group(1)
    elif value.lower().startswith("arxiv:"):
        value = value[len("arxiv:") :].strip()
    else:
        doi = normalize_doi(value)
        if doi is not None:
            match = _ARXIV_DOI.match(doi)
            if not match:
                return None
            value = match.group(1)
    new = _ARXIV_NEW.fullmatch(value)
    if new:
        return new.group(1)
    old = _ARXIV_OLD.fullmatch(value)
    if old:
        return old.group(1).lower()
    return None


def arxiv_doi(arxiv_id: str) -> str:
    """The DOI arXiv registered at DataCite for an arXiv id (lower-case, as the store keys it)."""
    return f"10.48550/arxiv.{arxiv_id}".lower()


def is_arxiv_doi(doi: str) -> bool:
    """True for arXiv's own DOIs (`10.48550/arXiv.*`), which only DataCite holds."""
    return doi.lower().startswith("10.48550/arxiv.")


def entry_arxiv_id(entry: Entry) -> str | None:
    """The arXiv id an entry names in `eprint` (with an arXiv archiveprefix/eprinttype) or `url`."""
    eprint = entry.get("eprint")
    if eprint:
        archive = (entry.get("archiveprefix") or entry.get("eprinttype")).strip().lower()
        if archive == "arxiv" or eprint.strip().lower().startswith("arxiv:"):
            found = parse_arxiv_id(eprint)
            if found:
                return found
    url = entry.get("url")
    if url and "arxiv.org/" in url.lower():
        return parse_arxiv_id(url)
    return None


def entry_doi(entry: Entry) -> str | None:
    """The entry's DOI (normalised), else the arXiv DOI of its arXiv id, else None."""
    raw = entry.get("doi")
    if raw:
        doi = normalize_doi(raw.replace("\\_", "_"))
        if doi is not None:
            return doi
    arxiv = entry_arxiv_id(entry)
    return arxiv_doi(arxiv) if arxiv else None


def doi_url(doi: str) -> str:
    """https://doi.org/ + the DOI, percent-encoded so that it stays one path."""
    return "https://doi.org/" + quote(doi, safe="/:;()._-")


def doi_path(doi: str) -> str:
    """A DOI as URL path segments: every reserved character encoded and no `.`/`..` segment,
    so no DOI can change the host or escape the route it is appended to."""
    segments = []
    for segment in doi.split("/"):
        encoded = quote(segment, safe="")
        if encoded in ("", ".", ".."):
            encoded = encoded.replace(".", "%2E") or "%2F"
        segments.append(encoded)
    return "/".join(segments)


# The arXiv id an entry carries in any of the ways real bibliographies write it (shared by
# the README, the exports and check, so they never disagree about an entry).
_ARXIV_ID = r"(?:\d{4}\.\d{4,5}|[a-z][a-z.-]{0,30}(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?"
_ARXIV_TEXT = re.compile(
    r"ar\{?x\}?iv(?:\s++e-?prints?)?(?:\s++preprint)?(?:\s*+,?\s*+ar\{?x\}?iv)?\s*+[:.]?\s*+(?:abs/)?"
    rf"({_ARXIV_ID})", re.I)
_ARXIV_ID_URL = re.compile(rf"arxiv\.org/(?:abs|pdf)/({_ARXIV_ID})", re.I)
_ARXIV_ID_DOI = re.compile(rf"^10\.48550/arxiv\.({_ARXIV_ID})$", re.I)
_ARXIV_VENUE = re.compile(r"^\s*(?:\{?ar\{?x\}?iv\}?|corr)\b", re.I)


_ARXIV_PLACES = ("eprint", "doi", "journal", "journaltitle", "howpublished", "note", "url")
_ID_PLACES = ("eprint", "doi", "url")


def arxiv_id(fields: Mapping[str, str], *, venue_text: bool = True) -> str:
    """The arXiv identifier an entry carries (eprint, DOI, URL and, unless `venue_text` is
    False, venue text such as `arXiv preprint arXiv:2404.14294`), as written, or ''."""
    if not fields.get("eprint"):
        places = _ARXIV_PLACES if venue_text else _ID_PLACES
        seen = " ".join(fields.get(name, "") for name in places).lower()
        if "arxiv" not in seen and "corr" not in seen and "10.48550" not in seen:
            return ""  # the common case, cheaply: a README build asks for every entry
    eprint = fields.get("eprint", "").strip()
    prefix = (fields.get("archiveprefix") or fields.get("eprinttype") or "").strip().lower()
    if eprint:
        eprint = re.sub(r"^arxiv:\s*", "", eprint, flags=re.I)
        if prefix == "arxiv" or (not prefix and re.fullmatch(_ARXIV_ID, eprint)):
            return eprint
    match = _ARXIV_ID_DOI.match(fields.get("doi", ""))
    if match:
        return match.group(1)
    if venue_text:
        for name in ("journal", "journaltitle", "howpublished", "note", "volume"):
            value = fields.get(name)
            if value and (match := _ARXIV_TEXT.search(value)):
                return match.group(1)
        volume = fields.get("volume", "")
        if volume.startswith("abs/") and _ARXIV_VENUE.match(fields.get("journal", "")):
            return volume[4:]
    match = _ARXIV_ID_URL.search(fields.get("url", ""))
    return match.group(1) if match else ""


def entry_ids(entry: Entry) -> tuple[str, ...]:
    """Every DOI the paper of an entry is known by, normalised: its `doi` field in any
    spelling, and arXiv's DOI for an arXiv id in its doi, url or eprint. Two entries that
    share one are the same paper (`check`'s duplicate-doi; `add` refuses such a paper)."""
    ids: list[str] = []
    raw = entry.get("doi")
    doi = normalize_doi(url_from_latex(raw)) if raw else None
    if doi is not None:
        ids.append(doi)
    fields = {name: url_from_latex(entry.get(name)) for name in (*_ID_PLACES, "archiveprefix",
                                                                 "eprinttype")}
    arxiv = parse_arxiv_id(arxiv_id(fields, venue_text=False) or "-")
    if arxiv is not None and arxiv_doi(arxiv) not in ids:
        ids.append(arxiv_doi(arxiv))
    return tuple(ids)


@lru_cache(maxsize=4096)
def is_arxiv_venue(value: str) -> bool:
    """`arXiv preprint arXiv:2404.14294`, `ArXiv`, `CoRR`: a venue that is arXiv itself."""
    return bool(_ARXIV_VENUE.match(value))


def paper_key(entry: Entry) -> str:
    """The id an entry's paper is asked and stored under: `arxiv:<id>` when it names an
    arXiv id (stable across an upgrade), else `doi:<doi>`, else ""."""
    found = parse_arxiv_id(arxiv_id(entry.as_dict()) or "")
    if found:
        return f"arxiv:{found}"
    doi = entry_doi(entry)
    return f"doi:{doi}" if doi and not is_arxiv_doi(doi) else ""


def paper_keys(entry: Entry) -> list[str]:
    """Every store key the entry's paper may be under (its arXiv id and its DOI)."""
    keys = [paper_key(entry)]
    doi = entry_doi(entry)
    if doi and not is_arxiv_doi(doi):
        keys.append(f"doi:{doi}")
    return [k for k in dict.fromkeys(keys) if k]


def arxiv_only(entry: Entry) -> str:
    """The arXiv id of an entry that names no other venue and no published DOI, else ""."""
    found = parse_arxiv_id(arxiv_id(entry.as_dict()) or "") or ""
    if not found:
        return ""
    doi = entry_doi(entry)
    if doi is not None and not is_arxiv_doi(doi):
        return ""
    for name in ("venue", "booktitle", "journal", "journaltitle"):
        value = entry.get(name).strip()
        if value and not is_arxiv_venue(value):
            return ""
    return found
