"""The API's rules as pandera schemas, declared like the vendor's tables: field, type, length, values.

``customers`` and ``orders`` (order lines, orders, products) and ``operations`` (order-status,
delete-orders), on ``common`` (the shared checks: lengths in UTF-16 code units, whole numbers, numbers,
text checks). Declarations only: ``importer.records`` runs them.
"""
