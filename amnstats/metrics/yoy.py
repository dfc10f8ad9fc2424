"""Year-on-year change, and the latest value per key."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import polars as pl

from ..periods import PeriodError, parse_period, shift_year
from ._keys import (
    MISSING,
    NO_PERCENT_CHANGE_UNITS,
    SERIES_KEY,
    ObsKeys,
    find_rows,
    labelled,
    prepare,
    to_series,
)

YOY_REASONS = (
    "perioden kan inte jämföras med föregående år",
    "ingen uppgift för samma period föregående år",
    "flera uppgifter för samma period föregående år",
    "värdet saknas",
    "värdet saknas (approximate)",
    "värdet saknas (suppressed)",
    "värdet saknas (missing)",
    "föregående års värde saknas",
    "föregående års värde saknas (approximate)",
    "föregående års värde saknas (suppressed)",
    "föregående års värde saknas (missing)",
)


def previous_period_labels(labels: list[str]) -> list[str | None]:
    """The same period one year earlier (a tertial to the same tertial, "jan-mars" to
    "jan-mars"); None when a label cannot be parsed."""
    return [_previous(label) for label in labels]


@lru_cache(maxsize=100_000)
def _previous(label: str) -> str | None:
    try:
        return shift_year(parse_period(label)).label
    except PeriodError:
        return None


def year_on_year(obs: pl.DataFrame, keys: ObsKeys | None = None) -> pl.DataFrame:
    """Change against the same period one year earlier, per series key
    (series, measure, gender, area, group, kind, target_setter).

    Adds `period_prev`, `value_prev`, `change_abs` (in the measure's unit; for shares this
    is procentenheter), `change_pct` (not for shares or procentenheter: never a percent of a
    percent; null when the earlier value is 0), `change_unit` and `yoy_reason` (why the
    change is null). A period is compared only with exactly the same period a year earlier:
    "jan-mars 2021" with "jan-mars 2020", never with the year 2020. Preferred rows only;
    a key with two rows for the earlier period gets no comparison rather than a guess."""
    obs, k = prepare(obs, keys)
    labels = k.periods
    prev_labels = previous_period_labels(labels)
    position = {label: i for i, label in enumerate(labels)}
    prev_pid_of = np.array([position.get(p, -1) if p else -1 for p in prev_labels], np.int64)
    comparable_of = np.array([p is not None for p in prev_labels], bool)
    n_periods = len(labels)

    # Row of the same key one year earlier: a lookup table by (key, period), no join.
    prev_pid = prev_pid_of[k.pid]
    queries = k.ids * n_periods
    queries += prev_pid
    queries[prev_pid < 0] = -1
    prev_row = find_rows(k.ids * n_periods + k.pid, queries, k.n_keys * n_periods)

    value, status = k.values, k.status
    missing = prev_row < 0
    at = np.maximum(prev_row, 0)
    value_prev = value[at]
    value_prev[missing] = np.nan
    status_prev = status[at]
    status_prev[missing] = MISSING
    change = value - value_prev
    no_pct = k.key_frame["unit"].is_in(list(NO_PERCENT_CHANGE_UNITS)).to_numpy()[k.ids]
    no_pct |= value_prev == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        change_pct = change / value_prev * 100
    change_pct[no_pct] = np.nan

    # Why there is no change; the first reason that applies wins, so assign the last first.
    reason = np.zeros(k.n, np.int8)
    gone = np.isnan(value_prev)
    reason[gone] = 8 + status_prev[gone]
    gone = np.isnan(value)
    reason[gone] = 4 + status[gone]
    reason[prev_row == -2] = 3
    reason[prev_row == -1] = 2
    reason[~comparable_of[k.pid]] = 1
    return obs.with_columns(
        pl.Series("period_prev", prev_labels, dtype=pl.String).gather(k.pid),
        to_series("value_prev", value_prev),
        to_series("change_abs", change),
        to_series("change_pct", change_pct),
        k.change_unit(),
        labelled(YOY_REASONS, reason, "yoy_reason"),
    )


def latest(obs: pl.DataFrame, by: tuple[str, ...] = SERIES_KEY) -> pl.DataFrame:
    """The row with the latest period end per key (ties: the longest period, i.e. a full year over a month)."""
    return (
        obs.filter(pl.col("value").is_not_null())
        .sort(["period_end", "period_start"], descending=[False, True])
        .group_by(list(by), maintain_order=True)
        .last()
    )
