"""What an API client asks with: the APIs' addresses, who asks (the polite pool's mailto),
timeouts, retries, and the bounds of a run's network work (a deadline, a circuit
breaker), read from the environment (docs/usage.md, "Environment")."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from surveybib import __version__
from surveybib.config import base_url

DEFAULT_CROSSREF_URL = "https://api.crossref.org"
DEFAULT_DATACITE_URL = "https://api.datacite.org"
MAX_BODY = 20 * 1024 * 1024  # a work-list of 1,000 full records is about 10 MB
MAX_URL = 4000  # Crossref rejects very long URLs; stay well below
DEADLINE = 600.0  # a run's requests end within ten minutes; what is left waits for the next
# enrich --upgrade and --counts: Hugging Face's window alone spreads 1,000 papers over ten
# minutes, and no CI build asks these APIs.
SCHOLARLY_DEADLINE = 3600.0
BREAKER = 5  # failed requests in a row after which a host is left alone for the run
MAX_WAIT = 15.0  # the longest Retry-After (seconds) honoured; a longer one fails at once


@dataclass(frozen=True, slots=True)
class Patience:
    """What every API client's config holds, and all the transport reads of it: who asks
    (the polite pool's mailto), how long to wait, how often to retry, how many requests at
    once (`patience_from_env` reads the environment's part)."""

    mailto: str = ""
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    retries: int = 4
    backoff: float = 0.5
    deadline: float = DEADLINE  # seconds for all of a run's requests
    request_deadline: float = 60.0  # seconds for one request, headers and body
    breaker: int = BREAKER  # failed requests in a row after which a host is left alone
    max_wait: float = MAX_WAIT  # the longest Retry-After honoured; a longer one fails at once
    workers: int = 3  # requests in flight at once (each API's config sets its own)


@dataclass(frozen=True, slots=True)
class ClientConfig(Patience):
    """Where and how to ask Crossref and DataCite. Built from the environment by
    `config_from_env`."""

    crossref_url: str = DEFAULT_CROSSREF_URL
    datacite_url: str = DEFAULT_DATACITE_URL
    max_body: int = MAX_BODY
    max_url: int = MAX_URL


def config_from_env(mailto: str = "", environ: Mapping[str, str] = os.environ) -> ClientConfig:
    """SURVEYBIB_CROSSREF_URL, SURVEYBIB_DATACITE_URL, SURVEYBIB_MAILTO (over the configured
    mailto), SURVEYBIB_TIMEOUT (read timeout, seconds), SURVEYBIB_RETRIES."""
    return ClientConfig(
        crossref_url=base_url("SURVEYBIB_CROSSREF_URL", DEFAULT_CROSSREF_URL, environ),
        datacite_url=base_url("SURVEYBIB_DATACITE_URL", DEFAULT_DATACITE_URL, environ),
        mailto=(environ.get("SURVEYBIB_MAILTO") or mailto).strip(),
        **patience_from_env(environ),
    )


def patience_from_env(environ: Mapping[str, str], deadline: float = DEADLINE
                      ) -> dict[str, Any]:
    """The timeouts, retries and backoff every API client takes from SURVEYBIB_TIMEOUT
    (the read timeout, seconds; a request gets twice that in all) and SURVEYBIB_RETRIES,
    and the run's bounds: SURVEYBIB_DEADLINE (seconds for all its requests; `deadline`
    when unset) and SURVEYBIB_BREAKER (failed requests in a row that stop asking a host)."""
    timeout = max(0.05, env_number(environ.get("SURVEYBIB_TIMEOUT"), 30.0))
    return {"connect_timeout": min(5.0, timeout), "read_timeout": timeout,
            "retries": max(0, int(env_number(environ.get("SURVEYBIB_RETRIES"), 4))),
            "backoff": min(0.5, timeout / 4),
            "deadline": max(0.0, env_number(environ.get("SURVEYBIB_DEADLINE"), deadline)),
            "request_deadline": 2 * timeout,
            "breaker": max(1, int(env_number(environ.get("SURVEYBIB_BREAKER"), BREAKER))),
            "max_wait": min(MAX_WAIT, timeout)}


def env_number(value: str | None, default: float) -> float:
    """A number from an environment variable; the default when it is unset or not a number."""
    try:
        number = float(value[:30]) if value else default
    except ValueError:
        return default
    return number if number == number and abs(number) != float("inf") else default


def user_agent(mailto: str) -> str:
    """`surveybib/<version> (mailto:<address>)`: the tool, its version and a contact, as
    Crossref asks (no project URL is named: the tool has no published home yet)."""
    return f"surveybib/{__version__} (mailto:{mailto})" if mailto else f"surveybib/{__version__}"
