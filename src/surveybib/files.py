"""Atomic file writes (a crash or a kill leaves the old file or the new one, never half)
and the survey lock."""

from __future__ import annotations

import errno
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from surveybib.errors import SurveybibError

try:
    import fcntl
except ImportError:  # not on Windows: survey_lock runs unlocked there
    fcntl = None  # type: ignore[assignment]


def _temporary(path: Path, data: bytes, mode: int) -> str:
    """A temporary file beside path holding data, synced to disk, with mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write data through a temporary file beside path, fsync it, then os.replace."""
    tmp = _temporary(path, data, path.stat().st_mode & 0o777 if path.exists() else 0o644)
    try:
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text_atomic(path: Path, text: str, newline: str = "\n") -> None:
    """Write text as UTF-8 with the given line ends, atomically (see write_bytes_atomic)."""
    write_bytes_atomic(path, (text.replace("\n", newline) if newline != "\n" else text)
                       .encode("utf-8"))


@contextmanager
def survey_lock(root: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold a lock on the survey's directory: a second writer waits, then refuses.

    The lock is taken on the directory itself (flock on its descriptor), so it
    leaves no file behind in the user's repository.
    """
    if fcntl is None:  # no flock on this platform: run unlocked
        yield
        return
    if timeout is None:
        timeout = float(os.environ.get("SURVEYBIB_LOCK_TIMEOUT", "60"))
    fd = os.open(root, os.O_RDONLY)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise SurveybibError(
                        f"{root}: another surveybib run is working on this survey "
                        f"(waited {timeout:g} s); try again when it has finished"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def write_new_atomic(path: Path, data: bytes) -> None:
    """Create path with data, never replacing a file: the data goes into a temporary file
    beside it, which is then hard-linked as path (FileExistsError when path exists, even
    if it appeared meanwhile). A crash leaves no half-written path."""
    tmp = _temporary(path, data, 0o644)
    try:
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links: check, then rename
            if os.path.lexists(path):
                raise FileExistsError(errno.EEXIST, "File exists", str(path)) from None
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
