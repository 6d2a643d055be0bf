"""init: start a survey repository, or fill in what an existing one lacks."""

from __future__ import annotations

from pathlib import Path

import click

from surveybib.build import refuse_foreign_readme
from surveybib.cli.app import Context, main, pass_context
from surveybib.config import load_settings
from surveybib.errors import SurveybibError, UsageError
from surveybib.scaffold import files as scaffold


@main.command("init")
@click.argument("directory", metavar="[DIR]", required=False,
                type=click.Path(file_okay=False, path_type=Path))
@click.option("--title", default="", metavar="T", help="The survey's title (default: DIR's name).")
@click.option("--taxonomy", multiple=True, metavar="C",
              help="A category, in the README's order; repeat for each.")
@click.option("--here", is_flag=True,
              help="An existing survey (it has its survey.bib): add only the missing files.")
@click.option("--update", is_flag=True,
              help="With --here: write the workflows and the issue form again from this "
                   "surveybib's templates, even where they exist, and set the Makefile's "
                   "SURVEYBIB_SPEC line to --spec.")
@click.option("--spec", default="", metavar="REQ",
              help="What pip installs as surveybib in the Makefile and the workflows: a "
                   "release, a wheel's path inside the survey, or a git URL (default: "
                   f"{scaffold.default_spec()}, or the git commit this surveybib was "
                   "installed from).")
@pass_context
def init_command(ctx: Context, directory: Path | None, title: str, taxonomy: tuple[str, ...],
                 here: bool, update: bool, spec: str) -> None:
    """Create a survey repository: config, survey.bib, notes/, INTRO.md, Makefile, the
    check and add-paper workflows and the issue form. Nothing that exists is overwritten."""
    root = ctx.root / directory if directory is not None else ctx.root
    origin = scaffold.install_origin()
    spec = scaffold.check_spec(spec) if spec else scaffold.default_spec(origin)
    names = scaffold.check_taxonomy(taxonomy)
    if update and not here:
        raise UsageError("--update goes with --here (it rewrites an existing survey's "
                         "workflows and issue form)")
    if here:
        if not root.is_dir():
            raise UsageError(f"--here: {root} is not a directory")
        plan = scaffold.plan_here(root.resolve(), title=title, taxonomy=names, spec=spec,
                                  update=update)
        files, replace, kept = plan.write, plan.replace, plan.kept
    else:
        title = title or root.resolve().name
        files = scaffold.plan_new(root, scaffold.survey_files(title, names, spec))
        replace, kept = (), ()
    existed = {f.path for f in files if (root / f.path).exists()}
    written = scaffold.write_files(root, files, replace)
    _tell(ctx, root, written, existed, kept, here)
    note = scaffold.origin_note(origin, spec)
    if note and not ctx.quiet:
        click.echo(f"note: {note}", err=True)


def _tell(ctx: Context, root: Path, written: list[str], existed: set[str],
          kept: tuple[str, ...], here: bool) -> None:
    if ctx.quiet:
        return
    for path in written:
        click.echo(f"{'updated' if path in existed else 'created'} {path}", err=True)
    if kept:
        click.echo(f"kept (they exist): {', '.join(map(scaffold.shown, kept))}", err=True)
    foreign = _foreign_readme(root)
    if foreign:
        click.echo(f"note: {foreign}", err=True)
    if here:
        return
    where = "" if root == ctx.root else f" in {root}"
    click.echo(f"next{where}: `surveybib add DOI --taxonomy C` for each paper, `surveybib "
               "build` (or `make readme`), then git init, commit (survey.bib, notes/, "
               "README.md and the metadata store survey.lock.json) and push; on GitHub, "
               "create the label 'add-paper' for the issue form, and choose Settings -> "
               "Pages -> Source: GitHub Actions to publish the paper explorer", err=True)


def _foreign_readme(root: Path) -> str:
    """Why `build` will not replace the README that is there (a repository made on GitHub
    has one), or ""."""
    try:
        refuse_foreign_readme(load_settings(root))
    except SurveybibError as exc:
        return str(exc)
    return ""
