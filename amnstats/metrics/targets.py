"""Target against outcome: utfall against nämndens and KF:s målvärde."""

from __future__ import annotations

import numpy as np
import polars as pl

from ..catalogue import TARGET_SETTERS
from ._keys import ObsKeys, labelled, prepare, to_series

TARGET_STATUSES = ("met", "partly_met", "missed")
TARGET_STATUSES_SV = ("uppfyllt", "delvis uppfyllt", "ej uppfyllt")
TARGET_REASONS = ("indikatorn saknar riktning", "utfall saknas", "målvärde saknas")
PARTLY_MET_TOLERANCE = 0.05


def target_status(obs: pl.DataFrame, attrs: pl.DataFrame | None = None,
                  tolerance: float = PARTLY_MET_TOLERANCE, keys: ObsKeys | None = None) -> pl.DataFrame:
    """One row per utfall and target setter (nämnden, kf) that has a målvärde for the same
    series, measure, period, gender, area and group: the utfall row with `target_setter`,
    `target`, `target_gap` = utfall - målvärde (`target_gap_unit`: procentenheter for
    shares), `target_status`, `target_status_sv` and `target_reason` (why no status).

    The rule, with the direction declared in the catalogue:
    - met ("uppfyllt"): the utfall reaches the target or beyond it in the good direction
      (>= for higher_is_better, <= for lower_is_better);
    - partly_met ("delvis uppfyllt"): not met, but missed by at most `tolerance` (5 %) of
      the target's size: |utfall - målvärde| <= 0,05 x |målvärde|. A target of 80 % with
      utfall 77 % is partly met (3 <= 4 procentenheter); 75 % is missed;
    - missed ("ej uppfyllt"): missed by more than that.
    No status for neutral measures or when the utfall or the målvärde is missing."""
    obs, k = prepare(obs, keys, attrs)
    if "målvärde" not in set(k.key_frame["kind"].to_list()):  # checked per key, not per row
        return _no_targets(obs)
    cell, size = k.cells(without=("kind", "target_setter"))
    value = k.values
    is_outcome = k.column_is("kind", "utfall")
    is_target = k.column_is("kind", "målvärde")
    sign = k.direction_key[k.ids]
    parts = []
    for who in TARGET_SETTERS:
        rows = np.flatnonzero(is_target & k.column_is("target_setter", who))
        if not len(rows):
            continue
        target_of = np.full(size, np.nan)
        has_target = np.zeros(size, bool)
        target_of[cell[rows]] = value[rows]
        has_target[cell[rows]] = True
        chosen = np.flatnonzero(is_outcome & has_target[cell])
        parts.append((TARGET_SETTERS.index(who) + 1, chosen, target_of[cell[chosen]]))
    if not parts or not sum(len(c) for _, c, _ in parts):
        return _no_targets(obs)
    setter = np.concatenate([np.full(len(c), code) for code, c, _ in parts])
    chosen = np.concatenate([c for _, c, _ in parts])
    t = np.concatenate([t for _, _, t in parts])
    v, s = value[chosen], sign[chosen]
    gap = v - t
    met = s * gap >= -1e-9 * np.maximum(1.0, np.abs(t))  # float noise is not a miss
    partly = ~met & (np.abs(gap) <= tolerance * np.abs(t) + 1e-12)
    reason = np.select([s == 0, np.isnan(v), np.isnan(t)], [1, 2, 3], 0)
    status = np.where(reason > 0, 0, np.where(met, 1, np.where(partly, 2, 3)))
    # Filter per setter rather than gather: cheaper on string columns.
    picked = pl.concat([obs.filter(pl.Series(_mask(obs.height, c))) for _, c, _ in parts if len(c)])
    return picked.with_columns(
        labelled(TARGET_SETTERS, setter, "target_setter", as_string=True),
        to_series("target", t),
        to_series("target_gap", gap),
        k.change_unit(chosen, "target_gap_unit"),
        labelled(TARGET_STATUSES, status, "target_status"),
        labelled(TARGET_STATUSES_SV, status, "target_status_sv"),
        labelled(TARGET_REASONS, reason, "target_reason"),
    )


def _mask(n: int, rows: np.ndarray) -> np.ndarray:
    mask = np.zeros(n, bool)
    mask[rows] = True
    return mask


def _no_targets(obs: pl.DataFrame) -> pl.DataFrame:
    return obs.clear().with_columns(
        target=pl.lit(None, pl.Float64), target_gap=pl.lit(None, pl.Float64),
        target_gap_unit=pl.lit(None, pl.String), target_status=labelled(TARGET_STATUSES, [], "target_status"),
        target_status_sv=labelled(TARGET_STATUSES_SV, [], "target_status_sv"),
        target_reason=labelled(TARGET_REASONS, [], "target_reason"))
