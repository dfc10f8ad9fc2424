"""Connectors: official statistics fetched from their APIs into the observation table.

    from amnstats.connectors import fetch, commit
    fetched = fetch("scb")                  # network; nothing written. Raises ConnectorError
    commit.preview(fetched.observations, store.load_observations())   # what would change
    commit.commit(fetched, by="anna")       # responses kept in data/raw/api/, store rebuilt

Sources (see docs/connectors.md and config/connectors.toml):
  scb     SCB PxWebApi v2, BAS tables (json-stat2 or CSV), metadata checked first  (scb.py)
  kolada  Kolada API v3, KPIs by id looked up by title                           (kolada.py)
  af      Arbetsförmedlingen's monthly workbook per kommun (xlsx)                (af.py)
Shared: http.py (timeouts, rate limiter, retries), jsonstat.py (JSON-stat 2.0),
base.py (Fetched, validation), commit.py (atomic commit, preview, undo), config.py.
Every error is a ConnectorError whose message is Swedish and ends "Inget har ändrats."
"""

from __future__ import annotations

import polars as pl

from .base import Fetched
from .config import SOURCE_NAMES, SOURCES
from .errors import ConfigError, ConnectorError, FormatError, NetworkError, RateLimitError

__all__ = ["Fetched", "ConnectorError", "ConfigError", "FormatError", "NetworkError", "RateLimitError",
           "SOURCES", "SOURCE_NAMES", "fetch", "candidates", "module"]


def module(source: str):
    if source == "scb":
        from . import scb
        return scb
    if source == "kolada":
        from . import kolada
        return kolada
    if source == "af":
        from . import af
        return af
    raise ConfigError(f"okänd källa '{source}' (scb, kolada eller af)")


def fetch(source: str, config: dict | None = None, **options) -> Fetched:
    """Fetch one source (options as its module's fetch() takes them); nothing is written."""
    return module(source).fetch(config, **options)


def candidates(record: dict, files: dict[str, bytes]) -> pl.DataFrame:
    """Candidate rows from a stored fetch (the build's path)."""
    return module(record["source"]).candidates(record, files)
