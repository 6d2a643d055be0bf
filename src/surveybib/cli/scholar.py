"""enrich --upgrade / --counts: Semantic Scholar (venues, citation counts), Crossref
(confirming published DOIs) and Hugging Face Papers (code links) into the store, and with
--write the published versions into survey.bib."""

from __future__ import annotations

import codecs
import datetime
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from surveybib import scholar, upgrade
from surveybib.cli.app import Context, progress_bar, report
from surveybib.config import Settings, is_offline
from surveybib.errors import SurveybibError, UsageError
from surveybib.files import write_bytes_atomic
from surveybib.identifiers import arxiv_only, paper_keys
from surveybib.lookup import file_encoding
from surveybib.metadata.store import NOT_FOUND, MetadataStore, StoredWork, save_store, trim_record
from surveybib.model import Entry, Problem
from surveybib.survey import Survey
from surveybib.upgrade import Edit, Upgrade

if TYPE_CHECKING:
    from surveybib.net.hfpapers import HFConfig
    from surveybib.net.semanticscholar import S2Config


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
        from surveybib.net.hfpapers import hf_config
        from surveybib.net.semanticscholar import s2_config

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
    from surveybib.net.semanticscholar import SemanticScholar

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
    from surveybib.enrich import open_client
    from surveybib.net.crossref import Failed, Fetched, Outcome, Unreachable

    confirmed = [0, 0]

    def take(outcomes: Sequence[Outcome]) -> None:
        works = {o.doi: StoredWork(o.source, trim_record(o.source, o.record))
                 for o in outcomes if isinstance(o, Fetched)}
        missing = {o.doi: NOT_FOUND for o in outcomes if isinstance(o, Failed) and o.not_found}
        confirmed[0] += len(works)
        confirmed[1] += len(outcomes) - len(works)
        run.store = run.store.with_updates(works=works, missing=missing)
        save(run.store)

    with open_client(settings.mailto) as client:
        assert client is not None  # only asked when online
        try:
            client.fetch_works(dois, take)
        except Unreachable as exc:
            run.lines.append(f"crossref: {exc}; published DOIs not confirmed")
            return
    run.lines.append(f"crossref: {confirmed[0]} published DOI(s) fetched, {confirmed[1]} not")


def _ask_hugging_face(config: HFConfig, ctx: Context, entries: Sequence[Entry], run: _Run,
                      wanted: Wanted, day: datetime.date,
                      save: Callable[[MetadataStore], None]) -> None:
    from surveybib.net.hfpapers import HFPapers

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
    plan = upgrade.plan_upgrades(entries, run.store)
    report(plan.problems, ctx.quiet)
    path = ctx.settings.bib
    raw = path.read_bytes()
    bom, name, text = _decode(path, raw, ctx.encoding or ctx.settings.encoding)
    upgrades: Sequence[Upgrade] = plan.upgrades
    if codecs.lookup(name).name != "utf-8":  # an 8-bit file gets LaTeX accents instead
        upgrades = [_ascii(u) for u in upgrades]
    new_text = upgrade.apply_upgrades(text, survey.parsed, upgrades)
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
    try:
        data = bom + new_text.encode(name)
    except UnicodeEncodeError as exc:
        raise UsageError(f"{path.name}: a fetched value cannot be written as {name}: "
                         f"{exc}") from None
    write_bytes_atomic(path, data)
    run.store = run.store.with_updates(upgrades=upgrade.upgrade_records(upgrades, day))
    run.lines.append(f"upgraded {len(upgrades)} entr{'ies' if len(upgrades) != 1 else 'y'} "
                     f"in {path.name}; run `make readme` (surveybib build) to show the venues")


def _decode(path: Path, raw: bytes, encoding: str) -> tuple[bytes, str, str]:
    bom = codecs.BOM_UTF8 if raw.startswith(codecs.BOM_UTF8) else b""
    name = file_encoding(raw, encoding or None)
    try:
        return bom, name, raw[len(bom):].decode(name)
    except UnicodeDecodeError:
        raise UsageError(f"{path.name} is not {name}; give its encoding with --encoding to "
                         "use --upgrade") from None


def _ascii(item: Upgrade) -> Upgrade:
    from surveybib.latex import to_ascii_latex

    edits = tuple(Edit(e.name, e.old, to_ascii_latex(e.new)) for e in item.edits)
    return replace(item, edits=edits)


def _counts_line(entries: Sequence[Entry], store: MetadataStore) -> str:
    counted = coded = 0
    for entry in entries:
        keys = paper_keys(entry)
        counted += any((store.citations.get(k) or {}).get("count") is not None for k in keys)
        coded += any((store.code.get(k) or {}).get("repo") for k in keys)
    return (f"counts: {counted} of {len(entries)} entries have a citation count, {coded} a "
            "code link")
