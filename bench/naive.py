"""The naive baseline: what a hand-written import script typically does, for comparison in ``make bench``.

pandas reads the file, ``iterrows`` walks it, a dict per order is built in Python, ``json.dumps`` encodes
every request and ``requests`` posts it one request at a time. No validation beyond what the loop does,
so the baseline does *less* work than the importer. ``--dry-run`` builds and encodes the bodies without
posting them (the offline comparison).

    python bench/naive.py orders.csv --dry-run
    python bench/naive.py orders.csv --url http://127.0.0.1:8000 --key KEY
"""

from __future__ import annotations

import argparse
import json

import pandas as pd
import requests


def build_orders(path: str) -> list[dict]:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    orders: dict[str, dict] = {}
    for _, row in frame.iterrows():
        order = orders.get(row["id"])
        if order is None:
            order = orders[row["id"]] = {
                "id": row["id"],
                "date": row["date"],
                "timeZone": row["timeZone"],
                "websiteId": int(row["websiteId"]),
                "status": row["status"].lower(),
                "currency": row["currency"],
                "totalValue": 0.0,
                "customer": {"email": row["customer.email"].lower(), "phone": row["customer.phone"]},
                "products": [],
                "orderAttributes": [{"name": "channel", "value": row["attr.channel"]}],
            }
        price, quantity = float(row["product.price"]), int(row["product.quantity"])
        order["products"].append(
            {
                "id": row["product.id"],
                "name": row["product.name"],
                "price": price,
                "quantity": quantity,
                "url": row["product.url"],
                "imageUrl": row["product.imageUrl"],
                "category": row["product.category"],
                "productAttributes": [
                    {"name": "color", "value": row["product.attr.color"]},
                    {"name": "size", "value": row["product.attr.size"]},
                ],
            }
        )
        order["totalValue"] += price * quantity
    return list(orders.values())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--url")
    parser.add_argument("--key")
    parser.add_argument("--chunk-size", type=int, default=100)
    args = parser.parse_args()
    orders = build_orders(args.file)
    session = requests.Session()
    sent = 0
    for start in range(0, len(orders), args.chunk_size):
        body = json.dumps({"mode": "AddOrReplace", "data": orders[start : start + args.chunk_size]})
        if not args.dry_run:
            session.post(
                args.url + "/orders", data=body, headers={"x-api-key": args.key, "content-type": "application/json"}
            )
        sent += len(body)
    print(f"{len(orders)} orders, {sent} bytes of JSON")


if __name__ == "__main__":
    main()
