"""export: citation export for the survey paper (formats, styles, --aux/--keys selection)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from surveybib.cli.app import KEYS_HELP, Context, counted, main, pass_context, report, split_keys
from surveybib.config import check_output_path
from surveybib.errors import FileError, UsageError
from surveybib.export import DEFAULT_SKIP, ExportOptions, run_export
from surveybib.export.aux import aux_inputs, parse_aux
from surveybib.export.select import check_category
from surveybib.files import read_regular, resolve, write_text_atomic
from surveybib.limits import MAX_AUX_BYTES, MAX_AUX_FILES
from surveybib.lint import configure
from surveybib.rules import Rule
from surveybib.survey import load_survey


@main.command("export")
@click.option("--format", "fmt", default="bibtex", show_default=True,
              type=click.Choice(["bibtex", "biblatex", "csl-json", "ris", "text", "markdown",
                                 "html"]),
              help="Output format.")
@click.option("--style", type=click.Choice(["plain", "unsrt", "alpha", "unsrtalpha"]),
              help="pybtex style for text/markdown/html (default plain).")
@click.option("--csl", metavar="FILE",
              help="A CSL style file for text/markdown/html (or 'surveybib-numeric').")
@click.option("--aux", "aux", type=click.Path(dir_okay=False, path_type=Path),
              help="Keep only the keys a LaTeX run cited (its .aux file).")
@click.option("--keys", metavar="K1,K2", multiple=True, help=KEYS_HELP)
@click.option("--taxonomy", metavar="T", help="Keep only papers filed under T (or T/...).")
@click.option("--sort", type=click.Choice(["key", "year", "author"]),
              help="Order (default: the bibliography's).")
@click.option("--unicode", "unicode_", is_flag=True,
              help="bibtex: keep non-ASCII as UTF-8 instead of LaTeX accents.")
@click.option("--keep", multiple=True, metavar="FIELD",
              help="Keep a field that is stripped by default (e.g. abstract); repeatable.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write here (atomically) instead of stdout.")
@click.option("--parents", is_flag=True,
              help="Create the folders of -o FILE that do not exist yet.")
@pass_context
def export_command(ctx: Context, fmt: str, style: str | None, csl: str | None,
                   aux: Path | None, keys: tuple[str, ...], taxonomy: str | None,
                   sort: str | None, unicode_: bool, keep: tuple[str, ...], output: str | None,
                   parents: bool) -> None:
    """Citation export for the survey paper: exactly the cited papers, custom fields stripped."""
    settings = ctx.settings
    if output is not None:
        check_output_path(settings, ctx.path(Path(output)), output)
        folder = ctx.path(Path(output)).parent
        if not parents and not folder.is_dir():
            raise UsageError(f"-o {output}: the folder {folder} does not exist; create it, "
                             "or add --parents")
    wanted, sources = _wanted_keys(ctx.here, aux, keys)
    survey = load_survey(settings, encoding=ctx.encoding)
    if taxonomy is not None:
        check_category(taxonomy, survey.entries, group_by=settings.group_by,
                       declared=settings.taxonomy)
    csl_file = ctx.path(Path(csl)) if csl else None
    options = ExportOptions(
        keys=None if wanted is None else tuple(wanted), taxonomy=taxonomy,
        group_by=settings.group_by, declared=settings.taxonomy, style=style,
        csl=str(csl_file) if csl_file and csl_file.is_file() else csl,
        unicode=unicode_, keep=frozenset(k.lower() for k in keep),
        skip_fields=DEFAULT_SKIP | frozenset(settings.export_skip_fields), sort=sort)
    result, unknown = run_export(survey.entries, fmt, options)
    bib = settings.rel(settings.bib)
    missing = [Rule.EXPORT_UNKNOWN_KEY.at(sources.get(key, "--keys"), None, key,
                                          f"cited but not in {bib}", "export")
               for key in unknown]
    found = configure([*result.problems, *missing], settings)
    errors, warnings = report([*configure(survey.problems, settings), *found], ctx.quiet)
    if output is None:
        click.echo(result.text, nl=False)
    else:
        write_text_atomic(ctx.path(Path(output)), result.text, shown=output, devices=True)
        if not ctx.quiet:
            click.echo(f"wrote {result.count} {'entry' if result.count == 1 else 'entries'} to "
                       f"{output}; {counted(errors, warnings)}",
                       err=True)
    if any(p.level == "error" for p in found):
        sys.exit(1)


def _under(root: Path, path: Path) -> Path:
    """A path given on the command line, relative to the survey directory (-C)."""
    return path if path.is_absolute() else root / path


def _wanted_keys(root: Path, aux: Path | None, keys: tuple[str, ...]
                 ) -> tuple[list[str] | None, dict[str, str]]:
    """The keys --aux and --keys ask for (None: all), and which .aux cited each key."""
    wanted: list[str] = []
    sources: dict[str, str] = {}
    cite_all = aux is None and not keys
    if aux is not None:
        pending = [_under(root, aux)]
        seen: set[Path] = set()
        while pending:
            path = pending.pop(0)
            real = resolve(path, str(path))
            if real in seen:
                continue
            seen.add(real)
            if len(seen) > MAX_AUX_FILES:
                raise UsageError(f"--aux {aux}: pulls in more than {MAX_AUX_FILES:,} .aux files "
                                 "through \\@input; is it a loop?")
            text = _read_aux(path, required=path == _under(root, aux))
            cited, star = parse_aux(text)
            cite_all = cite_all or star
            for key in cited:
                sources.setdefault(key, str(aux if path == _under(root, aux) else path.name))
                wanted.append(key)
            pending.extend(path.parent / name for name in aux_inputs(text))
    wanted.extend(split_keys(keys))
    return (None if cite_all else list(dict.fromkeys(wanted))), sources


def _read_aux(path: Path, required: bool) -> str:
    try:
        data = read_regular(path, MAX_AUX_BYTES)
    except FileNotFoundError:
        if required:
            raise UsageError(f"--aux {path}: no such file (run LaTeX first)") from None
        return ""  # an \include'd chapter that LaTeX has not written yet
    except FileError as exc:
        raise UsageError(f"--aux {exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")
