"""Curated figures from the nämnd's reports (data/raw/reports/*.csv, see data/raw/README.md).

Each row names the seed document's line its value stands on; `value_printed` is the figure
as printed, parsed here like any other Swedish number.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from ..problems import Problem
from . import SourceBatch, read_sidecar

COLUMNS = ("series", "measure", "period", "gender", "area", "group", "value_printed", "status",
           "kind", "target_setter", "line", "note")


def load(raw_dir: Path, processed_dir: Path | None = None) -> SourceBatch:
    batch = SourceBatch()
    for path in sorted((raw_dir / "reports").glob("*.csv")):
        rel = path.relative_to(raw_dir).as_posix()
        dataset, problems = read_sidecar(path, raw_dir, "report")
        batch.problems += problems
        if problems:
            continue
        try:
            df = pl.read_csv(path, infer_schema=False, empty_string_is_null=False)
        except pl.exceptions.PolarsError as exc:
            batch.problems.append(Problem(rel, None, "", f"filen kan inte läsas som CSV: {exc}"))
            continue
        missing = [c for c in COLUMNS if c not in df.columns]
        if missing:
            batch.problems.append(Problem(rel, 1, "", f"kolumner saknas: {', '.join(missing)}"))
            continue
        bad_lines = df.with_row_index("i").filter(~pl.col("line").str.contains(r"^\d+$"))
        for r in bad_lines.iter_rows(named=True):
            batch.problems.append(Problem(rel, r["i"] + 2, "line", f"radnummer '{r['line']}' är inget heltal"))
        if len(bad_lines):
            continue
        document = dataset["document"] or path.stem + ".txt"
        batch.datasets.append(dataset)
        batch.candidates.append(
            df.with_row_index("raw_row", offset=2).select(
                *COLUMNS[:6],
                value_text=pl.col("value_printed"),
                status=pl.col("status"), kind=pl.col("kind"), target_setter=pl.col("target_setter"),
                dataset=pl.lit(dataset["id"]),
                source=pl.lit(source_prefix(document)) + pl.col("line"),
                source_label=pl.lit(f"{dataset['title']}, rad ") + pl.col("line"),
                note=pl.col("note"),
                raw_file=pl.lit(rel),
                raw_row=pl.col("raw_row").cast(pl.Int64),
            )
        )
    return batch


def source_prefix(document: str) -> str:
    """A report figure's `source` is this followed by its line: 'seeds/002_….txt#L607'."""
    return f"seeds/{document}#L"


def contradicted_sources(datasets: list[dict]) -> set[str]:
    """The `source` of every line a report's sidecar names as doubtful (`doubtful_lines` of an
    inconsistency): a figure there is contradicted by the document's own text or tables. Not
    every line of an inconsistency: most are a rounding in the text beside an exact table."""
    out = set()
    for d, items in _report_inconsistencies(datasets):
        prefix = source_prefix(d["document"] or d["id"] + ".txt")
        out.update(f"{prefix}{int(n)}" for item in items for n in item.get("doubtful_lines", []))
    return out


def explained_lines(datasets: list[dict]) -> dict[str, set[int]]:
    """Per report, the lines its sidecar names in an inconsistency: disagreements there are
    printed in the document itself and kept as printed."""
    return {d["id"]: {int(x) for item in items for x in item.get("lines", [])}
            for d, items in _report_inconsistencies(datasets)}


def _report_inconsistencies(datasets: list[dict]):
    """(dataset, its sidecar's inconsistencies) for every report."""
    for d in datasets:
        if d["source_type"] == "report":
            yield d, json.loads(d["inconsistencies"] or "[]")
