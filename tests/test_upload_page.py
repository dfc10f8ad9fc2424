"""The upload page end to end (AppTest): read, map, validate, preview, commit, history, undo."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import polars as pl
import pytest

from amnstats import imports, store
from amnstats.ingest import Source
from amnstats.ingest import prepare as ingest_prepare
from apptest_helpers import run_page

AF_CSV = ("Stadsdelsområde;Kvinnor;Män;Totalt\n"
          "Rinkeby - Kista;12,1;10,9;11,5\nSkärholmen;9,0;8,6;8,8\nBromma;2,0;2,1;2,0\n").encode("cp1252")


@pytest.fixture
def page(data_dir):
    return run_page("ladda-upp")


def map_af(at, period: str = "dec 2023"):
    """The analyst's answers for AF_CSV: unemployment share, one period for the whole file."""
    at.selectbox(key="serie").set_value("unemployment").run()
    at.selectbox(key="matt").set_value("arbetslosa_andel").run()
    at.radio(key="hur-period").set_value("Samma för hela filen").run()
    at.text_input(key="konst-period").set_value(period).run()
    return at


def upload(at, name: str, data: bytes):
    at.file_uploader(key="fil").upload(name, data, "text/csv").run()
    return at


def test_upload_preview_commit_and_undo(page):
    before = store.load_observations()
    at = upload(page, "af_dec2023.csv", AF_CSV)
    assert not at.exception
    map_af(at)
    assert [s.value for s in at.success] == ["9 värden är giltiga."]
    summary = at.dataframe[1].value
    assert summary["ny"].tolist() == ["9"] and summary["oförändrad"].tolist() == ["0"]
    assert (summary["Serie"][0], summary["Mått"][0]) == ("Arbetslöshet", "Arbetslösa (andel)")  # no codes
    changes = at.dataframe[2].value  # the values as the analyst reads them: Swedish, in the measure's decimals
    row = changes[(changes["Område"] == "Rinkeby-Kista") & (changes["Kön"] == "kvinnor")].iloc[0]
    assert (row["Ändring"], row["Nu"], row["Ny"]) == ("ny", "–", "12,1\u00a0%")
    # text, not the observations' Categoricals (Streamlit shows an empty category as 'None')
    assert changes["Grupp"].tolist() == [""] * 9 and changes["Område"].dtype != "category"
    assert all(t != "category" for t in at.dataframe[0].value.dtypes)  # the file's first rows, as text
    at.button[0].click().run()  # Importera
    assert any("Importerat: 9 värden" in s.value for s in at.success)
    after = store.load_observations()
    assert len(after) == len(before) + 9
    new = after.filter(pl.col("dataset").str.starts_with("upload-"), pl.col("area") == "Rinkeby-Kista",
                       pl.col("gender") == "kvinnor")
    assert new["value"].to_list() == [12.1] and new["period"].to_list() == ["2023-12"]
    assert new["source_label"][0].startswith("Uppladdad fil af_dec2023.csv, rad 2")

    history = imports.history()
    assert len(history) == 1 and history[0]["status"] == "active"
    from amnstats.ui.fmt import local_time

    shown = [t.value for t in at.text if t.value.startswith(history[0]["title"])]
    assert len(shown) == 1 and local_time(history[0]["uploaded_at"]) in shown[0]  # Stockholm's clock, not UTC
    at.button(key=f"undo-{history[0]['id']}").click().run()
    restored = store.load_observations()
    assert restored.equals(before)
    assert imports.history()[0]["status"] == "undone"
    assert [s.value for s in at.success] == [
        "Importen av af_dec2023.csv är ångrad: dess värden är borttagna ur statistiken. Filen finns kvar i arkivet."]
    at.button(key=f"erase-{history[0]['id']}").click().run()  # inside 'Radera filen'
    assert [s.value for s in at.success] == ["af_dec2023.csv är raderad."]
    assert imports.history()[0]["status"] == "erased"
    assert not any(b.key and b.key.endswith(history[0]["id"]) for b in at.button)  # nothing left to undo or redo
    assert any(t.value.endswith("– filen raderad") for t in at.text)


def test_personal_data_is_refused_with_reason(page):
    data = "Namn;Personnummer;Antal\nAnna;19811218-9876;3\n".encode()
    at = upload(page, "lista.csv", data)
    errors = [e.value for e in at.error]
    assert errors and errors[0].startswith("Filen kan inte tas emot") and "Inget har sparats" in errors[0]
    assert imports.history() == []


def test_garbage_file_gets_a_swedish_message(page):
    at = upload(page, "bild.csv", bytes(range(256)) * 20)
    assert not at.exception
    assert at.error and "Inget har sparats" in at.error[0].value


def test_file_strings_are_escaped(page):
    data = "Område;År;Värde\n<script>alert(1)</script>;2023;5\n".encode()
    at = upload(page, "x.csv", data)
    assert not at.exception
    rendered = " ".join(m.value for m in [*at.markdown, *at.html])
    assert "<script>" not in rendered


def test_a_rerun_does_not_read_the_file_again(page, monkeypatch):
    from amnstats.ui import upload_cache

    mappings = []  # one entry per prepare(): "first look", else the mapping's period

    def counting(data, filename, mapping=None, **options):
        mappings.append("first look" if mapping is None else mapping.period.constant)
        return real(data, filename, mapping, **options)

    real = upload_cache.prepare
    monkeypatch.setattr(upload_cache, "prepare", counting)
    at = upload(page, "af_dec2023.csv", AF_CSV)
    map_af(at)
    assert [s.value for s in at.success] == ["9 värden är giltiga."]
    assert mappings.count("first look") == 1  # once for the file
    seen = len(mappings)
    at.run()  # a click elsewhere on the page: nothing changed
    at.text_input(key="konst-period").set_value("dec 2023").run()
    assert len(mappings) == seen
    at.text_input(key="konst-period").set_value("nov 2023").run()  # a new mapping: prepared once
    assert mappings[seen:] == ["nov 2023"] and [s.value for s in at.success] == ["9 värden är giltiga."]
    assert upload_cache.KEY in at.session_state
    at.file_uploader(key="fil").clear().run()  # no file: its work is let go
    assert upload_cache.KEY not in at.session_state
    upload(at, "af_dec2023.csv", AF_CSV)
    assert upload_cache.KEY in at.session_state
    at.switch_page("app.py").run()  # the analyst leaves the page: so does the file's work
    assert upload_cache.KEY not in at.session_state


def test_the_cache_prepares_once_per_file_and_mapping_and_never_keeps_a_failed_one(monkeypatch):
    import types

    from amnstats.ui import upload_cache

    monkeypatch.setattr(upload_cache, "st", types.SimpleNamespace(session_state={}))
    calls = []
    fail = []

    def counting(*args, **kwargs):
        calls.append(args)
        if fail:
            raise MemoryError("för stor")
        return ingest_prepare(*args, **kwargs)

    monkeypatch.setattr(upload_cache, "prepare", counting)
    data = "År;Område;Arbetslösa (andel)\n2023;Bromma;2,0\n2023;Farsta;5,5\n".encode()
    first = upload_cache.first_look("fil-1", data, "arbetsloshet.csv")
    assert upload_cache.first_look("fil-1", data, "arbetsloshet.csv") is first and len(calls) == 1
    assert upload_cache.has_first_look("fil-1") and not upload_cache.has_first_look("fil-2")
    mapping = copy.deepcopy(first.mapping)
    mapping.series, mapping.measure = "unemployment", "arbetslosa_andel"
    result = upload_cache.with_mapping("fil-1", data, "arbetsloshet.csv", mapping)
    assert result.status == "ready" and len(calls) == 2
    assert upload_cache.with_mapping("fil-1", data, "arbetsloshet.csv", copy.deepcopy(mapping)) is result
    other = copy.deepcopy(mapping)
    other.group = Source.column("Område")
    fail.append(True)
    with pytest.raises(MemoryError):
        upload_cache.with_mapping("fil-1", data, "arbetsloshet.csv", other)
    fail.clear()  # back to the mapping before the failure: prepared again, not a missing entry
    assert upload_cache.with_mapping("fil-1", data, "arbetsloshet.csv", mapping).status == "ready"
    assert len(calls) == 4
    upload_cache.first_look("fil-2", data, "arbetsloshet.csv")  # another file: prepared afresh
    assert len(calls) == 5 and not upload_cache.has_first_look("fil-1")


def test_an_empty_period_for_the_whole_file_is_asked_for_not_an_error(page):
    at = upload(page, "af_dec2023.csv", AF_CSV)
    at.selectbox(key="serie").set_value("unemployment").run()
    at.selectbox(key="matt").set_value("arbetslosa_andel").run()
    at.radio(key="hur-period").set_value("Samma för hela filen").run()
    assert not at.exception
    asked = [i.value for i in at.info]
    assert asked and asked[0].startswith("Det här behöver du ange: vilken period värdena gäller")
    assert not [e.value for e in at.error if e.value.startswith("Filen innehåller fel")]
    at.text_input(key="konst-period").set_value("dec 2023").run()
    assert [s.value for s in at.success] == ["9 värden är giltiga."]


def test_the_rows_read_are_counted_in_swedish(page):
    # SYNTETISKA testrader: 1 200 rows, so the count needs a thousands separator
    rows = "".join(f"Bromma;{1950 + i}-{m:02d};{i}\n" for i in range(100) for m in range(1, 13))
    at = upload(page, "SYNTETISK_rader.csv", ("Område;Månad;Antal\n" + rows).encode("utf-8"))
    read = next(c.value for c in at.caption if c.value.startswith("Läst:"))
    assert read.startswith("Läst: 1\u00a0200 rader, 3 kolumner.")
    at.selectbox(key="serie").set_value("jobbtorg").run()
    at.selectbox(key="matt").set_value("inskrivna").run()
    assert [s.value for s in at.success] == ["1\u00a0200 värden är giltiga."]
    preview = json.loads(at.get("vega_lite_chart")[0].proto.spec)  # new values beside the current ones
    assert "'\u00a0'" in preview["encoding"]["x"]["axis"]["labelExpr"]  # 1 200, not 1,200
    assert preview["encoding"]["y"]["sort"] is None  # the rows in the file's order, not 'apr' before 'jan'
    at.button[0].click().run()  # Importera
    assert any(s.value.startswith("Importerat: 1\u00a0200 värden") for s in at.success)
    assert any("1\u00a0200 värden" in t.value for t in at.text)  # the import history


def test_a_series_the_file_does_not_name_is_asked_for_not_guessed(page):
    # SYNTETISKA testrader: nothing in the file says which series or measure the values are
    at = upload(page, "SYNTETISK_okand.csv", "Område;Månad;Antal\nBromma;2023-01;5\nSkarpnäck;2023-01;7\n".encode())
    assert not at.exception
    assert at.selectbox(key="serie").value is None and at.selectbox(key="matt").value is None
    assert at.selectbox(key="matt").disabled
    asked = [i.value for i in at.info]
    assert asked and asked[0].startswith("Det här behöver du ange: vilken serie värdena hör till")
    assert [e.value for e in at.error] == [] and not at.success  # nothing validated against a guessed series
    at.selectbox(key="serie").set_value("jobbtorg").run()
    at.selectbox(key="matt").set_value("inskrivna").run()
    assert [s.value for s in at.success] == ["2 värden är giltiga."]


def test_a_chosen_template_fills_the_mapping(page):
    from amnstats import templates

    saved = ingest_prepare(AF_CSV, "af_dec2023.csv").mapping  # the detected layout, with its signature
    saved.series, saved.measure, saved.period = "unemployment", "arbetslosa_andel", Source.fixed("dec 2023")
    templates.save("AF månadsstatistik", saved)
    at = upload(page, "af_jan2024.csv", AF_CSV)
    assert at.selectbox(key="serie").value is None  # the file alone does not say
    at.selectbox(key="mall").set_value("AF månadsstatistik").run()
    assert not at.exception
    assert (at.selectbox(key="serie").value, at.selectbox(key="matt").value) == ("unemployment", "arbetslosa_andel")
    assert at.text_input(key="konst-period").value == "dec 2023"
    assert [s.value for s in at.success] == ["9 värden är giltiga."]
    at.selectbox(key="mall").set_value("(ingen)").run()  # back to what the file says
    assert at.selectbox(key="serie").value is None


def test_another_file_is_not_shown_the_previous_files_answers(page):
    at = upload(page, "af_dec2023.csv", AF_CSV)
    map_af(at)
    assert [s.value for s in at.success] == ["9 värden är giltiga."]
    # SYNTETISKA testrader, another layout: a period column of its own
    at = upload(at, "SYNTETISK_annan.csv", "Område;Månad;Antal\nBromma;2023-01;5\nSkarpnäck;2023-01;7\n".encode())
    assert not at.exception
    assert at.selectbox(key="serie").value is None
    assert at.radio(key="hur-period").value == "Kolumn i filen"
    assert at.selectbox(key="kol-period").value == "Månad"


def test_the_file_is_read_once_whatever_the_mapping(page, monkeypatch):
    import amnstats.ingest as ingest

    reads = []
    real = ingest.read_table

    def counting(*args, **kwargs):
        reads.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(ingest, "read_table", counting)
    at = map_af(upload(page, "af_dec2023.csv", AF_CSV))
    at.text_input(key="konst-period").set_value("nov 2023").run()  # a second mapping
    assert [s.value for s in at.success] == ["9 värden är giltiga."]
    assert reads == ["af_dec2023.csv"]  # the first look's cells serve every mapping


def test_after_an_import_the_page_lets_the_file_go_and_says_what_was_imported(page):
    from amnstats.ui import upload_cache

    at = map_af(upload(page, "af_dec2023.csv", AF_CSV))
    assert upload_cache.KEY in at.session_state
    at.button[0].click().run()  # Importera
    assert not at.exception
    assert [s.value for s in at.success] == ["Importerat: 9 värden från af_dec2023.csv. Statistiken är uppdaterad."]
    assert upload_cache.KEY not in at.session_state  # its cells and observations are let go
    assert [u.key for u in at.get("file_uploader")] == ["fil-1"]  # an empty uploader for the next file
    assert "Förhandsgranskning: det här ändras" not in [h.value for h in at.subheader]
    assert imports.history()[0]["filename"] == "af_dec2023.csv"
    at.run()  # the message is said once
    assert not at.success

    # The same file again, even with another mapping: said before Importera, which cannot be pressed
    at = map_af(upload_to(at, "fil-1", "af_dec2023.csv", AF_CSV), period="nov 2023")
    said = [w.value for w in at.warning if "redan importerad" in w.value]
    assert len(said) == 1 and said[0].startswith("Den här filen är redan importerad (")
    assert "ångra den importen under Historik nedan först" in said[0]
    assert at.button[0].proto.disabled
    assert len(imports.history()) == 1


def upload_to(at, key: str, name: str, data: bytes):
    at.file_uploader(key=key).upload(name, data, "text/csv").run()
    return at


REAL = Path(__file__).parent / "fixtures" / "ingest" / "real"


def test_two_group_columns_are_both_kept(page):
    """SCB BAS: ålder and födelseregion together tell the rows apart; the page keeps both."""
    path = REAL / "arbetsmarknad.json__stockholm_excerpt.csv"
    at = upload(page, path.name, path.read_bytes())
    at.selectbox(key="serie").set_value("unemployment").run()
    at.selectbox(key="matt").set_value("arbetslosa_bas").run()
    assert at.multiselect(key="kol-group").value == ["ålder", "födelseregion"]
    assert at.selectbox(key="kol-value").value is None  # several columns of numbers: asked, not guessed
    assert any("vilken kolumn (eller vilka kolumner)" in i.value for i in at.info)
    at.selectbox(key="kol-value").set_value("antal arbetslösa").run()
    assert not at.exception and not at.error
    assert at.success and at.success[0].value.endswith("värden är giltiga.")


def test_a_wide_file_with_several_measures_lets_the_analyst_choose_the_value_columns(page):
    data = ("Område;Kvinnor;Män;Kvinnor;Män\n;Antal;Antal;Andel;Andel\n"
            "Farsta;10;12;5,0;6,1\nBromma;8;9;4,1;4,4\n").encode()
    at = upload(page, "brett.csv", data)
    at.selectbox(key="serie").set_value("jobbtorg").run()
    at.selectbox(key="matt").set_value("inskrivna").run()
    at.radio(key="hur-period").set_value("Samma för hela filen").run()
    at.text_input(key="konst-period").set_value("2023").run()
    assert any("vilka av värdekolumnerna som hör till måttet" in i.value for i in at.info)  # several measures
    picker = at.multiselect(key="kol-values")
    antal = [c for c in picker.options if c.endswith("Antal")]
    assert len(antal) == 2
    picker.set_value(antal).run()
    assert not at.exception and [s.value for s in at.success] == ["4 värden är giltiga."]


def test_history_stays_in_reach_below_a_file_with_errors_and_rows_are_never_none(page, monkeypatch):
    at = upload(page, "fel.csv", "Område;År;Antal\nAtlantis;2023;5\n".encode())
    at.selectbox(key="serie").set_value("jobbtorg").run()
    at.selectbox(key="matt").set_value("inskrivna").run()
    assert at.error and at.error[0].value.startswith("Filen innehåller fel")
    assert "Historik" in [h.value for h in at.header]
    empty = upload(run_page("ladda-upp"), "tom.csv", b"")
    rows = empty.dataframe[0].value["rad"].tolist()
    assert rows == [""] and "None" not in empty.dataframe[0].value.to_string()
