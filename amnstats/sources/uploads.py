"""Analysts' uploads (data/raw/uploads/<id>/): each active import re-read with its stored mapping."""

from __future__ import annotations

from pathlib import Path

from ..problems import Problem
from . import SourceBatch, sha256_file


def load(raw_dir: Path) -> SourceBatch:
    from ..imports import RECORD, read_record
    from ..ingest import Mapping, prepare

    batch = SourceBatch()
    root = raw_dir / "uploads"
    if not root.exists():
        return batch
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        record = read_record(folder)
        if record is None or record.get("status") != "active":
            continue  # no record: an import that never reached its commit point
        rel = f"uploads/{folder.name}/{record['stored_as']}"
        path = folder / record["stored_as"]
        if not path.exists() or sha256_file(path) != record["sha256"]:
            batch.problems.append(Problem(rel, None, "", "den uppladdade filen saknas eller har ändrats sedan importen"))
            continue
        prepared = prepare(path.read_bytes(), record["filename"], Mapping.from_dict(record["mapping"]),
                           sheet=record.get("sheet"), dataset_id=record["id"])
        if not prepared.ok:
            batch.problems += [Problem(rel, p.row, p.column, p.message) for p in prepared.problems]
            continue
        batch.candidates.append(prepared.candidates.drop("column"))
        date = record["uploaded_at"][:10]
        batch.datasets.append({
            "id": record["id"], "title": record["title"], "producer": record["producer"],
            "document": record["filename"], "date": date, "url": "", "licence": record["licence"],
            "accessed": date, "description": f"Uppladdad av {record['uploaded_by']} {record['uploaded_at']}.",
            "inconsistencies": "[]", "raw_path": rel, "sha256": record["sha256"], "source_type": "upload",
        })
    return batch
