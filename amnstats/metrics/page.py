"""One page's work after a click: its selection, filtered first, and all its metrics, cached.

`SelectionIndex` keeps the observations sorted by series and measure with the row range of
each pair, so a click slices its rows (no copy, no pass over the whole table) and a second
click on the same selection is a cache hit. `scan_selection` reads one selection from a
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
        base_year = selection["period_start"].min().year if selection.height else 2000
    if keys is None or keys.frame is not selection:
        keys = ObsKeys(selection, attrs)  # computed once, shared by every metric below
    if part_keys is None:
        part_keys = tuple(ObsKeys(preferred(p), attrs) for p in parts)
    jobs = {
        "area_groups": lambda: aggregate_areas(selection, groups, attrs, share_parts, keys=keys, part_keys=part_keys),
        "year_on_year": lambda: year_on_year(selection, keys=keys),
        "gender": lambda: gender_split(selection, attrs, keys=keys),
        "areas": lambda: area_comparison(selection, attrs, keys=keys),
        "targets": lambda: target_status(selection, attrs, keys=keys),
        "index": lambda: index_to_base(selection, base_year, keys=keys),
        "rolling_12m": lambda: rolling_12_months(selection, keys=keys),
        "per_capita": lambda: per_capita(selection, population, attrs=attrs, keys=keys) if population is not None else None,
    }
    if parallel and selection.height >= 50_000:
        _warm(keys, *part_keys)  # the shared pieces first, so the threads do not build them twice
        results = dict(zip(jobs, _POOL.map(lambda job: job(), jobs.values())))
    else:
        results = {name: job() for name, job in jobs.items()}
    return PageMetrics(selection=selection, **results)


# numpy and polars release the GIL in their loops: two metrics can run at once on two cores.
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="amnstats-metrics")


def _warm(*all_keys: ObsKeys) -> None:
    for k in all_keys:
        k.values, k.status, k.pid, k.key_frame, k.additive_key, k.direction_key, k.share_key  # noqa: B018
        build_board(k)


class SelectionIndex:
    """Observations sorted by (series, measure), sliced per click, metrics cached by inputs.

    Built once (the app's start): the series keys and periods of the whole table are
    numbered here, so a click only slices rows and ids of its own series and measure."""

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
        frame, keys = self.select_keys(series, measure)
        parts = [self.select_keys(series, m) for m in self.share_parts.get((series, measure), ())]
        result = page_metrics(frame, parts=[f for f, _ in parts], base_year=base_year, attrs=self.attrs,
                              share_parts=self.share_parts, population=self.population, keys=keys,
                              part_keys=tuple(k for _, k in parts))
        self._cache[key] = result
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return result


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
