"""Write the fixtures of tests/data/formats (run from anywhere: ``python tests/data/formats/make_fixtures.py``).

The files are committed; this script says exactly which bytes they hold and regenerates them the same
way (fixed timestamps in the gzip and zip headers). Standard library only: the xlsx is written as the
few XML parts a workbook needs.
"""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).parent
STAMP = (2026, 1, 1, 0, 0, 0)

POLISH = (
    "E-mail;Imię;Nazwisko;Miasto;Saldo;Data urodzenia\r\n"
    "lukasz.wisniewski@example.pl;Łukasz;Wiśniewski;Łódź;1234,50;05.03.1985\r\n"
    "zofia@example.pl;Zofia;Żółć;Gdańsk;99,99;17.11.1990\r\n"
    "grzegorz@example.pl;Grzegorz;Brzęczyszczykiewicz;Chrząszczyżewoszyce;0,00;01.01.1970\r\n"
    "agnieszka@example.pl;Agnieszka;Kaźmierczak;Kraków;12,00;30.06.2001\r\n"
)
WESTERN = (
    "email,firstName,lastName,city,note\r\n"
    "jorg.muller@example.de,Jörg,Müller,München,Straße 5\r\n"
    "francois@example.fr,François,Lefèvre,Besançon,Crème brûlée à la carte\r\n"
    'helene@example.fr,Hélène,Noël,Orléans,"Château, 2ème étage"\r\n'
    "zoe@example.com,Zoë,Øster,Århus,€ 12 – “quoted”\r\n"
)
TEXT = {
    "utf8_bom.csv": (
        "utf-8-sig",
        "email,firstName,lastName,city\nanna@example.com,Anna,Nowak,Kraków\nzoe@example.com,Zoë,Brontë,Ærøskøbing\n",
    ),
    "utf16le_bom.txt": (
        "utf-16-le",
        "\ufeffemail\tfirstName\tlastName\tcity\r\n"
        "lukasz@example.pl\tŁukasz\tWiśniewski\tŁódź\r\n"
        "jorg@example.de\tJörg\tMüller\tMünchen\r\n",
    ),
    "cp1250_polish.csv": ("cp1250", POLISH),
    "cp1252_western.csv": ("cp1252", WESTERN),
    "semicolon_decimal_comma.csv": (
        "utf-8",
        "order_id;product;price;quantity\nA-1;Kawa ziarnista;49,90;2\nA-1;Herbata;12,5;1\nA-2;Czekolada;1.299,00;1\n",
    ),
    "tab.tsv": (
        "utf-8",
        'email\tfirstName\tnote\na@example.com\tAnna\tlikes, commas\nb@example.com\tBob\t"quoted\ttab"\n',
    ),
    "pipe.csv": (
        "utf-8",
        'email|firstName|city\na@example.com|Anna|Kraków, Małopolska\nb@example.com|Bob|"Pipe | inside"\n',
    ),
    "ragged.csv": (
        "utf-8",
        "email,firstName,lastName\na@example.com,Anna,Nowak\nb@example.com,Bob,Smith,extra\n"
        "c@example.com,Celine\nd@example.com,Dan,Brown\n",
    ),
    "unterminated_quote.csv": (
        "utf-8",
        'email,firstName,city\na@example.com,"Anna,Kraków\nb@example.com,Bob,Berlin\n'
        'c@example.com,"Celine",Paris\nd@example.com,"D"an,Dublin\n'
        'e@example.com,Eve,"Edinburgh\n',
    ),
    "multiline_then_ragged.csv": (
        "utf-8",
        'email,note,city\na@example.com,"first line\nsecond line",Warsaw\n'
        "b@example.com,plain,Berlin,extra\n"
        'c@example.com,"x, ""quoted""",Paris\n',
    ),
    "shopify_orders.csv": (
        "utf-8",
        "Name,Email,Financial Status,Paid at,Currency,Subtotal,Total,Created at,Lineitem quantity,Lineitem name,"
        "Lineitem price,Lineitem sku,Phone,Notes\n"
        "#1001,anna@example.com,paid,2024-03-05 14:25:00 +0100,PLN,99.80,109.80,2024-03-05 14:22:10 +0100,2,"
        "Kawa ziarnista 1kg,49.90,KAWA-1KG,+48600100200,\n"
        "#1001,anna@example.com,,,,,,2024-03-05 14:22:10 +0100,1,Filtry papierowe,0.00,FILTR-100,,\n"
        "#1002,bob@example.com,refunded,2024-03-06 09:01:00 +0100,PLN,25.00,35.00,2024-03-06 09:00:00 +0100,1,"
        "Herbata zielona,25.00,HERB-Z,,gift\n",
    ),
    "us_orders.csv": (
        "utf-8",
        "Order ID,Order Date,Customer Email,Amount,Status,SKU\n"
        "5001,03/15/2024 14:30,ann@example.com,19.99,shipped,A-1\n"
        "5002,03/16/2024 09:05,ben@example.com,5,cancelled,B-2\n"
        "5003,12/01/2024 18:45,cy@example.com,120.50,shipped,A-1\n",
    ),
    "crm_customers.csv": (
        "utf-8",
        "Customer ID,Email Address,First Name,Last Name,Phone,Birthday,Gender,"
        "VIP,Points,Balance\n"
        "17,ann@example.com,Ann,Lee,+1 555 0100,1985-03-05,F,yes,120,10.5\n"
        "18,ben@example.com,Ben,Ode,,1990-11-17,M,no,,0\n"
        "19,cy@example.com,Cy,Young,+1 555 0102,,,no,7,-3.25\n"
        "20,dee@example.com,Dee,Ray-Lopez-Fitzgerald-Montgomery-Smithson-Wright,,2001-06-30,F,yes,0,99\n",
    ),
}
ORDERS_IN_ZIP = "order_id,date,totalValue\nZ-1,2024-01-02,10.00\nZ-2,2024-01-03,20.50\n"

XLSX_ROWS = [
    ["email", "firstName", "phone", "customerNumber", "balance", "dateOfBirth", "lastLogin", "vip", "code", "note"],
    [
        "anna@example.com",
        "Anna",
        "0048600100200",
        1001,
        19.99,
        ("date", 45306),
        ("datetime", 45306.5729166667),
        ("bool", True),
        123,
        "'=1+1",
    ],
    ["jorg@example.com", "Jörg", None, 1002, 5, ("date", 32874), ("datetime", 45307.25), ("bool", False), "A12", None],
    [None] * 10,
    ["zoe@example.com", "Zoë", "+33 1 23 45", 1003.0, -0.5, None, None, None, 7.5, ("formula", ("1+1", 2))],
]

#: A shop's customers sheet as a spreadsheet saves it: ids and phones in number cells (13 digits, and one
#: of 17 digits, more than a double holds exactly), money in number cells (mostly whole, as shops price),
#: a column without a single value (``Note``), and a date-time.
SHOP_SHEET_ROWS = [
    ["Customer ID", "Email", "Phone", "Total Spent", "Orders", "Note", "Created at"],
    *[
        [
            7044811407599 + i,
            f"buyer{i}@example.com",
            48600100200 + i,
            [25, 120, 35, 10, 60][i % 5],
            i % 4 + 1,
            None,
            ("datetime", 45306.5 + i),
        ]
        for i in range(19)
    ],
    [5897460000000, "buyer19@example.com", 12345678901234567, 19.9, 2, None, ("datetime", 45330.25)],
]


def main() -> None:
    for name, (encoding, text) in TEXT.items():
        (HERE / name).write_bytes(text.encode(encoding))
    with (HERE / "polish.csv.gz").open("wb") as raw, gzip.GzipFile("polish.csv", "wb", fileobj=raw, mtime=0) as gz:
        gz.write(POLISH.encode("cp1250"))
    with zipfile.ZipFile(HERE / "orders.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        _add(archive, "export/orders.csv", ORDERS_IN_ZIP.encode())
        _add(archive, "__MACOSX/export/._orders.csv", b"\x00\x05\x16\x07")  # what macOS' Compress adds
    write_xlsx(HERE / "people.xlsx", [("Customers", XLSX_ROWS), ("Notes", [["x"], ["not read"]])])
    write_xlsx(HERE / "shop_sheet.xlsx", [("Customers", SHOP_SHEET_ROWS)])


def _add(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=STAMP)
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


# -- a minimal xlsx writer ------------------------------------------------------------------------

_MAIN = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def write_xlsx(path: Path, sheets: list[tuple[str, list[list[object]]]]) -> None:
    """Cells: str (inline string), int/float, ("date"|"datetime", serial), ("bool", b), ("formula", (f, v))."""
    n = len(sheets)
    parts = {
        "[Content_Types].xml": f'<Types xmlns="{_PKG}/content-types">'
        f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f'<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_TYPE}.sheet.main+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{_TYPE}.styles+xml"/>'
        + "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_TYPE}.worksheet+xml"/>'
            for i in range(1, n + 1)
        )
        + "</Types>",
        "_rels/.rels": f'<Relationships xmlns="{_PKG}/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook {_MAIN} xmlns:r="{_REL}"><sheets>'
        + "".join(
            f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"/>' for i, (name, _) in enumerate(sheets, 1)
        )
        + "</sheets></workbook>",
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{_PKG}/relationships">'
        + "".join(
            f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, n + 1)
        )
        + f'<Relationship Id="rId{n + 1}" Type="{_REL}/styles" Target="styles.xml"/></Relationships>',
        "xl/styles.xml": f'<styleSheet {_MAIN}><numFmts count="1">'
        '<numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm"/>'
        '</numFmts><fonts count="1"><font/></fonts><fills count="1"><fill/></fills><borders count="1"><border/>'
        '</borders><cellStyleXfs count="1"><xf/></cellStyleXfs><cellXfs count="3"><xf numFmtId="0"/>'
        '<xf numFmtId="14" applyNumberFormat="1"/><xf numFmtId="164" applyNumberFormat="1"/></cellXfs></styleSheet>',
    }
    for i, (_, rows) in enumerate(sheets, 1):
        body = "".join(
            f'<row r="{r}">' + "".join(_cell(f"{_column(c)}{r}", v) for c, v in enumerate(row)) + "</row>"
            for r, row in enumerate(rows, 1)
        )
        parts[f"xl/worksheets/sheet{i}.xml"] = f"<worksheet {_MAIN}><sheetData>{body}</sheetData></worksheet>"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, xml in parts.items():
            _add(archive, name, (_XML + xml).encode("utf-8"))


def _column(index: int) -> str:
    name, index = "", index + 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _cell(ref: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple):
        kind, inner = value
        if kind in ("date", "datetime"):
            return f'<c r="{ref}" s="{1 if kind == "date" else 2}"><v>{inner}</v></c>'
        if kind == "bool":
            return f'<c r="{ref}" t="b"><v>{int(bool(inner))}</v></c>'
        formula, cached = inner  # type: ignore[misc]
        return f'<c r="{ref}"><f>{escape(formula)}</f><v>{cached}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(str(value))}</t></is></c>'


if __name__ == "__main__":
    main()
