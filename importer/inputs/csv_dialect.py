"""Find out how a CSV file is written: its text encoding and its delimiter, from a sample of its start.

Encoding, cheapest certain answer first:

1. a byte order mark: UTF-8 (``utf-8-sig``), UTF-32 or UTF-16 (``utf-16-le`` / ``utf-16-be``);
2. UTF-16 without a mark: NUL bytes in every other position of mostly-ASCII text;
3. the sample decodes as UTF-8 (ASCII included): ``utf-8``; so does a sample that holds UTF-8 letters
   (``ë`` as ``C3 AB``) *and* bytes that are not UTF-8: a file of mixed encodings, which no single code
   page reads right. Called UTF-8, it stops at its first bad byte with a sentence naming the offset,
   instead of being imported with every UTF-8 letter turned into mojibake (``ZoÃ«``);
4. otherwise charset-normalizer says which code pages make sense of the bytes; when a Latin one is
   among them, the choice between cp1250 (Central European) and cp1252 (Western; it reads latin-1
   files the same way) is made by :func:`plausibility`, which weighs the bytes the two decode
   differently: Polish ``ą ł ż`` are letters in cp1250 but ``¹ ³ ¿`` in cp1252, French ``à`` is a
   letter in cp1252 but a rare Slovak ``ŕ`` in cp1250. A tie (the sample decodes the same either way,
   as German text does) is cp1252. When no Latin code page fits (Cyrillic, CJK), charset-normalizer's
   best guess is used (a Windows code page when one is nearly as good). Fewer than 20 non-ASCII bytes
   are too few for charset-normalizer: the plausibility score alone decides; bytes neither page
   defines make it latin-1.

Limits: context-free weights cannot tell a sample whose only accents are look-alikes (``ê``/``ę``,
``ñ``/``ń``) or Spanish ``¿`` (``ż`` in cp1250) reliably; Greek, Turkish or Baltic text in a small
sample may be taken for cp1250/cp1252. The user can always name the encoding.

Delimiter: each of ``, ; tab |`` splits the first records (quotes respected); the one giving the header
more than one field and the most records of the header's width wins; ``,`` when none does.

This module only looks at samples: it opens no file and raises no error other than ``InputError``
for an encoding or delimiter the user named that cannot be used.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata

from charset_normalizer import from_bytes

from importer.errors import InputError

SAMPLE_BYTES = 1 << 20  # what the encoding is detected from
SNIFF_RECORDS = 50  # records the delimiter is chosen from
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|"}
COMMON_ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1250", "cp1252", "latin-1")
UTF8 = ("utf-8", "utf-8-sig")

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Letters common in the languages each code page serves, among those the two pages encode differently.
# Where both are letters, the weights break the tie towards Polish (ę over ê, ć over æ, ś over œ) but
# keep French à è, Spanish ñ and Nordic ø å Western.
_CENTRAL = {**dict.fromkeys("ąćęłńśźżĄĆĘŁŃŚŹŻőűŐŰ", 2), **dict.fromkeys("čřěůďťňăşţČŘĚŮĎŤŇĂŞŢ", 1)}
_WESTERN = {**dict.fromkeys("àèñøåÀÈÑØÅ", 2), **dict.fromkeys("êæœìòùûãõïÿÊÆŒÌÒÙÛÃÕÏ", 1)}
_CHARSET_NORMALIZER_MIN = 20  # non-ASCII bytes below which charset-normalizer's guesses are noise
_UNDEFINED = -3  # a byte the code page has no character for
_ASCII = bytes(range(0x80))
# A two-byte UTF-8 sequence for a letter of Latin-1 Supplement or Latin Extended-A/B (U+00C0-U+024F).
# In cp1250/cp1252 these byte pairs read as a capital letter followed by punctuation ("Ã«"), which
# real text almost never holds.
_UTF8_LATIN_LETTER = re.compile(rb"[\xc3-\xc9][\x80-\xbf]")


def encoding_name(name: str) -> str:
    """The canonical name of a text encoding the user named, or InputError listing the usual ones."""
    try:
        info = codecs.lookup(name.strip())
    except (LookupError, ValueError):
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise InputError(
            f"Unknown encoding {name!r}.",
            f"Use one of {', '.join(COMMON_ENCODINGS)} (or another Python codec name such as iso-8859-2), "
            "or leave it out to have it detected.",
        )
    return info.name


def delimiter_char(value: str) -> str:
    """The delimiter the user named: one character, or comma / semicolon / tab / pipe."""
    char = DELIMITER_NAMES.get(value.lower(), value)
    if len(char) != 1 or char in '"\r\n':
        raise InputError(
            f"Unusable delimiter {value!r}.",
            "Give one character such as ',' ';' '|', or 'tab'; or leave it out to have it detected.",
        )
    return char


def detect_encoding(sample: bytes, *, complete: bool = False) -> str:
    """The encoding of text that starts with ``sample`` (``complete``: the sample is the whole file)."""
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    if (utf16 := _utf16_without_bom(sample)) is not None:
        return utf16
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
    except UnicodeDecodeError:
        if _UTF8_LATIN_LETTER.search(sample):
            return "utf-8"  # mixed encodings: decoding will fail where the other encoding starts
    else:
        return "utf-8"
    return _single_byte(sample)


def _utf16_without_bom(sample: bytes) -> str | None:
    half = len(sample) // 2
    if half < 2 or b"\x00" not in sample:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd > 0.3 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.3 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def _single_byte(sample: bytes) -> str:
    """cp1250 or cp1252 when a Latin code page fits; else charset-normalizer's best guess.

    A sample with few non-ASCII bytes is judged by :func:`plausibility` alone: on a dozen bytes
    charset-normalizer may call Polish text Big5.
    """
    if len(sample.translate(None, _ASCII)) >= _CHARSET_NORMALIZER_MIN:
        matches = from_bytes(sample)
        fitting = {codecs.lookup(name).name for match in matches for name in match.could_be_from_charset}
        latin = [name for name in ("cp1250", "cp1252") if name in fitting]
        if len(latin) == 1:
            return latin[0]
        if not latin and (best := matches.best()) is not None:
            # A Windows code page nearly as orderly is the likelier source of a CSV: cp1251 over mac-cyrillic.
            windows = [m.encoding for m in matches if m.chaos <= best.chaos + 0.1 and m.encoding.startswith("cp125")]
            return codecs.lookup(windows[0] if windows else best.encoding).name
    decodable = [name for name in ("cp1250", "cp1252") if _decodes(sample, name)]
    if len(decodable) < 2:
        return decodable[0] if decodable else "iso8859-1"  # latin-1 decodes any byte
    central, western = plausibility(sample)
    return "cp1250" if central > western else "cp1252"


def _decodes(sample: bytes, encoding: str) -> bool:
    try:
        sample.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def plausibility(sample: bytes) -> tuple[float, float]:
    """How plausible the sample is as cp1250 and as cp1252: a score per decoding, higher is better.

    Only bytes the two code pages decode differently count: +2/+1 for a letter common in the code
    page's languages, 0 for another letter, -1 for a symbol, -3 for a byte the page leaves undefined.
    Context-free: a sample whose only such bytes are shared-looking letters (``ê``/``ę``) can go either
    way, which is why the user can name the encoding.
    """
    central = western = 0.0
    for byte, (c1250, c1252) in _DIFFERENT.items():
        count = sample.count(byte)
        if count:
            central += count * _weight(c1250, _CENTRAL)
            western += count * _weight(c1252, _WESTERN)
    return central, western


def _weight(char: str | None, common: dict[str, int]) -> int:
    if char is None:
        return _UNDEFINED
    if char in common:
        return common[char]
    return 0 if unicodedata.category(char).startswith("L") else -1


def _decode_byte(byte: int, encoding: str) -> str | None:
    try:
        return bytes([byte]).decode(encoding)
    except UnicodeDecodeError:
        return None


_DIFFERENT = {
    bytes([b]): pair
    for b in range(0x80, 0x100)
    if (pair := (_decode_byte(b, "cp1250"), _decode_byte(b, "cp1252")))[0] != pair[1]
}


def sniff_delimiter(text: str, *, complete: bool = False) -> str:
    """The delimiter among ``, ; tab |`` that splits the first records of ``text`` most consistently."""
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        widths = _widths(text, delimiter, complete)
        if not widths or widths[0] < 2:
            continue
        header, rest = widths[0], widths[1:]
        score = (sum(w == header for w in rest) / len(rest) if rest else 1.0, header)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _widths(text: str, delimiter: str, complete: bool) -> list[int]:
    """Field counts of the first records (blank lines skipped; a record cut by the sample's end dropped)."""
    widths: list[int] = []
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter, strict=False)
    try:
        for row in reader:
            if row:
                widths.append(len(row))
            if len(widths) > SNIFF_RECORDS:
                return widths
    except csv.Error:
        pass
    return widths if complete else widths[:-1] or widths
