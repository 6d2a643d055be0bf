"""site: write the paper explorer, a static index.html (build writes it too when
`site` is configured in [tool.surveybib])."""

from __future__ import annotations

from pathlib import Path

import click

from surveybib import build as pipeline
from surveybib.cli.app import Context, counted, main, pass_context, report
from surveybib.config import check_output_path
from surveybib.lint import configure
from surveybib.site.links import files_url as checked_files_url
from surveybib.survey import load_survey


@main.command("site")
@click.option("-o", "--output", "folder", type=click.Path(file_okay=False, path_type=Path),
              metavar="DIR",
              help="Write DIR/index.html (default: [tool.surveybib] site, else site/).")
@click.option("--files-url", default="", metavar="URL",
              help="Where the repository's files are published, e.g. https://github.com/"
                   "OWNER/REPO/blob/main/: the notes' relative links and images go there "
                   "(the Pages workflow gives the commit it builds).")
@pass_context
def site_command(ctx: Context, folder: Path | None, files_url: str) -> None:
    """Write the paper explorer: one self-contained page to search and filter the papers."""
    settings = ctx.settings
    files_url = checked_files_url(files_url) if files_url else ""
    if folder is not None and not folder.is_absolute():
        folder = ctx.root / folder  # like export -o: relative to the survey (-C DIR)
    check_output_path(settings, pipeline.site_page(settings, folder))
    survey = load_survey(settings, encoding=ctx.encoding)
    output, problems = pipeline.site_output(settings, survey, folder, files_url)
    errors, warnings = report(configure([*survey.problems, *problems], settings), ctx.quiet)
    pipeline.write_outputs([output])
    if not ctx.quiet:
        click.echo(f"wrote {settings.rel(output.path)} ({len(survey.entries)} papers); "
                   f"{counted(errors, warnings)}", err=True)
