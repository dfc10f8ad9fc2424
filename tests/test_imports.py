"""Committing uploads: nothing lost or half-written, whatever the input and whenever it dies."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amnstats import imports, store
from amnstats.build import build, current_build
from amnstats.ingest import Mapping, Source, prepare
from amnstats.problems import InputError
from amnstats.schema import as_stored, scan_store

PROJECT = Path(__file__).resolve().parents[1]


def af_csv(period_value: str = "12,1") -> bytes:
    return (f"Stadsdelsområde;Kvinnor;Män;Totalt\nRinkeby - Kista;{period_value};10,9;11,5\n"
            "Skärholmen;9,0;8,6;8,8\n").encode("cp1252")


def mapping_for(data: bytes, name: str, period: str = "2023-12") -> Mapping:
    first = prepare(data, name, series="unemployment", measure="arbetslosa_andel")
    m = first.mapping
    m.period = Source.fixed(period)
    return m


def snapshot(data_dir: Path) -> dict:
    uploads = data_dir / "raw" / "uploads"
    files = sorted(str(p.relative_to(uploads)) for p in uploads.rglob("*") if p.is_file() and not p.name.startswith(".")) \
        if uploads.exists() else []
    cur = current_build()
    return {"uploads": files, "build": cur.name if cur else None}


def test_same_file_twice_changes_nothing(data_dir):
    build()
    data = af_csv()
    first = imports.commit(data, "af.csv", mapping_for(data, "af.csv"), uploaded_by="t")
    before = snapshot(data_dir)
    again = imports.commit(data, "af.csv", mapping_for(data, "af.csv"), uploaded_by="t")
    assert first.changed and not again.changed
    assert snapshot(data_dir) == before
    stored = data_dir / "raw" / "uploads" / first.record["id"] / "af.csv"
    assert stored.read_bytes() == data  # byte for byte


def test_the_store_is_built_while_the_file_is_written_and_the_record_waits_for_the_file(data_dir, monkeypatch):
    from amnstats import build as build_module

    build()
    data = af_csv()
    events = []
    write, parquet = imports._write_atomic, build_module._write_parquet

    def slow_write(path, payload):
        events.append(("start", path.name))
        if path.name == "af.csv":
            time.sleep(0.5)  # a slow disk: the store is assembled meanwhile
        write(path, payload)
        events.append(("end", path.name))

    monkeypatch.setattr(imports, "_write_atomic", slow_write)
    monkeypatch.setattr(build_module, "_write_parquet", lambda df, path: (events.append(("parquet", path.name)),
                                                                          parquet(df, path)))
    result = imports.commit(data, "af.csv", mapping_for(data, "af.csv"), uploaded_by="t")
    order = [e for e in events if e != ("parquet", "datasets.parquet")]
    assert order.index(("parquet", "observations.parquet")) < order.index(("end", "af.csv"))  # beside it
    assert order.index(("end", "af.csv")) < order.index(("start", "import.json"))  # the commit point last
    # the build is named by the inputs as they are now on disk: nothing left to rebuild
    assert build_module.build_fingerprint(result.build.path) == build_module.input_fingerprint()
    assert not build().rebuilt and (result.build.path / "manifest.json").exists()


def test_a_file_that_cannot_be_written_leaves_everything_as_it_was(data_dir, monkeypatch):
    build()
    before, old = snapshot(data_dir), store.load_observations()
    write = imports._write_atomic

    def full_disk(path, payload):
        if path.name == "af.csv":
            raise OSError(28, "No space left on device")
        write(path, payload)

    monkeypatch.setattr(imports, "_write_atomic", full_disk)
    data = af_csv()
    with pytest.raises(InputError) as exc:
        imports.commit(data, "af.csv", mapping_for(data, "af.csv"), uploaded_by="t")
    assert "kunde inte sparas på servern (No space left on device). Inget har ändrats" in str(exc.value)
    assert snapshot(data_dir) == before and store.load_observations().equals(old)
    assert imports.history() == []


def test_undo_restores_exactly_and_redo_brings_it_back(data_dir):
    build()
    before = store.load_observations()
    data = af_csv()
    r = imports.commit(data, "af.csv", mapping_for(data, "af.csv"), uploaded_by="t")
    with_import = store.load_observations()
    imports.undo(r.record["id"], by="t")
    assert store.load_observations().equals(before)
    imports.redo(r.record["id"], by="t")
    assert store.load_observations().equals(with_import)
    assert [h["action"] for h in imports.history()[0]["history"]] == ["import", "undo", "import"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.one_of(
    st.binary(max_size=600),
    st.text(alphabet=";,\t\n\"'0123456789 .,-<>åäöÅÄÖabcxKvinorMän%~", max_size=400).map(lambda s: s.encode("utf-8")),
))
def test_any_bytes_give_a_clean_import_or_a_clear_error_with_nothing_written(data_dir, payload):
    if current_build() is None:
        build()
    before = snapshot(data_dir)
    mapping = Mapping(series="unemployment", measure="arbetslosa_andel", period=Source.fixed("2023"),
                      area=Source.fixed("Stockholm"), value="Värde")
    try:
        result = imports.commit(payload, "fuzz.csv", mapping, uploaded_by="hypothesis")
    except InputError as exc:
        assert exc.problems and all(p.message for p in exc.problems)
        assert snapshot(data_dir) == before
    else:
        assert result.record["status"] == "active"
        imports.undo(result.record["id"], by="hypothesis")


def test_refused_file_writes_nothing(data_dir):
    build()
    before = snapshot(data_dir)
    data = "Personnummer;Värde\n811218-9876;5\n".encode()
    with pytest.raises(InputError) as exc:
        imports.commit(data, "pnr.csv", Mapping(series="unemployment", measure="arbetslosa_andel",
                                                period=Source.fixed("2023"), area=Source.fixed("Stockholm"),
                                                value="Värde"), uploaded_by="t")
    assert "Inget har sparats" in str(exc.value)
    assert snapshot(data_dir) == before


CHILD = r"""
import sys
from amnstats import imports
from amnstats.ingest import prepare, Source
data = open(sys.argv[1], "rb").read()
first = prepare(data, sys.argv[2], series="unemployment", measure="arbetslosa_andel")
m = first.mapping
m.period = Source.fixed(sys.argv[3])
imports.commit(data, sys.argv[2], m, uploaded_by="child")
print("done")
"""


def _child(data_dir: Path, tmp_path: Path, name: str, data: bytes, period: str) -> subprocess.Popen:
    f = tmp_path / name
    f.write_bytes(data)
    env = os.environ | {"AMNSTATS_DATA_DIR": str(data_dir), "PYTHONPATH": str(PROJECT)}
    return subprocess.Popen([sys.executable, "-c", CHILD, str(f), name, period], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_import_killed_at_random_points_leaves_old_or_new_data(data_dir, tmp_path):
    build()
    old = store.load_observations()
    data = af_csv()
    rng = random.Random(7)
    for attempt in range(6):
        proc = _child(data_dir, tmp_path, "af.csv", data, "2023-12")
        time.sleep(rng.uniform(0.3, 3.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        # what is on disk is complete and readable: the previous build or a new one
        obs = scan_store(current_build() / "observations.parquet").collect()
        assert len(obs) in (len(old), len(old) + 6)
        for folder in (data_dir / "raw" / "uploads").glob("upload-*"):
            record = imports.read_record(folder)
            if record is not None:  # past the commit point: the file is there, whole
                assert (folder / record["stored_as"]).read_bytes() == data
        # the next start finishes the job or keeps the old data; never a broken store
        assert len(store.load_observations()) in (len(old), len(old) + 6)
        for r in imports.history():
            imports.undo(r["id"], by="t")
        assert len(store.load_observations()) == len(old)


def test_two_processes_importing_at_once_lose_nothing(data_dir, tmp_path):
    build()
    n_before = len(store.load_observations())
    a = _child(data_dir, tmp_path, "a.csv", af_csv("12,1"), "2023-11")
    b = _child(data_dir, tmp_path, "b.csv", af_csv("13,4"), "2023-12")
    outs = [p.communicate(timeout=120) for p in (a, b)]
    assert all(p.returncode == 0 for p in (a, b)), [o[1].decode()[-500:] for o in outs]
    obs = store.load_observations()
    assert len(obs) == n_before + 12
    assert {r["filename"] for r in imports.history()} == {"a.csv", "b.csv"}
    assert json.loads((data_dir / "raw" / "uploads" / imports.history()[0]["id"] / "import.json").read_text())


def _obs(rows: list[dict]) -> pl.DataFrame:
    from amnstats.schema import OBSERVATION_SCHEMA

    base = {"series": "komvux", "measure": "helarsplatser", "period": "2024", "gender": "totalt", "area": "Bromma",
            "group": "", "value": 1.0, "status": "", "kind": "utfall", "target_setter": "", "unit": "antal",
            "dataset": "d", "source": "s", "source_label": "s", "note": "", "is_preferred": True,
            "has_conflict": False, "period_type": "year", "area_type": "sdo"}
    full = [base | {"period_start": None, "period_end": None} | r for r in rows]
    return pl.DataFrame(full, schema=OBSERVATION_SCHEMA)


def test_diff_matches_a_plain_left_join_and_keeps_the_upload_order():
    new = _obs([{"area": "Skärholmen", "value": 5.0},                       # unchanged
                {"area": "Bromma", "value": 7.0},                           # changed
                {"area": "Bromma", "gender": "kvinnor", "value": None},     # null both sides: unchanged
                {"area": "Kista", "value": 1.0},                            # not in the store: new
                {"area": "Bromma", "period": "2025", "value": 2.0},         # a period the store lacks: new
                {"area": "Älvsjö", "value": 3.0},                           # only a non-preferred row: new
                {"area": "Farsta", "period": None, "value": 4.0}])          # a null in the key matches a null
    current = _obs([{"area": "Skärholmen", "value": 5.0, "source_label": "rapport A"},
                    {"area": "Bromma", "value": 6.0, "source_label": "rapport B"},
                    {"area": "Bromma", "value": 9.0, "source_label": "rapport B2"},  # a key twice: the first
                    {"area": "Farsta", "period": None, "value": 4.0, "source_label": "rapport D"},
                    {"area": "Bromma", "gender": "kvinnor", "value": None, "source_label": "rapport C"},
                    {"area": "Älvsjö", "value": 3.0, "is_preferred": False},
                    {"area": "Kista", "measure": "elever", "value": 1.0}])  # another measure
    got = imports.diff(new, current)
    cur = (current.filter("is_preferred").unique(imports.KEY_COLUMNS, keep="first", maintain_order=True)
           .select(*imports.KEY_COLUMNS, old_value="value", old_source="source_label"))
    plain = (new.select(*imports.KEY_COLUMNS, "period_start", new_value="value")
             .join(cur, on=list(imports.KEY_COLUMNS), how="left", nulls_equal=True, maintain_order="left"))
    assert got.drop("change").equals(plain)
    assert got["change"].to_list() == ["oförändrad", "ändrad", "oförändrad", "ny", "ny", "ny", "oförändrad"]
    assert got["old_source"].to_list() == ["rapport A", "rapport B", "rapport C", None, None, None, "rapport D"]
    nothing = imports.diff(new, current.head(0))  # no current value: old values one null each
    assert nothing["change"].to_list() == ["ny"] * 7 and nothing["change"].dtype == imports.CHANGES
    assert nothing.drop("change").equals(plain.with_columns(old_value=None, old_source=None))
    # observations as prepare() holds them (the store's dictionaries) against the store as read
    stored = imports.diff(as_stored(new.with_columns(source_row=pl.lit(None, pl.Int32))), current)
    assert stored["change"].to_list() == got["change"].to_list()
    assert stored["old_source"].to_list() == got["old_source"].to_list()


def test_cli_import_asks_for_the_series_once_and_names_the_codes(data_dir, tmp_path, capsys):
    from amnstats.__main__ import main

    f = tmp_path / "SYNTETISK_okand.csv"  # SYNTETISKA testrader: the file does not name its series
    f.write_text("Område;Månad;Antal\nBromma;2023-01;5\nSkarpnäck;2023-01;7\n", encoding="utf-8")
    assert main(["import", str(f)]) == 1
    err = capsys.readouterr().err
    assert "Kopplingen är inte komplett. Ange: vilken serie värdena hör till" in err
    assert "--series unemployment" in err and "measures.csv" in err
    assert "kolumn 'series'" not in err  # the question is not repeated as an error in a column
    assert imports.history() == []


def test_cli_import_with_only_a_wrong_column_does_not_ask_for_nothing(data_dir, tmp_path, capsys):
    from amnstats.__main__ import main

    f = tmp_path / "SYNTETISK_kolumn.csv"  # SYNTETISKA testrader
    f.write_text("Område;Månad;Antal\nBromma;2023-01;5\nSkarpnäck;2023-01;7\n", encoding="utf-8")
    assert main(["import", str(f), "--series", "jobbtorg", "--measure", "inskrivna", "--period", "col:Nej"]) == 1
    err = capsys.readouterr().err
    assert "kolumnen 'Nej' finns inte i filen" in err and "Ange:" not in err


def test_cli_undo_redo_erase_and_history(data_dir, tmp_path, capsys):
    from amnstats.__main__ import main

    build()
    f = tmp_path / "af.csv"
    f.write_bytes(af_csv())
    assert main(["import", str(f), "--series", "unemployment", "--measure", "arbetslosa_andel",
                 "--period", "2023-12"]) == 0
    import_id = imports.history()[0]["id"]
    assert main(["erase", import_id, "--yes"]) == 1 and "ångra den först" in capsys.readouterr().err
    assert main(["undo", import_id]) == 0 and "Ångrad." in capsys.readouterr().out
    assert main(["redo", import_id]) == 0 and "Återställd." in capsys.readouterr().out
    assert main(["redo", import_id]) == 0 and "redan aktiv" in capsys.readouterr().out
    assert main(["undo", import_id]) == 0
    assert main(["erase", import_id]) == 1 and "--yes" in capsys.readouterr().err  # permanent: asks first
    assert imports.history()[0]["status"] == "undone"
    assert main(["erase", import_id, "--yes"]) == 0 and "raderad" in capsys.readouterr().out
    assert imports.history()[0]["status"] == "erased"
    assert [p.name for p in (data_dir / "raw" / "uploads" / import_id).iterdir()] == ["import.json"]
    assert main(["history"]) == 0 and f"{import_id}" in (out := capsys.readouterr().out) and "raderad" in out
    assert main(["redo", import_id]) == 1 and "raderad" in capsys.readouterr().err


def test_erase_deletes_an_undone_imports_file_and_every_build_that_holds_its_rows(data_dir):
    build()
    before = store.load_observations()
    data = af_csv()
    r = imports.commit(data, "af.csv", mapping_for(data, "af.csv"), uploaded_by="t")
    import_id = r.record["id"]
    folder = data_dir / "raw" / "uploads" / import_id
    with pytest.raises(InputError) as exc:  # still in the store: undo first
        imports.erase(import_id, by="t")
    assert "ångra den först" in exc.value.problems[0].message and (folder / "af.csv").exists()

    imports.undo(import_id, by="t")
    holding = [b for b in (data_dir / "processed").glob("build-*") if b != current_build()]
    assert holding, "the build before the undo still holds the rows"
    record = imports.erase(import_id, by="analytiker")
    assert sorted(p.name for p in folder.iterdir()) == ["import.json"]  # file and cached rows gone
    assert not any(b.exists() for b in holding)
    assert record["status"] == "erased" and record["history"][-1]["action"] == "erase"
    assert record["history"][-1]["by"] == "analytiker"
    assert store.load_observations().equals(before)
    assert build(force=True).rebuilt and store.load_observations().equals(before)  # builds without the file
    with pytest.raises(InputError) as exc:
        imports.redo(import_id, by="t")
    assert "raderad" in exc.value.problems[0].message
    assert imports.erase(import_id, by="t")["history"] == record["history"]  # again: nothing more happens


@pytest.mark.parametrize("action,headline", [(imports.undo, "Ångra misslyckades"), (imports.redo, "Ångra misslyckades"),
                                             (imports.erase, "Radering misslyckades")])
def test_an_unknown_import_is_refused_in_swedish(data_dir, action, headline):
    for import_id, message in (("../etc", "okänt import-id"), ("upload-0123456789ab", "importen finns inte")):
        with pytest.raises(InputError) as exc:
            action(import_id, by="t")
        assert (exc.value.headline, exc.value.problems[0].message) == (headline, message)
