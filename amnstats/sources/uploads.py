"""Analysts' uploads (data/raw/uploads/<id>/): each active import re-read with its stored mapping.

What an import turned into (validated observations, in store order) is identified by a key that
covers the file, the mapping and the code and catalogue that read it. The build that follows the
import's commit point takes the frame from memory (hand_over) and records the key in its
manifest: the store itself is then the cache, and a million rows are written once, not twice.
Later builds take the import's rows from a build whose manifest has the same key, or from
`.observations-<key>.parquet` beside the file (written when an import is undone, or after the
file had to be prepared again); with neither (or the code, catalogue or mapping changed) the
upload is prepared from its file as before. The cache is a dot-file: not part of the input
fingerprint, and safe to delete. Columns that are the same on every row (series, measure, unit,
dataset, ...) are stored once, in its footer.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path

import polars as pl

from ..problems import Problem
from . import SourceBatch


CACHE_FORMAT = "3"  # 2: columns the same on every row stored once, in the footer; 3: source_row
_memo: dict[str, pl.DataFrame] = {}  # cache path -> observations, handed over within one process
_pending: dict[str, dict] = {}  # folder -> the record of an import being committed (not on disk yet)


@lru_cache(maxsize=1)
def _code_fingerprint() -> str:
    """The code that turns an upload into observations (a cache from other code is not used)."""
    pkg = Path(__file__).resolve().parents[1]
    files = sorted([*(pkg / "ingest").glob("*.py"), *(pkg / "sources").glob("uploads.py"),
                    *(pkg / n for n in ("normalise.py", "periods.py", "areas.py", "numbers.py", "schema.py",
                                        "catalogue.py", "build.py"))])
    h = hashlib.sha256(CACHE_FORMAT.encode())
    for f in files:
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def cache_key(record: dict) -> str:
    """What identifies the observations of this import: file + mapping + code + catalogue."""
    from .. import paths
    from ..build import _hash

    catalogue = [_hash(p) for p in sorted(paths.CATALOGUE_DIR.glob("*.csv"))]
    key = json.dumps([record["sha256"], record["mapping"], record.get("sheet"), record["filename"], record["id"],
                      _code_fingerprint(), catalogue], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def cache_path(folder: Path, key: str) -> Path:
    """Where the observations of an import with this cache_key are cached."""
    return folder / f".observations-{key}.parquet"


def _builds(processed_dir: Path) -> list[Path]:
    """The build folders, the current one first."""
    from ..build import current_build

    cur = current_build(processed_dir)
    others = sorted((p for p in processed_dir.glob("build-*") if p.is_dir() and p != cur), reverse=True)
    return ([cur] if cur else []) + others


def from_builds(processed_dir: Path | None, keys: dict[str, str]) -> dict[str, pl.DataFrame]:
    """{import id: its observations, in store order} for the imports of `keys` ({id: cache_key})
    that a complete build holds under the same key; one read of each build for all of them. The
    build may have marked some rows as repeated by another source; as the import turned into
    them, every one is preferred, none in conflict."""
    from ..build import verify_build
    from ..schema import STORED_SCHEMA, as_stored, scan_store

    found: dict[str, pl.DataFrame] = {}
    if processed_dir is None or not processed_dir.exists():
        return found
    for folder in _builds(processed_dir):
        if len(found) == len(keys):
            break
        try:
            recorded = json.loads((folder / "manifest.json").read_text()).get("uploads", {})
        except (OSError, ValueError):
            continue
        here = {i: recorded[i][1] for i, key in keys.items()
                if i not in found and recorded.get(i, [None])[0] == key}  # {id: rows}
        if not here or verify_build(folder) is not None:
            continue
        try:
            rows = (scan_store(folder / "observations.parquet", places=False)
                    .filter(pl.col("dataset").is_in(list(here)))
                    .with_columns(is_preferred=pl.lit(True), has_conflict=pl.lit(False)).collect())
        except (OSError, pl.exceptions.PolarsError):
            continue
        if rows.schema != STORED_SCHEMA:
            continue
        rows = as_stored(rows)
        parts = ({next(iter(here)): rows} if len(here) == 1 else
                 {i: part for (i,), part in rows.partition_by("dataset", as_dict=True, maintain_order=True).items()})
        found.update({i: part for i, part in parts.items() if part.height == here[i]})
    return found


def keep(folder: Path, record: dict, processed_dir: Path) -> None:
    """Write this import's cache file from a build that holds its rows, if it has none (before
    the import leaves the store, e.g. when it is undone: redo then need not prepare the file)."""
    key = cache_key(record)
    path = cache_path(folder, key)
    if path.exists():
        return
    if (rows := from_builds(processed_dir, {record["id"]: key}).get(record["id"])) is not None:
        write_cache(path, rows)


def in_store_order(observations: pl.DataFrame, known: dict | None = None, consume: bool = False) -> pl.DataFrame:
    """An upload's observations sorted as observations.parquet is (prepare() returns them so);
    `known`: ordered codes of some columns (see build.sort_order). `consume`: the columns are
    gathered half at a time and each half taken out of `observations` once gathered (it is left
    empty), so a million rows are never held twice. (Column by column would take five times as
    long: polars gathers a frame's columns in parallel.)"""
    from ..build import STORE_ORDER, sort_order, sorted_frame

    order = sort_order(observations, list(STORE_ORDER), known=known)
    if order is None:
        return sorted_frame(observations, list(STORE_ORDER))
    at = pl.Series(order)
    if not consume:
        return observations.rechunk()[at]
    names, gathered = observations.columns, []
    for half in (names[:len(names) // 2], names[len(names) // 2:]):
        gathered.append(observations.select(half).rechunk()[at])  # a column that is one value stays one
        for name in half:
            observations.drop_in_place(name)
    return pl.concat(gathered, how="horizontal")


def hand_over(folder: Path, record: dict, observations: pl.DataFrame, pending: bool = False) -> None:
    """The next build in this process takes this import's observations (in store order) from
    memory, whether or not the cache file is written yet (until forget()). `pending`: the import
    is being committed, its record and file not yet on disk: the build counts it as active."""
    _memo.clear()
    _pending.clear()
    _memo[str(cache_path(folder, cache_key(record)))] = observations
    if pending:
        _pending[str(folder)] = record


def write_cache(path: Path, observations: pl.DataFrame) -> None:
    """Keep an import's validated observations (in store order) at `path` (cache_path) for
    later builds; atomic."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    os.close(fd)
    try:
        _write_cache_file(observations, Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def forget() -> None:
    """Drop the in-process hand-over (after the build that used it)."""
    _memo.clear()
    _pending.clear()


def _read_cache(path: Path) -> pl.DataFrame | None:
    from ..schema import STORED_DTYPES

    if (hit := _memo.pop(str(path), None)) is not None:  # taken, not kept: the build holds it now
        return hit
    try:
        obs = _read_cache_file(path)
    except (FileNotFoundError, OSError, ValueError, pl.exceptions.PolarsError):
        return None
    return obs if obs.schema == STORED_DTYPES else None


_CONSTANTS = b"amnstats.constants"
_JSON_TYPES = {pl.String: str, pl.Boolean: bool, pl.Int64: int, pl.Int32: int}  # not floats: -0.0 == 0.0, NaN


def _constant_value(df: pl.DataFrame, column: str):
    """The value of a column that is the same on every row, as JSON can hold it (else None)."""
    from ..normalise import first_value, is_constant

    if not is_constant(df, column):
        return None
    dtype, value = df.schema[column], first_value(df, column)
    if isinstance(dtype, pl.Categorical):  # read back as the store's dictionary (_read_cache_file)
        dtype = pl.String
    if dtype == pl.Date:
        return ["date", value.isoformat()]
    for json_dtype, kind in _JSON_TYPES.items():
        if dtype == json_dtype and isinstance(value, kind):
            return [str(dtype), value]
    return None


def _write_cache_file(observations: pl.DataFrame, path: Path) -> None:
    """Parquet of the columns that vary; a column that is the same on every row (an upload's
    series, measure, unit, dataset, ...) is stored once in the footer instead of a million times."""
    import pyarrow.parquet as pq

    constants = {c: v for c in observations.columns if (v := _constant_value(observations, c)) is not None}
    # (oldest: pyarrow writes no dictionary of string views)
    table = observations.drop(list(constants)).rechunk().to_arrow(compat_level=pl.CompatLevel.oldest())
    table = table.replace_schema_metadata({_CONSTANTS: json.dumps(constants, ensure_ascii=False).encode()})
    # Only this code reads it, whole: no column statistics (nothing to skip), no dictionary for
    # values and row numbers (nearly unique). The store itself is written as before.
    pq.write_table(table, path, compression="zstd", row_group_size=1_000_000, store_schema=True,
                   write_statistics=False,
                   use_dictionary=[c for c in table.column_names if c not in ("source_row", "value")])


def _read_cache_file(path: Path) -> pl.DataFrame:
    import datetime as dt

    import pyarrow.parquet as pq

    from ..schema import DICTIONARY_COLUMNS, STORED_SCHEMA, as_stored

    meta = pq.read_schema(path).metadata or {}
    constants = json.loads(meta.get(_CONSTANTS, b"{}"))
    obs = pl.read_parquet(path)
    # its dictionaries come back in categories of their own: as the build holds them
    obs = obs.cast({c: pl.String for c in DICTIONARY_COLUMNS if c in obs.columns})
    if not constants:
        return as_stored(obs) if obs.columns == STORED_SCHEMA.names() else obs
    add = []
    for name, (kind, value) in constants.items():
        if kind == "date":
            add.append(pl.lit(dt.date.fromisoformat(value), dtype=pl.Date).alias(name))
        else:
            add.append(pl.lit(value, dtype=next(d for d in _JSON_TYPES if str(d) == kind)).alias(name))
    obs = obs.with_columns(add).select([c for c in STORED_SCHEMA.names() if c in obs.columns or c in constants])
    return as_stored(obs) if obs.columns == STORED_SCHEMA.names() else obs


def load(raw_dir: Path, processed_dir: Path | None = None) -> SourceBatch:
    """Every active import's observations: handed over, from the cache file, from a build that
    holds them (`processed_dir`), or prepared from the file."""
    from ..build import _hash
    from ..imports import read_record
    from ..ingest import Mapping, prepare

    batch = SourceBatch()
    root = raw_dir / "uploads"
    pending = {Path(f): r for f, r in _pending.items() if Path(f).parent == root}
    folders = set(pending) | ({p for p in root.iterdir() if p.is_dir()} if root.exists() else set())
    if not folders:
        return batch
    active: list[tuple[Path, dict, str, Path]] = []  # (folder, record, cache key, stored file)
    for folder in sorted(folders):
        record = pending.get(folder) or read_record(folder)
        if record is None or record.get("status") != "active":
            continue  # no record: an import that never reached its commit point
        path = folder / record["stored_as"]
        if folder not in pending and (not path.exists() or _hash(path) != record["sha256"]):
            batch.problems.append(Problem(_rel(path, raw_dir), None, "",
                                          "den uppladdade filen saknas eller har ändrats sedan importen"))
            continue
        active.append((folder, record, cache_key(record), path))
    cached = {record["id"]: obs for folder, record, key, _ in active
              if (obs := _read_cache(cache_path(folder, key))) is not None}
    cached |= from_builds(processed_dir, {record["id"]: key for _, record, key, _ in active
                                          if record["id"] not in cached})
    for folder, record, key, path in active:
        rel = _rel(path, raw_dir)
        observations = cached.get(record["id"])
        if observations is None:
            prepared = prepare(path.read_bytes(), record["filename"], Mapping.from_dict(record["mapping"]),
                               sheet=record.get("sheet"), dataset_id=record["id"])
            if not prepared.ok:
                batch.problems += [Problem(rel, p.row, p.column, p.message) for p in prepared.problems]
                continue
            observations = prepared.observations  # in store order
            try:
                write_cache(cache_path(folder, key), observations)
            except OSError:
                pass  # a read-only folder: the next build prepares the file again
        batch.candidates.append(observations)
        batch.cache_keys[record["id"]] = key
        date = record["uploaded_at"][:10]
        batch.datasets.append({
            "id": record["id"], "title": record["title"], "producer": record["producer"],
            "document": record["filename"], "date": date, "url": "", "licence": record["licence"],
            "accessed": date, "description": f"Uppladdad av {record['uploaded_by']} {record['uploaded_at']}.",
            "inconsistencies": "[]", "raw_path": rel, "sha256": record["sha256"], "source_type": "upload",
        })
    return batch


def _rel(path: Path, raw_dir: Path) -> str:
    """The stored file as problems and the dataset name it: uploads/<id>/<file>."""
    return path.relative_to(raw_dir).as_posix()

