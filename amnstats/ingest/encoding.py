"""Bytes to text for analysts' CSV exports, without ever guessing Swedish letters wrong.

UTF-8 (with or without BOM) and UTF-16 with BOM are decoded directly. Anything else goes
through charset-normalizer, but its guess is only one candidate: short Swedish files are
often taken for cp1250 or Asian code pages, so every candidate is scored on how Swedish the
letters it produces look, and a decoding that still yields implausible characters is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

import numpy as np
from charset_normalizer import from_bytes
from charset_normalizer.constant import IANA_SUPPORTED

from ..problems import InputError, Problem

# Letters a Swedish export plausibly holds outside ASCII; the first group scores highest.
_SWEDISH = set("åäöÅÄÖéÉ")
_WESTERN = set(
    "üÜèÈëËáÁàÀâÂêÊîÎïÏíÍìÌôÔóÓòÒúÚùÙûÛçÇñÑæÆøØßýÝÿ"
    "§°½¼¾²³µ×÷–—‘’‚“”„…€£¤«»·•´¨¸ªº©®™¹±¬¦¡¿\u00a0\u202f\u2009\u2007\u2212"
)
_FALLBACKS = ("cp1252", "latin_1", "iso8859_15", "cp850", "mac_roman")
_LABELS = {"cp1252": "Windows-1252 (Latin-1)", "latin_1": "Latin-1 (ISO-8859-1)", "iso8859_15": "ISO-8859-15",
           "cp850": "DOS (cp850)", "mac_roman": "Mac Roman"}
_MOJIBAKE = re.compile("Ã[¥¤¶…„–\u0096\u0085\u0084\u00a9]")


def _kind(ch: str) -> int:
    """-1 implausible, 1 Swedish letter, 0 neutral."""
    if ch < "\x80":
        return -1 if ch < " " and ch not in "\t\r\n" else 0
    return 1 if ch in _SWEDISH else 0 if ch in _WESTERN else -1


def _is_single_byte(encoding: str) -> bool:
    try:
        return len(bytes(range(256)).decode(encoding, errors="replace")) == 256
    except LookupError:
        return False


_KINDS: dict[tuple[str, int], int | None] = {}


def _byte_kind(encoding: str, byte: int) -> int | None:
    """_kind of one byte decoded on its own in `encoding` (None: it does not decode); remembered."""
    key = (encoding, byte)
    if key not in _KINDS:
        try:
            _KINDS[key] = _kind(bytes([byte]).decode(encoding))
        except UnicodeDecodeError:
            _KINDS[key] = None
    return _KINDS[key]


def _score_bytes(histogram: dict[int, int], encoding: str) -> tuple[int, int] | None:
    """(implausible characters, Swedish letters) from byte counts; None when a byte does not decode."""
    bad = good = 0
    for byte, n in histogram.items():
        kind = _byte_kind(encoding, byte)
        if kind is None:
            return None
        bad += n if kind < 0 else 0
        good += n if kind > 0 else 0
    return bad, good


@lru_cache(maxsize=1)
def _single_byte_codecs() -> tuple[str, ...]:
    """Every encoding charset-normalizer can name that _is_single_byte accepts."""
    return tuple(e for e in IANA_SUPPORTED if e not in _FALLBACKS and _is_single_byte(e))


def _guess_can_win(histogram: dict[int, int], best: tuple[int, int]) -> bool:
    """Whether any encoding charset-normalizer could suggest would score above `best` (the best
    fallback's (-implausible, Swedish)). When none can, its guess cannot change the outcome and
    it is not asked (it costs a pass over the first megabyte)."""
    top = _best(histogram, list(_single_byte_codecs()))
    return top is not None and top[0] > best


_PRINTABLE_ASCII = bytes(range(0x20, 0x80))


def _histogram(data: bytes) -> dict[int, int]:
    """How often each byte outside printable ASCII (>= 0x80 or < 0x20) occurs. Printable ASCII is
    deleted first (one fast pass); the rest is counted in slices (bincount widens every byte to 8)."""
    view = np.frombuffer(data.translate(None, _PRINTABLE_ASCII), dtype=np.uint8)
    counts = np.zeros(256, dtype=np.int64)
    step = 1 << 22
    for i in range(0, len(view), step):
        counts += np.bincount(view[i:i + step], minlength=256)
    return {b: int(n) for b, n in enumerate(counts) if n}


@lru_cache(maxsize=None)
def _ascii_compatible(encoding: str) -> bool:
    return bytes(range(128)).decode(encoding, errors="replace") == bytes(range(128)).decode("latin-1")


def _transcode(data: bytes, encoding: str, histogram: dict[int, int]) -> bytes:
    """data.decode(encoding).encode("utf-8"), twice as fast for a large file: decoding Latin-1 is
    a plain copy in CPython (a code page's own table is looked up byte by byte), and an
    ASCII-compatible code page differs from Latin-1 only in some bytes >= 0x80. Those the file
    holds (Windows-1252: typically a dash, or none) are replaced in the UTF-8 afterwards: there
    each such byte is a pair starting with 0xC2 or 0xC3, which is never inside another character.
    Only when no replacement is itself such a pair (a character U+0080-U+00FF): otherwise a later
    replacement could take an earlier one's result for a byte of the file (Mac Roman 'å' is
    0x8C, and its 0xE5 is 'Â', which Latin-1 writes as 'å')."""
    if not _ascii_compatible(encoding):
        return data.decode(encoding).encode("utf-8")
    try:
        differ = {chr(b): ch for b in histogram if b >= 0x80 and (ch := bytes([b]).decode(encoding)) != chr(b)}
    except UnicodeDecodeError:
        return data.decode(encoding).encode("utf-8")  # a byte the code page lacks: raises as before
    if len(differ) > 8 or any("\x80" <= ch <= "\xff" for ch in differ.values()):
        return data.decode(encoding).encode("utf-8")
    if sum(histogram[ord(latin)] for latin in differ) <= _FEW_DIFFER:
        return _transcode_around(data, {ord(latin): ch.encode("utf-8") for latin, ch in differ.items()})
    buf = data.decode("latin-1").encode("utf-8")
    for latin, ch in differ.items():
        buf = buf.replace(latin.encode("utf-8"), ch.encode("utf-8"))
    return buf


_FEW_DIFFER = 10_000  # bytes where the code page differs from Latin-1 (a dash in a title line)


def _transcode_around(data: bytes, replacements: dict[int, bytes]) -> bytes:
    """As _transcode, for a file with few bytes that differ from Latin-1: the text between them
    is transcoded as Latin-1 and the pieces joined, instead of a replace() over the whole file."""
    places = []
    for byte in replacements:
        at = data.find(byte.to_bytes(1, "big"))
        while at >= 0:
            places.append(at)
            at = data.find(byte.to_bytes(1, "big"), at + 1)
    view, pieces, start = memoryview(data), [], 0
    for at in sorted(places):
        pieces += [str(view[start:at], "latin-1").encode("utf-8"), replacements[data[at]]]
        start = at + 1
    pieces.append(str(view[start:], "latin-1").encode("utf-8"))
    return b"".join(pieces)


def _repair_mojibake(text: str) -> str | None:
    """UTF-8 that was read as Windows-1252 once and saved again ("Ã¥" for "å")."""
    try:
        fixed = text.encode("cp1252").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None
    return fixed if any(ch in fixed for ch in _SWEDISH) else None


def _best(histogram: dict[int, int], candidates: list[str]) -> tuple[tuple[int, int], int, str] | None:
    """((-implausible, Swedish), -order, encoding) of the best candidate; earlier ones win ties."""
    best: tuple[tuple[int, int], int, str] | None = None
    for order, enc in enumerate(candidates):
        score = _score_bytes(histogram, enc)
        if score is not None and (best is None or ((-score[0], score[1]), -order) > best[:2]):
            best = ((-score[0], score[1]), -order, enc)
    return best


def _check_utf8_start(data: bytes) -> None:
    """UnicodeDecodeError when the first 64 KiB are already not UTF-8, so a file in another
    encoding is not decoded whole only to fail (a character cut at the sample's end is no error)."""
    if len(data) > 1 << 16:
        try:
            data[: 1 << 16].decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.end < (1 << 16) - 4 or exc.reason != "unexpected end of data":
                raise


def decode(data: bytes, filename: str) -> tuple[str, str, list[str]]:
    """Returns (text, encoding name, notes). Raises InputError when the encoding is unsure."""
    buf, encoding, notes = to_utf8(data, filename)
    return buf.decode("utf-8"), encoding, notes


def to_utf8(data: bytes, filename: str) -> tuple[bytes, str, list[str]]:
    """As decode(), with the text as UTF-8 bytes (what polars' CSV reader splits): a UTF-8 file
    comes back as it is (without a BOM), and a file in a code page is transcoded without a str
    of the whole file in between."""
    text, encoding, notes, histogram, data = _decide(data, filename)
    return (text if text is not None else _transcode(data, encoding, histogram)), encoding, notes


PIECE_BYTES = 1 << 22


def utf8_pieces(data: bytes, filename: str, size: int | None = None) -> tuple[Iterator[bytes], str, list[str]]:
    """As to_utf8, the text in pieces of about `size` bytes (PIECE_BYTES) that each end at a
    newline (but the last). A file in an ASCII-compatible code page is transcoded a piece at a time, as the caller
    takes them: it can split one piece while the next is transcoded (CPython's codecs hold the
    GIL, polars' reader does not). Any other file is one piece."""
    size = size or PIECE_BYTES
    text, encoding, notes, histogram, data = _decide(data, filename)
    if text is not None:
        return iter([text]), encoding, notes
    if not _ascii_compatible(encoding) or len(data) <= size:
        return iter([_transcode(data, encoding, histogram)]), encoding, notes
    return (_transcode(piece, encoding, histogram) for piece in _at_newlines(data, size)), encoding, notes


def _at_newlines(data: bytes, size: int) -> Iterator[bytes]:
    """`data` in slices of about `size` bytes, each ending at a newline (but the last)."""
    start = 0
    while start < len(data):
        end = data.find(b"\n", start + size - 1) + 1 or len(data)
        yield data[start:end]
        start = end


def _decide(data: bytes, filename: str) -> tuple[bytes | None, str, list[str], dict[int, int], bytes]:
    """(the UTF-8 text, or None when `data` is in a code page; the encoding, notes, for a code page
    its byte histogram, and the bytes to transcode: `data` less a BOM that was wrong). Raises
    InputError when the encoding is unsure."""
    notes: list[str] = []
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            data[3:].decode("utf-8")
            return data[3:], "utf-8-sig", notes, {}, data
        except UnicodeDecodeError:
            data = data[3:]  # a BOM on a file that is not UTF-8 after all
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return (data.decode("utf-16").encode("utf-8"), "utf-16",
                    ["Filen är sparad som UTF-16 (Excels 'Unicode-text')."], {}, data)
        except UnicodeDecodeError:
            pass
    try:
        _check_utf8_start(data)
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if _MOJIBAKE.search(text) and (fixed := _repair_mojibake(text)) is not None:
            notes.append("Filen innehöll felkodade tecken (t.ex. 'Ã¥' för 'å'); de har rättats.")
            return fixed.encode("utf-8"), "utf-8 (rättad dubbelkodning)", notes, {}, data
        return data, "utf-8", notes, {}, data

    histogram = _histogram(data)
    candidates = list(_FALLBACKS)
    best = _best(histogram, candidates)
    if best is None or _guess_can_win(histogram, best[0]):
        for match in list(from_bytes(data[: 1 << 20]))[:5]:
            if match.encoding not in candidates and _is_single_byte(match.encoding):
                candidates.append(match.encoding)
        best = _best(histogram, candidates)
    if best is None or best[0][0] < 0:
        line = 1
        if best is not None:
            bad = [b for b in histogram if _byte_kind(best[2], b) < 0]
            line = data.count(b"\n", 0, min(data.index(bytes([b])) for b in bad)) + 1
        raise InputError([Problem(
            filename, line, "",
            "filen är inte sparad som UTF-8 och teckenkodningen går inte att avgöra säkert "
            "(å, ä och ö skulle kunna bli fel). Spara filen som 'CSV UTF-8' i Excel och ladda upp igen. "
            "Inget har sparats.",
        )], "Filen kunde inte läsas")
    enc = best[2]
    label = _LABELS.get(enc, enc)
    notes.append(f"Filen är inte UTF-8; den har lästs som {label}.")
    return None, enc, notes, histogram, data
