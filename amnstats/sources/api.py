"""Fetches from the statistics APIs (data/raw/api/<source>/<fetch-id>/): each fetch in force
re-read from its stored responses with the mapping recorded at fetch time, so the build
repeats offline exactly what was previewed. See amnstats.connectors."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..problems import Problem
from . import SourceBatch, sha256_file


def load(raw_dir: Path, processed_dir: Path | None = None) -> SourceBatch:
    from ..connectors import ConnectorError, candidates
    from ..connectors.commit import RECORD, api_dir, in_force

    batch = SourceBatch()
    if not api_dir(raw_dir).exists():
        return batch
    for record in in_force(raw_dir):
        folder = api_dir(raw_dir) / record["source"] / record["id"]
        rel = f"api/{record['source']}/{record['id']}/{RECORD}"
        files: dict[str, bytes] = {}
        bad = []
        for call in record.get("calls", []):
            path = folder / call["file"]
            if not path.exists() or sha256_file(path) != call["sha256"]:
                bad.append(call["file"])
            else:
                files[call["file"]] = path.read_bytes()
        if bad:
            batch.problems.append(Problem(rel, None, "", f"svarsfilerna {', '.join(bad)} saknas eller har ändrats "
                                                         "sedan hämtningen"))
            continue
        try:
            batch.candidates.append(candidates(record, files))
        except ConnectorError as exc:
            batch.problems.append(Problem(rel, None, "", exc.message))
            continue
        combined = hashlib.sha256("".join(c["sha256"] for c in record["calls"]).encode()).hexdigest()
        date = record["fetched_at"][:10]
        batch.datasets.append({
            "id": record["id"], "title": record["title"], "producer": record["producer"],
            "document": ", ".join(c["file"] for c in record["calls"]), "date": date, "url": record.get("url", ""),
            "licence": record.get("licence", ""), "accessed": date,
            "description": f"Hämtat via API {record['fetched_at']} av {record.get('fetched_by', '')}; "
                           f"{len(record['calls'])} anrop, första: {record.get('url', '')}",
            "inconsistencies": "[]", "raw_path": rel, "sha256": combined, "source_type": "api",
        })
    return batch
