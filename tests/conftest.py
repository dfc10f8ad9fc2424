"""Shared fixtures. Tests never touch the project's own data/processed: each build test
works on a copy of data/raw in a temporary folder (AMNSTATS_DATA_DIR)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from amnstats import catalogue

PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    """A private copy of data/raw with an empty processed folder."""
    d = tmp_path / "data"
    shutil.copytree(PROJECT / "data" / "raw", d / "raw", ignore=shutil.ignore_patterns("uploads"))
    (d / "processed").mkdir()
    monkeypatch.setenv("AMNSTATS_DATA_DIR", str(d))
    yield d
    catalogue.measures.cache_clear()
    catalogue.areas.cache_clear()


@pytest.fixture
def empty_data_dir(tmp_path, monkeypatch) -> Path:
    """A data folder with only the given raw files (tests write them)."""
    d = tmp_path / "data"
    (d / "raw" / "reports").mkdir(parents=True)
    (d / "raw" / "seeds").mkdir(parents=True)
    (d / "processed").mkdir()
    monkeypatch.setenv("AMNSTATS_DATA_DIR", str(d))
    return d
