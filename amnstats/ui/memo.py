"""Results derived from the shared observations, computed once per process.

The observations of a build are loaded once and shared read-only by every session
(`state._load`), so anything computed from them and a few plain arguments (a chart, a
page's headline table) is the same for every session and every rerun until the next build.
`memo(obs, fn, *args)` keeps such results per frame: a filter change that returns to an
earlier selection, and every other session asking for it, reuses the result instead of
rebuilding it. Entries die with their frame (a weak reference), so a new build frees the
old results. Results are shared: callers must not change them.

`slice_rows(obs, series, measure)` gives the rows of one series (and measure) as a slice
of the sorted store: no pass over every row, which matters at millions of rows.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import polars as pl

MAX_ENTRIES = 1024  # per process; a chart spec with its table is tens of kB


class FrameCache:
    """Values keyed by (frame, function, arguments); a frame's entries go when it does."""

    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        # re-entrant: a frame freed while the lock is held calls _forget in the same thread
        self._lock = threading.RLock()
        self._entries: OrderedDict[tuple, Any] = OrderedDict()
        self._frames: dict[int, weakref.ref] = {}

    def get(self, obs: pl.DataFrame, fn: Callable, *args, **kwargs) -> Any:
        frame_id = id(obs)
        key = (frame_id, _name(fn), _frozen(args), _frozen(kwargs))
        with self._lock:
            ref = self._frames.get(frame_id)
            if ref is not None and ref() is obs and key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = fn(obs, *args, **kwargs)  # outside the lock: sessions build different things at once
        with self._lock:
            ref = self._frames.get(frame_id)
            if ref is None or ref() is not obs:  # a new frame (or a dead one's id reused)
                self._drop(frame_id)
                self._frames[frame_id] = weakref.ref(obs, lambda _r, i=frame_id: self._forget(i))
            self._entries[key] = value
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def _drop(self, frame_id: int) -> None:
        for key in [k for k in self._entries if k[0] == frame_id]:
            del self._entries[key]

    def _forget(self, frame_id: int) -> None:
        with self._lock:
            self._frames.pop(frame_id, None)
            self._drop(frame_id)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._frames.clear()

    def __len__(self) -> int:
        return len(self._entries)


RESULTS = FrameCache(MAX_ENTRIES)  # charts, page tables
_INDEXES = FrameCache(16)  # where each series stands in a frame


def _name(fn: Callable) -> tuple[str, str]:
    """Page scripts all run as __main__: their file tells two pages' `choices` apart."""
    code = getattr(fn, "__code__", None)
    return (code.co_filename if code is not None else fn.__module__), fn.__qualname__


def _frozen(value: Any) -> Hashable:
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, (set, frozenset)):
        return frozenset(value)
    return value


def memo(obs: pl.DataFrame, fn: Callable, *args, **kwargs) -> Any:
    """fn(obs, *args, **kwargs), computed once per frame and arguments."""
    return RESULTS.get(obs, fn, *args, **kwargs)


def clear() -> None:
    """Forget every result (the benchmark uses it to time a selection nobody asked for yet)."""
    RESULTS.clear()


def _runs(obs: pl.DataFrame, cols: tuple[str, ...]) -> dict[tuple, list[tuple[int, int]]]:
    """Where each value of cols stands: (start, length) of every contiguous run of rows."""
    if obs.is_empty():
        return {}
    new = obs.select(pl.any_horizontal(*(pl.col(c) != pl.col(c).shift() for c in cols))).to_series()
    starts = new.fill_null(True).arg_true().to_list()
    ends = starts[1:] + [obs.height]
    out: dict[tuple, list[tuple[int, int]]] = {}
    for key, s, e in zip(obs.select(cols)[starts].rows(), starts, ends):
        out.setdefault(key, []).append((s, e - s))
    return out


def _pair_runs(obs: pl.DataFrame) -> dict[tuple, list[tuple[int, int]]]:
    return _runs(obs, ("series", "measure"))


def slice_rows(obs: pl.DataFrame, series: str, measure: str | None = None) -> pl.DataFrame:
    """The rows of one series (and measure), in store order. The store is sorted by series
    and measure, so this is one slice of the frame (no copy); rows that stand apart are
    gathered, so the answer is right for any order."""
    runs = _INDEXES.get(obs, _pair_runs)
    spans = sorted(span for (sr, ms), found in runs.items() if sr == series and measure in (None, ms) for span in found)
    if not spans:
        return obs.clear()
    merged = [list(spans[0])]
    for start, length in spans[1:]:  # the measures of a series stand next to each other
        if start == merged[-1][0] + merged[-1][1]:
            merged[-1][1] += length
        else:
            merged.append([start, length])
    if len(merged) == 1:
        return obs.slice(*merged[0])
    return pl.concat([obs.slice(s, n) for s, n in merged], rechunk=False)
