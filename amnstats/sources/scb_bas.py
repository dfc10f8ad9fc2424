"""SCB BAS (AM0210A, ArbStatusM): monthly labour-market status per region, as exported
from PxWeb with text labels (data/raw/scb/*.csv). One row holds eight counts and three
rates; each becomes its own observation."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ..problems import Problem
from . import SourceBatch, read_sidecar

MEASURES = {
    "arbetslöshet": "arbetsloshet_bas",
    "antal arbetslösa": "arbetslosa_bas",
    "antal sysselsatta och arbetslösa (arbetskraften)": "arbetskraft_bas",
    "antal sysselsatta": "sysselsatta_bas",
    "sysselsättningsgrad": "sysselsattningsgrad_bas",
    "arbetskraftsdeltagande": "arbetskraftsdeltagande_bas",
}
REQUIRED = ("region", "kön", "ålder", "födelseregion", "månad", *MEASURES)
BIRTH_REGION = {"totalt": "", "utrikes född": ", utrikes födda", "inrikes född": ", inrikes födda"}


def load(raw_dir: Path, processed_dir: Path | None = None) -> SourceBatch:
    batch = SourceBatch()
    for path in sorted((raw_dir / "scb").glob("*.csv")):
        rel = path.relative_to(raw_dir).as_posix()
        dataset, problems = read_sidecar(path, raw_dir, "file")
        batch.problems += problems
        if problems:
            continue
        df = pl.read_csv(path, infer_schema=False)
        missing = [c for c in REQUIRED if c not in df.columns]
        if missing:
            batch.problems.append(Problem(rel, 1, "", f"kolumner saknas: {', '.join(missing)}"))
            continue
        unknown = df.filter(~pl.col("födelseregion").is_in(list(BIRTH_REGION)))
        for r in unknown.with_row_index("i").iter_rows(named=True):
            batch.problems.append(Problem(rel, None, "födelseregion", f"okänd födelseregion '{r['födelseregion']}'"))
        if len(unknown):
            continue
        age = pl.col("ålder").str.replace("–", "-")
        base = df.with_row_index("raw_row", offset=2).with_columns(
            group=age + pl.col("födelseregion").replace_strict(BIRTH_REGION),
        )
        batch.datasets.append(dataset)
        for column, measure in MEASURES.items():
            batch.candidates.append(
                base.select(
                    series=pl.lit("unemployment"), measure=pl.lit(measure), period=pl.col("månad"),
                    gender=pl.col("kön"), area=pl.col("region"), group=pl.col("group"),
                    value_text=pl.col(column), status=pl.lit(""), kind=pl.lit("utfall"),
                    target_setter=pl.lit(""), dataset=pl.lit(dataset["id"]),
                    source=pl.lit(f"{rel}#rad=") + pl.col("raw_row").cast(pl.String) + pl.lit(f";kolumn={column}"),
                    source_label=pl.lit(f"{dataset['title']}, rad ") + pl.col("raw_row").cast(pl.String),
                    note=pl.lit(""), raw_file=pl.lit(rel), raw_row=pl.col("raw_row").cast(pl.Int64),
                )
            )
    return batch
