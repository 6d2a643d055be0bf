"""Real HTTP on 127.0.0.1 for the tests: one threaded server (a free port, a daemon thread),
the base of the fake APIs (tests/fakeapi.py: Crossref + DataCite; tests/fakescholar.py:
Semantic Scholar + Hugging Face) and the static server the browser tests load pages from.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar

import pytest


class LocalServer:
    """A ThreadingHTTPServer on 127.0.0.1, on a port the system picks, serving `handler`
    from a daemon thread until `stop()`."""

    def __init__(self, handler: Any) -> None:
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    @classmethod
    def static(cls, folder: Path) -> LocalServer:
        """The files under `folder`, as a web server serves them."""
        return cls(functools.partial(_QuietFiles, directory=str(folder)))

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT, without a trailing slash."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class FakeHandler(http.server.BaseHTTPRequestHandler):
    """A fake API's request handler: HTTP/1.1, silent, with the fake it answers for in
    `fake` (set by `Fake.start`)."""

    fake: Any
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def write_body(self, data: bytes) -> None:
        """The body after the headers; a client that went away is not an error."""
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)

    def reset(self) -> None:
        """Close with a TCP RST: the client sees 'connection reset by peer'."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


class Fake:
    """A fake API served on 127.0.0.1 by its `handler` class, whose `fake` is this object."""

    handler: ClassVar[type[FakeHandler]]
    _server: LocalServer | None = None

    def start(self) -> Self:
        self._server = LocalServer(type("Handler", (self.handler,), {"fake": self}))
        return self

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return self._server.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()


F = TypeVar("F", bound=Fake)


def serving(fake: F, monkeypatch: pytest.MonkeyPatch, *variables: str) -> Iterator[F]:
    """A fixture's body: start the fake, point the environment `variables` at it for the
    test, stop it after."""
    fake.start()
    for name in variables:
        monkeypatch.setenv(name, fake.url)
    try:
        yield fake
    finally:
        fake.stop()
