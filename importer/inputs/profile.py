"""Look at an input file before importing it: format, encoding, delimiter, and what each column holds.

:func:`inspect_file` reads the file as an import would (:func:`importer.inputs.files.read_source`) and profiles
each column: its inferred type (from the strings, as polars casts and parses them: the first type that
≥ 95% of a sample of up to 10,000 non-null values fit), its share of nulls and a few sample values.
:func:`render_inspection` shows that as a text table; :func:`suggest_mapping` turns it into a TOML
mapping skeleton (docs/mapping.md) whose field lines are guesses from the column names.

This module reads and describes; it never changes an input file and sends nothing.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from importer.errors import UsageError
from importer.frame import FILE_COL, ROW_COL, UNREADABLE_COL
from importer.inputs.files import ReadOptions, read_source

TYPES = ("integer", "number", "boolean", "date", "datetime", "text")
SHARE = 0.95  # of non-null values that must fit a type
PROFILE_VALUES = 10_000  # non-null values per column a type is inferred from
SAMPLES, SAMPLE_CHARS = 3, 40

_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y", "%d/%m/%Y", "%Y/%m/%d", "%d-%m-%Y", "%Y.%m.%d")
_DATETIME_FORMATS = (  # of formats that fit equally well, the first is suggested: plain strptime ones first
    "%Y-%m-%dT%H:%M:%S%.fZ",
    "%Y-%m-%dT%H:%M:%S%.f%#z",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%d %H:%M:%S%.f%#z",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M %p",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
)
# Forms the importer reads without a format (importer.records.normalise.instant).
_ISO = {
    "%Y-%m-%d",
    "%Y-%m-%dT%H:%M:%S%.fZ",
    "%Y-%m-%dT%H:%M:%S%.f%#z",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
}
_BOOLEANS = ("true", "false", "yes", "no", "t", "f", "y", "n", "tak", "nie", "ja", "nein")
_DECIMAL_COMMA = r"^[+-]?(\d{1,3}(\.\d{3})+|\d+),\d+$"
_THOUSANDS_DOT = r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$"


@dataclass(frozen=True)
class ColumnProfile:
    """One column: inferred type, share of null cells, a few distinct values, how to parse it."""

    name: str
    type: str
    null_share: float
    samples: tuple[str, ...]
    format: str | None = None  # strptime format of a date or datetime column
    decimal: str | None = None  # "," when numbers are written with a decimal comma
    thousands: str | None = None  # "." when such numbers group thousands with dots


@dataclass(frozen=True)
class Inspection:
    """What :func:`inspect_file` found."""

    path: Path
    format: str
    encoding: str | None
    delimiter: str | None
    rows: int
    unreadable_rows: int
    columns: tuple[ColumnProfile, ...]


def inspect_file(path: Path, options: ReadOptions = ReadOptions()) -> Inspection:
    """Read ``path`` (raises InputError as an import would) and profile its columns."""
    frame, info = read_source(path, options)
    unreadable = frame.get_column(UNREADABLE_COL).count() if UNREADABLE_COL in frame.columns else 0
    readable = frame.filter(pl.col(UNREADABLE_COL).is_null()) if unreadable else frame
    names = [c for c in frame.columns if c not in (UNREADABLE_COL, FILE_COL, ROW_COL)]
    return Inspection(
        path=path,
        format=info.format,
        encoding=info.encoding,
        delimiter=info.delimiter,
        rows=frame.height,
        unreadable_rows=unreadable,
        columns=tuple(profile(readable.get_column(name)) for name in names),
    )


def profile(column: pl.Series) -> ColumnProfile:
    """Type, null share and samples of one column of strings."""
    values = column.cast(pl.String).drop_nulls()
    shown = values.unique(maintain_order=True).head(SAMPLES).to_list()
    samples = tuple(v if len(v) <= SAMPLE_CHARS else v[: SAMPLE_CHARS - 1] + "…" for v in shown)
    null_share = column.null_count() / len(column) if len(column) else 0.0
    kind, details = _infer(values.str.strip_chars().head(PROFILE_VALUES))
    return ColumnProfile(column.name, kind, round(null_share, 4), samples, **details)


def _infer(values: pl.Series) -> tuple[str, dict[str, str]]:
    """The first of TYPES that ≥ SHARE of ``values`` fit, and how to parse them."""
    if values.is_empty():
        return "text", {}

    def share(fits: pl.Series) -> float:
        return float(fits.fill_null(False).sum()) / len(values)

    phone_like = values.str.contains(r"^(\+|-?0\d)")  # "+48…", "0048…", "007": identifiers, not numbers
    whole = values.cast(pl.Int64, strict=False).is_not_null() & ~phone_like
    numbers = values.cast(pl.Float64, strict=False)
    dotted = numbers.is_not_null() & ~phone_like
    # The values that do not fit are tolerated as noise (a "n/a"), but a number with a fraction is not: a
    # column of prices that are mostly whole (25, 120, and one 19.9: a spreadsheet writes 25.00 as 25)
    # is a number column, which an integer field would refuse.
    if share(whole) >= SHARE and not (dotted & numbers.is_finite() & ~whole).any():
        return "integer", {}
    if share(dotted) >= SHARE:
        return "number", {}
    comma = values.str.contains(_DECIMAL_COMMA)
    if comma.any() and share(dotted | comma) >= SHARE:
        thousands = {"thousands": "."} if values.str.contains(_THOUSANDS_DOT).any() else {}
        return "number", {"decimal": ",", **thousands}
    if share(values.str.to_lowercase().is_in(_BOOLEANS)) >= SHARE:
        return "boolean", {}
    for kind, formats in (("date", _DATE_FORMATS), ("datetime", _DATETIME_FORMATS)):
        fits = {fmt: share(_parse(values, kind, fmt).is_not_null()) for fmt in formats}
        best = max(formats, key=lambda fmt: fits[fmt])  # the first of equals: ISO, then day-first dots, then US
        if fits[best] >= SHARE:
            return kind, {"format": best}
    return "text", {}


def _parse(values: pl.Series, kind: str, fmt: str) -> pl.Series:
    if kind == "date":
        return values.str.to_date(fmt, strict=False)
    zone = "UTC" if "z" in fmt.lower() else None
    return values.str.to_datetime(fmt, strict=False, time_unit="us", time_zone=zone)


def render_inspection(ins: Inspection) -> str:
    """A readable summary: one line about the file, then a table of its columns."""
    facts = [f"format {ins.format}"]
    if ins.encoding:
        facts.append(f"encoding {ins.encoding}")
    if ins.delimiter:
        facts.append(f"delimiter {_delimiter_name(ins.delimiter)}")
    facts.append(f"{ins.rows:,} rows" + (f" ({ins.unreadable_rows:,} unreadable)" if ins.unreadable_rows else ""))
    table = [("column", "type", "nulls", "samples")]
    for col in ins.columns:
        kind = col.type + (f" ({col.format})" if col.format else "") + (" (decimal comma)" if col.decimal else "")
        table.append((col.name, kind, f"{col.null_share:.0%}", " | ".join(col.samples)))
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    lines = [f"{ins.path}: " + ", ".join(facts), ""]
    for name, kind, nulls, samples in table:
        lines.append(f"  {name:<{widths[0]}}  {kind:<{widths[1]}}  {nulls:>{widths[2]}}  {samples}".rstrip())
    return "\n".join(lines) + "\n"


def _delimiter_name(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else f'"{delimiter}"'


# -- mapping suggestion --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    field: str
    names: tuple[str, ...]  # normalised column names that mean this field, strongest first
    parts: tuple[str, ...] = ()  # words that, inside a column name, hint at it
    value: str | None = None  # "date" or "number": conversions may be suggested


_EMAIL = ("email", "emailaddress", "mail", "customeremail", "contactemail", "buyeremail", "adresemail")
_PHONE = (
    "phone",
    "phonenumber",
    "telephone",
    "tel",
    "mobile",
    "mobilephone",
    "cellphone",
    "customerphone",
    "billingphone",
    "telefon",
    "numertelefonu",
)
_CRM = ("crmid", "customerid", "clientid", "customernumber", "externalid", "contactid", "idklienta")
TARGETS: dict[str, tuple[_Target, ...]] = {
    "customers": (
        _Target("email", _EMAIL, ("email", "mail")),
        _Target("phone", _PHONE, ("phone", "telefon", "mobile")),
        _Target("crmId", (*_CRM, "id"), ("customerid", "clientid", "crmid")),
        _Target("visitorId", ("visitorid", "cookieid", "anonymousid"), ("visitor",)),
        _Target(
            "firstName", ("firstname", "givenname", "forename", "first", "imie", "vorname", "prenom"), ("firstname",)
        ),
        _Target(
            "lastName",
            ("lastname", "surname", "familyname", "last", "nazwisko", "nachname", "nom"),
            ("lastname", "surname"),
        ),
        _Target(
            "dateOfBirth",
            ("dateofbirth", "birthdate", "birthday", "dob", "dataurodzenia", "geburtsdatum"),
            ("birth",),
            "date",
        ),
        _Target("gender", ("gender", "sex", "plec", "geschlecht", "sexe"), ("gender",)),
    ),
    "orders": (
        _Target(
            "id",
            (
                "orderid",
                "ordernumber",
                "orderno",
                "name",
                "id",
                "order",
                "ordername",
                "orderreference",
                "numerzamowienia",
            ),
            ("orderid", "ordernumber", "orderno"),
        ),
        _Target(
            "date",
            (
                "createdat",
                "orderdate",
                "date",
                "created",
                "orderedat",
                "placedat",
                "purchasedate",
                "datazamowienia",
                "placed",
                "orderplaced",
            ),
            ("orderdate", "createdat"),
            "date",
        ),
        _Target(
            "totalValue",
            (
                "total",
                "ordertotal",
                "totalvalue",
                "grandtotal",
                "totalprice",
                "totalamount",
                "amount",
                "ordervalue",
                "wartosc",
            ),
            ("total",),
            "number",
        ),
        _Target("currency", ("currency", "currencycode", "waluta", "wahrung"), ("currency",)),
        _Target("status", ("status", "financialstatus", "orderstatus", "paymentstatus"), ("status",)),
        _Target("timeZone", ("timezone", "tz"), ("timezone",)),
        _Target("websiteId", ("websiteid", "website", "storeid", "shopid", "store"), ("website",)),
        _Target(
            "returnsValue",
            ("returnsvalue", "returnvalue", "refundedamount", "refundamount", "refunds", "returns"),
            ("refund", "return"),
            "number",
        ),
        _Target("customer.email", (*_EMAIL, "billingemail"), ("email", "mail")),
        _Target("customer.phone", _PHONE, ("phone", "telefon", "mobile")),
        _Target("customer.crmId", (*_CRM, "userid"), ("customerid", "clientid", "crmid")),
        _Target(
            "product.id",
            ("sku", "lineitemsku", "productid", "itemid", "variantsku", "productsku", "productcode", "itemsku", "ean"),
            ("sku",),
        ),
        _Target(
            "product.name",
            ("lineitemname", "productname", "itemname", "product", "producttitle", "title", "nazwaproduktu"),
            ("productname", "itemname"),
        ),
        _Target(
            "product.price",
            ("lineitemprice", "price", "unitprice", "itemprice", "productprice", "cena"),
            ("price",),
            "number",
        ),
        _Target(
            "product.quantity",
            ("lineitemquantity", "quantity", "qty", "itemquantity", "ilosc", "menge"),
            ("quantity", "qty"),
            "number",
        ),
        _Target(
            "product.returned", ("returned", "returnedquantity", "refundedquantity", "lineitemreturned"), ("returned",)
        ),
        _Target("product.url", ("producturl", "url", "link", "productlink", "itemurl"), ("url",)),
        _Target("product.imageUrl", ("imageurl", "image", "imagesrc", "picture", "productimage"), ("image",)),
        _Target(
            "product.category", ("category", "productcategory", "producttype", "categories", "kategoria"), ("category",)
        ),
    ),
    "events": (
        _Target("customEventId", ("customeventid", "eventid", "event"), ("eventid",)),
        _Target("customerEmail", _EMAIL, ("email", "mail")),
        _Target("customerEmailMd5", ("emailmd5", "md5", "customeremailmd5"), ("md5",)),
        _Target("customerEmailSha256", ("emailsha256", "sha256", "customeremailsha256"), ("sha256",)),
        _Target("customerPhone", _PHONE, ("phone", "telefon", "mobile")),
        _Target("customerCrmId", _CRM, ("customerid", "clientid", "crmid")),
    ),
}


def suggest_mapping(ins: Inspection, kind: str) -> str:
    """A TOML mapping skeleton for ``kind`` ("customers" or "orders"), each field a guess to check."""
    if kind not in TARGETS:
        raise UsageError(f"Unknown kind {kind!r}.", "Use 'customers' or 'orders'.")
    targets = TARGETS[kind]
    chosen = match_columns(targets, ins.columns)
    by_name = {c.name: c for c in ins.columns}
    lines = [
        f"# Mapping for {ins.path.name}, suggested from its column names: check every line before use.",
        f"kind = {_str(kind)}",
        "",
        "[sources.main]",
        f"path = {_str(ins.path.name)}  # relative to this mapping file",
    ]
    if ins.encoding:
        lines.append(f"encoding = {_str(ins.encoding)}")
    if ins.delimiter:
        lines.append(f"delimiter = {_str(ins.delimiter)}")
    lines += ["", "[fields]"]
    for target in targets:
        column = chosen.get(target.field)
        if column is None:
            lines.append(f'# {_key(target.field)} = ""  # no column found')
            continue
        col = by_name[column]
        note = ", ".join(_str(s) for s in col.samples[:2])
        lines.append(f"{_key(target.field)} = {_field_value(target, col)}" + (f"  # e.g. {note}" if note else ""))
    rest = [c.name for c in ins.columns if c.name not in chosen.values()]
    if rest:
        lines += [
            "",
            "# Columns not mapped (send them as attributes, or list them in ignore):",
            "# " + ", ".join(_str(name) for name in rest),
        ]
    return "\n".join(lines) + "\n"


def match_columns(targets: tuple[_Target, ...], columns: tuple[ColumnProfile, ...]) -> dict[str, str]:
    """target field → column: the best-scoring pairs first, each column used once."""
    candidates = []
    for t_index, target in enumerate(targets):
        for c_index, col in enumerate(columns):
            score = _score(target, col)
            if score:
                candidates.append((-score, t_index, c_index, target.field, col.name))
    chosen: dict[str, str] = {}
    for _, _, _, field, name in sorted(candidates):
        if field not in chosen and name not in chosen.values():
            chosen[field] = name
    return chosen


def _score(target: _Target, col: ColumnProfile) -> int:
    name = normalise(col.name)
    if name in target.names:
        score = 100 - target.names.index(name)
    elif any(part in name for part in target.parts):
        score = 50
    elif target.value == "date" and col.type in ("date", "datetime"):
        return 20  # the only dates in the file are a fair guess, below any match by name
    else:
        return 0
    fits = (target.value == "date" and col.type in ("date", "datetime")) or (
        target.value == "number" and col.type in ("integer", "number")
    )
    return score + (10 if fits else 0)


def normalise(name: str) -> str:
    """``"E-mail"`` → ``"email"``, ``"Imię"`` → ``"imie"``: lower-case ASCII letters and digits only."""
    folded = unicodedata.normalize("NFKD", name.replace("ł", "l").replace("Ł", "L"))
    return "".join(c for c in folded.lower() if c.isascii() and c.isalnum())


def _field_value(target: _Target, col: ColumnProfile) -> str:
    options = []
    if target.value == "date" and col.format and col.format not in _ISO:
        options.append(f"format = {_str(col.format)}")
    if target.value == "number" and col.decimal:
        number = f"decimal = {_str(col.decimal)}" + (f", thousands = {_str(col.thousands)}" if col.thousands else "")
        options.append(f"number = {{ {number} }}")
    if not options:
        return _str(col.name)
    return "{ " + ", ".join([f"column = {_str(col.name)}", *options]) + " }"


def _str(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's; DEL must be escaped too)."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007F")


def _key(field: str) -> str:
    return field if field.replace("_", "").replace("-", "").isalnum() and field.isascii() else _str(field)
