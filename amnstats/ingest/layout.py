"""Finding the table in a grid of cells: title lines, one or two header rows, footnotes.

Input is every record of the file as text (Excel rows or CSV records, numbered as Excel
shows them). The table's header is the first row filled across at least half the usual row
width; a sparse row right above or below it that groups the columns (`Kvinna;;Man;;Totalsumma`
over `2023;2022;...`, or Skolverket's `;;;;;Flickor;...;Pojkar`) becomes a second header level.
Blank lines and one-cell rows inside the table, and a block of narrow rows after a blank line
below it (footnotes), are skipped and reported in notes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import polars as pl

from ..numbers import NumberError, parse_number
from ..problems import InputError, Problem

HEAD_ROWS = 1000  # header search depth
MAX_RAGGED_LISTED = 20


@dataclass
class Layout:
    cells: pl.DataFrame
    headers: list[tuple[str, ...]]
    row_numbers: pl.Series
    header_rows: tuple[int, ...]
    skipped: list[tuple[int, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _refuse(filename: str, row: int | None, message: str) -> InputError:
    return InputError([Problem(filename, row, "", message)], "Filen kunde inte läsas")


def is_data_number(text: str) -> bool:
    """A number that is data rather than a header label (years and periods are labels)."""
    if re.fullmatch(r"(19|20)\d\d([-/ ]?\S*)?", text):
        return False
    try:
        return parse_number(text).value is not None
    except NumberError:
        return False


def _forward_fill(cells: list[str]) -> list[str]:
    out, last = [], ""
    for c in cells:
        last = c or last
        out.append(last)
    return out


def _needs_fill(cells: list[str]) -> bool:
    """A group row: gaps between filled cells, or the same label repeated."""
    filled = [i for i, c in enumerate(cells) if c]
    if not filled:
        return False
    inner = cells[filled[0]:filled[-1] + 1]
    labels = [c for c in inner if c]
    return "" in inner or len(set(labels)) < len(labels)


def _is_header_like(cells: list[str]) -> bool:
    filled = [c for c in cells if c]
    return len(filled) >= 2 and not any(is_data_number(c) for c in filled)


def _combine(top: list[str], bottom: list[str]) -> list[tuple[str, str]] | None:
    """Two header levels, or None when they do not name the columns uniquely. A group label
    spans only columns named in the lower row (not a trailing separator's empty column)."""
    levels = [(f if b else t, b) for t, f, b in zip(top, _forward_fill(top), bottom)]
    named = [lv for lv in levels if any(lv)]
    return levels if len(set(named)) == len(named) else None


def _names(headers: list[tuple[str, ...]]) -> list[str]:
    names, seen = [], {}
    for i, levels in enumerate(headers):
        parts: list[str] = []
        for p in levels:
            if p and p not in parts:
                parts.append(p)
        name = " | ".join(parts) or f"kolumn {i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        names.append(name)
    return names


def _row_text(cells: list[str]) -> str:
    return " ".join(c for c in cells if c)


def _header(rows: list[list[str]], filled: list[int], h: int) -> tuple[list[tuple[str, ...]], int]:
    """Header levels and the index of the first header row, given the first full row h."""
    below = rows[h + 1] if h + 1 < len(rows) else None
    above = rows[h - 1] if h >= 1 and filled[h - 1] >= 2 else None
    if below is not None and _needs_fill(rows[h]) and _is_header_like(below):
        if combined := _combine(rows[h], below):
            return combined, h
    if above is not None and _needs_fill(above) and _needs_fill(rows[h]):
        if combined := _combine(above, rows[h]):
            return combined, h - 1
    return [(c,) for c in rows[h]], h


def _split_footer(body: pl.DataFrame, wide_enough: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(table, footnotes): footnotes start at the first blank row after the last full row."""
    nz = body["__nz"]  # positions from the one column, without filtering the whole frame
    full = (nz >= wide_enough).arg_true()
    last_full = int(full.max()) if full.len() else -1
    blank = (nz.slice(last_full + 1) == 0).arg_true()
    if not blank.len():
        return body, body.clear()
    cut = last_full + 1 + int(blank.min())
    return body.slice(0, cut), body.slice(cut).filter(pl.col("__nz") > 0)


def _ragged(body: pl.DataFrame, width: int, filename: str) -> int:
    """The table width; rows wider than the header are an error unless most rows are."""
    too_wide = body.filter(pl.col("__w") > width)
    if too_wide.height * 2 >= body.height:
        return int(body["__w"].max())
    if too_wide.height:
        problems = [
            Problem(filename, r["__row"], "", f"raden har värden i {r['__w']} kolumner men rubrikraden har "
                                              f"{width}; kontrollera avgränsare och citattecken")
            for r in too_wide.head(MAX_RAGGED_LISTED).iter_rows(named=True)
        ]
        raise InputError(problems, f"Filen är ingen jämn tabell ({too_wide.height} rader för långa)")
    return width


def _stripped(grid: pl.DataFrame) -> pl.DataFrame:
    """Cells without surrounding whitespace, null as ''. Which columns have anything to strip is
    asked of each column's distinct texts; only those columns are replaced, so a million-row file
    whose cells are clean holds no second copy of them."""
    grid = grid.with_columns(pl.col(c).fill_null("") for c in grid.columns if grid[c].null_count())
    strip = []
    for c in grid.columns:
        distinct = grid[c].unique().cast(pl.String)
        # stripping only removes characters: the same length in bytes means nothing was stripped
        if distinct.str.strip_chars().str.len_bytes().sum() != distinct.str.len_bytes().sum():
            strip.append(c)
    return grid.with_columns(pl.col(c).cast(pl.String).str.strip_chars().cast(grid.schema[c]) for c in strip)


def is_filled(s: pl.Series) -> pl.Series:
    """s != '' for a column of cells (a Categorical is compared through an expression)."""
    return s.to_frame("c").select(pl.col("c") != "").to_series()


def _filled_counts(grid: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """Per row: how many cells are filled (__nz) and the 1-based position of the last one (__w).
    Most rows of a large export are filled across: only the rows with an empty cell (titles,
    notes, blank lines) are counted, the others are the full width."""
    columns = grid.get_columns()
    holes = pl.concat([(~is_filled(s)).arg_true() for s in columns]).unique().sort() if columns else pl.Series([])
    if holes.len() * 8 >= grid.height:  # many: every row counted
        return _counted(grid)
    full = pl.Series([len(columns)], dtype=pl.Int64).new_from_index(0, grid.height)
    nz, w = _counted(grid[holes])
    return full.scatter(holes, nz).alias("__nz"), full.scatter(holes, w).alias("__w")


def _counted(grid: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """_filled_counts for every row, summed column by column in 32-bit (sum_horizontal over
    booleans widens every column to 64)."""
    nz = pl.zeros(grid.height, pl.Int32, eager=True)
    w = pl.zeros(grid.height, pl.Int32, eager=True)
    for i, s in enumerate(grid.get_columns(), start=1):
        filled = is_filled(s)
        nz += filled.cast(pl.Int32)
        w = w.zip_with(~filled, pl.Series([i], dtype=pl.Int32).new_from_index(0, grid.height))
    return nz.cast(pl.Int64).alias("__nz"), w.cast(pl.Int64).alias("__w")


def find_table(grid: pl.DataFrame, row_numbers: pl.Series, filename: str) -> Layout:
    """Locate header and data rows in `grid` (String or Categorical columns, one row per file record)."""
    cols = grid.columns
    grid = _stripped(grid)
    grid = grid.with_columns(row_numbers.alias("__row"), *_filled_counts(grid))
    if grid.height == 0 or grid["__nz"].max() in (None, 0):
        raise _refuse(filename, None, "filen är tom. Inget har sparats.")
    widths = grid["__w"].filter(grid["__w"] >= 2)
    if widths.len() == 0:
        raise _refuse(filename, None, "filen ser inte ut att vara en tabell: ingen rad har mer än en kolumn "
                                      "(avgränsare semikolon, komma eller tabb). Inget har sparats.")
    typical = int(widths.mode().max())
    wide_enough = max(2, math.ceil(typical / 2))
    rows = [list(r) for r in grid.head(HEAD_ROWS).select(cols).rows()]
    head_nz = grid["__nz"].head(HEAD_ROWS).to_list()
    h = next((i for i, n in enumerate(head_nz) if n >= wide_enough), None)
    if h is None:
        raise _refuse(filename, None, "hittar ingen rubrikrad i filens början")

    headers, first = _header(rows, head_nz, h)
    levels_n = len(headers[0])
    start = first + levels_n
    notes: list[str] = []
    if levels_n == 2:
        notes.append(f"Två rubrikrader (rad {row_numbers[first]} och {row_numbers[first + 1]}) har slagits ihop.")
    skipped = [(int(row_numbers[i]), _row_text(rows[i])) for i in range(first) if head_nz[i] > 0]
    if skipped:
        notes.append(f"{len(skipped)} rad(er) med rubrik/titel ovanför tabellen har hoppats över.")

    body, footer = _split_footer(grid.slice(start), wide_enough)
    if footer.height:
        notes.append(f"{footer.height} rad(er) med fotnoter under tabellen har hoppats över.")
        skipped += [(r["__row"], _row_text([r[c] for c in cols])) for r in footer.iter_rows(named=True)]
    # A label alone in the first column ('Januari-december', 'Källa: SCB') has no values.
    section = body.select((pl.col("__nz") == 1) & (pl.col(cols[0]) != "") & pl.lit(typical >= 3)).to_series()
    if (dropped := body.filter(section) if section.any() else body.clear()).height:
        shown = ", ".join(f"{r['__row']} ('{r[cols[0]][:40]}')" for r in dropped.head(5).iter_rows(named=True))
        more = f" och {dropped.height - 5} till" if dropped.height > 5 else ""
        notes.append(f"Rader med text bara i första kolumnen saknar värden och har hoppats över: rad {shown}{more}.")
        skipped += list(zip(dropped["__row"].to_list(), dropped[cols[0]].to_list()))
    keep_rows = ~section & (body["__nz"] > 0)
    if not keep_rows.all():  # most exports have no blank or label-only rows: no copy then
        body = body.filter(keep_rows)
    if body.height == 0:
        raise _refuse(filename, None, "filen har rubriker men inga datarader. Inget har sparats.")

    header_width = max((i + 1 for i, lv in enumerate(headers) if any(lv)), default=0)
    width = _ragged(body, header_width, filename)
    headers = [tuple(lv) for lv in headers[:width]] + [("",) * levels_n] * max(0, width - len(headers))
    keep = [i for i in range(width) if any(headers[i]) or is_filled(body[cols[i]]).any()]
    headers = [headers[i] for i in keep]
    cells = body.select([pl.col(cols[i]).alias(n) for i, n in zip(keep, _names(headers))])
    return Layout(cells, headers, body["__row"].cast(pl.Int64).rename("row"),
                  tuple(int(row_numbers[i]) for i in range(first, start)), skipped, notes)
