"""The command-line interface: the group and its global options live in `app`; each
command group has its own module, which registers its commands when it is imported. The
map below names each command's module, so a run imports only the one it needs."""

from __future__ import annotations

from surveybib.cli.app import Context, main

COMMANDS = {
    "build": "build", "check": "build", "note": "build",
    "enrich": "enrich",
    "export": "export",
    "doi": "lookup", "search": "lookup", "add": "lookup",
    "init": "init",
    "site": "site",
}
main.lazy_commands.update(COMMANDS)

__all__ = ["COMMANDS", "Context", "main"]
