"""Map of the 13 stadsdelsområden for choropleths.

The file data/geo/stadsdelsomraden.geojson is built once by scripts/build_districts_geojson.py
(sources, licence and method in data/geo/stadsdelsomraden.meta.json). Each feature has the
properties `area` (canonical name, as in amnstats/catalogue/areas.csv) and `code`.
Exterior rings are clockwise, as d3-geo (Vega-Lite/Altair) needs:

    alt.Chart(alt.Data(values=districts_geojson()["features"])).mark_geoshape()
        .project(type="mercator")

Show `attribution()` under every map.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache

from .paths import PROJECT_DIR

GEOJSON_PATH = PROJECT_DIR / "data" / "geo" / "stadsdelsomraden.geojson"


@lru_cache(maxsize=1)
def _load() -> dict:
    return json.loads(GEOJSON_PATH.read_text(encoding="utf-8"))


def districts_geojson() -> dict:
    """The FeatureCollection of the 13 stadsdelsområden (a fresh copy; the file is read once)."""
    return copy.deepcopy(_load())


def district_features() -> tuple[dict, ...]:
    """The 13 features as read from the file, shared: callers must not change them (copy the
    properties, reuse the geometry)."""
    return tuple(_load()["features"])


def attribution() -> str:
    """The source line to print under a map (Swedish)."""
    return _load()["attribution"]
