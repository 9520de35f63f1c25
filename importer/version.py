"""The importer's version: the one place it is written (pyproject.toml reads it; the User-Agent and
``ecdp-import --version`` show it). A module of its own, so that what needs it imports no more."""

__version__ = "0.1.0"
