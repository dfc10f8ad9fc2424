"""Metrics on small hand-built frames (values worked out by hand in the comments) and on
the real embedded data."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from amnstats import catalogue
from amnstats.build import build
from amnstats.metrics import (
    ObsKeys,
    SelectionIndex,
    aggregate_areas,
    area_comparison,
    area_groups,
    gender_mismatches,
    gender_split,
    harmonise_areas,
    index_to_base,
    latest,
    page_metrics,
    per_capita,
    rolling_12_months,
    scan_selection,
    target_status,
    year_on_year,
)
from amnstats.periods import parse_period
from amnstats.schema import OBSERVATION_SCHEMA
from amnstats.schema import scan_store

PROJECT = Path(__file__).resolve().parents[1]

# Test measures: a count (higher is better), a share (lower is better), a neutral share and
# a measure in procentenheter.
ATTRS = pl.DataFrame({
    "series": ["t", "t", "t", "t", "t"],
    "measure": ["antal", "andel", "neutral", "pe", "deltagare"],
    "is_additive": [True, False, False, False, True],
    "direction": ["higher_is_better", "lower_is_better", "neutral", "higher_is_better", "neutral"],
})
UNITS = {"antal": "antal", "andel": "procent", "neutral": "procent", "pe": "procentenheter", "deltagare": "antal"}


def make_obs(rows: list[dict]) -> pl.DataFrame:
    """Observation rows with defaults: series t, measure antal, gender totalt, area
    Stockholm, group '', kind utfall, status '' (suppressed when value is None and no
    status is given), preferred."""
    areas = catalogue.areas()
    out = []
    for i, r in enumerate(rows):
        r = {"series": "t", "measure": "antal", "gender": "totalt", "area": "Stockholm", "group": "",
             "kind": "utfall", "target_setter": "", **r}
        p = parse_period(r["period"]) if r["period"] != "okänd" else None
        r.setdefault("status", "suppressed" if r.get("value") is None else "")
        r.setdefault("unit", UNITS.get(r["measure"], "antal"))
        r.setdefault("area_type", areas[r["area"]].area_type if r["area"] in areas else "other")
        r.setdefault("is_preferred", True)
        out.append({
            **r, "period_start": p.start if p else None, "period_end": p.end if p else None,
            "period_type": p.type if p else "", "dataset": "test", "source": f"test#L{i + 1}",
            "source_label": "test", "note": "", "has_conflict": False,
            "value": None if r.get("value") is None else float(r["value"]),
        })
    return pl.DataFrame(out, schema=OBSERVATION_SCHEMA).select(OBSERVATION_SCHEMA.names())


def one(frame: pl.DataFrame, **where) -> dict:
    rows = frame.filter(*[pl.col(k) == v for k, v in where.items()])
    assert rows.height == 1, f"expected one row for {where}, got {rows.height}"
    return rows.row(0, named=True)


# --------------------------------------------------------------------------- year on year

def test_yoy_count_change_in_percent():
    out = year_on_year(make_obs([{"period": "2022", "value": 6086}, {"period": "2023", "value": 6412}]))
    r = one(out, period="2023")
    assert r["period_prev"] == "2022" and r["value_prev"] == 6086
    assert r["change_abs"] == 326  # 6412 - 6086
    assert r["change_pct"] == pytest.approx(5.356556, abs=1e-6)  # 326 / 6086
    assert r["change_unit"] == "antal" and r["yoy_reason"] is None
    first = one(out, period="2022")
    assert first["change_abs"] is None and first["yoy_reason"] == "ingen uppgift för samma period föregående år"


def test_yoy_share_in_procentenheter_never_percent_of_percent():
    out = year_on_year(make_obs([{"measure": "andel", "period": "2022", "value": 6.1},
                                 {"measure": "andel", "period": "2023", "value": 6.4}]))
    r = one(out, period="2023")
    assert r["change_abs"] == pytest.approx(0.3)
    assert r["change_pct"] is None and r["change_unit"] == "procentenheter"


def test_yoy_procentenheter_measure_has_no_percent_change():
    out = year_on_year(make_obs([{"measure": "pe", "period": "2022", "value": 2.0},
                                 {"measure": "pe", "period": "2023", "value": 3.0}]))
    r = one(out, period="2023")
    assert r["change_abs"] == 1.0 and r["change_pct"] is None and r["change_unit"] == "procentenheter"


def test_yoy_compares_like_with_like_periods():
    obs = make_obs([
        {"period": "2020", "value": 100}, {"period": "2021-01--2021-03", "value": 30},  # no jan-mars 2020
        {"period": "2020-T1", "value": 10}, {"period": "2021-T1", "value": 12}, {"period": "2021-T2", "value": 15},
        {"period": "2021-11", "value": 5}, {"period": "2021-12", "value": 6}, {"period": "2022-12", "value": 9},
    ])
    out = year_on_year(obs)
    q = one(out, period="2021-01--2021-03")
    assert q["period_prev"] == "2020-01--2020-03" and q["value_prev"] is None  # never the full year 2020
    assert q["yoy_reason"] == "ingen uppgift för samma period föregående år"
    assert one(out, period="2021-T1")["change_abs"] == 2  # 12 - 10
    assert one(out, period="2021-T2")["change_abs"] is None
    assert one(out, period="2022-12")["value_prev"] == 6  # December against December, not November


def test_yoy_jan_mars_against_jan_mars():
    out = year_on_year(make_obs([{"period": "2020-01--2020-03", "value": 4250},
                                 {"period": "2021-01--2021-03", "value": 4263}]))
    r = one(out, period="2021-01--2021-03")
    assert r["change_abs"] == 13 and r["change_pct"] == pytest.approx(13 / 4250 * 100)


def test_yoy_reasons_for_missing_values_and_unknown_periods():
    obs = make_obs([
        {"period": "2021", "value": None}, {"period": "2022", "value": 10}, {"period": "2023", "value": None},
        {"period": "okänd", "value": 1, "group": "x"},
        {"period": "2022", "value": 0, "group": "noll"}, {"period": "2023", "value": 5, "group": "noll"},
    ])
    out = year_on_year(obs)
    assert one(out, period="2022", group="")["yoy_reason"] == "föregående års värde saknas (suppressed)"
    assert one(out, period="2023", group="")["yoy_reason"] == "värdet saknas (suppressed)"
    assert one(out, period="okänd")["yoy_reason"] == "perioden kan inte jämföras med föregående år"
    zero = one(out, period="2023", group="noll")
    assert zero["change_abs"] == 5 and zero["change_pct"] is None  # no percent of zero


def test_yoy_keeps_keys_apart_and_uses_preferred_rows():
    obs = make_obs([
        {"period": "2022", "value": 10, "gender": "kvinnor"}, {"period": "2023", "value": 11, "gender": "kvinnor"},
        {"period": "2022", "value": 20, "gender": "män"}, {"period": "2023", "value": 25, "gender": "män"},
        {"period": "2022", "value": 30, "area": "Bromma"}, {"period": "2023", "value": 33, "area": "Bromma"},
        {"period": "2022", "value": 999, "area": "Bromma", "is_preferred": False},
    ])
    out = year_on_year(obs)
    assert out.height == 6  # the non-preferred row is dropped
    assert one(out, period="2023", gender="kvinnor")["change_abs"] == 1
    assert one(out, period="2023", gender="män")["change_abs"] == 5
    assert one(out, period="2023", area="Bromma")["change_abs"] == 3


def test_yoy_two_rows_for_the_earlier_period_is_no_comparison():
    obs = make_obs([{"period": "2022", "value": 10}, {"period": "2022", "value": 11}, {"period": "2023", "value": 12}])
    r = one(year_on_year(obs), period="2023")
    assert r["change_abs"] is None and r["yoy_reason"] == "flera uppgifter för samma period föregående år"


def test_yoy_and_latest_on_empty_frame():
    empty = make_obs([])
    assert year_on_year(empty).height == 0
    assert "change_abs" in year_on_year(empty).columns
    assert latest(empty).height == 0


def test_latest_prefers_the_longest_period_at_the_same_end():
    obs = make_obs([{"period": "2023-12", "value": 1}, {"period": "2023", "value": 12}, {"period": "2022", "value": 9}])
    assert latest(obs)["value"].to_list() == [12]


# --------------------------------------------------------------------------- gender

def test_gender_split_reports_a_source_that_does_not_add_up():
    # 002 Jobbtorg "Totalt inskrivna" 2023: 3 480 + 4 624 = 8 104, but the total printed is 7 614.
    obs = make_obs([{"period": "2023", "gender": "kvinnor", "value": 3480},
                    {"period": "2023", "gender": "män", "value": 4624},
                    {"period": "2023", "gender": "totalt", "value": 7614}])
    r = gender_split(obs, ATTRS).row(0, named=True)
    assert r["gender_check"] == "mismatch" and r["gender_sum_diff"] == 490  # 8104 - 7614
    assert r["women_share"] == pytest.approx(3480 / 7614 * 100) and r["women_share_base"] == "totalt"
    assert r["gap"] == -1144 and r["gap_unit"] == "antal"  # 3480 - 4624
    assert r["source"] == "test#L3"  # the totalt row: where to look in the source
    assert gender_mismatches(obs, ATTRS).height == 1


def test_gender_split_consistent_counts_and_missing_total():
    obs = make_obs([
        {"period": "2023", "gender": "kvinnor", "value": 2808}, {"period": "2023", "gender": "män", "value": 3604},
        {"period": "2023", "gender": "totalt", "value": 6412},
        {"period": "2022", "gender": "kvinnor", "value": 30}, {"period": "2022", "gender": "män", "value": 70},
    ])
    out = gender_split(obs, ATTRS)
    assert out.height == 2
    full = one(out, period="2023")
    assert full["gender_check"] == "ok" and full["gender_sum_diff"] == 0
    assert full["women_share"] == pytest.approx(2808 / 6412 * 100)  # 43,79 %
    no_total = one(out, period="2022")
    assert no_total["women_share"] == 30.0 and no_total["women_share_base"] == "kvinnor + män"
    assert no_total["gender_check"] == "incomplete" and no_total["status_totalt"] == "missing"
    assert gender_mismatches(obs, ATTRS).height == 0


def test_gender_split_suppressed_men_is_incomplete_not_a_mismatch():
    obs = make_obs([{"period": "2023", "gender": "kvinnor", "value": 12}, {"period": "2023", "gender": "män"},
                    {"period": "2023", "gender": "totalt", "value": 15}])
    r = gender_split(obs, ATTRS).row(0, named=True)
    assert r["gender_check"] == "incomplete" and r["status_män"] == "suppressed"
    assert r["gap"] is None and r["women_share"] == pytest.approx(80.0)  # 12 / 15


def test_gender_gap_of_shares_is_in_procentenheter_and_has_no_women_share():
    obs = make_obs([{"measure": "andel", "period": "2023", "gender": g, "value": v}
                    for g, v in (("kvinnor", 5.9), ("män", 6.8), ("totalt", 6.4))])
    r = gender_split(obs, ATTRS).row(0, named=True)
    assert r["gap"] == pytest.approx(-0.9) and r["gap_unit"] == "procentenheter"
    assert r["women_share"] is None and r["gender_check"] is None and r["women_share_base"] is None


# --------------------------------------------------------------------------- stadsdelsområden

def _districts(values: dict[str, float | None], measure: str = "andel", period: str = "2023", **extra) -> list[dict]:
    return [{"measure": measure, "period": period, "area": a, "value": v, **extra} for a, v in values.items()]


def test_area_comparison_ranks_by_direction_and_compares_with_the_city():
    obs = make_obs(_districts({"Stockholm": 6.4, "Rinkeby-Kista": 11.2, "Bromma": 3.1, "Farsta": 6.4,
                               "Skärholmen": 6.4, "Södermalm": None}))
    out = area_comparison(obs, ATTRS)
    ranks = dict(zip(out["area"], out["rank"]))
    # lower is better: Bromma 3,1 first; Farsta and Skärholmen tie at 6,4 and share rank 2; then 4.
    assert ranks == {"Stockholm": None, "Rinkeby-Kista": 4, "Bromma": 1, "Farsta": 2, "Skärholmen": 2,
                     "Södermalm": None}
    rk = one(out, area="Rinkeby-Kista")
    assert rk["diff_city"] == pytest.approx(4.8) and rk["diff_city_unit"] == "procentenheter"
    assert rk["value_city"] == 6.4 and rk["n_ranked"] == 4


def test_area_comparison_higher_is_better_counts():
    out = area_comparison(make_obs(_districts({"Stockholm": 100, "Bromma": 10, "Farsta": 30, "Kungsholmen": 20},
                                              measure="antal")), ATTRS)
    assert dict(zip(out["area"], out["rank"])) == {"Stockholm": None, "Bromma": 3, "Farsta": 1, "Kungsholmen": 2}
    assert one(out, area="Farsta")["diff_city"] == -70 and one(out, area="Farsta")["diff_city_unit"] == "antal"


def test_per_capita_with_a_population_frame():
    obs = make_obs([*_districts({"Bromma": 150, "Farsta": 60}, measure="antal", period="2023-05"),
                    *_districts({"Bromma": 4.0}, measure="andel", period="2023-05")])
    population = pl.DataFrame({"area": ["Bromma", "Farsta"], "period": ["2023", "2023-05"],
                               "gender": ["totalt", "totalt"], "value": [75_000.0, 60_000.0]})
    out = per_capita(obs, population, attrs=ATTRS)
    bromma = one(out, area="Bromma", measure="antal")
    assert bromma["population"] == 75_000 and bromma["per_capita"] == pytest.approx(20.0)  # 150/75000*10000
    assert one(out, area="Farsta")["per_capita"] == pytest.approx(10.0)  # its own month
    share = one(out, area="Bromma", measure="andel")
    assert share["per_capita"] is None and share["per_capita_reason"] == "andelar räknas inte per invånare"
    nobody = per_capita(obs, population.filter(pl.col("area") == "Farsta"), attrs=ATTRS)
    assert one(nobody, area="Bromma", measure="antal")["per_capita_reason"].startswith("ingen befolkningsuppgift")


def test_area_groups_are_declared_in_the_catalogue():
    groups = area_groups()
    assert groups["Järva"] == ("Rinkeby-Kista", "Spånga-Tensta")
    assert set(groups["Fokusområden 2026"]) == {"Rinkeby-Kista", "Spånga-Tensta", "Farsta", "Skärholmen",
                                                "Enskede-Årsta-Vantör"}  # Hagsätra-Rågsved lies in EÅV
    assert "Hässelby-Vällingby" not in groups["Fokusområden 2026"]  # named beside them, not one of them
    assert set(groups["Fokusområden i söderort"]) == {"Farsta", "Skärholmen", "Enskede-Årsta-Vantör"}
    # Innerstaden, Söderort and Västerort split the 13 districts between them.
    parts = [*groups["Innerstaden"], *groups["Söderort"], *groups["Västerort"]]
    assert sorted(parts) == sorted(catalogue.districts())


def test_aggregate_counts_and_incomplete_sums():
    obs = make_obs([
        *_districts({"Rinkeby-Kista": 120, "Spånga-Tensta": 80}, measure="antal", period="2022"),
        *_districts({"Rinkeby-Kista": 130, "Spånga-Tensta": None}, measure="antal", period="2023"),  # suppressed
        *_districts({"Rinkeby-Kista": 140}, measure="antal", period="2024"),  # Spånga-Tensta absent
        *_districts({"Kungsholmen": 1, "Norrmalm": 2, "Östermalm": 3, "Södermalm": 4}, measure="antal", period="2022"),
    ])
    out = aggregate_areas(obs, groups={"Järva": area_groups()["Järva"], "Innerstaden": area_groups()["Innerstaden"]},
                          attrs=ATTRS)
    j22, j23, j24 = (one(out, area="Järva", period=p) for p in ("2022", "2023", "2024"))
    assert j22["value"] == 200 and j22["is_complete"] and j22["status"] == "" and j22["n_present"] == 2
    assert j23["value"] is None and j23["value_partial"] == 130 and j23["status"] == "suppressed"
    assert j24["value"] is None and j24["value_partial"] == 140 and j24["status"] == "missing"
    assert one(out, area="Innerstaden", period="2022")["value"] == 10
    assert one(out, area="Järva", period="2022")["area_type"] == "group_of_sdo"
    assert out.filter(pl.col("area") == "Innerstaden").height == 1  # no Innerstaden rows in 2023/2024


def test_aggregate_shares_are_recomputed_from_parts_never_summed():
    def bas(measure, values):
        return [{"series": "unemployment", "measure": measure, "period": "2023-12", "area": a, "value": v,
                 "unit": "procent" if measure == "arbetsloshet_bas" else "antal", "group": "20-64 år"}
                for a, v in values.items()]
    obs = make_obs([*bas("arbetslosa_bas", {"Rinkeby-Kista": 1800, "Spånga-Tensta": 1200}),
                    *bas("arbetskraft_bas", {"Rinkeby-Kista": 20000, "Spånga-Tensta": 20000}),
                    *bas("arbetsloshet_bas", {"Rinkeby-Kista": 9.0, "Spånga-Tensta": 6.0})])
    out = aggregate_areas(obs, groups={"Järva": ("Rinkeby-Kista", "Spånga-Tensta")})
    assert one(out, measure="arbetsloshet_bas")["value"] == pytest.approx(7.5)  # 3000 / 40000, not 9 + 6
    assert one(out, measure="arbetslosa_bas")["value"] == 3000
    no_parts = aggregate_areas(obs.filter(pl.col("measure") == "arbetsloshet_bas"),
                               groups={"Järva": ("Rinkeby-Kista", "Spånga-Tensta")})
    assert one(no_parts, measure="arbetsloshet_bas")["value"] is None  # parts absent: no share
    unknown_share = make_obs(_districts({"Rinkeby-Kista": 9.0, "Spånga-Tensta": 6.0}, measure="andel"))
    assert aggregate_areas(unknown_share, groups={"Järva": ("Rinkeby-Kista", "Spånga-Tensta")}, attrs=ATTRS).height == 0


def test_before_2020_07_hagersten_liljeholmen_and_alvsjo_count_as_hagersten_alvsjo():
    söderort = area_groups()["Söderort"]
    rows = [*_districts({"Hägersten-Liljeholmen": 50, "Älvsjö": 20, "Enskede-Årsta-Vantör": 100, "Skarpnäck": 40,
                         "Farsta": 60, "Skärholmen": 30}, measure="antal", period="2019"),
            *_districts({"Hägersten-Älvsjö": 75, "Enskede-Årsta-Vantör": 101, "Skarpnäck": 41, "Farsta": 61,
                         "Skärholmen": 31}, measure="antal", period="2021")]
    obs = make_obs(rows)
    harmonised = harmonise_areas(obs, ATTRS)
    added = one(harmonised, area="Hägersten-Älvsjö", period="2019")
    assert added["value"] == 70 and added["area_type"] == "sdo"  # 50 + 20
    assert harmonised.filter(pl.col("area") == "Älvsjö").height == 1  # the former rows stay
    out = aggregate_areas(obs, groups={"Söderort": söderort}, attrs=ATTRS)
    assert one(out, period="2019")["value"] == 300  # 70 + 100 + 40 + 60 + 30
    assert one(out, period="2021")["value"] == 309
    # A period that prints Hägersten-Älvsjö itself keeps it.
    both = make_obs([*rows, {"period": "2019", "area": "Hägersten-Älvsjö", "value": 71}])
    assert one(harmonise_areas(both, ATTRS), area="Hägersten-Älvsjö", period="2019")["value"] == 71
    assert harmonise_areas(make_obs(rows[6:]), ATTRS).height == 5  # nothing before the merger: unchanged


# --------------------------------------------------------------------------- targets

def _target_rows(measure: str, outcome: float | None, target: float, setter: str = "nämnden", period="2023"):
    return [{"measure": measure, "period": period, "value": outcome},
            {"measure": measure, "period": period, "value": target, "kind": "målvärde", "target_setter": setter}]


@pytest.mark.parametrize(("outcome", "status"), [(81, "met"), (80, "met"), (77, "partly_met"), (76, "partly_met"),
                                                 (75, "missed")])
def test_target_higher_is_better(outcome, status):
    # Target 80: partly met within 5 % of 80 = 4 below it.
    out = target_status(make_obs(_target_rows("antal", outcome, 80)), ATTRS)
    assert one(out, target_setter="nämnden")["target_status"] == status


@pytest.mark.parametrize(("outcome", "status"), [(4.8, "met"), (5.0, "met"), (5.2, "partly_met"), (5.3, "missed")])
def test_target_lower_is_better(outcome, status):
    # Target 5,0 %: partly met up to 5,25 (5 % of 5,0 = 0,25 procentenheter above it).
    r = one(target_status(make_obs(_target_rows("andel", outcome, 5.0)), ATTRS), target_setter="nämnden")
    assert r["target_status"] == status
    assert r["target_gap"] == pytest.approx(outcome - 5.0) and r["target_gap_unit"] == "procentenheter"


def test_target_both_setters_neutral_and_missing_outcome():
    obs = make_obs([*_target_rows("antal", 90, 85), _target_rows("antal", 90, 94, "kf")[1],
                    *_target_rows("neutral", 10, 12), *_target_rows("antal", None, 100, period="2024")])
    out = target_status(obs, ATTRS)
    assert one(out, measure="antal", period="2023", target_setter="nämnden")["target_status_sv"] == "uppfyllt"
    kf = one(out, measure="antal", period="2023", target_setter="kf")
    assert kf["target_status"] == "partly_met" and kf["target"] == 94 and kf["kind"] == "utfall"  # 4 <= 4,7
    assert one(out, measure="neutral")["target_reason"] == "indikatorn saknar riktning"
    assert one(out, period="2024")["target_reason"] == "utfall saknas"
    assert target_status(make_obs([{"period": "2023", "value": 1}]), ATTRS).height == 0


# --------------------------------------------------------------------------- index and rolling averages

def test_index_to_a_base_year():
    obs = make_obs([{"period": "2020", "value": 200}, {"period": "2021", "value": 220}, {"period": "2022", "value": None}])
    out = index_to_base(obs, 2020)
    assert out["index"].to_list() == [100.0, pytest.approx(110.0), None]
    assert one(out, period="2022")["index_reason"] == "värdet saknas"
    assert index_to_base(obs, 2019)["index_reason"].to_list() == ["basåret 2019 saknar värden"] * 3


def test_index_of_a_monthly_series_uses_the_mean_of_the_base_year():
    months = [{"period": f"2020-{m:02d}", "value": m} for m in range(1, 13)] + [{"period": "2021-01", "value": 13}]
    out = index_to_base(make_obs(months), 2020)
    assert one(out, period="2021-01")["index_base"] == 6.5  # mean of 1..12
    assert one(out, period="2021-01")["index"] == pytest.approx(200.0)  # 13 / 6,5
    incomplete = index_to_base(make_obs(months[1:]), 2020)  # January 2020 missing
    assert incomplete["index"].null_count() == incomplete.height
    dated = index_to_base(make_obs([{"period": "2020-12-31", "value": 5}]), 2020)
    assert dated["index_reason"].to_list() == ["periodtypen har inget basår"]


def _months(first: int, values: list[float | None], **extra) -> list[dict]:
    return [{"period": f"{first + i // 12}-{i % 12 + 1:02d}", "value": v, **extra} for i, v in enumerate(values)]


def test_rolling_12_month_average():
    out = rolling_12_months(make_obs(_months(2020, list(range(1, 25)))))
    assert one(out, period="2020-12")["rolling_12m"] == pytest.approx(6.5)  # mean of 1..12
    assert one(out, period="2021-12")["rolling_12m"] == pytest.approx(18.5)  # mean of 13..24
    early = one(out, period="2020-11")
    assert early["rolling_12m"] is None and early["rolling_12m_reason"] == "färre än 12 månader i följd"


def test_rolling_average_is_null_when_a_month_is_suppressed_or_absent():
    values = list(range(1, 25))
    values[14] = None  # 2021-03 suppressed
    out = rolling_12_months(make_obs(_months(2020, values)))
    assert one(out, period="2021-02")["rolling_12m"] == pytest.approx(sum(range(3, 15)) / 12)
    for p in ("2021-03", "2021-12"):
        assert one(out, period=p)["rolling_12m_reason"] == "ett värde saknas inom de 12 månaderna"
    gap = make_obs([r for r in _months(2020, list(range(1, 25))) if r["period"] != "2020-06"])
    assert one(rolling_12_months(gap), period="2021-05")["rolling_12m"] is None
    assert one(rolling_12_months(gap), period="2021-06")["rolling_12m"] == pytest.approx(sum(range(7, 19)) / 12)
    assert rolling_12_months(make_obs([{"period": "2023", "value": 1}]))["rolling_12m_reason"].to_list() == [
        "inte en månadsserie"]


def test_rolling_average_does_not_depend_on_row_order():
    rows = _months(2020, [float(i % 7) for i in range(30)]) + _months(2020, list(range(30)), area="Bromma")
    ordered = rolling_12_months(make_obs(rows))
    shuffled = rolling_12_months(make_obs(rows).sample(fraction=1.0, shuffle=True, seed=3))
    key = ["area", "period"]
    assert ordered.sort(key)["rolling_12m"].to_list() == shuffled.sort(key)["rolling_12m"].to_list()


# --------------------------------------------------------------------------- page: filter first, cache

def _page_table() -> pl.DataFrame:
    rows = []
    for measure in ("antal", "deltagare", "andel"):
        for area, base in (("Stockholm", 100), ("Rinkeby-Kista", 40), ("Spånga-Tensta", 60)):
            for gender, part in (("kvinnor", 0.4), ("män", 0.6), ("totalt", 1.0)):
                rows += _months(2021, [base * part + i for i in range(24)], measure=measure, area=area, gender=gender)
    rows += _target_rows("andel", 5.0, 6.0, period="2022-12")[1:]
    return make_obs(rows).sample(fraction=1.0, shuffle=True, seed=1)  # unsorted on purpose


def test_selection_index_slices_exactly_the_filtered_rows_and_caches():
    table = _page_table()
    index = SelectionIndex(table, attrs=ATTRS)
    for measure in ("antal", "andel", "saknas"):
        want = table.filter(pl.col("series") == "t", pl.col("measure") == measure)
        got = index.select("t", measure)
        assert got.sort(list(got.columns)).equals(want.sort(list(want.columns)))
    first = index.metrics("t", "andel")
    assert index.metrics("t", "andel") is first  # a second click is a cache hit


def test_precomputed_keys_give_the_same_metrics_as_fresh_ones():
    table = _page_table()
    index = SelectionIndex(table, attrs=ATTRS)
    frame, keys = index.select_keys("t", "andel")
    fresh = page_metrics(frame, attrs=ATTRS, base_year=2021)
    shared = page_metrics(frame, attrs=ATTRS, base_year=2021, keys=keys)
    for name in ("year_on_year", "gender", "areas", "targets", "index", "rolling_12m", "area_groups"):
        assert getattr(fresh, name).equals(getattr(shared, name)), name
    # andel is lower-is-better: Stockholm totalt 2022-12 is 100 + 23 = 123 against a target of 6.
    assert shared.targets.height == 1 and shared.targets["target_status"].to_list() == ["missed"]


def test_scan_selection_pushes_the_filter_into_the_parquet_scan(tmp_path):
    table = _page_table()
    path = tmp_path / "obs.parquet"
    table.sort("series", "measure").write_parquet(path, row_group_size=100)
    got = scan_selection(path, "t", "andel")
    assert got.height == table.filter(pl.col("measure") == "andel").height
    plan = pl.scan_parquet(path).filter(pl.col("series") == "t", pl.col("measure") == "andel").explain()
    assert "SELECTION" in plan.upper() or "FILTER" in plan.upper()


def test_obs_keys_sorted_and_unsorted_tables_number_keys_alike():
    table = _page_table()
    for frame in (table, table.sort("series", "measure", "gender", "area", "group", "kind", "target_setter")):
        keys = ObsKeys(frame)
        assert keys.n_keys == frame.select("measure", "gender", "area", "kind", "target_setter").n_unique()
        # rows with the same id have the same key
        check = frame.with_columns(_id=pl.Series(keys.ids)).group_by("_id").agg(
            pl.struct("measure", "gender", "area", "kind", "target_setter").n_unique().alias("n"))
        assert check["n"].max() == 1


# --------------------------------------------------------------------------- the real embedded data

@pytest.fixture(scope="module")
def real(tmp_path_factory) -> pl.DataFrame:
    """The embedded data, built into a temporary folder from a copy of data/raw."""
    base = tmp_path_factory.mktemp("real")
    shutil.copytree(PROJECT / "data" / "raw", base / "raw", ignore=shutil.ignore_patterns("uploads"))
    result = build(raw_dir=base / "raw", processed_dir=base / "processed")
    return scan_store(result.path / "observations.parquet").collect().filter(pl.col("is_preferred"))


def test_real_jobbtorg_unique_individuals_2023_against_2022(real):
    # Verksamhetsberättelse 2023 (seed 002, line 677): 6 412 in 2023, 6 086 in 2022.
    sel = real.filter(pl.col("series") == "jobbtorg", pl.col("measure") == "inskrivna_unika",
                      pl.col("area") == "Stockholm", pl.col("gender") == "totalt", pl.col("group") == "",
                      pl.col("kind") == "utfall")
    assert sel.filter(pl.col("period") == "2023").height == 1, "Jobbtorg inskrivna_unika 2023 missing from the store"
    r = one(year_on_year(sel), period="2023")
    assert (r["value"], r["value_prev"], r["change_abs"]) == (6412, 6086, 326)
    assert r["change_pct"] == pytest.approx(5.36, abs=0.005)
    assert r["source"].startswith("seeds/002_637b6f66196b7a4c.txt")


def test_real_jobbtorg_gender_table_does_not_add_up_and_is_reported(real):
    # 002 line 674: kvinnor 3 480 + män 4 624 = 8 104 against a totalsumma of 7 614 (REPORTS.md).
    sel = real.filter(pl.col("series") == "jobbtorg", pl.col("measure") == "inskrivna", pl.col("period") == "2023",
                      pl.col("area") == "Stockholm", pl.col("group") == "", pl.col("kind") == "utfall")
    assert sel.height == 3, "Jobbtorg inskrivna 2023 by gender missing from the store"
    r = gender_mismatches(sel).row(0, named=True)
    assert (r["value_kvinnor"], r["value_män"], r["value_totalt"], r["gender_sum_diff"]) == (3480, 4624, 7614, 490)


def _bas(real: pl.DataFrame) -> pl.DataFrame:
    return real.filter(pl.col("measure") == "arbetsloshet_bas", pl.col("area") == "Stockholm",
                       pl.col("group") == "20-64 år")


def test_real_scb_bas_unemployment_year_on_year(real):
    sel = _bas(real)
    assert sel.height >= 120, "SCB BAS unemployment for Stockholm 20-64 år missing from the store"
    out = year_on_year(sel)
    for gender in ("kvinnor", "män", "totalt"):
        now = one(sel, gender=gender, period="2023-12")["value"]
        before = one(sel, gender=gender, period="2022-12")["value"]
        r = one(out, gender=gender, period="2023-12")
        assert r["change_abs"] == pytest.approx(now - before) and r["change_unit"] == "procentenheter"
        assert r["change_pct"] is None
    assert one(out, gender="totalt", period="2020-01")["yoy_reason"] == "ingen uppgift för samma period föregående år"


def test_real_scb_bas_rolling_average_and_index(real):
    sel = _bas(real).filter(pl.col("gender") == "totalt")
    year = sel.filter(pl.col("period").str.starts_with("2021-"))["value"]
    assert year.len() == 12
    rolled = one(rolling_12_months(sel), period="2021-12")
    assert rolled["rolling_12m"] == pytest.approx(year.mean())
    indexed = one(index_to_base(sel, 2021), period="2021-12")
    assert indexed["index"] == pytest.approx(year[-1] / year.mean() * 100)


def test_real_gender_gap_of_bas_unemployment(real):
    sel = _bas(real).filter(pl.col("period") == "2023-12")
    r = gender_split(sel).row(0, named=True)
    assert r["gap"] == pytest.approx(one(sel, gender="kvinnor")["value"] - one(sel, gender="män")["value"])
    assert r["gap_unit"] == "procentenheter" and r["gender_check"] is None


def test_real_district_groups_sum_districts(real):
    sel = real.filter(pl.col("series") == "feriejobb", pl.col("measure") == "anstallda", pl.col("period") == "2022",
                      pl.col("gender") == "totalt", pl.col("kind") == "utfall")
    districts = dict(zip(sel["area"], sel["value"]))
    assert {"Rinkeby-Kista", "Spånga-Tensta"} <= set(districts), "feriejobb per district missing from the store"
    out = aggregate_areas(sel)
    assert one(out, area="Järva")["value"] == districts["Rinkeby-Kista"] + districts["Spånga-Tensta"]
    ranked = area_comparison(sel).filter(pl.col("rank").is_not_null())
    assert ranked.height == sum(1 for a in districts if a in catalogue.districts())


def test_real_targets_follow_the_declared_rule(real):
    out = target_status(real)
    assert out.height > 0
    cat = catalogue.measures()
    for r in out.filter(pl.col("target_status").is_not_null()).iter_rows(named=True):
        sign = 1 if cat[(r["series"], r["measure"])].direction == "higher_is_better" else -1
        gap = sign * (r["value"] - r["target"])
        want = "met" if gap >= -1e-9 else ("partly_met" if abs(gap) <= 0.05 * abs(r["target"]) + 1e-12 else "missed")
        assert r["target_status"] == want, r


def test_real_every_metric_runs_on_the_whole_store(real):
    for fn in (year_on_year, gender_split, area_comparison, aggregate_areas, target_status, rolling_12_months):
        out = fn(real)
        assert isinstance(out, pl.DataFrame)
    assert index_to_base(real, 2022).height == real.height
    assert not math.isnan(np.nanmax(year_on_year(real)["change_abs"].to_numpy()))


def test_find_rows_direct_table_and_sorted_search_agree():
    from amnstats.metrics._keys import find_rows

    codes = np.array([5, 2, 9, 2, 7])  # code 2 is held by two rows
    queries = np.array([9, 2, 3, -1, 5, 7])
    want = [2, -2, -1, -1, 0, 4]
    assert find_rows(codes, queries, 10).tolist() == want  # direct table
    assert find_rows(codes, queries, 10**12).tolist() == want  # too sparse for a table: sort and search
