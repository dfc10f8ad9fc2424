"""prepare(): every fixture end to end, problems that point at file rows and columns, and a
property test that nothing but InputError/problems ever comes out of malformed input."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amnstats.ingest import Mapping, Prepared, Source, prepare, set_measure
from amnstats.problems import InputError
from amnstats.schema import OBSERVATION_COLUMNS, STORED_SCHEMA, from_stored, with_places

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"
REAL = FIXTURES / "real"
STATUSES = {"refused", "needs_mapping", "invalid", "ready"}


def two_step(path: Path, series: str, measure: str, sheet=None, **answers) -> Prepared:
    """Upload, then answer what detection left open, as the page will."""
    data = path.read_bytes()
    first = prepare(data, path.name, sheet=sheet)
    assert first.status == "needs_mapping" and {"series", "measure"} <= set(first.mapping.missing)
    mapping = set_measure(first.mapping, first.table, series, measure)
    for k, v in answers.items():
        setattr(mapping, k, v)
    return prepare(data, path.name, mapping, sheet=sheet)


def values(result: Prepared, **where) -> list:
    obs = from_stored(result.observations)  # as the store is read: text, places whole
    for k, v in where.items():
        obs = obs.filter(obs[k] == v)
    return obs["value"].to_list()


@pytest.mark.parametrize("name,series,measure,answers,n_obs", [
    ("synthetic_long_semicolon_cp1252.csv", "unemployment", "arbetslosa_andel", {}, 8),
    ("synthetic_long_comma_utf8_bom.csv", "jobbtorg", "inskrivna", {}, 8),
    ("synthetic_wide_years_tab.txt", "unemployment", "arbetslosa", {}, 12),
    ("synthetic_wide_months.csv", "unemployment", "arbetslosa", {}, 48),
    ("synthetic_wide_gender_latin1.csv", "unemployment", "arbetslosa", {}, 9),
    ("synthetic_fractions_af.csv", "unemployment", "arbetslosa_andel", {}, 6),
    ("report_jobbtorg_two_headers.csv", "jobbtorg", "inskrivna", {"area": Source.fixed("Stockholm")}, 42),
    ("report_jobbtorg_two_headers.xlsx", "jobbtorg", "inskrivna", {"area": Source.fixed("Stockholm")}, 42),
    ("synthetic_title_rows.xlsx", "unemployment", "arbetslosa_andel", {}, 4),
])
def test_fixture_imports(name, series, measure, answers, n_obs):
    result = two_step(FIXTURES / name, series, measure, **answers)
    assert result.status == "ready", [str(p) for p in result.problems]
    assert result.observations.columns == STORED_SCHEMA.names()  # as the build holds them
    assert with_places(result.observations).columns == list(OBSERVATION_COLUMNS)
    assert result.observations.height == n_obs
    assert result.observations["dataset"].unique().to_list() == [f"upload-{result.file_hash[:12]}"]


def test_values_markers_and_areas_come_through():
    cp = two_step(FIXTURES / "synthetic_long_semicolon_cp1252.csv", "unemployment", "arbetslosa_andel")
    assert values(cp, area="Enskede-Årsta-Vantör", gender="kvinnor") == [5.3]  # '5,3 %'
    assert values(cp, area="Östermalm", gender="kvinnor") == [2.1]             # '2,1%'
    obs = from_stored(cp.observations)
    approx = obs.filter(obs["area"] == "Hägersten-Älvsjö")
    assert approx.filter(approx["gender"] == "män")["status"].item() == "approximate"   # '~4,0'
    bom = two_step(FIXTURES / "synthetic_long_comma_utf8_bom.csv", "jobbtorg", "inskrivna")
    assert values(bom, area="Rinkeby-Kista", period="2023-T1", group="Försörjningsstöd") == [1234.0]  # NBSP
    assert values(bom, area="Farsta", period="2023-T1", group="Försörjningsstöd") == [1020.0]  # space
    tab = two_step(FIXTURES / "synthetic_wide_years_tab.txt", "unemployment", "arbetslosa")
    statuses = dict(zip(with_places(tab.observations)["source"].str.extract(r"kolumn=(\d+;rad=\d+)$"),
                        tab.observations["status"]))
    assert statuses["2022;rad=3"] == "suppressed"   # <5
    assert statuses["2023;rad=3"] == "suppressed"   # ..
    assert statuses["2022;rad=4"] == "suppressed"   # .
    assert statuses["2023;rad=4"] == "suppressed"   # -
    assert statuses["2022;rad=5"] == "suppressed"   # x
    assert statuses["2023;rad=5"] == "approximate"  # ~100
    months = two_step(FIXTURES / "synthetic_wide_months.csv", "unemployment", "arbetslosa")
    assert values(months, area="Spånga-Tensta", period="2023-12") == [2100 + 110 + 50]


def test_report_table_warns_about_its_known_inconsistency():
    result = two_step(FIXTURES / "report_jobbtorg_two_headers.csv", "jobbtorg", "inskrivna",
                      area=Source.fixed("Stockholm"))
    assert result.ok and len(result.warnings) == 2
    assert values(result, group="Totalt inskrivna", gender="totalt", period="2023") == [7614.0]


def test_real_scb_bas_full_import():
    result = two_step(REAL / "arbetsmarknad.json__stockholm_excerpt.csv", "unemployment", "arbetsloshet_bas",
                      value="arbetslöshet")
    assert result.ok and result.observations.height == 251
    obs = from_stored(result.observations)
    jan = obs.filter((obs["period"] == "2020-01") & (obs["gender"] == "män") & (obs["group"] == "20–64 år, totalt"))
    assert jan["value"].to_list() == [4.6] and jan["area"].to_list() == ["Stockholm"]


def test_real_pxweb_wide_years_with_suppressed_cells():
    result = two_step(REAL / "MikaelLundqvist__SCB-Engineers-Jonkoping__00000031.csv", "jobbtorg",
                      "inskrivna", area=Source.fixed("Riket"))
    assert result.ok, [str(p) for p in result.problems[:5]]
    assert result.observations.height == 151 * 5
    assert (from_stored(result.observations)["status"] == "suppressed").sum() == 329


def test_duplicates_make_the_upload_invalid():
    result = two_step(FIXTURES / "synthetic_duplicates.csv", "unemployment", "arbetslosa")
    assert result.status == "invalid" and result.observations is None
    assert result.problems[0].row == 3 and "rad 5" in result.problems[0].message


def test_value_errors_point_at_file_row_and_column():
    data = "Område;2022;2023\nFarsta;5;6\nBromma;7;sju\nSkarpnäk;1;2\n".encode()
    result = prepare(data, "fel.csv", series="unemployment", measure="arbetslosa")
    assert result.status == "invalid"
    where = {(p.row, p.column): p.message for p in result.problems}
    assert where[(3, "2023")] == "'sju' är inte ett tal"
    assert "menade du 'Skarpnäck'" in where[(4, "Område")]
    assert all(p.file == "fel.csv" for p in result.problems)


def test_every_field_a_constant_maps_the_value_column_alone():
    data = "Beskrivning;Antal\nInskrivna hela året;6 086\n".encode()
    mapping = Mapping(series="jobbtorg", measure="inskrivna_unika", period=Source.fixed("2023"),
                      area=Source.fixed("Stockholm"), value="Antal")
    result = prepare(data, "en_siffra.csv", mapping)
    assert result.status == "ready", result.problems
    row = with_places(result.observations).row(0, named=True)
    assert (row["period"], row["area"], row["value"]) == ("2023", "Stockholm", 6086.0)
    assert row["source_label"] == "Uppladdad fil en_siffra.csv, rad 2"


def test_a_file_column_named_like_a_working_column_is_read_as_itself():
    data = "År;__row;__value;Antal\n2023;Bromma;x;5\n2023;Farsta;y;6\n".encode()
    mapping = Mapping(series="jobbtorg", measure="inskrivna_unika", period=Source.column("År"),
                      area=Source.column("__row"), group=Source.column("__value"), value="Antal")
    result = prepare(data, "understreck.csv", mapping)
    assert result.status == "ready", result.problems
    assert result.observations.sort("area").select("area", "group", "value").rows() == \
        [("Bromma", "x", 5.0), ("Farsta", "y", 6.0)]


def test_a_wrong_constant_is_reported_once():
    data = "År;Antal\n2022;5\n2023;6\n".encode()
    mapping = Mapping(series="unemployment", measure="arbetslosa", period=Source.column("År"),
                      area=Source.fixed("Stokholm"), value="Antal")
    result = prepare(data, "konstant.csv", mapping)
    assert result.status == "invalid" and len(result.problems) == 1
    p = result.problems[0]
    assert p.row is None and p.column == "(område för hela filen)" and "Stockholm" in p.message


def test_unknown_measure_and_missing_columns():
    data = "År;Område;Antal\n2023;Farsta;5\n".encode()
    bad = Mapping(series="unemployment", measure="finns_inte", period=Source.column("År"),
                  area=Source.column("Område"), value="Antal")
    result = prepare(data, "m.csv", bad)
    assert result.status == "invalid" and len(result.problems) == 1 and "finns_inte" in result.problems[0].message
    gone = Mapping(series="unemployment", measure="arbetslosa", period=Source.column("Tid"),
                   area=Source.column("Område"), value="Antal")
    result = prepare(data, "m.csv", gone)
    assert result.status == "needs_mapping" and result.problems[0].column == "Tid"


def test_share_over_100_is_caught_by_normalise():
    data = "År;Område;Andel\n2023;Farsta;120\n".encode()
    result = prepare(data, "andel.csv", series="unemployment", measure="arbetslosa_andel")
    assert result.status == "invalid" and result.problems[0].row == 2 and result.problems[0].column == "Andel"


def test_unreadable_file_is_refused_not_raised():
    result = prepare(b"", "tom.csv")
    assert result.status == "refused" and result.table is None and "tom" in result.problems[0].message


def test_skolverket_reads_but_is_not_an_amnstats_series():
    path = REAL / "Grundskola - Antal elever per årskurs 2024 Kommun.csv"
    result = prepare(path.read_bytes(), path.name)
    assert result.status == "needs_mapping" and result.table.cells["Kommun"].n_unique() == 290
    assert result.mapping.period == Source.fixed("2024/25")


# ---------------------------------------------------------------- property tests

CSV_ALPHABET = st.sampled_from(list(';,\t"\n\r .-~<%xÅÄÖåäö0123456789abcKvinorMänTtalFrs\u00a0\ufeff'))


def assert_contained(data: bytes, filename: str, mapping: Mapping | None = None) -> None:
    try:
        result = prepare(data, filename, mapping)
    except InputError:
        return
    assert isinstance(result, Prepared) and result.status in STATUSES
    if result.status == "ready":
        assert result.observations is not None and result.problems == []
    elif result.status != "needs_mapping":
        assert result.problems and result.observations is None


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(data=st.binary(max_size=2000), suffix=st.sampled_from([".csv", ".txt", ".xlsx", ".xls", ""]))
def test_arbitrary_bytes_never_crash(data, suffix):
    assert_contained(data, "upload" + suffix)


@SETTINGS
@given(text=st.text(CSV_ALPHABET, max_size=400), encoding=st.sampled_from(["utf-8", "cp1252", "utf-16"]))
def test_malformed_csv_text_never_crashes(text, encoding):
    assert_contained(text.encode(encoding, errors="replace"), "upload.csv")


@SETTINGS
@given(body=st.lists(st.lists(st.text(CSV_ALPHABET, max_size=12), min_size=0, max_size=5), max_size=15))
def test_malformed_rows_under_a_mapping_never_crash(body):
    text = "Område;År;Värde\n" + "\n".join(";".join(cells) for cells in body)
    mapping = Mapping(series="unemployment", measure="arbetslosa", period=Source.column("År"),
                      area=Source.column("Område"), value="Värde")
    assert_contained(text.encode(), "upload.csv", mapping)


@SETTINGS
@given(data=st.binary(max_size=300))
def test_corrupted_xlsx_never_crashes(data):
    good = (FIXTURES / "synthetic_title_rows.xlsx").read_bytes()
    assert_contained(good[:200] + data + good[200 + len(data):], "upload.xlsx")


def test_personal_data_is_refused_even_when_mapping_fails_beside_the_screen(monkeypatch):
    import amnstats.ingest as ingest

    def broken(*args, **kwargs):
        raise RuntimeError("mappningen gick sönder")

    monkeypatch.setattr(ingest, "apply", broken)  # the screen runs beside mapping and validation
    mapping = Mapping(series="unemployment", measure="arbetslosa", period=Source.fixed("2023"),
                      area=Source.fixed("Stockholm"), value="Värde")
    refused = prepare("Personnummer;Värde\n811218-9876;5\n".encode(), "pnr.csv", mapping)
    assert refused.status == "refused" and refused.table is None and refused.observations is None
    assert "personnummer" in refused.problems[0].message.lower()
    with pytest.raises(RuntimeError):  # without personal data the failure is not hidden
        prepare("Kommentar;Värde\nhela året;5\n".encode(), "ok.csv", mapping)


def test_mapping_stops_once_the_screen_has_found_personal_data(monkeypatch):
    import threading

    import amnstats.ingest as ingest

    screened = threading.Event()
    real_screen, real_fit = ingest.find_personal_data, ingest.fit

    def screen(table):
        found = real_screen(table)
        screened.set()
        return found

    def fit_after_the_screen(mapping, table):
        assert screened.wait(10)
        return real_fit(mapping, table)

    monkeypatch.setattr(ingest, "find_personal_data", screen)
    monkeypatch.setattr(ingest, "fit", fit_after_the_screen)
    monkeypatch.setattr(ingest, "apply", lambda *a, **k: pytest.fail("mapped a file already refused"))
    mapping = Mapping(series="unemployment", measure="arbetslosa", period=Source.fixed("2023"),
                      area=Source.fixed("Stockholm"), value="Värde")
    refused = prepare("Personnummer;Värde\n811218-9876;5\n".encode(), "pnr.csv", mapping)
    assert refused.status == "refused"
