"""Benchmark (not a test): `enrich --upgrade --counts` on 1,000 arXiv-only entries against
the fake Semantic Scholar (tests/fakescholar.py) with 50 ms latency and the keyed limit
enforced (1 request a second; the fake answers 429 beyond it), and the fake Crossref
(tests/fakeapi.py) confirming the published DOIs; then code links from the fake Hugging
Face. Targets (issue 14): at most 3 Semantic Scholar requests, none over the keyed limit,
under 5 s; a re-run makes no request.

    python benchmarks/bench_upgrade.py [--papers 1000] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from fakeapi import FakeAPI  # noqa: E402
from fakescholar import FakeScholar, hf_paper, s2_paper  # noqa: E402

VENUES = ("NeurIPS", "ICLR", "ICML", "TMLR")


# The recorded Crossref/DataCite bodies the fake API serves (tests/data/SOURCES.md).
TEST_DATA = ROOT / "tests" / "data"


def setup(work: Path, papers: int, latency: float) -> tuple[FakeScholar, FakeAPI, str]:
    """The fakes (started) and survey.bib's text: 90% of the papers published (one in ten
    of those with a DOI that Crossref confirms), 10% known only as preprints; every tenth
    paper has a GitHub repository at Hugging Face."""
    scholar = FakeScholar(latency=latency).start()
    api = FakeAPI(TEST_DATA, latency=latency).start()
    entries = []
    for n in range(papers):
        arxiv = f"23{n // 9000 + 1:02d}.{n % 9000 + 10000:05d}"
        title = f"Benchmark paper number {n} on efficient inference"
        authors = [f"Author{n} Alpha", f"Author{n} Beta", "Jane Doe"]
        doi = f"10.5555/upgrade.{n:05d}" if n % 10 == 1 else ""
        venue = "" if n % 10 == 9 else VENUES[n % 4]
        if doi:
            api.derive(doi, title=title, year=2023,
                       authors=[(a.split()[0], a.split()[1]) for a in authors])
        scholar.add(s2_paper(arxiv, title, authors, 2023, venue=venue, doi=doi,
                             citations=n, influential=n // 10))
        if n % 10 == 0:
            scholar.add_hf(hf_paper(arxiv, title, authors, repo=f"https://github.com/b/p{n}",
                                    stars=n))
        people = " and ".join(f"{a.split()[1]}, {a.split()[0]}" for a in authors)
        entries.append(f"@misc{{p{n},\n  title = {{{title}}},\n  author = {{{people}}},\n"
                       f"  year = {{2023}},\n  eprint = {{{arxiv}}},\n"
                       f"  archiveprefix = {{arXiv}},\n}}\n")
    work.mkdir(parents=True, exist_ok=True)
    (work / "pyproject.toml").write_text('[tool.surveybib]\nmailto = "bench@example.org"\n'
                                         'columns = ["citations", "code"]\n',
                                         encoding="utf-8")
    return scholar, api, "\n".join(entries)


def _env(scholar: FakeScholar, api: FakeAPI) -> dict[str, str]:
    return {"SURVEYBIB_OFFLINE": "0", "SURVEYBIB_S2_URL": scholar.url,
            "SURVEYBIB_HF_URL": scholar.url, "SURVEYBIB_CROSSREF_URL": api.url,
            "SURVEYBIB_DATACITE_URL": api.url, "SURVEYBIB_S2_API_KEY": "bench-key",
            "SURVEYBIB_MAILTO": "bench@example.org"}


def measure(bench: Any) -> list[Any]:
    """The upgrade rows of `make bench`: whole `surveybib enrich` processes against the
    fakes served from the harness's process."""
    import harness

    work = bench.work / "upgrade-1000"
    shutil.rmtree(work, ignore_errors=True)
    scholar, api, bib = setup(work, 1000, 0.05)
    base_works = len(api.works) - sum(1 for d in api.works if d.startswith("10.5555/upgrade."))
    try:
        env = _env(scholar, api)
        args = ("-q", "enrich", "--upgrade", "--write", "--counts", "--no-code-links")

        def fresh() -> None:
            (work / "survey.bib").write_text(bib, encoding="utf-8")
            (work / "survey.lock.json").unlink(missing_ok=True)
            time.sleep(1.1)  # the keyed limit holds across processes: the last run's
            # final request must be a second old (untimed, as every `before`)

        command = harness.Command("surveybib enrich --upgrade --write --counts (1,000)",
                                  bench.surveybib(*args), work, env, before=fresh)
        harness.run_once(command, bench.env)  # the warm-up, not counted
        before, limited, crossref = scholar.count("s2"), scholar.over_limit, api.count()
        ours = harness.time_alone(command, bench.runs, bench.env, warmup=False)
        runs = len(ours.samples)
        per_run = (scholar.count("s2") - before) / runs
        crossref_per_run = (api.count() - crossref) / runs
        over = scholar.over_limit - limited
        upgraded = (work / "survey.bib").read_text(encoding="utf-8").count("@inproceedings") \
            + (work / "survey.bib").read_text(encoding="utf-8").count("@article")
        rerun_cmd = harness.Command("the same again (store full)", bench.surveybib(*args),
                                    work, env)
        asked = scholar.count() + api.count()
        rerun = bench.time_one(rerun_cmd)  # its warm-up is a re-run too: it counts
        rerun_requests = scholar.count() + api.count() - asked
        code_work = bench.work / "code-400"
        shutil.rmtree(code_work, ignore_errors=True)
        code_work.mkdir(parents=True)
        shutil.copy(work / "pyproject.toml", code_work / "pyproject.toml")
        (code_work / "survey.bib").write_text("\n".join(bib.split("\n\n")[:400]) + "\n",
                                              encoding="utf-8")
        code_cmd = harness.Command("surveybib enrich --counts (400, Hugging Face)",
                                   bench.surveybib("-q", "enrich", "--counts"), code_work,
                                   env, before=lambda: (code_work / "survey.lock.json")
                                   .unlink(missing_ok=True))
        hf_before, hf_limited = scholar.count("hf"), scholar.over_limit
        code = harness.time_alone(code_cmd, 1, bench.env, warmup=False)
        hf_requests = scholar.count("hf") - hf_before
        hf_over = scholar.over_limit - hf_limited
    finally:
        scholar.stop()
        api.stop()
    met = per_run <= 3 and over == 0 and ours.median < 5 and upgraded == 900
    return [
        harness.Row("upgrade-1000", "enrich --upgrade --write --counts, 1,000 arXiv ids "
                    "(fake S2 with a key, 1 req/s enforced, 50 ms)",
                    f"{ours.median:.2f} s, {per_run:.0f} S2 requests, {over} over the limit, "
                    f"{upgraded} upgraded", "<= 3 S2 requests, within 1 req/s, < 5 s", met,
                    ours, None, runs=str(runs),
                    note=f"plus {crossref_per_run:.0f} Crossref request(s) a run confirming "
                         f"{len(api.works) - base_works} published DOIs; 100 papers are "
                         "preprints only"),
        harness.Row("upgrade-rerun", "the same again, store full", f"{rerun_requests} requests",
                    "zero requests", rerun_requests == 0, rerun, None,
                    runs=str(len(rerun.samples))),
        harness.Row("code-links-400", "enrich --counts with code links, 400 arXiv ids (fake "
                    "Hugging Face, 500 per 5 min enforced, 50 ms)",
                    f"{code.median:.2f} s, {hf_requests} HF requests, {hf_over} over the limit",
                    "one request per paper (no batch exists), 0 over the limit",
                    hf_requests == 400 and hf_over == 0, code, None, runs="1",
                    note="Hugging Face allows 500 anonymous API calls per 5 minutes: a first "
                         "fill of 1,000 papers waits for the second window"),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        scholar, api, bib = setup(work, args.papers, args.latency)
        (work / "survey.bib").write_text(bib, encoding="utf-8")
        env = {**os.environ, **_env(scholar, api)}
        command = [sys.executable, "-m", "surveybib", "-q", "enrich", "--upgrade", "--write",
                   "--counts", "--no-code-links"]
        start = time.perf_counter()
        subprocess.run(command, cwd=work, env=env, check=True)
        took = time.perf_counter() - start
        print(f"upgrade: {took:.2f} s, {scholar.count('s2')} S2 requests, "
              f"{api.count()} Crossref requests, {scholar.over_limit} over the limit")
        before = scholar.count() + api.count()
        subprocess.run(command, cwd=work, env=env, check=True)
        print(f"re-run: {scholar.count() + api.count() - before} requests")
        scholar.stop()
        api.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
