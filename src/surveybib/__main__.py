from __future__ import annotations

from surveybib.cli import main

main()
