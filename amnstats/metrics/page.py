"""One page's work after a click: its selection, filtered first, and all its metrics, cached.

`SelectionIndex` keeps the observations sorted by series and measure and computes every
metric over the whole table once, at start, keeping the row ranges of each pair in each
result: a click slices its rows (no copy, no pass over the whole table, no metric computed)
and a second click on the same selection is a cache hit. `scan_selection` reads one selection from a
parquet file with predicate pushdown (row groups of other measures are skipped).
"""

from __future__ import annotations

from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ._keys import ObsKeys, preferred
from .areas import SHARE_PARTS, aggregate_areas, area_comparison, build_board, per_capita
from .gender import gender_split
from .targets import target_status
from .trend import index_to_base, rolling_12_months
from .yoy import year_on_year


@dataclass(frozen=True)
class PageMetrics:
    selection: pl.DataFrame
    year_on_year: pl.DataFrame
    gender: pl.DataFrame
    areas: pl.DataFrame
    area_groups: pl.DataFrame
    targets: pl.DataFrame
    index: pl.DataFrame
    rolling_12m: pl.DataFrame
    per_capita: pl.DataFrame | None


def page_metrics(selection: pl.DataFrame, *, parts: list[pl.DataFrame] = (), base_year: int | None = None,
                 attrs: pl.DataFrame | None = None, share_parts: dict | None = None,
                 groups: dict[str, tuple[str, ...]] | None = None, population: pl.DataFrame | None = None,
                 keys: ObsKeys | None = None, part_keys: tuple[ObsKeys, ...] | None = None,
                 parallel: bool = True) -> PageMetrics:
    """Every metric of one selection (one series and measure, all areas, genders, groups,
    periods). `parts`: the selections of the share's numerator and denominator, so district
    groups can recompute the share. `base_year` defaults to the selection's first year.
    `keys`/`part_keys`: precomputed ids (SelectionIndex passes them)."""
    selection = preferred(selection)
    if base_year is None:
        base_year = default_base_year(selection)
    if keys is None or keys.frame is not selection:
        keys = ObsKeys(selection, attrs)  # computed once, shared by every metric below
    if part_keys is None:
        part_keys = tuple(ObsKeys(preferred(p), attrs) for p in parts)
    jobs = _metric_jobs(selection, keys, attrs=attrs, share_parts=share_parts, population=population,
                        groups=groups, part_keys=part_keys)
    jobs["index"] = lambda: index_to_base(selection, base_year, keys=keys)
    results = _run(jobs, parallel and selection.height >= 50_000, keys, *part_keys)
    return PageMetrics(selection=selection, **results)


def default_base_year(selection: pl.DataFrame) -> int:
    """The year of the selection's first period (2000 when it has none): index_to_base's base."""
    first = selection["period_start"].min() if selection.height else None
    return first.year if first is not None else 2000


def _metric_jobs(frame: pl.DataFrame, keys: ObsKeys, *, attrs, share_parts, population,
                 groups=None, part_keys: tuple[ObsKeys, ...] = ()) -> dict:
    """Every page metric of `frame` as a job, but the index (its base year is the caller's)."""
    return {
        "area_groups": lambda: aggregate_areas(frame, groups, attrs, share_parts, keys=keys, part_keys=part_keys),
        "year_on_year": lambda: year_on_year(frame, keys=keys),
        "gender": lambda: gender_split(frame, attrs, keys=keys),
        "areas": lambda: area_comparison(frame, attrs, keys=keys),
        "targets": lambda: target_status(frame, attrs, keys=keys),
        "rolling_12m": lambda: rolling_12_months(frame, keys=keys),
        "per_capita": lambda: per_capita(frame, population, attrs=attrs, keys=keys) if population is not None else None,
    }


def _run(jobs: dict, parallel: bool, *all_keys: ObsKeys) -> dict:
    """The jobs' results by name: two at a time when `parallel`."""
    if not parallel:
        return {name: job() for name, job in jobs.items()}
    _warm(*all_keys)  # the shared pieces first, so the threads do not build them twice
    return dict(zip(jobs, _POOL.map(lambda job: job(), jobs.values())))


# numpy and polars release the GIL in their loops: two metrics can run at once on two cores.
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="amnstats-metrics")


def _warm(*all_keys: ObsKeys) -> None:
    for k in all_keys:
        k.values, k.status, k.pid, k.key_frame, k.additive_key, k.direction_key, k.share_key  # noqa: B018
        build_board(k)


class SelectionIndex:
    """Observations sorted by (series, measure), every metric computed once, sliced per click.

    Built once (the app's start): the series keys and periods of the whole table are
    numbered, and every metric of a page is computed over the whole table (each metric
    works per series key or per cell, never across measures, so a selection's rows of the
    whole-table result are exactly the result on the selection). Each result keeps the row
    ranges of every (series, measure), so a click is a few zero-copy slices. Only what
    depends on a user's choice (`index_to_base` with another base year than the
    selection's first) is computed per click, on the selection, and cached by inputs.
    `compute()` gives the same result from scratch on the selection (the tests compare them)."""

    def __init__(self, obs: pl.DataFrame, *, attrs: pl.DataFrame | None = None, share_parts: dict | None = None,
                 population: pl.DataFrame | None = None, cache_size: int = 64):
        obs = preferred(obs)
        runs = _runs(obs)
        if len(runs) != len({pair for pair, _, _ in runs}):  # a pair in two places: sort once, here
            obs = obs.sort("series", "measure", maintain_order=True)
            runs = _runs(obs)
        self.obs = obs.rechunk()  # one chunk per column: gathers from a slice stay cheap
        self.ranges = {pair: (start, length) for pair, start, length in runs}
        self.keys = ObsKeys(self.obs, attrs).in_order_of_appearance()
        self.attrs, self.population = attrs, population
        self.share_parts = SHARE_PARTS if share_parts is None else share_parts
        self._cache: OrderedDict[tuple, PageMetrics] = OrderedDict()
        self._cache_size = cache_size
        self.default_base_year = {pair: default_base_year(self.obs.slice(start, length))
                                  for pair, start, length in runs}
        self.precomputed: dict[str, pl.DataFrame | None] = {}
        self._result_ranges: dict[str, dict[tuple[str, str], list[tuple[int, int]]]] = {}
        self._index_by_year: dict[int, pl.DataFrame] = {}
        self._precompute()

    def _precompute(self) -> None:
        """Every metric over the whole table, once, with the row ranges of each pair."""
        obs, k = self.obs, self.keys
        jobs = _metric_jobs(obs, k, attrs=self.attrs, share_parts=self.share_parts, population=self.population)
        for year in sorted(set(self.default_base_year.values())):  # one run per distinct first year
            jobs[f"index:{year}"] = lambda year=year: index_to_base(obs, year, keys=k)
        results = _run(jobs, obs.height >= 50_000, k)
        k.cache.clear()  # boards and per-row codes of the whole table: not needed once computed
        row_ranges = {pair: [r] for pair, r in self.ranges.items()}
        for name, result in results.items():
            if name.startswith("index:"):
                self._index_by_year[int(name[6:])] = result
                continue
            self.precomputed[name] = result
            if result is not None:
                same_rows = result.height == obs.height and name in ("year_on_year", "areas", "rolling_12m",
                                                                      "per_capita")
                self._result_ranges[name] = row_ranges if same_rows else _pair_ranges(result)

    def select(self, series: str, measure: str) -> pl.DataFrame:
        start, length = self.ranges.get((series, measure), (0, 0))
        return self.obs.slice(start, length)

    def select_keys(self, series: str, measure: str) -> tuple[pl.DataFrame, ObsKeys]:
        """The selection and its keys, sliced from the precomputed ones."""
        start, length = self.ranges.get((series, measure), (0, 0))
        frame = self.obs.slice(start, length)
        return frame, self.keys.block(frame, start, length)

    def metrics(self, series: str, measure: str, base_year: int | None = None) -> PageMetrics:
        key = (series, measure, base_year)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        if self.precomputed and (series, measure) in self.ranges:
            result = self._sliced(series, measure, base_year)
        else:
            result = self.compute(series, measure, base_year)
        self._cache[key] = result
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return result

    def compute(self, series: str, measure: str, base_year: int | None = None) -> PageMetrics:
        """The page's metrics computed from scratch on its selection (no precomputed result)."""
        frame, keys = self.select_keys(series, measure)
        parts = [self.select_keys(series, m) for m in self.share_parts.get((series, measure), ())]
        return page_metrics(frame, parts=[f for f, _ in parts], base_year=base_year, attrs=self.attrs,
                            share_parts=self.share_parts, population=self.population, keys=keys,
                            part_keys=tuple(k for _, k in parts))

    def _sliced(self, series: str, measure: str, base_year: int | None) -> PageMetrics:
        """The page's rows of the precomputed results: zero-copy slices."""
        pair = (series, measure)
        frame, frame_k = self.select_keys(series, measure)
        out = {}
        for name, result in self.precomputed.items():
            if result is None:
                out[name] = None
                continue
            ranges = self._result_ranges[name].get(pair, [])
            out[name] = _take(result, ranges)
        default = self.default_base_year[pair]
        if base_year is None or base_year == default:
            out["index"] = self._index_by_year[default].slice(*self.ranges[pair])
        else:  # a user's choice: computed on the selection alone (cached with the page)
            out["index"] = index_to_base(frame, base_year, keys=frame_k)
        return PageMetrics(selection=frame, **out)


def _take(result: pl.DataFrame, ranges: list[tuple[int, int]]) -> pl.DataFrame:
    if not ranges:
        return result.clear()
    if len(ranges) == 1:
        return result.slice(*ranges[0])
    return pl.concat([result.slice(s, n) for s, n in ranges], rechunk=False)


def _pair_ranges(frame: pl.DataFrame) -> dict[tuple[str, str], list[tuple[int, int]]]:
    """Every contiguous run of rows of each (series, measure), in row order."""
    out: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for pair, start, length in _runs(frame):
        out.setdefault(pair, []).append((start, length))
    return out


def scan_selection(source: str | Path | pl.LazyFrame, series: str, measure: str) -> pl.DataFrame:
    """One selection from a parquet file (or lazy frame); the filter is pushed into the scan."""
    lf = source if isinstance(source, pl.LazyFrame) else pl.scan_parquet(source)
    return lf.filter(pl.col("series") == series, pl.col("measure") == measure).collect()


def _runs(obs: pl.DataFrame) -> list[tuple[tuple[str, str], int, int]]:
    """((series, measure), start, length) of each contiguous run of rows."""
    if obs.is_empty():
        return []
    change = obs.select(
        (pl.col("series") != pl.col("series").shift()) | (pl.col("measure") != pl.col("measure").shift())
    ).to_series().fill_null(True)
    starts = change.arg_true().to_list()
    pairs = obs.select("series", "measure")[starts].rows()
    ends = starts[1:] + [obs.height]
    return [(pair, s, e - s) for pair, s, e in zip(pairs, starts, ends)]
