"""Bounded whatever the network does (issue 15): a deadline and a circuit breaker, retries
that wait their turn in the rate limiter, a total deadline per request, progress in CI,
and every entry's reason named. Each through the real command against the fake API
(tests/fakeapi.py) on 127.0.0.1; what is asserted is counted (requests, answers), never
timed."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import DATA, Cli

import surveybib

SRC = Path(surveybib.__file__).resolve().parents[1]
KNOWN = ["10.1145/3448016.3452841", "10.1145/3184558.3186235", "10.1101/097196"]


def api_env(api: Any, crossref: Any = None, **more: str) -> dict[str, str | None]:
    """The fake API (Crossref at `crossref` when given), with short timeouts."""
    return {"SURVEYBIB_CROSSREF_URL": (crossref or api).url, "SURVEYBIB_DATACITE_URL": api.url,
            "SURVEYBIB_TIMEOUT": "1", "SURVEYBIB_RETRIES": "2", **more}


def survey(root: Path, dois: list[str], extra: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    bib = "".join(f"@misc{{k{i}, title={{Paper {i}}}, doi={{{doi}}}, taxonomy={{A}}}}\n"
                  for i, doi in enumerate(dois))
    (root / "survey.bib").write_text(bib + extra, encoding="utf-8")
    return root


@pytest.fixture
def datacite() -> Iterator[Any]:
    """A second fake, for DataCite alone: a host of its own, with a breaker of its own."""
    from fakeapi import FakeAPI

    api = FakeAPI(DATA).start()
    try:
        yield api
    finally:
        api.stop()


# ---------------------------------------------------------------- 7. deadline, breaker


def test_a_retry_after_longer_than_the_run_waits_fails_at_once(
        tmp_path: Path, fake_api: Any, cli: Cli) -> None:
    """`Retry-After: 100000` made `doi` wait 60 s over five attempts."""
    fake_api.inject("429", 99, retry_after="100000")
    result = cli("doi", KNOWN[0], env=api_env(fake_api))
    assert result.exit_code == 1
    assert "answered HTTP 429 asking to wait 100,000 s, longer than this run waits" \
        in result.stderr
    assert fake_api.count() == 1


def test_retries_wait_their_turn_in_the_rate_limiter(tmp_path: Path, fake_api: Any,
                                                     cli: Cli) -> None:
    """Under a 30 % failure rate, retries that skipped the limiter drew 429s."""
    fake_api.flaky = 0.3
    dois = fake_api.synthetic(100, prefix="10.5555/" + "x" * 150 + ".")
    root = survey(tmp_path, dois)
    result = cli("-C", root, "build", env=api_env(fake_api))
    assert result.exit_code == 0, result.output
    assert "100 fetched" in result.stderr
    assert 503 in fake_api.statuses()  # the failures were there, and were retried
    assert fake_api.over_limit == 0


def test_a_failing_host_is_left_alone_and_the_rest_is_kept(
        tmp_path: Path, fake_api: Any, datacite: Any, cli: Cli) -> None:
    """DataCite always fails: after SURVEYBIB_BREAKER failed requests in a row it is asked
    nothing more; Crossref's records are kept, and every left entry is named."""
    datacite.inject("503", 9_999)
    arxiv = [f"10.48550/arXiv.2301.{i:05d}" for i in range(60)]
    root = survey(tmp_path, [KNOWN[0], KNOWN[1], *arxiv])
    env = {**api_env(datacite, crossref=fake_api), "SURVEYBIB_BREAKER": "2"}
    result = cli("-C", root, "build", env=env)
    assert result.exit_code == 0, result.output
    assert "2 fetched" in result.stderr
    assert "left for the next run (stopped asking 127.0.0.1:" in result.stderr
    assert datacite.count() <= (2 + 3) * 3  # two failures, three workers already asking
    store = json.loads((root / "survey.lock.json").read_text(encoding="utf-8"))
    assert set(store["works"]) == {KNOWN[0], KNOWN[1]}
    for i in range(2, 62):
        assert f"survey.bib:{i + 1}: k{i}: warning: could not fetch" in result.stderr


def test_the_run_deadline_stops_asking_and_says_what_is_left(
        tmp_path: Path, fake_api: Any, cli: Cli) -> None:
    root = survey(tmp_path, KNOWN)
    result = cli("-C", root, "build", env=api_env(fake_api, SURVEYBIB_DEADLINE="0"))
    assert result.exit_code == 0, result.output
    assert fake_api.count() == 0
    assert "3 left for the next run (the run's network deadline (0 s, SURVEYBIB_DEADLINE) " \
           "passed)" in result.stderr
    assert (root / "README.md").is_file()


def test_a_drip_fed_answer_is_cut_at_the_request_deadline(
        tmp_path: Path, fake_api: Any, cli: Cli) -> None:
    """A server that drips a byte every 0.05 s never trips a 0.5 s read timeout; the request
    is cut after twice the timeout in all, and not asked again this run."""
    fake_api.drip_seconds = 0.05
    fake_api.inject("drip", 99)
    root = survey(tmp_path, KNOWN)
    result = cli("-C", root, "build", env=api_env(fake_api, SURVEYBIB_TIMEOUT="0.5"))
    assert result.exit_code == 0, result.output
    assert "the answer took longer than 1 s to arrive" in result.stderr
    assert fake_api.count() == 1  # one list request for the three DOIs, not retried


# ---------------------------------------------------------------- 8, 9. what CI sees


def test_progress_lines_when_stderr_is_not_a_terminal(tmp_path: Path, fake_api: Any,
                                                      cli: Cli) -> None:
    dois = [f"10.5555/none.{i:03d}" for i in range(25)]  # asked one by one
    env = api_env(fake_api, SURVEYBIB_PROGRESS_INTERVAL="0", SURVEYBIB_MAILTO="survey@example.org")
    root = survey(tmp_path, dois)
    result = cli("-C", root, "build", env=env)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("metadata: ")]
    assert any(line.endswith(" not found, 0 failed)") and "/25 asked (" in line
               for line in lines), lines
    quiet = cli("-C", survey(tmp_path / "q", dois[:2]), "-q", "build", env=env)
    assert "asked (" not in quiet.stderr


def test_progress_lines_while_one_slow_request_holds_the_run(tmp_path: Path, fake_api: Any,
                                                            cli: Cli) -> None:
    """Progress was printed only when a batch finished: a throttled batch that took
    minutes printed nothing in CI."""
    fake_api.latency = 2.0  # one answer, slow to come
    env = api_env(fake_api, SURVEYBIB_TIMEOUT="10", SURVEYBIB_PROGRESS_INTERVAL="0.2")
    result = cli("-C", survey(tmp_path, KNOWN[:1]), "build", env=env)
    assert result.exit_code == 0, result.output
    waiting = result.stderr.splitlines().count("metadata: 0/1 asked (0 fetched, 0 not found, "
                                               "0 failed)")
    assert waiting >= 2, result.stderr  # without a heartbeat, at most the first call prints
    assert "metadata: 1 fetched" in result.stderr


def test_every_entry_that_could_not_be_fetched_is_named_with_its_reason(
        tmp_path: Path, fake_api: Any, cli: Cli) -> None:
    fake_api.inject("500", 999)
    root = survey(tmp_path, KNOWN[:2])
    result = cli("-C", root, "build", env=api_env(fake_api))
    assert result.exit_code == 0, result.output
    assert "2 failed (retried next run)" in result.stderr
    for i, doi in enumerate(KNOWN[:2]):
        assert f"survey.bib:{i + 1}: k{i}: warning: could not fetch {doi}: Crossref: " \
               f"Crossref answered HTTP 500 (after retries)" in result.stderr


# ---------------------------------------------------------------- 4, 5. hostile answers


def test_json_nested_200000_deep_is_a_per_entry_problem(tmp_path: Path, fake_api: Any,
                                                        cli: Cli) -> None:
    fake_api.inject("deep", 9_999)
    root = survey(tmp_path, KNOWN[:1])
    for args, code in ((["build"], 0), (["doi", KNOWN[0]], 1), (["search", "Quotient"], 1),
                       (["add", KNOWN[2]], 1)):
        result = cli("-C", root, *args, env=api_env(fake_api))
        assert result.exit_code == code, (args, result.output)
        assert "sent JSON nested too deeply to read" in result.stderr, args
        assert "internal error" not in result.stderr


def test_a_title_search_sends_at_most_300_characters(tmp_path: Path, fake_api: Any,
                                                     cli: Cli) -> None:
    """A 100 KB title made a URL that every run sent and got 414 for."""
    root = tmp_path
    title = "Vector Quotient Filters " + "overflowing words " * 6_000
    (root / "survey.bib").write_text(f"@misc{{long, title={{{title}}}, author={{Pandey, P}}, "
                                     "year={2021}, taxonomy={A}}\n", encoding="utf-8")
    result = cli("-C", root, "build", env=api_env(fake_api))
    assert result.exit_code == 0, result.output
    [seen] = [s for s in fake_api.seen if s.route == "search"]
    assert len(seen.query["query.bibliographic"][0]) <= 320
    assert "long: warning: title is 108,024 characters long; searched with its first 300" \
        in result.stderr
    again = cli("-C", root, "build", env=api_env(fake_api))
    assert [s.route for s in fake_api.seen].count("search") == 1, again.output


def test_a_huge_value_from_the_api_is_cut_in_every_output(
        tmp_path: Path, fake_api: Any, cli: Cli) -> None:
    """A 1.5 MB title from the API: cut in the entry, the README and the messages."""
    doi = fake_api.derive("10.5555/huge", title="Huge " * 300_000)
    root = tmp_path
    (root / "survey.bib").write_text(f"@misc{{k0, doi={{{doi}}}}}\n", encoding="utf-8")
    result = cli("-C", root, "build", env=api_env(fake_api))
    assert result.exit_code == 0, result.output
    assert "field 'title' from Crossref (10.5555/huge) is 1,499,999 characters long; cut at " \
           "1,000,000" in result.stderr
    assert len(result.stderr) < 20_000
    assert (root / "README.md").stat().st_size < 30_000
    export = cli("-C", root, "export", "--format", "csl-json", env=api_env(fake_api))
    assert len(export.stdout) < 1_010_000


def test_control_characters_from_the_api_never_reach_the_terminal(
        tmp_path: Path, fake_api: Any, cli: Cli) -> None:
    doi = fake_api.derive("10.5555/osc", title="Owned\x1b]0;pwned\x07 \u202etitle")
    result = cli("doi", doi, env=api_env(fake_api))
    assert result.exit_code == 0, result.output
    assert "Ownedtitle" not in result.stdout and "Owned" in result.stdout
    for char in ("\x1b", "\x07", "\u202e"):
        assert char not in result.stdout + result.stderr


# ---------------------------------------------------------------- 12, 13. writes and keys


def test_doi_in_a_survey_that_cannot_be_written_still_prints(tmp_path: Path,
                                                             fake_api: Any) -> None:
    root = survey(tmp_path, [KNOWN[0]])  # the store keeps records that entries cite
    (root / "survey.lock.json").write_text(
        '{"not-found": {}, "searches": {}, "surveybib-metadata": 1, "works": {}}\n',
        encoding="utf-8")

    def no_writes() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (10, 10))  # a full disk

    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEYBIB_")}
    done = subprocess.run([sys.executable, "-m", "surveybib", "-C", str(root), "doi", KNOWN[0]],
                          env={**env, **api_env(fake_api), "PYTHONPATH": str(SRC)},
                          capture_output=True, text=True, timeout=120, preexec_fn=no_writes)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("@inproceedings{pandey2021vector,")
    assert "survey.lock.json: cannot be written: File too large; the record was not kept" \
        in done.stderr


def test_add_appends_nothing_when_the_key_cannot_name_a_note(
        tmp_path: Path, fake_api: Any, cli: Cli) -> None:
    root = survey(tmp_path, [])
    result = cli("-C", root, "add", KNOWN[0], "--key", "键" * 100, env=api_env(fake_api))
    assert result.exit_code == 2
    assert "makes a note file name of 303 bytes" in result.stderr
    assert (root / "survey.bib").read_text(encoding="utf-8") == ""
    assert not (root / "notes").exists()
