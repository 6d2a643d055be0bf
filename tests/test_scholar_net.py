"""The Semantic Scholar and Hugging Face clients against the fake servers on 127.0.0.1:
batches, limits, 429 storms, null entries, partial batches, timeouts, unreachable hosts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fakescholar import FakeScholar, fake_scholar, hf_paper, s2_paper  # noqa: F401

from surveybib.net.hfpapers import CodeLinks, HFConfig, HFMissed, HFPapers, hf_config
from surveybib.net.ratelimit import WindowLimiter
from surveybib.net.semanticscholar import (
    COUNT_FIELDS,
    UPGRADE_FIELDS,
    Found,
    Missed,
    S2Config,
    S2Outcome,
    SemanticScholar,
    Unknown,
    s2_config,
)
from surveybib.net.transport import Unreachable

FIELDS = (*UPGRADE_FIELDS, *COUNT_FIELDS)


def _papers(fake: FakeScholar, count: int) -> list[str]:
    ids = []
    for n in range(count):
        arxiv = f"2301.{n:05d}"
        fake.add(s2_paper(arxiv, f"Paper number {n}", ["Ada Lovelace"], 2023, venue="ICML",
                          citations=n))
        ids.append(f"ARXIV:{arxiv}")
    return ids


def _client(fake: FakeScholar, *, key: str = "", fast: bool = True, **kw: Any
            ) -> SemanticScholar:
    config = S2Config(base_url=fake.url, api_key=key, retries=kw.pop("retries", 3),
                      backoff=0.01, read_timeout=kw.pop("read_timeout", 5.0), **kw)
    client = SemanticScholar(config)
    if fast:  # the limiter has its own test; elsewhere it would only make the tests slow
        client.limiter = WindowLimiter(1000, 1.0)
    return client


def _collect(client: SemanticScholar, ids: list[str]) -> list[S2Outcome]:
    out: list[S2Outcome] = []
    client.fetch_papers(ids, FIELDS, out.extend)
    return out


@pytest.fixture
def s2(fake_scholar: FakeScholar) -> Iterator[FakeScholar]:  # noqa: F811
    yield fake_scholar


def test_batches_of_500_in_the_order_asked_with_null_for_unknown(s2: FakeScholar) -> None:
    ids = _papers(s2, 1000)
    asked = [*ids[:600], "ARXIV:2399.99999", *ids[600:]]
    with _client(s2) as client:
        outcomes = _collect(client, asked)
        assert client.requests_made == 3
    assert [len(r.ids) for r in s2.requests("s2")] == [500, 500, 1]
    assert [o.id for o in outcomes] == asked
    assert isinstance(outcomes[600], Unknown)
    found = outcomes[5]
    assert isinstance(found, Found) and found.record["citationCount"] == 5
    assert s2.requests("s2")[0].fields == ",".join(dict.fromkeys(FIELDS))


def test_the_batch_path_follows_the_base_url(s2: FakeScholar) -> None:
    ids = _papers(s2, 1)
    for base in (s2.url, f"{s2.url}/", f"{s2.url}/graph/v1", f"{s2.url}/proxy/graph/v1"):
        with SemanticScholar(s2_config(environ={"SURVEYBIB_S2_URL": base})) as client:
            client.limiter = WindowLimiter(1000, 1.0)
            assert isinstance(_collect(client, ids)[0], Found)
    assert [r.path for r in s2.requests("s2")] == [
        "/graph/v1/paper/batch", "/graph/v1/paper/batch", "/graph/v1/paper/batch",
        "/proxy/graph/v1/paper/batch"]


def test_the_key_goes_in_x_api_key_and_keyed_requests_keep_to_one_a_second(
        s2: FakeScholar) -> None:
    ids = _papers(s2, 4)
    env = {"SURVEYBIB_S2_URL": s2.url, "SURVEYBIB_S2_API_KEY": "k3y"}
    with SemanticScholar(replace_batch(s2_config(environ=env), 1)) as client:
        outcomes = _collect(client, ids)
    assert all(isinstance(o, Found) for o in outcomes)
    seen = s2.requests("s2")
    assert len(seen) == 4 and all(r.keyed for r in seen)
    assert s2.over_limit == 0  # the fake answers 429 to two requests within one second


def replace_batch(config: S2Config, size: int) -> S2Config:
    from dataclasses import replace

    return replace(config, batch_size=size)


def test_without_a_key_the_shared_pool_is_spent_slowly() -> None:
    limiter = SemanticScholar(S2Config(base_url="http://127.0.0.1:9")).limiter
    waits = [limiter.take() for _ in range(3)]
    assert waits[0] == 0 and all(w > 0.5 for w in waits[1:])  # about a second apart


def test_a_429_storm_shorter_than_the_retries_is_ridden_out(s2: FakeScholar) -> None:
    ids = _papers(s2, 3)
    s2.inject("429", times=2, route="s2", retry_after="0")
    with _client(s2) as client:
        outcomes = _collect(client, ids)
    assert all(isinstance(o, Found) for o in outcomes)
    assert [r.status for r in s2.requests("s2")] == [429, 429, 200]


def test_a_429_storm_longer_than_the_retries_fails_the_batch_only(s2: FakeScholar) -> None:
    ids = _papers(s2, 3)
    s2.inject("429", times=10, route="s2")
    with _client(s2, retries=2, batch_size=2) as client:
        outcomes = _collect(client, ids)
    assert all(isinstance(o, Missed) for o in outcomes)
    assert "HTTP 429" in outcomes[0].message  # type: ignore[union-attr]
    assert s2.count("s2") <= 10


def test_a_partial_batch_is_matched_by_external_ids_and_the_rest_asked_again(
        s2: FakeScholar) -> None:
    ids = _papers(s2, 6)
    s2.inject("partial", times=1, route="s2")
    with _client(s2) as client:
        outcomes = _collect(client, ids)
    assert [o.id for o in outcomes] == ids
    assert all(isinstance(o, Found) and o.record["externalIds"]["ArXiv"] == i[6:]
               for o, i in zip(outcomes, ids, strict=True))
    assert [len(r.ids) for r in s2.requests("s2")] == [6, 3]


def test_nulls_for_every_id_are_unknown_papers(s2: FakeScholar) -> None:
    ids = _papers(s2, 2)
    s2.inject("nulls", times=1, route="s2")
    with _client(s2) as client:
        assert all(isinstance(o, Unknown) for o in _collect(client, ids))


def test_malformed_json_and_a_timeout_fail_the_batch_with_a_reason(s2: FakeScholar) -> None:
    ids = _papers(s2, 1)
    s2.inject("malformed", times=1, route="s2")
    with _client(s2) as client:
        (outcome,) = _collect(client, ids)
    assert isinstance(outcome, Missed) and "malformed JSON" in outcome.message
    s2.hang_seconds = 1.5
    s2.inject("hang", times=5, route="s2")
    with _client(s2, read_timeout=0.3, retries=1) as client:
        (outcome,) = _collect(client, ids)
    assert isinstance(outcome, Missed) and "Read timed out" in outcome.message


def test_an_unknown_field_is_reported_not_retried(s2: FakeScholar) -> None:
    ids = _papers(s2, 1)
    with _client(s2) as client:
        outcomes: list[S2Outcome] = []
        client.fetch_papers(ids, ("title", "creditCardNumber"), outcomes.extend)
    assert isinstance(outcomes[0], Missed)
    assert "Unrecognized or unsupported fields: [creditCardNumber]" in outcomes[0].message
    assert s2.count("s2") == 1


def test_an_unreachable_host_stops_at_once() -> None:
    with SemanticScholar(S2Config(base_url="http://127.0.0.1:9", retries=3)) as client:
        with pytest.raises(Unreachable, match=r"cannot reach 127\.0\.0\.1:9"):
            client.fetch_papers(["ARXIV:2301.00001"], FIELDS, lambda _: None)
        assert client.requests_made == 1


# ------------------------------------------------------------------ Hugging Face


class _Unhurried(WindowLimiter):
    """The limiter without its slow-down after a 429 (tested on its own below)."""

    def slow_down(self) -> None:
        pass


def _hf(fake: FakeScholar, **kw: Any) -> HFPapers:
    config = HFConfig(base_url=fake.url, retries=kw.pop("retries", 2), backoff=0.01, **kw)
    client = HFPapers(config)
    client.limiter = _Unhurried(1000, 1.0)
    return client


def test_a_429_doubles_the_spacing_of_later_starts() -> None:
    limiter = WindowLimiter.published(500, 300.0)
    limiter.slow_down()
    limiter.slow_down()
    assert limiter._spacing == pytest.approx(4 * 300 / 425)
    for _ in range(20):
        limiter.slow_down()
    assert limiter._spacing == 20.0


def test_hugging_face_code_links_and_404_for_papers_it_does_not_index(
        s2: FakeScholar) -> None:
    s2.add_hf(hf_paper("2106.09685", "LoRA", ["Edward J. Hu"],
                       repo="https://github.com/microsoft/LoRA", stars=10321,
                       project="https://example.org/lora"))
    s2.add_hf(hf_paper("2305.14314", "QLoRA", ["Tim Dettmers"],
                       repo="javascript:alert(1)", stars=-5))
    out: list[Any] = []
    with _hf(s2) as client:
        client.fetch_papers(["2106.09685", "2305.14314", "2399.00001", "hep-th/9901001"],
                            out.extend)
    by_id = {o.arxiv_id: o for o in out}
    assert by_id["2106.09685"] == CodeLinks("2106.09685", True, "https://github.com/microsoft/LoRA",
                                            10321, "https://example.org/lora")
    assert by_id["2305.14314"] == CodeLinks("2305.14314", True)  # unsafe URL, bad count
    assert by_id["2399.00001"] == CodeLinks("2399.00001", False)
    assert "/api/papers/hep-th%2F9901001" in [r.path for r in s2.requests("hf")]
    assert s2.count("hf") == 4


def test_hugging_face_follows_its_announced_window(s2: FakeScholar) -> None:
    with HFPapers(HFConfig(base_url=s2.url)) as client:
        client.get_paper("2399.00001")
        # "fixed window";"api";q=500;w=300 -> 425 (SAFETY) starts per 300 s
        assert client.limiter._count == 425 and client.limiter._window == 300.0
        client.update("single", {"RateLimit": '"api";r=0;t=42'})
        assert client.limiter._paused_until > 0


def test_a_hugging_face_429_storm_stops_asking(s2: FakeScholar) -> None:
    s2.inject("429", times=1000, route="hf")
    out: list[Any] = []
    with _hf(s2, retries=1, workers=1) as client:
        client.fetch_papers([f"2301.{n:05d}" for n in range(40)], out.extend)
    assert len(out) == 40 and all(isinstance(o, HFMissed) for o in out)
    assert sum("not asked" in o.message for o in out) >= 30
    assert s2.count("hf") <= 12  # a few papers (with their retries), then no more


def test_hf_config_reads_the_environment() -> None:
    config = hf_config(environ={"SURVEYBIB_HF_URL": "http://127.0.0.1:1/",
                                "SURVEYBIB_TIMEOUT": "3"})
    assert config.base_url == "http://127.0.0.1:1" and config.read_timeout == 3.0
