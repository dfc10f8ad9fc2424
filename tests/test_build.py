"""The build: tiny inline raw samples in, observations out, frame compared to frame."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from amnstats import build as build_mod
from amnstats import store
from amnstats.build import BuildError, build, current_build, is_stale
from amnstats.schema import scan_store

HEADER = "series,measure,period,gender,area,group,value_printed,status,kind,target_setter,line,note\n"


def write_report(data: Path, rows: str, name: str = "r1", inconsistencies=None, date_: str = "2024-02-07") -> Path:
    path = data / "raw" / "reports" / f"{name}.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    meta = {"id": name, "title": f"Rapport {name}", "producer": "Test", "document": f"{name}.txt",
            "date": date_, "licence": "test", "inconsistencies": inconsistencies or []}
    path.with_name(f"{name}.meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return path


def test_report_rows_become_observations(empty_data_dir):
    write_report(empty_data_dir, (
        "jobbtorg,inskrivna_unika,2023,totalt,Stockholm,,6 412,,utfall,,677,tabell\n"
        "jobbtorg,inskrivna_unika,2023,kvinnor,Stockholms stad,,2 808,,utfall,,677,tabell\n"
        "jobbtorg,inskrivna,jan-mars 2021,män,Stockholm,Försörjningsstöd,\"1 234\",approximate,utfall,,12,\n"
        "unemployment,arbetslosa_andel,2022-12,totalt,Enskede - Årsta - Vantör,,\"6,4\",,utfall,,217,\n"
    ))
    result = build()
    assert result.rebuilt and result.n_observations == 4
    obs = store.load_observations().sort("source", "gender")
    expected = pl.DataFrame({
        "measure": ["inskrivna", "arbetslosa_andel", "inskrivna_unika", "inskrivna_unika"],
        "period": ["2021-01--2021-03", "2022-12", "2023", "2023"],
        "period_start": [date(2021, 1, 1), date(2022, 12, 1), date(2023, 1, 1), date(2023, 1, 1)],
        "gender": ["män", "totalt", "kvinnor", "totalt"],
        "area": ["Stockholm", "Enskede-Årsta-Vantör", "Stockholm", "Stockholm"],
        "area_type": ["city", "sdo", "city", "city"],
        "value": [1234.0, 6.4, 2808.0, 6412.0],
        "status": ["approximate", "", "", ""],
        "unit": ["antal", "procent", "antal", "antal"],
        "source": ["seeds/r1.txt#L12", "seeds/r1.txt#L217", "seeds/r1.txt#L677", "seeds/r1.txt#L677"],
        "source_label": ["Rapport r1, rad 12", "Rapport r1, rad 217", "Rapport r1, rad 677", "Rapport r1, rad 677"],
    })
    assert_frame_equal(obs.select(expected.columns), expected)
    datasets = store.load_datasets()
    assert datasets.select("id", "n_values").rows() == [("r1", 4)]


def _problems(exc) -> list[str]:
    return [str(p) for p in exc.value.problems]


@pytest.mark.parametrize(
    "row,expected",
    [
        ("jobbtorg,okand_matt,2023,totalt,Stockholm,,1,,utfall,,1,\n", "måttet 'okand_matt' finns inte"),
        ("jobbtorg,inskrivna,2023,totalt,Rinkby-Kista,,1,,utfall,,1,\n", "menade du 'Rinkeby-Kista'"),
        ("jobbtorg,inskrivna,hösten,totalt,Stockholm,,1,,utfall,,1,\n", "'hösten' är ingen period"),
        ("unemployment,arbetslosa_andel,2023,totalt,Stockholm,,\"104,5\",,utfall,,1,\n", "utanför 0–100"),
        ("jobbtorg,inskrivna,2023,totalt,Stockholm,,-3,,utfall,,1,\n", "negativt"),
        ("jobbtorg,inskrivna,2023,icke-binär,Stockholm,,3,,utfall,,1,\n", "okänt kön"),
        ("jobbtorg,inskrivna,2023,totalt,Stockholm,,3 4 5,,utfall,,1,\n", "inte ett tal"),
        ("jobbtorg,inskrivna,2023,totalt,Stockholm,,3,,gissning,,1,\n", "okänd typ"),
        ("jobbtorg,inskrivna,2023,totalt,Stockholm,,3,,utfall,kf,1,\n", "bara för målvärden"),
    ],
)
def test_bad_rows_name_file_row_and_problem(empty_data_dir, row, expected):
    write_report(empty_data_dir, "jobbtorg,inskrivna,2022,totalt,Stockholm,,10,,utfall,,1,\n" + row)
    with pytest.raises(BuildError) as exc:
        build()
    problems = _problems(exc)
    assert len(problems) == 1, problems
    assert problems[0].startswith("reports/r1.csv, rad 3"), problems[0]
    assert expected in problems[0]
    assert current_build() is None  # nothing was written


def test_empty_value_is_recorded_as_missing_not_zero(empty_data_dir):
    write_report(empty_data_dir, "jobbtorg,inskrivna,2023,totalt,Stockholm,,,,utfall,,1,\n"
                                 "jobbtorg,inskrivna,2022,totalt,Stockholm,,..,,utfall,,1,\n")
    build()
    obs = store.load_observations().sort("period")
    assert obs["value"].to_list() == [None, None]
    assert obs["status"].to_list() == ["suppressed", "missing"]


def test_same_key_twice_with_different_values_is_an_error(empty_data_dir):
    write_report(empty_data_dir, (
        "feriejobb,anstallda,2022,totalt,Stockholm,,9 527,,utfall,,2054,text\n"
        "feriejobb,anstallda,2022,totalt,Stockholm,,9532,,utfall,,2147,tabell\n"))
    with pytest.raises(BuildError, match="samma nyckel med olika värden"):
        build()


def test_disagreement_printed_in_the_document_is_kept_when_declared(empty_data_dir):
    write_report(empty_data_dir, (
        "feriejobb,anstallda,2022,totalt,Stockholm,,9 527,,utfall,,2054,text\n"
        "feriejobb,anstallda,2022,totalt,Stockholm,,9532,,utfall,,2147,tabell\n"),
        inconsistencies=[{"description": "9 527 i texten, 9 532 i tabellen", "lines": [2054, 2147]}])
    build()
    obs = store.load_observations()
    assert sorted(obs["value"].to_list()) == [9527.0, 9532.0]
    assert obs["has_conflict"].all()
    assert obs["is_preferred"].sum() == 1
    assert store.load_observations(preferred_only=True)["value"].to_list() == [9527.0]


def test_two_sources_that_disagree_are_both_kept_newest_preferred(empty_data_dir):
    write_report(empty_data_dir, "stockholmsjobb,anstallda,2022,totalt,Stockholm,,877,,utfall,,10,\n",
                 name="old", date_="2023-01-01")
    write_report(empty_data_dir, "stockholmsjobb,anstallda,2022,totalt,Stockholm,,873,,utfall,,20,\n",
                 name="new", date_="2024-02-07")
    build()
    obs = store.load_observations()
    assert len(obs) == 2 and obs["has_conflict"].all()
    assert obs.filter("is_preferred")["dataset"].to_list() == ["new"]


def test_exact_figure_is_preferred_over_an_approximate_one(empty_data_dir):
    write_report(empty_data_dir, "stockholmsjobb,anstallda,2022,totalt,Stockholm,,877,,utfall,,10,\n",
                 name="old", date_="2023-01-01")
    write_report(empty_data_dir, "stockholmsjobb,anstallda,2022,totalt,Stockholm,,850,approximate,utfall,,20,\n",
                 name="new", date_="2024-02-07")
    build()
    preferred = store.load_observations(preferred_only=True)
    assert preferred["value"].to_list() == [877.0]


def test_build_is_idempotent_and_deterministic(data_dir):
    first = build()
    assert first.rebuilt and first.n_observations > 1000
    again = build()
    assert not again.rebuilt and again.path == first.path
    before = (first.path / "observations.parquet").read_bytes()
    forced = build(force=True)
    assert (forced.path / "observations.parquet").read_bytes() == before


def test_failed_build_keeps_previous_data(data_dir, monkeypatch):
    first = build()
    before = store.load_observations()
    (data_dir / "raw" / "reports" / "zz_broken.csv").write_text(HEADER + "jobbtorg,nope,2023,totalt,Stockholm,,1,,utfall,,1,\n")
    (data_dir / "raw" / "reports" / "zz_broken.meta.json").write_text(
        json.dumps({"id": "zz", "title": "t", "producer": "p", "licence": "l"}))
    with pytest.raises(BuildError, match=r"zz_broken.csv, rad 2"):
        build()
    assert current_build() == first.path
    assert_frame_equal(scan_store(first.path / "observations.parquet").collect(), before)


def test_crash_while_writing_keeps_previous_data(data_dir, monkeypatch):
    first = build()
    before = scan_store(first.path / "observations.parquet").collect()
    (data_dir / "raw" / "reports" / "extra.csv").write_text(
        HEADER + "jobbtorg,inskrivna,2030,totalt,Stockholm,,1,,utfall,,1,\n")
    (data_dir / "raw" / "reports" / "extra.meta.json").write_text(
        json.dumps({"id": "extra", "title": "t", "producer": "p", "licence": "l"}))
    calls = []

    def crash(df, path):
        calls.append(path)
        if len(calls) == 2:  # after the first file is written
            raise OSError("disk full")
        return real(df, path)

    real = build_mod._write_parquet
    monkeypatch.setattr(build_mod, "_write_parquet", crash)
    with pytest.raises(OSError):
        build()
    assert current_build() == first.path
    assert_frame_equal(scan_store(current_build() / "observations.parquet").collect(), before)
    assert not list((data_dir / "processed").glob(".build-*")), "temporary build folder left behind"
    monkeypatch.setattr(build_mod, "_write_parquet", real)
    assert build().n_observations == len(before) + 1


def test_store_rebuilds_when_raw_changes(data_dir):
    build()
    assert not is_stale()
    (data_dir / "raw" / "reports" / "extra.csv").write_text(
        HEADER + "jobbtorg,inskrivna,2030,totalt,Stockholm,,1,,utfall,,1,\n")
    (data_dir / "raw" / "reports" / "extra.meta.json").write_text(
        json.dumps({"id": "extra", "title": "t", "producer": "p", "licence": "l"}))
    assert is_stale()
    obs = store.load_observations()
    assert 2030 in obs["period_start"].dt.year().to_list()


def test_missing_sidecar_is_an_error(empty_data_dir):
    (empty_data_dir / "raw" / "reports" / "nometa.csv").write_text(HEADER)
    with pytest.raises(BuildError, match="metadatafilen nometa.meta.json saknas"):
        build()


def test_cli_build_reports_problems_in_swedish(empty_data_dir, capsys):
    from amnstats.__main__ import main
    write_report(empty_data_dir, "jobbtorg,inskrivna,2023,totalt,Atlantis,,1,,utfall,,1,\n")
    assert main(["build"]) == 1
    err = capsys.readouterr().err
    assert "okänt område 'Atlantis'" in err and "Inget skrevs" in err


def test_store_keeps_repeated_text_as_dictionaries_and_reads_back_as_text(data_dir):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from amnstats.schema import DICTIONARY_COLUMNS, OBSERVATION_SCHEMA, STORED_SCHEMA

    path = build().path / "observations.parquet"
    stored = pq.read_schema(path)
    assert {f.name for f in stored if pa.types.is_dictionary(f.type)} == set(DICTIONARY_COLUMNS)
    assert stored.names == STORED_SCHEMA.names()
    obs = store.load_observations()
    assert obs.schema == OBSERVATION_SCHEMA
    # the embedded reports' places are whole: no row to append
    assert_frame_equal(obs, pl.from_arrow(pq.read_table(path)).cast(dict(OBSERVATION_SCHEMA)).drop("source_row"))
    assert obs.filter(pl.col("series") == "jobbtorg").height == scan_store(path).filter(
        pl.col("series") == "jobbtorg").collect().height > 0
