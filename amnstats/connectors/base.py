"""What every connector returns: a `Fetched` held in memory until it is committed.

A fetch never writes: the responses are kept as bytes beside a record of the calls
(URL, parameters, time, sha256), and the same `candidates(record, files)` function that
turns them into candidate rows here is the one the build runs later on the stored copies
(amnstats.sources.api), so a fetch can be previewed now and rebuilt offline forever.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import polars as pl

from ..normalise import CANDIDATE_COLUMNS, duplicate_conflicts, normalise
from ..problems import InputError
from ..schema import KEY_COLUMNS
from .errors import FormatError
from .http import Call

RECORD_FORMAT = 1


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Fetched:
    """One fetch: its record (what fetch.json will say), the response bytes, and the
    validated observations. `fetch_id` depends only on the responses and the mapping, so
    fetching an unchanged source again gives the same id (and commits nothing)."""

    record: dict
    files: dict[str, bytes]
    candidates: pl.DataFrame
    observations: pl.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def fetch_id(self) -> str:
        return self.record["id"]

    @property
    def source(self) -> str:
        return self.record["source"]


def fetch_id(source: str, files: dict[str, bytes], mapping: dict) -> str:
    h = hashlib.sha256(json.dumps(mapping, sort_keys=True, ensure_ascii=False).encode())
    for name in sorted(files):
        h.update(name.encode() + b"\0" + sha256(files[name]).encode())
    return f"{source}-{h.hexdigest()[:12]}"


def call_entry(call: Call, file: str, role: str, **extra) -> dict:
    return {"file": file, "role": role, "url": call.url, "params": call.params, "status": call.status,
            "content_type": call.content_type, "at": call.at, "sha256": sha256(call.body), **extra}


def new_record(source: str, *, scope: str, title: str, producer: str, licence: str, mapping: dict,
               calls: list[dict], files: dict[str, bytes], fetched_at: str | None = None) -> dict:
    data_calls = [c for c in calls if c["role"] == "data"]
    return {
        "format": RECORD_FORMAT, "id": fetch_id(source, files, mapping), "source": source, "scope": scope,
        "title": title, "producer": producer, "licence": licence,
        "url": data_calls[0]["url"] if data_calls else (calls[0]["url"] if calls else ""),
        "fetched_at": fetched_at or now_iso(), "mapping": mapping, "calls": calls,
    }


def number_text(v: float | None) -> str:
    """A float as plain decimal text for normalise() ('5.3', '246583', never '1e-05')."""
    if v is None:
        return ""
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return np.format_float_positional(v, trim="-")


def frame(rows: list[dict]) -> pl.DataFrame:
    """Candidate rows (dicts with CANDIDATE_COLUMNS) as a frame of the right types."""
    schema = {c: pl.String for c in CANDIDATE_COLUMNS}
    schema["raw_row"] = pl.Int64
    if not rows:
        return pl.DataFrame(schema=schema)
    return pl.DataFrame(rows, schema=schema).select(CANDIDATE_COLUMNS)


def validate(candidates: pl.DataFrame, source_name: str) -> pl.DataFrame:
    """normalise() plus the duplicate check, problems as one FormatError in Swedish."""
    if candidates.is_empty():
        raise FormatError(f"Svaret från {source_name} innehöll inga värden för det som efterfrågades")
    try:
        obs = normalise(candidates)
    except InputError as exc:
        shown = "; ".join(str(p) for p in exc.problems[:5])
        more = f" (och {len(exc.problems) - 5} fel till)" if len(exc.problems) > 5 else ""
        raise FormatError(f"Värdena från {source_name} klarar inte kontrollen: {shown}{more}") from None
    dups = duplicate_conflicts(obs)
    if not dups.is_empty():
        r = dups.row(0, named=True)
        key = ", ".join(f"{k}={r[k]}" for k in KEY_COLUMNS if r[k])
        raise FormatError(f"Svaret från {source_name} ger samma nyckel med olika värden ({key})")
    return obs
