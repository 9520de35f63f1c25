"""The input stage: export files read into frames of strings, as they are or through a mapping.

``files`` reads CSV (also gz and zip), xlsx and Parquet in batches, every cell a string, every row with
its ``_file``, ``_row`` and ``_rid``; ``csv_text`` parses CSV text in pieces cut at record ends, keeping
the lines it cannot parse as rows; ``csv_dialect`` finds a file's encoding and delimiter; ``mapping``
(with the shipped ``presets/``) turns an export we did not design into the importer's columns;
``batches`` is the stage every command shares; ``profile`` describes a file (``ecdp-import inspect``).
Nothing here knows what a column means to the API: that is ``importer.records``.
"""
