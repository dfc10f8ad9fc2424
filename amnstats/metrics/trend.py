"""Index to a base year (= 100) and rolling 12-month averages."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import polars as pl

from ..periods import PeriodError, parse_period
from ._keys import ObsKeys, labelled, prepare, to_series

# How many periods of each type make up a base year.
PERIODS_PER_YEAR = {"year": 1, "tertial": 3, "quarter": 4, "month": 12}
ROLLING_REASONS = ("inte en månadsserie", "färre än 12 månader i följd", "ett värde saknas inom de 12 månaderna")


def _parsed(labels: list[str]):
    return [_parse(label) for label in labels]


@lru_cache(maxsize=100_000)
def _parse(label: str):
    try:
        return parse_period(label)
    except PeriodError:
        return None


def index_to_base(obs: pl.DataFrame, base_year: int, keys: ObsKeys | None = None) -> pl.DataFrame:
    """`index` = value / base x 100 per series key and period type, where the base is the
    value of `base_year` (for tertials, quarters and months: the mean of that year's
    periods, all of which must have a value). Adds `index_base` and `index_reason`."""
    obs, k = prepare(obs, keys)
    types = list(PERIODS_PER_YEAR)
    parsed = _parsed(k.periods)
    type_of = np.array([types.index(p.type) if p and p.type in types else -1 for p in parsed], np.int64)
    in_base_of = np.array([bool(p) and p.start.year == base_year == p.end.year for p in parsed], bool)
    expected = np.array([PERIODS_PER_YEAR[t] for t in types], np.int64)
    value = k.values
    t = type_of[k.pid]
    base_rows = np.flatnonzero(in_base_of[k.pid] & (t >= 0))
    code = k.ids * len(types) + np.maximum(t, 0)
    size = k.n_keys * len(types)
    has = ~np.isnan(value[base_rows])
    base_sum = np.bincount(code[base_rows], weights=np.where(has, value[base_rows], 0.0), minlength=size)
    base_values = np.bincount(code[base_rows], weights=has, minlength=size)
    base_count = np.bincount(code[base_rows], minlength=size)
    need = np.tile(expected, k.n_keys)
    complete = (base_values == need) & (base_count == need)
    with np.errstate(divide="ignore", invalid="ignore"):
        base = np.where(complete, base_sum / need, np.nan)[code]
        base[t < 0] = np.nan
        index = np.where(base != 0, value / base * 100, np.nan)
    reason = np.select([t < 0, np.isnan(base), base == 0, np.isnan(value)], [1, 2, 3, 4], 0)
    reasons = ("periodtypen har inget basår", f"basåret {base_year} saknar värden", "basvärdet är 0", "värdet saknas")
    return obs.with_columns(
        to_series("index_base", base), to_series("index", index),
        labelled(reasons, reason, "index_reason"),
    )


def rolling_12_months(obs: pl.DataFrame, keys: ObsKeys | None = None) -> pl.DataFrame:
    """`rolling_12m`: the mean of the 12 months ending with each month, per series key.
    Only when all 12 months are there and have a value: a suppressed month makes the
    average null (`rolling_12m_reason`), never an average of 11."""
    obs, k = prepare(obs, keys)
    parsed = _parsed(k.periods)
    month_of = np.array([p.start.year * 12 + p.start.month - 1 if p and p.type == "month" else -1 for p in parsed],
                        np.int64)
    month = month_of[k.pid]
    rows = np.flatnonzero(month >= 0)
    mean = np.full(k.n, np.nan)
    reason = np.ones(k.n, np.int64)
    if len(rows):
        got, gaps = _windows(k.ids[rows], month[rows], k.values[rows])
        full = gaps >= 0
        mean[rows] = np.where(full & (gaps == 0), got, np.nan)
        reason[rows] = np.where(~full, 2, np.where(gaps > 0, 3, 0))
    return obs.with_columns(to_series("rolling_12m", mean), labelled(ROLLING_REASONS, reason, "rolling_12m_reason"))


def _windows(key: np.ndarray, month: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: (mean of the 12-month window ending there, values missing in it; -1 when
    one of the 12 months is absent or repeated). Rows are put in (key, month) order unless
    they already are (the store's order), then each window is the 12 rows ending there."""
    code = key * (month.max() - month.min() + 1) + (month - month.min())
    order = None
    if len(code) > 1 and not (code[1:] >= code[:-1]).all():
        order = pl.Series(code).arg_sort().to_numpy()
        key, month, v = key[order], month[order], v[order]
    n = len(v)
    gaps = np.full(n, -1, np.int64)
    sums = np.zeros(n)
    if n >= 12:
        repeat = np.zeros(n, bool)
        repeat[1:] = (key[1:] == key[:-1]) & (month[1:] == month[:-1])
        repeats = np.concatenate([[0], np.cumsum(repeat)])
        whole = (key[11:] == key[:-11]) & (month[11:] - month[:-11] == 11) & (repeats[12:] - repeats[1:-11] == 0)
        missing = np.concatenate([[0], np.cumsum(np.isnan(v))])
        gaps[11:] = np.where(whole, missing[12:] - missing[:-12], -1)
        filled = np.where(np.isnan(v), 0.0, v)
        window = filled[11:].copy()  # 12 shifted adds: exact like a sum, and streams through memory
        for back in range(1, 12):
            window += filled[11 - back:n - back]
        sums[11:] = window
    if order is not None:
        sums[order], gaps[order] = sums.copy(), gaps.copy()
    return sums / 12, gaps
