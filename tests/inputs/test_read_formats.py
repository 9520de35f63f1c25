"""Reading inputs in the encodings, dialects and containers exports come in; unreadable lines as rows."""

from __future__ import annotations

import codecs
import csv
import gzip
import importlib.util
import io
import subprocess
import sys
import zipfile
from unittest import mock

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.errors import InputError
from importer.frame import UNREADABLE_COL
from importer.inputs import csv_text
from importer.inputs.csv_dialect import detect_encoding, plausibility, sniff_delimiter
from importer.inputs.files import ReadOptions, read_file, read_inputs, read_source
from tests.support import DATA

FORMATS = DATA / "formats"
_spec = importlib.util.spec_from_file_location("make_fixtures", FORMATS / "make_fixtures.py")
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)


def user_rows(frame: pl.DataFrame) -> list[tuple]:
    return frame.select([c for c in frame.columns if not c.startswith("_")]).rows()


# -- encodings, delimiters, containers ----------------------------------------------------------------

POLISH_ROWS = [
    ("lukasz.wisniewski@example.pl", "Łukasz", "Wiśniewski", "Łódź", "1234,50", "05.03.1985"),
    ("zofia@example.pl", "Zofia", "Żółć", "Gdańsk", "99,99", "17.11.1990"),
    ("grzegorz@example.pl", "Grzegorz", "Brzęczyszczykiewicz", "Chrząszczyżewoszyce", "0,00", "01.01.1970"),
    ("agnieszka@example.pl", "Agnieszka", "Kaźmierczak", "Kraków", "12,00", "30.06.2001"),
]
POLISH_HEADER = ["E-mail", "Imię", "Nazwisko", "Miasto", "Saldo", "Data urodzenia"]

CASES = [
    (
        "utf8_bom.csv",
        "csv",
        "utf-8-sig",
        ",",
        ["email", "firstName", "lastName", "city"],
        [("anna@example.com", "Anna", "Nowak", "Kraków"), ("zoe@example.com", "Zoë", "Brontë", "Ærøskøbing")],
    ),
    (
        "utf16le_bom.txt",
        "csv",
        "utf-16-le",
        "\t",
        ["email", "firstName", "lastName", "city"],
        [("lukasz@example.pl", "Łukasz", "Wiśniewski", "Łódź"), ("jorg@example.de", "Jörg", "Müller", "München")],
    ),
    ("cp1250_polish.csv", "csv", "cp1250", ";", POLISH_HEADER, POLISH_ROWS),
    (
        "cp1252_western.csv",
        "csv",
        "cp1252",
        ",",
        ["email", "firstName", "lastName", "city", "note"],
        [
            ("jorg.muller@example.de", "Jörg", "Müller", "München", "Straße 5"),
            ("francois@example.fr", "François", "Lefèvre", "Besançon", "Crème brûlée à la carte"),
            ("helene@example.fr", "Hélène", "Noël", "Orléans", "Château, 2ème étage"),
            ("zoe@example.com", "Zoë", "Øster", "Århus", "€ 12 – “quoted”"),
        ],
    ),
    (
        "semicolon_decimal_comma.csv",
        "csv",
        "utf-8",
        ";",
        ["order_id", "product", "price", "quantity"],
        [
            ("A-1", "Kawa ziarnista", "49,90", "2"),
            ("A-1", "Herbata", "12,5", "1"),
            ("A-2", "Czekolada", "1.299,00", "1"),
        ],
    ),
    (
        "tab.tsv",
        "csv",
        "utf-8",
        "\t",
        ["email", "firstName", "note"],
        [("a@example.com", "Anna", "likes, commas"), ("b@example.com", "Bob", "quoted\ttab")],
    ),
    (
        "pipe.csv",
        "csv",
        "utf-8",
        "|",
        ["email", "firstName", "city"],
        [("a@example.com", "Anna", "Kraków, Małopolska"), ("b@example.com", "Bob", "Pipe | inside")],
    ),
    ("polish.csv.gz", "csv.gz", "cp1250", ";", POLISH_HEADER, POLISH_ROWS),
    (
        "orders.zip",
        "zip",
        "utf-8",
        ",",
        ["order_id", "date", "totalValue"],
        [("Z-1", "2024-01-02", "10.00"), ("Z-2", "2024-01-03", "20.50")],
    ),
]


@pytest.mark.parametrize(("name", "kind", "encoding", "delimiter", "header", "rows"), CASES, ids=[c[0] for c in CASES])
def test_detects_encoding_and_delimiter_and_decodes_exactly(name, kind, encoding, delimiter, header, rows):
    frame, info = read_source(FORMATS / name)
    assert (info.format, info.encoding, info.delimiter) == (kind, encoding, delimiter)
    assert frame.columns == [*header, "_file", "_row"]
    assert user_rows(frame) == rows
    assert frame.get_column("_row").to_list() == list(range(2, len(rows) + 2))


def test_zip_member_is_reported():
    assert read_source(FORMATS / "orders.zip")[1].member == "export/orders.csv"


def test_explicit_options_override_detection():
    frame, info = read_source(FORMATS / "cp1250_polish.csv", ReadOptions(encoding="windows-1252"))
    assert (info.encoding, info.delimiter) == ("cp1252", ";")
    assert frame.columns[1] == "Imiê" and user_rows(frame)[0][1:4] == ("£ukasz", "Wiœniewski", "£ódŸ")
    frame, info = read_source(FORMATS / "utf8_bom.csv", ReadOptions(delimiter=";"))
    assert info.delimiter == ";" and frame.columns[0] == "email,firstName,lastName,city"
    assert read_source(FORMATS / "tab.tsv", ReadOptions(encoding="utf-8", delimiter="tab"))[1].delimiter == "\t"


@pytest.mark.parametrize("name", ["klingon", "rot13", ""], ids=["unknown", "not-a-text-codec", "empty"])
def test_unknown_encoding_is_an_input_error_listing_the_usual_ones(name):
    with pytest.raises(InputError, match="Unknown encoding") as caught:
        read_file(FORMATS / "tab.tsv", ReadOptions(encoding=name))
    assert "cp1250" in caught.value.hint and "utf-16" in caught.value.hint


def test_unusable_delimiter_is_an_input_error():
    with pytest.raises(InputError, match="Unusable delimiter"):
        read_file(FORMATS / "tab.tsv", ReadOptions(delimiter=";;"))


@pytest.mark.parametrize(
    ("encoding", "message"),
    [("utf-8", "is not UTF-8 text"), ("ascii", r"is not ascii text \(byte 10\)")],
    ids=["utf-8", "ascii"],
)
def test_text_that_does_not_decode_names_the_encoding(encoding, message):
    with pytest.raises(InputError, match=message) as caught:
        read_file(FORMATS / "cp1250_polish.csv", ReadOptions(encoding=encoding))
    assert "--encoding" in caught.value.hint


@pytest.mark.parametrize(
    ("text", "codec", "expected"),
    [
        ("imię,nazwisko\nŁukasz,Wiśniewski\nZofia,Żółć\n", "cp1250", "cp1250"),
        ("x\nGęba, Pięć\n", "cp1250", "cp1250"),
        ("x\nZażółć gęślą jaźń\n", "cp1250", "cp1250"),
        ("name\nAntonín Dvořák, Příbram, žluťoučký kůň úpěl ďábelské ódy\n" * 5, "cp1250", "cp1250"),
        ("name\nHélène Lefèvre\nFrançois Noël\nà la carte\n", "cp1252", "cp1252"),
        ("name\nJörg Müller\nStraße\n", "cp1252", "cp1252"),
        ("name\nSøren Kierkegaard\nÆrø\n", "cp1252", "cp1252"),
        ("name\nJörg\x81\n", "latin-1", "iso8859-1"),
        ("name\nИван Петров, Москва\nОльга Смирнова, Санкт-Петербург\n", "cp1251", "cp1251"),
        ("name\nŁukasz\n", "utf-8", "utf-8"),
        ("name\nplain ascii\n", "ascii", "utf-8"),
    ],
    ids=[
        "polish",
        "polish-e-and-c-only",
        "pangram",
        "czech",
        "french",
        "german",
        "danish",
        "latin-1-undefined-byte",
        "cyrillic",
        "utf-8",
        "ascii",
    ],
)
def test_detect_encoding(text, codec, expected):
    assert detect_encoding(text.encode(codec), complete=True) == expected


def test_detect_encoding_marks_and_cut_samples():
    text = "email,name\na@example.com,Łukasz\n"
    assert detect_encoding(codecs.BOM_UTF8 + text.encode()) == "utf-8-sig"
    assert detect_encoding(codecs.BOM_UTF16_LE + text.encode("utf-16-le")) == "utf-16-le"
    assert detect_encoding(codecs.BOM_UTF16_BE + text.encode("utf-16-be")) == "utf-16-be"
    assert detect_encoding(text.encode("utf-16-le")) == "utf-16-le"  # no BOM: NUL in every other byte
    assert detect_encoding(text.encode("utf-16-be")) == "utf-16-be"
    assert detect_encoding(text.encode()[:-3]) == "utf-8"  # a sample may end inside a character


def test_polish_letters_outweigh_their_western_lookalikes():
    central, western = plausibility("Zażółć gęślą jaźń".encode("cp1250"))
    assert central > western
    central, western = plausibility("Crème brûlée à la carte".encode("cp1252"))
    assert western > central


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('name,note\n"Kowalski; Jan","a; b; c"\n"Nowak; Ewa",x\n', ","),
        ("name;price\nKawa;12,50\nHerbata;9,99\n", ";"),
        ("a\tb\n1,5\t2\n", "\t"),
        ("a|b|c\n1|2|3\n", "|"),
        ("email\na@example.com\n", ","),
        ('a;b\n"multi\nline";x\n1;2\n', ";"),
    ],
    ids=["quoted-semicolons", "decimal-comma", "tab", "pipe", "one-column", "multi-line-field"],
)
def test_sniff_delimiter(text, expected):
    assert sniff_delimiter(text, complete=True) == expected


def test_sniffing_ignores_a_record_cut_by_the_sample_end():
    assert sniff_delimiter("a;b;c\n1;2;3\n4;5", complete=False) == ";"


# -- unreadable lines -------------------------------------------------------------------------------


def unreadable(frame: pl.DataFrame) -> list[tuple[int, str]]:
    return frame.filter(pl.col(UNREADABLE_COL).is_not_null()).select("_row", UNREADABLE_COL).rows()


def test_ragged_rows_become_unreadable_rows_in_place():
    frame = read_file(FORMATS / "ragged.csv")
    assert frame.columns == ["email", "firstName", "lastName", UNREADABLE_COL, "_file", "_row"]
    assert frame.get_column("_row").to_list() == [2, 3, 4, 5]
    assert user_rows(frame) == [
        ("a@example.com", "Anna", "Nowak"),
        (None, None, None),
        (None, None, None),
        ("d@example.com", "Dan", "Brown"),
    ]
    assert unreadable(frame) == [
        (3, "Line 3 could not be read because it has 4 fields but the header has 3: b@example.com,Bob,Smith,extra"),
        (4, "Line 4 could not be read because it has 2 fields but the header has 3: c@example.com,Celine"),
    ]


def test_broken_quotes_cost_one_row_each():
    frame = read_file(FORMATS / "unterminated_quote.csv")
    assert frame.get_column("_row").to_list() == [2, 3, 4, 5, 6]
    assert user_rows(frame) == [
        (None, None, None),
        ("b@example.com", "Bob", "Berlin"),
        ("c@example.com", "Celine", "Paris"),
        (None, None, None),
        (None, None, None),
    ]
    assert unreadable(frame) == [
        (2, 'Line 2 could not be read because a quote opened on it is never closed: a@example.com,"Anna,Kraków'),
        (
            5,
            "Line 5 could not be read because a quoted field has more text after its closing quote "
            '(a quote inside a field must be doubled): d@example.com,"D"an,Dublin',
        ),
        (6, 'Line 6 could not be read because a quote opened on it is never closed: e@example.com,Eve,"Edinburgh'),
    ]


def test_rows_count_records_not_lines():
    frame = read_file(FORMATS / "multiline_then_ragged.csv")
    assert frame.get_column("_row").to_list() == [2, 3, 4]
    assert user_rows(frame) == [
        ("a@example.com", "first line\nsecond line", "Warsaw"),
        (None, None, None),
        ("c@example.com", 'x, "quoted"', "Paris"),
    ]
    assert unreadable(frame) == [
        (3, "Line 4 could not be read because it has 4 fields but the header has 3: b@example.com,plain,Berlin,extra")
    ]


def test_unreadable_line_is_shown_truncated(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("a,b\n1,2\n" + "x" * 300 + ",y,z\n")
    (message,) = read_file(path).get_column(UNREADABLE_COL).drop_nulls().to_list()
    assert message == "Line 3 could not be read because it has 3 fields but the header has 2: " + "x" * 200 + "…"


def test_clean_file_with_empty_last_cells_stays_on_the_fast_path(tmp_path, monkeypatch):
    path = tmp_path / "clean.csv"
    path.write_text('a,b,c\n1,"multi\nline, with ""quotes""",\n2,,\n\n3,"x,y",z\n')
    monkeypatch.setattr(csv_text, "_slow", lambda *a: pytest.fail("read record by record"))
    frame = read_file(path)
    assert UNREADABLE_COL not in frame.columns
    assert user_rows(frame) == [
        ("1", 'multi\nline, with "quotes"', None),
        ("2", None, None),
        (None, None, None),
        ("3", "x,y", "z"),
    ]
    assert frame.get_column("_row").to_list() == [2, 3, 4, 5]


def test_a_file_read_in_small_pieces_gives_the_same_rows(tmp_path, monkeypatch):
    text = 'a,b,c\n1,"multi\nline, with ""quotes""",\n2,,\n\n3,"x,y",z\n4,short\n5,"ab""c",\n'
    path = tmp_path / "pieces.csv"
    path.write_text(text)
    whole = read_file(path)
    monkeypatch.setattr(csv_text, "BLOCK_BYTES", 3)
    pieces = list(csv_text.iter_csv(path, ",", path, "utf-8"))
    assert len(pieces) > 3
    assert read_file(path).equals(whole)
    assert unreadable(whole) == [(6, "Line 7 could not be read because it has 2 fields but the header has 3: 4,short")]


def test_pieces_of_a_sparse_export_hold_no_more_cells_than_a_full_ones(tmp_path, monkeypatch):
    """Memory follows cells, not bytes: a sparse export (an order's columns on its first line, its other
    lines mostly empty cells) is read in pieces of fewer bytes, so each holds about as many cells as a
    piece of a full export; the first pieces are smaller still; no row is lost or doubled."""
    width = 12
    full = ",".join(f"value{c}" for c in range(width))
    sparse = ",".join(["x"] + [""] * (width - 1))
    lines = [f"c{c}" for c in range(width)], *([full] + [sparse] * 4) * 2_000
    path = tmp_path / "sparse.csv"
    path.write_text(",".join(lines[0]) + "\n" + "\n".join(lines[1:]) + "\n")
    monkeypatch.setattr(csv_text, "BLOCK_BYTES", 64 << 10)
    monkeypatch.setattr(csv_text, "MAX_CELLS", 52_000)
    pieces = list(csv_text.iter_csv(path, ",", path, "utf-8"))
    cells = [piece.height * (piece.width + csv_text.ROW_CELLS) for piece in pieces]
    assert sum(piece.height for piece in pieces) == 10_000
    assert pieces[0].height < pieces[1].height < pieces[2].height  # the ramp: 8, 16, 32 KB
    assert max(cells[3:-1]) <= 52_000 * 1.2  # (a piece ends at a line's end: a little over)
    assert min(cells[3:-1]) >= 52_000 * 0.8
    assert pl.concat(pieces).equals(read_file(path).select(pieces[0].columns))


def test_a_short_line_is_found_where_the_last_column_is_mostly_empty_and_nothing_is_quoted(tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text("id,sku,note\r\n1,a,\r\n2,b\r\n3,c,x\r\n4,d,\r\n")
    frame = read_file(path)
    assert user_rows(frame) == [("1", "a", None), (None, None, None), ("3", "c", "x"), ("4", "d", None)]
    assert unreadable(frame) == [(3, "Line 3 could not be read because it has 2 fields but the header has 3: 2,b")]


quote_free_fields = st.text(alphabet="ab;é 1", max_size=4)


@settings(max_examples=400, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.lists(quote_free_fields, max_size=4), st.sampled_from(["\n", "\r\n"])), min_size=1, max_size=12
    ),
    delimiter=st.sampled_from([",", ";", "\t"]),
    trailing=st.booleans(),
)
def test_lines_without_quotes_are_judged_by_counts_as_by_the_quote_aware_check(rows, delimiter, trailing):
    text = "".join(delimiter.join(fields) + end for fields, end in rows)
    piece = (text if trailing else text.rstrip("\r\n")).encode()
    try:
        frame = pl.read_csv(
            piece,
            has_header=False,
            new_columns=["a", "b", "c"],
            separator=delimiter,
            schema=dict.fromkeys("abc", pl.String),
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError:  # (a line with too many fields: polars raises, the piece is read slowly)
        return
    by_counts = csv_text._quote_free_sound(piece, delimiter, 3, frame.height)
    if by_counts is not None:
        assert by_counts == csv_text._lines_sound(piece, delimiter, 3, frame.height)


def test_record_by_record_reading_gives_what_polars_gives(tmp_path):
    text = 'a,b,c\n1,"multi\nline, with ""quotes""",\n2,,\n\n3,"x,y",z\n4,"ab""c",\n'
    fast, slow = tmp_path / "fast.csv", tmp_path / "slow.csv"
    fast.write_text(text)
    slow.write_text(text + "5,short\n")
    fast_frame, slow_frame = read_file(fast), read_file(slow)
    assert user_rows(slow_frame)[:-1] == user_rows(fast_frame)
    assert unreadable(slow_frame) == [
        (7, "Line 8 could not be read because it has 2 fields but the header has 3: 5,short")
    ]


records = st.lists(st.text(alphabet='ab,"\n ;é', max_size=6), min_size=3, max_size=3)


@settings(max_examples=80, deadline=None)
@given(
    rows=st.lists(st.tuples(records, st.sampled_from([0, 0, 0, -1, 1])), min_size=1, max_size=15),
    block=st.sampled_from([8 << 20, 1, 5, 16, 64]),
)
def test_every_row_is_read_or_reported_at_its_own_row_number(tmp_path_factory, rows, block):
    """Whatever the size of the pieces the file is parsed in (a piece ends at a record's end)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["a", "b", "c"])
    for fields, change in rows:
        writer.writerow(fields[:2] if change < 0 else fields + ["x"] if change > 0 else fields)
    path = tmp_path_factory.mktemp("prop") / "p.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    with mock.patch.object(csv_text, "BLOCK_BYTES", block):
        frame = read_file(path)
    expected = [tuple(v or None for v in fields) if change == 0 else (None, None, None) for fields, change in rows]
    assert user_rows(frame) == expected
    flagged = [row for row, _ in unreadable(frame)] if UNREADABLE_COL in frame.columns else []
    assert flagged == [i + 2 for i, (_, change) in enumerate(rows) if change]
    assert frame.get_column("_row").to_list() == list(range(2, len(rows) + 2))


def test_input_column_named_unreadable_is_dropped_like_other_underscore_columns(tmp_path):
    path = tmp_path / "rejected.csv"
    path.write_text("_row,_unreadable,email\n3,old reason,a@example.com\n")
    frame = read_file(path)
    assert frame.columns == ["email", "_file", "_row"]


def test_files_with_and_without_unreadable_rows_stack():
    frame = read_inputs([FORMATS / "ragged.csv", FORMATS / "utf8_bom.csv"], ReadOptions())
    assert frame.height == 6 and frame.get_column(UNREADABLE_COL).null_count() == 4
    assert frame.get_column("_rid").to_list() == list(range(6))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'email,"first"Name\na,b\n', "cannot be read: a quoted field has more text"),
        (b"email, email\na,b\n", "has the column 'email' twice"),
        (b"email,\xc5\x82\n", None),
    ],
    ids=["broken-header", "duplicate-after-trimming", "header-only"],
)
def test_header_problems(tmp_path, content, message):
    path = tmp_path / "h.csv"
    path.write_bytes(content)
    if message is None:
        assert read_file(path).columns == ["email", "ł", "_file", "_row"]
        return
    with pytest.raises(InputError, match=message):
        read_file(path)


# -- containers and xlsx ----------------------------------------------------------------------------


def test_zip_must_hold_exactly_one_csv(tmp_path):
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as archive:
        archive.writestr("a.csv", "x\n1\n")
        archive.writestr("b.csv", "x\n2\n")
        archive.writestr("notes.pdf", "%PDF")
    with pytest.raises(InputError, match=r"holds 2 CSV files \(members: a.csv, b.csv, notes.pdf\)"):
        read_file(two)
    none = tmp_path / "none.zip"
    with zipfile.ZipFile(none, "w") as archive:
        archive.writestr("notes.pdf", "%PDF")
    with pytest.raises(InputError, match=r"holds no CSV file \(members: notes.pdf\)"):
        read_file(none)
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK not really")
    with pytest.raises(InputError, match="is not a valid zip file"):
        read_file(bad)


def test_broken_gzip_is_an_input_error(tmp_path):
    whole = gzip.compress(("a,b\n" + "1,2\n" * 1000).encode())
    truncated = tmp_path / "t.csv.gz"
    truncated.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputError, match="Cannot read .* as csv.gz"):
        read_file(truncated)
    plain = tmp_path / "p.csv.gz"
    plain.write_bytes(b"a,b\n1,2\n")
    with pytest.raises(InputError, match="as csv.gz"):
        read_file(plain)


def test_xlsx_first_sheet_rendered_like_csv_cells():
    frame, info = read_source(FORMATS / "people.xlsx")
    assert (info.format, info.encoding, info.delimiter) == ("xlsx", None, None)
    assert frame.columns == [*fixtures.XLSX_ROWS[0], "_file", "_row"]
    assert user_rows(frame) == [
        (
            "anna@example.com",
            "Anna",
            "0048600100200",
            "1001",
            "19.99",
            "2024-01-15",
            "2024-01-15T13:45:00.000",
            "True",
            "123",
            "=1+1",
        ),
        ("jorg@example.com", "Jörg", None, "1002", "5", "1990-01-01", "2024-01-16T06:00:00.000", "False", "A12", None),
        (None,) * 10,
        ("zoe@example.com", "Zoë", "+33 1 23 45", "1003", "-0.5", None, None, None, "7.5", "2"),
    ]
    assert frame.get_column("_row").to_list() == [2, 3, 4, 5]  # the empty sheet row 4 is kept


@pytest.mark.parametrize(
    ("header", "message"),
    [(["email", "email"], "twice"), (["email", None, "x"], "without a name")],
    ids=["duplicate", "blank"],
)
def test_xlsx_header_problems(tmp_path, header, message):
    path = tmp_path / "h.xlsx"
    fixtures.write_xlsx(path, [("S", [header, ["a", "b", "c"][: len(header)]])])
    with pytest.raises(InputError, match=message):
        read_file(path)


def test_corrupt_xlsx_is_an_input_error(tmp_path):
    path = tmp_path / "c.xlsx"
    path.write_bytes(b"not a workbook")
    with pytest.raises(InputError, match="Cannot read .* as an xlsx workbook"):
        read_file(path)


def test_xlsx_cells_are_read_as_text_without_the_readers_chatter() -> None:
    """Number cells give the number as written (no float ``.0``, no ``1.2e16``), money as written (``19.9``);
    a column without a value gives no "Could not determine dtype" line on stderr (fastexcel logs it through
    Python's logging when it guesses a column's type: a process of its own shows what a user sees), and
    date-times are rendered as before."""
    frame, _ = read_source(FORMATS / "shop_sheet.xlsx")
    rows = user_rows(frame)
    assert rows[0] == ("7044811407599", "buyer0@example.com", "48600100200", "25", "1", None, "2024-01-15T12:00:00.000")
    assert rows[-1] == (
        "5897460000000",
        "buyer19@example.com",
        "12345678901234568",
        "19.9",
        "2",
        None,
        "2024-02-08T06:00:00.000",
    )
    assert not any(cell and cell.endswith(".0") for row in rows for cell in row)
    code = (
        "from pathlib import Path; from importer.inputs.files import read_source; "
        f"read_source(Path({str(FORMATS / 'shop_sheet.xlsx')!r}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stderr == ""
