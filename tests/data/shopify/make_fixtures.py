"""Write the Shopify fixtures of every export generation (``python -m tests.data.shopify.make_fixtures``).

The headers are those of real exports (/work/shared/EXPORT-HEADERS.md, tests/data/shopify/README.md),
the values invented; the quirks are the real ones: apostrophes before ids and phones, blank rows,
order-level cells on an order's first line only, lines without a SKU, a tip, shipping protection, a
gift card, a cancelled order that says paid, ``Created at`` with an offset. The files are committed;
this script says exactly what they hold and writes them again the same way (standard library only: the
xlsx by tests/data/formats/make_fixtures.write_xlsx).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tests.data.formats.make_fixtures import write_xlsx

HERE = Path(__file__).parent

CUSTOMERS = {
    "A": "First Name,Last Name,Email,Company,Address1,Address2,City,Province,Province Code,Country,Country Code,"
    "Zip,Phone,Accepts Marketing,Total Spent,Total Orders,Tags,Note,Tax Exempt",
    "B": "First Name,Last Name,Email,Accepts Email Marketing,Company,Address1,Address2,City,Province,Province Code,"
    "Country,Country Code,Zip,Phone,Accepts SMS Marketing,Total Spent,Total Orders,Tags,Note,Tax Exempt",
    "B2": "First Name,Last Name,Email,Accepts Email Marketing,Company,Address1,Address2,City,Province,Province Code,"
    "Country,Country Code,Zip,Phone,Accepts SMS Marketing,Total Spent,Total Orders,Tags,Tax Exempt",
    "C": "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Company,Address1,Address2,City,Province,"
    "Province Code,Country,Country Code,Zip,Phone,Accepts SMS Marketing,Total Spent,Total Orders,Tags,Note,"
    "Tax Exempt",
    "D": "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Default Address Company,"
    "Default Address Address1,Default Address Address2,Default Address City,Default Address Province Code,"
    "Default Address Country Code,Default Address Zip,Default Address Phone,Phone,Accepts SMS Marketing,"
    "Total Spent,Total Orders,Note,Tax Exempt,Tags",
}
_ORDERS_HEAD = (
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,Accepts Marketing,Currency,Subtotal,"
    "Shipping,Taxes,Total,Discount Code,Discount Amount,Shipping Method,Created at,Lineitem quantity,Lineitem name,"
    "Lineitem price,Lineitem compare at price,Lineitem sku,Lineitem requires shipping,Lineitem taxable,"
    "Lineitem fulfillment status,Billing Name,Billing Street,Billing Address1,Billing Address2,Billing Company,"
    "Billing City,Billing Zip,Billing Province,Billing Country,Billing Phone,Shipping Name,Shipping Street,"
    "Shipping Address1,Shipping Address2,Shipping Company,Shipping City,Shipping Zip,Shipping Province,"
    "Shipping Country,Shipping Phone,Notes,Note Attributes,Cancelled at,Payment Method,Payment Reference,"
    "Refunded Amount,Vendor"
)
_TAXES = (
    "Tags,Risk Level,Source,Lineitem discount,Tax 1 Name,Tax 1 Value,Tax 2 Name,Tax 2 Value,Tax 3 Name,"
    "Tax 3 Value,Tax 4 Name,Tax 4 Value,Tax 5 Name,Tax 5 Value,Phone,Receipt Number,Duties,"
    "Billing Province Name,Shipping Province Name"
)
ORDERS = {
    "oldest": f"{_ORDERS_HEAD},Id,{_TAXES},Payment Terms Name,Next Payment Due At",
    "employee": f"{_ORDERS_HEAD},Outstanding Balance,Employee,Location,Device ID,Id,{_TAXES},Payment ID,"
    "Payment Terms Name,Next Payment Due At",
    "references": f"{_ORDERS_HEAD},Outstanding Balance,Employee,Location,Device ID,Id,{_TAXES},Payment ID,"
    "Payment Terms Name,Next Payment Due At,Payment References",
}

# -- customers: (generation, file, rows); None is a blank row ------------------------------------------
_ANNA = {
    "First Name": "Anna",
    "Last Name": "Kowalska",
    "Email": "anna.kowalska@example.com",
    "City": "Gdańsk",
    "Country Code": "PL",
    "Total Spent": "299.97",
    "Total Orders": "2",
    "Tax Exempt": "no",
}
CUSTOMER_FILES = [
    (
        "A",
        "customers_A_oldest.csv",
        [
            {**_ANNA, "Address1": "ul. Długa 1", "Phone": "(555) 010-0199", "Accepts Marketing": "yes", "Tags": "vip"},
            {
                "First Name": "Tomasz",
                "Last Name": "Zieliński",
                "Email": "tomasz.zielinski@example.pl",
                "Accepts Marketing": "no",
                "Total Spent": "0.00",
                "Total Orders": "0",
                "Tax Exempt": "no",
            },
            None,
            {
                "First Name": "Sofia",
                "Last Name": "Lind",
                "Email": "sofia.lind@example.com",
                "Phone": "+46701234567",
                "Accepts Marketing": "no",
                "Note": "prefers e-mail, not calls",
                "Tax Exempt": "no",
            },
        ],
    ),
    (
        "B",
        "customers_B_2022.csv",
        [
            {**_ANNA, "Accepts Email Marketing": "yes", "Phone": "'+48601234567", "Accepts SMS Marketing": "no"},
            {
                "First Name": "Jürgen",
                "Last Name": "Müller",
                "Email": "juergen.mueller@example.de",
                "Accepts Email Marketing": "no",
                "Phone": "+49 30 1234567",
                "Accepts SMS Marketing": "no",
                "Note": "Rechnung, nicht Lieferschein",
                "Tax Exempt": "no",
            },
            {
                "First Name": "Ewa",
                "Last Name": "Wójcik",
                "Email": "ewa.wojcik@example.pl",
                "Accepts Email Marketing": "no",
                "Phone": "'+48501234567",
                "Accepts SMS Marketing": "yes",
                "Tax Exempt": "no",
            },
        ],
    ),
    (
        "B2",
        "customers_B_2022_without_note.csv",
        [
            {**_ANNA, "Accepts Email Marketing": "yes", "Phone": "'+48601234567", "Accepts SMS Marketing": "no"},
            None,
            {
                "First Name": "Piotr",
                "Last Name": "Nowak",
                "Email": "piotr.nowak@example.com",
                "Accepts Email Marketing": "no",
                "Phone": "601 222 333",
                "Accepts SMS Marketing": "no",
                "Tax Exempt": "no",
            },
        ],
    ),
    (
        "C",
        "customers_C_customer_id.csv",
        [
            {
                **_ANNA,
                "Customer ID": "6203115700401",
                "Accepts Email Marketing": "yes",
                "Address1": "ul. Długa 1",
                "Phone": "+48601234567",
                "Accepts SMS Marketing": "no",
            },
            {
                "Customer ID": "6203115700402",
                "First Name": "Piotr",
                "Last Name": "Nowak",
                "Email": "piotr.nowak@example.com",
                "Accepts Email Marketing": "no",
                "Accepts SMS Marketing": "no",
                "Tax Exempt": "no",
            },
        ],
    ),
    (
        "D",
        "customers_D_2023.csv",
        [
            {
                **_ANNA,
                "Customer ID": "'7044811407599",
                "Accepts Email Marketing": "yes",
                "Default Address Address1": "ul. Długa 1",
                "Default Address City": "Gdańsk",
                "Default Address Country Code": "PL",
                "Default Address Zip": "80-001",
                "Default Address Phone": "'+48601234567",
                "Phone": "'+48601234567",
                "Accepts SMS Marketing": "no",
                "Tags": "vip",
            },
            {
                "Customer ID": "'7044811440367",
                "First Name": "Piotr",
                "Last Name": "Nowak",
                "Email": "piotr.nowak@example.com",
                "Accepts Email Marketing": "no",
                "Accepts SMS Marketing": "no",
                "Total Spent": "0.00",
                "Total Orders": "0",
                "Tax Exempt": "no",
            },
            None,
            {
                "Customer ID": "'7044811473135",
                "First Name": "Maria",
                "Last Name": "Santos",
                "Email": "",
                "Accepts Email Marketing": "no",
                "Phone": "'+351912345678",
                "Accepts SMS Marketing": "yes",
                "Tax Exempt": "no",
            },
        ],
    ),
]

# -- orders: the cells of an order's first line, then each line's own ---------------------------------


def _order(
    name: str,
    email: str,
    financial: str,
    fulfillment: str,
    created: str,
    total: str,
    lines: list[tuple[str, str, str, str]],
    **more: str,
) -> list[dict[str, str]]:
    """An order's rows: order-level cells on the first line only, as Shopify writes them."""
    head = {
        "Name": name,
        "Email": email,
        "Financial Status": financial,
        "Fulfillment Status": fulfillment,
        "Accepts Marketing": "no",
        "Currency": "PLN",
        "Subtotal": total,
        "Shipping": "0.00",
        "Taxes": "0.00",
        "Total": total,
        "Discount Amount": "0.00",
        "Shipping Method": "Standard",
        "Created at": created,
        "Billing Name": "Anna Kowalska",
        "Billing City": "Gdańsk",
        "Billing Country": "PL",
        "Payment Method": "Przelewy24",
        "Refunded Amount": "0.00",
        "Risk Level": "Low",
        "Source": "web",
        **more,
    }
    rows = []
    for number, (quantity, item, price, sku) in enumerate(lines):
        line = {
            "Name": name,
            "Lineitem quantity": quantity,
            "Lineitem name": item,
            "Lineitem price": price,
            "Lineitem sku": sku,
            "Lineitem requires shipping": "true" if sku else "false",
            "Lineitem taxable": "true",
            "Lineitem fulfillment status": "fulfilled" if fulfillment == "fulfilled" else "pending",
            "Lineitem discount": "0.00",
        }
        rows.append({**head, **line} if number == 0 else line)
    return rows


LONG_NAME = (
    "Zestaw prezentowy: kubek ceramiczny ręcznie malowany, herbata liściasta z Darjeeling, "
    "łyżeczka z drewna oliwnego i kartka z życzeniami (edycja zimowa)"
)
ORDER_FILES = [
    (
        "oldest",
        "orders_1_oldest.csv",
        [
            *_order(
                "#2001",
                "anna.kowalska@example.com",
                "paid",
                "fulfilled",
                "2023-04-09 19:46:45 -0700",
                "209.98",
                [("2", "Koszulka lniana - M", "89.99", "TSH-LIN-M"), ("1", "Kubek 350 ml", "29.99", "MUG-350")],
                Phone="'+48601234567",
                **{"Paid at": "2023-04-09 19:47:02 -0700"},
            ),
            *_order(
                "#2002",
                "piotr.nowak@example.com",
                "paid",
                "",
                "2023-04-10 08:05:00 -0700",
                "45.00",
                [("1", "Książka: Łąki i lasy", "45.00", "BOOK-17")],
                **{"Cancelled at": "2023-04-10 09:00:00 -0700"},
            ),
            *_order(
                "#2003",
                "ewa.wojcik@example.pl",
                "pending",
                "",
                "2023-04-11 12:00:00 +0200",
                "65.00",
                [("1", "Grawerowanie na zamówienie", "60.00", ""), ("1", "Tip", "5.00", "")],
            ),
            *_order(
                "#2004",
                "juergen.mueller@example.de",
                "refunded",
                "",
                "2023-04-12 10:30:00 +0200",
                "89.99",
                [("1", "Koszulka lniana - L", "89.99", "TSH-LIN-L")],
                **{"Refunded Amount": "89.99"},
            ),
        ],
    ),
    (
        "employee",
        "orders_2_employee_payment_id.csv",
        [
            *_order(
                "#3001",
                "anna.kowalska@example.com",
                "paid",
                "fulfilled",
                "2024-02-01 10:00:00 +0100",
                "123.49",
                [("1", "Świeca sojowa", "119.99", "CANDLE-1"), ("1", "Route Package Protection", "3.50", "")],
                **{"Payment ID": "c5001.1", "Employee": "", "Location": "Sklep"},
            ),
            *_order(
                "#3002",
                "piotr.nowak@example.com",
                "partially_refunded",
                "fulfilled",
                "2024-02-02 11:00:00 +0100",
                "179.98",
                [("2", "Koszulka lniana - M", "89.99", "TSH-LIN-M")],
                **{"Refunded Amount": "89.99", "Payment ID": "c5002.1"},
            ),
            *_order(
                "#3003",
                "ewa.wojcik@example.pl",
                "authorized",
                "unfulfilled",
                "2024-02-03 12:00:00 +0100",
                "150.00",
                [("1", LONG_NAME, "150.00", "")],
                **{"Payment ID": "c5003.1"},
            ),
        ],
    ),
    (
        "references",
        "orders_3_payment_references.csv",
        [
            *_order(
                "#4001",
                "anna.kowalska@example.com",
                "paid",
                "unfulfilled",
                "2025-03-14 09:26:53 +0100",
                "59.98",
                [("1", "Kubek 350 ml", "29.99", "MUG-350"), ("1", "Kubek 500 ml", "29.99", "")],
                **{"Payment ID": "c6001.1", "Payment References": "c6001.1"},
            ),
            None,
            *_order(
                "#4002",
                "piotr.nowak@example.com",
                "paid",
                "",
                "2025-03-15 10:00:00 +0100",
                "100.00",
                [("1", "Gift Card - 100 zł", "100.00", "")],
                **{"Payment ID": "c6002.1", "Payment References": "c6002.1"},
            ),
            *_order(
                "#4003",
                "juergen.mueller@example.de",
                "voided",
                "",
                "2025-03-16 10:00:00 +0100",
                "45.00",
                [("1", "Książka: Łąki i lasy", "45.00", "BOOK-17")],
                **{"Payment ID": "c6003.1", "Payment References": "c6003.1"},
            ),
            *_order(
                "#4004",
                "sofia.lind@example.com",
                "paid",
                "fulfilled",
                "2025-03-17 16:45:00 -0500",
                "89.99",
                [("1", "Koszulka lniana - S", "89.99", "TSH-LIN-S")],
                **{
                    "Cancelled at": "2025-03-18 08:00:00 -0500",
                    "Payment ID": "c6004.1",
                    "Payment References": "c6004.1",
                },
            ),
        ],
    ),
]


def csv_text(header: str, rows: list[dict[str, str] | None], drop: tuple[str, ...] = ()) -> str:
    """The CSV as Shopify writes it (every field quoted only where needed, LF line ends)."""
    columns = [c for c in header.split(",") if c not in drop]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([(row or {}).get(c, "") for c in columns])
    return out.getvalue()


def main() -> None:
    for generation, name, rows in CUSTOMER_FILES:
        (HERE / name).write_text(csv_text(CUSTOMERS[generation], rows), encoding="utf-8")
    for generation, name, rows in ORDER_FILES:
        (HERE / name).write_text(csv_text(ORDERS[generation], rows), encoding="utf-8")
    d_rows = CUSTOMER_FILES[4][2]
    (HERE / "customers_D_without_phone.csv").write_text(
        csv_text(CUSTOMERS["D"], d_rows, drop=("Phone",)), encoding="utf-8"
    )
    (HERE / "customers_no_id_column.csv").write_text(
        csv_text(CUSTOMERS["D"], d_rows, drop=("Customer ID", "Email", "Phone")), encoding="utf-8"
    )
    write_xlsx(HERE / "customers_D_2023.xlsx", [("customers_export", _xlsx_rows(CUSTOMERS["D"], d_rows))])


def _xlsx_rows(header: str, rows: list[dict[str, str] | None]) -> list[list[object]]:
    """Shopify's xlsx download: ids in number cells, no apostrophes (a cell's type keeps text as text)."""
    columns = header.split(",")
    table: list[list[object]] = [list(columns)]
    for row in rows:
        if row is None:
            continue  # (a spreadsheet has no blank row at the end of a table; the CSV's is tested there)
        cells: list[object] = []
        for column in columns:
            value = row.get(column, "").removeprefix("'")
            cells.append(int(value) if column == "Customer ID" else value or None)
        table.append(cells)
    return table


if __name__ == "__main__":
    main()
