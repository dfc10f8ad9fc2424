"""Small counts by gender x district are shown as '..', with the other gender hidden too."""

from __future__ import annotations

from datetime import date

import polars as pl

from amnstats.disclosure import suppress_small_counts
from amnstats.schema import OBSERVATION_SCHEMA
from apptest_helpers import run_page


def obs(rows):
    base = dict(series="arbetsmarknadsinsatser", measure="deltagare_unika", period="2022",
                period_start=date(2022, 1, 1), period_end=date(2022, 12, 31), period_type="year", area_type="sdo",
                group="", status="", kind="utfall", target_setter="", unit="antal", dataset="d", source="s",
                source_label="l", note="", is_preferred=True, has_conflict=False)
    return pl.DataFrame([base | r for r in rows], schema=OBSERVATION_SCHEMA)


def test_small_count_and_its_complement_are_hidden_total_kept():
    df = obs([dict(area="Farsta", gender="kvinnor", value=4.0), dict(area="Farsta", gender="män", value=20.0),
              dict(area="Farsta", gender="totalt", value=24.0), dict(area="Bromma", gender="kvinnor", value=9.0),
              dict(area="Bromma", gender="män", value=5.0)])
    out = suppress_small_counts(df, 5).sort("area", "gender")
    assert out.select("area", "gender", "value", "status").rows() == [
        ("Bromma", "kvinnor", 9.0, ""), ("Bromma", "män", 5.0, ""),
        ("Farsta", "kvinnor", None, "suppressed"), ("Farsta", "män", None, "suppressed"),
        ("Farsta", "totalt", 24.0, ""),
    ]


def test_shares_and_city_level_are_not_touched():
    df = obs([dict(area="Farsta", gender="kvinnor", value=2.0, measure="x", series="unemployment", unit="procent"),
              dict(area="Stockholm", area_type="city", gender="kvinnor", value=3.0)])
    assert suppress_small_counts(df, 5)["value"].to_list() == [2.0, 3.0]


def test_dashboard_shows_two_dots_for_the_real_small_count():
    # Arbetsmarknadsrapport 2022 prints 4 women in Farsta's insatser (line 797): shown as '..'
    at = run_page("data", query={"serie": "Stadsdelarnas arbetsmarknadsinsatser", "omrade": "Farsta", "kon": "kvinnor"})
    table = at.dataframe[0].value
    row = table[table["Period"] == "2022"].iloc[0]
    assert row["Värde"] == ".." and row["Status"] == "skyddat"
