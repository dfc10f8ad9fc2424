"""Bytes to text for analysts' CSV exports, without ever guessing Swedish letters wrong.

UTF-8 (with or without BOM) and UTF-16 with BOM are decoded directly. Anything else goes
through charset-normalizer, but its guess is only one candidate: short Swedish files are
often taken for cp1250 or Asian code pages, so every candidate is scored on how Swedish the
letters it produces look, and a decoding that still yields implausible characters is refused.
"""

from __future__ import annotations

import re

import numpy as np
from charset_normalizer import from_bytes

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


def _score_bytes(histogram: dict[int, int], encoding: str) -> tuple[int, int] | None:
    """(implausible characters, Swedish letters) from byte counts; None when a byte does not decode."""
    bad = good = 0
    for byte, n in histogram.items():
        try:
            kind = _kind(bytes([byte]).decode(encoding))
        except UnicodeDecodeError:
            return None
        bad += n if kind < 0 else 0
        good += n if kind > 0 else 0
    return bad, good


def _repair_mojibake(text: str) -> str | None:
    """UTF-8 that was read as Windows-1252 once and saved again ("Ã¥" for "å")."""
    try:
        fixed = text.encode("cp1252").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None
    return fixed if any(ch in fixed for ch in _SWEDISH) else None


def decode(data: bytes, filename: str) -> tuple[str, str, list[str]]:
    """Returns (text, encoding name, notes). Raises InputError when the encoding is unsure."""
    notes: list[str] = []
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig", notes
        except UnicodeDecodeError:
            data = data[3:]  # a BOM on a file that is not UTF-8 after all
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16", ["Filen är sparad som UTF-16 (Excels 'Unicode-text')."]
        except UnicodeDecodeError:
            pass
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if _MOJIBAKE.search(text) and (fixed := _repair_mojibake(text)) is not None:
            notes.append("Filen innehöll felkodade tecken (t.ex. 'Ã¥' för 'å'); de har rättats.")
            return fixed, "utf-8 (rättad dubbelkodning)", notes
        return text, "utf-8", notes

    counts = np.bincount(np.frombuffer(data, dtype=np.uint8), minlength=256)
    histogram = {b: int(n) for b, n in enumerate(counts) if n and (b >= 0x80 or b < 0x20)}
    candidates = list(_FALLBACKS)
    for match in list(from_bytes(data[: 1 << 20]))[:5]:
        if match.encoding not in candidates and _is_single_byte(match.encoding):
            candidates.append(match.encoding)
    best: tuple[tuple[int, int], int, str] | None = None
    for order, enc in enumerate(candidates):
        score = _score_bytes(histogram, enc)
        if score is not None and (best is None or ((-score[0], score[1]), -order) > best[:2]):
            best = ((-score[0], score[1]), -order, enc)
    if best is None or best[0][0] < 0:
        line = 1
        if best is not None:
            bad = [b for b in histogram if _kind(bytes([b]).decode(best[2])) < 0]
            line = data.count(b"\n", 0, min(data.index(bytes([b])) for b in bad)) + 1
        raise InputError([Problem(
            filename, line, "",
            "filen är inte sparad som UTF-8 och teckenkodningen går inte att avgöra säkert "
            "(å, ä och ö skulle kunna bli fel). Spara filen som 'CSV UTF-8' i Excel och ladda upp igen. "
            "Inget har sparats.",
        )], "Filen kunde inte läsas")
    enc = best[2]
    text = data.decode(enc)
    label = _LABELS.get(enc, enc)
    notes.append(f"Filen är inte UTF-8; den har lästs som {label}.")
    return text, enc, notes
