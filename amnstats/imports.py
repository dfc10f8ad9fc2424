"""Committing analysts' uploads: kept byte for byte in data/raw/uploads/, the store rebuilt
and swapped in one step, a history of every import, and undo.

Each import is a folder data/raw/uploads/<id>/ with the file as uploaded and import.json
(who, when, the mapping, status). import.json is written last and atomically: it is the
commit point. The new store is built while the file is written, and becomes current only
after the commit point. The build reads only imports whose status is active, so undo restores
exactly the data before the import, and the raw file stays; only `erase`, for an undone
import, deletes it for good.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
from filelock import FileLock, Timeout

from . import paths, storage
from .build import BuildResult, _hash_cache, build
from .ingest import Mapping, Prepared, prepare
from .problems import InputError, Problem
from .schema import KEY_COLUMNS
from .sources import uploads

RECORD = "import.json"
LOCK_TIMEOUT_S = 30


@dataclass(frozen=True)
class ImportResult:
    record: dict
    changed: bool          # False: the same file was already imported; nothing changed
    build: BuildResult | None


def uploads_dir() -> Path:
    return paths.raw_dir() / "uploads"


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _safe_name(filename: str) -> str:
    name = Path(filename).name
    name = re.sub(r"[^\w.\- ()åäöÅÄÖ]", "_", name).strip(" .") or "fil"
    return name[:120]


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _lock() -> FileLock:
    uploads_dir().mkdir(parents=True, exist_ok=True)
    return FileLock(str(uploads_dir() / ".import.lock"), timeout=LOCK_TIMEOUT_S)


def read_record(folder: Path) -> dict | None:
    try:
        return json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def history() -> list[dict]:
    """Every import, newest first."""
    if not uploads_dir().exists():
        return []
    records = [r for d in uploads_dir().iterdir() if d.is_dir() and (r := read_record(d))]
    return sorted(records, key=lambda r: r["uploaded_at"], reverse=True)


def active_import(file_hash: str) -> dict | None:
    """The record of the import of these bytes while it is in the store (an import is identified
    by its file, whatever mapping it was read with), else None."""
    record = read_record(uploads_dir() / f"upload-{file_hash[:12]}")
    return record if record and record["status"] == "active" else None


def _record_bytes(record: dict) -> bytes:
    return json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")


def _write_record(record: dict) -> None:
    _write_atomic(uploads_dir() / record["id"] / RECORD, _record_bytes(record))


CHANGES = pl.Enum(["ny", "ändrad", "oförändrad"])  # a diff's `change`: one byte a value, not a string


def preview(prepared: Prepared, current: pl.DataFrame) -> pl.DataFrame:
    """What the import would change, per value: `change` is ny, ändrad or oförändrad,
    with the current value beside the new one. In the observations' (store) order."""
    return diff(prepared.observations, current)


def diff(observations: pl.DataFrame, current: pl.DataFrame) -> pl.DataFrame:
    """Per observation, in its order: the key, period_start, new_value, the preferred row of
    `current` with the same key (old_value, old_source; null when there is none) and `change`.

    The key columns are the observations' own, not copied: a million-row upload's diff then
    costs its three new columns. Only the rows that share a period with a current row of the
    same series and measures are looked up (joined)."""
    new = observations.select(*KEY_COLUMNS, "period_start", pl.col("value").alias("new_value"))
    pairs = observations.select(pl.col("series").unique().implode(), pl.col("measure").unique().implode())
    cur = (current.filter(pl.col("is_preferred"), pl.col("series").is_in(pairs["series"][0].implode()),
                          pl.col("measure").is_in(pairs["measure"][0].implode()))
           .select(*KEY_COLUMNS, pl.col("value").alias("old_value"), pl.col("source_label").alias("old_source"))
           .unique(KEY_COLUMNS, keep="first", maintain_order=True)  # one per key, as a build makes it
           .cast({c: new.schema[c] for c in KEY_COLUMNS}))  # text as the observations hold it (Categorical)
    # no current value for any key (a new series, new periods): null and "ny" are one value each
    old_value: pl.Series | pl.Expr = pl.lit(None, dtype=pl.Float64).alias("old_value")
    old_source: pl.Series | pl.Expr = pl.lit(None, dtype=pl.String).alias("old_source")
    if cur.height and (near := new["period"].is_in(cur["period"].unique().implode(), nulls_equal=True)).any():
        rows = near.arg_true()
        hits = (new[rows].select(KEY_COLUMNS).with_columns(_i=rows)
                .join(cur, on=list(KEY_COLUMNS), how="inner", nulls_equal=True))
        old_value = pl.Series("old_value", dtype=pl.Float64).extend_constant(None, new.height).scatter(
            hits["_i"], hits["old_value"])
        old_source = pl.Series("old_source", dtype=pl.String).extend_constant(None, new.height).scatter(
            hits["_i"], hits["old_source"])
    same = (pl.col("old_value") == pl.col("new_value")) | (pl.col("old_value").is_null() & pl.col("new_value").is_null())
    return new.with_columns(old_value, old_source).with_columns(
        change=pl.when(pl.col("old_source").is_null()).then(pl.lit("ny"))
        .when(same).then(pl.lit("oförändrad")).otherwise(pl.lit("ändrad")).cast(CHANGES)
    )


def summary(diff: pl.DataFrame) -> pl.DataFrame:
    """Counts of new, changed and unchanged values per series and measure."""
    return (diff.group_by("series", "measure")
            .agg(ny=(pl.col("change") == "ny").sum(), ändrad=(pl.col("change") == "ändrad").sum(),
                 oförändrad=(pl.col("change") == "oförändrad").sum())
            .sort("series", "measure"))


def commit(data: bytes, filename: str, mapping: Mapping, *, uploaded_by: str, producer: str = "",
           licence: str = "", title: str = "", sheet: str | int | None = None,
           prepared: Prepared | None = None) -> ImportResult:
    """Store the file and rebuild. Raises InputError (in Swedish) and writes nothing when the
    file does not validate, another import is running, or the rebuild fails."""
    prepared = prepared or prepare(data, filename, mapping, sheet=sheet)
    if not prepared.ok:
        raise InputError(prepared.problems, "Filen kan inte importeras. Inget har sparats")
    import_id = f"upload-{prepared.file_hash[:12]}"
    try:
        with _lock():
            existing = read_record(uploads_dir() / import_id)
            if existing and existing["status"] == "active":
                return ImportResult(existing, changed=False, build=None)
            folder = uploads_dir() / import_id
            stored = folder / _safe_name(filename)
            record = {
                "id": import_id, "filename": filename, "stored_as": stored.name, "sha256": prepared.file_hash,
                "uploaded_by": uploaded_by, "uploaded_at": _now(), "mapping": prepared.mapping.to_dict(),
                "sheet": sheet, "title": title or f"Uppladdad fil: {filename}",
                "producer": producer or "Okänd (angavs inte vid uppladdningen)",
                "licence": licence or "Ej angiven", "status": "active",
                "n_values": len(prepared.observations), "history": (existing or {}).get("history", []),
            }
            record["history"] = record["history"] + [{"action": "import", "by": uploaded_by, "at": record["uploaded_at"]}]
            with ThreadPoolExecutor(max_workers=1) as writer:
                # The file is written (and synced) while the build assembles and writes the new
                # store beside it; the record, the commit point, only once the file is whole.
                writing = writer.submit(_write_atomic, stored, data)
                record_bytes = _record_bytes(record)

                def commit_point() -> None:
                    writing.result()
                    st = stored.stat()  # its hash is known: no build need read the file again
                    _hash_cache[(str(stored), st.st_mtime_ns, st.st_size)] = prepared.file_hash
                    _write_atomic(folder / RECORD, record_bytes)

                # What the file turned into goes to the build in memory; the build records its key
                # in the manifest, so later builds take these rows from the store (no second write).
                uploads.hand_over(folder, record, prepared.observations, pending=True)
                pending = {f"uploads/{import_id}/{stored.name}": prepared.file_hash,
                           f"uploads/{import_id}/{RECORD}": hashlib.sha256(record_bytes).hexdigest()}
                try:
                    result = build(pending=pending, commit=commit_point)
                except Exception as exc:
                    wait([writing])  # the file is not written after it was taken away again
                    _rollback(folder, existing, stored)
                    _raise_if_unpublished(exc, filename, "Importen kunde inte sparas")
                    if isinstance(exc, OSError):  # a full or read-only disk
                        raise InputError([Problem(filename, None, "", f"filen kunde inte sparas på servern "
                                                  f"({exc.strerror or exc}). Inget har ändrats; försök igen eller "
                                                  "kontakta den som driftar amnstats")],
                                         "Importen kunde inte sparas") from None
                    raise
                finally:
                    uploads.forget()
            return ImportResult(record, changed=True, build=result)
    except Timeout:
        raise InputError([Problem(filename, None, "", "en annan import pågår just nu; försök igen om en stund. "
                                                   "Inget har sparats.")], "Importen kunde inte starta") from None


def _keep_quietly(folder: Path, record: dict) -> None:
    """Before an import leaves the store, its rows are kept as a cache file (redo then need not
    prepare the file). Optional: whatever goes wrong, the undo stands."""
    try:
        uploads.keep(folder, record, paths.processed_dir())
    except Exception:  # noqa: BLE001 - an optional file
        logging.getLogger("amnstats").warning("amnstats: could not cache %s", folder, exc_info=True)


def _rollback(folder: Path, previous: dict | None, stored: Path) -> None:
    """A failed commit: the record as it was; a file imported for the first time goes again."""
    if previous is not None:
        _write_record(previous)
    else:
        (folder / RECORD).unlink(missing_ok=True)
        stored.unlink(missing_ok=True)
        try:
            folder.rmdir()
        except OSError:  # not empty: something else lives there
            pass


def erase(import_id: str, *, by: str) -> dict:
    """Delete an undone import's file for good (a file that should never have been uploaded, e.g.
    with personal data the screen did not catch): the stored file, its cached rows and every
    earlier build that still holds them. import.json stays, marked erased, so the history says
    who erased what and when. Only an undone import: its rows are already out of the store."""
    headline = "Radering misslyckades"
    with _existing(import_id, headline) as record:
        if record["status"] not in ("undone", "erased"):  # erased: finish an erase that was cut off
            raise InputError([Problem(record["filename"], None, "", "bara en ångrad import kan raderas; ångra "
                                                                     "den först")], headline)
        from .build import current_build

        processed = paths.processed_dir()
        with FileLock(str(processed / ".build.lock"), timeout=120):
            current = current_build(processed)
            for old in sorted(processed.glob("build-*")):
                if old != current and import_id in _build_uploads(old):
                    shutil.rmtree(old, ignore_errors=True)
            try:  # and the copies published to object storage, before the record says erased
                storage.remove_builds_with_upload(import_id)
            except storage.StorageError as exc:
                raise InputError([Problem(record["filename"], None, "", f"{exc}. Filen är inte raderad; försök "
                                                                         "igen om en stund")], headline) from None
        if record["status"] != "erased":
            record["status"] = "erased"
            record["history"] = record.get("history", []) + [{"action": "erase", "by": by, "at": _now()}]
            _write_record(record)  # first: the build never looks for an erased import's file
        for f in (uploads_dir() / import_id).iterdir():
            if f.name != RECORD:
                f.unlink(missing_ok=True)
        return record


@contextmanager
def _existing(import_id: str, headline: str):
    """The record of `import_id`, read under the import lock and held while the caller changes it;
    InputError (in Swedish, under `headline`) for an id of no import or when another import runs."""
    if not re.fullmatch(r"upload-[0-9a-f]{12}", import_id):
        raise InputError([Problem(import_id, None, "", "okänt import-id")], headline)
    try:
        with _lock():
            record = read_record(uploads_dir() / import_id)
            if record is None:
                raise InputError([Problem(import_id, None, "", "importen finns inte")], headline)
            yield record
    except Timeout:
        raise InputError([Problem(import_id, None, "", "en annan import pågår just nu; försök igen om en stund")],
                         headline) from None


def _build_uploads(build_path: Path) -> dict:
    try:
        return json.loads((build_path / "manifest.json").read_text()).get("uploads") or {}
    except (OSError, ValueError):
        return {}


def undo(import_id: str, *, by: str) -> ImportResult:
    """Take an import out of the store; its file stays in data/raw/uploads."""
    return _set_status(import_id, "undone", by)


def redo(import_id: str, *, by: str) -> ImportResult:
    return _set_status(import_id, "active", by)


def _set_status(import_id: str, status: str, by: str) -> ImportResult:
    with _existing(import_id, "Ångra misslyckades") as record:
        if record["status"] == status:
            return ImportResult(record, changed=False, build=None)
        if record["status"] == "erased":
            raise InputError([Problem(record["filename"], None, "", "filen är raderad och kan inte återställas; "
                                                                     "ladda upp den igen")],
                             "Återställningen misslyckades")
        previous = dict(record)
        if status != "active":
            _keep_quietly(uploads_dir() / import_id, record)
        record["status"] = status
        record["history"] = record.get("history", []) + [
            {"action": "undo" if status == "undone" else "import", "by": by, "at": _now()}]
        _write_record(record)
        try:
            result = build()
        except Exception as exc:
            _write_record(previous)
            _raise_if_unpublished(exc, record["filename"], "Ångra misslyckades")
            raise
        return ImportResult(record, changed=True, build=result)


def _raise_if_unpublished(exc: Exception, filename: str, headline: str) -> None:
    """The shared store (object storage) did not take the new build: nothing changed, here or
    there (the build publishes before it switches), and the analyst is told so in Swedish."""
    if isinstance(exc, storage.StorageError):
        raise InputError([Problem(filename, None, "", f"{exc}. Inget har ändrats; försök igen om en stund")],
                         headline) from None
