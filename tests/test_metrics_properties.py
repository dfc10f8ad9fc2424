"""Invariants of the metrics, on frames hypothesis generates."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amnstats.metrics import (
    ObsKeys,
    SelectionIndex,
    aggregate_areas,
    gender_split,
    index_to_base,
    page_metrics,
    rolling_12_months,
    year_on_year,
)
from test_metrics import ATTRS, make_obs

DISTRICTS = ["Rinkeby-Kista", "Spånga-Tensta", "Bromma", "Farsta", "Skärholmen", "Södermalm"]
values = st.floats(min_value=0, max_value=1e6, allow_nan=False).map(lambda x: round(x, 2))
years = st.lists(st.integers(2010, 2030), min_size=1, max_size=8, unique=True)
SETTINGS = settings(max_examples=60, deadline=None)


@SETTINGS
@given(constant=values, years=years, monthly=st.booleans(), measure=st.sampled_from(["antal", "andel"]))
def test_yoy_of_a_constant_series_is_zero(constant, years, monthly, measure):
    periods = [f"{y}-{m:02d}" for y in years for m in (1, 6, 12)] if monthly else [str(y) for y in years]
    out = year_on_year(make_obs([{"period": p, "value": constant, "measure": measure} for p in periods]))
    compared = out.filter(pl.col("value_prev").is_not_null())
    assert (compared["change_abs"] == 0).all()
    expect_pct = measure == "antal" and constant != 0
    assert compared["change_pct"].is_not_null().all() == expect_pct or compared.height == 0
    if expect_pct:
        assert (compared["change_pct"] == 0).all()
    # exactly the periods whose year-earlier twin exists are compared
    have = set(periods)
    want = {p for p in periods if f"{int(p[:4]) - 1}{p[4:]}" in have}
    assert set(compared["period"]) == want


@SETTINGS
@given(series=st.lists(st.one_of(st.none(), values), min_size=2, max_size=10))
def test_yoy_changes_telescope(series):
    """Summed over consecutive years, the changes are last - first (when nothing is missing)."""
    rows = [{"period": str(2000 + i), "value": v} for i, v in enumerate(series)]
    out = year_on_year(make_obs(rows)).sort("period")
    changes = out["change_abs"].to_list()[1:]
    if None not in series:
        assert sum(changes) == pytest.approx(series[-1] - series[0], rel=1e-9, abs=1e-6)
    for v, prev, c in zip(series[1:], series[:-1], changes):
        assert (c is None) == (v is None or prev is None)


@SETTINGS
@given(cells=st.lists(st.tuples(st.one_of(st.none(), values), st.one_of(st.none(), values),
                                st.one_of(st.none(), values)), min_size=1, max_size=6),
       measure=st.sampled_from(["antal", "andel"]))
def test_gap_is_women_minus_men_and_the_sum_check(cells, measure):
    rows = []
    for i, (k, m, t) in enumerate(cells):
        for gender, v in (("kvinnor", k), ("män", m), ("totalt", t)):
            rows.append({"period": str(2000 + i), "gender": gender, "value": v, "measure": measure})
    out = gender_split(make_obs(rows), ATTRS).sort("period")
    assert out.height == len(cells)
    for (k, m, t), r in zip(cells, out.iter_rows(named=True)):
        assert r["gap"] == (None if k is None or m is None else pytest.approx(k - m))
        if measure == "andel":
            assert r["gender_check"] is None and r["women_share"] is None
        elif None in (k, m, t):
            assert r["gender_check"] == "incomplete"
        else:
            assert r["gender_sum_diff"] == pytest.approx(k + m - t)
            assert r["gender_check"] == ("ok" if abs(k + m - t) <= 1e-9 * max(1, t) else "mismatch")


@SETTINGS
@given(counts=st.lists(st.one_of(st.none(), st.integers(0, 10_000)), min_size=len(DISTRICTS),
                       max_size=len(DISTRICTS)), seed=st.integers(0, 1000))
def test_aggregation_of_counts_is_order_independent_and_never_silently_smaller(counts, seed):
    rows = [{"area": a, "period": "2023", "value": v} for a, v in zip(DISTRICTS, counts)]
    groups = {"G": tuple(DISTRICTS[:4]), "H": tuple(DISTRICTS[2:])}
    obs = make_obs(rows)
    one = aggregate_areas(obs, groups=groups, attrs=ATTRS).sort("area")
    other = aggregate_areas(obs.sample(fraction=1.0, shuffle=True, seed=seed), groups=groups, attrs=ATTRS).sort("area")
    assert one.equals(other)
    for r in one.iter_rows(named=True):
        members = [v for a, v in zip(DISTRICTS, counts) if a in groups[r["area"]]]
        if None in members:
            assert r["value"] is None and not r["is_complete"] and r["status"] == "suppressed"
            assert r["value_partial"] == (sum(v for v in members if v is not None)
                                          if any(v is not None for v in members) else None)
        else:
            assert r["value"] == sum(members) and r["is_complete"]


@SETTINGS
@given(constant=st.floats(min_value=0.5, max_value=1e6), n=st.integers(12, 40))
def test_rolling_average_and_index_of_a_constant_series(constant, n):
    rows = [{"period": f"{2000 + i // 12}-{i % 12 + 1:02d}", "value": constant} for i in range(n)]
    rolled = rolling_12_months(make_obs(rows))["rolling_12m"].to_list()
    assert rolled[:11] == [None] * 11
    assert all(v == pytest.approx(constant) for v in rolled[11:])
    indexed = index_to_base(make_obs(rows), 2000)["index"].to_list()
    assert all(v == pytest.approx(100.0) for v in indexed)


@settings(max_examples=25, deadline=None)
@given(n_areas=st.integers(1, 4), n_months=st.integers(1, 30), seed=st.integers(0, 1000))
def test_precomputed_block_keys_equal_fresh_keys(n_areas, n_months, seed):
    rows = []
    for measure in ("antal", "andel"):
        for a in DISTRICTS[:n_areas]:
            rows += [{"measure": measure, "area": a, "period": f"{2020 + i // 12}-{i % 12 + 1:02d}",
                      "value": float((i * 7 + seed) % 11)} for i in range(n_months)]
    table = make_obs(rows).sample(fraction=1.0, shuffle=True, seed=seed)
    index = SelectionIndex(table, attrs=ATTRS)
    for measure in ("antal", "andel"):
        frame, keys = index.select_keys("t", measure)
        shared = page_metrics(frame, attrs=ATTRS, keys=keys, base_year=2020)
        fresh = page_metrics(frame, attrs=ATTRS, keys=ObsKeys(frame, ATTRS), base_year=2020)
        for name in ("year_on_year", "gender", "areas", "area_groups", "index", "rolling_12m"):
            assert getattr(shared, name).equals(getattr(fresh, name)), name
