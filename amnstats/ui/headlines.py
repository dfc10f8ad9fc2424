"""The headline figure of each series for the start page: latest city-wide outcome and
its change from a year earlier. Pure polars; the page only renders it."""

from __future__ import annotations

import polars as pl

from ..catalogue import SERIES_LABELS, measures
from ..metrics import latest, year_on_year

# Preferred headline measure (and group) per series; the first that has data wins.
HEADLINE_MEASURES: dict[str, list[tuple[str, str]]] = {
    "unemployment": [("arbetsloshet_bas", "20-64 år"), ("arbetslosa_andel", "")],
    "jobbtorg": [("inskrivna_unika", ""), ("inskrivna", "")],
    "kaa": [("omfattade", ""), ("nadda", "")],
    "sfi": [("elever", "")],
    "komvux": [("elever", "")],
    "stockholmsjobb": [("anstallda", "")],
    "feriejobb": [("anstallda", "")],
    "uvas": [("nadda", ""), ("unga_uvas", "")],
    "ekonomiskt_bistand": [("hushall", ""), ("hushall_arbetsloshet", "")],
    "arbetsmarknadsinsatser": [("deltagare_unika", "")],
}


def headlines(obs: pl.DataFrame) -> pl.DataFrame:
    """One row per series: series, measure, group, period, value, change_abs, change_pct, ..."""
    city = obs.filter(pl.col("area") == "Stockholm", pl.col("gender") == "totalt",
                      pl.col("kind") == "utfall", pl.col("is_preferred"))
    rows = []
    for series in SERIES_LABELS:
        if series == "indicator":
            continue
        part = city.filter(pl.col("series") == series)
        if part.is_empty():
            continue
        wanted = [c for c in HEADLINE_MEASURES.get(series, [])
                  if not part.filter(pl.col("measure") == c[0], pl.col("group") == c[1],
                                     pl.col("value").is_not_null()).is_empty()]
        if wanted:
            measure, group = wanted[0]
        else:  # the measure with most values
            top = part.group_by("measure", "group").len().sort("len", "measure", descending=[True, False]).row(0)
            measure, group = top[0], top[1]
        sel = part.filter(pl.col("measure") == measure, pl.col("group") == group)
        # Compare like with like: a period type that recurs (e.g. years) over one-offs.
        rows.append(latest(year_on_year(sel)))
    if not rows:
        return pl.DataFrame()
    out = pl.concat(rows, how="diagonal_relaxed")
    cat = measures()
    return out.with_columns(
        label=pl.Series([cat[(a, b)].label_sv for a, b in zip(out["series"].to_list(), out["measure"].to_list())],
                        dtype=pl.String),
    )
