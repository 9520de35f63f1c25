"""A business unit's attribute and consent definitions: loaded from a settings file, enforced on bodies.

``ecdp-import sandbox --settings FILE.json`` declares what the platform's Settings pages would hold::

    {
      "customerAttributes": [{"name": "loyalty", "type": "Number"},
                             {"name": "tier", "type": "SingleSelect", "options": ["gold", "silver"]}],
      "customerConsents":   [{"id": 1, "name": "Newsletter", "type": "Email"}],
      "orderAttributes":    [{"name": "channel", "type": "String"}],
      "productAttributes":  [{"name": "color", "type": "String"}],
      "customEvents":       [{"id": 7, "name": "loyalty_purchase"}]
    }

A list left out defines nothing; a list given as ``null`` is not exposed at all (its GET answers 404, as
on platforms that do not serve /orderattributes or /productattributes). Attribute ids are optional
(numbered from 1 in file order); consent ids are required, as customers send them. Attribute types are
those of GET /customerattributes (String, Text, Number, Money, Date, DateTime, SingleSelect, Boolean,
Url); consent types General, Email, Sms; at most 10 order and 10 product attributes, as the platform
allows. ``customEvents`` are the custom events POST /scenariocustomevents may trigger (id required, a
whole number; name 1 to 256 characters); left out, none is defined; it cannot be ``null`` (no GET serves
it). Every problem of the file is listed.

Declared settings are enforced like the platform would, after the documented rules (``rules``) passed:
an attribute name that is not defined (names compare without regard to letter case), a value that does
not fit the attribute's type, and a consent id that is not defined are 400 errors ``data[i]...``.
This module is the sandbox's own second opinion: it shares no code with the importer's pre-flight.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from importer.sandbox.config import CustomEvent, Declared, SandboxConfig, Setting, Settings

ATTRIBUTE_TYPES = ("String", "Text", "Number", "Money", "Date", "DateTime", "SingleSelect", "Boolean", "Url")
CONSENT_TYPES = ("General", "Email", "Sms")
LISTS = {  # key in the file -> (SandboxConfig field, allowed types, at most)
    "customerAttributes": ("customer_attributes", ATTRIBUTE_TYPES, None),
    "customerConsents": ("consents", CONSENT_TYPES, None),
    "orderAttributes": ("order_attributes", ATTRIBUTE_TYPES, 10),
    "productAttributes": ("product_attributes", ATTRIBUTE_TYPES, 10),
}
CUSTOM_EVENTS = "customEvents"  # key in the file -> SandboxConfig.custom_events
KEYS = (*LISTS, CUSTOM_EVENTS)
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_MONEY = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})?")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")


class SettingsFileError(ValueError):
    """The settings file cannot be used; the message lists every problem."""


def load_settings(path: Path) -> dict[str, Declared]:
    """SandboxConfig fields (customer_attributes, consents, ...) from a settings file."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsFileError(f"Cannot read the settings file {path}: {exc.strerror or exc}.") from None
    except json.JSONDecodeError as exc:
        raise SettingsFileError(f"The settings file {path} is not JSON: {exc}.") from None
    return parse_settings(raw, str(path))


def parse_settings(raw: Any, source: str = "settings") -> dict[str, Declared]:
    """SandboxConfig fields from the parsed settings (None: a list not exposed); SettingsFileError listing
    every problem."""
    if not isinstance(raw, dict):
        raise SettingsFileError(f"{source}: must be a JSON object with the keys {', '.join(KEYS)}.")
    problems = [f"{key}: unknown key (use {', '.join(KEYS)})" for key in raw if key not in KEYS]
    fields: dict[str, Declared] = {"custom_events": _custom_events(raw.get(CUSTOM_EVENTS, []), problems)}
    for key, (name, types, most) in LISTS.items():
        entries = raw.get(key, [])
        if entries is None:
            fields[name] = None
            continue
        if not isinstance(entries, list):
            problems.append(f"{key}: must be a list (or null: not exposed)")
            continue
        if most is not None and len(entries) > most:
            problems.append(f"{key}: {len(entries)} defined; the platform allows at most {most}")
        settings = [
            _setting(entry, f"{key}[{i}]", i + 1, types, key == "customerConsents", problems)
            for i, entry in enumerate(entries)
        ]
        declared = fields[name] = tuple(s for s in settings if s is not None)
        names = [s.name.lower() for s in declared]
        twice = sorted({n for n in names if names.count(n) > 1})
        problems += [f"{key}: the name {n!r} is defined twice" for n in twice]
        ids = [s.id for s in declared]
        problems += [f"{key}: the id {i} is used twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
    if problems:
        raise SettingsFileError(f"{source}: " + "; ".join(problems) + ".")
    return fields


def _custom_events(entries: Any, problems: list[str]) -> tuple[CustomEvent, ...]:
    if not isinstance(entries, list):
        problems.append(f"{CUSTOM_EVENTS}: must be a list (there is no null: no GET serves custom events)")
        return ()
    events: list[CustomEvent] = []
    for i, entry in enumerate(entries):
        where = f"{CUSTOM_EVENTS}[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be an object with id and name")
            continue
        problems += [f"{where}.{k}: unknown key" for k in entry if k not in ("id", "name")]
        event_id, name = entry.get("id"), entry.get("name")
        if isinstance(event_id, bool) or not isinstance(event_id, int) or not -(2**31) <= event_id < 2**31:
            problems.append(f"{where}.id: required, a whole number (int32)")
            event_id = None
        if not isinstance(name, str) or not 1 <= len(name) <= 256:
            problems.append(f"{where}.name: must be a text of 1 to 256 characters")
            name = None
        if event_id is not None and name is not None:
            events.append(CustomEvent(event_id, name))
    ids = [event.id for event in events]
    problems += [f"{CUSTOM_EVENTS}: the id {i} is used twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
    return tuple(events)


def _setting(
    entry: Any, where: str, position: int, types: tuple[str, ...], needs_id: bool, problems: list[str]
) -> Setting | None:
    if not isinstance(entry, dict):
        problems.append(f"{where}: must be an object with name and type")
        return None
    unknown = [k for k in entry if k not in ("id", "name", "type", "options")]
    problems += [f"{where}.{k}: unknown key" for k in unknown]
    name, kind, given_id, options = entry.get("name"), entry.get("type"), entry.get("id"), entry.get("options")
    spelling = {t.lower(): t for t in types}
    ok = True
    if not isinstance(name, str) or not 1 <= len(name) <= 256:
        problems.append(f"{where}.name: must be a text of 1 to 256 characters")
        ok = False
    if not isinstance(kind, str) or kind.lower() not in spelling:
        problems.append(f"{where}.type: must be one of {', '.join(types)}")
        ok = False
    if given_id is None and needs_id:
        problems.append(f"{where}.id: required (customers send consents by id)")
        ok = False
    elif given_id is not None and (isinstance(given_id, bool) or not isinstance(given_id, int)):
        problems.append(f"{where}.id: must be a whole number")
        ok = False
    if options is not None and (
        not isinstance(kind, str)
        or kind.lower() != "singleselect"
        or not isinstance(options, list)
        or not all(isinstance(o, str) and o for o in options)
    ):
        problems.append(f"{where}.options: a SingleSelect's list of non-empty texts, and only for SingleSelect")
        ok = False
    if not ok or not isinstance(name, str) or not isinstance(kind, str):
        return None
    return Setting(
        given_id if given_id is not None else position,
        name,
        spelling[kind.lower()],
        tuple(options) if options else None,
    )


# -- enforcement ----------------------------------------------------------------------------------


def customers_errors(customers: list[Any], config: SandboxConfig) -> list[str]:
    """Errors of customers (already valid by `rules`) against the declared attributes and consents (a list
    not exposed checks nothing)."""
    consent_ids = None if config.consents is None else {c.id for c in config.consents}
    errors: list[str] = []
    for i, customer in enumerate(customers):
        errors += _attributes(
            customer.get("customAttributes"),
            f"data[{i}].customAttributes",
            config.customer_attributes,
            "Settings > Customer attributes",
        )
        consents = (customer.get("consentsData") or {}).get("consents") or []
        errors += [
            f"data[{i}].consentsData.consents[{j}].id: No consent with id {c['id']} is defined in this business "
            "unit (Settings > Consents)."
            for j, c in enumerate(consents)
            if consent_ids is not None and c["id"] not in consent_ids
        ]
    return errors


def orders_errors(orders: list[Any], config: SandboxConfig) -> list[str]:
    """Errors of orders (already valid by `rules`) against the declared order and product attributes."""
    errors: list[str] = []
    for i, order in enumerate(orders):
        errors += _attributes(
            order.get("orderAttributes"),
            f"data[{i}].orderAttributes",
            config.order_attributes,
            "Settings > Order attributes",
        )
        for j, product in enumerate(order.get("products") or []):
            errors += _attributes(
                product.get("productAttributes"),
                f"data[{i}].products[{j}].productAttributes",
                config.product_attributes,
                "Settings > Product attributes",
            )
    return errors


def _attributes(given: Any, path: str, defined: Settings, where: str) -> list[str]:
    if defined is None:
        return []
    by_name: Mapping[str, Setting] = {s.name.lower(): s for s in defined}
    errors: list[str] = []
    for j, attribute in enumerate(given or []):
        setting = by_name.get(attribute["name"].lower())
        if setting is None:
            errors.append(
                f"{path}[{j}].name: The attribute {attribute['name']!r} is not defined in this business unit ({where})."
            )
        elif attribute.get("value") is not None:
            errors += [f"{path}[{j}].value: {message}" for message in _value_errors(attribute["value"], setting)]
    return errors


def _value_errors(value: str, setting: Setting) -> Iterator[str]:
    if not _fits(value, setting):
        listed = setting.type == "SingleSelect" and setting.options
        allowed = f" (one of: {', '.join(setting.options or ())})" if listed else ""
        yield f"The value {value!r} is not valid for the {setting.type} attribute {setting.name!r}{allowed}."


def _fits(value: str, setting: Setting) -> bool:
    kind = setting.type
    if kind == "Number":
        return bool(_NUMBER.fullmatch(value)) and math.isfinite(float(value))
    if kind == "Money":
        return bool(_MONEY.fullmatch(value))
    if kind == "Date":
        return bool(_DATE.fullmatch(value)) and _parses(date.fromisoformat, value)
    if kind == "DateTime":
        return bool(_DATE_TIME.fullmatch(value)) and _parses(datetime.fromisoformat, value)
    if kind == "Boolean":
        return value.lower() in ("true", "false")
    if kind == "Url":
        if "://" not in value or any(c.isspace() for c in value):
            return False
        parts = urlsplit(value)
        return bool(_SCHEME.fullmatch(parts.scheme)) and bool(parts.netloc)
    if kind == "SingleSelect" and setting.options:
        return value in setting.options
    return True


def _parses(parse: Any, value: str) -> bool:
    try:
        parse(value)
    except ValueError:
        return False
    return True
