"""``python -m importer``: the same command line as ``ecdp-import``."""

from importer.cli import main

main()
