"""Column detection, the Mapping as a template, and apply() to candidate rows."""

from __future__ import annotations

import json
import time
from pathlib import Path

import polars as pl
import pytest

from amnstats import catalogue
from amnstats.ingest.mapping import (
    Mapping, Source, Wide, apply, choose_value_columns, detect, fit, layout_signature, set_measure,
)
from amnstats.ingest.read import RawTable, read_table
from amnstats.normalise import CANDIDATE_COLUMNS, normalise
from amnstats.problems import InputError
from amnstats.schema import with_places

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"
REAL = FIXTURES / "real"
HASH = "0123456789abcdef" * 4


def read(path: Path | str, **kw) -> RawTable:
    path = FIXTURES / path if isinstance(path, str) else path
    return read_table(path.read_bytes(), path.name, **kw)


def candidates(table: RawTable, mapping: Mapping) -> pl.DataFrame:
    return apply(table, mapping, dataset_id="upload-test", raw_file=table.filename, file_hash=HASH)


# ---------------------------------------------------------------- detect: long layouts

def test_detect_long_with_gender_column():
    m = detect(read("synthetic_long_semicolon_cp1252.csv"))
    assert m.period == Source.column("År") and m.gender == Source.column("Kön")
    assert m.area == Source.column("Stadsdelsområde") and m.value == "Andel arbetslösa"
    assert m.wide is None and m.missing == ["series", "measure"]


def test_detect_long_with_group_and_no_gender():
    m = detect(read("synthetic_long_comma_utf8_bom.csv"))
    assert m.period == Source.column("Period") and m.group == Source.column("Målgrupp")
    assert m.gender == Source.fixed("totalt") and any("totalt" in n for n in m.notes)


def test_detect_real_scb_bas_asks_which_value_column():
    m = detect(read(REAL / "arbetsmarknad.json__stockholm_excerpt.csv"))
    assert m.period == Source.column("månad") and m.gender == Source.column("kön")
    assert m.area == Source.column("region") and m.group == Source.column("ålder", "födelseregion")
    assert m.value == "" and "value" in m.missing


def test_a_gender_column_with_an_unknown_value_is_still_the_gender_and_the_value_is_reported():
    text = "Område;År;Kön;Antal\nFarsta;2023;Kvinnor;5\nFarsta;2023;Män;6\nFarsta;2023;Okänt;2\n"
    table = read_table(text.encode(), "kon.csv")
    m = set_measure(detect(table), table, "jobbtorg", "inskrivna")
    assert m.gender == Source.column("Kön") and not any("totalt" in n for n in m.notes)
    with pytest.raises(InputError) as exc:
        normalise(candidates(table, m))
    assert [(p.row, p.column) for p in exc.value.problems] == [(4, "gender")]
    assert "okänt kön 'Okänt'" in exc.value.problems[0].message


def test_detect_by_values_without_header_words():
    table = read_table("Plats;När;Hur många\nFarsta;2023;5\nBromma;2022;6\nSkarpnäck;2021;7\n".encode(), "x.csv")
    m = detect(table)
    assert m.area == Source.column("Plats") and m.period == Source.column("När")
    assert m.value == "Hur många"


# ---------------------------------------------------------------- detect: wide layouts

def test_detect_years_as_columns():
    m = detect(read("synthetic_wide_years_tab.txt"))
    assert m.wide.columns == ["2021", "2022", "2023"] and m.wide.levels == ["period"]
    assert m.area == Source.column("Område") and not m.period.is_set and m.missing == ["series", "measure"]


def test_detect_months_as_columns_with_year_column():
    m = detect(read("synthetic_wide_months.csv"))
    assert len(m.wide.columns) == 12 and m.wide.levels == ["period"]
    assert m.period_year == Source.column("År")


def test_detect_gender_as_columns():
    m = detect(read("synthetic_wide_gender_latin1.csv"))
    assert m.wide.columns == ["Kvinnor", "Män", "Totalt"] and m.wide.levels == ["gender"]
    assert m.period == Source.column("År")


def test_detect_gender_over_year_two_header_rows():
    for name in ("report_jobbtorg_two_headers.csv", "report_jobbtorg_two_headers.xlsx"):
        m = detect(read(name))
        assert m.wide.levels == ["gender", "period"], name
        assert len(m.wide.columns) == 6 and m.group == Source.column("Målgrupp")
        assert m.missing == ["series", "measure", "area"]


def test_detect_skolverket_gender_over_measures_asks_for_columns():
    table = read(REAL / "Grundskola - Betyg årskurs 6, andel som fått godkänt betyg (A-E), per kön 2025 Kommun.csv")
    m = detect(table)
    assert m.wide.levels == ["gender", ""] and m.ambiguous_levels == [1] and "value" in m.missing
    assert m.area == Source.column("Kommun") and m.period == Source.fixed("2024/25")  # from 'Valt läsår'
    chosen = [c for c in m.wide.columns if c.endswith("godkänt betyg i alla ämnen")]
    m2 = choose_value_columns(m, table, chosen)
    assert m2.ambiguous_levels == [] and "value" not in m2.missing


def test_detect_pxweb_years_and_codes():
    m = detect(read(REAL / "MikaelLundqvist__SCB-Engineers-Jonkoping__000000NK.csv"))
    assert m.wide.columns == ["2014", "2015", "2016", "2017"]
    assert m.gender == Source.column("sex") and m.area == Source.column("region")


# ---------------------------------------------------------------- fractions

def test_fractions_detected_for_share_header_and_share_measure():
    table = read("synthetic_fractions_af.csv")
    assert detect(table).values_are_fractions
    assert detect(table, series="unemployment", measure="arbetslosa_andel").values_are_fractions
    assert not detect(table, series="unemployment", measure="arbetslosa").values_are_fractions  # antal
    assert not detect(read("synthetic_long_semicolon_cp1252.csv")).values_are_fractions  # 5,3 %


def test_fractions_multiplied_only_for_procent_measures():
    table = read("synthetic_fractions_af.csv")
    m = set_measure(detect(table), table, "unemployment", "arbetslosa_andel")
    assert m.values_are_fractions
    assert candidates(table, m)["value_text"].to_list() == ["5.3", "3.1", "5.5", "3.0", "..", "2.9"]
    counts = Mapping(**{**m.__dict__, "measure": "arbetslosa"})
    assert candidates(table, counts)["value_text"].to_list()[0] == "0.053"


def test_a_header_that_says_percent_keeps_small_shares_as_percent():
    """0,4 under 'Andel långtidsarbetslösa (%)' is 0,4 %, not 40 %."""
    text = "Område;År;Andel långtidsarbetslösa (%)\nFarsta;2023;0,4\nBromma;2023;0,6\nSkarpnäck;2023;0,9\n"
    table = read_table(text.encode(), "andel.csv")
    assert not detect(table).values_are_fractions
    m = set_measure(detect(table), table, "unemployment", "arbetslosa_andel")
    assert not m.values_are_fractions and not any("multipliceras" in n for n in m.notes)
    assert normalise(candidates(table, m))["value"].to_list() == [0.4, 0.6, 0.9]
    for header in ("Procent arbetslösa", "Andel %"):
        table = read_table(f"Område;År;{header}\nFarsta;2023;0,4\nBromma;2023;0,6\n".encode(), "andel.csv")
        assert not detect(table, series="unemployment", measure="arbetslosa_andel").values_are_fractions, header


def test_xlsx_percent_cells_become_percent():
    table = read("synthetic_title_rows.xlsx")
    m = set_measure(detect(table), table, "unemployment", "arbetslosa_andel")
    obs = normalise(candidates(table, m))
    assert obs["value"].to_list() == [8.1, 8.3, 4.5, 4.6]


# ---------------------------------------------------------------- template

def test_mapping_round_trips_through_json():
    table = read("report_jobbtorg_two_headers.csv")
    m = detect(table, series="jobbtorg", measure="inskrivna")
    m.area = Source.fixed("Stockholm")
    d = json.loads(json.dumps(m.to_dict()))
    back = Mapping.from_dict(d)
    assert back == m and back.to_dict() == m.to_dict()
    assert d["missing"] == [] and d["area"] == {"constant": "Stockholm"}
    assert Mapping.from_json(m.to_json()) == m


def test_signature_matches_next_months_export_and_fit_reselects_columns():
    months = ["jan", "feb", "mar"]
    march = "Område;År;" + ";".join(months) + "\nFarsta;2024;1;2;3\n"
    april = "Område;År;" + ";".join(months + ["apr"]) + "\nFarsta;2024;1;2;3;4\n"
    t_mar, t_apr = read_table(march.encode(), "mars.csv"), read_table(april.encode(), "april.csv")
    template = set_measure(detect(t_mar), t_mar, "unemployment", "arbetslosa")
    assert layout_signature(t_mar) == layout_signature(t_apr) and template.matches(t_apr)
    assert template.wide.columns == months
    refit = fit(Mapping.from_dict(template.to_dict()), t_apr)
    assert refit.wide.columns == months + ["apr"]
    assert candidates(t_apr, refit)["period"].to_list() == ["jan 2024", "feb 2024", "mar 2024", "apr 2024"]
    other = read_table("Område;Antal\nFarsta;5\n".encode(), "annan.csv")
    assert not template.matches(other)


# ---------------------------------------------------------------- apply

def test_apply_one_row_per_value_cell_with_source():
    table = read("report_jobbtorg_two_headers.csv")
    m = detect(table, series="jobbtorg", measure="inskrivna")
    m.area = Source.fixed("Stockholm")
    c = candidates(table, m)
    assert c.columns == [*CANDIDATE_COLUMNS, "source_row", "column"]
    assert c.height == 7 * 6
    first = c.row(0, named=True)
    assert first["period"] == "2023" and first["gender"] == "Kvinna" and first["group"] == "Försörjningsstöd"
    assert first["value_text"] == "1 493" and first["raw_row"] == 4 == first["source_row"]
    # the row is kept as a number and appended when the place is read (schema.with_places)
    assert first["source"] == "uploads/report_jobbtorg_two_headers.csv#sha256=0123456789ab;kolumn=Kvinna | 2023;rad="
    assert first["source_label"] == "Uppladdad fil report_jobbtorg_two_headers.csv, rad "
    whole = with_places(normalise(c)).row(0, named=True)
    assert whole["source"] == "uploads/report_jobbtorg_two_headers.csv#sha256=0123456789ab;kolumn=Kvinna | 2023;rad=4"
    assert whole["source_label"] == "Uppladdad fil report_jobbtorg_two_headers.csv, rad 4"
    assert first["dataset"] == "upload-test" and first["kind"] == "utfall"
    assert c["raw_row"].to_list() == sorted(c["raw_row"].to_list())


def test_apply_several_group_columns_are_joined():
    table = read(REAL / "arbetsmarknad.json__stockholm_excerpt.csv")
    m = set_measure(detect(table), table, "unemployment", "arbetslosa_bas")
    m.value = "antal arbetslösa"
    c = candidates(table, m)
    assert c["group"][0] == "20–64 år, totalt"
    assert normalise(c).height == 251


def test_apply_refuses_a_mapping_that_does_not_fit():
    table = read("synthetic_wide_years_tab.txt")
    m = Mapping(series="unemployment", measure="arbetslosa", area=Source.column("Stadsdel"),
                period=Source.fixed("2023"), value="Antal")
    with pytest.raises(InputError) as info:
        candidates(table, m)
    assert {p.column for p in info.value.problems} == {"Stadsdel", "Antal"}


def test_apply_is_vectorised_on_a_million_rows():
    n = 1_000_000
    areas = catalogue.districts()
    frame = pl.DataFrame({
        "Område": pl.Series([areas[i % 13] for i in range(1000)] * (n // 1000)),
        "År": pl.Series([str(2000 + i % 20) for i in range(1000)] * (n // 1000)),
        "Kvinnor": pl.Series([str(i % 977) for i in range(1000)] * (n // 1000)),
        "Män": pl.Series([str(i % 991) for i in range(1000)] * (n // 1000)),
    })
    table = RawTable.from_frame(frame, "miljon.csv")
    long = Mapping(series="unemployment", measure="arbetslosa", period=Source.column("År"),
                   area=Source.column("Område"), value="Kvinnor")
    wide = Mapping(series="unemployment", measure="arbetslosa", period=Source.column("År"),
                   area=Source.column("Område"), wide=Wide(["Kvinnor", "Män"], ["gender"]))
    start = time.perf_counter()
    assert candidates(table, long).height == n
    assert candidates(table, wide).height == 2 * n
    assert time.perf_counter() - start < 20  # about 2 s on a laptop; per-row Python would take minutes


def test_detect_long_month_names_with_year_column():
    text = "År;Månad;Område;Antal\n2023;januari;Farsta;5\n2023;februari;Farsta;6\n2024;januari;Farsta;7\n"
    table = read_table(text.encode(), "m.csv")
    m = set_measure(detect(table), table, "unemployment", "arbetslosa")
    assert m.period == Source.column("Månad") and m.period_year == Source.column("År")
    assert normalise(candidates(table, m))["period"].to_list() == ["2023-01", "2023-02", "2024-01"]


def test_detect_prefers_the_finer_period_column():
    text = "År;Månad;Område;Antal\n2023;2023-01;Farsta;5\n2023;2023-02;Farsta;6\n"
    m = detect(read_table(text.encode(), "m.csv"))
    assert m.period == Source.column("Månad") and not m.period_year.is_set


def test_a_blank_period_or_area_for_the_whole_file_is_still_to_be_answered():
    m = Mapping(series="unemployment", measure="arbetslosa_andel", period=Source.fixed(""),
                area=Source.fixed(""), value="Värde")
    assert m.missing == ["period", "area"]
    m.period, m.area = Source.fixed("2023"), Source.fixed("Stockholm")
    assert m.missing == []
