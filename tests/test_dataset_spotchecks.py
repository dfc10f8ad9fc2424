"""Hand-picked figures, read off the documents by a person, found in the store with the
right meaning (measure, period, gender, area, group) - not just on the right line."""

from __future__ import annotations

import polars as pl
import pytest

from amnstats import store


@pytest.fixture(scope="module")
def obs() -> pl.DataFrame:
    return store.load_observations()


def values(obs, **key) -> set[float]:
    expr = [pl.col(k) == v for k, v in key.items()]
    return set(obs.filter(*expr)["value"].to_list())


@pytest.mark.parametrize(
    "key,value,doc_line",
    [
        # Verksamhetsberättelse 2023, Jobbtorg table (002 lines 668-677)
        (dict(series="jobbtorg", measure="inskrivna_unika", period="2023", gender="totalt", group=""), 6412, "002:663/677"),
        (dict(series="jobbtorg", measure="inskrivna_unika", period="2022", gender="totalt", group=""), 6086, "002:663/677"),
        (dict(series="jobbtorg", measure="inskrivna", period="2023", gender="män", group="Försörjningsstöd"), 1744, "002:668"),
        (dict(series="jobbtorg", measure="inskrivna", period="2022", gender="kvinnor", group="KAA 16-19 år"), 427, "002:669"),
        # Arbetsmarknadsrapport 2022, Jobbtorg table, column order K22 K21 M22 M21 T22 T21 (003 lines 1074-1106)
        (dict(series="jobbtorg", measure="inskrivna", period="2021", gender="män", group="Försörjningsstöd"), 2326, "003:1092"),
        (dict(series="jobbtorg", measure="inskrivna_unika", period="2021", gender="totalt", group=""), 6606, "003:1106"),
        # Tertialrapport 1 2021: jan-mars 2021 vs jan-mars 2020 (000 lines 650-688)
        (dict(series="jobbtorg", measure="inskrivna", period="2021-01--2021-03", gender="kvinnor", group="Försörjningsstöd"), 1132, "000:670"),
        (dict(series="jobbtorg", measure="inskrivna_unika", period="2020-01--2020-03", gender="totalt", group=""), 4250, "000:688"),
        # Feriejobb 2022 by förvaltning x gender (003 lines 2110-2148): Kille = män, Tjej = kvinnor
        (dict(series="feriejobb", measure="anstallda", period="2022", gender="män", area="Rinkeby-Kista"), 697, "003:2132"),
        (dict(series="feriejobb", measure="anstallda", period="2022", gender="kvinnor", area="Skärholmen"), 413, "003:2136"),
        # Unemployment December 2022 by district, text (003 lines 213-219)
        (dict(series="unemployment", measure="arbetslosa_andel", period="2022-12", area="Rinkeby-Kista"), 11.5, "003:217"),
        # Indicator table VB 2023: Stockholmsjobb 1 063 (607 män, 456 kvinnor), target 1 000 (002 line 599)
        (dict(series="indicator", measure="antal_aspiranter_fatt_stockholmsjobb", period="2023", gender="män", kind="utfall"), 607, "002:599"),
        # SCB BAS: Stockholm, män 20-64, January 2020: 4.6 %
        (dict(series="unemployment", measure="arbetsloshet_bas", period="2020-01", gender="män", area="Stockholm", group="20-64 år"), 4.6, "scb:2"),
    ],
)
def test_known_figure_is_in_the_store(obs, key, value, doc_line):
    assert value in values(obs, **key), f"{doc_line}: {value} saknas för {key}"


def test_feriejobb_text_and_table_disagree_and_both_are_kept(obs):
    found = values(obs, series="feriejobb", measure="anstallda", period="2022", gender="totalt", area="Stockholm")
    assert {9527.0, 9532.0} <= found


def test_jobbtorg_2023_women_total_keeps_the_printed_double_count(obs):
    # 002 line 674: kvinna 3 480 + man 4 624 = 8 104, while totalsumma says 7 614
    women = values(obs, series="jobbtorg", measure="inskrivna", period="2023", gender="kvinnor", group="")
    total = values(obs, series="jobbtorg", measure="inskrivna", period="2023", gender="totalt", group="")
    assert 3480.0 in women and 7614.0 in total


def test_every_series_family_is_present(obs):
    expected = {"unemployment", "jobbtorg", "kaa", "sfi", "komvux", "stockholmsjobb", "feriejobb", "uvas",
                "ekonomiskt_bistand", "arbetsmarknadsinsatser", "indicator"}
    assert expected <= set(obs["series"].unique())


def test_districts_use_the_13_canonical_names(obs):
    from amnstats.catalogue import districts
    sdo = set(obs.filter(pl.col("area_type") == "sdo")["area"].unique())
    assert sdo == set(districts()), sdo ^ set(districts())


def test_indicator_targets_by_nämnden_and_kf(obs):
    targets = obs.filter(pl.col("series") == "indicator", pl.col("kind") == "målvärde")
    assert set(targets["target_setter"].unique()) == {"nämnden", "kf"}
    assert len(targets) > 50
