"""Refusing uploads that hold personal data: personnummer, samordningsnummer, names, contacts.

The dashboard stores aggregates only, and an upload is kept byte for byte, so a file with a
personnummer anywhere (a cell, a header, a title or footnote line) or a column of names,
e-mail addresses or phone numbers is refused before anything is stored. A number counts as
a personnummer when its date is valid (day + 60 for samordningsnummer) and either it is
written as one (a '-' or '+' before the last four digits: 19850101-1234, whatever its check
digit) or its Luhn check digit is right, so ordinary 10-digit figures are not refused. An
e-mail address is refused anywhere, also in a title or footnote line.
"""

from __future__ import annotations

import re
from datetime import date

import polars as pl

from ..problems import Problem
from .read import RawTable

MAX_REPORTED = 50

# Cheap polars prefilter (no look-around in its regex engine), exact check in Python.
_PREFILTER = r"\d{6}\s?[-+]?\s?\d{4}"
_PNR = re.compile(r"(?<![\d.,])(\d{2})?(\d{2})(\d{2})(\d{2})\s?([-+]?)\s?(\d{3})(\d)(?![\d]|[.,]\d)")
_EMAIL = r"[\w.+-]+@[\w-]+\.[\w.-]+"
_SCREEN = f"(?:{_PREFILTER})|(?:{_EMAIL})"

_PERSON_WORDS = {
    "namn", "förnamn", "efternamn", "tilltalsnamn", "mellannamn", "personnamn", "name", "firstname",
    "lastname", "surname", "fullname", "epost", "epostadress", "email", "mail", "mejl", "adress",
    "gatuadress", "postadress", "hemadress", "address", "telefon", "telefonnummer", "tel", "telnr",
    "mobil", "mobilnummer", "mobiltelefon", "phone", "personnummer", "personnr", "pnr", "samordningsnummer",
}
# "Kommun namn", "Region name": a place or a programme, not a person.
_NOT_PERSON = {
    "kommun", "region", "område", "stadsdel", "stadsdelsområde", "län", "land", "yrke", "program", "skola",
    "enhet", "verksamhet", "municipality", "county", "area", "district", "occupation", "school", "unit",
    "grupp", "målgrupp", "mått", "serie", "series", "measure", "kategori", "insats", "förvaltning", "nämnd",
}
_REFUSED = "Filen har avvisats och inget har sparats; ta bort personuppgifterna och ladda upp filen igen."


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(digits):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _valid_date(century: str | None, yy: str, mm: str, dd: str) -> bool:
    day = int(dd) - 60 if int(dd) > 60 else int(dd)  # samordningsnummer
    years = [int(century + yy)] if century else [1900 + int(yy), 2000 + int(yy)]
    for year in years:
        try:
            date(year, int(mm), day)
        except ValueError:
            continue
        if century is None or 1870 <= year <= date.today().year:
            return True
    return False


def personnummer_in(text: str) -> str | None:
    """The first valid personnummer or samordningsnummer in `text`, masked (YYMMDD-****)."""
    for m in _PNR.finditer(text):
        century, yy, mm, dd, sep, serial, check = m.groups()
        if _valid_date(century, yy, mm, dd) and (sep or luhn_ok(yy + mm + dd + serial + check)):
            return f"{yy}{mm}{dd}-****"
    return None


def _header_words(header: str) -> set[str]:
    s = header.casefold().replace("e-post", "epost").replace("e-mail", "email").replace("first name", "firstname")
    s = s.replace("last name", "lastname").replace("full name", "fullname")
    return set(re.findall(r"[a-zåäöéü]+", s))


def is_person_header(header: str) -> bool:
    words = _header_words(header)
    return bool(words & _PERSON_WORDS) and not (words & _NOT_PERSON)


def _could_match(cells: pl.Series) -> pl.Series:
    """Cells the cheap pattern could flag: at least 10 bytes (ten digits) or an '@'."""
    return (cells.str.len_bytes() >= 10) | cells.str.contains("@", literal=True)


def _screen(cells: pl.Series, rows: pl.Series) -> pl.DataFrame:
    """(text, row) of the cells the cheap pattern flags, in file order. Each distinct text is
    screened once (a table's cells are Categoricals): short numbers, codes and labels, most of a
    file, are passed over with two cheap vectorised tests, the rest searched; only when a text is
    flagged are its rows looked up."""
    empty = pl.DataFrame({"text": [], "row": []}, schema={"text": pl.String, "row": pl.Int64})
    if not isinstance(cells.dtype, pl.Categorical):
        cells = cells.cast(pl.Categorical(pl.Categories.random()))
    distinct = cells.unique().cast(pl.String)
    flagged = distinct.filter(_could_match(distinct))
    flagged = flagged.filter(flagged.str.contains(_SCREEN))
    if flagged.is_empty():
        return empty
    hit = cells.to_frame("c").select(pl.col("c").cast(pl.String).is_in(flagged.implode())).to_series()
    return pl.DataFrame({"text": cells.filter(hit).cast(pl.String), "row": rows.filter(hit)})


def find_personal_data(table: RawTable) -> list[Problem]:
    """Every place the table seems to hold personal data (empty list when none)."""
    f = table.filename
    problems: list[Problem] = []
    for i, name in enumerate(table.columns):
        label = " ".join(p for p in table.headers[i] if p)
        if is_person_header(label):
            problems.append(Problem(f, table.header_rows[-1] if table.header_rows else None, name,
                                    f"kolumnrubriken '{label}' tyder på personuppgifter (namn, adress, e-post, "
                                    f"telefon eller personnummer). {_REFUSED}"))
        if hit := personnummer_in(label):
            problems.append(Problem(f, None, name, f"rubriken innehåller ett personnummer ({hit}). {_REFUSED}"))
    for row, text in table.skipped:
        if hit := personnummer_in(text):
            problems.append(Problem(f, row, "", f"raden innehåller ett personnummer ({hit}). {_REFUSED}"))
        elif re.search(_EMAIL, text):
            problems.append(Problem(f, row, "", f"raden innehåller en e-postadress. {_REFUSED}"))

    for name in table.columns:
        hits = _screen(table.cells[name], table.row_numbers)
        for text, row in hits.iter_rows():
            if len(problems) >= MAX_REPORTED:
                break
            if hit := personnummer_in(text):
                problems.append(Problem(f, row, name, f"cellen innehåller ett personnummer eller "
                                                      f"samordningsnummer ({hit}). {_REFUSED}"))
            elif re.search(_EMAIL, text):
                problems.append(Problem(f, row, name, f"cellen innehåller en e-postadress. {_REFUSED}"))
    return problems
