"""The shipped map of the 13 stadsdelsområden (data/geo) and its build script."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely
from shapely.geometry import shape

from amnstats import catalogue, geo
from fixture_files import PROJECT, require, script_module

GEOJSON = PROJECT / "data" / "geo" / "stadsdelsomraden.geojson"
META = PROJECT / "data" / "geo" / "stadsdelsomraden.meta.json"
RAW_GEO = PROJECT / "data" / "raw" / "geo"
SCRIPT = PROJECT / "scripts" / "build_districts_geojson.py"


def _script():
    return script_module(SCRIPT, "build_districts_geojson")


@pytest.fixture(scope="module")
def collection() -> dict:
    return json.loads(GEOJSON.read_text(encoding="utf-8"))


def test_thirteen_districts_named_as_in_catalogue(collection):
    assert collection["type"] == "FeatureCollection"
    features = collection["features"]
    assert len(features) == 13
    names = [f["properties"]["area"] for f in features]
    assert len(set(names)) == 13
    assert set(names) == set(catalogue.districts())
    codes = {a.area: a.code for a in catalogue.areas().values()}
    for f in features:
        assert f["type"] == "Feature"
        assert f["properties"]["code"] == codes[f["properties"]["area"]]


def test_geometries_valid_and_clockwise(collection):
    geoms = []
    for f in collection["features"]:
        g = shape(f["geometry"])
        assert g.geom_type in ("Polygon", "MultiPolygon"), f["properties"]["area"]
        assert not g.is_empty and g.is_valid, (f["properties"]["area"], shapely.is_valid_reason(g))
        # d3-geo (Vega-Lite) draws a counter-clockwise exterior as the whole globe minus the district
        for p in getattr(g, "geoms", [g]):
            assert not shapely.is_ccw(p.exterior), f["properties"]["area"]
        minx, miny, maxx, maxy = g.bounds
        assert 17.7 < minx < maxx < 18.25 and 59.2 < miny < maxy < 59.45, f["properties"]["area"]
        geoms.append(g)
    assert shapely.coverage_is_valid(geoms), "districts overlap or shared borders differ"


def test_coordinates_have_at_most_five_decimals(collection):
    def walk(c):
        if isinstance(c[0], (int, float)):
            yield from c
        else:
            for x in c:
                yield from walk(x)

    for f in collection["features"]:
        assert all(round(v, 5) == v for v in walk(f["geometry"]["coordinates"]))


def test_small_enough_for_a_web_map():
    assert GEOJSON.stat().st_size < 200_000


def test_attribution_mentions_cc0(collection):
    assert "CC0" in collection["attribution"]
    assert "CC0" in collection["license"]
    assert "CC0" in geo.attribution()
    assert "Stockholms stad" in geo.attribution()
    meta = json.loads(META.read_text(encoding="utf-8"))
    assert "CC0" in meta["licence"]
    assert meta["script"] == "scripts/build_districts_geojson.py"


def test_loader_returns_the_shipped_file(collection):
    assert geo.districts_geojson() == collection
    geo.districts_geojson()["features"].clear()  # callers get a copy
    assert len(geo.districts_geojson()["features"]) == 13


def test_a_map_carries_every_district_with_its_own_values_and_leaves_the_shared_geometry_alone(collection):
    import polars as pl

    from amnstats import store
    from amnstats.ui import charts, memo, panel

    memo.clear()
    obs = store.load_observations(preferred_only=True)
    sdo = obs.filter(pl.col("area_type") == "sdo", pl.col("gender") == "totalt", pl.col("group") == "",
                     pl.col("kind") == "utfall", pl.col("value").is_not_null())
    (s1, m1, p1), (s2, m2, p2) = sdo.select("series", "measure", "period").unique().sort(pl.all()).rows()[:2]
    specs = [charts.choropleth(obs, s1, m1, period=p1), charts.choropleth(obs, s2, m2, period=p2)]
    for spec in specs:
        values = panel._vega(spec, False)["data"]["values"]  # the geometry inline, as Vega-Lite reads it
        assert sorted(f["properties"]["area"] for f in values) == sorted(catalogue.districts())
        shown = {f["properties"]["area"]: f["properties"]["value"] for f in values}
        want = dict(obs.filter(pl.col("area_type") == "sdo", pl.col("gender") == "totalt", pl.col("group") == "",
                               pl.col("kind") == "utfall", pl.col("is_preferred"),
                               pl.col("series") == spec.call["args"][0], pl.col("measure") == spec.call["args"][1],
                               pl.col("period") == spec.call["kwargs"]["period"]).select("area", "value").rows())
        assert {a: v for a, v in shown.items() if v is not None} == {a: v for a, v in want.items() if v is not None}
        geometry = {f["properties"]["area"]: f["geometry"] for f in collection["features"]}
        assert all(f["geometry"] == geometry[f["properties"]["area"]] for f in values)
    assert [f["properties"] for f in geo.district_features()] == [f["properties"] for f in collection["features"]]


def test_raw_inputs_have_sidecars():
    for name in ("stadsdelar.geo.json", "stadsdel_to_stadsdelsomrade.csv"):
        require(RAW_GEO / name)
        meta = json.loads((RAW_GEO / f"{name}.meta.json").read_text(encoding="utf-8"))
        assert {"id", "title", "producer", "document", "date", "url", "licence", "accessed",
                "description"} <= set(meta)


def test_build_reproduces_shipped_file_byte_for_byte():
    stadsdelar = require(RAW_GEO / "stadsdelar.geo.json")
    mapping = require(RAW_GEO / "stadsdel_to_stadsdelsomrade.csv")
    script = _script()
    text = script.build(stadsdelar, mapping)
    assert text.encode("utf-8") == GEOJSON.read_bytes(), \
        "data/geo/stadsdelsomraden.geojson is stale: run .venv/bin/python scripts/build_districts_geojson.py"
    meta = json.loads(META.read_text(encoding="utf-8"))
    assert meta == json.loads(json.dumps(script.metadata(GEOJSON.read_bytes(), stadsdelar, mapping))), \
        "data/geo/stadsdelsomraden.meta.json is stale"


def test_build_rejects_a_mapping_that_misses_a_district(tmp_path: Path):
    stadsdelar = require(RAW_GEO / "stadsdelar.geo.json")
    mapping = require(RAW_GEO / "stadsdel_to_stadsdelsomrade.csv")
    lines = mapping.read_text(encoding="utf-8").splitlines(keepends=True)
    broken = tmp_path / "mapping.csv"
    broken.write_text("".join(line.replace(",Skärholmen,", ",Farsta,") for line in lines), encoding="utf-8")
    with pytest.raises(ValueError):
        _script().build(stadsdelar, broken)
