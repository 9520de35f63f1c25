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
from typing import TYPE_CHECKING, ClassVar
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
    """The URL without credentials, query or fragment: safe to print and to write to reports (the one rule
    for every URL the importer shows: the API's, an input's, a webhook's)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address keeps its brackets
        host = f"[{host}]"
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def url_hint(url: str) -> str:
    """Which API URL was tried (without credentials) and how to set another, for a hint when it could not
    be reached: the default one is named as such, so a user who never set one learns the setting's name."""
    shown = public_url(url)
    if shown == DEFAULT_API_URL:
        return f"{shown} is the default API URL: set {API_URL_ENV} (or pass --api-url) to your platform's address"
    return f"Check the API URL {shown} ({API_URL_ENV} or --api-url)"


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1: traffic that never leaves the machine."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refuse_secrets(url: str) -> None:
    """UsageError when the API URL carries credentials (``user:pw@``) or a query string or fragment."""
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        raise UsageError(
            f"The API URL {public_url(url)!r} carries credentials (user:password@): they would be shown and sent "
            "to every address it leads to.",
            f"Give the URL without them and the key in {API_KEY_ENV} or --api-key-file.",
        )
    if parts.query or parts.fragment or url.rstrip("/").endswith(("?", "#")):
        raise UsageError(
            f"The API URL {public_url(url)!r} has a query string or a fragment (?... or #...): every request "
            "would go to the wrong address, and a key in it would be shown.",
            f"Give only the API's address (e.g. {DEFAULT_API_URL}) and the key in {API_KEY_ENV} or --api-key-file.",
        )


def check_api_url(url: str, allow_insecure_http: bool = False) -> str:
    """The URL to send to, without a trailing slash; UsageError when it is not http(s), when it carries
    credentials (``user:pw@``: the key belongs in ``ECDP_API_KEY``) or a query string or fragment (requests
    would go astray, and a secret in it would be shown), or when it is plain http to another machine (the
    key and the customers' data would cross the network unencrypted) and ``allow_insecure_http`` was not
    given. Every message names the URL as ``public_url`` shows it: no credentials, no query."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"The API URL {public_url(url)!r} is not an http(s) URL.",
            f"Pass --api-url https://api.ecdp.app or set {API_URL_ENV}.",
        )
    refuse_secrets(url)
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
    max_retry_after_s: float = 300.0  # a longer Retry-After stops the run (exit 3) instead of being waited
    max_throttle_wait_s: float = 1800.0  # the run's waits after 429s, in wall time; past it the run stops
    backoff_base_s: float = 0.5  # first retry waits up to this; doubles per retry, capped at 30 s

    def __post_init__(self) -> None:
        """A library caller's URL gets the same refusal of credentials and queries as the command line's."""
        refuse_secrets(self.url)


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
class EventOptions:
    """What a custom events import sends: the event (``event_id`` for every row, else each row's
    ``event_id_column``), the declared types of its data fields, and whether events whose earlier sending
    is uncertain are sent again on ``--resume``."""

    event_id: int | None = None
    event_id_column: str = "customEventId"
    field_types: Mapping[str, str] = field(default_factory=dict)  # data field -> its type (schemas.events)
    resend_uncertain: bool = False

    def __post_init__(self) -> None:
        if self.event_id is not None and not -(2**31) <= self.event_id < 2**31:
            raise ValueError(f"event_id: {self.event_id} is not a 32-bit integer")


_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1 << 10,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1 << 20,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1 << 30,
    "t": 1000**4,
    "tb": 1000**4,
    "tib": 1 << 40,
}


def parse_size(text: str | int) -> int:
    """``"64MiB"``, ``"20GB"``, ``"1500"`` (bytes) as a number of bytes; ValueError for anything else."""
    if isinstance(text, int):
        return text
    value = text.strip().lower().replace(" ", "").replace("_", "")
    number = value.rstrip("kmgtib")
    unit = value[len(number) :]
    if unit not in _SIZE_UNITS or not number:
        raise ValueError(f"{text!r} is not a size such as 64MiB, 20GB or 1500 (bytes)")
    try:
        size = int(float(number) * _SIZE_UNITS[unit])
    except ValueError:
        raise ValueError(f"{text!r} is not a size such as 64MiB, 20GB or 1500 (bytes)") from None
    if size < 1:
        raise ValueError(f"{text!r} is not a positive size")
    return size


def format_size(size: int) -> str:
    """Bytes as the largest binary unit they fill (``64 MiB``, ``1.5 GiB``, ``900 bytes``)."""
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift:
            return f"{size / (1 << shift):.3g} {unit}"
    return f"{size} bytes"


@dataclass(frozen=True)
class ReadLimits:
    """How much one input file may hold; reading stops (``InputError``, exit 2, nothing sent) at the first
    limit crossed, so a hostile or broken file costs bounded memory and time. SECURITY.md lists them with
    the reasons for their defaults; each has a command-line option (``OPTIONS``)."""

    line_bytes: int = 64 << 20  # a line of CSV text (a record; a quoted cell's line breaks do not end it)
    cell_bytes: int = 16 << 20  # one cell of CSV text
    columns: int = 16_384  # the columns of a file (its header), and the fields of any one line (a spreadsheet's most)
    decompressed_bytes: int = 20 << 30  # what a .gz file or a zip's CSV member decompresses to
    compression_ratio: float = 200.0  # decompressed : compressed, judged once RATIO_FROM bytes are decompressed
    zip_entries: int = 1_000  # the entries of a zip file (read from its end before any is listed)
    zip_bytes: int = 20 << 30  # the sizes a zip's entries declare, together

    OPTIONS: ClassVar[dict[str, str]] = {  # the command line's option of each limit
        "line_bytes": "--max-line-size",
        "cell_bytes": "--max-cell-size",
        "columns": "--max-columns",
        "decompressed_bytes": "--max-decompressed-size",
        "compression_ratio": "--max-compression-ratio",
        "zip_entries": "--max-zip-entries",
        "zip_bytes": "--max-zip-size",
    }
    RATIO_FROM: ClassVar[int] = 16 << 20  # the ratio is judged past this much decompressed text (a small file may
    # be dense: a template of empty columns, one row)

    def __post_init__(self) -> None:
        for name in self.OPTIONS:
            value = getattr(self, name)
            if isinstance(value, str):  # as a library caller or a config file may write it ("64MiB")
                object.__setattr__(self, name, parse_size(value) if name.endswith("bytes") else float(value))
            if not getattr(self, name) > 0:
                raise ValueError(f"ReadLimits.{name}: {value!r} (use a positive number)")

    def shown(self, name: str) -> str:
        """A limit as a message gives it: ``64 MiB``, ``10000``, ``200:1``."""
        value = getattr(self, name)
        if name.endswith("bytes"):
            return format_size(int(value))
        return f"{value:g}:1" if name == "compression_ratio" else str(value)


DEFAULT_LIMITS = ReadLimits()


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
    interrupts: bool = False  # handle Ctrl-C (SIGINT) and SIGTERM during sending: only a program's main thread may
    report_html: bool = True  # write report.html beside summary.json and the CSV files
    state: Path = field(default_factory=default_state)  # the run journal (not used by dry runs)
    resume: bool = False  # continue the last unfinished run on the same inputs
    changed_only: bool = False  # send only records new or changed since last accepted
    mapping: Path | None = None  # a mapping file (docs/mapping.md) from the export's columns to ours
    preset: str | None = None  # a shipped mapping for a platform's standard export (importer/inputs/presets)
    encoding: str | None = None  # of CSV input; None: detected
    delimiter: str | None = None  # of CSV input; None: sniffed
    limits: ReadLimits = DEFAULT_LIMITS  # how much an input file may hold (SECURITY.md): crossing one stops the run
    shard: str | None = None  # "K/N": only the records whose key falls in share K of N (importer.partitions.hashed)
    partitions: int | None = None  # hash partitions of the input; None: one per 8 MB of input (16 MB above 1 GB)
    preflight: bool = True  # check attribute names, consent ids and values against the platform's settings
    max_rejects: Budget = DEFAULT_BUDGET  # the error budget: more rows rejected before sending stops the run
    origin: dict[str, str] = field(default_factory=dict)  # config file, profile, key source: for the report
    full: bool = False  # a full load (--full): not judged against the series' median (importer.jobs.drift); with
    # since_column, every row read and the watermark started again
    since_column: str | None = None  # incremental: only rows whose cursor is after the job's watermark (--since-column)
    since_overlap: str | None = None  # the rows before the watermark read again: a duration (10m) or a number
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
