"""The platform's settings as the pre-flight checks need them: attribute and consent definitions.

``GET /customerattributes``, ``/customerconsents``, ``/orderattributes`` and ``/productattributes`` answer
``{"status": 0, "data": [{"id", "name", "type"}, ...]}``. ``PlatformSettings`` reads each list the first
time a run needs it (an input without ``consent.`` columns never asks for the consents) and keeps it for
the rest of the run. The GETs go through the importer's one delivery machinery (retries, backoff,
``Retry-After``, 401/403 abort): see ``importer.delivery.single.get_many``.

A definition may carry ``options`` (a SingleSelect's allowed values) when the platform lists them: a
list of strings, or of objects with a ``value`` or ``name``. Anything else in an entry is ignored.

``PlatformSettings.unavailable`` stands for settings that cannot be read (a dry run without a key): asked
for a list, it warns once that the checks were skipped and answers None.

This module does not check rows (see ``importer.records.preflight``) and does not print.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from importer.errors import ApiAbort, ImporterError

if TYPE_CHECKING:
    from importer.settings import ApiSettings

CUSTOMER_ATTRIBUTES, CONSENTS = "/customerattributes", "/customerconsents"
ORDER_ATTRIBUTES, PRODUCT_ATTRIBUTES = "/orderattributes", "/productattributes"
#: Where in the platform's UI each list is kept, for hints.
WHERE = {
    CUSTOMER_ATTRIBUTES: "Settings > Customer attributes",
    CONSENTS: "Settings > Consents",
    ORDER_ATTRIBUTES: "Settings > Order attributes",
    PRODUCT_ATTRIBUTES: "Settings > Product attributes",
}

Warn = Callable[[str], None]


@dataclass(frozen=True)
class Definition:
    """One attribute or consent as the platform defines it."""

    id: int | None
    name: str
    type: str
    options: tuple[str, ...] | None = None  # a SingleSelect's values, when the platform lists them


class SettingsUnreadable(ImporterError):
    """A settings list could not be read, or is not what the API documents (exit 2)."""


def parse_definitions(path: str, body: Any) -> tuple[Definition, ...]:
    """The definitions in a settings answer; SettingsUnreadable when it is not the documented shape."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or not all(isinstance(e, dict) and isinstance(e.get("name"), str) for e in data):
        raise SettingsUnreadable(
            f"GET {path} did not answer with a list of definitions ({{\"data\": [{{\"id\", \"name\", \"type\"}}]}}).",
            "Check --api-url; pass --no-preflight to import without the platform checks.",
        )
    return tuple(
        Definition(
            id=entry["id"] if isinstance(entry.get("id"), int) else None,
            name=entry["name"],
            type=str(entry.get("type") or ""),
            options=_options(entry.get("options")),
        )
        for entry in data
    )


def _options(raw: Any) -> tuple[str, ...] | None:
    if not isinstance(raw, list) or not raw:
        return None
    values = [o if isinstance(o, str) else o.get("value", o.get("name")) if isinstance(o, dict) else None for o in raw]
    return tuple(str(v) for v in values if v is not None) or None


@dataclass
class PlatformSettings:
    """The settings lists of one business unit, each read once, when first needed.

    ``load`` reads one list by its path; tests and callers that already hold definitions pass them as
    ``known`` (path → definitions) and no request is made for those.
    """

    load: Callable[[str], tuple[Definition, ...]] | None
    warn: Warn
    known: dict[str, tuple[Definition, ...]] = field(default_factory=dict)
    unavailable_reason: str | None = None
    _warned: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)  # partitions are
    # prepared in two threads at once: the first to need a list reads it, the other waits for it

    @classmethod
    def of(cls, lists: dict[str, tuple[Definition, ...]], warn: Warn | None = None) -> PlatformSettings:
        """Settings already known (no request is ever made)."""
        return cls(load=None, warn=warn or _quiet, known=dict(lists))

    @classmethod
    def unavailable(cls, reason: str, warn: Warn) -> PlatformSettings:
        """Settings that cannot be read: the checks are skipped, with one warning when first needed."""
        return cls(load=None, warn=warn, unavailable_reason=reason)

    def definitions(self, path: str) -> tuple[Definition, ...] | None:
        """The list at ``path`` (read on first use), or None when settings are unavailable."""
        with self._lock:
            return self._definitions(path)

    def _definitions(self, path: str) -> tuple[Definition, ...] | None:
        if self.unavailable_reason is not None:
            if not self._warned:
                self._warned = True
                self.warn(f"{self.unavailable_reason}: attribute names, consent ids and attribute values were not "
                          "checked against the platform's settings.")
            return None
        if path not in self.known:
            if self.load is None:
                return ()
            self.known[path] = self.load(path)
        return self.known[path]


def _quiet(message: str) -> None:
    """Warnings of settings built from known lists go nowhere unless a sink is given."""


def fetch(api: ApiSettings, warn: Warn, log_format: str = "text") -> PlatformSettings:
    """Settings read from the API on first use, with the importer's retries and rate limiting."""
    from importer.delivery.single import (  # the delivery machinery imports settings types
        GetFailed,
        get_many,
    )

    def load(path: str) -> tuple[Definition, ...]:
        try:
            [body] = get_many(api, [path], log_format)
        except GetFailed as failed:
            if failed.key_refused:
                raise ApiAbort(f"The API rejected the key while reading the platform's settings (GET {path}: "
                               f"{failed.reason}).", "Check ECDP_API_KEY or --api-key-file.") from None
            raise SettingsUnreadable(
                f"Could not read the platform's settings: GET {path} failed ({failed.reason}).",
                "Try again later, or pass --no-preflight to import without the platform checks.",
            ) from None
        return parse_definitions(path, body)

    return PlatformSettings(load=load, warn=warn)
