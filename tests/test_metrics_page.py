"""A click served from SelectionIndex's precomputed whole-table metrics, and one computed per
click from its shared keys (SelectionIndex.compute), are exactly the result computed on the
selection alone (page_metrics), on the real embedded data and on a small SYNTHETIC table."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from amnstats.metrics import SelectionIndex, page_metrics

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "bench"))

from synthetic import generate, synthetic_attributes, synthetic_share_parts  # noqa: E402

FIELDS = ("selection", "year_on_year", "gender", "areas", "area_groups", "targets", "index", "rolling_12m",
          "per_capita")


def _same(index: SelectionIndex, series: str, measure: str, base_year: int | None = None) -> None:
    served = index.metrics(series, measure, base_year)
    selection = index.select(series, measure)
    parts = [index.select(series, m) for m in index.share_parts.get((series, measure), ())]
    fresh = page_metrics(selection, parts=parts, base_year=base_year, attrs=index.attrs,
                         share_parts=index.share_parts, population=index.population, parallel=False)
    computed = index.compute(series, measure, base_year)  # per click, from the index's shared keys
    for how, result in (("served", served), ("computed", computed)):
        for name in FIELDS:
            got, want = getattr(result, name), getattr(fresh, name)
            if want is None:
                assert got is None, name
                continue
            try:
                assert_frame_equal(got, want, check_exact=True)
            except AssertionError as e:
                raise AssertionError(f"{series}/{measure}: {name} {how} differs") from e


@pytest.fixture(scope="module")
def synthetic():
    obs = generate(n_series=2, n_pairs=2, n_groups=2, n_years=3)
    population = obs.select("area", "period", "gender").unique().with_columns(value=pl.lit(1000.0))
    return SelectionIndex(obs, attrs=synthetic_attributes(2, 2), share_parts=synthetic_share_parts(2, 2),
                          population=population)


def test_synthetic_every_selection_served_equals_computed(synthetic):
    assert synthetic.precomputed, "SelectionIndex precomputes by default"
    for series, measure in synthetic.ranges:
        _same(synthetic, series, measure)


def test_synthetic_other_base_year_is_computed_and_cached(synthetic):
    pair = ("syntetisk_01", "syn_andel_till_arbete_01")
    _same(synthetic, *pair, base_year=2016)
    first = synthetic.metrics(*pair, base_year=2016)
    assert synthetic.metrics(*pair, base_year=2016) is first
    assert first.index["index_base"].is_not_null().any()


def test_unknown_selection_is_empty(synthetic):
    result = synthetic.metrics("finns_inte", "inte_heller")
    assert result.selection.height == 0 and result.year_on_year.height == 0


def test_real_selections_served_equal_computed():
    from amnstats.store import load_observations

    obs = load_observations(preferred_only=True)
    index = SelectionIndex(obs)
    pairs = list(index.ranges)
    assert pairs, "the store is empty"
    for pair in pairs:  # every selection of the real data: they are few and small
        _same(index, *pair)
    _same(index, *pairs[0], base_year=2022)


def test_former_districts_and_a_share_with_parts_served_equal_computed():
    """Hägersten-Liljeholmen + Älvsjö before 2020-07 in a share and both of its parts:
    the district groups of the share are recomputed from harmonised parts either way."""
    sys.path.insert(0, str(PROJECT / "tests"))
    from test_metrics import make_obs

    rows = []
    for period, areas in (("2019", {"Hägersten-Liljeholmen": (50, 500), "Älvsjö": (20, 300)}),
                          ("2021", {"Hägersten-Älvsjö": (75, 820)})):
        areas = {**areas, "Enskede-Årsta-Vantör": (100, 900), "Skarpnäck": (40, 400), "Farsta": (60, 700),
                 "Skärholmen": (30, 350), "Rinkeby-Kista": (90, 600), "Stockholm": (1000, 9000)}
        for area, (num, den) in areas.items():
            for measure, v, unit in (("arbetslosa_bas", num, "antal"), ("arbetskraft_bas", den, "antal"),
                                     ("arbetsloshet_bas", num / den * 100, "procent")):
                rows.append({"series": "unemployment", "measure": measure, "period": period, "area": area,
                             "value": v, "unit": unit})
    obs = make_obs(rows).sample(fraction=1.0, shuffle=True, seed=3)
    index = SelectionIndex(obs)
    for pair in index.ranges:
        _same(index, *pair)
    share = index.metrics("unemployment", "arbetsloshet_bas").area_groups
    söderort_2019 = share.filter(pl.col("area") == "Söderort", pl.col("period") == "2019")["value"].to_list()
    assert söderort_2019 == pytest.approx([300 / 3150 * 100])  # (70+100+40+60+30) / (800+900+400+700+350)
