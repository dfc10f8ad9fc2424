"""What a column or a header label is: Swedish and English header words, and cell contents.

Used by mapping.detect; kept apart so the word lists can grow without touching the logic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from ..areas import canonical_area
from ..normalise import canonical_gender, parse_values
from ..periods import PeriodError, parse_period
from .layout import is_filled

ROLE_WORDS: dict[str, set[str]] = {
    "period": {"år", "månad", "period", "tid", "tidpunkt", "tidsperiod", "year", "month", "datum", "date",
               "kvartal", "tertial", "läsår", "quarter", "mätperiod", "redovisningsperiod", "ar", "manad"},
    "gender": {"kön", "sex", "gender", "kon"},
    "area": {"område", "områden", "stadsdelsområde", "stadsdel", "stadsdelsnämnd", "stadsdelsförvaltning",
             "sdo", "sdf", "sdn", "kommun", "kommunnamn", "region", "län", "geografi", "area", "municipality",
             "county", "district", "omrade"},
    "group": {"målgrupp", "ålder", "åldersgrupp", "åldersklass", "nivå", "program", "födelseregion", "grupp",
              "age", "group", "utbildningsnivå", "bakgrund", "insats", "kategori", "huvudman", "yrke",
              "occupation", "ssyk", "malgrupp", "alder"},
    "value": {"värde", "antal", "andel", "value", "count", "share", "procent", "summa", "number", "varde"},
    "note": {"kommentar", "not", "anmärkning", "fotnot", "note", "comment", "notering"},
}
CODE_WORDS = {"kod", "code", "id", "nr", "nummer"}
SHARE_WORDS = {"andel", "procent", "share", "rate", "arbetslöshet", "grad"}
MONTHS_NO_YEAR = re.compile(
    r"(januari|februari|mars|april|maj|juni|juli|augusti|september|oktober|november|december|"
    r"jan|feb|mar|apr|jun|jul|aug|sept?|okt|nov|dec)\.?", re.IGNORECASE)


def words(label: str) -> set[str]:
    return set(re.findall(r"[a-zåäöéü]+", label.casefold()))


def header_score(label: str, role: str) -> int:
    """3 when the whole header is a role word, 2 when one word is, minus 2 for code columns."""
    if not label:
        return 0
    found = words(label)
    if " ".join(label.casefold().split()) in ROLE_WORDS[role]:
        score = 3
    elif found & ROLE_WORDS[role]:
        score = 2
    else:
        return 0
    return score - 2 if role in ("area", "period") and found & CODE_WORDS else score


@lru_cache(maxsize=4096)
def is_period(text: str) -> bool:
    """A period label with a plausible year (so codes like '1440' are not years)."""
    try:
        p = parse_period(text)
    except PeriodError:
        return False
    return 1990 <= p.start.year <= 2100


def is_month_without_year(text: str) -> bool:
    return bool(MONTHS_NO_YEAR.fullmatch(text.strip()))


@lru_cache(maxsize=4096)
def is_gender(text: str) -> bool:
    """A gender word; digits and one-letter codes only count inside a gender column."""
    t = text.strip()
    return len(t) >= 3 and not any(ch.isdigit() for ch in t) and canonical_gender(t) is not None


@lru_cache(maxsize=4096)
def is_area(text: str) -> bool:
    return bool(text.strip()) and canonical_area(text) is not None


def label_role(label: str) -> str | None:
    """What a header label names when its column holds values: a period, gender or area."""
    if not label:
        return None
    if is_gender(label):
        return "gender"
    if is_period(label) or is_month_without_year(label):
        return "period"
    if is_area(label) and not label.strip().isdigit():
        return "area"
    return None


@dataclass(frozen=True)
class Profile:
    label: str
    n_filled: int
    n_unique: int
    numeric: float  # share of filled cells that are numbers or suppression markers
    period: float   # shares of distinct filled values
    month_no_year: float
    gender: float
    area: float


def profile(cells: pl.Series, label: str, sample: int = 2000) -> Profile:
    filled = cells.filter(is_filled(cells))
    head = filled.head(sample).cast(pl.String)
    if head.len() == 0:
        return Profile(label, 0, 0, 0.0, 0.0, 0.0, 0.0, 0.0)
    _value, _status, invalid = parse_values(pl.col("v"))
    numeric = head.to_frame("v").select((~invalid).mean()).item()
    uniq = head.unique().head(200).to_list()

    def share(fn) -> float:
        return sum(1 for u in uniq if fn(u)) / len(uniq)

    return Profile(label, filled.len(), filled.n_unique(), float(numeric), share(is_period),
                   share(is_month_without_year), share(lambda u: canonical_gender(u) is not None), share(is_area))
