"""Committing a fetch: the responses kept byte for byte in data/raw/api/<source>/<fetch-id>/,
fetch.json written last and atomically (the commit point), the store rebuilt, and the
fetch taken back out if the rebuild fails.

A fetch is *in force* when its status is active and it is the newest active fetch (by
`seq`) of its scope (`scb:manad+ar`, `kolada`, `af:2024-01`): fetching again replaces the
previous answer for the same question without deleting it, and `undo` brings the previous
one back. Fetching an unchanged source gives the same fetch id and changes nothing.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from filelock import FileLock, Timeout

from .. import paths
from ..build import BuildResult, build
from ..imports import _write_atomic, diff  # one atomic write and one diff for uploads and fetches
from .base import Fetched, now_iso, sha256
from .errors import ConnectorError

RECORD = "fetch.json"
LOCK_TIMEOUT_S = 30
_ID = re.compile(r"(scb|kolada|af)-[0-9a-f]{12}")


@dataclass(frozen=True)
class CommitResult:
    record: dict
    changed: bool               # False: the same answer was already in force; nothing changed
    build: BuildResult | None


def api_dir(raw_dir: Path | None = None) -> Path:
    return (raw_dir or paths.raw_dir()) / "api"


def _lock() -> FileLock:
    api_dir().mkdir(parents=True, exist_ok=True)
    return FileLock(str(api_dir() / ".fetch.lock"), timeout=LOCK_TIMEOUT_S)


def read_record(folder: Path) -> dict | None:
    try:
        return json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def _write_record(folder: Path, record: dict) -> None:
    _write_atomic(folder / RECORD, json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8"))


def records(raw_dir: Path | None = None) -> list[dict]:
    """Every fetch that reached its commit point, oldest first."""
    root = api_dir(raw_dir)
    if not root.exists():
        return []
    out = []
    for source_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for folder in sorted(p for p in source_dir.iterdir() if p.is_dir()):
            if (r := read_record(folder)) is not None:
                out.append(r)
    return sorted(out, key=lambda r: r.get("seq", 0))


def history(raw_dir: Path | None = None) -> list[dict]:
    """Every fetch, newest first, with `in_force` telling whether the build uses it."""
    force = {r["id"] for r in in_force(raw_dir)}
    return [{**r, "in_force": r["id"] in force} for r in reversed(records(raw_dir))]


def in_force(raw_dir: Path | None = None) -> list[dict]:
    """The fetches the build reads: per scope, the newest active one."""
    newest: dict[tuple[str, str], dict] = {}
    for r in records(raw_dir):
        if r.get("status") == "active":
            newest[(r["source"], r.get("scope", ""))] = r
    return sorted(newest.values(), key=lambda r: r["id"])


def preview(observations: pl.DataFrame, current: pl.DataFrame) -> pl.DataFrame:
    """What committing would change, per value: `change` ny, ändrad or oförändrad, with the
    value in force now beside the fetched one (the shape amnstats.imports.summary reads)."""
    return diff(observations, current).sort("series", "measure", "area", "group", "gender", "period_start")


def commit(fetched: Fetched, *, by: str) -> CommitResult:
    """Keep the responses and put the fetch in force; rebuild. On any failure nothing is
    left changed (ConnectorError in Swedish, or the build's InputError)."""
    fid = fetched.fetch_id
    if not _ID.fullmatch(fid):
        raise ConnectorError(f"ogiltigt hämtnings-id {fid!r}")
    try:
        with _lock():
            folder = api_dir() / fetched.source / fid
            existing = read_record(folder)
            current = {r["id"] for r in in_force()}
            if existing and existing.get("status") == "active" and fid in current:
                return CommitResult(existing, changed=False, build=None)
            created = not folder.exists()
            for name, data in fetched.files.items():
                target = folder / name
                if not target.exists() or sha256(target.read_bytes()) != sha256(data):
                    _write_atomic(target, data)
            at = now_iso()
            record = {**fetched.record, "status": "active", "fetched_by": by, "committed_at": at,
                      "seq": max((r.get("seq", 0) for r in records()), default=0) + 1,
                      "n_values": len(fetched.observations),
                      "history": (existing or {}).get("history", []) + [{"action": "fetch", "by": by, "at": at}]}
            _write_record(folder, record)  # the commit point
            try:
                result = build()
            except BaseException:
                if existing is not None:
                    _write_record(folder, existing)
                elif created:
                    shutil.rmtree(folder, ignore_errors=True)
                else:
                    (folder / RECORD).unlink(missing_ok=True)
                raise
            return CommitResult(record, changed=True, build=result)
    except Timeout:
        raise ConnectorError("En annan hämtning pågår just nu; försök igen om en stund") from None


def undo(fetch_id: str, *, by: str) -> CommitResult:
    """Take a fetch out of force (its files stay); the previous fetch of its scope applies again."""
    return _set_status(fetch_id, "undone", by)


def redo(fetch_id: str, *, by: str) -> CommitResult:
    return _set_status(fetch_id, "active", by)


def _set_status(fetch_id: str, status: str, by: str) -> CommitResult:
    if not _ID.fullmatch(fetch_id):
        raise ConnectorError(f"okänt hämtnings-id {fetch_id!r}")
    try:
        with _lock():
            folder = api_dir() / fetch_id.split("-", 1)[0] / fetch_id
            record = read_record(folder)
            if record is None:
                raise ConnectorError(f"hämtningen {fetch_id} finns inte")
            if record["status"] == status:
                return CommitResult(record, changed=False, build=None)
            previous = dict(record)
            at = now_iso()
            record = {**record, "status": status,
                      "history": record.get("history", []) + [{"action": "undo" if status == "undone" else "redo",
                                                               "by": by, "at": at}]}
            if status == "active":
                record["seq"] = max((r.get("seq", 0) for r in records()), default=0) + 1
            _write_record(folder, record)
            try:
                result = build()
            except BaseException:
                _write_record(folder, previous)
                raise
            return CommitResult(record, changed=True, build=result)
    except Timeout:
        raise ConnectorError("En annan hämtning pågår just nu; försök igen om en stund") from None
