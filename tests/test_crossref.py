"""The HTTP client against the fake Crossref + DataCite API (tests/fakeapi.py), real HTTP on
127.0.0.1. Timeouts and backoff are made small so that the faults stay fast."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from surveybib import __version__
from surveybib.config import is_offline
from surveybib.model import Work
from surveybib.net.fetch import Client, Failed, Outcome
from surveybib.net.settings import ClientConfig, config_from_env
from surveybib.net.transport import RequestFailed, Unreachable

MAILTO = "survey@example.org"


def _client(api: Any, mailto: str = MAILTO, **kw: Any) -> Client:
    options: dict[str, Any] = {"connect_timeout": 0.5, "read_timeout": 0.4, "backoff": 0.02,
                               "retries": 3}
    options.update(kw)
    return Client(ClientConfig(crossref_url=api.url, datacite_url=api.url, mailto=mailto,
                               **options))


def _fetch(client: Client, dois: Sequence[str]) -> dict[str, Outcome]:
    got: dict[str, Outcome] = {}

    def take(outcomes: Sequence[Outcome]) -> None:
        for outcome in outcomes:
            assert outcome.doi not in got
            got[outcome.doi] = outcome

    client.fetch_works(dois, take)
    return got


def test_polite_user_agent_and_mailto_parameter(fake_api: Any) -> None:
    with _client(fake_api) as client:
        outcome = client.get_work("10.1145/3448016.3452841")
    assert isinstance(outcome, Work) and outcome.source == "crossref"
    seen = fake_api.seen[0]
    assert seen.user_agent == f"surveybib/{__version__} (mailto:{MAILTO})"
    assert seen.query["mailto"] == [MAILTO] and seen.pool == "polite"


def test_public_pool_without_mailto(fake_api: Any) -> None:
    with _client(fake_api, mailto="") as client:
        client.get_work("10.1145/3448016.3452841")
    assert fake_api.seen[0].pool == "public" and "mailto" not in fake_api.seen[0].user_agent


def test_300_dois_in_few_batches_without_a_429(fake_api: Any) -> None:
    fake_api.latency = 0.02
    dois = fake_api.synthetic(300)
    with _client(fake_api) as client:
        got = _fetch(client, dois)
    assert all(isinstance(got[d], Work) for d in dois)
    assert fake_api.over_limit == 0 and 429 not in fake_api.statuses()
    assert fake_api.count() <= 3  # filter=doi: lists of ~150 DOIs (URLs under 4,000 chars)
    assert all(len(s.raw_path) + len(fake_api.url) < 4000 for s in fake_api.seen)


def test_public_pool_limits_are_kept_too(fake_api: Any) -> None:
    dois = fake_api.synthetic(12)
    weird = [f"10.5555/comma,{i}" for i in range(4)]  # a comma cannot go in a filter list
    for doi in weird:
        fake_api.derive(doi)
    with _client(fake_api, mailto="") as client:
        got = _fetch(client, dois + weird)
    assert all(isinstance(o, Work) for o in got.values()) and len(got) == 16
    assert fake_api.over_limit == 0
    assert fake_api.count("single") == 4 and fake_api.count("list") == 1


def test_client_follows_the_limits_the_server_announces(fake_api: Any) -> None:
    # Stricter than the documented polite pool: the client must slow down after the first
    # answer tells it so.
    fake_api.pools["polite"]["single"] = (4, 1.0)
    fake_api.pools["polite"]["concurrency"] = 1
    dois = [f"10.5555/single,{i}" for i in range(8)]
    for doi in dois:
        fake_api.derive(doi)
    with _client(fake_api) as client:
        got = _fetch(client, dois)
    assert all(isinstance(o, Work) for o in got.values())
    assert fake_api.over_limit == 0 and fake_api.max_inflight == 1


def test_batch_misses_go_singly_then_to_datacite(fake_api: Any) -> None:
    dois = ["10.1145/3448016.3452841", "10.1101/097196", "10.4230/lipics.tqc.2013.93",
            "10.5555/nowhere"]
    with _client(fake_api) as client:
        got = _fetch(client, dois)
    assert isinstance(got["10.1145/3448016.3452841"], Work)
    assert isinstance(got["10.1101/097196"], Work)
    lipics = got["10.4230/lipics.tqc.2013.93"]
    assert isinstance(lipics, Work) and lipics.source == "datacite"
    assert lipics.record["titles"][0]["title"].startswith("The Minimum Size")
    missing = got["10.5555/nowhere"]
    assert isinstance(missing, Failed) and missing.not_found
    assert missing.message == "not found at Crossref or DataCite"
    assert [(s.route, s.path) for s in fake_api.seen if s.route != "list"] == [
        ("single", "/works/10.5555/nowhere"),
        ("datacite", "/dois/10.5555/nowhere"),
        ("datacite", "/dois/10.4230/lipics.tqc.2013.93"),  # a DataCite prefix: asked directly
    ]


def test_arxiv_dois_go_straight_to_datacite(fake_api: Any) -> None:
    doi = fake_api.derive_datacite("10.48550/arxiv.2305.09781", title="SpecInfer",
                                   creators=[("Xupeng", "Miao")], year=2023)
    with _client(fake_api) as client:
        got = _fetch(client, [doi])
    assert isinstance(got[doi], Work) and got[doi].source == "datacite"  # type: ignore[union-attr]
    assert [s.route for s in fake_api.seen] == ["datacite"]


@pytest.mark.parametrize(
    "doi",
    [
        pytest.param("10.5555/../../admin", id="dot-dot"),
        pytest.param("10.5555/x?rows=1000&filter=y", id="query"),
        pytest.param("10.5555/x#frag", id="fragment"),
        pytest.param("10.5555/x%2F..%2F..%2Fadmin", id="percent"),
    ],
)
def test_a_doi_cannot_change_the_request_path(fake_api: Any, doi: str) -> None:
    fake_api.derive(doi)
    with _client(fake_api) as client:
        outcome = client.get_work(doi)
    assert isinstance(outcome, Work)
    seen = fake_api.seen[0]
    assert seen.route == "single" and seen.path == f"/works/{doi}"
    assert set(seen.query) == {"mailto"}


# Each fault ends in a stored record or a reported problem: never an exception.
@pytest.mark.parametrize(
    ("kind", "times", "route", "retry_after", "fetched"),
    [
        pytest.param("429", 1, "list", "1", True, id="429-with-retry-after"),
        pytest.param("429", 2, "list", None, True, id="429-without-retry-after"),
        pytest.param("429", 99, "list", "0", True, id="list-route-always-429-then-singly"),
        pytest.param("500", 1, "list", None, True, id="500-once"),
        pytest.param("503", 2, "list", "0", True, id="503-twice"),
        pytest.param("500", 99, "", None, False, id="500-always"),
        pytest.param("503", 99, "", None, False, id="503-always"),
        pytest.param("hang", 1, "list", None, True, id="hang-past-timeout"),
        pytest.param("hang", 99, "", None, False, id="hang-always"),
        pytest.param("reset", 1, "list", None, True, id="connection-reset"),
        pytest.param("reset", 99, "", None, False, id="connection-reset-always"),
        pytest.param("malformed", 1, "list", None, True, id="malformed-json-list"),
        pytest.param("malformed", 99, "", None, False, id="malformed-json-always"),
        pytest.param("404text", 1, "list", None, True, id="plain-text-404-on-list"),
        pytest.param("400", 1, "list", None, True, id="validation-failure-on-list"),
        pytest.param("400", 99, "", None, False, id="validation-failure-always"),
        pytest.param("huge", 1, "list", None, True, id="huge-body"),
        pytest.param("huge-declared", 1, "list", None, True, id="huge-declared-length"),
    ],
)
def test_faults_end_in_a_record_or_a_problem(fake_api: Any, kind: str, times: int, route: str,
                                             retry_after: str | None, fetched: bool) -> None:
    fake_api.hang_seconds = 1.0
    dois = ["10.1145/3448016.3452841", "10.1145/3184558.3186235"]
    fake_api.inject(kind, times, route, retry_after)
    with _client(fake_api) as client:
        got = _fetch(client, dois)
    assert sorted(got) == sorted(dois)  # no DOI is lost
    for doi in dois:
        outcome = got[doi]
        if fetched:
            assert isinstance(outcome, Work), outcome
            assert outcome.record["DOI"].lower() == doi
        else:
            assert isinstance(outcome, Failed) and not outcome.not_found, outcome
            assert outcome.message


def test_failure_messages_say_what_happened(fake_api: Any) -> None:
    fake_api.inject("400", 1)
    with _client(fake_api) as client:
        outcome = client.get_work("10.1145/3448016.3452841")
    assert isinstance(outcome, Failed)
    assert "This route does not support field query parameters" in outcome.message
    fake_api.inject("huge", 1, "single")
    with _client(fake_api, max_body=2_000_000) as client:
        outcome = client.get_work("10.1101/097196")
    assert isinstance(outcome, Failed) and "byte limit" in outcome.message


def test_search_returns_items_with_scores(fake_api: Any) -> None:
    with _client(fake_api) as client:
        items = client.search("Vector Quotient Filters Pandey 2021", rows=3)
    assert items[0]["DOI"] == "10.1145/3448016.3452841" and items[0]["score"] > 0
    seen = fake_api.seen[0]
    assert seen.route == "search" and seen.query["rows"] == ["3"]
    assert seen.query["query.bibliographic"] == ["Vector Quotient Filters Pandey 2021"]
    fake_api.inject("500", 99)
    with _client(fake_api) as client, pytest.raises(RequestFailed):
        client.search("anything")


def test_unreachable_host_stops_at_the_first_request() -> None:
    config = ClientConfig(crossref_url="http://127.0.0.1:9", datacite_url="http://127.0.0.1:9",
                          mailto=MAILTO, connect_timeout=0.5, backoff=0.5)
    delivered: list[Outcome] = []
    with Client(config) as client:
        with pytest.raises(Unreachable, match=r"cannot reach 127\.0\.0\.1"):
            client.fetch_works([f"10.5555/{i}" for i in range(500)], delivered.extend)
        assert client.requests_made == 1
        with pytest.raises(Unreachable):
            client.search("anything")
        assert client.requests_made == 1  # a host known to be down is not asked again
    assert delivered == []


def test_config_from_env() -> None:
    env = {"SURVEYBIB_CROSSREF_URL": "http://127.0.0.1:8/", "SURVEYBIB_DATACITE_URL": "",
           "SURVEYBIB_MAILTO": "a@b.c", "SURVEYBIB_TIMEOUT": "2"}
    config = config_from_env("config@x.y", env)
    assert config.crossref_url == "http://127.0.0.1:8"
    assert config.datacite_url == "https://api.datacite.org"
    assert config.mailto == "a@b.c" and config.read_timeout == 2.0
    assert config_from_env("config@x.y", {}).mailto == "config@x.y"
    assert is_offline({"SURVEYBIB_OFFLINE": "1"}) and not is_offline({"SURVEYBIB_OFFLINE": "0"})
