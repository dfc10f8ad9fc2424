"""amnstats.ui.memo: results kept per shared frame, and series slices of the sorted store."""

from __future__ import annotations

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


def test_every_page_chart_is_valid_vega_lite_and_converted_as_streamlit_does():
    """The app converts charts without Altair's schema validation; here every chart the pages
    build is validated, and the unvalidated conversion must be the very spec Streamlit makes."""
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

    from amnstats.ui import panel, theme
    from apptest_helpers import PAGES, run_page

    for page in PAGES:
        at = run_page(page)
        assert not at.exception, (page, [e.value for e in at.exception])
    specs = [v for v in list(memo.RESULTS._entries.values()) if isinstance(v, panel.ChartSpec) and v.chart is not None]
    assert len({s.id for s in specs}) >= 15
    for spec in specs:
        for large in (False, True):
            want = _convert_altair_to_vega_lite_spec(theme.apply(spec.chart, large=large))  # validates
            height = want.get("height")
            if large and isinstance(height, int):  # presentation mode: fixed heights 1.6 times as tall
                want["height"] = round(height * 1.6)
            assert panel._vega(spec, large) == want, spec.id


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
