"""Reading the processed store. `load_observations()` is the one public way in.

The store is (re)built on first use when it is missing or older than data/raw, so a fresh
clone works with no separate build step.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from . import paths
from .build import BuildResult, build, current_build, is_stale, verify_build
from .schema import scan_store


def ensure_built() -> Path:
    """The current build folder, building it first if missing or stale. A damaged build (a
    Parquet file truncated by a power cut, a row count that differs from manifest.json) is
    rebuilt from data/raw, with a log line saying so."""
    cur = current_build()
    if cur is None or is_stale() or verify_build(cur) is not None:
        cur = build().path
    return cur


def scan_observations() -> pl.LazyFrame:
    """Lazy scan, for predicate pushdown on large stores."""
    return scan_store(ensure_built() / "observations.parquet")


def load_observations(preferred_only: bool = False) -> pl.DataFrame:
    """Every observation in the store as a polars DataFrame (see amnstats.schema).

    With `preferred_only`, one row per key: where sources repeat a figure, the one
    metrics should use (`is_preferred`)."""
    lf = scan_observations()
    if preferred_only:
        lf = lf.filter(pl.col("is_preferred"))
    return lf.collect()


def load_datasets() -> pl.DataFrame:
    """One row per raw dataset: title, producer, licence, date, inconsistencies, counts."""
    return pl.read_parquet(ensure_built() / "datasets.parquet")


def manifest() -> dict:
    return json.loads((ensure_built() / "manifest.json").read_text())


__all__ = ["BuildResult", "build", "ensure_built", "load_datasets", "load_observations", "manifest",
           "scan_observations", "paths"]
