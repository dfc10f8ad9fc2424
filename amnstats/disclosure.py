"""Small-count suppression for gender x district breakdowns (röjandeskydd).

Counts below a threshold (default 5; AMNSTATS_MIN_COUNT overrides) for kvinnor or män in a
stadsdelsområde are shown as '..'. Where one gender is suppressed, the other is too in the
same cell, otherwise it could be recovered as totalt minus the one shown.
The processed store keeps the values; every display and export reads through this.
"""

from __future__ import annotations

import os

import polars as pl

from .catalogue import measures

DEFAULT_MIN_COUNT = 5
CELL = ("series", "measure", "period", "area", "group", "kind", "target_setter", "dataset")


def min_count() -> int:
    try:
        return max(0, int(os.environ.get("AMNSTATS_MIN_COUNT", DEFAULT_MIN_COUNT)))
    except ValueError:
        return DEFAULT_MIN_COUNT


def suppress_small_counts(obs: pl.DataFrame, threshold: int | None = None) -> pl.DataFrame:
    threshold = min_count() if threshold is None else threshold
    if threshold <= 0 or obs.is_empty():
        return obs
    additive = [(s, m) for (s, m), meas in measures().items() if meas.is_additive]
    counts = pl.DataFrame({"series": [a for a, _ in additive], "measure": [b for _, b in additive],
                           "_count": [True] * len(additive)},
                          schema={"series": pl.String, "measure": pl.String, "_count": pl.Boolean})
    flagged = obs.join(counts, on=["series", "measure"], how="left").with_columns(
        _small=(pl.col("_count").fill_null(False) & pl.col("area_type").is_in(["sdo", "former_sdo"])
                & pl.col("gender").is_in(["kvinnor", "män"]) & (pl.col("value") < threshold)).fill_null(False))
    flagged = flagged.with_columns(
        _hide=pl.col("_small").any().over(list(CELL)) & pl.col("gender").is_in(["kvinnor", "män"])
        & pl.col("_count").fill_null(False) & pl.col("area_type").is_in(["sdo", "former_sdo"]))
    return flagged.with_columns(
        value=pl.when(pl.col("_hide")).then(None).otherwise(pl.col("value")),
        status=pl.when(pl.col("_hide")).then(pl.lit("suppressed")).otherwise(pl.col("status")),
    ).drop("_count", "_small", "_hide")
