"""Period labels, parsed to dates in one place.

Canonical labels (what the store holds):
  `2023` year, `2021-T1` tertial (T1 jan-apr, T2 maj-aug, T3 sep-dec), `2022-K3` quarter,
  `2022-12` month, `2021-01--2021-03` a range of whole months, `2022-12-31` a date
  (a stock at that day), `2024/25` a school year (läsår, 1 jul - 30 jun).
Swedish spellings such as "jan-mars 2021", "Tertial 1 2021", "T1 2021", "december 2022",
"jan 2023", "2020M01" (SCB), "VB 2023" and "Januari-december" (with a year given) are
parsed to the same labels.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

MONTHS_SV = ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]
_MONTH_WORDS = {
    "januari": 1, "jan": 1, "februari": 2, "feb": 2, "mars": 3, "mar": 3, "april": 4, "apr": 4,
    "maj": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7, "augusti": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9, "oktober": 10, "okt": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}
_MONTH_RE = "(" + "|".join(sorted(_MONTH_WORDS, key=len, reverse=True)) + r")\.?"


class PeriodError(ValueError):
    """A label that names no period we know."""


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date
    type: str  # year | tertial | quarter | month | months | date | school_year


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _months(y1: int, m1: int, y2: int, m2: int) -> Period:
    if (y2, m2) < (y1, m1):
        raise PeriodError(f"perioden slutar före den börjar: {y1}-{m1:02d}--{y2}-{m2:02d}")
    if (y1, m1) == (y2, m2):
        return Period(f"{y1}-{m1:02d}", date(y1, m1, 1), _month_end(y1, m1), "month")
    if m1 == 1 and m2 == 12 and y1 == y2:
        return Period(str(y1), date(y1, 1, 1), date(y1, 12, 31), "year")
    return Period(f"{y1}-{m1:02d}--{y2}-{m2:02d}", date(y1, m1, 1), _month_end(y2, m2), "months")


def _canonical(text: str) -> Period | None:
    if m := re.fullmatch(r"(\d{4})", text):
        y = int(m[1])
        return Period(text, date(y, 1, 1), date(y, 12, 31), "year")
    if m := re.fullmatch(r"(\d{4})-T([123])", text):
        y, t = int(m[1]), int(m[2])
        return Period(text, date(y, 4 * t - 3, 1), _month_end(y, 4 * t), "tertial")
    if m := re.fullmatch(r"(\d{4})-K([1234])", text):
        y, q = int(m[1]), int(m[2])
        return Period(text, date(y, 3 * q - 2, 1), _month_end(y, 3 * q), "quarter")
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        y, mo = int(m[1]), int(m[2])
        if 1 <= mo <= 12:
            return Period(text, date(y, mo, 1), _month_end(y, mo), "month")
    if m := re.fullmatch(r"(\d{4})-(\d{2})--(\d{4})-(\d{2})", text):
        y1, m1, y2, m2 = map(int, m.groups())
        if 1 <= m1 <= 12 and 1 <= m2 <= 12:
            p = _months(y1, m1, y2, m2)
            if p.label == text:
                return p
    if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text):
        try:
            d = date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
        return Period(text, d, d, "date")
    if m := re.fullmatch(r"(\d{4})/(\d{2})", text):
        y = int(m[1])
        if (y + 1) % 100 == int(m[2]):
            return Period(text, date(y, 7, 1), date(y + 1, 6, 30), "school_year")
    return None


def parse_period(text: str, default_year: int | None = None) -> Period:
    """Parse a canonical or Swedish period label. Raises PeriodError in Swedish."""
    raw = " ".join(str(text).replace("\u00a0", " ").split())
    if p := _canonical(raw):
        return p
    s = raw.lower().replace("–", "-").replace("—", "-")
    s = re.sub(r"^(vb|bokslut|helår|helåret|år)\s+", "", s)
    if p := _canonical(s.upper() if "t" in s or "k" in s else s):
        return p
    if m := re.fullmatch(r"(\d{4})m(\d{2})", s):  # SCB: 2020M01
        return _months(int(m[1]), int(m[2]), int(m[1]), int(m[2]))
    if m := re.fullmatch(r"(\d{4})k([1-4])", s):  # SCB: 2022K3
        return _canonical(f"{m[1]}-K{m[2]}")
    if m := re.fullmatch(r"(?:tertial\s*|t)([123])[\s,]+(\d{4})", s) or re.fullmatch(
        r"(\d{4})\s*(?:tertial\s*|t)([123])", s
    ):
        a, b = m.groups()
        year, t = (int(b), int(a)) if len(a) == 1 else (int(a), int(b))
        return _canonical(f"{year}-T{t}")
    if m := re.fullmatch(r"(?:kvartal\s*|k)([1-4])[\s,]+(\d{4})", s):
        return _canonical(f"{m[2]}-K{m[1]}")
    month_range = re.fullmatch(_MONTH_RE + r"\s*(\d{4})?\s*-\s*" + _MONTH_RE + r"\s*(\d{4})?", s)
    if month_range:
        m1, y1, m2, y2 = month_range.groups()
        y2 = int(y2) if y2 else default_year
        y1 = int(y1) if y1 else y2
        if y1 is None or y2 is None:
            raise PeriodError(f"perioden '{text}' saknar år")
        return _months(y1, _MONTH_WORDS[m1], y2, _MONTH_WORDS[m2])
    if m := re.fullmatch(_MONTH_RE + r"\s*(\d{4})?", s):
        year = int(m[2]) if m[2] else default_year
        if year is None:
            raise PeriodError(f"perioden '{text}' saknar år")
        mo = _MONTH_WORDS[m[1]]
        return _months(year, mo, year, mo)
    if m := re.fullmatch(r"(\d{1,2})\s+" + _MONTH_RE + r"\s+(\d{4})", s):
        try:
            d = date(int(m[3]), _MONTH_WORDS[m[2]], int(m[1]))
        except ValueError as exc:
            raise PeriodError(f"'{text}' är inget giltigt datum") from exc
        return Period(d.isoformat(), d, d, "date")
    raise PeriodError(f"'{text}' är ingen period som går att tolka (t.ex. 2023, 2023-T1, 2022-12, jan-mars 2021)")


def shift_year(period: Period, years: int = -1) -> Period:
    """The same period `years` years away: a tertial to the same tertial, a month to the same month."""
    s, e = period.start, period.end
    if period.type == "date":
        try:
            d = s.replace(year=s.year + years)
        except ValueError:  # 29 Feb
            d = date(s.year + years, 2, 28)
        return Period(d.isoformat(), d, d, "date")
    if period.type == "school_year":
        y = s.year + years
        return Period(f"{y}/{(y + 1) % 100:02d}", date(y, 7, 1), date(y + 1, 6, 30), "school_year")
    if period.type in ("tertial", "quarter"):
        return _canonical(f"{s.year + years}{period.label[4:]}")  # type: ignore[return-value]
    return _months(s.year + years, s.month, e.year + years, e.month)


def format_period(label: str) -> str:
    """Display in Swedish: `T1 2021`, `dec 2022`, `jan–mar 2021`, `31 dec 2022`."""
    try:
        p = parse_period(label)
    except PeriodError:
        return label
    if p.type == "tertial":
        return f"T{label[-1]} {p.start.year}"
    if p.type == "quarter":
        return f"K{label[-1]} {p.start.year}"
    if p.type == "month":
        return f"{MONTHS_SV[p.start.month - 1]} {p.start.year}"
    if p.type == "months":
        a, b = MONTHS_SV[p.start.month - 1], MONTHS_SV[p.end.month - 1]
        if p.start.year == p.end.year:
            return f"{a}–{b} {p.start.year}"
        return f"{a} {p.start.year}–{b} {p.end.year}"
    if p.type == "date":
        return f"{p.start.day} {MONTHS_SV[p.start.month - 1]} {p.start.year}"
    return p.label
