"""The errors that stop a whole run (trouble with one entry is a Problem instead)."""

from __future__ import annotations


class SurveybibError(Exception):
    """A failure of the whole run; the message says what, where and what to do."""


class ConfigError(SurveybibError):
    """The [tool.surveybib] table or a configured path is unusable."""


class FileError(SurveybibError):
    """A file cannot be read or written as it is: its kind (a FIFO, a device, a loop of
    links), its size, or the disk (full, read-only). The message names the file."""


class BibFileError(SurveybibError):
    """survey.bib cannot be read at all (missing, undecodable)."""


class MetadataStoreError(SurveybibError):
    """The committed metadata store cannot be read or written."""


class NetworkError(SurveybibError):
    """The metadata APIs could not be reached or answered unusably."""


class UsageError(SurveybibError):
    """The user asked for something that cannot work (exit code 2)."""


class TemplateError(SurveybibError):
    """A template (the user's templates/ or a packaged one) does not compile or render."""
