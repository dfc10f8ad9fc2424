"""Where data lives. AMNSTATS_DATA_DIR points the whole project at another data folder
(tests build into temporary folders this way)."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
CATALOGUE_DIR = PACKAGE_DIR / "catalogue"


def data_dir() -> Path:
    return Path(os.environ.get("AMNSTATS_DATA_DIR", PROJECT_DIR / "data"))


def raw_dir() -> Path:
    return data_dir() / "raw"


def processed_dir() -> Path:
    return data_dir() / "processed"


def observations_path() -> Path:
    return processed_dir() / "observations.parquet"


def datasets_path() -> Path:
    return processed_dir() / "datasets.parquet"
