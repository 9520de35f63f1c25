"""Run settings as frozen dataclasses, and the one place the API key is read.

The API key is a secret: it comes from the environment (``ECDP_API_KEY``) or from a file, never from a
command-line value. ``ApiKey`` keeps it out of ``repr``/``str`` so it cannot leak into logs, reports,
tracebacks or exception messages by accident; only the HTTP layer calls ``reveal()``. An ``http://``
API URL is refused unless it points at this machine (or ``--allow-insecure-http`` is given), so the key
never crosses a network unencrypted by mistake; TLS certificates are always verified (httpx's default,
which no option turns off).
"""

from __future__ import annotations

import ipaddress
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from importer.budget import DEFAULT_BUDGET, Budget
from importer.errors import UsageError

if TYPE_CHECKING:
    pass

DEFAULT_API_URL = "https://api.ecdp.app"
API_URL_ENV = "ECDP_API_URL"
API_KEY_ENV = "ECDP_API_KEY"
STATE_ENV = "ECDP_STATE"


def default_state() -> Path:
    """The run journal: ``$ECDP_STATE``, else ``.ecdp-import/state.db`` in the working directory."""
    return Path(os.environ.get(STATE_ENV) or Path(".ecdp-import") / "state.db")

CUSTOMER_MODES = ("Add", "Update", "AddOrUpdate")
MATCH_BY_FIELDS = {
    "Email": "email",
    "PhoneNumber": "phone",
    "CrmId": "crmId",
    "VisitorId": "visitorId",
    "GUID": None,  # the API documents no customer field that carries a GUID: refused with a reason
}
ORDER_MODES = ("Add", "AddOrReplace", "Replace")
#: --customer-match of orders: the business unit's customer identifier -> the order line's column
CUSTOMER_MATCH_FIELDS = {"Email": "customer.email", "PhoneNumber": "customer.phone", "CrmId": "customer.crmId"}


class ApiKey:
    """A secret string that never shows itself in ``repr``, ``str`` or f-strings."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "ApiKey('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiKey) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def load_api_key(
    key_file: Path | None, environ: dict[str, str] | None = None, warn: Callable[[str], None] | None = None
) -> ApiKey:
    """Return the key from ``key_file`` if given, else from ``ECDP_API_KEY``; raise UsageError if absent."""
    env = os.environ if environ is None else environ
    if key_file is not None:
        try:
            value = key_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(
                f"Cannot read the API key file {key_file}: {exc.strerror or exc}.",
                "Check the path given to --api-key-file.",
            ) from None
        if not value:
            raise UsageError(f"The API key file {key_file} is empty.", "Put the key on its first line.")
        if warn is not None and key_file.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            # Readable by others is a risk worth mentioning, not a reason to refuse the run.
            warn(f"the API key file {key_file} can be read by other users; run 'chmod 600 {key_file}'.")
        return ApiKey(value)
    value = env.get(API_KEY_ENV, "").strip()
    if not value:
        raise UsageError(
            "No API key: set ECDP_API_KEY or pass --api-key-file PATH.",
            "Use --dry-run to check a file without a key, or --sandbox to try the built-in sandbox.",
        )
    return ApiKey(value)


def public_url(url: str) -> str:
    """The URL without credentials, query or fragment: safe to print and to write to reports."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1: traffic that never leaves the machine."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_api_url(url: str, allow_insecure_http: bool = False) -> str:
    """The URL to send to, without a trailing slash; UsageError when it is not http(s), or when it is
    plain http to another machine (the key and the customers' data would cross the network unencrypted)
    and ``allow_insecure_http`` was not given."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"The API URL {public_url(url)!r} is not an http(s) URL.",
            f"Pass --api-url https://api.ecdp.app or set {API_URL_ENV}.",
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname) and not allow_insecure_http:
        raise UsageError(
            f"The API URL {public_url(url)!r} is plain http to another machine: the API key and the "
            "customers' data would cross the network unencrypted.",
            "Use https://, or pass --allow-insecure-http if this network is trusted (e.g. a test proxy).",
        )
    return url.rstrip("/")


@dataclass(frozen=True)
class ApiSettings:
    """Where and how to talk to the API."""

    url: str = DEFAULT_API_URL
    key: ApiKey | None = None
    timeout_s: float = 60.0
    concurrency: int = 4
    rate: float | None = None  # requests per second at most; None: as fast as the API allows
    max_retries: int = 8  # per request, for 5xx, network errors and timeouts
    max_throttles: int = 50  # per request, for 429 answers (each honours Retry-After)
    backoff_base_s: float = 0.5  # first retry waits up to this; doubles per retry, capped at 30 s


@dataclass(frozen=True)
class CustomerOptions:
    """What a customers import sends and how it treats rows."""

    mode: str = "AddOrUpdate"
    match_by: str = "Email"
    allow_confirmation_emails: bool = False

    @property
    def match_field(self) -> str:
        field_name = MATCH_BY_FIELDS[self.match_by]
        if field_name is None:
            raise UsageError(
                "--match-by GUID is not supported: the API documents no customer field that carries a GUID.",
                "Match by Email, PhoneNumber, CrmId or VisitorId, as set in Settings > Customers.",
            )
        return field_name


CONFLICT_POLICIES = ("first", "last", "reject")
TIME_ZONE_NAMES = ("windows", "iana")


@dataclass(frozen=True)
class OrderOptions:
    """What an orders import sends."""

    mode: str = "AddOrReplace"
    customer_match: str = "Email"
    #: order-level field -> which line's value to take when the lines of an order disagree: "first" or
    #: "last" (input order); a field not named is "reject": the order is rejected naming the values
    conflicts: Mapping[str, str] = field(default_factory=dict)
    #: how ``timeZone`` is sent: "windows" (``Central European Standard Time``, as the vendor's examples)
    #: or "iana" (``Europe/Warsaw``), whichever the input gives (importer.records.order_dates)
    time_zone_names: str = "windows"

    def __post_init__(self) -> None:
        wrong = {f: p for f, p in self.conflicts.items() if p not in CONFLICT_POLICIES}
        if wrong:
            raise ValueError(f"conflicts: {wrong} (use one of {', '.join(CONFLICT_POLICIES)})")
        if self.time_zone_names not in TIME_ZONE_NAMES:
            raise ValueError(f"time_zone_names: {self.time_zone_names!r} (use one of {', '.join(TIME_ZONE_NAMES)})")

    @property
    def customer_field(self) -> str:
        """The order's column of the customer identifier the business unit matches by."""
        return CUSTOMER_MATCH_FIELDS[self.customer_match]


@dataclass(frozen=True)
class RunOptions:
    """Options common to every command. The defaults suit a library call (an Airflow task, a notebook):
    no progress bar, events to the ``ecdp_importer`` logger, Ctrl-C left to the caller; the CLI asks for
    the terminal's (a progress bar, events on stderr, Ctrl-C once to finish in flight, twice to abandon)."""

    chunk_size: int = 100
    dry_run: bool = False
    report_dir: Path | None = None
    progress: bool = False  # a progress bar on stderr (only when it is a terminal)
    log_format: str = "logging"  # events to the ``ecdp_importer`` logger; "text" or "json" (lines) on stderr
    interrupts: bool = False  # handle Ctrl-C (SIGINT) during sending: only a program's main thread may
    report_html: bool = True  # write report.html beside summary.json and the CSV files
    state: Path = field(default_factory=default_state)  # the run journal (not used by dry runs)
    resume: bool = False  # continue the last unfinished run on the same inputs
    changed_only: bool = False  # send only records new or changed since last accepted
    mapping: Path | None = None  # a mapping file (docs/mapping.md) from the export's columns to ours
    preset: str | None = None  # a shipped mapping for a platform's standard export (importer/inputs/presets)
    encoding: str | None = None  # of CSV input; None: detected
    delimiter: str | None = None  # of CSV input; None: sniffed
    shard: str | None = None  # "K/N": only the records whose key falls in share K of N (importer.partitions.hashed)
    partitions: int | None = None  # hash partitions of the input; None: one per 8 MB of input (16 MB above 1 GB)
    preflight: bool = True  # check attribute names, consent ids and values against the platform's settings
    max_rejects: Budget = DEFAULT_BUDGET  # the error budget: more rows rejected before sending stops the run
    origin: dict[str, str] = field(default_factory=dict)  # config file, profile, key source: for the report
    full: bool = False  # a full load (--full): not judged against the series' median (importer.jobs.drift)
    min_records: int | None = None  # fewer valid records stop the run before sending (--min-records)
    max_drift: float | None = 0.5  # the valid records may differ from the median of the series' last 5 runs so much
    accept_drift: bool = False  # let this one run through the drift gate
    series: str | None = None  # a label in the run's series (--series): a new label starts a new drift history
    metrics_file: Path | None = None  # Prometheus text format, written atomically at the end (--metrics-file)
    notify_url: str | None = None  # the summary is POSTed here when the run ends with exit >= 1 (--notify-url)

    def __post_init__(self) -> None:
        """Paths given as text (as a library caller may) become ``Path`` objects."""
        for name in ("report_dir", "state", "mapping", "metrics_file"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, Path(value))
