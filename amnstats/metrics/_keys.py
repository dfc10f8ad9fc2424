"""Shared plumbing: integer ids for series keys and periods, computed once per frame.

Joining ten million rows on seven string columns costs seconds; hashing the key once,
sorting the hashes once and working on integer ids with numpy scatter/gather costs a
fraction of that. Every coarser key a metric needs (the key without gender, without area,
...) is derived from the series keys, which are few, not from the rows. Keys are told apart
by a 64-bit hash: for 100 000 distinct keys the chance that two share a hash is about
3·10⁻¹⁰, which we accept.
"""

from __future__ import annotations

from functools import cached_property, lru_cache

import numpy as np
import polars as pl

from .. import catalogue

SERIES_KEY = ("series", "measure", "gender", "area", "group", "kind", "target_setter")
SHARE_UNITS = tuple(catalogue.SHARE_UNITS)
# Units where a percent change means nothing: a change of a share is in procentenheter.
NO_PERCENT_CHANGE_UNITS = (*SHARE_UNITS, "procentenheter")
CITY = "Stockholm"

# Status codes used inside the metrics (the observation table stores the strings).
OK, APPROXIMATE, SUPPRESSED, MISSING = 0, 1, 2, 3
STATUS_NAMES = ("", "approximate", "suppressed", "missing")


def preferred(obs: pl.DataFrame) -> pl.DataFrame:
    """The rows metrics use: where sources repeat a figure, the preferred one only."""
    if "is_preferred" in obs.columns and not obs["is_preferred"].fill_null(False).all():
        return obs.filter(pl.col("is_preferred").fill_null(False))
    return obs


def to_series(name: str, array: np.ndarray) -> pl.Series:
    """NaN -> null, so results read like the observation table (null = no value)."""
    return pl.Series(name, array, nan_to_null=array.dtype.kind == "f")


def labelled(labels: tuple[str, ...], codes: np.ndarray, name: str, as_string: bool = False) -> pl.Series:
    """Labels by code (0 = null). Reasons and checks come as an Enum of their labels
    (cheaper to build than strings, compares with strings alike); `as_string` for the
    observation table's own String columns."""
    codes = np.asarray(codes)
    if codes.dtype.kind not in "iu":
        codes = codes.astype(np.int64)
    return _label_series(tuple(labels), as_string).gather(codes).rename(name)  # any integer type: no copy


def filter_rows(frame: pl.DataFrame, mask: np.ndarray, cols=None) -> pl.DataFrame:
    """frame.filter(mask) column by column: each column comes out in one chunk, and this is
    several times cheaper than a DataFrame filter (or a gather) on string columns."""
    names = frame.columns if cols is None else list(cols)
    if mask.all():
        return frame.select(names)
    keep = pl.Series(mask)
    return pl.DataFrame([frame.get_column(c).filter(keep) for c in names])


@lru_cache(maxsize=256)
def _label_series(labels: tuple[str, ...], as_string: bool) -> pl.Series:
    return pl.Series([None, *labels], dtype=pl.String if as_string else pl.Enum(list(dict.fromkeys(labels))))


def row_hash(frame: pl.DataFrame, cols) -> np.ndarray:
    """A 64-bit hash of the given columns per row (the same value in every frame)."""
    if frame.height == 0:
        return np.zeros(0, np.uint64)
    return frame.select(list(cols)).hash_rows().to_numpy()


def dense(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(dense id per element, index of the first element of each id, number of ids).
    When equal hashes stand together (a table sorted by key), ids are run numbers, in
    order of appearance, and nothing is sorted."""
    n = len(hashes)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), 0
    new_run = np.empty(n, bool)
    new_run[0] = True
    np.not_equal(hashes[1:], hashes[:-1], out=new_run[1:])
    starts = np.flatnonzero(new_run)
    if len(np.unique(hashes[starts])) == len(starts):  # every key in one run
        return np.cumsum(new_run) - 1, starts, len(starts)
    order = pl.Series(hashes).arg_sort().to_numpy()  # polars sorts on all cores
    ordered = hashes[order]
    first = np.empty(n, bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    ids = np.empty(n, np.int64)
    ids[order] = np.cumsum(first) - 1
    return ids, order[first], int(first.sum())


def find_rows(codes: np.ndarray, queries: np.ndarray, size: int) -> np.ndarray:
    """For each query code (codes in 0..size-1; a negative query asks for nothing) the row
    holding that code: -1 when no row does, -2 when several rows do."""
    n = len(codes)
    if size <= max(4 * n, 1_000_000):  # direct table: O(n)
        rows = np.arange(n)
        table = np.full(size + 1, -1, np.int64)  # the last slot answers negative queries
        table[codes] = rows
        table[codes[table[codes] != rows]] = -2
        table[size] = -1
        return table[np.where(queries < 0, size, queries)]
    out = np.full(len(queries), -1, np.int64)  # sparse codes: sort and search
    asked = queries >= 0
    order = np.argsort(codes, kind="stable")
    ordered = codes[order]
    lo = np.searchsorted(ordered, queries[asked], "left")
    hi = np.searchsorted(ordered, queries[asked], "right")
    out[asked] = np.where(hi - lo == 1, order[np.minimum(lo, n - 1)], np.where(hi > lo, -2, -1))
    return out


def attributes(attrs: pl.DataFrame | None = None) -> pl.DataFrame:
    """series, measure, is_additive, direction: the catalogue's, unless a frame is given
    (the benchmark passes its synthetic measures this way)."""
    if attrs is not None:
        return attrs.select("series", "measure", "is_additive", "direction")
    rows = [(m.series, m.measure, m.is_additive, m.direction) for m in catalogue.measures().values()]
    return pl.DataFrame(rows, schema={"series": pl.String, "measure": pl.String, "is_additive": pl.Boolean,
                                      "direction": pl.String}, orient="row")


class ObsKeys:
    """Ids of one frame's series keys and periods, shared by every metric run on it.

    `ids[row]` is the row's series key (0..n_keys-1), `pid[row]` its period (an index into
    `periods`). Coarser keys are derived per series key. Build it once per frame:
    `ObsKeys(frame)`; metrics accept it as `keys=` so a page computes it once."""

    def __init__(self, frame: pl.DataFrame, attrs: pl.DataFrame | None = None):
        self.frame = frame
        self.attrs = attrs
        self.n = frame.height
        h = row_hash(frame, SERIES_KEY)
        self.ids, self.first_row, self.n_keys = dense(h)
        self._coarse: dict[tuple[str, ...], tuple[np.ndarray, int]] = {}
        self.cache: dict = {}  # per-frame results shared between metrics (e.g. the area board)

    @classmethod
    def precomputed(cls, frame: pl.DataFrame, attrs: pl.DataFrame | None, ids: np.ndarray, n_keys: int,
                    first_row: np.ndarray, periods: list[str], pid: np.ndarray) -> ObsKeys:
        """Keys whose ids were computed beforehand (SelectionIndex does it once for the table)."""
        self = cls.__new__(cls)
        self.frame, self.attrs, self.n = frame, attrs, frame.height
        self.ids, self.n_keys, self.first_row = ids, n_keys, first_row
        self.__dict__["periods"], self.__dict__["pid"] = periods, pid
        self._coarse, self.cache = {}, {}
        return self

    def shared(self) -> ObsKeys:
        """The same ids, periods and per-row arrays, without the per-metric results cached
        in `cache` (boards, cells): what a metric gets when it is handed the table's keys."""
        copy = ObsKeys.__new__(ObsKeys)
        copy.__dict__.update(self.__dict__)
        copy._coarse, copy.cache = {}, {}
        return copy

    def in_order_of_appearance(self) -> ObsKeys:
        """The same keys numbered by first row, so the keys of a contiguous block of rows
        (one series and measure) are a contiguous range of ids."""
        order = np.argsort(self.first_row, kind="stable")
        rank = np.empty(self.n_keys, np.int64)
        rank[order] = np.arange(self.n_keys)
        return ObsKeys.precomputed(self.frame, self.attrs, rank[self.ids], self.n_keys, self.first_row[order],
                                   self.periods, self.pid)

    def block(self, frame: pl.DataFrame, start: int, length: int) -> ObsKeys:
        """Keys of rows start..start+length of an in-order-of-appearance numbering, where
        those rows hold whole keys (frame: those rows)."""
        ids = self.ids[start:start + length]
        low = int(ids[0]) if length else 0
        n_keys = int(ids.max()) - low + 1 if length else 0
        return ObsKeys.precomputed(frame, self.attrs, ids - low, n_keys, self.first_row[low:low + n_keys] - start,
                                   self.periods, self.pid[start:start + length])

    @cached_property
    def key_frame(self) -> pl.DataFrame:
        """One row per series key: its columns plus unit and area_type."""
        extra = [c for c in ("unit", "area_type") if c in self.frame.columns]
        return self.frame.select(*SERIES_KEY, *extra).gather(self.first_row)

    def coarse(self, cols: tuple[str, ...]) -> tuple[np.ndarray, int]:
        """Dense id per series key of the key restricted to `cols`, and how many there are."""
        if cols not in self._coarse:
            if self.n_keys == 0:
                self._coarse[cols] = (np.zeros(0, np.int64), 0)
            else:
                h = row_hash(self.key_frame, cols)
                ids, _, n = dense(h)
                self._coarse[cols] = (ids, n)
        return self._coarse[cols]

    def column_is(self, col: str, value: str) -> np.ndarray:
        """Per row: does the key column equal value (computed per key, not per row)."""
        return self.column_codes(col, (value,)) == 0

    def column_codes(self, col: str, labels: tuple[str, ...]) -> np.ndarray:
        """Per row: the index of the key column's value in labels, -1 for others."""
        key = ("codes", col, tuple(labels))
        if key not in self.cache:
            self.cache[key] = self.key_codes(col, labels)[self.ids]  # no keys: no rows, an empty array
        return self.cache[key]

    def key_codes(self, col: str, labels: tuple[str, ...], other: int = -1) -> np.ndarray:
        """Per series key: the index of the key column's value in labels, `other` for others."""
        if not self.n_keys:
            return np.zeros(0, np.int64)
        return self.key_frame[col].replace_strict(list(labels), np.arange(len(labels)), default=other,
                                                  return_dtype=pl.Int64).to_numpy()

    # -- periods
    @cached_property
    def _periods(self) -> tuple[list[str], np.ndarray]:
        """Distinct period labels (in order of appearance) and each row's index into them."""
        if not self.n:
            return [], np.zeros(0, np.int64)
        return self._periods_by_dates() or self._periods_by_hash()

    def _periods_by_dates(self) -> tuple[list[str], np.ndarray] | None:
        """A canonical label is one (start, end) pair: number the pairs with a small table
        indexed by (start day, length), no string lookup per row. None when dates are
        missing or spread too wide for a table."""
        start, end = self.frame["period_start"], self.frame["period_end"]
        if start.null_count() or end.null_count():
            return None
        s = start.to_physical().to_numpy().astype(np.int64)  # days since 1970
        length = end.to_physical().to_numpy() - s
        s -= s.min()
        width = int(length.max()) + 1
        size = (int(s.max()) + 1) * width
        if length.min() < 0 or size > max(4 * self.n, 4_000_000):
            return None
        code = s * width + length
        first_row = np.full(size, -1, np.int64)
        first_row[code[::-1]] = np.arange(self.n - 1, -1, -1)  # the first row of each pair wins
        used = np.flatnonzero(first_row >= 0)
        used = used[np.argsort(first_row[used], kind="stable")]  # in order of appearance
        table = np.empty(size, np.int64)
        table[used] = np.arange(len(used))
        return self.frame["period"].gather(first_row[used]).to_list(), table[code]

    def _periods_by_hash(self) -> tuple[list[str], np.ndarray]:
        h = self.frame["period"].hash().to_numpy()
        first = pl.Series(h).arg_unique().to_numpy()
        labels = self.frame["period"].gather(first).to_list()
        order = np.argsort(h[first])
        return labels, order[np.searchsorted(h[first][order], h)]

    @cached_property
    def periods(self) -> list[str]:
        return self._periods[0]

    @cached_property
    def pid(self) -> np.ndarray:
        return self._periods[1]

    def cells(self, without: tuple[str, ...]) -> tuple[np.ndarray, int]:
        """Per row, a code of (series key minus `without`, period) in 0..size-1, and size.
        Sparse combinations are renumbered so lookup tables stay about as long as the frame."""
        coarse, n = self.coarse(tuple(c for c in SERIES_KEY if c not in without))
        p = len(self.periods)
        codes = coarse[self.ids] * p + self.pid
        if n * p <= max(4 * self.n, 1_000_000):
            return codes, n * p
        ids, _, size = dense(codes)
        return ids, size

    # -- catalogue attributes, per series key
    @cached_property
    def _measure_per_key(self) -> list[tuple[str, str]]:
        return list(zip(self.key_frame["series"].to_list(), self.key_frame["measure"].to_list()))

    @cached_property
    def _attributes(self) -> dict[tuple[str, str], tuple[bool, int]]:
        """(is_additive, direction sign) per (series, measure); keys are few, so plain Python."""
        sign = {"higher_is_better": 1, "lower_is_better": -1}
        table = attributes(self.attrs)
        return {(s, m): (bool(a), sign.get(d, 0)) for s, m, a, d in table.iter_rows()}

    @cached_property
    def additive_key(self) -> np.ndarray:
        """Per series key: is the measure additive (missing from the catalogue: no)."""
        found = self._attributes
        return np.array([found.get(p, (False, 0))[0] for p in self._measure_per_key], bool)

    @cached_property
    def direction_key(self) -> np.ndarray:
        """Per series key: +1 higher is better, -1 lower is better, 0 neutral or unknown."""
        found = self._attributes
        return np.array([found.get(p, (False, 0))[1] for p in self._measure_per_key], np.int8)

    @cached_property
    def share_key(self) -> np.ndarray:
        return np.array([u in SHARE_UNITS for u in self.key_frame["unit"].to_list()], bool)

    @cached_property
    def measures(self) -> set[tuple[str, str]]:
        """The (series, measure) pairs in the frame."""
        return set(self._measure_per_key)

    @cached_property
    def _change_unit_key(self) -> pl.Series:
        units = ["procentenheter" if u in SHARE_UNITS else u for u in self.key_frame["unit"].to_list()]
        return pl.Series(units, dtype=pl.String)

    def change_unit(self, rows: np.ndarray | None = None, name: str = "change_unit") -> pl.Series:
        """The unit of a difference per row: procentenheter for shares, else the unit."""
        units = self._change_unit_key
        n = self.n if rows is None else len(rows)
        if units.n_unique() == 1:  # one measure, as on a page: no per-row lookup
            return pl.repeat(units[0], n, dtype=pl.String, eager=True).rename(name)
        return units.gather(self.ids if rows is None else self.ids[rows]).rename(name)

    # -- values
    @cached_property
    def values(self) -> np.ndarray:
        """The value column as float64 with NaN for null."""
        return self.frame["value"].cast(pl.Float64).to_numpy()  # null comes out as NaN

    @cached_property
    def status(self) -> np.ndarray:
        s = pl.col("status")
        return self.frame.select(
            pl.when(s == "approximate").then(APPROXIMATE).when(s == "suppressed").then(SUPPRESSED)
            .when(s == "missing").then(MISSING).otherwise(OK).cast(pl.Int8)
        ).to_series().to_numpy()


def prepare(obs: pl.DataFrame, keys: ObsKeys | None, attrs: pl.DataFrame | None = None,
            ) -> tuple[pl.DataFrame, ObsKeys]:
    """The preferred rows and their keys: the shared keys when they were built for this
    frame (which was then checked already), else new ones."""
    if keys is not None and keys.frame is obs and (attrs is None or attrs is keys.attrs):
        return obs, keys
    obs = preferred(obs)
    return obs, ObsKeys(obs, attrs if attrs is not None else (keys.attrs if keys is not None else None))
