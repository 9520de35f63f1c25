"""Time-zone names: which ones are real, and each one's IANA and Windows spelling.

An order's ``timeZone`` may be written as an IANA name (``Europe/Warsaw``, the tz database's, as
``zoneinfo`` knows it) or as a Windows name (``Central European Standard Time``), which is what the
vendor's examples send. Windows names and their IANA zone come from CLDR's windowsZones mapping as the
``tzlocal`` package ships it (``tzlocal.windows_tz``, regenerated from CLDR at each release): no list
here is typed by hand. Names compare without regard to letter case; ``canonical`` gives the spelling.

``iana_expr`` gives the IANA zone a name stands for (what dates are converted with), ``sent_expr`` the
name to send under ``--time-zone-names iana|windows``. A name is *known* when it is either kind; an IANA
zone that CLDR gives no Windows name (``Antarctica/Troll``) cannot be sent as a Windows name.
"""

from __future__ import annotations

import zoneinfo
from functools import cache

import polars as pl
from tzlocal.windows_tz import tz_win, win_tz

UTC_NAMES = frozenset({"UTC", "Etc/UTC"})
_NOT_ZONES = frozenset({"Factory", "localtime", "posixrules"})  # files of the tz database that are no zone
_WINDOWS_OF_IANA_EXTRA = {"GMT": "UTC", "Etc/GMT": "UTC", "UTC": "UTC", "Etc/UTC": "UTC"}


@cache
def iana_names() -> frozenset[str]:
    """The IANA zone names the tz database holds (the system's, else the ``tzdata`` package's)."""
    return frozenset(zoneinfo.available_timezones() - _NOT_ZONES)


@cache
def _canonical() -> dict[str, str]:
    """Lower-case name -> its spelling: every IANA and every Windows name (Windows first: "UTC" is both)."""
    return {name.lower(): name for name in (*iana_names(), *win_tz)}


@cache
def _iana_of() -> dict[str, str]:
    """Canonical name -> the IANA zone it stands for (an IANA name stands for itself: "UTC" is "UTC")."""
    return {**{w: z for w, z in win_tz.items() if z in iana_names()}, **{name: name for name in iana_names()}}


@cache
def _windows_of() -> dict[str, str]:
    """Canonical name -> its Windows name (a Windows name is its own); IANA names without one are absent."""
    known = iana_names()
    return {**{z: w for z, w in tz_win.items() if z in known}, **_WINDOWS_OF_IANA_EXTRA, **{w: w for w in win_tz}}


def canonical_expr(expr: pl.Expr) -> pl.Expr:
    """The name in its own spelling (``europe/warsaw`` -> ``Europe/Warsaw``); null for a name that is no zone."""
    return expr.str.strip_chars().str.to_lowercase().replace_strict(_canonical(), default=None, return_dtype=pl.String)


def iana_expr(canonical: pl.Expr) -> pl.Expr:
    """The IANA zone of a canonical name (null for a name that is no zone)."""
    return canonical.replace_strict(_iana_of(), default=None, return_dtype=pl.String)


def sent_expr(canonical: pl.Expr, names: str) -> pl.Expr:
    """The name sent for a canonical name: its Windows name (null when CLDR gives it none) or its IANA one."""
    if names == "iana":
        return iana_expr(canonical)
    return canonical.replace_strict(_windows_of(), default=None, return_dtype=pl.String)


def is_utc(zone: str) -> bool:
    return zone in UTC_NAMES
