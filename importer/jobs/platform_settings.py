"""The platform's settings lists as a job reads them: each list once, when the run first needs it.

A job asks for the lists a partition's columns need (``customers.settings_lists``,
``orders.settings_lists``) before the partition is prepared, and hands them to ``prepare`` as an
argument: the record stages never send a request. An input without ``consent.`` columns never asks for
the consents. The GETs go through the importer's one delivery engine (retries, backoff, ``Retry-After``,
401/403 abort): ``importer.delivery.single.get_many``.

``PlatformSettings.unavailable`` stands for settings that cannot be read (a dry run without a key):
asked for a list, it warns once that the checks were skipped and answers None, so nothing is checked.
A list the platform answers 404 for is one it does not expose (some do not serve /orderattributes or
/productattributes): one warning says which checks are skipped, the list is None, the run goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from importer.delivery.single import GetFailed, get_many
from importer.errors import ApiAbort, SettingsUnreadable
from importer.records.definitions import CHECKS, Definition, Lists, parse_definitions
from importer.settings import ApiSettings, RunOptions, public_url, url_hint

Warn = Callable[[str], None]
Load = Callable[[str], tuple[Definition, ...] | None]  # None: the platform does not expose the list


def _quiet(message: str) -> None:
    """Warnings of settings built from known lists go nowhere unless a sink is given."""


class PlatformSettings:
    """The settings lists of one business unit, each read once, when first needed.

    ``load`` reads one list by its path; callers that already hold definitions pass them as ``known``
    (path → definitions) and no request is made for those.
    """

    def __init__(
        self,
        load: Load | None,
        warn: Warn = _quiet,
        known: dict[str, tuple[Definition, ...] | None] | None = None,
        unavailable_reason: str | None = None,
    ) -> None:
        self.load = load
        self.warn = warn
        self.known: dict[str, tuple[Definition, ...] | None] = dict(known or {})
        self.unavailable_reason = unavailable_reason
        self._warned = False

    @classmethod
    def of(cls, lists: dict[str, tuple[Definition, ...] | None], warn: Warn = _quiet) -> PlatformSettings:
        """Settings already known (no request is ever made)."""
        return cls(load=None, warn=warn, known=lists)

    @classmethod
    def unavailable(cls, reason: str, warn: Warn) -> PlatformSettings:
        """Settings that cannot be read: the checks are skipped, with one warning when first needed."""
        return cls(load=None, warn=warn, unavailable_reason=reason)

    def lists(self, paths: Sequence[str]) -> Lists | None:
        """The lists at ``paths`` (each read on first use); None when settings are unavailable. No path asks
        for nothing (and warns of nothing)."""
        if not paths:
            return {}
        if self.unavailable_reason is not None:
            if not self._warned:
                self._warned = True
                self.warn(
                    f"{self.unavailable_reason}: attribute names, consent ids and attribute values were not "
                    "checked against the platform's settings."
                )
            return None
        for path in paths:
            if path not in self.known:
                self.known[path] = self.load(path) if self.load is not None else ()
        return {path: self.known[path] for path in paths}


def platform_for(api: ApiSettings, run: RunOptions, warn: Warn) -> PlatformSettings | None:
    """The settings a run checks against: None with --no-preflight; unavailable without a key (dry run)."""
    if not run.preflight:
        return None
    if api.key is None:
        return PlatformSettings.unavailable("Dry run without an API key", warn)
    return fetch(api, warn, run.log_format)


def fetch(api: ApiSettings, warn: Warn, log_format: str = "text") -> PlatformSettings:
    """Settings read from the API on first use, with the importer's retries and rate limiting; a list
    answered 404 is not exposed: one warning, and None."""

    def load(path: str) -> tuple[Definition, ...] | None:
        try:
            [body] = get_many(api, [path], log_format)
        except GetFailed as failed:
            if failed.status == 404:
                warn(
                    f"This platform does not expose {path} (HTTP 404): {CHECKS.get(path, 'its settings')} were not "
                    "checked against it."
                )
                return None
            if failed.key_refused:
                raise ApiAbort(
                    f"The API rejected the key while reading the platform's settings (GET {path}: {failed.reason}).",
                    "Check ECDP_API_KEY or --api-key-file.",
                ) from None
            raise SettingsUnreadable(
                f"Could not read the platform's settings from {public_url(api.url)}: GET {path} failed "
                f"({failed.reason}).",
                f"{url_hint(api.url)}; or try again later, or pass --no-preflight to import without the platform "
                "checks.",
            ) from None
        return parse_definitions(path, body)

    return PlatformSettings(load=load, warn=warn)


def lists_reader(platform: PlatformSettings | None) -> Callable[[Sequence[str]], Lists | None]:
    """``platform.lists``, or a reader that gives None (no checks) when the run has no platform settings."""
    return platform.lists if platform is not None else (lambda _paths: None)
