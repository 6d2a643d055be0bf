"""The command-line interface: the group and its global options live in `app`; each
command group has its own module, imported here so that it registers its commands."""

from __future__ import annotations

from surveybib.cli import build, enrich, export, init, lookup, site
from surveybib.cli.app import Context, main

__all__ = ["Context", "build", "enrich", "export", "init", "lookup", "main", "site"]
