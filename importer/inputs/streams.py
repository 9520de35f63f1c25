"""The byte streams the CSV parser reads, bounded by the read limits (``importer.settings.ReadLimits``).

A ``.gz`` file and a zip's CSV member are decompressed as they are read, never into a temporary copy:
``Decompressed`` counts what comes out and stops the read (``InputError``) as soon as it is more than
``decompressed_bytes``, or more than ``compression_ratio`` times the compressed bytes read so far (judged
once ``ReadLimits.RATIO_FROM`` bytes are out: a small file may be dense). A zip's entries are counted from
the archive's end record before Python's ``zipfile`` lists them (a million entries would cost it a GB), and
the sizes the entries declare are judged before any is read. Text in another encoding than UTF-8 is
recoded a block at a time (``Utf8``), so no input ever needs a copy on disk.

``limit_crossed`` is the one message every limit gives: what was found, the limit and the option that raises it;
``check_cells`` judges a parsed piece's cells (``importer.inputs.csv_text`` cuts and parses the text).
"""

from __future__ import annotations

import codecs
import gzip
import struct
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Protocol

import polars as pl

from importer.errors import InputError
from importer.inputs.locations import shown
from importer.settings import ReadLimits, format_size

BLOCK = 1 << 20
_EOCD = struct.Struct("<4s4H2LH")  # a zip's end of central directory record
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_TAIL = _EOCD.size + 0xFFFF  # the end record and the longest comment after it


class ByteStream(Protocol):
    """What the CSV parser reads from: ``read(size)``, ``b""`` at the end."""

    def read(self, size: int = -1, /) -> bytes: ...


def limit_crossed(source: Path, found: str, name: str, limits: ReadLimits) -> InputError:
    """The error of a limit crossed: one line naming the limit, its option and what was found."""
    option = ReadLimits.OPTIONS[name]
    return InputError(
        f"Reading {shown(source)} stopped at the limit {option} {limits.shown(name)}: {found}.",
        f"If the file is genuine, raise the limit with {option} (ReadLimits.{name} in the library); nothing was sent.",
    )


def check_cells(frame: pl.DataFrame, rows: int, source: Path, limits: ReadLimits) -> None:
    """InputError when a cell of ``frame`` (whose first record is the file's ``rows + 1``-th) is longer than
    the limit."""
    long = [pl.col(c).str.len_bytes() > limits.cell_bytes for c in frame.columns]
    if not long:
        return
    over = frame.select(pl.any_horizontal(long).arg_true().first()).item()
    if over is None:
        return
    lengths = frame.slice(over, 1).select(pl.col(c).str.len_bytes().fill_null(0) for c in frame.columns).row(0)
    column = frame.columns[lengths.index(max(lengths))]
    found = f"row {rows + over + 2} has a longer cell (column {column!r})"
    raise limit_crossed(source, found, "cell_bytes", limits)


class Decompressed:
    """A decompressing stream whose output is counted against the limits as it is read."""

    def __init__(self, stream: ByteStream, compressed: Callable[[], int], source: Path, limits: ReadLimits) -> None:
        self._stream, self._compressed, self._source, self._limits = stream, compressed, source, limits
        self.count = 0  # bytes decompressed so far

    def read(self, size: int = -1, /) -> bytes:
        if size < 0:  # everything, still a block at a time (each block judged)
            return b"".join(iter(lambda: self.read(BLOCK), b""))
        data = self._stream.read(size)
        self.count += len(data)
        limits = self._limits
        if self.count > limits.decompressed_bytes:
            raise limit_crossed(self._source, "it decompresses to more", "decompressed_bytes", limits)
        if self.count > ReadLimits.RATIO_FROM and self.count > limits.compression_ratio * max(1, self._compressed()):
            ratio = self.count / max(1, self._compressed())
            raise limit_crossed(
                self._source, f"it decompresses {ratio:.0f} times its compressed size", "compression_ratio", limits
            )
        return data


@contextmanager
def open_gzip(path: Path, limits: ReadLimits) -> Iterator[Decompressed]:
    """A ``.gz`` file's contents, decompressed as read and bounded."""
    with path.open("rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
        yield Decompressed(unzipped, raw.tell, path, limits)


@contextmanager
def open_zip_member(
    path: Path,
    limits: ReadLimits,
    choose: Callable[[zipfile.ZipFile], str],
) -> Iterator[tuple[Decompressed, str]]:
    """The member ``choose`` picks of a zip file, decompressed as read; the archive's entries and declared sizes
    are judged first (``zipfile.BadZipFile`` for a file that is not a zip)."""
    with path.open("rb") as raw:
        entries = zip_entries(raw)
    if entries is not None and entries > limits.zip_entries:
        raise limit_crossed(path, f"the zip file has {entries} entries", "zip_entries", limits)
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        if len(infos) > limits.zip_entries:  # (an end record that undercounts)
            raise limit_crossed(path, f"the zip file has {len(infos)} entries", "zip_entries", limits)
        declared = sum(i.file_size for i in infos)
        if declared > limits.zip_bytes:
            raise limit_crossed(path, f"its entries declare {format_size(declared)} together", "zip_bytes", limits)
        member = choose(archive)
        info = archive.getinfo(member)
        if info.file_size > limits.decompressed_bytes:
            raise limit_crossed(path, f"{member} declares {format_size(info.file_size)}", "decompressed_bytes", limits)
        ratio = info.file_size / max(1, info.compress_size)
        if info.file_size > ReadLimits.RATIO_FROM and ratio > limits.compression_ratio:
            raise limit_crossed(
                path, f"{member} decompresses {ratio:.0f} times its compressed size", "compression_ratio", limits
            )
        with archive.open(info) as stream:
            yield Decompressed(stream, lambda: info.compress_size, path, limits), member


def zip_entries(raw: IO[bytes]) -> int | None:
    """The entries a zip file's end record counts (its ZIP64 record's, when it has one); None without one."""
    size = raw.seek(0, 2)
    raw.seek(max(0, size - _TAIL))
    tail = raw.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _EOCD.size:
        return None
    entries: int = _EOCD.unpack_from(tail, at)[4]
    locator = at - _EOCD64_LOCATOR.size
    if locator >= 0 and tail[locator : locator + 4] == b"PK\x06\x07":
        offset = _EOCD64_LOCATOR.unpack_from(tail, locator)[2]
        raw.seek(offset)
        record = raw.read(_EOCD64.size)
        if len(record) == _EOCD64.size and record[:4] == b"PK\x06\x06":
            entries = max(entries, _EOCD64.unpack(record)[7])
    return entries


class Utf8:
    """``head`` and then the rest of ``stream`` as UTF-8 bytes: passed through when the text is UTF-8 already,
    else decoded from ``encoding`` and encoded again a block at a time (``InputError`` where it is not that
    encoding's text, made by ``not_text(offset)``)."""

    def __init__(
        self, head: bytes, stream: ByteStream, encoding: str, utf8: bool, not_text: Callable[[int], InputError]
    ) -> None:
        self._head, self._stream, self._not_text = head, stream, not_text
        self._decoder = None if utf8 else codecs.getincrementaldecoder(encoding)(errors="strict")
        self._offset, self._done = 0, False  # bytes of the input decoded before this block

    def read(self, size: int = -1, /) -> bytes:
        if size < 0:
            return b"".join(iter(lambda: self.read(BLOCK), b""))
        while not self._done:
            if self._head:
                block, self._head = self._head, b""
            else:
                block = self._stream.read(size)
            if self._decoder is None:
                if not block:
                    self._done = True
                return block
            try:
                text = self._decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                raise self._not_text(self._offset + exc.start) from None
            self._offset += len(block)
            self._done = not block
            if text:
                return text.encode("utf-8")
        return b""
