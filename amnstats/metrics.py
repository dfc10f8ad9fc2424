"""Metrics over the observation table: pure polars functions, no Streamlit.

Every function takes observations (see amnstats.schema) and returns a new frame; callers
filter first (one series/measure) so a click never recomputes the whole table.
"""

from __future__ import annotations

import polars as pl

from .catalogue import SHARE_UNITS
from .periods import PeriodError, parse_period, shift_year

SERIES_KEY = ("series", "measure", "gender", "area", "group", "kind", "target_setter")


def _previous_periods(labels: list[str]) -> pl.DataFrame:
    prev = []
    for label in labels:
        try:
            prev.append(shift_year(parse_period(label)).label)
        except PeriodError:
            prev.append(None)
    return pl.DataFrame({"period": labels, "period_prev": prev}, schema={"period": pl.String, "period_prev": pl.String})


def year_on_year(obs: pl.DataFrame) -> pl.DataFrame:
    """Change against the same period one year earlier, per series key.

    Adds `period_prev`, `value_prev`, `change_abs` (in the measure's unit; for shares this
    is procentenheter), `change_pct` (counts only; never a percent of a percent),
    `change_unit` and `yoy_reason` (why a change is null). Expects one row per key and
    period (use preferred rows)."""
    key = list(SERIES_KEY)
    prev = _previous_periods(obs["period"].unique().to_list())
    left = obs.join(prev, on="period", how="left")
    right = obs.select(*key, period_prev=pl.col("period"), value_prev=pl.col("value"),
                       status_prev=pl.col("status"))
    out = left.join(right, on=[*key, "period_prev"], how="left", nulls_equal=True)
    is_share = pl.col("unit").is_in(list(SHARE_UNITS))
    change = pl.col("value") - pl.col("value_prev")
    return out.with_columns(
        change_abs=change,
        change_pct=pl.when(~is_share & (pl.col("value_prev") != 0)).then(change / pl.col("value_prev") * 100),
        change_unit=pl.when(is_share).then(pl.lit("procentenheter")).otherwise(pl.col("unit")),
        yoy_reason=(
            pl.when(pl.col("period_prev").is_null()).then(pl.lit("perioden kan inte jämföras med föregående år"))
            .when(pl.col("status_prev").is_null()).then(pl.lit("ingen uppgift för samma period föregående år"))
            .when(pl.col("value").is_null()).then(pl.concat_str(pl.lit("värdet saknas ("), pl.col("status"), pl.lit(")")))
            .when(pl.col("value_prev").is_null()).then(pl.concat_str(pl.lit("föregående års värde saknas ("), pl.col("status_prev"), pl.lit(")")))
        ),
    ).drop("status_prev")


def latest(obs: pl.DataFrame, by: tuple[str, ...] = SERIES_KEY) -> pl.DataFrame:
    """The row with the latest period end per key (ties: the longest period, i.e. a full year over a month)."""
    return (
        obs.filter(pl.col("value").is_not_null())
        .sort(["period_end", "period_start"], descending=[False, True])
        .group_by(list(by), maintain_order=True)
        .last()
    )
