"""Build the map of Stockholm's 13 stadsdelsområden (in force since 2020-07-01) for choropleths.

    .venv/bin/python scripts/build_districts_geojson.py

Inputs (copied byte for byte, each with a `.meta.json` sidecar):
  data/raw/geo/stadsdelar.geo.json              117 stadsdelar, CC0 (Stockholms stad, Stadskarta,
                                                via KTHHealthData/stockholm-stadsdelar)
  data/raw/geo/stadsdel_to_stadsdelsomrade.csv  stadsdel -> stadsdelsområde (spatial join with
                                                Region Stockholm's Folkhälsokollen polygons)
  amnstats/catalogue/areas*.csv                 canonical district names and codes

Outputs:
  data/geo/stadsdelsomraden.geojson     FeatureCollection, 13 features, properties `area`, `code`
  data/geo/stadsdelsomraden.meta.json   sources, licence, method, parameters, checksums

Method: clean the 117 stadsdelar into a polygonal coverage (the upstream file is simplified and
has slivers/gaps between neighbours, up to ~5 000 m²), dissolve them per stadsdelsområde, snap to
a 1e-5 degree grid (5 decimals, about 1 m), simplify the 13 districts as one coverage (shared
borders stay shared: no gaps or overlaps), and orient every exterior ring clockwise.

Winding: d3-geo (which Vega/Vega-Lite/Altair use to draw GeoJSON) treats a polygon as the
*spherical* region to the right of its ring when walking it, so exterior rings must be clockwise;
a counter-clockwise exterior ring means "everything except this district" and fills the globe.
This is the opposite of RFC 7946's recommendation (counter-clockwise exteriors), which RFC 7946
says parsers must not rely on; the d3 convention is what makes the map render.

Deterministic: same inputs and the pinned shapely (2.2.0, bundled GEOS) give the same bytes.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import shape

PROJECT_DIR = Path(__file__).resolve().parents[1]
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from amnstats import catalogue  # noqa: E402

RAW_GEO_DIR = PROJECT_DIR / "data" / "raw" / "geo"
STADSDELAR_PATH = RAW_GEO_DIR / "stadsdelar.geo.json"
MAPPING_PATH = RAW_GEO_DIR / "stadsdel_to_stadsdelsomrade.csv"
OUT_DIR = PROJECT_DIR / "data" / "geo"
OUT_PATH = OUT_DIR / "stadsdelsomraden.geojson"
META_PATH = OUT_DIR / "stadsdelsomraden.meta.json"
SCRIPT = "scripts/build_districts_geojson.py"

GAP_WIDTH = 5e-4  # degrees; gaps narrower than this (the widest upstream sliver is 4.7e-4) are filled
GRID = 1e-5  # degrees; coordinates are written with 5 decimals
SIMPLIFY_TOLERANCE = 1e-4  # degrees (about 6 m east-west, 11 m north-south at 59.3° N)
DECIMALS = 5

ATTRIBUTION = ("Kartdata: Stockholms stad (Stadskarta), CC0 1.0, via KTHHealthData/stockholm-stadsdelar. "
               "Indelning i stadsdelsområden härledd med Region Stockholms Folkhälsokollen.")
LICENSE = ("CC0 1.0 Universal (https://creativecommons.org/publicdomain/zero/1.0/): geometri ur Stockholms "
           "stads Stadskarta via KTHHealthData/stockholm-stadsdelar, sammanslagen per stadsdelsområde.")


# ---------------------------------------------------------------- load

def load_stadsdelar(path: Path) -> list[tuple[str, shapely.Geometry]]:
    """The 117 stadsdelar as (UPPER CASE name, polygon), sorted by name."""
    data = json.loads(path.read_text(encoding="utf-8"))
    out = [(f["properties"]["name"], shape(f["geometry"])) for f in data["features"]]
    names = [n for n, _ in out]
    if len(set(names)) != len(names):
        raise ValueError(f"{path.name}: duplicate stadsdel names")
    return sorted(out, key=lambda t: t[0])


def load_mapping(path: Path) -> dict[str, tuple[str, str]]:
    """stadsdel (UPPER CASE, as in the GeoJSON) -> (stadsdelsområde, Folkhälsokollen code)."""
    with path.open(encoding="utf-8", newline="") as fh:
        return {r["stadsdel_name_kth"]: (r["stadsdelsomrade_2020"], r["sdo_omr_kod_fhk"]) for r in csv.DictReader(fh)}


def catalogue_districts() -> dict[str, str]:
    """Canonical district name -> code, from amnstats/catalogue/areas*.csv (area_type sdo)."""
    return {a.area: a.code for a in catalogue.areas().values() if a.area_type == "sdo"}


# ---------------------------------------------------------------- process

def dissolve(stadsdelar: list[tuple[str, shapely.Geometry]], mapping: dict[str, tuple[str, str]],
             districts: dict[str, str]) -> list[tuple[str, str, shapely.Geometry]]:
    """(area, code, geometry) for each district, sorted by code."""
    names = [n for n, _ in stadsdelar]
    if set(names) != set(mapping):
        raise ValueError(f"stadsdelar without mapping: {sorted(set(names) - set(mapping))}; "
                         f"mapping rows without polygon: {sorted(set(mapping) - set(names))}")
    mapped = {sdo for sdo, _ in mapping.values()}
    if mapped != set(districts):
        raise ValueError(f"districts differ from the catalogue: mapping only {sorted(mapped - set(districts))}, "
                         f"catalogue only {sorted(set(districts) - mapped)}")
    for sdo, code in mapping.values():
        if code != districts[sdo]:
            raise ValueError(f"{sdo}: code {code} in the mapping, {districts[sdo]} in the catalogue")

    cleaned = shapely.coverage_clean(np.array([g for _, g in stadsdelar], dtype=object), gap_width=GAP_WIDTH)
    order = sorted(districts, key=lambda a: (districts[a], a))
    parts = [shapely.coverage_union_all([g for n, g in zip(names, cleaned) if mapping[n][0] == area])
             for area in order]
    geoms = shapely.set_precision(np.array(parts, dtype=object), GRID)
    geoms = shapely.coverage_simplify(geoms, SIMPLIFY_TOLERANCE)
    geoms = shapely.set_precision(geoms, GRID)
    geoms = shapely.orient_polygons(geoms, exterior_cw=True)
    check(geoms, order)
    return [(area, districts[area], g) for area, g in zip(order, geoms)]


def check(geoms, order: list[str]) -> None:
    for area, g in zip(order, geoms):
        if g.geom_type not in ("Polygon", "MultiPolygon") or g.is_empty or not g.is_valid:
            raise ValueError(f"{area}: not a valid polygon ({g.geom_type}, {shapely.is_valid_reason(g)})")
        for p in getattr(g, "geoms", [g]):
            if shapely.is_ccw(p.exterior) or any(not shapely.is_ccw(r) for r in p.interiors):
                raise ValueError(f"{area}: wrong ring orientation")
    if not shapely.coverage_is_valid(geoms):
        raise ValueError("the districts overlap or their shared borders do not match")


# ---------------------------------------------------------------- save

def _rings(poly) -> list:
    return [[[round(x, DECIMALS), round(y, DECIMALS)] for x, y in ring.coords]
            for ring in [poly.exterior, *poly.interiors]]


def _geometry(g) -> dict:
    if g.geom_type == "Polygon":
        return {"type": "Polygon", "coordinates": _rings(g)}
    return {"type": "MultiPolygon", "coordinates": [_rings(p) for p in g.geoms]}


def to_geojson(districts: list[tuple[str, str, shapely.Geometry]]) -> str:
    """The FeatureCollection as text: one feature a line, compact, UTF-8 names unescaped."""
    def dump(obj) -> str:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))

    features = [dump({"type": "Feature", "properties": {"area": area, "code": code}, "geometry": _geometry(g)})
                for area, code, g in districts]
    return ('{"type":"FeatureCollection",\n'
            f'"attribution":{dump(ATTRIBUTION)},\n'
            f'"license":{dump(LICENSE)},\n'
            '"features":[\n' + ",\n".join(features) + "\n]}\n")


def build(stadsdelar_path: Path = STADSDELAR_PATH, mapping_path: Path = MAPPING_PATH,
          districts: dict[str, str] | None = None) -> str:
    """The GeoJSON text built from the raw inputs (nothing is written)."""
    districts = catalogue_districts() if districts is None else districts
    return to_geojson(dissolve(load_stadsdelar(stadsdelar_path), load_mapping(mapping_path), districts))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def metadata(geojson_bytes: bytes, stadsdelar_path: Path = STADSDELAR_PATH, mapping_path: Path = MAPPING_PATH) -> dict:
    return {
        "id": "stadsdelsomraden",
        "title": "Stockholms 13 stadsdelsområden (indelning från 2020-07-01), GeoJSON för koropletkartor",
        "producer": "amnstats, byggd ur Stockholms stads Stadskarta (via KTHHealthData/stockholm-stadsdelar)",
        "script": SCRIPT,
        "licence": "CC0 1.0 (underliggande Stockholms stads Stadskarta, via KTHHealthData/stockholm-stadsdelar). "
                   "Tilldelningen stadsdel -> stadsdelsområde är härledd genom rumslig sammanslagning med "
                   "Region Stockholms Folkhälsokollen-polygoner (ingen licens angiven); geometrin kommer "
                   "enbart från Stadskartan.",
        "attribution": ATTRIBUTION,
        "sources": [
            {"file": "data/raw/geo/" + stadsdelar_path.name, "sha256": _sha256(stadsdelar_path.read_bytes()),
             "url": "https://github.com/KTHHealthData/stockholm-stadsdelar/blob/"
                    "d52d2d07e1f008f24b0644f26dc04c777f7cfe19/geojson/simplified/stadsdelar.geo.json",
             "licence": "CC0 1.0"},
            {"file": "data/raw/geo/" + mapping_path.name, "sha256": _sha256(mapping_path.read_bytes()),
             "url": None,
             "licence": "härledd ur CC0-data och Folkhälsokollen-polygoner "
                        "(youbao88/folkhalsokollen_static_files, stockholm_lan_dissolved_omrade_21_06_17.json, "
                        "commit 9352d95d554ab2e3ad7a315711945aabb8cefcc5)"},
            {"file": "amnstats/catalogue/areas.csv",
             "note": "kanoniska namn (area) och koder (code) för area_type sdo"},
        ],
        "method": [
            "117 stadsdelar (Polygon, WGS84 lon/lat) läses och sorteras efter namn.",
            f"shapely.coverage_clean(gap_width={GAP_WIDTH}): överlapp tas bort och glipor smalare än "
            f"{GAP_WIDTH} grader (uppströms förenkling, största cirka 5 000 m² mellan Högdalen och Fagersjö) "
            "fylls.",
            "Sammanslagning per stadsdelsområde enligt stadsdel_to_stadsdelsomrade.csv (coverage_union_all). "
            "SKEPPSHOLMEN -> Norrmalm (närmaste polygon), TENSTA -> Spånga-Tensta (andel 0,88), "
            "STORA ESSINGEN -> Kungsholmen (andel 0,86).",
            f"Koordinater avrundade till rutnät {GRID} grader ({DECIMALS} decimaler, cirka 1 m).",
            f"shapely.coverage_simplify(tolerance={SIMPLIFY_TOLERANCE}) på alla 13 tillsammans: gemensamma "
            "gränser förblir gemensamma (inga glipor eller överlapp).",
            "Ytterringar medurs, hål moturs (d3-geo/Vega-Lite: sfärisk vindning; motsatt RFC 7946:s "
            "rekommendation, annars fyller varje område hela jordklotet).",
            "Kontroll: 13 giltiga polygoner, giltig täckning, namn och koder lika med katalogen.",
        ],
        "output": {"file": "data/geo/stadsdelsomraden.geojson", "sha256": _sha256(geojson_bytes),
                   "bytes": len(geojson_bytes), "features": len(json.loads(geojson_bytes)["features"]),
                   "properties": ["area", "code"],
                   "crs": "WGS84 lon/lat (RFC 7946)"},
        "inputs_accessed": "2026-11-22",
    }


def main() -> None:
    text = build()
    data = text.encode("utf-8")
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    OUT_PATH.write_bytes(data)
    META_PATH.write_text(json.dumps(metadata(data), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {OUT_PATH.relative_to(PROJECT_DIR)} ({len(data)} bytes), {META_PATH.relative_to(PROJECT_DIR)}")


if __name__ == "__main__":
    main()
