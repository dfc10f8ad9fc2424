"""Analysts' uploads: the bytes of a CSV or Excel export in, validated observations or a
clear Swedish account of what is wrong and where out. Nothing is stored here; committing,
history and undo are the caller's.

Entry point::

    from amnstats.ingest import prepare, set_measure

    first = prepare(data, "arbetsloshet_mars.xlsx")
    first.status            # "needs_mapping": the file was read, the layout detected
    first.mapping.describe_missing()   # what the analyst must still answer (Swedish)
    mapping = set_measure(first.mapping, first.table, "unemployment", "arbetslosa_andel")
    mapping.area = Source.fixed("Stockholm")       # e.g. a constant for the whole file
    result = prepare(data, "arbetsloshet_mars.xlsx", mapping)
    result.status           # "ready": result.observations (STORED_SCHEMA), result.warnings
                            # "invalid": result.problems, each Problem(file, row, column, message)
                            # "refused": unreadable, too big, wrong type or personal data

`prepare` never raises for bad input: every problem comes back in `Prepared.problems`.
Steps, each usable on its own:
  read.read_table(data, filename)        -> RawTable (text cells, header levels, file row numbers)
  privacy.find_personal_data(table)      -> problems (personnummer, names, e-mail, phone)
  mapping.detect(table) / mapping.fit    -> Mapping (saved as a template via to_dict/from_dict;
                                            mapping.layout_signature(table) finds the template)
  mapping.apply(table, mapping, ...)     -> candidate rows (amnstats.normalise.CANDIDATE_COLUMNS)
  amnstats.normalise.normalise(...)      -> observations, problems translated to file columns
  checks.check_observations(obs, file)   -> duplicate errors, kvinnor + män ≠ totalt warnings
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import polars as pl

from ..normalise import is_constant, normalise, value_codes
from ..problems import InputError, Problem
from .checks import check_observations
from .mapping import (
    FIELD_SV, FIELDS, Mapping, Source, Wide, apply, check, choose_value_columns, detect, fit, unanswered,
    layout_signature, set_measure,
)
from .privacy import find_personal_data
from .read import Progress, RawTable, read_table

__all__ = [
    "Prepared", "prepare", "RawTable", "read_table", "find_personal_data", "Mapping", "Source", "Wide",
    "detect", "fit", "apply", "check", "choose_value_columns", "set_measure", "layout_signature",
    "check_observations", "unanswered",
]

_TAG = "\x1f"  # joins file name and value column in raw_file while normalise() runs


@dataclass
class Prepared:
    """The outcome of one upload attempt. `status` is one of:
    refused        the file cannot be used at all (problems say why; table is None)
    needs_mapping  read, but the mapping is incomplete or does not fit (mapping.missing, problems)
    invalid        mapped, but values are wrong (problems name row and column)
    ready          observations are valid (in store order); warnings may still deserve a look
    """

    filename: str
    file_hash: str
    status: str
    table: RawTable | None = None
    mapping: Mapping | None = None
    observations: pl.DataFrame | None = None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ready"

    @property
    def notes(self) -> list[str]:
        return (self.table.notes if self.table else []) + (self.mapping.notes if self.mapping else [])


def _translate(problems: list[Problem], mapping: Mapping, table: RawTable, filename: str) -> list[Problem]:
    """normalise() names model fields; point at the file's own column, and report a problem
    with a constant or a header label once instead of on every row."""
    out: list[Problem] = []
    seen: set[tuple] = set()
    for p in problems:
        cell_column = p.file.partition(_TAG)[2]
        row, column = p.row, ""
        if p.column in ("value", "status"):
            column = cell_column
        elif p.column in FIELDS:
            src: Source = getattr(mapping, p.column)
            if src.columns:
                column = ", ".join(src.columns)
            elif mapping.wide and p.column in mapping.wide.levels:
                level = mapping.wide.levels.index(p.column)
                row, column = table.header_rows[level] if level < len(table.header_rows) else None, cell_column
            else:
                row, column = None, f"({FIELD_SV[p.column]} för hela filen)"
        else:  # measure, kind, target_setter: the mapping's constants
            row = None
        key = (row, column, p.message)
        if key not in seen:
            seen.add(key)
            out.append(Problem(filename, row, column, p.message))
    return out


def prepare(
    data: bytes,
    filename: str,
    mapping: Mapping | None = None,
    *,
    sheet: str | int | None = None,
    series: str = "",
    measure: str = "",
    dataset_id: str | None = None,
    max_bytes: int = 50 * 1024 * 1024,
    progress: Progress | None = None,
    table: RawTable | None = None,
) -> Prepared:
    """Read, screen, map and validate one upload. `mapping` None: detect one (with the
    series/measure hints). `table`: what read_table already made of these bytes (the upload
    page's first look), so a new mapping neither reads the file again nor holds a second copy.
    Never raises for bad input; see Prepared.status."""
    # Two independent steps at a time (hashlib, polars and numpy release the GIL): the file's
    # hash beside its reading, the personal-data screen beside mapping and validation. A file
    # with personal data is refused whatever the other step found; once the screen has found it,
    # the other step stops at its next stage.
    with ThreadPoolExecutor(max_workers=1) as beside:
        hashing = beside.submit(lambda: hashlib.sha256(data).hexdigest())
        if table is None:
            try:
                table = read_table(data, filename, sheet=sheet, max_bytes=max_bytes, progress=progress)
            except InputError as exc:
                return Prepared(filename, hashing.result(), "refused", problems=exc.problems)
        file_hash = hashing.result()
        result = Prepared(filename, file_hash, "refused")
        screened = beside.submit(find_personal_data, table)
        error = None
        try:
            _validate(result, table, mapping, series, measure, dataset_id,
                      refused=lambda: screened.done() and bool(screened.result()))
        except Exception as exc:  # noqa: BLE001 - raised again below unless the file is refused anyway
            error = exc
        try:
            personal = screened.result()
        except Exception as exc:
            raise exc from error  # both failed: neither is lost
        if personal:
            return Prepared(filename, file_hash, "refused", problems=personal)
        if error is not None:
            raise error
    return result


def _validate(result: Prepared, table: RawTable, mapping: Mapping | None, series: str, measure: str,
              dataset_id: str | None, refused: Callable[[], bool]) -> None:
    """Map and validate `table` into `result` (status needs_mapping, invalid or ready). Returns
    early, `result` unfinished, when `refused()` says the file is refused anyway."""
    filename, file_hash = result.filename, result.file_hash
    result.table = table
    result.mapping = fit(mapping, table) if mapping else detect(table, series=series, measure=measure)
    if mapping_problems := check(result.mapping, table):
        result.status, result.problems = "needs_mapping", mapping_problems
        return
    if refused():
        return
    candidates = apply(table, result.mapping, dataset_id=dataset_id or f"upload-{file_hash[:12]}",
                       raw_file=filename, file_hash=file_hash)
    tagged = candidates.with_columns(raw_file=pl.lit(filename + _TAG) + pl.col("column"))
    # The mapped rows are not kept: what they hold beside the observations during the checks
    # and the sort is as large again (problems already name the file's row and column).
    del candidates
    codes: dict = {}  # ordered codes of the key columns, for the checks and the store order
    try:
        observations = normalise(tagged, codes=codes)
        del tagged
    except InputError as exc:
        result.status, result.problems = "invalid", _translate(exc.problems, result.mapping, table, filename)
        return
    if refused():
        return
    if not is_constant(observations, "group"):  # coded once, for both
        codes["group"] = value_codes(observations["group"], ordered=True)
    errors, result.warnings = check_observations(observations, filename, codes)
    if errors:
        result.status, result.problems = "invalid", errors
        return
    # Observations come in store order: preview and commit then hold no second, sorted copy. The
    # checks first, then the sort: their working memory is not held at the same time, and the
    # sort takes the observations half their columns at a time (the frame is emptied).
    result.status, result.observations = "ready", _in_store_order(observations, codes)


def _in_store_order(observations: pl.DataFrame, known: dict) -> pl.DataFrame:
    from ..sources.uploads import in_store_order  # imported here: the sources import this package

    return in_store_order(observations, known, consume=True)
