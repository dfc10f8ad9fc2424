"""Swedish number text <-> float, in one place.

Reads what Swedish sources print: `1 234,5` (space, no-break space or narrow no-break
space as thousands separator), `6,4 %`, `-8`, `−3` (minus sign), suppression markers
(`<5`, `..`, `.`, `-`, `x`) and approximate markers (`~100`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

SPACES = "\u00a0\u202f\u2009\u2007 "
SUPPRESSION_MARKERS = {"..", ".", "-", "–", "x", "X", "…"}
_NUMBER = re.compile(r"^[+-]?(\d{1,3}( \d{3})+|\d+)(,\d+|\.\d+)?$")


@dataclass(frozen=True)
class ParsedNumber:
    value: float | None
    status: str  # "" (ordinary), "suppressed", "missing", "approximate"


class NumberError(ValueError):
    """Text that is neither a number nor a known marker."""


def normalise_spaces(text: str) -> str:
    for ch in SPACES:
        text = text.replace(ch, " ")
    return re.sub(" +", " ", text).strip()


def parse_number(text: str | None, *, percent_ok: bool = True) -> ParsedNumber:
    """Parse one cell. Raises NumberError with a Swedish message when it is not a number."""
    if text is None:
        return ParsedNumber(None, "missing")
    raw = normalise_spaces(str(text))
    if raw == "":
        return ParsedNumber(None, "missing")
    if raw in SUPPRESSION_MARKERS or re.fullmatch(r"<\s*\d+", raw):
        return ParsedNumber(None, "suppressed")
    status = ""
    if raw.startswith("~"):
        status, raw = "approximate", raw[1:].strip()
    if percent_ok and raw.endswith("%"):
        raw = raw[:-1].strip()
    raw = raw.replace("\u2212", "-")
    if not _NUMBER.match(raw):
        raise NumberError(f"'{text}' är inte ett tal")
    if "," in raw:
        raw = raw.replace(" ", "").replace(",", ".")
    else:
        raw = raw.replace(" ", "")
    value = float(raw)
    if math.isinf(value) or math.isnan(value):
        raise NumberError(f"'{text}' är inte ett ändligt tal")
    return ParsedNumber(value, status)


def printed_decimals(value: float, most: int) -> int:
    """The fewest decimals, at most `most` (the measure's), that write `value` as it is: 72.0 -> 0,
    73.8 -> 1. A report's indicator table prints each figure without trailing zeros."""
    return next((d for d in range(most) if round(value, d) == round(value, most)), most)


def rough_difference(change: float, decimals: int) -> float:
    """A difference involving an approximate figure, to two significant digits ('drygt 8 500'
    against 6 412: 2 088 -> 2 100); a small one to the measure's decimals."""
    digits = len(str(int(abs(change)))) - 2 if abs(change) >= 100 else 0
    return round(change, -digits) if digits > 0 else round(change, decimals)


def format_number(value: float | None, decimals: int = 0, unit: str = "") -> str:
    """Swedish formatting: 1 234,5 with a no-break space as thousands separator."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ".."
    text = f"{abs(value):,.{decimals}f}".replace(",", "\u00a0").replace(".", ",")
    if value < 0 and text.strip("0,\u00a0"):
        text = "\u2212" + text
    suffix = {"procent": "\u00a0%", "procent_kvot": "\u00a0%", "ton": "\u00a0ton", "procentenheter": "\u00a0procentenheter", "mnkr": "\u00a0mnkr",
              "manader": "\u00a0mån", "kronor": "\u00a0kr"}.get(unit, "")
    return text + suffix
