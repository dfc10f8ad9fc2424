"""Gender: women's share, the gap women minus men, and the check kvinnor + män = totalt."""

from __future__ import annotations

import numpy as np
import polars as pl

from ._keys import MISSING, STATUS_NAMES, ObsKeys, filter_rows, labelled, prepare, to_series

GENDERS = ("kvinnor", "män", "totalt")
CHECKS = ("ok", "mismatch", "incomplete")
_OUT = ("series", "measure", "period", "period_start", "period_end", "period_type", "area", "area_type",
        "group", "kind", "target_setter", "unit", "dataset", "source")


def gender_split(obs: pl.DataFrame, attrs: pl.DataFrame | None = None, keys: ObsKeys | None = None) -> pl.DataFrame:
    """One row per cell (series, measure, period, area, group, kind, target_setter) with
    `value_kvinnor`, `value_män`, `value_totalt` and their `status_*`, and:

    - `women_share`: kvinnor as a percent of the total, for additive counts only (a share
      of a share means nothing). The total is the printed totalt, or kvinnor + män when no
      totalt is printed (`women_share_base` says which).
    - `gap`: kvinnor - män in the measure's unit; `gap_unit` is procentenheter for shares.
    - `gender_sum_diff` = kvinnor + män - totalt and `gender_check`, for additive counts:
      "ok", "mismatch" (the source's figures disagree: reported, never corrected) or
      "incomplete" (one of the three is suppressed or missing).
    `dataset` and `source` are those of the totalt row (else the first row of the cell)."""
    obs, k = prepare(obs, keys, attrs)
    cell, size = k.cells(without=("gender",))
    gender = k.column_codes("gender", GENDERS)
    value, status = k.values, k.status
    # One scatter into a (gender, cell) board; rows of other genders are left out.
    every = len(gender) == 0 or gender.min() >= 0
    rows = np.arange(k.n) if every else np.flatnonzero(gender >= 0)
    take = (lambda a: a) if every else (lambda a: a[rows])  # every row: no copies
    flat = take(gender) * size + take(cell)
    cell_values = np.full(3 * size, np.nan)
    cell_values[flat] = take(value)
    cell_status = np.full(3 * size, MISSING, np.int8)
    cell_status[flat] = take(status)
    row_of = np.full(3 * size, -1, np.int64)
    row_of[flat] = rows
    cell_values, cell_status, row_of = (a.reshape(3, size) for a in (cell_values, cell_status, row_of))
    # The totalt row represents the cell, else män, else kvinnor.
    representative = np.where(row_of[2] >= 0, row_of[2], np.where(row_of[1] >= 0, row_of[1], row_of[0]))
    if not every:
        other = np.flatnonzero(gender < 0)  # a gender outside the three: the cell still gets a row
        free = other[representative[cell[other]] < 0]
        representative[cell[free]] = free
    chosen = np.zeros(k.n, bool)
    chosen[representative[representative >= 0]] = True
    cid = cell[chosen]
    additive = k.additive_key[k.ids[chosen]]
    women, men, total = (cell_values[g, cid] for g in (0, 1, 2))

    has_total = ~np.isnan(total)
    base = np.where(has_total, total, women + men)
    with np.errstate(divide="ignore", invalid="ignore"):
        women_share = np.where(additive & (base > 0), women / base * 100, np.nan)
    diff = np.where(additive, women + men - total, np.nan)
    close = np.abs(np.nan_to_num(diff)) <= 1e-9 * np.maximum(1.0, np.abs(np.nan_to_num(total)))
    check = np.where(~additive, 0, np.where(np.isnan(diff), 3, np.where(close, 1, 2)))
    base_name = np.where(~(additive & ~np.isnan(base)), 0, np.where(has_total, 1, 2))

    out = filter_rows(obs, chosen, [c for c in _OUT if c in obs.columns])
    return out.with_columns(
        to_series("value_kvinnor", women), to_series("value_män", men), to_series("value_totalt", total),
        *(labelled(STATUS_NAMES, cell_status[g, cid].astype(np.int64) + 1, f"status_{name}")
          for g, name in enumerate(GENDERS)),
        to_series("women_share", women_share),
        labelled(("totalt", "kvinnor + män"), base_name, "women_share_base"),
        to_series("gap", women - men),
        k.change_unit(np.flatnonzero(chosen), "gap_unit"),
        to_series("gender_sum_diff", diff),
        labelled(CHECKS, check, "gender_check"),
    )


def gender_mismatches(obs: pl.DataFrame, attrs: pl.DataFrame | None = None) -> pl.DataFrame:
    """The cells where the source's kvinnor + män differ from its totalt, with the source."""
    return gender_split(obs, attrs).filter(pl.col("gender_check") == "mismatch")
