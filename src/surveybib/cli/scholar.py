"""enrich --upgrade / --counts: Semantic Scholar (venues, citation counts), Crossref
(confirming published DOIs) and Hugging Face Papers (code links) into the store, and with
--write the published versions into survey.bib."""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import click

from surveybib import scholar, upgrade
from surveybib.cli.app import Context, progress_bar, report
from surveybib.config import Settings, is_offline
from surveybib.enrich import open_client
from surveybib.errors import SurveybibError
from surveybib.files import write_bytes_atomic
from surveybib.identifiers import arxiv_only, paper_keys
from surveybib.metadata.store import MetadataStore, save_store, trimmed
from surveybib.model import NOT_FOUND, Entry, Problem, Work
from surveybib.net.fetch import Failed, Outcome, Trouble
from surveybib.net.hfpapers import HFConfig, HFPapers, hf_config
from surveybib.net.semanticscholar import S2Config, SemanticScholar, s2_config
from surveybib.net.transport import Unreachable
from surveybib.survey import Survey
from surveybib.upgrade import Upgrade


@dataclass(frozen=True, slots=True)
class Wanted:
    """What `enrich` was asked to do beyond Crossref/DataCite."""

    upgrade: bool
    counts: bool
    code: bool
    refresh: bool
    dry_run: bool
    write: bool


@dataclass(slots=True)
class _Run:
    store: MetadataStore
    problems: list[Problem] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # the summary, one part per source
    unreachable: str = ""


class _Checkpoint:
    """Saves the store as answers arrive, at most every SAVE_EVERY seconds (writing a
    store of thousands of records takes a while), and on `flush`."""

    SAVE_EVERY = 5.0

    def __init__(self, path: Path, dry_run: bool) -> None:
        self.path = path
        self.dry_run = dry_run
        self.latest: MetadataStore | None = None
        self.saved = time.monotonic()

    def __call__(self, store: MetadataStore) -> None:
        self.latest = store
        if time.monotonic() - self.saved >= self.SAVE_EVERY:
            self.flush()

    def flush(self) -> None:
        if self.latest is not None and not self.dry_run:
            save_store(self.path, self.latest)
        self.latest = None
        self.saved = time.monotonic()


def today() -> datetime.date:
    """The date records are stamped with (UTC, so a run's date does not depend on where)."""
    return datetime.datetime.now(datetime.UTC).date()


def run_scholarly(ctx: Context, survey: Survey, keys: Sequence[str], wanted: Wanted) -> None:
    """The body of `enrich --upgrade` / `--counts` (the command has checked its options)."""
    settings = ctx.settings
    selected = [e for e in survey.parsed if not keys or e.key in keys]
    day = today()
    run = _Run(survey.store)
    offline = ctx.offline or is_offline()

    save = _Checkpoint(settings.metadata, wanted.dry_run)
    if offline:
        run.lines.append("offline: nothing asked; working from the metadata store")
    else:
        # Both read now, so a mistyped URL stops the run before any request.
        s2, hf = s2_config(settings.mailto), hf_config(settings.mailto)
        try:
            _ask_semantic_scholar(s2, ctx, selected, run, wanted, day, save)
            if wanted.upgrade and not run.unreachable:
                _confirm_dois(settings, upgrade.crossref_dois(selected, run.store), run, save)
            if wanted.counts and wanted.code:
                _ask_hugging_face(hf, ctx, selected, run, wanted, day, save)
        except (KeyboardInterrupt, SurveybibError):
            save.flush()  # Ctrl-C, a refused key: everything fetched so far is kept
            raise
    report(run.problems, ctx.quiet)
    if wanted.upgrade:
        _upgrade(ctx, survey, selected, run, wanted, day)
    if wanted.counts:
        run.lines.append(_counts_line(selected, run.store))
    save(run.store)
    save.flush()
    for line in run.lines:
        click.echo(line, err=True)


def _ask_semantic_scholar(config: S2Config, ctx: Context, entries: Sequence[Entry], run: _Run,
                          wanted: Wanted, day: datetime.date,
                          save: Callable[[MetadataStore], None]) -> None:
    todo: dict[str, list[Entry]] = {}
    if wanted.upgrade:
        for entry in entries:
            arxiv = arxiv_only(entry)
            key = f"arxiv:{arxiv}"
            if arxiv and (wanted.refresh or not scholar.is_fresh(run.store.scholar.get(key),
                                                                 day)):
                todo.setdefault(key, []).append(entry)
    if wanted.counts:
        for key, found in scholar.count_keys(entries, run.store, day, wanted.refresh).items():
            todo.setdefault(key, []).extend(e for e in found if e not in todo.get(key, []))
    if not todo:
        run.lines.append("semantic scholar: nothing to ask (every answer is stored and "
                         f"younger than {scholar.STALE_DAYS} days)")
        return
    with SemanticScholar(config) as client:
        result = scholar.fetch_scholar(client, run.store, todo, day, entries=todo,
                                       checkpoint=save, progress=progress_bar(ctx))
        requests = client.requests_made
    run.store = result.store
    run.problems.extend(result.problems)
    if result.unreachable:
        run.unreachable = result.unreachable
        run.lines.append(f"semantic scholar: {result.unreachable}; nothing more asked")
        return
    run.lines.append(f"semantic scholar: {result.asked} asked in {requests} "
                     f"request{'s' * (requests != 1)}: {result.found} found, {result.unknown} "
                     f"unknown, {result.failed} failed")


def _confirm_dois(settings: Settings, dois: Sequence[str], run: _Run,
                  save: Callable[[MetadataStore], None]) -> None:
    """Published DOIs Semantic Scholar gave, fetched at Crossref (then DataCite) so the
    upgrade can check them and build can render them offline."""
    if not dois:
        return
    confirmed = [0, 0]

    def take(outcomes: Sequence[Outcome]) -> None:
        works = {o.doi: trimmed(o) for o in outcomes if isinstance(o, Work)}
        missing = {o.doi: NOT_FOUND for o in outcomes
                   if isinstance(o, Failed) and o.trouble is Trouble.NOT_FOUND}
        confirmed[0] += len(works)
        confirmed[1] += len(outcomes) - len(works)
        run.store = run.store.with_updates(works=works, missing=missing)
        save(run.store)

    with open_client(settings.mailto) as client:
        if client is None:  # not reached: the caller asks only when online
            return
        try:
            client.fetch_works(dois, take)
        except Unreachable as exc:
            run.lines.append(f"crossref: {exc}; published DOIs not confirmed")
            return
    run.lines.append(f"crossref: {confirmed[0]} published DOI(s) fetched, {confirmed[1]} not")


def _ask_hugging_face(config: HFConfig, ctx: Context, entries: Sequence[Entry], run: _Run,
                      wanted: Wanted, day: datetime.date,
                      save: Callable[[MetadataStore], None]) -> None:
    todo = scholar.code_keys(entries, run.store, day, wanted.refresh)
    if not todo:
        run.lines.append("hugging face: nothing to ask")
        return
    with HFPapers(config) as client:
        result = scholar.fetch_code(client, run.store, [k.partition(":")[2] for k in todo],
                                    day, entries=todo, checkpoint=save,
                                    progress=progress_bar(ctx))
        requests = client.requests_made
    run.store = result.store
    run.problems.extend(result.problems)
    if result.unreachable:
        run.lines.append(f"hugging face: {result.unreachable}; nothing more asked")
        return
    run.lines.append(f"hugging face: {result.code_asked} asked in {requests} requests: "
                     f"{result.found} indexed, {result.unknown} not, {result.failed} failed")


def _upgrade(ctx: Context, survey: Survey, entries: Sequence[Entry], run: _Run, wanted: Wanted,
             day: datetime.date) -> None:
    plan = upgrade.plan_upgrades(entries, run.store, ctx.settings.venues)
    report(plan.problems, ctx.quiet)
    path = ctx.settings.bib
    source = survey.source
    upgrades: Sequence[Upgrade] = plan.upgrades
    text = source.text
    # an 8-bit file gets LaTeX accents instead of the fetched UTF-8
    new_text = upgrade.apply_upgrades(text, survey.parsed, upgrades,
                                      ascii_values=source.eight_bit)
    if upgrades and not (wanted.write and ctx.quiet):
        for line in upgrade.review(upgrades, text, new_text, ctx.settings.rel(path)):
            click.echo(line)
    if ctx.verbose:
        for line in upgrade.kept_lines(plan.kept):
            click.echo(line, err=True)
    run.lines.append(upgrade.summary(plan))
    if not wanted.write or not upgrades:
        if upgrades and not wanted.dry_run:
            run.lines.append("upgrade: run `surveybib enrich --upgrade --write` to apply")
        return
    write_bytes_atomic(path, source.encode(new_text))
    run.store = run.store.with_updates(upgrades=upgrade.upgrade_records(upgrades, day))
    run.lines.append(f"upgraded {len(upgrades)} entr{'ies' if len(upgrades) != 1 else 'y'} "
                     f"in {path.name}; run `make readme` (surveybib build) to show the venues")


def _counts_line(entries: Sequence[Entry], store: MetadataStore) -> str:
    counted = coded = 0
    for entry in entries:
        keys = paper_keys(entry)
        counted += any((store.citations.get(k) or {}).get("count") is not None for k in keys)
        coded += any((store.code.get(k) or {}).get("repo") for k in keys)
    return (f"counts: {counted} of {len(entries)} entries have a citation count, {coded} a "
            "code link")
