"""Source loaders: each reads one kind of raw file into candidate rows plus dataset metadata.

A loader is `load(raw_dir, processed_dir=None) -> SourceBatch`; the build runs them all (see
amnstats.build). `processed_dir` holds the earlier builds, which a loader may take rows from
instead of reading its files again (uploads do; the others ignore it).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ..problems import Problem

DATASET_FIELDS = (
    "id", "title", "producer", "document", "date", "url", "licence", "accessed", "description",
    "inconsistencies", "raw_path", "sha256", "source_type",
)


@dataclass
class SourceBatch:
    candidates: list[pl.DataFrame] = field(default_factory=list)
    datasets: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # {dataset id: key of the rows loaded}: the build records them in its manifest, so a later
    # build can take those rows from it (uploads.from_builds)
    cache_keys: dict[str, str] = field(default_factory=dict)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_sidecar(data_file: Path, raw_dir: Path, source_type: str) -> tuple[dict, list[Problem]]:
    """The dataset's metadata from `<name>.meta.json` beside the data file."""
    meta_path = data_file.with_name(data_file.stem + ".meta.json")
    rel = data_file.relative_to(raw_dir).as_posix()
    if not meta_path.exists():
        return {}, [Problem(rel, None, "", f"metadatafilen {meta_path.name} saknas")]
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return {}, [Problem(meta_path.relative_to(raw_dir).as_posix(), None, "", f"ogiltig JSON: {exc}")]
    missing = [k for k in ("id", "title", "producer", "licence") if not meta.get(k)]
    if missing:
        return {}, [Problem(meta_path.relative_to(raw_dir).as_posix(), None, "",
                            f"metadata saknar {', '.join(missing)}")]
    dataset = {k: meta.get(k) for k in DATASET_FIELDS}
    dataset["inconsistencies"] = json.dumps(meta.get("inconsistencies", []), ensure_ascii=False)
    dataset.update(raw_path=rel, sha256=sha256_file(data_file), source_type=source_type)
    for k in DATASET_FIELDS:
        dataset[k] = "" if dataset[k] is None else str(dataset[k])
    return dataset, []
