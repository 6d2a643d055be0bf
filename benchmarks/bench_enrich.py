"""Benchmark (not a test): enriching 1,000 DOIs against the fake Crossref API that enforces
the polite pool's limits (10 single works/s, 3 lists/s, 3 concurrent) with 50 ms latency.

Compares surveybib's batched enrichment with what peer tools do (one `/works/{doi}`
request per entry, here through the same polite client so that it, too, never hits a 429),
in the same run against the same fake, and checks that a re-run with the store full makes
zero requests. Targets (issue 3): <= 15 s, <= 60 requests, >= 7x faster than per-entry.

    python benchmarks/bench_enrich.py [--dois 1000] [--latency 0.05] [--skip-baseline]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from fakeapi import FakeAPI  # noqa: E402

from surveybib.bibtex.parse import parse_bib  # noqa: E402
from surveybib.enrich import run_enrich  # noqa: E402
from surveybib.metadata.store import MetadataStore, load_store, save_store  # noqa: E402
from surveybib.model import Work  # noqa: E402
from surveybib.net.fetch import Client  # noqa: E402
from surveybib.net.settings import ClientConfig  # noqa: E402

# The recorded Crossref/DataCite bodies the fake API serves (tests/data/SOURCES.md).
TEST_DATA = ROOT / "tests" / "data"


_PER_ENTRY = """
import sys
from surveybib.model import Work
from surveybib.net.fetch import Client
from surveybib.net.settings import ClientConfig
dois = open(sys.argv[2], encoding="utf-8").read().split()
config = ClientConfig(crossref_url=sys.argv[1], datacite_url=sys.argv[1],
                      mailto="bench@example.org")
with Client(config) as client:
    found = sum(isinstance(client.get_work(doi), Work) for doi in dois)
sys.exit(0 if found == len(dois) else 1)
"""


def measure(bench: Any) -> list[Any]:
    """The enrich rows of `make bench`: whole `surveybib enrich` processes against the fake
    API (polite-pool limits enforced, 50 ms latency) served from the harness's process; the
    per-entry baseline (one /works/{doi} per entry, polite client) runs once: it takes
    about two minutes."""
    import harness

    api = FakeAPI(TEST_DATA, latency=0.05).start()
    try:
        dois = api.synthetic(1000, prefix="10.5555/bench.")
        work = bench.work / "enrich-1000"
        work.mkdir(parents=True, exist_ok=True)
        harness.own_survey(work)
        (work / "survey.bib").write_text(
            "".join(f"@article{{p{i},\n  doi = {{{doi}}},\n}}\n" for i, doi in enumerate(dois)),
            encoding="utf-8")
        (work / "dois.txt").write_text("\n".join(dois) + "\n", encoding="utf-8")
        store = work / "survey.lock.json"
        env = {"SURVEYBIB_OFFLINE": "0", "SURVEYBIB_CROSSREF_URL": api.url,
               "SURVEYBIB_DATACITE_URL": api.url, "SURVEYBIB_MAILTO": "bench@example.org"}
        fresh = harness.Command("surveybib enrich (empty store)",
                                bench.surveybib("-q", "enrich"), work, env,
                                before=lambda: store.unlink(missing_ok=True))
        before, limited = api.count(), api.over_limit
        ours = bench.time_one(fresh)
        per_run = (api.count() - before) / len(ours.samples)
        ours_429 = api.over_limit - limited
        rerun_cmd = harness.Command("surveybib enrich (store full)",
                                    bench.surveybib("-q", "enrich"), work, env)
        before = api.count()
        rerun = bench.time_one(rerun_cmd)
        rerun_requests = api.count() - before
        baseline_cmd = harness.Command("one /works/{doi} per entry",
                                       bench.python(_PER_ENTRY, api.url, str(work / "dois.txt")),
                                       work, {"PYTHONPATH": str(ROOT / "src")})
        baseline = bench.time_one(baseline_cmd, runs=1)
    finally:
        api.stop()
    speedup = baseline.median / ours.median
    met = ours.median <= 15 and per_run <= 60 and speedup >= 7 and ours_429 == 0
    return [
        harness.Row("enrich-1000", "enrich 1,000 DOIs (fake API, polite limits, 50 ms)",
                    f"{ours.median:.2f} s, {per_run:.0f} requests, {speedup:.1f}x faster",
                    "<= 15 s, <= 60 requests, >= 7x", met, ours, baseline,
                    runs=f"{len(ours.samples)} / 1",
                    note=f"{ours_429} answered 429; the per-entry baseline runs once"),
        harness.Row("enrich-rerun", "enrich again, store full", f"{rerun_requests} requests",
                    "zero requests", rerun_requests == 0, rerun, None,
                    runs=str(len(rerun.samples))),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dois", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()

    api = FakeAPI(TEST_DATA, latency=args.latency).start()
    dois = api.synthetic(args.dois, prefix="10.5555/bench.")
    bib = "".join(f"@article{{p{i},\n  doi = {{{doi}}},\n}}\n" for i, doi in enumerate(dois))
    entries = parse_bib(bib, "survey.bib").entries
    config = ClientConfig(crossref_url=api.url, datacite_url=api.url,
                          mailto="bench@example.org")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        store_path = Path(tmp) / "survey.lock.json"

        def checkpoint(store: MetadataStore) -> None:
            save_store(store_path, store)

        start = time.perf_counter()
        with Client(config) as client:
            result = run_enrich(entries, load_store(store_path), client, checkpoint=checkpoint)
        batched = time.perf_counter() - start
        batched_requests = api.count()
        print(f"batched:   {batched:6.2f} s  {batched_requests:5d} requests  "
              f"{len(result.fetched)} fetched  {api.over_limit} answered 429")
        ok &= len(result.fetched) == args.dois and api.over_limit == 0

        before = api.count()
        start = time.perf_counter()
        with Client(config) as client:
            rerun = run_enrich(entries, load_store(store_path), client)
        print(f"re-run:    {time.perf_counter() - start:6.2f} s  {api.count() - before:5d} "
              f"requests  {len(rerun.cached)} cached")
        ok &= api.count() == before

    if not args.skip_baseline:
        before, limited = api.count(), api.over_limit
        start = time.perf_counter()
        with Client(config) as client:
            found = sum(isinstance(client.get_work(doi), Work) for doi in dois)
        single = time.perf_counter() - start
        print(f"per-entry: {single:6.2f} s  {api.count() - before:5d} requests  {found} fetched  "
              f"{api.over_limit - limited} answered 429")
        speedup = single / batched
        print(f"speed-up:  {speedup:.1f}x")
        ok &= speedup >= 7
    api.stop()
    if args.dois == 1000:
        ok &= batched <= 15 and batched_requests <= 60
        print("targets (<= 15 s, <= 60 requests, >= 7x, re-run 0 requests):",
              "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
