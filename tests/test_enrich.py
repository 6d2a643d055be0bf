"""Enrichment runs against the fake Crossref + DataCite API, and `--write`'s text edits."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from fakeapi import SPECINFER_DOI, SPECINFER_TITLE, add_specinfer

from surveybib.bibtex.parse import parse_bib
from surveybib.bibtex.source import BibSource
from surveybib.enrich import (
    HEARTBEAT,
    EntryChange,
    FieldChange,
    additions,
    change_lines,
    fetch_pending,
    run_enrich,
)
from surveybib.metadata.store import (
    MetadataStore,
    load_store,
    merge_entries,
    save_store,
    stored_findings,
)
from surveybib.model import Entry
from surveybib.net.fetch import Client
from surveybib.net.settings import ClientConfig

# The issue's example entry, verbatim, then others.
SPECINFER_ENTRY = ("@misc{specinfer, doi = {10.1145/3620666.3651335}, "
                   "taxonomy = {Dynamic Inference}, reader = {Yin, Lihao}}\n")
BIB = SPECINFER_ENTRY + """\

@inproceedings{vqf,
  title = {Vector Quotient Filters},
  author = {Pandey, Prashant},
  doi = {https://doi.org/10.1145/3448016.3452841},
}

@misc{specinfer-arxiv,
  title = {SpecInfer},
  eprint = {2305.09781},
  archiveprefix = {arXiv},
}

@inproceedings{dl-learner,
  title = {DL-Learner Structured Machine Learning on Semantic Web Data},
  author = {B{\\"u}hmann, Lorenz and Lehmann, Jens},
  year = {2018},
}

@inproceedings{attention,
  title = {Attention Is All You Need},
  author = {Vaswani, Ashish},
  booktitle = {Advances in Neural Information Processing Systems},
  year = {2017},
}

@article{ghost,
  title = {A paper with a mistyped DOI},
  doi = {10.5555/no-such-doi},
}
"""


def _entries(text: str = BIB) -> tuple[Entry, ...]:
    return parse_bib(text, "survey.bib").entries


def _client(api: Any, **kw: Any) -> Client:
    return Client(ClientConfig(crossref_url=api.url, datacite_url=api.url,
                               mailto="survey@example.org", connect_timeout=0.5,
                               read_timeout=0.5, backoff=0.02, **kw))


def test_enrich_fetches_matches_and_reports(fake_api: Any) -> None:
    add_specinfer(fake_api)
    with _client(fake_api) as client:
        result = run_enrich(_entries(), MetadataStore(), client)
    assert sorted(result.fetched) == sorted([SPECINFER_DOI, "10.1145/3448016.3452841",
                                             "10.48550/arxiv.2305.09781"])
    assert result.not_found == ("10.5555/no-such-doi",)
    assert result.matched == ("dl-learner",)
    assert result.no_match == ("attention",)  # NeurIPS: never searched, never given a DOI
    assert result.unreachable == "" and result.failed == ()
    store = result.store
    assert store.searches["dl-learner"].doi == "10.1145/3184558.3186235"
    assert "10.1145/3184558.3186235" in store.works  # the search item itself is stored
    assert store.missing == {"10.5555/no-such-doi": "not found at Crossref or DataCite"}
    assert not any(s.route == "search" and "Attention" in s.raw_path for s in fake_api.seen)
    rules = sorted((p.key, p.rule) for p in result.problems)
    # "SpecInfer" is the start of DataCite's title: no conflict, but a published version.
    assert rules == [("ghost", "not-found"), ("specinfer-arxiv", "preprint")]
    assert result.summary() == ("metadata: 3 fetched, 0 cached, 1 not found, 1 matched by "
                                "title, 0 ambiguous, 1 without a match, 24 fields to add")


def test_the_finished_progress_bar_is_drawn_once(fake_api: Any) -> None:
    """The heartbeat that keeps a slow run's progress alive drew the finished bar again,
    a new line every half second, while the store was being saved."""
    add_specinfer(fake_api)
    shown: list[tuple[int, int]] = []

    def slow_save(store: MetadataStore) -> None:
        time.sleep(3 * HEARTBEAT)

    with _client(fake_api) as client:
        run_enrich(_entries(), MetadataStore(), client, keys=["specinfer"],
                   progress=lambda counts: shown.append((counts.done, counts.total)),
                   checkpoint=slow_save)
    assert shown[-1] == (1, 1)
    assert shown.count((1, 1)) == 1, shown


def test_the_issues_specinfer_example_merges_into_a_full_entry(fake_api: Any) -> None:
    add_specinfer(fake_api)
    with _client(fake_api) as client:
        result = run_enrich(_entries(), MetadataStore(), client, keys=["specinfer"])
    (entry,), problems = merge_entries(_entries()[:1], result.store)
    assert problems == ()
    assert entry.type == "inproceedings"
    assert entry.get("title") == SPECINFER_TITLE
    assert entry.get("author") == "Miao, Xupeng and Oliaro, Gabriele and Zhang, Zhihao"
    assert (entry.get("venue"), entry.get("year")) == ("ASPLOS", "2024")
    assert entry.get("taxonomy") == "Dynamic Inference" and entry.get("reader") == "Yin, Lihao"


def test_second_run_makes_zero_requests(fake_api: Any, tmp_path: Path) -> None:
    add_specinfer(fake_api)
    path = tmp_path / "survey.lock.json"
    with _client(fake_api) as client:
        first = run_enrich(_entries(), load_store(path), client,
                           checkpoint=lambda s: save_store(path, s) and None)
    asked = fake_api.count()
    assert asked > 0
    with _client(fake_api) as client:
        second = run_enrich(_entries(), load_store(path), client)
        assert client.requests_made == 0
    assert fake_api.count() == asked
    assert sorted(second.cached) == sorted(first.fetched)
    assert second.changes == first.changes  # the same fields come from the stored records


def test_refresh_asks_again(fake_api: Any) -> None:
    add_specinfer(fake_api)
    entries = _entries()
    with _client(fake_api) as client:
        store = run_enrich(entries, MetadataStore(), client, keys=["vqf"]).store
        before = fake_api.count()
        result = run_enrich(entries, store, client, keys=["vqf"], refresh=True)
    assert result.fetched == ("10.1145/3448016.3452841",)
    assert fake_api.count() == before + 1


def test_store_is_saved_after_every_batch_so_an_interrupted_run_keeps_its_records(
        fake_api: Any, tmp_path: Path) -> None:
    dois = fake_api.synthetic(400)
    text = "".join(f"@article{{p{i}, doi = {{{d}}}}}\n" for i, d in enumerate(dois))
    path = tmp_path / "survey.lock.json"
    saved: list[int] = []

    def checkpoint(store: MetadataStore) -> None:
        save_store(path, store)
        saved.append(len(store.works))
        if len(saved) == 2:
            raise KeyboardInterrupt  # the user presses Ctrl-C after the second batch

    with _client(fake_api) as client, pytest.raises(KeyboardInterrupt):
        run_enrich(_entries(text), MetadataStore(), client, checkpoint=checkpoint)
    kept = load_store(path)
    assert len(kept.works) == saved[-1] > saved[0] > 0
    with _client(fake_api) as client:
        result = run_enrich(_entries(text), kept, client)
    assert len(result.fetched) == 400 - len(kept.works)  # only the rest is asked for
    assert len(result.store.works) == 400


def test_faults_in_an_enrichment_never_lose_an_entry(fake_api: Any) -> None:
    add_specinfer(fake_api)
    fake_api.inject("500", 99, "single")
    fake_api.inject("malformed", 1, "list")
    with _client(fake_api, retries=1) as client:
        result = run_enrich(_entries(), MetadataStore(), client, keys=["specinfer", "vqf"])
    # The batch broke, the singles kept failing: both are problems, asked again next run.
    assert sorted(result.failed) == sorted([SPECINFER_DOI, "10.1145/3448016.3452841"])
    assert sorted(p.key for p in result.problems if p.rule == "fetch-failed") == \
        ["specinfer", "vqf"]
    assert "could not fetch" in result.problems[0].message
    assert result.lacking == 2
    with _client(fake_api) as client:
        fake_api.faults.clear()
        again = run_enrich(_entries(), result.store, client, keys=["specinfer", "vqf"])
    assert sorted(again.fetched) == sorted(result.failed)


def test_unreachable_network_ends_quickly_with_one_line() -> None:
    config = ClientConfig(crossref_url="http://127.0.0.1:9", datacite_url="http://127.0.0.1:9",
                          backoff=0.5)
    with Client(config) as client:
        result = run_enrich(_entries(), MetadataStore(), client)
        assert client.requests_made == 1
    assert result.unreachable.startswith("cannot reach 127.0.0.1")
    assert result.summary() == (f"offline ({result.unreachable}): 5 entries lack metadata")
    assert not [p for p in result.problems if p.rule == "fetch-failed"]


def test_offline_counts_what_is_missing() -> None:
    result = run_enrich(_entries(), MetadataStore(), None)
    assert result.summary() == "offline: 5 entries lack metadata"


def test_fetch_missing_for_build(fake_api: Any, tmp_path: Path) -> None:
    from surveybib.config import load_settings

    add_specinfer(fake_api)
    settings = load_settings(tmp_path)
    env = {"SURVEYBIB_CROSSREF_URL": fake_api.url, "SURVEYBIB_DATACITE_URL": fake_api.url}
    offline = fetch_pending(settings, _entries(), MetadataStore(), offline=True, environ=env)
    assert offline.summary == "offline: 5 entries lack metadata" and fake_api.count() == 0
    env_offline = fetch_pending(settings, _entries(), MetadataStore(),
                                environ={**env, "SURVEYBIB_OFFLINE": "1"})
    assert env_offline.summary == offline.summary and fake_api.count() == 0
    online = fetch_pending(settings, _entries(), MetadataStore(), environ=env)
    assert online.requests > 0 and len(online.store.works) == 4
    assert online.problems == ()  # not-found is the store's to tell, on every run:
    assert [p.rule for p in stored_findings(_entries(), online.store)] == ["not-found"]
    again = fetch_pending(settings, _entries(), online.store, environ=env)
    assert (again.requests, again.summary) == (0, "")


def test_dry_run_lines(fake_api: Any) -> None:
    add_specinfer(fake_api)
    with _client(fake_api) as client:
        result = run_enrich(_entries(), MetadataStore(), client, keys=["vqf"])
    assert change_lines(result.changes) == [
        "survey.bib:3: vqf: booktitle: (none) -> Proceedings of the 2021 International "
        "Conference on Management of Data (from Crossref 10.1145/3448016.3452841)",
        "survey.bib:3: vqf: year: (none) -> 2021 (from Crossref 10.1145/3448016.3452841)",
        "survey.bib:3: vqf: pages: (none) -> 1386--1399 (from Crossref 10.1145/3448016.3452841)",
        "survey.bib:3: vqf: publisher: (none) -> ACM (from Crossref 10.1145/3448016.3452841)",
        "survey.bib:3: vqf: url: (none) -> https://doi.org/10.1145/3448016.3452841 "
        "(from Crossref 10.1145/3448016.3452841)",
        "survey.bib:3: vqf: venue: (none) -> SIGMOD/PODS (from Crossref 10.1145/3448016.3452841)",
    ]


# ------------------------------------------------------------------ --write


def write_fields(text: str, entries: Sequence[Entry], changes: Sequence[EntryChange]) -> str:
    """`enrich --write` on a text: the file's bytes after BibSource.insert_fields."""
    source = BibSource.decode(text.encode(), "survey.bib")
    return source.insert_fields(entries, additions(changes)).decode()


def _change(key: str, *fields: tuple[str, str]) -> EntryChange:
    return EntryChange(key, "survey.bib", 0,
                       tuple(FieldChange(n, "", v, "Crossref 10.5555/x") for n, v in fields))


def _write(text: str, *changes: EntryChange) -> str:
    return write_fields(text, parse_bib(text, "survey.bib").entries, changes)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            "@article{a,\n  title = {T},\n  doi = {10.5555/x}\n}\n",
            "@article{a,\n  title = {T},\n  doi = {10.5555/x},\n  year = {2024},\n"
            "  venue = {ASPLOS}\n}\n", id="no-trailing-comma"),
        pytest.param(
            "@article{a,\n  title = {T},\n  doi = {10.5555/x},\n}\n",
            "@article{a,\n  title = {T},\n  doi = {10.5555/x},\n  year = {2024},\n"
            "  venue = {ASPLOS},\n}\n", id="trailing-comma"),
        pytest.param(
            "@article{a,\r\n\ttitle={T},\r\n\tdoi={10.5555/x},\r\n}\r\n",
            "@article{a,\r\n\ttitle={T},\r\n\tdoi={10.5555/x},\r\n\tyear={2024},\r\n"
            "\tvenue={ASPLOS},\r\n}\r\n", id="crlf-tabs-tight"),
        pytest.param(
            "@Article{a,\n    title     = {T},\n    doi       = {10.5555/x}}\n",
            "@Article{a,\n    title     = {T},\n    doi       = {10.5555/x},\n"
            "    year      = {2024},\n    venue     = {ASPLOS}}\n", id="aligned-equals"),
        pytest.param(
            "@misc{a, title = {T}, doi = {10.5555/x}}\n",
            "@misc{a, title = {T}, doi = {10.5555/x}, year = {2024}, venue = {ASPLOS}}\n",
            id="one-line"),
        pytest.param(
            "@misc(a,\n  title = \"T (x)\",\n  doi = {10.5555/x}\n)\n",
            "@misc(a,\n  title = \"T (x)\",\n  doi = {10.5555/x},\n  year = {2024},\n"
            "  venue = {ASPLOS}\n)\n", id="parentheses"),
    ],
)
def test_write_adds_fields_in_the_entrys_own_style(before: str, after: str) -> None:
    assert _write(before, _change("a", ("year", "2024"), ("venue", "ASPLOS"))) == after


def test_write_changes_no_other_byte() -> None:
    text = ("% A survey \u00e9\r\n@string{acm = {ACM}}\r\n\r\n"
            "@misc{specinfer, doi = {10.1145/3620666.3651335}, taxonomy = {Dynamic Inference}}"
            "\r\n\r\n@comment{ keep me }\r\n"
            "@inproceedings{vqf,\r\n  title = {Vector {Q}uotient Filters},\r\n"
            "  publisher = acm # { Press},\r\n}\r\n"
            "@inproceedings{untouched,\r\n  title = {Other}\r\n}\r\n% trailing comment")
    new = _write(text, _change("vqf", ("year", "2021"), ("doi", "10.1145/3448016.3452841")),
                 _change("specinfer", ("title", "SpecInfer: Accelerating \\{LLM\\} Serving")))
    inserted_vqf = "\r\n  year = {2021},\r\n  doi = {10.1145/3448016.3452841},"
    inserted_spec = ", title = {SpecInfer: Accelerating \\{LLM\\} Serving}"
    assert new.count(inserted_vqf) == 1 and new.count(inserted_spec) == 1
    assert new.replace(inserted_vqf, "").replace(inserted_spec, "") == text
    reparsed = {e.key: e for e in parse_bib(new, "survey.bib").entries}
    assert reparsed["vqf"].get("year") == "2021"
    assert reparsed["vqf"].get("publisher") == "ACM Press"
    assert reparsed["specinfer"].get("title") == "SpecInfer: Accelerating \\{LLM\\} Serving"
    assert reparsed["untouched"].fields == (("title", "Other"),)


def test_write_fills_empty_fields_in_place_and_finds_duplicate_keys_by_line() -> None:
    text = "@misc{a,\n  title = {},\n}\n\n@misc{a,\n  title = {},\n  note = {2nd}\n}\n"
    # Two entries with one key (bibfile skips the second; a hand-made Entry can name it).
    second = [Entry("a", "misc", (("title", ""), ("note", "2nd")), "survey.bib", 5)]
    new = write_fields(text, second, [_change("a", ("title", "T"), ("year", "2020"))])
    # The empty title is filled where it stands (a second `title` would be a duplicate
    # field); year is added; the first entry with the same key is left alone.
    assert new == "@misc{a,\n  title = {},\n}\n\n@misc{a,\n  title = {T},\n  note = {2nd},\n" \
        "  year = {2020}\n}\n"


def test_written_file_merges_to_the_same_entries(fake_api: Any) -> None:
    add_specinfer(fake_api)
    with _client(fake_api) as client:
        result = run_enrich(_entries(), MetadataStore(), client)
    new_text = write_fields(BIB, _entries(), result.changes)
    merged_before, _ = merge_entries(_entries(), result.store)
    merged_after, _ = merge_entries(_entries(new_text), result.store)

    def view(entries: Sequence[Entry]) -> list[tuple[str, str, dict[str, str]]]:
        return [(e.key, e.type, e.as_dict()) for e in entries]

    assert view(merged_after) == view(merged_before)
    assert "doi = {10.1145/3184558.3186235}" in new_text  # the DOI the title search found


def test_datacite_unreachable_keeps_what_crossref_gave(fake_api: Any) -> None:
    add_specinfer(fake_api)
    config = ClientConfig(crossref_url=fake_api.url, datacite_url="http://127.0.0.1:9",
                          mailto="survey@example.org", backoff=0.02)
    with Client(config) as client:
        result = run_enrich(_entries(), MetadataStore(), client,
                            keys=["specinfer", "vqf", "specinfer-arxiv"])
    assert sorted(result.fetched) == sorted([SPECINFER_DOI, "10.1145/3448016.3452841"])
    assert result.summary().startswith("metadata: 2 fetched, 0 cached, 0 not found")
    assert "; cannot reach 127.0.0.1:9: " in result.summary()
    assert result.summary().endswith(": 1 entry lacks metadata")  # the arXiv preprint


def test_progress_line_counts() -> None:
    from surveybib.enrich import Counts, progress_line

    line = progress_line(Counts(total=300, done=150, fetched=140, cached=20, not_found=3,
                                ambiguous=2), width=10)
    assert line == "[#####.....] 150/300 fetched 140, cached 20, not found 3, ambiguous 2"


def test_progress_is_reported_after_every_batch(fake_api: Any) -> None:
    from surveybib.enrich import Counts

    dois = fake_api.synthetic(300)
    text = "".join(f"@article{{p{i}, doi = {{{d}}}}}\n" for i, d in enumerate(dois))
    seen: list[Counts] = []
    with _client(fake_api) as client:
        run_enrich(_entries(text), MetadataStore(), client, progress=seen.append)
    assert seen[0].done == 0 and seen[-1].done == seen[-1].total == 300
    assert seen[-1].fetched == 300 and len(seen) >= 3


def test_a_title_match_that_is_another_entrys_doi_is_not_taken(fake_api: Any) -> None:
    """The guard accepts dl-learner's record, but an entry already has that DOI: the
    second entry is the same paper (or a wrong match), so it gets no DOI and a warning."""
    text = BIB + "\n@inproceedings{dl-learner-doi,\n  title = {DL-Learner},\n" \
        "  doi = {10.1145/3184558.3186235},\n}\n"
    with _client(fake_api) as client:
        result = run_enrich(_entries(text), MetadataStore(), client)
    assert "dl-learner" not in result.matched
    assert result.store.searches["dl-learner"].doi is None
    assert result.store.searches["dl-learner"].reason == \
        "10.1145/3184558.3186235 is already the DOI of 'dl-learner-doi'"
    assert ("dl-learner", "ambiguous") in [(p.key, p.rule) for p in result.problems]
    merged, _ = merge_entries(_entries(text), result.store)
    assert [e.get("doi") for e in merged if e.key == "dl-learner"] == [""]
