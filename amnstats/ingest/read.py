"""Reading an uploaded export: bytes of a CSV or Excel file in, a `RawTable` of cells out.

`read_table(data, filename)` accepts what analysts really have: CSV with `;`, `,` or tab
(sniffed), UTF-8 with or without BOM, Windows-1252/Latin-1, title lines above the header, a
trailing separator on every line, two header rows, and .xlsx/.xlsm workbooks (first sheet
unless `sheet` is given). Every data row keeps its row number in the file, as Excel shows it,
so later errors can say where to look. Anything that is not a readable table raises
`InputError` with Swedish problems naming the file, row and column.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import PurePath

import polars as pl

from ..numbers import format_number
from ..problems import InputError, Problem
from .encoding import to_utf8, utf8_pieces
from .layout import find_table

Progress = Callable[[float, str], None]

TEXT_SUFFIXES = (".csv", ".txt", ".tsv", ".tab")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
ACCEPTED_SV = "CSV- eller textfil (.csv, .txt, .tsv, .tab) med semikolon, komma eller tabb, eller Excel (.xlsx, .xlsm)"
SEPARATORS = ("\t", ";", ",", "|")
MAX_COLUMNS = 2000
SNIFF_LINES = 200
PROGRESS_EVERY = 50_000


class _TooWide(Exception):
    """More columns than any table an analyst exports."""


@dataclass
class RawTable:
    """A table as read from a file, every cell still its text.

    `cells` has one column per table column, a Categorical of its own categories (each distinct
    text held once: a million rows of labels cost 4 bytes a cell; see `text` for String), named
    by a unique label built from the
    header levels ("Kvinna | 2023" for two rows, "kolumn 3" when the header is empty);
    `headers[i]` holds the levels of column i, top row first. `row_numbers[j]` is the file row
    (1-based, as Excel shows it) of data row j.
    """

    filename: str
    cells: pl.DataFrame
    headers: list[tuple[str, ...]]
    row_numbers: pl.Series
    header_rows: tuple[int, ...] = ()
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (file row, text): titles, notes
    encoding: str = ""
    separator: str = ""
    sheet: str = ""
    sheets: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return self.cells.columns

    def text(self, column: str) -> pl.Series:
        """The cells of `column` as String (a copy of every cell: for small tables and samples)."""
        return self.cells[column].cast(pl.String)

    @property
    def n_levels(self) -> int:
        return len(self.headers[0]) if self.headers else 1

    def header(self, column: str) -> tuple[str, ...]:
        return self.headers[self.columns.index(column)]

    @property
    def preamble(self) -> list[str]:
        """Text of the title lines above the header (e.g. Skolverket's 'Valt läsår: 2024/25')."""
        top = min(self.header_rows) if self.header_rows else 0
        return [text for row, text in self.skipped if row < top]

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, filename: str = "tabell", first_row: int = 2) -> RawTable:
        """A one-header table from a DataFrame (tests, benchmarks, programmatic uploads)."""
        cells = as_codes(frame.select(pl.all().cast(pl.String).fill_null("")))
        rows = pl.int_range(first_row, first_row + frame.height, eager=True, dtype=pl.Int64).rename("row")
        return cls(filename, cells, [(c,) for c in cells.columns], rows, header_rows=(first_row - 1,))


def as_codes(grid: pl.DataFrame) -> pl.DataFrame:
    """Every column of `grid` as a Categorical of its own categories, as a RawTable holds cells."""
    return grid.with_columns(pl.col(c).cast(_coded()) for c, dtype in grid.schema.items()
                             if not isinstance(dtype, pl.Categorical))


def _coded() -> pl.Categorical:
    """A Categorical of new categories (freed with the last column that uses them)."""
    return pl.Categorical(pl.Categories.random())


def _refuse(filename: str, message: str, row: int | None = None) -> InputError:
    return InputError([Problem(filename, row, "", message)], "Filen kunde inte läsas")


def _size_text(n_bytes: int, limit: int) -> tuple[str, str]:
    mb, limit_mb = n_bytes / 2**20, limit / 2**20
    decimals = 0 if round(mb) != round(limit_mb) else 1
    return format_number(mb, decimals), format_number(limit_mb, 0 if limit_mb >= 1 else 1)


def _check_type(data: bytes, filename: str) -> str:
    """'excel' or 'text', or InputError for what cannot be read."""
    suffix = PurePath(filename).suffix.lower()
    if data.startswith(b"%PDF"):
        raise _refuse(filename, f"PDF-filer kan inte läsas in. Godkända format: {ACCEPTED_SV}. Inget har sparats.")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise _refuse(filename, "filen är i Excels gamla format (.xls) som inte stöds. Öppna den i Excel och "
                                f"spara som .xlsx eller CSV UTF-8. Godkända format: {ACCEPTED_SV}. Inget har sparats.")
    if data.startswith(b"PK\x03\x04"):
        if suffix in EXCEL_SUFFIXES + TEXT_SUFFIXES + ("",):
            return "excel"
        raise _refuse(filename, f"filtypen {suffix} stöds inte. Godkända format: {ACCEPTED_SV}. Inget har sparats.")
    if data.lstrip()[:1] == b"<":
        raise _refuse(filename, f"filen är en webbsida (HTML), inte en tabellfil. Godkända format: {ACCEPTED_SV}. "
                                "Inget har sparats.")
    if suffix in EXCEL_SUFFIXES:
        raise _refuse(filename, "filen heter .xlsx men är ingen Excel-fil (den kan vara skadad). Inget har sparats.")
    if suffix not in TEXT_SUFFIXES + (".xls", ""):
        raise _refuse(filename, f"filtypen {suffix} stöds inte. Godkända format: {ACCEPTED_SV}. Inget har sparats.")
    return "text"


def _check_binary(data: bytes, filename: str) -> bytes:
    sample = data[: 1 << 16]
    if b"\x00" not in sample or sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data
    # UTF-16 without BOM: every other byte is zero for Latin text.
    if sample[1::2].count(0) > 0.4 * len(sample[1::2]):
        return b"\xff\xfe" + data
    if sample[0::2].count(0) > 0.4 * len(sample[0::2]):
        return b"\xfe\xff" + data
    raise _refuse(filename, "filen ser inte ut att vara en tabell (den innehåller binära data). "
                            f"Godkända format: {ACCEPTED_SV}. Inget har sparats.")


def sniff_separator(lines: list[str]) -> str:
    """The separator that splits the sample into the most columns consistently; '' for none."""
    sample = [line for line in lines[:SNIFF_LINES] if line.strip()]
    best = ("", 1, 0)
    for priority, sep in enumerate(SEPARATORS):
        counts = Counter(len(rec) for rec in csv.reader(sample, delimiter=sep) if rec)
        if not counts:
            continue
        width, freq = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
        if width >= 2 and freq >= 0.5 * sum(counts.values()) and (width, -priority) > (best[1], -best[2]):
            best = (sep, width, priority)
    return best[0]


def _grid_fast(lines: list[str], sep: str) -> pl.DataFrame:
    """No quotes in the file: split every line in polars."""
    s = pl.Series("line", lines, dtype=pl.String)
    n = int(s.str.count_matches(sep, literal=True).max() or 0) + 1 if sep else 1
    if n > MAX_COLUMNS:
        raise _TooWide(n)
    if n == 1:
        return s.to_frame("c0")
    parts = s.str.split_exact(sep, n - 1).struct.unnest()
    return parts.rename(dict(zip(parts.columns, [f"c{i}" for i in range(n)])))


def _grid_csv(text: str, sep: str, filename: str, progress: Progress | None) -> pl.DataFrame:
    """Quoted fields: the csv module, reporting progress."""
    total = text.count("\n") + 1
    records: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep or ",")
    try:
        for rec in reader:
            records.append(rec)
            if progress and len(records) % PROGRESS_EVERY == 0:
                progress(0.2 + 0.6 * min(1.0, reader.line_num / total), f"Läser rad {len(records):,}".replace(",", " "))
    except csv.Error as exc:
        raise _refuse(filename, f"raden kan inte tolkas som CSV ({exc})", reader.line_num) from None
    for i, rec in enumerate(records, start=1):
        if any("\n" in c and (sep and sep in c) for c in rec):
            raise _refuse(filename, 'ett citattecken (") på raden avslutas aldrig, så resten av filen blev en '
                                    "enda cell. Rätta citattecknen och försök igen.", i)
    width = max((len(r) for r in records), default=1)
    if width > MAX_COLUMNS:
        raise _TooWide(width)
    records = [r if len(r) == width else r + [""] * (width - len(r)) for r in records]
    columns = list(zip(*records)) if records else [()]
    return pl.DataFrame({f"c{i}": pl.Series(col, dtype=pl.String) for i, col in enumerate(columns)})


def _head_lines(buf: bytes, n: int) -> list[str]:
    """The first `n` lines of the UTF-8 `buf` (newlines already normalised; a final newline ends
    the last line), decoded, without splitting or decoding the rest."""
    end = -1
    for _ in range(n):
        end = buf.find(b"\n", end + 1)
        if end < 0 or end == len(buf) - 1:  # fewer lines than n: the text is short
            return (buf[:-1] if buf.endswith(b"\n") else buf).decode("utf-8").split("\n")[:n]
    return buf[:end].decode("utf-8").split("\n")


_CONTROL = bytes(b for b in range(32) if b not in b"\t\r\n")


def _grid_polars(buf: bytes, sep: str, width: int, dtypes: list | None = None) -> pl.DataFrame | None:
    """No quotes in the file: polars' CSV reader splits the UTF-8 bytes into `width` columns, the
    same cells as _grid_fast (a missing field is empty, a blank line a blank row), each of its
    `dtypes` (String, or the Categorical every piece of the file shares). None when a line has
    more fields than `width` (the caller then splits line by line)."""
    try:
        grid = pl.read_csv(buf, has_header=False, separator=sep, quote_char=None, comment_prefix=None,
                           schema={f"c{i}": dtypes[i] if dtypes else pl.String for i in range(width)},
                           missing_columns="insert",
                           empty_string_is_null=False, truncate_ragged_lines=False, raise_if_empty=False,
                           eol_char="\n")
    except pl.exceptions.PolarsError:  # "found more fields than defined in 'Schema'", or anything odd
        return None
    return grid


def _read_text(data: bytes, filename: str, progress: Progress | None) -> tuple[pl.DataFrame, str, str, list[str]]:
    raw = _check_binary(data, filename)
    pieces, encoding, notes = utf8_pieces(raw, filename)
    buf = _newlines(next(pieces))
    if buf.count(b"\n") < SNIFF_LINES:  # the sample must not end at a piece's end
        buf += b"".join(_newlines(p) for p in pieces)
    # the first 100 000 characters (up to 4 bytes each); control characters are ASCII in UTF-8
    start = buf[:400_000].decode("utf-8", "ignore")[:100_000].encode("utf-8")
    if len(start.translate(None, _CONTROL)) < len(start) - 10:
        raise _refuse(filename, "filen ser inte ut att vara en tabell (den innehåller styrtecken). "
                                f"Godkända format: {ACCEPTED_SV}. Inget har sparats.")
    head = _head_lines(buf, SNIFF_LINES)
    sep = sniff_separator(head)
    if progress:
        progress(0.2, "Delar upp raderna i kolumner")
    grid = None
    if sep and (width := max(line.count(sep) for line in head) + 1) <= MAX_COLUMNS:
        # polars splits the UTF-8 bytes (the upload itself when it is plain UTF-8: no copy), a
        # piece while the next is transcoded
        grid, n_pieces = _grid_pieces(buf, pieces, sep, width)
        if grid is None and n_pieces > 1:  # the pieces are gone: the whole text again, for the line split
            buf = _newlines(to_utf8(raw, filename)[0])
    else:
        buf += b"".join(_newlines(p) for p in pieces)
    if grid is None:  # quotes, or a line wider than the first ones
        text = buf.decode("utf-8")
        del buf
        if text.endswith("\n"):
            text = text[:-1]
        try:
            grid = _grid_fast(text.split("\n"), sep) if '"' not in text else _grid_csv(text, sep, filename, progress)
        except _TooWide as exc:
            raise _refuse(filename, f"filen ser inte ut att vara en tabell ({exc.args[0]} kolumner). "
                                    "Inget har sparats.") from None
        grid = as_codes(grid)
    return grid, encoding, sep, notes


def _newlines(buf: bytes) -> bytes:
    """Windows' and old Mac's line ends as \\n (a piece ends at a \\n: a \\r\\n is never cut in two)."""
    return buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n") if b"\r" in buf else buf


def _grid_pieces(first: bytes, rest, sep: str, width: int) -> tuple[pl.DataFrame | None, int]:
    """(the cells of `first` and the pieces of `rest` split by polars' reader, or None when a piece
    holds quotes, a NUL or a line wider than `width`; the number of pieces). Each piece is split
    in a thread while the next is transcoded (`rest` transcodes as it is iterated), and let go
    once it is split."""
    dtypes = [_coded() for _ in range(width)]  # the cells as codes, each column's own, in every piece
    with ThreadPoolExecutor(max_workers=1) as splitter:
        grids = [splitter.submit(_grid_plain, first, sep, width, dtypes)]
        del first
        for piece in rest:
            grids.append(splitter.submit(_grid_plain, _newlines(piece), sep, width, dtypes))
        parts = [g.result() for g in grids]
    if any(p is None for p in parts):
        return None, len(parts)
    # One chunk per column, once: the reader returns one per thread and block, and every later
    # frame operation beside a one-chunk column (row numbers) would copy all the cells again.
    return (parts[0] if len(parts) == 1 else pl.concat(parts, how="vertical")).rechunk(), len(parts)


def _grid_plain(buf: bytes, sep: str, width: int, dtypes: list) -> pl.DataFrame | None:
    """_grid_polars for text without quotes or NUL (None otherwise)."""
    return _grid_polars(buf, sep, width, dtypes) if b'"' not in buf and b"\x00" not in buf else None


def _read_excel(data: bytes, filename: str, sheet: str | int | None) -> tuple[pl.DataFrame, str, list[str]]:
    import fastexcel  # imported here: only Excel uploads pay for it

    try:
        reader = fastexcel.read_excel(data)
        names = list(reader.sheet_names)
    except Exception as exc:  # noqa: BLE001 - fastexcel raises many kinds; all mean "not readable"
        raise _refuse(filename, f"Excel-filen kan inte öppnas ({type(exc).__name__}); den kan vara skadad eller "
                                "lösenordsskyddad. Inget har sparats.") from None
    if not names:
        raise _refuse(filename, "Excel-filen har inga blad. Inget har sparats.")
    if sheet is None:
        index = 0
    elif isinstance(sheet, int) and 0 <= sheet < len(names):
        index = sheet
    elif isinstance(sheet, str) and sheet in names:
        index = names.index(sheet)
    else:
        raise _refuse(filename, f"bladet '{sheet}' finns inte; filen har bladen {', '.join(names)}")
    try:
        frame = reader.load_sheet(index, header_row=None, dtypes="string", skip_rows=0).to_polars()
    except Exception as exc:  # noqa: BLE001
        raise _refuse(filename, f"bladet '{names[index]}' kan inte läsas ({type(exc).__name__})") from None
    if frame.width == 0 or frame.height == 0:
        raise _refuse(filename, f"bladet '{names[index]}' är tomt. Inget har sparats.")
    frame = frame.rename(dict(zip(frame.columns, [f"c{i}" for i in range(frame.width)])))
    # Whole dates come as '2023-01-31 00:00:00'; the time part is noise.
    frame = frame.with_columns(pl.all().str.replace(r"^(\d{4}-\d\d-\d\d) 00:00:00$", "$1"))
    return as_codes(frame), names[index], names


def _layout(grid: pl.DataFrame, filename: str):
    """find_table on a grid whose rows are the file's rows from 1."""
    return find_table(grid, pl.int_range(1, grid.height + 1, eager=True, dtype=pl.Int64), filename)


def _first_table_sheet(data: bytes, filename: str, sheets: list[str]):
    """(grid, sheet, layout, notes) of the first sheet after the first that holds a table, or
    InputError naming every sheet."""
    for name in sheets[1:]:
        try:
            grid, _, _ = _read_excel(data, filename, name)
            layout = _layout(grid, filename)
        except InputError:
            continue
        others = ", ".join(s for s in sheets if s != name)
        return grid, name, layout, [f"Bladet '{sheets[0]}' innehåller ingen tabell; bladet '{name}' har lästs "
                                    f"(filen har också {others})."]
    raise _refuse(filename, "inget av Excel-filens blad innehåller en tabell med rubrikrad och värden (bladen: "
                            f"{', '.join(sheets)}). Inget har sparats.")


def read_table(
    data: bytes,
    filename: str,
    *,
    sheet: str | int | None = None,
    max_bytes: int = 50 * 1024 * 1024,
    progress: Progress | None = None,
) -> RawTable:
    """Read an uploaded CSV/Excel file into a RawTable, or raise InputError saying why not."""
    if not data:
        raise _refuse(filename, "filen är tom. Inget har sparats.")
    if len(data) > max_bytes:
        size, limit = _size_text(len(data), max_bytes)
        raise _refuse(filename, f"Filen är {size} MB; största tillåtna storlek är {limit} MB. Inget har sparats.")
    if progress:
        progress(0.0, "Läser filen")
    kind = _check_type(data, filename)
    notes: list[str] = []
    if kind == "excel":
        if progress:
            progress(0.1, "Öppnar Excel-filen")
        grid, sheet_name, sheets = _read_excel(data, filename, sheet)
        encoding, sep = "xlsx", ""
        if len(sheets) > 1:
            others = ", ".join(s for s in sheets if s != sheet_name)
            notes.append(f"Bladet '{sheet_name}' har lästs; filen har också {others}.")
    else:
        grid, encoding, sep, notes = _read_text(data, filename, progress)
        sheet_name, sheets = "", []
    if progress:
        progress(0.85, "Letar rubrikrader och datarader")
    try:
        layout = _layout(grid, filename)
    except InputError:
        if kind != "excel" or sheet is not None or len(sheets) < 2:
            raise
        # The first sheet is often a title page ('Info', 'Om statistiken'): the first sheet that
        # holds a table is read instead, and the analyst can still choose another.
        grid, sheet_name, layout, notes = _first_table_sheet(data, filename, sheets)
    if progress:
        progress(1.0, "Filen är inläst")
    return RawTable(
        filename=filename, cells=layout.cells, headers=layout.headers, row_numbers=layout.row_numbers,
        header_rows=layout.header_rows, skipped=layout.skipped, encoding=encoding, separator=sep,
        sheet=sheet_name, sheets=sheets, notes=notes + layout.notes,
    )
