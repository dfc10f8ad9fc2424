"""The observation table, declared as data: one value per row.

Every module that writes or checks observations reads this declaration, so the columns,
their types and their allowed values are stated once.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from .catalogue import GENDERS, KINDS, STATUSES, TARGET_SETTERS


@dataclass(frozen=True)
class Field:
    name: str
    dtype: pl.DataType
    description: str
    allowed: tuple[str, ...] | None = None


OBSERVATION_FIELDS: tuple[Field, ...] = (
    Field("series", pl.String(), "Series family, e.g. jobbtorg, unemployment."),
    Field("measure", pl.String(), "What is counted; declared in the catalogue per series."),
    Field("period", pl.String(), "Canonical period label: 2023, 2023-T1, 2022-12, 2021-01--2021-03, 2022-12-31."),
    Field("period_start", pl.Date(), "First day of the period."),
    Field("period_end", pl.Date(), "Last day of the period."),
    Field("period_type", pl.String(), "year, tertial, quarter, month, months, date or school_year."),
    Field("gender", pl.String(), "kvinnor, män or totalt.", GENDERS),
    Field("area", pl.String(), "Canonical area name from the catalogue."),
    Field("area_type", pl.String(), "city, county, country, sdo, former_sdo, combined, group_of_sdo, other."),
    Field("group", pl.String(), "Målgrupp, age band, level or programme; empty when none."),
    Field("value", pl.Float64(), "The value in `unit`; null when suppressed or missing."),
    Field("status", pl.String(), "'' ordinary, approximate, suppressed or missing.", STATUSES),
    Field("kind", pl.String(), "utfall, målvärde, prognos or budget.", KINDS),
    Field("target_setter", pl.String(), "For målvärde: nämnden or kf; empty otherwise.", ("",) + TARGET_SETTERS),
    Field("unit", pl.String(), "antal, procent, procentenheter, mnkr, ... (from the catalogue)."),
    Field("dataset", pl.String(), "Id of the raw dataset the value comes from."),
    Field("source", pl.String(), "Machine-readable place: raw file and line/row, or API call."),
    Field("source_label", pl.String(), "Human-readable source, shown under charts."),
    Field("note", pl.String(), "Curator's note for this value."),
    Field("is_preferred", pl.Boolean(), "One row per key: the one metrics use when sources repeat a figure."),
    Field("has_conflict", pl.Boolean(), "Another row with the same key has a different value."),
)

# How the build holds and writes observations: the same columns and `source_row`, the file row
# of an upload's value. Where it is set, `source` and `source_label` are the text up to the row
# number ("Uppladdad fil a.csv, rad "), which reading appends (with_places): a million-row upload
# then holds one text per column, not two strings per row (150 MB).
SOURCE_ROW = Field("source_row", pl.Int32(), "File row appended to source and source_label when read; null when "
                                               "they are whole.")
STORED_SCHEMA = pl.Schema({**{f.name: f.dtype for f in OBSERVATION_FIELDS}, SOURCE_ROW.name: SOURCE_ROW.dtype})

KEY_COLUMNS = ("series", "measure", "period", "gender", "area", "group", "kind", "target_setter")
OBSERVATION_SCHEMA = pl.Schema({f.name: f.dtype for f in OBSERVATION_FIELDS})
OBSERVATION_COLUMNS = tuple(OBSERVATION_SCHEMA.names())

# How observations.parquet stores its text columns: as dictionaries (polars Categoricals of one
# named set of categories). Writing a Categorical's dictionary does not hash every value again,
# and a column that is the same on every row of an upload (status, note, ...) is cast as one
# value. An upload's source is one text per column (its row is source_row), so source and
# source_label repeat too: a report's are one per line, a few thousand in all. Read the store
# with scan_store: it gives String.
DICTIONARY_COLUMNS = tuple(f.name for f in OBSERVATION_FIELDS if f.dtype == pl.String())
STORE_CATEGORIES = "amnstats-store"
STORE_CATEGORICAL = pl.Categorical(pl.Categories(STORE_CATEGORIES))
# What normalise returns and the build holds: STORED_SCHEMA with DICTIONARY_COLUMNS as the store
# writes them (a million-row upload's area, period, ... at 4 bytes a row, not a 16-byte string view).
STORED_DTYPES = pl.Schema({n: STORE_CATEGORICAL if n in DICTIONARY_COLUMNS else d for n, d in STORED_SCHEMA.items()})


def as_stored(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` (STORED_SCHEMA) with DICTIONARY_COLUMNS as the store writes them (STORED_DTYPES).
    Columns already so are left alone (a cast to the same Categorical would copy them)."""
    cast = [c for c in DICTIONARY_COLUMNS if frame.schema[c] != STORE_CATEGORICAL]
    return frame.with_columns(pl.col(cast).cast(STORE_CATEGORICAL)) if cast else frame


def place(column: str) -> pl.Expr:
    """`source` or `source_label` of STORED_SCHEMA whole: the row appended where source_row is set."""
    row, text = pl.col(SOURCE_ROW.name).cast(pl.String), pl.col(column).cast(pl.String)
    return pl.when(row.is_null()).then(text).otherwise(text + row).alias(column)


def with_places(frame):
    """A frame (or LazyFrame) in STORED_SCHEMA in OBSERVATION_SCHEMA (see place)."""
    return frame.with_columns(place("source"), place("source_label")).drop(SOURCE_ROW.name)


def from_stored(frame: pl.DataFrame) -> pl.DataFrame:
    """A store read whole (e.g. through pyarrow from object storage) in OBSERVATION_SCHEMA."""
    return with_places(frame.cast(dict(STORED_SCHEMA)) if frame.schema != STORED_SCHEMA else frame)


def scan_store(source, places: bool = True) -> pl.LazyFrame:
    """observations.parquet (a path, or what pl.scan_parquet takes) in OBSERVATION_SCHEMA, or with
    `places` False in STORED_SCHEMA (as the build holds it)."""
    scan = pl.scan_parquet(source, schema=dict(STORED_SCHEMA),
                           cast_options=pl.ScanCastOptions(categorical_to_string="allow"))
    return with_places(scan) if places else scan
