"""Stadsdelsområden: rank and difference from the city, per-capita rates, and sums to the
groups people talk about (Järva, Innerstaden, Söderort, Västerort, the fokusområden).

Counts are summed; shares and rates never are: a group's share is recomputed from the
group's numerator and denominator when both are in the data (`SHARE_PARTS`). A sum that
lacks a member, or includes a suppressed cell, is incomplete: its `value` is null and the
known part is in `value_partial`, so it is never silently smaller.

The fokusområden of the city budget 2026 are Järva, Farsta, Hagsätra-Rågsved and
Skärholmen. Hagsätra-Rågsved is part of Enskede-Årsta-Vantör and district figures cannot
isolate it, so the group "Fokusområden 2026" counts the whole of Enskede-Årsta-Vantör.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from .. import catalogue
from ..schema import OBSERVATION_SCHEMA
from ._keys import (
    APPROXIMATE,
    CITY,
    MISSING,
    OK,
    STATUS_NAMES,
    SUPPRESSED,
    ObsKeys,
    dense,
    filter_rows,
    labelled,
    preferred,
    prepare,
    row_hash,
    to_series,
)

CELL = ("series", "measure", "period", "gender", "group", "kind", "target_setter")
REORGANISED = date(2020, 7, 1)  # Hägersten-Liljeholmen + Älvsjö -> Hägersten-Älvsjö
# A share measure and the two counts it is the ratio of (numerator, denominator).
SHARE_PARTS: dict[tuple[str, str], tuple[str, str]] = {
    ("unemployment", "arbetsloshet_bas"): ("arbetslosa_bas", "arbetskraft_bas"),
}
GROUP_EXTRAS = {"value_partial": pl.Float64, "n_members": pl.Int64, "n_present": pl.Int64, "is_complete": pl.Boolean}
PER_CAPITA_REASONS = ("ingen befolkningsuppgift för området och perioden", "andelar räknas inte per invånare",
                      "värdet saknas")


def area_groups() -> dict[str, tuple[str, ...]]:
    """Groups of stadsdelsområden declared in the catalogue (area_type group_of_sdo)."""
    return {a.area: a.members for a in catalogue.areas().values() if a.area_type == "group_of_sdo"}


def merged_districts() -> dict[str, tuple[str, ...]]:
    """Districts formed by a merger and the former districts they replace."""
    out: dict[str, list[str]] = {}
    for a in catalogue.areas().values():
        if a.merged_into:
            out.setdefault(a.merged_into, []).append(a.area)
    return {k: tuple(v) for k, v in out.items()}


@dataclass
class _Board:
    """Values of one area per column for each cell (series key minus area, period)."""

    cell: np.ndarray  # per row
    value: np.ndarray  # (cells, areas), NaN where absent
    status: np.ndarray  # (cells, areas), MISSING where absent
    count: np.ndarray  # (cells, areas), rows per cell and area (more than 1: ambiguous)
    representative: np.ndarray  # per cell, a row of it (-1: none among the areas)


def _board(k: ObsKeys, areas: list[str]) -> _Board:
    cached = k.cache.get(("board", tuple(areas)))
    if cached is None:
        cached = k.cache[("board", tuple(areas))] = _make_board(k, areas)
    return cached


def build_board(k: ObsKeys) -> None:
    """Build the area board of k now (page_metrics does, before its threads share it)."""
    _board(k, _board_areas(k, CITY, _all_members()))


def _board_areas(k: ObsKeys, city: str, extra: tuple[str, ...] = ()) -> list[str]:
    """The city, then every district in the data or asked for: one board serves both the
    comparison and the group sums of a page."""
    return [city, *sorted((_districts_in(k) | set(extra)) - {city})]


def _districts_in(k: ObsKeys) -> set[str]:
    """The stadsdelsområden (area_type sdo) among the frame's areas."""
    if "districts" not in k.cache:
        pairs = zip(k.key_frame["area"].to_list(), k.key_frame["area_type"].to_list()) if k.n_keys else ()
        k.cache["districts"] = {a for a, t in pairs if t == "sdo"}
    return k.cache["districts"]


def _make_board(k: ObsKeys, areas: list[str]) -> _Board:
    cell, size = k.cells(without=("area",))
    column = k.column_codes("area", tuple(areas))
    every = k.n == 0 or column.min() >= 0  # every row in a board area (the usual case): no gathers by rows
    rows = np.arange(k.n) if every else np.flatnonzero(column >= 0)
    width = max(len(areas), 1)
    if size * width > max(8 * k.n, 1_000_000):  # sparse cells: renumber the ones the areas use
        used, _, size = dense(cell if every else cell[rows])
        cell = np.full(k.n, -1, np.int64)
        cell[rows] = used
    cell_r, column_r = (cell, column) if every else (cell[rows], column[rows])
    flat = cell_r * width
    flat += column_r
    count = np.bincount(flat, minlength=size * width).reshape(size, width)
    value = np.full(size * width, np.nan)
    value[flat] = k.values if every else k.values[rows]
    status = np.full(size * width, MISSING, np.int8)
    status[flat] = k.status if every else k.status[rows]
    representative = np.full(size, -1, np.int64)
    representative[cell_r] = rows
    return _Board(cell, value.reshape(size, width), status.reshape(size, width), count, representative)


def area_comparison(obs: pl.DataFrame, attrs: pl.DataFrame | None = None, city: str = CITY,
                    keys: ObsKeys | None = None) -> pl.DataFrame:
    """Every row with the city's value for the same cell (series, measure, period, gender,
    group, kind, target_setter) and:

    - `diff_city` = value - the city's value (`diff_city_unit`: procentenheter for shares);
    - `rank` among the stadsdelsområden (area_type sdo) with a value: 1 is the best by the
      catalogue's direction (the lowest for lower_is_better, else the highest); ties share
      the better rank; null for other areas and missing values. `n_ranked` districts ranked.
    Run `harmonise_areas` first to rank periods before 2020-07-01 over 13 districts."""
    obs, k = prepare(obs, keys, attrs)
    columns = _board_areas(k, city, _all_members())
    district_names = _districts_in(k)
    board = _board(k, columns)
    value = k.values
    size = len(board.representative)
    at = np.where(board.cell >= 0, board.cell, size)  # each row's cell; `size`: none (a slot of nulls)
    has_cell = at < size
    # Per cell first (few), then one lookup per row.
    city_of = np.append(np.where(board.count[:, 0] == 1, board.value[:, 0], np.nan), np.nan)
    value_city = city_of[at]

    # Rank within each cell's row of the board (few districts), then look each row up.
    ranked = [i for i, a in enumerate(columns) if a in district_names]
    rank_board, n_ranked = _ranks(board, ranked, k.direction_key[k.ids[np.maximum(board.representative, 0)]] < 0)
    column = k.column_codes("area", tuple(columns[i] for i in ranked))
    width = max(len(ranked), 1)
    rank_of = np.zeros((size + 1) * width, np.float64)
    rank_of[:size * width] = rank_board.reshape(-1) if len(ranked) else 0
    rank = rank_of[at * width + np.maximum(column, 0)]
    rank[(column < 0) | np.isnan(value) | ~has_cell] = np.nan
    return obs.with_columns(
        to_series("value_city", value_city),
        to_series("diff_city", value - value_city),
        k.change_unit(name="diff_city_unit"),
        to_series("rank", rank).cast(pl.Int64),
        pl.Series("n_ranked", np.append(n_ranked, 0)[at]).cast(pl.Int64),
    )


def _ranks(board: _Board, ranked: list[int], lower_better: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rank of each district in its cell, 1 = best, ties share the better rank; districts
    ranked per cell). Missing values sort last and get no rank of their own."""
    values = board.value[:, ranked]
    scores = np.where(lower_better[:, None], values, -values)  # smaller score = better
    scores[np.isnan(values)] = np.inf
    # Rank = 1 + the districts with a strictly better score: ties share the better rank.
    # Districts are few (13): a comparison per pair of columns beats a sort per row.
    by_district = np.ascontiguousarray(scores.T)  # (districts, cells): each comparison streams
    ranks = np.ones(by_district.shape, np.int16)
    better = np.empty(len(scores), bool)
    for j, column in enumerate(by_district):
        for i, other in enumerate(by_district):
            if i != j:
                np.less(other, column, out=better)
                ranks[j] += better
    return np.ascontiguousarray(ranks.T), np.isfinite(by_district).sum(axis=0)


def per_capita(obs: pl.DataFrame, population: pl.DataFrame, per: int = 10_000,
               attrs: pl.DataFrame | None = None, keys: ObsKeys | None = None) -> pl.DataFrame:
    """Counts per `per` inhabitants: `population` has columns area, period, gender, value.
    A period with no population of its own uses the population of its calendar year
    (label "2023"). Shares are not divided by population (`per_capita_reason` says why)."""
    obs, k = prepare(obs, keys, attrs)
    places, n_places = k.coarse(("area", "gender"))
    place_rows = k.key_frame.select("area", "gender").with_columns(_p=pl.Series(places)).unique("_p")
    place_of = {p: (a, g) for a, g, p in place_rows.iter_rows()}
    known = {(a, p, g): v for a, p, g, v in population.select("area", "period", "gender", "value").iter_rows()}
    periods = k.periods
    years = [label[:4] for label in periods]  # canonical labels start with the year
    table = np.full(n_places * len(periods), np.nan)
    for place, (area, gender) in place_of.items():
        for i, (label, year) in enumerate(zip(periods, years)):
            v = known.get((area, label, gender), known.get((area, year, gender)))
            if v is not None:
                table[place * len(periods) + i] = v
    inhabitants = table[places[k.ids] * len(periods) + k.pid] if k.n else np.zeros(0)
    additive = k.additive_key[k.ids]
    value = k.values
    has_pop = inhabitants > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(additive & has_pop, value / inhabitants * per, np.nan)
    reason = np.select([~additive, ~has_pop, np.isnan(value)], [2, 1, 3], 0)
    return obs.with_columns(
        to_series("population", np.where(has_pop, inhabitants, np.nan)),
        to_series("per_capita", rate),
        per_capita_unit=pl.lit(f"per {per:,} invånare".replace(",", " ")),
        per_capita_reason=labelled(PER_CAPITA_REASONS, reason, "per_capita_reason"),
    )


def harmonise_areas(obs: pl.DataFrame, attrs: pl.DataFrame | None = None,
                    share_parts: dict[tuple[str, str], tuple[str, str]] | None = None) -> pl.DataFrame:
    """Adds, for periods starting before 2020-07-01, a Hägersten-Älvsjö row summed from
    Hägersten-Liljeholmen and Älvsjö (by the rules of `aggregate_areas`), so series can be
    compared across the reorganisation. The former districts' rows stay; a period that
    already has a Hägersten-Älvsjö row keeps it."""
    merged = merged_districts()
    former = [a for members in merged.values() for a in members]
    rows = obs.filter(pl.col("area").is_in(former), pl.col("period_start") < REORGANISED)
    if rows.is_empty():
        return obs
    added = _sum_areas(ObsKeys(preferred(rows), attrs), merged, share_parts, area_type="sdo")
    existing = obs.filter(pl.col("area").is_in(list(merged))).select(*CELL, "area")
    added = added.join(existing, on=[*CELL, "area"], how="anti", nulls_equal=True)
    return pl.concat([obs, added], how="diagonal_relaxed")


def aggregate_areas(obs: pl.DataFrame, groups: dict[str, tuple[str, ...]] | None = None,
                    attrs: pl.DataFrame | None = None,
                    share_parts: dict[tuple[str, str], tuple[str, str]] | None = None,
                    keys: ObsKeys | None = None, part_keys: tuple[ObsKeys, ...] = ()) -> pl.DataFrame:
    """One row per group of districts and cell, in the observation table's columns plus
    `value_partial` (sum of the members that have a value), `n_members`, `n_present` and
    `is_complete`. Counts (is_additive) are summed; a share is recomputed from its parts
    (`share_parts`, default `SHARE_PARTS`) when both sums are complete; other measures give
    no group row. `status` is suppressed when a member is suppressed, missing when a member
    is absent, approximate when a member is approximate. Periods before 2020-07-01 are
    harmonised first (see `harmonise_areas`). Default groups: the catalogue's.
    The parts of a share are looked up in `obs` and in `part_keys` (other selections)."""
    obs, k = prepare(obs, keys, attrs)
    k = _harmonised(k, attrs, share_parts)
    # The parts of a share are harmonised alike (with each other: a part's harmonised share
    # row needs nothing from the other), so the result is the same as on one table.
    part_keys = tuple(_harmonised(p, attrs, share_parts) for p in part_keys)
    return _sum_areas(k, groups if groups is not None else area_groups(), share_parts, part_keys=part_keys)


def _harmonised(k: ObsKeys, attrs: pl.DataFrame | None, share_parts) -> ObsKeys:
    """k, or the keys of its frame with Hägersten-Älvsjö rows added before 2020-07-01."""
    former = {a for members in merged_districts().values() for a in members}
    if k.n_keys and former & set(k.key_frame["area"].to_list()):  # checked per key, not per row
        harmonised = harmonise_areas(k.frame, attrs if attrs is not None else k.attrs, share_parts)
        if harmonised is not k.frame:
            return prepare(harmonised, None, attrs if attrs is not None else k.attrs)[1]
    return k


@dataclass
class _Cells:
    """The cells of one frame that have a row in some board area, as (areas, cells) arrays:
    one contiguous row per area, so a group's sum adds a few rows (no matrix product)."""

    rep: np.ndarray  # a row of each cell
    value: np.ndarray  # the value where exactly one row has one, else 0
    has: np.ndarray  # exactly one row has a value
    seen: np.ndarray  # there is a row
    suppressed: np.ndarray  # a row is suppressed
    approximate: np.ndarray  # a row is approximate


def _cells(k: ObsKeys, areas: list[str]) -> _Cells:
    key = ("cells", tuple(areas))
    if key not in k.cache:
        board = _board(k, areas)
        cells = np.flatnonzero(board.representative >= 0)
        cells = cells[np.argsort(board.representative[cells], kind="stable")]  # output in row order
        count = board.count[cells].T
        value = board.value[cells].T
        status = board.status[cells].T
        seen = count > 0
        has = (count == 1) & ~np.isnan(value)
        k.cache[key] = _Cells(board.representative[cells], np.where(has, value, 0.0), has, seen,
                              seen & (status == SUPPRESSED), seen & (status == APPROXIMATE))
    return k.cache[key]


@dataclass
class _GroupSums:
    """Per group (rows) and cell (columns)."""

    total: np.ndarray  # NaN unless every member has exactly one value
    partial: np.ndarray  # sum of the members with a value; NaN when none has
    state: np.ndarray  # status code: suppressed > missing > approximate > ordinary
    present: np.ndarray  # members with a value
    seen: np.ndarray  # some member has a row


def _group_sums(c: _Cells, members: list[list[int]]) -> _GroupSums:
    """Every group's sums: members are the area rows of each group."""
    n_cells = len(c.rep)
    shape = (len(members), n_cells)
    partial, present = np.zeros(shape), np.zeros(shape, np.int64)
    suppressed, approximate, seen = np.zeros(shape, bool), np.zeros(shape, bool), np.zeros(shape, bool)
    for g, rows in enumerate(members):
        for m in rows:
            partial[g] += c.value[m]
            present[g] += c.has[m]
            suppressed[g] |= c.suppressed[m]
            approximate[g] |= c.approximate[m]
            seen[g] |= c.seen[m]
    complete = present == np.array([len(m) for m in members])[:, None]
    state = np.full(shape, OK, np.int8)
    state[approximate] = APPROXIMATE
    state[~complete] = MISSING
    state[suppressed] = SUPPRESSED
    total = np.where(complete, partial, np.nan)
    partial[present == 0] = np.nan
    return _GroupSums(total, partial, state, present, seen)


def _sum_areas(k: ObsKeys, groups: dict[str, tuple[str, ...]],
               share_parts: dict[tuple[str, str], tuple[str, str]] | None,
               area_type: str = "group_of_sdo", part_keys: tuple[ObsKeys, ...] = ()) -> pl.DataFrame:
    if not groups or k.n == 0:
        return _empty_groups()
    areas = _board_areas(k, CITY, tuple(m for ms in groups.values() for m in ms))
    sources = [k, *part_keys]
    columns = [_board_areas(s, CITY, tuple(areas)) for s in sources]
    cells = [_cells(s, cols) for s, cols in zip(sources, columns)]
    main = cells[0]
    if not len(main.rep):
        return _empty_groups()
    sums = [_group_sums(c, [[cols.index(m) for m in members] for members in groups.values()])
            for c, cols in zip(cells, columns)]
    result = sums[0]
    additive = k.additive_key[k.ids[main.rep]]
    parts = _share_parts(sources, [c.rep for c in cells], share_parts if share_parts is not None else SHARE_PARTS)
    is_share = parts[0][0] >= -1  # -1: declared parts, one of them absent
    if is_share.any():
        num_v, num_s, num_n = _part_values(sums, *parts[0][:, is_share])
        den_v, den_s, den_n = _part_values(sums, *parts[1][:, is_share])
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(den_v > 0, num_v / den_v * 100, np.nan)
        result.total[:, is_share] = share
        result.partial[:, is_share] = share
        result.state[:, is_share] = _worst(num_s, den_s)
        result.present[:, is_share] = np.minimum(num_n, den_n)
    keep = result.seen & (additive | is_share)[None, :]  # (groups, cells)
    if not keep.any():
        return _empty_groups()

    # Rows group by group, each in row order. The cells' rows are in row order (main.rep is
    # increasing), so their columns are a filter of the frame, not a gather; a group that
    # has every cell reuses that frame as it is (no copy), others filter it.
    per_group = keep.sum(axis=1)
    group_at = np.repeat(np.arange(len(groups)), per_group)
    n_members = np.array([len(m) for m in groups.values()])
    rep_mask = np.zeros(k.n, bool)
    rep_mask[main.rep] = True
    cells_frame = filter_rows(k.frame, rep_mask, (*CELL, "period_start", "period_end", "period_type", "unit"))
    pieces = [cells_frame if n == len(main.rep) else filter_rows(cells_frame, keep[g])
              for g, n in enumerate(per_group) if n]
    total = result.total[keep]
    return pl.concat(pieces, rechunk=False).with_columns(
        labelled(tuple(groups), group_at + 1, "area", as_string=True),
        area_type=pl.lit(area_type),
        value=to_series("value", total),
        status=labelled(STATUS_NAMES, result.state[keep] + np.int8(1), "status", as_string=True),
        dataset=pl.lit(""), source=pl.lit("amnstats.metrics.aggregate_areas"),
        source_label=pl.lit("Beräknat från stadsdelsområdenas värden"),
        note=pl.lit(""), is_preferred=pl.lit(True), has_conflict=pl.lit(False),
        value_partial=to_series("value_partial", result.partial[keep]),
        n_members=pl.Series(n_members[group_at], dtype=pl.Int64),
        n_present=pl.Series(result.present[keep], dtype=pl.Int64),
        is_complete=pl.Series(~np.isnan(total)),
    ).select(*OBSERVATION_SCHEMA.names(), *GROUP_EXTRAS)


def _part_values(sums: list[_GroupSums], source: np.ndarray, at: np.ndarray):
    """(groups x cells) total, status and members present of the part cells (source -1: absent)."""
    n_groups = sums[0].total.shape[0]
    value = np.full((n_groups, len(at)), np.nan)
    state = np.full((n_groups, len(at)), MISSING, np.int8)
    present = np.zeros((n_groups, len(at)), np.int64)
    for s, part in enumerate(sums):
        here = source == s
        value[:, here] = part.total[:, at[here]]
        state[:, here] = part.state[:, at[here]]
        present[:, here] = part.present[:, at[here]]
    return value, state, present


def _all_members() -> tuple[str, ...]:
    return tuple(sorted({m for ms in area_groups().values() for m in ms}))


def _worst(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """suppressed > missing > approximate > ordinary."""
    def either(code):
        return (a == code) | (b == code)
    return np.where(either(SUPPRESSED), SUPPRESSED, np.where(either(MISSING), MISSING,
                                                              np.where(either(APPROXIMATE), APPROXIMATE, OK)))


def _share_parts(sources: list[ObsKeys], reps: list[np.ndarray],
                 share_parts: dict[tuple[str, str], tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """For each cell of the first source: where its numerator and denominator cells are,
    as (source, position) rows of a 2 x cells array; source -1 when a declared part is
    absent, -2 for cells that are not shares with declared parts."""
    n = len(reps[0])
    none = np.full((2, n), -2, np.int64)
    if n == 0 or not (set(share_parts) & sources[0].measures):
        return none, none.copy()
    # Everything per series key (few), then per cell by its key and period: no string work per cell.
    main_k = sources[0]
    pairs = main_k._measure_per_key
    num_of = pl.Series([share_parts.get(p, (None, None))[0] for p in pairs], dtype=pl.String)
    den_of = pl.Series([share_parts.get(p, (None, None))[1] for p in pairs], dtype=pl.String)
    key_of = main_k.ids[reps[0]]
    declared = num_of.is_not_null().to_numpy()[key_of]
    if not declared.any():
        return none, none.copy()
    # A cell is found by a hash of (its place: the cell without the measure, the measure).
    known_h, known_src, known_at, main_place = [], [], [], None
    for s, (k, rep) in enumerate(zip(sources, reps)):
        place = _place_hash(k, rep)
        known_h.append(_mix(place, k.key_frame["measure"].hash().to_numpy()[k.ids[rep]]))
        known_src.append(np.full(len(rep), s, np.int64))
        known_at.append(np.arange(len(rep), dtype=np.int64))
        if s == 0:
            main_place = place
    h, src, at = (np.concatenate(x) for x in (known_h, known_src, known_at))
    order = np.argsort(h, kind="stable")
    h, src, at = h[order], src[order], at[order]
    unique = np.ones(len(h), bool)  # a hash found twice answers nothing (as a join on unique keys)
    if len(h) > 1:
        repeated = h[1:] == h[:-1]
        unique[1:] &= ~repeated
        unique[:-1] &= ~repeated
    h, src, at = h[unique], src[unique], at[unique]
    out = []
    for names in (num_of, den_of):
        wanted = _mix(main_place, names.fill_null("").hash().to_numpy()[key_of])
        pos = np.minimum(np.searchsorted(h, wanted), max(len(h) - 1, 0))
        hit = (h[pos] == wanted) if len(h) else np.zeros(len(wanted), bool)
        found_src = np.where(hit, src[pos] if len(h) else -1, -1)
        found_at = np.where(hit, at[pos] if len(h) else 0, 0)
        out.append(np.stack([np.where(declared, found_src, -2), found_at]))
    return out[0], out[1]


_PLACE = ("series", "gender", "group", "kind", "target_setter")


def _place_hash(k: ObsKeys, rep: np.ndarray) -> np.ndarray:
    """Per cell (a row of it in rep): a hash of (series, period, gender, group, kind,
    target_setter), from a hash per key and one per period label."""
    per_key = row_hash(k.key_frame, _PLACE) if k.n_keys else np.zeros(0, np.uint64)
    per_period = pl.Series(k.periods, dtype=pl.String).hash().to_numpy()
    return _mix(per_key[k.ids[rep]], per_period[k.pid[rep]])


def _mix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return (a ^ (b * np.uint64(0x9E3779B97F4A7C15))) * np.uint64(0xBF58476D1CE4E5B9)


def _empty_groups() -> pl.DataFrame:
    return pl.DataFrame(schema={**OBSERVATION_SCHEMA, **GROUP_EXTRAS})
