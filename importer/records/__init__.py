"""The record stages: pure functions from rows (frames of strings) to JSON records and reasons.

``customers`` and ``orders`` (with ``order_columns``, ``order_lines``, ``nested_orders``) map columns,
normalise (``normalise``), validate (``schemas/`` through ``validation`` and ``schema_screen``), check
against the platform's settings lists they are handed (``preflight``, ``definitions``) and build records
(``json_text``); ``chunking`` cuts records into request bodies; ``comparison`` holds a record as sent
against the record as stored. Nothing here reads a file, sends a request or keeps state: the jobs do
(an import-linter contract keeps it so).
"""
