"""Reading and writing the survey's files: only regular files are read, with a size
limit (a FIFO, a device or a symlink loop is refused by name, never waited on); writes
are atomic (a crash or a kill leaves the old file or the new one, never half) and go
through a symbolic link to its target; and the survey lock."""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from surveybib.errors import FileError, SurveybibError

try:
    import fcntl
except ImportError:  # not on Windows: survey_lock runs unlocked there
    fcntl = None  # type: ignore[assignment]

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def kind(mode: int) -> str:
    """What a file is, in words ("a FIFO (named pipe)", "a directory", ...)."""
    return next((name for test, name in _KINDS if test(mode)), "a special file")


def read_regular(path: Path, limit: int, shown: str | None = None) -> bytes:
    """The bytes of `path`, a regular file of at most `limit` bytes (after symbolic links).

    Raises FileNotFoundError when it does not exist, and FileError (naming `shown`, or the
    path) when it is anything else: a FIFO or a device (which could block or never end),
    a directory, a symbolic link loop, a larger file, or unreadable."""
    name = shown or str(path)
    try:
        if not stat.S_ISREG(mode := os.stat(path).st_mode):
            raise FileError(f"{name}: is {kind(mode)}, not a regular file; surveybib reads "
                            "only regular files")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise _os_error(name, "read", exc) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # replaced between the two looks
            raise FileError(f"{name}: is {kind(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise FileError(f"{name}: {info.st_size:,} bytes, over the {limit:,}-byte limit "
                            "surveybib reads")
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise _os_error(name, "read", exc) from None
    finally:
        os.close(fd)
    if len(data) > limit:  # it grew while being read
        raise FileError(f"{name}: over the {limit:,}-byte limit surveybib reads")
    return data


def read_existing(path: Path, limit: int, shown: str | None = None) -> bytes | None:
    """read_regular, or None when the file does not exist."""
    try:
        return read_regular(path, limit, shown)
    except FileNotFoundError:
        return None


def resolve(path: Path, shown: str | None = None) -> Path:
    """path.resolve(), with a symbolic link loop as a FileError naming it."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):  # Python 3.11 raises RuntimeError for a loop
        raise FileError(f"{shown or path}: a loop of symbolic links; remove or fix the "
                        "link") from None


def _os_error(name: str, verb: str, exc: OSError) -> FileError:
    if exc.errno == errno.ELOOP:
        return FileError(f"{name}: a loop of symbolic links; remove or fix the link")
    return FileError(f"{name}: cannot be {verb}: {exc.strerror or exc}")


def _temporary(path: Path, data: bytes, mode: int) -> str:
    """A temporary file beside path holding data, synced to disk, with mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:200]}.", suffix=".tmp", dir=path.parent)
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


def write_bytes_atomic(path: Path, data: bytes, shown: str | None = None, *,
                       devices: bool = False) -> None:
    """Write data through a temporary file beside path, fsync it, then os.replace.

    A symbolic link is written through: its target is replaced (atomically), the link
    stays. With `devices`, a character device or FIFO (`-o /dev/stdout`) is written to
    directly; any other special file is refused. Trouble (a full disk, a read-only
    folder) is a FileError that names the file and why; the old file is then untouched."""
    name = shown or str(path)
    own = _own_descriptor(path) if devices else None
    if own is not None:
        _write_stream(lambda: os.dup(own), data, name)
        return
    target = resolve(path, name) if path.is_symlink() else path
    try:
        # the path itself, links followed by the kernel: /dev/stdout is a link to
        # /proc/self/fd/1, whose "target" (`pipe:[1234]`) is no path at all
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise _os_error(name, "written", exc) from None
    if mode is not None and not stat.S_ISREG(mode):
        if devices and (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
            _write_stream(lambda: os.open(path, os.O_WRONLY | getattr(os, "O_NOCTTY", 0)),
                          data, name)
            return
        raise FileError(f"{name}: is {kind(mode)}; surveybib writes only regular files")
    try:
        tmp = _temporary(target, data, mode & 0o777 if mode is not None else 0o644)
        try:
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise _os_error(name, "written", exc) from None


_OWN = re.compile(r"/dev/(?:std(out|err)|fd/(\d+))|/proc/self/fd/(\d+)")


def _own_descriptor(path: Path) -> int | None:
    """The descriptor `/dev/stdout`, `/dev/stderr`, `/dev/fd/N` or `/proc/self/fd/N` names
    in this process. Written through the descriptor itself, the shell's redirection holds
    (`-o /dev/stdout >> all.bib` appends); opened again by name, a regular file behind it
    would be replaced."""
    match = _OWN.fullmatch(os.path.abspath(path))
    if match is None:
        return None
    stream, *numbers = match.groups()
    if stream is not None:
        return 1 if stream == "out" else 2
    return int(next(n for n in numbers if n is not None))


def _write_stream(opened: Callable[[], int], data: bytes, name: str) -> None:
    """Write to the descriptor `opened` gives, as it is: a character device, a FIFO or
    the process's own stdout (there is nothing to replace)."""
    try:
        with os.fdopen(opened(), "wb") as handle:
            handle.write(data)
    except OSError as exc:
        raise _os_error(name, "written", exc) from None


def write_text_atomic(path: Path, text: str, newline: str = "\n", shown: str | None = None,
                      *, devices: bool = False) -> None:
    """Write text as UTF-8 with the given line ends, atomically (see write_bytes_atomic)."""
    write_bytes_atomic(path, (text.replace("\n", newline) if newline != "\n" else text)
                       .encode("utf-8"), shown, devices=devices)


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
