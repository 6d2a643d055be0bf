"""The committed metadata store and the merge of stored records into entries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import DATA

from surveybib.errors import MetadataStoreError
from surveybib.metadata.match import Candidate, query_for
from surveybib.metadata.store import (
    MetadataStore,
    SearchResult,
    load_store,
    merge_entries,
    merge_entry,
    pending,
    save_store,
    store_from_json,
    store_to_json,
    trimmed,
)
from surveybib.model import Entry, Work


def _message(name: str) -> dict[str, Any]:
    body = json.loads((DATA / "crossref" / f"{name}.json").read_text("utf-8"))
    return body["message"]  # type: ignore[no-any-return]


def _store(*names: str, **extra: Any) -> MetadataStore:
    works = {}
    for name in names:
        message = _message(name)
        doi = message["DOI"].lower()
        works[doi] = trimmed(Work(doi, "crossref", message))
    return MetadataStore(works, **extra)


def _entry(key: str = "k", type: str = "misc", line: int = 3, **fields: str) -> Entry:
    return Entry(key, type, tuple(fields.items()), "survey.bib", line)


def test_trim_drops_large_arrays() -> None:
    message = _message("10.1145_3184558.3186235")
    assert {"reference", "license"} <= message.keys()
    kept = trimmed(Work("10.1145/3184558.3186235", "crossref", message)).record
    assert not {"reference", "license", "link", "assertion"} & kept.keys()
    assert kept["title"] == message["title"]
    datacite = {"doi": "10.4230/x", "xml": "PD94bWwg...", "titles": []}
    assert "xml" not in trimmed(Work("10.4230/x", "datacite", datacite)).record


def test_store_json_is_deterministic_and_round_trips() -> None:
    store = _store("10.1145_3448016.3452841", "10.1101_097196",
                   missing={"10.5555/nope": "not found at Crossref or DataCite"},
                   searches={"b": SearchResult("no match", None, "T A 2020",
                                               (Candidate("10.5555/c", "T", "A", "2020", 1.5,
                                                          "", "year 2020"),), "why"),
                             "a": SearchResult("matched", "10.1101/097196", "q")})
    text = store_to_json(store)
    assert text.endswith("}\n") and "\r" not in text
    assert "Mercè" in text  # ensure_ascii=False
    again = store_from_json(text, "survey.lock.json")
    assert store_to_json(again) == text
    assert again == store
    # The same content built in another order serialises to the same bytes.
    reordered = MetadataStore(dict(reversed(list(store.works.items()))), store.missing,
                              dict(reversed(list(store.searches.items()))))
    assert store_to_json(reordered) == text
    data = json.loads(text)
    assert list(data["works"]) == sorted(data["works"])


def test_missing_store_is_empty(tmp_path: Path) -> None:
    assert load_store(tmp_path / "survey.lock.json") == MetadataStore()


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"{not json", id="invalid-json"),
        pytest.param(b'{"works": {}}', id="no-format-marker"),
        pytest.param(b'{"surveybib-metadata": 1, "works": {"10.1/x": {"record": {}}}}',
                     id="work-without-source"),
        pytest.param(b"\xff\xfe{}", id="not-utf8"),
        pytest.param(b"[]", id="a-list"),
    ],
)
def test_unreadable_store_is_an_error_naming_the_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "survey.lock.json"
    path.write_bytes(content)
    with pytest.raises(MetadataStoreError, match=r"survey\.lock\.json"):
        load_store(path)
    assert path.read_bytes() == content  # never replaced


def test_save_is_atomic_and_skips_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "survey.lock.json"
    store = _store("10.1109_icdcsw.2003.1203662")
    assert save_store(path, store) is True
    first = path.stat().st_mtime_ns
    assert save_store(path, load_store(path)) is False
    assert path.stat().st_mtime_ns == first
    assert [p.name for p in tmp_path.iterdir()] == ["survey.lock.json"]  # no temp files left
    assert load_store(path) == store


def test_merge_fills_gaps_and_user_fields_win() -> None:
    store = _store("10.1145_3448016.3452841")
    entry = _entry(doi="https://doi.org/10.1145/3448016.3452841", title="VQF",
                   taxonomy="Dynamic Inference", reader="Yin, Lihao", year="2021")
    merged, problems = merge_entry(entry, store)
    assert merged.type == "inproceedings"  # a bare @misc placeholder shows as what it is
    assert merged.get("title") == "VQF"  # the user's own value wins ...
    assert merged.get("doi") == "https://doi.org/10.1145/3448016.3452841"
    assert merged.get("author").startswith("Pandey, Prashant")  # ... gaps are filled
    assert merged.get("booktitle").startswith("Proceedings of the 2021")
    assert merged.get("venue") == "SIGMOD/PODS"
    assert merged.get("taxonomy") == "Dynamic Inference"
    assert merged.filled == ("author", "booktitle", "pages", "publisher", "url", "venue")
    assert merged.fields[:5] == entry.fields
    # The title differs from Crossref's: reported, never changed.
    assert [p.rule for p in problems] == ["conflict"]
    assert "title differs" in problems[0].message and problems[0].level == "warning"
    assert str(problems[0]).startswith("survey.bib:3: k: warning: title differs")


def test_merge_reports_year_conflict_and_keeps_the_users_year() -> None:
    store = _store("10.1145_3448016.3452841")
    merged, problems = merge_entry(_entry(doi="10.1145/3448016.3452841", year="2020",
                                          title="Vector Quotient Filters"), store)
    assert merged.get("year") == "2020"
    assert [p.message for p in problems] == [
        "year 2020 here, 2021 at Crossref (10.1145/3448016.3452841); keeping 2020"]


def test_merge_keeps_the_users_venue_field() -> None:
    store = _store("10.1145_3448016.3452841")
    merged, _ = merge_entry(_entry(type="article", doi="10.1145/3448016.3452841",
                                   journal="My Journal"), store)
    assert merged.type == "article"
    assert "booktitle" not in merged and merged.get("journal") == "My Journal"


def test_preprint_with_published_version_is_reported() -> None:
    store = _store("10.1101_097196")
    _, problems = merge_entry(_entry(doi="10.1101/097196"), store)
    assert [(p.rule, p.message) for p in problems] == [
        ("preprint", "this preprint has a published version: 10.1038/s41597-019-0031-8")]


def _asked(entry: Entry) -> str:
    query = query_for(entry)
    assert query is not None
    return query.text


def test_search_match_fills_the_doi() -> None:
    entry = _entry(title="Vector Quotient Filters", author="Pandey, P.")
    store = _store("10.1145_3448016.3452841", searches={
        "k": SearchResult("matched", "10.1145/3448016.3452841", _asked(entry))})
    merged, _ = merge_entry(entry, store)
    assert merged.get("doi") == "10.1145/3448016.3452841"
    assert merged.get("author") == "Pandey, P."
    bare = _entry(title="Vector Quotient Filters")
    unmatched = MetadataStore(store.works,
                              searches={"k": SearchResult("ambiguous", None, _asked(bare))})
    assert merge_entry(bare, unmatched)[0].filled == ()


def test_a_search_made_for_another_title_is_not_used() -> None:
    """The key now names another paper (or its title was corrected): the old match must not
    lend it a DOI, and a fetch must search again."""
    old = _entry(title="Vector Quotient Filters", author="Pandey, P.")
    store = _store("10.1145_3448016.3452841", searches={
        "k": SearchResult("matched", "10.1145/3448016.3452841", _asked(old))})
    cats = _entry(title="A completely different paper about cats", author="Smith, John")
    merged, _ = merge_entry(cats, store)
    assert merged.get("doi") == "" and merged.filled == ()
    assert [e.key for e in pending([cats], store)] == ["k"]


def test_empty_user_field_is_filled_in_place() -> None:
    store = _store("10.1145_3448016.3452841")
    merged, _ = merge_entry(_entry(doi="10.1145/3448016.3452841", author=""), store)
    assert [name for name, _ in merged.fields].count("author") == 1
    assert merged.get("author").startswith("Pandey")


def test_merge_entries_without_records_returns_entries_unchanged() -> None:
    entries = tuple(_entry(key=f"k{i}", doi=f"10.5555/{i}") for i in range(3))
    assert merge_entries(entries, MetadataStore()) == (entries, ())
    merged, problems = merge_entries(entries, _store("10.1101_097196"))
    assert merged == entries and problems == ()


def test_pending_counts_what_a_fetch_would_ask() -> None:
    store = _store("10.1101_097196", missing={"10.5555/gone": "not found"},
                   searches={"searched": SearchResult("no match", None,
                                                      _asked(_entry(key="searched", title="T")))})
    entries = [_entry(key="stored", doi="10.1101/097196"),
               _entry(key="gone", doi="10.5555/gone"),
               _entry(key="new", doi="10.5555/new"),
               _entry(key="searched", title="T"),
               _entry(key="unsearched", title="T"),
               _entry(key="arxiv", eprint="2305.09781", archiveprefix="arXiv"),
               _entry(key="nothing", note="x")]
    assert [e.key for e in pending(entries, store)] == ["new", "unsearched", "arxiv"]
