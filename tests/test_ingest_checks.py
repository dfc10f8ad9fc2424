"""Upload checks on normalised observations: duplicates and kvinnor + män vs totalt."""

from __future__ import annotations

from amnstats.ingest import Source, apply, detect, set_measure
from amnstats.ingest.checks import check_observations, duplicate_problems, gender_sum_warnings
from amnstats.ingest.read import read_table
from amnstats.normalise import normalise


def observations(text: str, series: str, measure: str, filename: str = "t.csv", **sources):
    table = read_table(text.encode(), filename)
    m = set_measure(detect(table), table, series, measure)
    for k, v in sources.items():
        setattr(m, k, v)
    return normalise(apply(table, m, dataset_id="d", raw_file=filename, file_hash="f" * 64))


def test_duplicate_key_names_both_rows():
    obs = observations("År;Område;Antal\n2023;Farsta;5\n2023;Bromma;6\n2023;Farsta;7\n", "unemployment",
                       "arbetslosa")
    problems = duplicate_problems(obs, "t.csv")
    assert len(problems) == 1
    p = problems[0]
    assert p.row == 2 and p.column == "Antal"
    assert "rad 2" in p.message and "rad 4" in p.message and "Farsta" in p.message


def test_duplicate_across_value_columns_in_wide_file():
    # "Totalt" and "Samtliga" both mean totalt: two values for the same key in one row.
    obs = observations("År;Område;Totalt;Samtliga\n2023;Farsta;5;5\n", "unemployment", "arbetslosa")
    problems = duplicate_problems(obs, "t.csv")
    assert problems and "kolumn 'Totalt'" in problems[0].message and "kolumn 'Samtliga'" in problems[0].message


def test_gender_sum_mismatch_is_a_warning_with_difference():
    obs = observations("År;Område;Kvinnor;Män;Totalt\n2023;Farsta;10;20;30\n2023;Bromma;10;20;33\n",
                       "unemployment", "arbetslosa")
    errors, warnings = check_observations(obs, "t.csv")
    assert errors == []
    assert len(warnings) == 1
    w = warnings[0]
    assert (w.row, w.column) == (3, "Totalt")
    assert "kvinnor 10 + män 20 = 30, men totalt är 33 (skillnad \u22123)" in w.message and "Bromma" in w.message


def test_no_gender_check_for_shares():
    obs = observations("År;Område;Kvinnor;Män;Totalt\n2023;Farsta;5,0;6,0;7,5\n", "unemployment",
                       "arbetslosa_andel")
    assert gender_sum_warnings(obs, "t.csv") == []


def test_no_warning_when_a_part_is_suppressed():
    obs = observations("År;Område;Kvinnor;Män;Totalt\n2023;Farsta;<5;20;23\n", "unemployment", "arbetslosa")
    assert gender_sum_warnings(obs, "t.csv") == []


def test_real_report_table_shows_its_documented_inconsistency():
    # Verksamhetsberättelse 2023: 'Totalt inskrivna' kvinnor + män count the varav-row twice.
    from pathlib import Path

    path = Path(__file__).parent / "fixtures" / "ingest" / "report_jobbtorg_two_headers.csv"
    text = path.read_text(encoding="utf-8")
    obs = observations(text, "jobbtorg", "inskrivna", path.name, area=Source.fixed("Stockholm"))
    errors, warnings = check_observations(obs, path.name)
    assert errors == []
    assert {(w.row, w.column) for w in warnings} == {(10, "Totalsumma | 2023"), (10, "Totalsumma | 2022")}
    assert any("skillnad 490" in w.message for w in warnings)
