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
    SERIES_KEY,
    STATUS_NAMES,
    SUPPRESSED,
    ObsKeys,
    dense,
    filter_rows,
    find_rows,
    labelled,
    preferred,
    prepare,
    row_hash,
    to_series,
)

CELL = ("series", "measure", "period", "gender", "group", "kind", "target_setter")
_PART_KEY = tuple(c for c in SERIES_KEY if c != "area")  # a cell is a part key and a period
_PLACE = tuple(c for c in _PART_KEY if c != "measure")  # a share's parts share its place
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
    """Each cell's (series key minus area, period) value in each board area: one row per area,
    so an area's values, and a group's sums, are contiguous runs over the cells."""

    value: np.ndarray  # (areas, cells), NaN where absent
    status: np.ndarray  # (areas, cells), MISSING where absent
    seen: np.ndarray  # (areas, cells), the area has a row in the cell
    single: np.ndarray  # (areas, cells), exactly one row (more than one: ambiguous)
    representative: np.ndarray  # per cell, its last row in a board area (-1: none)
    cell: np.ndarray | None  # per row (-1: none); None: key_cell[key] + period
    key_cell: np.ndarray | None  # per series key, its cell in the first period

    def row_cells(self, k: ObsKeys) -> np.ndarray:
        """Each row's cell (-1: none)."""
        return self.cell if self.cell is not None else self.key_cell[k.ids] + k.pid


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


_BLOCK = 1 << 20  # rows per block of the board's scatter


def _make_board(k: ObsKeys, areas: list[str]) -> _Board:
    width = len(areas)
    column = k.key_codes("area", tuple(areas), other=width)  # per key; other areas: a spare row
    size, key_cell, cell = _number_cells(k, column, width)
    key_slot = column * size if key_cell is None else column * size + key_cell
    # Scatter the rows into their slots, a block of rows at a time: the per-row temporaries
    # stay small and are reused (no fresh pages of memory for ten million rows' slots).
    # `row` keeps the last row written to a slot (numpy writes repeated indices in order).
    value = np.full((width + 1) * size, np.nan)
    status = np.full((width + 1) * size, MISSING, np.int8)
    row = np.full((width + 1) * size, -1, np.int32 if k.n < 2**31 else np.int64)
    for start in range(0, k.n, _BLOCK):
        rows = slice(start, min(start + _BLOCK, k.n))
        slot = _row_slots(k, key_slot, cell, rows)
        value[slot] = k.values[rows]
        status[slot] = k.status[rows]
        row[slot] = np.arange(rows.start, rows.stop, dtype=row.dtype)
    repeated = np.count_nonzero(row >= 0) < k.n  # some slot has two rows (rare): count them
    value, status, row = (a.reshape(width + 1, size)[:width] for a in (value, status, row))
    seen = row >= 0
    single = seen
    if repeated:
        count = np.bincount(_row_slots(k, key_slot, cell, slice(0, k.n)), minlength=(width + 1) * size)
        single = count[:width * size].reshape(width, size) == 1
    representative = row.max(axis=0, initial=-1).astype(np.int64)
    return _Board(value, status, seen, single, representative, cell, key_cell)


def _row_slots(k: ObsKeys, key_slot: np.ndarray, cell: np.ndarray | None, rows: slice) -> np.ndarray:
    """The rows' slots in the board: key_slot (the key's area row, and its cell in the
    first period when cells are numbered per key) plus the period, or plus the row's cell."""
    slot = key_slot[k.ids[rows]]
    slot += k.pid[rows] if cell is None else np.maximum(cell[rows], 0)
    return slot


def _number_cells(k: ObsKeys, column: np.ndarray, width: int) -> tuple[int, np.ndarray | None, np.ndarray | None]:
    """(number of cells, each key's cell in the first period or None, each row's cell or None).

    Per key when cells are few enough: part keys are numbered in the order of their last key
    in a board area and periods in order of appearance, so in a table sorted by key the
    cells are in the order of their last rows (the order aggregate_areas writes) and need
    no sort. Otherwise per row, by k.cells; sparse cells renumbered, -1 for other areas."""
    part_key, n = k.coarse(_PART_KEY)
    n_periods = len(k.periods)
    if _small_enough(n * n_periods * width, k.n):
        inside = column < width
        last = np.full(n, -1, np.int64)
        np.maximum.at(last, part_key[inside], k.first_row[inside])
        rank = np.empty(n, np.int64)
        rank[np.argsort(last, kind="stable")] = np.arange(n)
        return n * n_periods, rank[part_key] * n_periods, None
    cell, size = k.cells(without=("area",))
    if not _small_enough(size * width, k.n):  # sparse cells: renumber the ones the areas use
        inside = column[k.ids] < width
        used, _, size = dense(cell[inside])
        cell = np.full(k.n, -1, np.int64)
        cell[inside] = used
    return max(size, 1), None, cell  # at least one cell: rows of other areas point at it


def _small_enough(n_slots: int, n_rows: int) -> bool:
    """Is a board of n_slots cheap next to the frame's rows?"""
    return n_slots <= max(8 * n_rows, 1_000_000)


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
    size = board.value.shape[1]
    cell = board.row_cells(k)
    at = np.where(cell >= 0, cell, size)  # each row's cell; `size`: none (a slot of nulls)
    has_cell = at < size
    # Per cell first (few), then one lookup per row.
    city_of = np.append(np.where(board.single[0], board.value[0], np.nan), np.nan)
    value_city = city_of[at]

    # Rank within each cell (few districts), then look each row up.
    ranked = [i for i, a in enumerate(columns) if a in district_names]
    rank_board, n_ranked = _ranks(board.value[ranked], k.direction_key[k.ids[np.maximum(board.representative, 0)]] < 0)
    column = k.column_codes("area", tuple(columns[i] for i in ranked))
    rank_of = np.zeros((max(len(ranked), 1), size + 1), np.float64)  # column `size`: no cell
    rank_of[:len(ranked), :size] = rank_board
    rank = rank_of.reshape(-1)[np.maximum(column, 0) * (size + 1) + at]
    rank[(column < 0) | np.isnan(value) | ~has_cell] = np.nan
    return obs.with_columns(
        to_series("value_city", value_city),
        to_series("diff_city", value - value_city),
        k.change_unit(name="diff_city_unit"),
        to_series("rank", rank).cast(pl.Int64),
        pl.Series("n_ranked", np.append(n_ranked, 0)[at]).cast(pl.Int64),
    )


def _ranks(values: np.ndarray, lower_better: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """values: (districts, cells). (rank of each district in its cell, 1 = best, ties share
    the better rank; districts ranked per cell). Missing values sort last and get no rank."""
    scores = np.where(lower_better[None, :], values, -values)  # smaller score = better
    scores[np.isnan(values)] = np.inf
    # Rank = 1 + the districts with a strictly better score: ties share the better rank.
    # Districts are few (13): a comparison per pair of rows beats a sort per cell.
    ranks = np.ones(scores.shape, np.int16)
    better = np.empty(scores.shape[1], bool)
    for j, column in enumerate(scores):
        for i, other in enumerate(scores):
            if i != j:
                np.less(other, column, out=better)
                ranks[j] += better
    return ranks, np.isfinite(scores).sum(axis=0)


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
    value: np.ndarray  # the value of a row (NaN: none); counts only where `has`
    has: np.ndarray  # exactly one row, and it has a value
    seen: np.ndarray  # there is a row
    suppressed: np.ndarray  # a row is suppressed
    approximate: np.ndarray  # a row is approximate


def _cells(k: ObsKeys, areas: list[str]) -> _Cells:
    key = ("cells", tuple(areas))
    if key not in k.cache:
        board = _board(k, areas)
        cells = _in_row_order(board.representative)

        def take(a: np.ndarray) -> np.ndarray:
            return a if cells is None else np.take(a, cells, axis=1)  # C order: rows stay contiguous
        value, status, seen = take(board.value), take(board.status), take(board.seen)
        has = take(board.single) & ~np.isnan(value)
        # Absent slots have status MISSING: only a row can be suppressed or approximate.
        k.cache[key] = _Cells(board.representative if cells is None else board.representative[cells],
                              value, has, seen, status == SUPPRESSED, status == APPROXIMATE)
    return k.cache[key]


def _in_row_order(representative: np.ndarray) -> np.ndarray | None:
    """The cells that have a row, in the order of their rows; None when that is every cell
    in its own order (a table sorted by key: nothing to sort or gather)."""
    cells = np.flatnonzero(representative >= 0)
    rows = representative[cells]
    if len(cells) == len(representative) and bool((rows[1:] > rows[:-1]).all()):
        return None
    return cells[np.argsort(rows)]  # rows are distinct: every sort gives the same order


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
    partial, present = np.zeros(shape), np.zeros(shape, np.int16)  # groups have fewer than 2**15 members
    suppressed, approximate, seen = np.zeros(shape, bool), np.zeros(shape, bool), np.zeros(shape, bool)
    for g, rows in enumerate(members):
        for m in rows:
            np.add(partial[g], c.value[m], out=partial[g], where=c.has[m])  # no copy of values with zeros
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
    rep_mask = np.zeros(k.n, bool)
    rep_mask[main.rep] = True
    cells_frame = filter_rows(k.frame, rep_mask, (*CELL, "period_start", "period_end", "period_type", "unit"))
    cells_frame = cells_frame.rechunk()  # a chunk per column, as the columns added below (a no-op if so)

    every = bool(keep.all())

    def kept(a: np.ndarray) -> np.ndarray:  # (groups, cells) -> the output's rows
        return a.reshape(-1) if every else a[keep]
    total = kept(result.total)
    added = [
        to_series("value", total),
        labelled(STATUS_NAMES, kept(result.state) + np.int8(1), "status", as_string=True),
        to_series("value_partial", kept(result.partial)),
        pl.Series("n_present", kept(result.present), dtype=pl.Int64),
        pl.Series("is_complete", ~np.isnan(total)),
    ]
    # One piece per group with every column: a frame whose columns are chunked alike is not
    # copied into one chunk per column (as adding columns to the concatenated pieces would).
    constant = {"area_type": pl.lit(area_type), "dataset": pl.lit(""),
                "source": pl.lit("amnstats.metrics.aggregate_areas"),
                "source_label": pl.lit("Beräknat från stadsdelsområdenas värden"), "note": pl.lit(""),
                "is_preferred": pl.lit(True), "has_conflict": pl.lit(False)}
    pieces, start = [], 0
    for g, (name, n) in enumerate(zip(groups, per_group.tolist())):
        if n:
            rows = cells_frame if n == len(main.rep) else filter_rows(cells_frame, keep[g])
            pieces.append(rows.hstack([c.slice(start, n) for c in added]).with_columns(
                area=pl.lit(name), n_members=pl.lit(len(groups[name]), pl.Int64), **constant))
            start += n
    return pl.concat(pieces, rechunk=False).select(*OBSERVATION_SCHEMA.names(), *GROUP_EXTRAS)


def _part_values(sums: list[_GroupSums], source: np.ndarray, at: np.ndarray):
    """(groups x cells) total, status and members present of the part cells (source -1: absent)."""
    n_groups = sums[0].total.shape[0]
    value = np.full((n_groups, len(at)), np.nan)
    state = np.full((n_groups, len(at)), MISSING, np.int8)
    present = np.zeros((n_groups, len(at)), np.int16)
    for s, part in enumerate(sums):
        cells = np.flatnonzero(source == s)
        found = at[cells]
        for out, sums_of in ((value, part.total), (state, part.state), (present, part.present)):
            for g in range(n_groups):  # a group at a time: gathers from one contiguous row
                out[g][cells] = sums_of[g][found]
    return value, state, present


def _all_members() -> tuple[str, ...]:
    return tuple(sorted({m for ms in area_groups().values() for m in ms}))


def _worst(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """suppressed > missing > approximate > ordinary."""
    return _BY_SEVERITY[np.maximum(_SEVERITY[a], _SEVERITY[b])]


_SEVERITY = np.zeros(4, np.int8)
_SEVERITY[[OK, APPROXIMATE, MISSING, SUPPRESSED]] = np.arange(4)  # status code -> severity
_BY_SEVERITY = np.argsort(_SEVERITY).astype(np.int8)  # severity -> status code


def _share_parts(sources: list[ObsKeys], reps: list[np.ndarray],
                 share_parts: dict[tuple[str, str], tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """For each cell of the first source: where its numerator and denominator cells are,
    as (source, position) rows of a 2 x cells array; source -1 when a declared part is
    absent (or is in two sources), -2 for cells that are not shares with declared parts."""
    n = len(reps[0])
    none = np.full((2, n), -2, np.int64)
    if n == 0 or not (set(share_parts) & sources[0].measures):
        return none, none.copy()
    # A cell is a part key (the series key minus area) and a period. Parts are matched per
    # part key and per period label (few of each); then each cell takes a few integer lookups.
    main = sources[0]
    part_key, key_frame = _part_keys(main)
    cell_key, cell_period = part_key[main.ids[reps[0]]], main.pid[reps[0]]
    place = row_hash(key_frame, _PLACE)
    pairs = key_frame.select("series", "measure").rows()
    finders = [_cell_finder(k, rep) for k, rep in zip(sources, reps)]
    out = []
    for i in (0, 1):  # numerators, then denominators
        names = [share_parts.get(p, (None, None))[i] for p in pairs]  # per part key of main
        declared = np.array([name is not None for name in names], bool)[cell_key]
        wanted = _mix(place, pl.Series(names, dtype=pl.String).hash().to_numpy())
        found = [find(wanted, cell_key, main.periods, cell_period) for find in finders]
        src, at = np.full(n, -1, np.int64), np.zeros(n, np.int64)
        for s, pos in enumerate(found):
            src = np.where(pos >= 0, s, src)
            at = np.where(pos >= 0, pos, at)
        twice = sum((pos >= 0).astype(np.int8) for pos in found) > 1  # found twice: answers nothing
        out.append(np.stack([np.where(declared, np.where(twice, -1, src), -2), np.where(twice, 0, at)]))
    return out[0], out[1]


def _part_keys(k: ObsKeys) -> tuple[np.ndarray, pl.DataFrame]:
    """(per series key its part key: the series key minus area; a row of key columns per part key).
    Kept in k.cache: _share_parts asks for the main source's, and so does its cell finder."""
    if "part_keys" not in k.cache:
        part_key, n = k.coarse(_PART_KEY)
        any_key = np.zeros(n, np.int64)
        any_key[part_key] = np.arange(len(part_key))
        k.cache["part_keys"] = (part_key, k.key_frame.select(_PART_KEY)[any_key])
    return k.cache["part_keys"]


def _cell_finder(k: ObsKeys, rep: np.ndarray):
    """find(wanted, key, periods, period): per query, the position in rep of k's cell with the
    part key wanted[key] (a hash of its place and measure) and the period label
    periods[period]; -1 when k has none. The index of k's cells is built once, for both the
    numerators and the denominators."""
    part_key, key_frame = _part_keys(k)
    if not len(rep) or not len(key_frame):
        return lambda wanted, key, periods, period: np.full(len(key), -1, np.int64)
    have = _mix(row_hash(key_frame, _PLACE), key_frame["measure"].hash().to_numpy())  # per part key of k
    order = np.argsort(have)
    have_sorted = have[order]
    index = {label: i for i, label in enumerate(k.periods)}
    n_periods = len(k.periods)
    cells = part_key[k.ids[rep]] * n_periods + k.pid[rep]

    def find(wanted: np.ndarray, key: np.ndarray, periods: list[str], period: np.ndarray) -> np.ndarray:
        pos = np.minimum(np.searchsorted(have_sorted, wanted), len(have) - 1)
        target_key = np.where(have_sorted[pos] == wanted, order[pos], -1)[key]
        target_period = np.array([index.get(label, -1) for label in periods], np.int64)[period]
        query = np.where((target_key >= 0) & (target_period >= 0), target_key * n_periods + target_period, -1)
        return find_rows(cells, query, len(have) * n_periods)

    return find


def _mix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return (a ^ (b * np.uint64(0x9E3779B97F4A7C15))) * np.uint64(0xBF58476D1CE4E5B9)


def _empty_groups() -> pl.DataFrame:
    return pl.DataFrame(schema={**OBSERVATION_SCHEMA, **GROUP_EXTRAS})
