"""Every page renders with the embedded data, with no exception, and shows the store's figures."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from amnstats import store
from amnstats.numbers import format_number

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGES = ["pages/oversikt.py", "pages/data.py"]


def run_page(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    if page:
        at.switch_page(page).run()
    return at


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_without_exception(page):
    at = run_page(page)
    assert not at.exception, at.exception
    assert at.title, "page has a title"


def test_start_page_shows_latest_unemployment_from_the_store():
    at = run_page()
    obs = store.load_observations(preferred_only=True)
    series = obs.filter(pl.col("measure") == "arbetsloshet_bas", pl.col("area") == "Stockholm",
                        pl.col("gender") == "totalt", pl.col("group") == "20-64 år").sort("period_start")
    last = series.row(-1, named=True)
    year_before = series.filter(pl.col("period_start") == last["period_start"].replace(year=last["period_start"].year - 1))
    now, before = last["value"], year_before["value"].item()
    metric = next(m for m in at.metric if "Arbetslöshet" in m.label)
    assert metric.value == format_number(now, 1, "procent")
    assert "procentenheter" in metric.delta
    assert metric.delta.startswith("+" if now > before else "−")
    captions = [c.value for c in at.caption]
    assert any(c.startswith("Källa: SCB") for c in captions)


def test_start_page_has_a_headline_for_every_series_with_city_outcomes():
    at = run_page()
    obs = store.load_observations(preferred_only=True).filter(
        pl.col("area") == "Stockholm", pl.col("gender") == "totalt", pl.col("kind") == "utfall",
        pl.col("series") != "indicator", pl.col("value").is_not_null())
    assert len(at.metric) == obs["series"].n_unique()


def test_data_page_filters_change_the_table():
    at = run_page("pages/data.py")
    first = at.dataframe[0].value
    at.selectbox(key="serie").set_value("unemployment").run()
    at.selectbox(key="kon").set_value("kvinnor").run()
    table = at.dataframe[0].value
    assert len(table) != len(first)
    assert set(table["Kön"]) == {"kvinnor"}
    assert table["Källa"].str.len().min() > 0
