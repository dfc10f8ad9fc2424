"""amnstats.ui.memo: results kept per shared frame, and series slices of the sorted store."""

from __future__ import annotations

import json
import re

import gc

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from amnstats import store
from amnstats.ui import charts, memo


@pytest.fixture(autouse=True)
def _fresh():
    memo.clear()
    yield
    memo.clear()


def _frame(series: list[str], measures: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"series": series, "measure": measures, "value": list(range(len(series)))})


def test_a_result_is_computed_once_per_frame_and_arguments():
    calls = []

    def total(obs, col, scale=1):
        calls.append((col, scale))
        return obs[col].sum() * scale

    f = _frame(["a", "a", "b"], ["x", "y", "x"])
    assert memo.memo(f, total, "value") == 3
    assert memo.memo(f, total, "value") == 3
    assert memo.memo(f, total, "value", scale=2) == 6
    assert calls == [("value", 1), ("value", 2)]
    other = _frame(["a"], ["x"])  # another frame: its own result
    assert memo.memo(other, total, "value") == 0
    assert len(calls) == 3


def test_results_go_with_their_frame():
    def n(obs):
        return obs.height

    f = _frame(["a"], ["x"])
    memo.memo(f, n)
    assert len(memo.RESULTS) == 1
    del f
    gc.collect()
    assert len(memo.RESULTS) == 0  # a new build frees the old build's charts


def test_list_arguments_are_keys_too():
    def first(obs, cols):
        return tuple(cols)

    f = _frame(["a"], ["x"])
    assert memo.memo(f, first, ["series", "measure"]) == ("series", "measure")
    assert memo.memo(f, first, ["measure"]) == ("measure",)


@pytest.mark.parametrize("order", ["sorted", "scattered"])
def test_slice_rows_equals_a_filter(order):
    obs = _frame(["a", "a", "b", "b", "c"], ["x", "y", "x", "x", "z"])
    if order == "scattered":  # a series in two places: still every row, in frame order
        obs = obs[[0, 2, 1, 4, 3]]
    for series, measure in [("a", None), ("a", "y"), ("b", "x"), ("c", None), ("b", "y"), ("q", None)]:
        want = obs.filter(pl.col("series") == series, *([pl.col("measure") == measure] if measure else []))
        assert_frame_equal(memo.slice_rows(obs, series, measure), want)


def test_slice_rows_of_the_store_equals_a_filter():
    obs = store.load_observations(preferred_only=True)
    for series in obs["series"].unique().to_list():
        assert_frame_equal(memo.slice_rows(obs, series), obs.filter(pl.col("series") == series))
    assert_frame_equal(memo.slice_rows(obs, "jobbtorg", "inskrivna"),
                       obs.filter(pl.col("series") == "jobbtorg", pl.col("measure") == "inskrivna"))


def test_a_chart_is_built_once_and_shared():
    obs = store.load_observations(preferred_only=True)
    a = charts.trend(obs, "jobbtorg", "inskrivna_unika", period_type="year")
    b = charts.trend(obs, "jobbtorg", "inskrivna_unika", period_type="year")
    assert a is b
    assert a.call == {"fn": "trend", "args": ["jobbtorg", "inskrivna_unika"], "kwargs": {"period_type": "year"}}
    c = charts.trend(obs, "jobbtorg", "inskrivna_unika", period_type="year", genders=("totalt",))
    assert c is not a and c.table.frame.height < a.table.frame.height
    memo.clear()
    d = charts.trend(obs, "jobbtorg", "inskrivna_unika", period_type="year")
    assert d is not a and d.sentence == a.sentence and d.table.frame.equals(a.table.frame)


def _page_chart_specs() -> list:
    from amnstats.ui import panel
    from apptest_helpers import PAGES, run_page

    for page in PAGES:
        at = run_page(page)
        assert not at.exception, (page, [e.value for e in at.exception])
    specs = [v for v in list(memo.RESULTS._entries.values()) if isinstance(v, panel.ChartSpec) and v.chart is not None]
    assert len({s.id for s in specs}) >= 15
    return specs


def _tables(vega: dict) -> tuple[dict, list]:
    """(the spec with its data names numbered in order of use and no datasets, the datasets'
    tables in that order): two conversions compare whatever their datasets are named."""
    import pyarrow as pa

    spec = json.loads(json.dumps({k: v for k, v in vega.items() if k != "datasets"}, default=repr))
    order: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("name"), str) and node["name"] in vega["datasets"]:
                if node["name"] not in order:
                    order.append(node["name"])
                node["name"] = f"d{order.index(node['name'])}"
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(spec)
    data = vega["datasets"]
    return spec, [pa.ipc.open_stream(data[n]).read_all() if isinstance(data[n], bytes) else data[n] for n in order]


def _fields(node) -> set[str]:
    """Every "field" a spec names (encodings, tooltips, sorts, filters)."""
    found = set()
    if isinstance(node, dict):
        if isinstance(node.get("field"), str):
            found.add(node["field"])
        for v in node.values():
            found |= _fields(v)
    elif isinstance(node, list):
        for v in node:
            found |= _fields(v)
    return found


def test_every_page_chart_is_valid_vega_lite_and_converted_as_streamlit_does():
    """The app converts charts without Altair's schema validation; here every chart the pages
    build is validated, and the unvalidated conversion must be the spec Streamlit makes, with
    the data's unused columns left out: the same columns the spec names, the same rows."""
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

    from amnstats.ui import panel, theme

    n_dropped = 0
    for spec in _page_chart_specs():
        for large in (False, True):
            want = _convert_altair_to_vega_lite_spec(theme.apply(spec.chart, large=large))  # validates
            height = want.get("height")
            if large and isinstance(height, int):  # presentation mode: fixed heights 1.6 times as tall
                want["height"] = round(height * 1.6)
            if large and isinstance(height, dict) and spec.bars_drawn * height["step"] > theme.SLIDE_CHART_HEIGHT:
                want["height"] = theme.SLIDE_CHART_HEIGHT  # many bars: a fixed height shared out
            got_spec, got_data = _tables(panel._vega(spec, large))
            want_spec, want_data = _tables(want)
            assert got_spec == want_spec, spec.id
            assert len(got_data) == len(want_data), spec.id
            text = json.dumps(got_spec, ensure_ascii=False)
            sent = {c for t in got_data if hasattr(t, "column_names") for c in t.column_names}
            for name in _fields(got_spec):  # every field an encoding or tooltip reads is sent
                if any(name in t.column_names for t in want_data if hasattr(t, "column_names")):
                    assert name in sent, (spec.id, name)
            for got, full in zip(got_data, want_data):
                if not hasattr(full, "column_names"):  # GeoJSON: as it is
                    assert got == full, spec.id
                    continue
                assert got.column_names == [c for c in full.column_names if c in text], spec.id
                assert got.equals(full.select(got.column_names)), spec.id
                n_dropped += full.num_columns - got.num_columns
    assert n_dropped > 0  # the observation columns no chart shows (source, note, ...) are not sent


def test_charts_draw_the_same_without_the_unused_columns():
    """Rendered by Vega (vl-convert), each page chart is the same picture with the data as
    sent and with every column of its frames."""
    import vl_convert as vlc
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

    from amnstats.ui import panel, theme

    def inline(vega: dict) -> dict:
        spec, tables = _tables(vega)
        spec["datasets"] = {f"d{i}": t.to_pylist() if hasattr(t, "to_pylist") else t for i, t in enumerate(tables)}
        return json.loads(json.dumps(spec, default=str))

    def svg(vega: dict) -> str:  # clip-path and gradient ids count up across renders in one process
        return re.sub(r"(clip|gradient_)\d+", r"\1", vlc.vegalite_to_svg(inline(vega)))

    seen = set()
    for spec in _page_chart_specs():
        if spec.id in seen:
            continue
        seen.add(spec.id)
        full = _convert_altair_to_vega_lite_spec(theme.apply(spec.chart))
        assert svg(panel._vega(spec, False)) == svg(full), spec.id
    assert len(seen) >= 15


def test_functions_of_the_same_name_in_two_page_scripts_do_not_share_results():
    f = _frame(["a"], ["x"])
    one, two = {}, {}
    exec(compile("def choices(obs):\n    return 'page one'", "pages/one.py", "exec"), one)
    exec(compile("def choices(obs):\n    return 'page two'", "pages/two.py", "exec"), two)
    assert memo.memo(f, one["choices"]) == "page one"
    assert memo.memo(f, two["choices"]) == "page two"


def test_layers_joined_without_copies_make_the_spec_alt_layer_makes():
    """charts._layer skips Altair's copies of every layer; the chart it makes must be the one
    alt.layer makes: shared data moved up, a layer's own data kept, sizes and resolve set."""
    import altair as alt

    from amnstats.ui import charts

    def layers(shared_data: bool):
        data = pl.DataFrame({"x": [1, 2, 3], "y": [4.0, 5.0, 6.0], "g": ["a", "b", "a"]})
        base = alt.Chart(data).encode(x=alt.X("x:Q"), y=alt.Y("y:Q"), color=alt.Color("g:N"))
        out = [base.mark_line(), base.mark_point().transform_filter("datum.y > 4")]
        if not shared_data:
            rule = alt.Chart(pl.DataFrame({"v": [2]}))
            out.append(rule.mark_rule().encode(x=alt.X("v:Q")))
        return out

    resolve = alt.Resolve(scale=alt.ScaleResolveMap(color="independent"))
    for shared in (True, False):
        for kwargs in ({"height": 380}, {"height": alt.Step(22)}, {"height": 360, "resolve": resolve}):
            want = alt.layer(*layers(shared), **kwargs).to_dict()
            got = charts._layer(*layers(shared), **kwargs).to_dict()
            assert got == want, (shared, kwargs)
    geo = alt.Data(values=[{"type": "Feature", "geometry": None, "properties": {"a": 1}}])
    base = alt.Chart().project(type="mercator")
    assert (charts._layer(base.mark_geoshape(), base.mark_text(), data=geo, height=520).to_dict()
            == alt.layer(base.mark_geoshape(), base.mark_text(), data=geo, height=520).to_dict())
