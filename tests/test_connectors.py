"""Connectors (SCB, Kolada, Arbetsförmedlingen), offline: every HTTP call is answered by
requests-mock at the transport level from recorded or constructed responses in
tests/fixtures/connectors (see its README), time never passes for real (injected clock and
sleep), and every failure must leave data/raw and the store exactly as they were."""

from __future__ import annotations

import io
import json
import math
import re
import shutil
from itertools import product
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import openpyxl
import polars as pl
import pytest
import requests
import requests_mock

from amnstats import store
from amnstats.__main__ import main
from amnstats.build import BuildError
from amnstats.connectors import (ConfigError, FormatError, NetworkError, RateLimitError, af, commit, jsonstat,
                                 kolada, scb)
from amnstats.connectors import config as cfg
from amnstats.connectors.http import HttpClient, RateLimiter
from amnstats.ingest import read_table

FIX = Path(__file__).resolve().parent / "fixtures" / "connectors"
REAL = FIX / "real"
SCB_API = "https://statistikdatabasen.scb.se/api/v2"
KOLADA_API = "https://api.kolada.se/v3"
AF_URL = "https://arbetsformedlingen.se/download/test/manadsstatistik-kommun.xlsx"
KPI_TITLE = "Arbetslösa 16-64 år, andel (%) av registerbaserad arbetskraft"

TEST_CONFIG = f"""
# test configuration (a comment that must survive --lookup)
[scb]
base_url = "{SCB_API}"
lang = "sv"
format = "json-stat2"
max_calls = 1000
per_seconds = 1
max_cells = 150000
retries = 2
backoff_seconds = 0
series = "unemployment"

[scb.queries.manad]
title = "SCB BAS månad"
table = "TAB6260"
time_variable = "Tid"
time_last = 3
period_pattern = '^\\d{{4}}M\\d{{2}}$'
[scb.queries.manad.selection]
Region = ["0180", "01", "00"]
Kon = ["1", "2", "1+2"]
Alder = ["20-64"]
Fodelseregion = ["tot"]
ContentsCode = ["000006II"]
[scb.queries.manad.map]
area_variable = "Region"
gender_variable = "Kon"
group_variables = ["Alder", "Fodelseregion"]
content_variable = "ContentsCode"
areas = {{ "0180" = "Stockholm", "01" = "Stockholms län", "00" = "Riket" }}
genders = {{ "1" = "män", "2" = "kvinnor", "1+2" = "totalt" }}
[scb.queries.manad.map.groups.Alder]
"20-64" = "20-64 år"
[scb.queries.manad.map.groups.Fodelseregion]
"tot" = ""
[scb.queries.manad.map.contents."000006II"]
measure = "arbetsloshet_bas"
label = "arbetslöshet"
unit = "procent"

[kolada]
base_url = "{KOLADA_API}"
municipalities = ["0180", "0000"]
areas = {{ "0180" = "Stockholm", "0000" = "Riket" }}
years = [2022, 2023, 2024]
per_page = 3
max_calls = 1000
per_seconds = 1
retries = 1
backoff_seconds = 0

# the KPI below gets its id from --lookup
[[kolada.kpi]]
title = "{KPI_TITLE}"
id = ""
series = "unemployment"
measure = "arbetslosa_andel"
group = ""

[af]
url = "{AF_URL}"
max_calls = 1000
per_seconds = 1
retries = 1
backoff_seconds = 0
title_contains = "arbetslösa"
area_column = "Kommun"
areas = {{ "0180" = "Stockholm", "01" = "Stockholms län", "Riket" = "Riket" }}

[[af.sheets]]
sheet = "Andel"
series = "unemployment"
measure = "arbetslosa_andel"
group = ""
fractions = true
columns = {{ "Kvinnor" = "kvinnor", "Män" = "män", "Totalt" = "totalt" }}

[[af.sheets]]
sheet = "Antal"
series = "unemployment"
measure = "arbetslosa"
group = ""
fractions = false
columns = {{ "Kvinnor" = "kvinnor", "Män" = "män", "Totalt" = "totalt" }}
"""


def fixture(name: str) -> bytes:
    return (FIX / name).read_bytes()


class FakeTime:
    """A clock and a sleep that only move when slept."""

    def __init__(self):
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


@pytest.fixture
def fake_time():
    return FakeTime()


@pytest.fixture
def config_file(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "connectors.toml"
    path.write_text(TEST_CONFIG, encoding="utf-8")
    monkeypatch.setenv("AMNSTATS_CONNECTORS_CONFIG", str(path))
    return path


@pytest.fixture
def config(config_file) -> dict:
    return cfg.load(config_file)


@pytest.fixture
def http():
    with requests_mock.Mocker() as m:
        yield m


def client(name: str, fake: FakeTime, **kw) -> HttpClient:
    kw.setdefault("retries", 3)
    kw.setdefault("backoff", 2.0)
    limiter = kw.pop("limiter", RateLimiter(10, 10, clock=fake.clock, sleep=fake.sleep))
    return HttpClient(name, limiter=limiter, sleep=fake.sleep, **kw)


def mock_scb(m, data: bytes | None = None, *, metadata: bytes | None = None, content_type="application/json"):
    m.get(f"{SCB_API}/tables/TAB6260/metadata", content=metadata or fixture("scb_TAB6260_metadata.json"),
          headers={"Content-Type": "application/json; charset=UTF-8"})
    m.get(f"{SCB_API}/tables/TAB6260/data", content=data or fixture("scb_TAB6260_data.json"),
          headers={"Content-Type": content_type})


def mock_kolada(m):
    m.get(f"{KOLADA_API}/kpi", content=fixture("kolada_kpi_search.json"))
    m.get(f"{KOLADA_API}/kpi/N99901", content=fixture("kolada_kpi_N99901.json"))
    base = f"{KOLADA_API}/data/kpi/N99901/municipality/0180,0000/year/2022,2023,2024"

    def page(request, context):
        n = parse_qs(urlsplit(request.url).query).get("page", ["1"])[0]
        return fixture(f"kolada_data_N99901_page{n}.json")

    m.get(base, content=page)


def with_kolada_id(config_file: Path) -> None:
    text = config_file.read_text(encoding="utf-8").replace('id = ""', 'id = "N99901"')
    config_file.write_text(text, encoding="utf-8")


# ============================================================== HTTP: limiter, retries, errors

def test_rate_limiter_allows_ten_calls_per_ten_seconds(fake_time):
    limiter = RateLimiter(10, 10, clock=fake_time.clock, sleep=fake_time.sleep)
    for _ in range(10):
        assert limiter.acquire() == 0
    assert limiter.acquire() == pytest.approx(10)  # the 11th waits until the first leaves the window
    fake_time.now += 3
    for _ in range(9):
        limiter.acquire()
    times = []
    start = fake_time.now
    for _ in range(25):
        limiter.acquire()
        times.append(limiter._calls[-1])
    calls = sorted(limiter._calls)
    for i in range(len(calls) - 10):  # never 11 calls inside any 10 s window
        assert calls[i + 10] - calls[i] >= 10 - 1e-9
    assert fake_time.now > start


def test_retries_5xx_with_exponential_backoff_then_succeeds(http, fake_time):
    http.get("https://example.test/x", [{"status_code": 503}, {"status_code": 502}, {"content": b"ok"}])
    call = client("SCB", fake_time).get("https://example.test/x", {"a": "1"})
    assert call.body == b"ok" and http.call_count == 3
    assert fake_time.slept == [2.0, 4.0]


def test_every_call_has_connect_and_read_timeouts(http, fake_time):
    http.get("https://example.test/x", content=b"ok")
    client("SCB", fake_time, connect_timeout=3, read_timeout=45).get("https://example.test/x")
    assert http.request_history[0].timeout == (3, 45)


def test_timeout_retried_then_clear_swedish_message(http, fake_time):
    http.get("https://statistikdatabasen.scb.se/api/v2/x", exc=requests.exceptions.ReadTimeout)
    with pytest.raises(NetworkError) as err:
        client("SCB", fake_time, retries=2).get("https://statistikdatabasen.scb.se/api/v2/x")
    msg = str(err.value)
    assert msg.startswith("Kunde inte nå SCB (statistikdatabasen.scb.se): inget svar inom tidsgränsen")
    assert msg.endswith("Inget har ändrats.") and "efter 3 försök" in msg
    assert http.call_count == 3 and fake_time.slept == [2.0, 4.0]


def test_connection_error_and_broken_transfer_are_retried(http, fake_time):
    http.get("https://example.test/x", [{"exc": requests.exceptions.ConnectionError},
                                        {"exc": requests.exceptions.ChunkedEncodingError}, {"content": b"ok"}])
    assert client("Kolada", fake_time).get("https://example.test/x").body == b"ok"


def test_name_resolution_failure_fails_at_once(http, fake_time):
    class NameResolutionError(Exception):
        pass

    exc = requests.exceptions.ConnectionError(NameResolutionError("Failed to resolve"))
    http.get("https://statistikdatabasen.scb.se/x", exc=exc)
    with pytest.raises(NetworkError, match="kunde inte slås upp"):
        client("SCB", fake_time).get("https://statistikdatabasen.scb.se/x")
    assert http.call_count == 1 and fake_time.slept == []


def test_403_rate_limit_waits_retry_after_then_fails_clearly(http, fake_time):
    http.get("https://example.test/x", status_code=403, headers={"Retry-After": "7"})
    with pytest.raises(RateLimitError) as err:
        client("SCB", fake_time, retries=2).get("https://example.test/x")
    assert fake_time.slept == [7.0, 7.0]
    assert "SCB begränsar antalet anrop (HTTP 403)" in str(err.value)
    assert str(err.value).endswith("Inget har ändrats.")


def test_429_then_success_after_retry_after(http, fake_time):
    http.get("https://example.test/x", [{"status_code": 429, "headers": {"Retry-After": "3"}}, {"content": b"ok"}])
    assert client("SCB", fake_time).get("https://example.test/x").body == b"ok"
    assert fake_time.slept == [3.0]


def test_400_is_not_retried_and_names_the_call(http, fake_time):
    http.get("https://example.test/x", status_code=400, text="Ogiltig variabel")
    with pytest.raises(NetworkError, match=r"frågan avvisades \(HTTP 400\): Ogiltig variabel"):
        client("SCB", fake_time).get("https://example.test/x", {"valueCodes[Region]": "0180,01"})
    assert http.call_count == 1
    assert "valueCodes[Region]=0180,01" in http.request_history[0].url.replace("%5B", "[").replace("%5D", "]") \
        .replace("%2C", ",")


# ============================================================== JSON-stat 2.0 on real responses

def test_jsonstat_real_scb_tab6471_follows_id_and_size():
    ds = jsonstat.parse(json.loads((REAL / "stefur__pxwebpy__TAB6471_data.json").read_text()))
    assert ds.ids == ("Region", "Alder", "Kon", "ContentsCode", "Tid") and ds.sizes == (21, 11, 3, 1, 4)
    cells = list(ds.cells())
    assert len(cells) == 2772 and not ds.status
    first, last = cells[0], cells[-1]
    assert first.codes == ("01", "0-9", "TotSa", "000007SF", "2026M01")
    assert last.codes == ("25", "100+10", "2", "000007SF", "2026M04")
    values = [c.value for c in cells]
    assert min(values) == 4 and max(values) == 390924
    assert len(ds.notes) == 4 and "Cell Key Method" in ds.notes[0]
    assert ds.dimensions["Kon"].labels["TotSa"].startswith("totalt")


def test_jsonstat_real_status_object_marks_suppressed_cells():
    ds = jsonstat.parse(json.loads((REAL / "stefur__pxwebpy__response_no.json").read_text()))
    suppressed = [c for c in ds.cells() if c.status]
    assert len(suppressed) == 24 and all(c.status == ".." and c.value is None for c in suppressed)
    assert {(c.codes[0], c.codes[1]) for c in suppressed} == {("007", "02"), ("010", "02"), ("011", "02")}
    assert all(c.value is not None for c in ds.cells() if not c.status)


def test_jsonstat_real_extra_dimension_not_in_id_is_ignored():
    doc = json.loads((REAL / "stefur__pxwebpy__response_gl.json").read_text())
    assert "ContentsCode" in doc["dimension"] and "ContentsCode" not in doc["id"]
    ds = jsonstat.parse(doc)
    assert ds.ids == ("HFU", "alder", "registrering", "aar") and ds.n_cells == 108
    dashes = [c for c in ds.cells() if c.status == "-"]
    assert len(dashes) == 11 and all(c.value is None for c in dashes)
    assert "\\r\\n" in ds.notes[0]


def test_jsonstat_index_as_list_values_as_object_status_as_list():
    doc = {"version": "2.0", "class": "dataset", "id": ["A", "B"], "size": [2, 2],
           "dimension": {"B": {"category": {"index": ["x", "y"]}}, "A": {"category": {"index": {"p": 1, "o": 0}}}},
           "value": {"0": 1, "3": 4.5}, "status": ["", "..", "..", ""]}
    cells = list(jsonstat.parse(doc).cells())
    assert [(c.codes, c.value, c.status) for c in cells] == [
        (("o", "x"), 1.0, ""), (("o", "y"), None, ".."), (("p", "x"), None, ".."), (("p", "y"), 4.5, "")]


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(size=[3, 2]), "kategorier men 'size' säger"),
    (lambda d: d.update(value=[1, 2, 3]), "3 värden men dimensionerna ger 4"),
    (lambda d: d.update({"class": "collection"}), "'class'"),
    (lambda d: d["dimension"]["A"]["category"].update(index={"o": 0, "p": 2}), "positioner"),
    (lambda d: d.pop("id"), "'id', 'size' eller 'dimension' saknas"),
    (lambda d: d.update(status={"9": ".."}), "utanför"),
    (lambda d: d.update(value=[1, "2", 3, 4]), "inget tal"),
])
def test_jsonstat_changed_format_is_a_clear_error(change, message):
    doc = {"version": "2.0", "class": "dataset", "id": ["A", "B"], "size": [2, 2],
           "dimension": {"A": {"category": {"index": {"o": 0, "p": 1}}}, "B": {"category": {"index": ["x", "y"]}}},
           "value": [1, 2, 3, 4]}
    change(doc)
    with pytest.raises(FormatError, match=re.escape(message)):
        jsonstat.parse(doc)


# ============================================================== PxWeb CSV exports (real)

def test_real_pxweb_csv_wages_with_suppression_markers():
    table = read_table((REAL / "MikaelLundqvist__SCB-Engineers-Jonkoping__00000031.csv").read_bytes(), "x.csv")
    years = ["2014", "2015", "2016", "2017", "2018"]
    assert table.columns[-5:] == years and len(table.cells) == 151
    cells = table.cells.select(pl.concat_list(pl.col(years).cast(pl.String)).alias("v")).explode("v")["v"].to_list()
    assert len(cells) == 755 and cells.count("..") == 329
    assert all(c == ".." or c.isdigit() for c in cells)


def test_real_pxweb_csv_latin1_employees_by_region():
    table = read_table((REAL / "MikaelLundqvist__SCB-Engineers-Jonkoping__000000NK.csv").read_bytes(), "x.csv")
    assert len(table.cells) == 396 and table.columns[:4] == ["region", "occupation (SSYK 2012)", "age", "sex"]
    regions = set(table.cells["region"].to_list())
    assert "04 Södermanland county" in regions and "05 Östergötland county" in regions
    cells = table.cells.select(pl.concat_list(pl.col("2014", "2015", "2016", "2017").cast(pl.String)).alias("v")) \
        .explode("v")["v"]
    assert len(cells) == 1584 and cells.str.contains(r"^\d+$").all()


# ============================================================== SCB: splitting queries

def test_small_selection_is_one_call():
    sel = {"Region": ["0180", "01", "00"], "Tid": ["2024M01", "2024M02"]}
    assert scb.split_selection(sel, 150_000) == [sel]


@pytest.mark.parametrize("sizes, max_cells", [((3, 3, 7, 2, 60), 150), ((290, 3, 12, 4, 120), 150_000),
                                              ((5, 4, 3), 7), ((2, 2, 2), 1), ((400, 400, 3), 150_000)])
def test_split_keeps_every_call_under_the_limit_and_covers_every_cell_once(sizes, max_cells):
    names = ["Region", "Kon", "Alder", "ContentsCode", "Tid"][:len(sizes) - 1] + ["Tid"]
    sel = {n: [f"{n}{i}" for i in range(s)] for n, s in zip(names, sizes)}
    parts = scb.split_selection(sel, max_cells, ["Tid"])
    assert all(scb.n_cells(p) <= max_cells for p in parts)
    covered = [cell for p in parts for cell in product(*(p[n] for n in names))]
    assert len(covered) == len(set(covered)) == math.prod(sizes)
    if math.prod(sizes) > max_cells:
        assert len(parts) > 1


def test_split_divides_time_first():
    sel = {"Region": ["a", "b"], "Tid": [f"2024M{m:02d}" for m in range(1, 13)]}
    parts = scb.split_selection(sel, 8, ["Tid"])
    assert [p["Region"] for p in parts] == [["a", "b"]] * 3 and [len(p["Tid"]) for p in parts] == [4, 4, 4]


# ============================================================== SCB: metadata check, fetch

def test_validate_against_metadata(http, config, fake_time):
    mock_scb(http)
    lines = scb.validate(config, client=client("SCB", fake_time))
    assert lines == ["manad: tabell TAB6260 har alla 6 variabler och koder som behövs; 27 värden, "
                     "perioder 2024M10–2024M12."]


@pytest.mark.parametrize("edit, expected", [
    (lambda m: m["dimension"]["Alder"]["category"]["index"].pop("20-64"), "Alder saknar '20-64'"),
    (lambda m: m["dimension"]["ContentsCode"]["category"]["label"].update({"000006II": "sysselsättningsgrad"}),
     "heter 'sysselsättningsgrad', inte 'arbetslöshet'"),
    (lambda m: m["dimension"]["ContentsCode"]["category"]["unit"]["000006II"].update(base="antal"),
     "har enheten 'antal', inte 'procent'"),
    (lambda m: m["dimension"]["Tid"]["category"]["label"].update({"2024M12": "2024-12"})
     or m["dimension"]["Tid"]["category"]["index"].update({"2024-12": 11}) or
     m["dimension"]["Tid"]["category"]["index"].pop("2024M12"), "tidskoderna har ändrat form"),
])
def test_changed_metadata_stops_the_fetch_with_a_clear_error(http, config, fake_time, edit, expected):
    meta = json.loads(fixture("scb_TAB6260_metadata.json"))
    edit(meta)
    for d_id, d in meta["dimension"].items():  # keep the metadata itself valid JSON-stat
        d["category"]["index"] = {c: i for i, c in enumerate(d["category"]["index"])}
        meta["size"][meta["id"].index(d_id)] = len(d["category"]["index"])
    mock_scb(http, metadata=json.dumps(meta).encode())
    with pytest.raises(FormatError) as err:
        scb.fetch(config, client=client("SCB", fake_time))
    assert expected in str(err.value) and str(err.value).endswith("Inget har ändrats.")
    assert not any("/data" in r.url for r in http.request_history)  # nothing fetched


def test_renamed_variable_and_mandatory_variable(http, config, fake_time):
    meta = json.loads(fixture("scb_TAB6260_metadata.json"))
    meta["id"][meta["id"].index("Kon")] = "Kön"
    meta["dimension"]["Kön"] = meta["dimension"].pop("Kon")
    meta["dimension"]["Kön"]["extension"]["elimination"] = False
    mock_scb(http, metadata=json.dumps(meta).encode())
    with pytest.raises(FormatError) as err:
        scb.fetch(config, client=client("SCB", fake_time))
    assert "variabeln 'Kon' finns inte" in str(err.value)
    assert "variabeln 'Kön' måste väljas" in str(err.value)


def test_fetch_scb_json_stat2(http, config, fake_time):
    mock_scb(http)
    fetched = scb.fetch(config, client=client("SCB", fake_time))
    obs = fetched.observations
    assert len(obs) == 27 and set(obs["measure"]) == {"arbetsloshet_bas"} and set(obs["group"]) == {"20-64 år"}
    row = lambda area, gender, period: obs.filter(pl.col("area") == area, pl.col("gender") == gender,  # noqa: E731
                                                  pl.col("period") == period).row(0, named=True)
    assert row("Stockholm", "kvinnor", "2024-11")["value"] == 5.4
    assert row("Stockholms län", "totalt", "2024-10")["value"] == 5.2
    gap = row("Riket", "kvinnor", "2024-12")
    assert gap["value"] is None and gap["status"] == "suppressed" and gap["note"] == "SCB:s markering '..'"
    assert row("Stockholm", "män", "2024-12")["source_label"].startswith("SCB, tabell TAB6260, hämtat ")
    source = row("Stockholm", "män", "2024-12")["source"]
    assert source.startswith(f"{SCB_API}/tables/TAB6260/data?lang=sv&outputFormat=json-stat2&valueCodes[Region]="
                             "0180,01,00&valueCodes[Kon]=1,2,1+2")
    assert "valueCodes[Tid]=2024M10,2024M11,2024M12" in source
    data_call = [c for c in fetched.record["calls"] if c["role"] == "data"][0]
    assert data_call["params"]["valueCodes[Tid]"] == "2024M10,2024M11,2024M12"
    assert all(r.timeout is not None for r in http.request_history)
    assert fetched.fetch_id.startswith("scb-") and set(fetched.files) == {"manad-metadata.json",
                                                                         "manad-data-001.json"}


def test_fetch_scb_csv_gives_the_same_values(http, config, fake_time):
    config["scb"]["format"] = "csv"
    mock_scb(http, fixture("scb_TAB6260_data.csv"), content_type="text/csv")
    csv_obs = scb.fetch(config, client=client("SCB", fake_time)).observations
    q = parse_qs(urlsplit(http.request_history[-1].url).query)
    assert q["outputFormat"] == ["csv"] and q["heading"] == ["Tid"]
    config["scb"]["format"] = "json-stat2"
    mock_scb(http)
    json_obs = scb.fetch(config, client=client("SCB", fake_time)).observations
    cols = ["area", "gender", "period", "group", "value", "status"]
    assert csv_obs.select(cols).sort(cols[:3]).equals(json_obs.select(cols).sort(cols[:3]))


@pytest.mark.parametrize("damage, message", [
    (lambda b: b[: len(b) // 2], "gick inte att läsa som JSON"),
    (lambda b: "<html><body>Underhåll</body></html>".encode(), "gick inte att läsa som JSON"),
    (lambda b: json.dumps({**json.loads(b), "id": ["Region", "Kon", "Alder", "Fodelseregion", "Tid",
                                                   "ContentsCode"]}).encode(), "svaret följer inte JSON-stat"),
    (lambda b: b.replace(b'"0180"', b'"0181"'), "koder som inte efterfrågades: Region 0181"),
    (lambda b: b.replace(b'"Fodelseregion"', b'"Birthregion"'), "har variablerna"),
])
def test_truncated_or_changed_data_response_is_refused(http, config, fake_time, damage, message):
    mock_scb(http, damage(fixture("scb_TAB6260_data.json")))
    with pytest.raises(FormatError) as err:
        scb.fetch(config, client=client("SCB", fake_time))
    assert message in str(err.value) and str(err.value).endswith("Inget har ändrats.")


def fake_scb_server(request, context):
    """A PxWebApi v2 /data endpoint built from the metadata fixture: answers exactly the
    selection asked for, value = a function of the codes, so a split query can be checked."""
    meta = json.loads(fixture("scb_TAB6260_metadata.json"))
    q = parse_qs(urlsplit(request.url).query)
    asked = {k[len("valueCodes["):-1]: v[0].split(",") for k, v in q.items() if k.startswith("valueCodes[")}
    ids = [i for i in meta["id"] if i in asked]
    cells = math.prod(len(asked[i]) for i in ids)
    if cells > 150_000:
        context.status_code = 400
        return b"too many cells"
    values = [float(sum(map(ord, "".join(codes))) % 90) / 10 for codes in product(*(asked[i] for i in ids))]
    dims = {i: {"label": i, "category": {"index": {c: n for n, c in enumerate(asked[i])},
                                         "label": {c: meta["dimension"][i]["category"]["label"][c] for c in asked[i]}}}
            for i in ids}
    return json.dumps({"version": "2.0", "class": "dataset", "id": ids, "size": [len(asked[i]) for i in ids],
                       "dimension": dims, "value": values}).encode()


def test_large_query_is_split_and_rate_limited_without_real_sleeping(http, config, fake_time):
    q = config["scb"]["queries"]["manad"]
    q["time_last"] = 12
    config["scb"]["max_cells"] = 9
    http.get(f"{SCB_API}/tables/TAB6260/metadata", content=fixture("scb_TAB6260_metadata.json"))
    http.get(f"{SCB_API}/tables/TAB6260/data", content=fake_scb_server)
    limiter = RateLimiter(10, 10, clock=fake_time.clock, sleep=fake_time.sleep)
    fetched = scb.fetch(config, client=client("SCB", fake_time, limiter=limiter))
    data_calls = [c for c in fetched.record["calls"] if c["role"] == "data"]
    assert len(data_calls) == 12 and len(http.request_history) == 13  # 1 metadata + 12 parts of 9 cells
    assert all(scb.n_cells(c["selection"]) <= 9 for c in data_calls)
    assert len(fetched.observations) == 3 * 3 * 12
    assert sum(fake_time.slept) >= 10  # the 11th call waited for the window, on the fake clock
    expected = {(a, g, p): float(sum(map(ord, "".join(codes))) % 90) / 10 for codes in product(
        ["0180", "01", "00"], ["1", "2", "1+2"], ["20-64"], ["tot"], ["000006II"],
        [f"2024M{m:02d}" for m in range(1, 13)])
        for a, g, p in [(codes[0], codes[1], codes[5])]}
    areas = {"0180": "Stockholm", "01": "Stockholms län", "00": "Riket"}
    genders = {"1": "män", "2": "kvinnor", "1+2": "totalt"}
    got = {(r["area"], r["gender"], r["period"]): r["value"] for r in fetched.observations.iter_rows(named=True)}
    assert got == {(areas[a], genders[g], f"{p[:4]}-{p[5:]}"): v for (a, g, p), v in expected.items()}


def test_project_config_is_consistent_with_the_catalogue():
    real = cfg.load(Path(__file__).resolve().parents[1] / "config" / "connectors.toml")
    sec = real["scb"]
    for name, q in sec["queries"].items():
        scb._check_query_config(name, {**q, "series": q.get("series") or sec["series"]})
    for i, k in enumerate(real["kolada"]["kpi"], start=1):
        kolada._check_kpi(k, f"kpi {i}")
    af._check_config(real["af"])


# ============================================================== Kolada

def test_lookup_writes_the_id_only_for_one_exact_title(http, config_file, config, fake_time):
    mock_kolada(http)
    result = kolada.lookup(KPI_TITLE, config, client=client("Kolada", fake_time))
    assert result.action == "updated" and [h["id"] for h in result.exact] == ["N99901"]
    text = config_file.read_text(encoding="utf-8")
    assert 'id = "N99901"' in text and "# the KPI below gets its id from --lookup" in text
    assert cfg.load(config_file)["kolada"]["kpi"][0]["id"] == "N99901"
    assert "har id N99901" in result.message()
    assert parse_qs(urlsplit(http.request_history[0].url).query)["title"] == [KPI_TITLE]


def test_lookup_without_an_exact_match_changes_nothing(http, config_file, config, fake_time):
    mock_kolada(http)
    before = config_file.read_text(encoding="utf-8")
    result = kolada.lookup("Arbetslösa", config, client=client("Kolada", fake_time))
    assert result.action == "" and len(result.hits) == 3
    assert "inget har exakt den titeln" in result.message() and "N99902" in result.message()
    assert config_file.read_text(encoding="utf-8") == before


def test_lookup_adds_a_new_kpi_block(http, config_file, config, fake_time):
    mock_kolada(http)
    title = "Långtidsarbetslösa 25-64 år, andel (%) av befolkningen"
    result = kolada.lookup(title, config, client=client("Kolada", fake_time), series="unemployment",
                           measure="langtidsarbetslosa_andel", group="25-64 år")
    assert result.action == "added"
    kpis = cfg.load(config_file)["kolada"]["kpi"]
    assert kpis[-1] == {"title": title, "id": "N99903", "series": "unemployment",
                        "measure": "langtidsarbetslosa_andel", "group": "25-64 år"}


def test_fetch_kolada_pages_through_results_with_attribution(http, config_file, fake_time):
    with_kolada_id(config_file)
    mock_kolada(http)
    fetched = kolada.fetch(cfg.load(config_file), client=client("Kolada", fake_time))
    obs = fetched.observations
    assert len(obs) == 18 and set(obs["area"]) == {"Stockholm", "Riket"}
    assert sorted(f for f in fetched.files) == ["N99901-data-001.json", "N99901-data-002.json", "N99901-kpi.json"]
    v = obs.filter(pl.col("area") == "Stockholm", pl.col("gender") == "kvinnor", pl.col("period") == "2023")
    assert v["value"].to_list() == [4.8]
    assert v["source_label"][0].startswith(f"Källa: Kolada, {KPI_TITLE} (N99901), hämtat ")
    assert v["source"][0].startswith(f"{KOLADA_API}/data/kpi/N99901/municipality/0180,0000/year/2022,2023,2024")
    gap = obs.filter(pl.col("area") == "Riket", pl.col("gender") == "kvinnor", pl.col("period") == "2024")
    assert gap["value"].to_list() == [None] and gap["status"].to_list() == ["suppressed"]
    assert parse_qs(urlsplit(http.request_history[-1].url).query)["page"] == ["2"]


def test_kolada_without_ids_asks_for_lookup(config):
    with pytest.raises(ConfigError, match="--lookup"):
        kolada.fetch(config)


def test_kolada_kpi_renamed_is_refused(http, config_file, fake_time):
    with_kolada_id(config_file)
    mock_kolada(http)
    doc = json.loads(fixture("kolada_kpi_N99901.json"))
    doc["values"][0]["title"] = "Något helt annat"
    http.get(f"{KOLADA_API}/kpi/N99901", json=doc)
    with pytest.raises(FormatError, match="heter nu 'Något helt annat'"):
        kolada.fetch(cfg.load(config_file), client=client("Kolada", fake_time))


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.pop("values") and d.update(data=[]), "har inte listan 'values'"),
    (lambda d: d["values"][0]["values"][0].update(gender="X"), "saknar gender"),
    (lambda d: d["values"][0].pop("municipality"), "formatet har ändrats"),
    (lambda d: d["values"][0]["values"][0].update(value="5,1"), "inget tal"),
])
def test_kolada_changed_schema_is_refused(http, config_file, fake_time, edit, message):
    with_kolada_id(config_file)
    mock_kolada(http)
    doc = json.loads(fixture("kolada_data_N99901_page1.json"))
    edit(doc)
    doc["next_page"] = None
    http.get(f"{KOLADA_API}/data/kpi/N99901/municipality/0180,0000/year/2022,2023,2024", json=doc)
    with pytest.raises(FormatError, match=re.escape(message)):
        kolada.fetch(cfg.load(config_file), client=client("Kolada", fake_time))


# ============================================================== Arbetsförmedlingen

def af_workbook(andel=None, title="Inskrivna arbetslösa 16-64 år, andel av registerbaserad arbetskraft, januari 2024",
                header=("Län", "Kommun", "Kvinnor", "Män", "Totalt")) -> bytes:
    """A workbook as Arbetsförmedlingen publishes it: title rows, then one row per kommun with
    its code, shares stored as fractions with a percent format; counts on a second sheet."""
    andel = andel or {"01 Stockholms län": (0.051, 0.055, 0.053), "0114 Upplands Väsby": (0.061, 0.064, 0.062),
                      "0180 Stockholm": (0.053, 0.056, 0.055), "0181 Södertälje": (0.101, 0.098, 0.099),
                      "Riket": (0.066, 0.069, 0.068)}
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Andel"
    ws.append(["Arbetsförmedlingen"])
    ws.append([title])
    ws.append(["Källa: Arbetsförmedlingen"])
    ws.append([])
    ws.append(list(header))
    for name, shares in andel.items():
        lan = "01 Stockholms län" if name.startswith("01") else ("" if name == "Riket" else "01 Stockholms län")
        ws.append([lan, name, *shares])
        for col in (3, 4, 5):
            ws.cell(ws.max_row, col).number_format = "0.0%"
    counts = wb.create_sheet("Antal")
    counts.append(["Inskrivna arbetslösa 16-64 år, antal, januari 2024"])
    counts.append([])
    counts.append(list(header))
    for name, n in {"01 Stockholms län": (29000, 33000, 62000), "0180 Stockholm": (15234, 17001, 32235),
                    "Riket": (170000, 190000, 360000)}.items():
        counts.append(["01 Stockholms län" if name != "Riket" else "", name, *n])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_fetch_af_workbook_title_rows_and_fractions(http, config, fake_time):
    http.get(AF_URL, content=af_workbook())
    fetched = af.fetch(config, client=client("Arbetsförmedlingen", fake_time))
    obs = fetched.observations
    assert fetched.record["mapping"]["period"] == "2024-01" and set(obs["period"]) == {"2024-01"}
    share = obs.filter(pl.col("measure") == "arbetslosa_andel")
    assert len(share) == 9 and set(share["area"]) == {"Stockholm", "Stockholms län", "Riket"}
    st = {r["gender"]: r["value"] for r in share.filter(pl.col("area") == "Stockholm").iter_rows(named=True)}
    assert st == {"kvinnor": pytest.approx(5.3), "män": pytest.approx(5.6), "totalt": pytest.approx(5.5)}
    counts = obs.filter(pl.col("measure") == "arbetslosa", pl.col("area") == "Stockholm", pl.col("gender") == "totalt")
    assert counts["value"].to_list() == [32235]
    assert share["source_label"][0].startswith(
        "Arbetsförmedlingen, månadsstatistik per kommun (blad Andel), hämtat ")
    assert share["source"][0].startswith(AF_URL + "#blad=Andel;rad=")


def test_af_period_given_overrides_titles(http, config, fake_time):
    http.get(AF_URL, content=af_workbook(title="Inskrivna arbetslösa, andel"))
    with pytest.raises(FormatError, match="ange --period"):
        af.fetch(config, client=client("Arbetsförmedlingen", fake_time))
    fetched = af.fetch(config, period="feb 2024", client=client("Arbetsförmedlingen", fake_time))
    assert set(fetched.observations["period"]) == {"2024-02"}


@pytest.mark.parametrize("kwargs, message", [
    ({"andel": {"0180 Stockholm": (5.3, 5.6, 5.5), "01 Stockholms län": (5.1, 5.5, 5.3), "Riket": (6.6, 6.9, 6.8)}},
     "andelarna är inte skrivna som bråk"),
    ({"header": ("Län", "Kommun", "Kvinnor", "Män", "Samtliga")}, "kolumnerna Totalt saknas"),
    ({"andel": {"0180 Stockholm": (0.05, 0.05, 0.05), "01 Stockholms län": (0.05, 0.05, 0.05)}},
     "ingen rad för 'Riket'"),
    ({"title": "Lediga platser, januari 2024"}, "ingen rubrikrad innehåller 'arbetslösa'"),
])
def test_af_changed_workbook_is_refused(http, config, fake_time, kwargs, message):
    http.get(AF_URL, content=af_workbook(**kwargs))
    with pytest.raises(FormatError, match=re.escape(message)):
        af.fetch(config, period="2024-01", client=client("Arbetsförmedlingen", fake_time))


def test_af_html_instead_of_workbook(http, config, fake_time):
    http.get(AF_URL, text="<html>Sidan har flyttat</html>")
    with pytest.raises(FormatError, match="ingen Excelarbetsbok"):
        af.fetch(config, client=client("Arbetsförmedlingen", fake_time))


def test_af_without_url(config):
    config["af"]["url"] = ""
    with pytest.raises(ConfigError, match="ange --url"):
        af.fetch(config)


# ============================================================== commit, build, undo

def api_files(data_dir: Path) -> list[str]:
    root = data_dir / "raw" / "api"
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()
                  and not p.name.startswith(".")) if root.exists() else []


def test_commit_keeps_responses_and_rebuilds_offline(data_dir, http, config, fake_time):
    before = store.load_observations()
    mock_scb(http)
    fetched = scb.fetch(config, client=client("SCB", fake_time))
    diff = commit.preview(fetched.observations, before)
    changes = dict(diff.group_by("change").len().iter_rows())
    assert changes == {"ny": 15, "oförändrad": 12}  # Stockholm and the län total were already there (CSV)
    result = commit.commit(fetched, by="test")
    assert result.changed and result.record["status"] == "active" and result.record["n_values"] == 27
    fid = fetched.fetch_id
    assert api_files(data_dir) == [f"scb/{fid}/fetch.json", f"scb/{fid}/manad-data-001.json",
                                   f"scb/{fid}/manad-metadata.json"]
    after = store.load_observations()
    new = after.filter(pl.col("dataset") == fid)
    assert len(new) == 27 and len(after) == len(before) + 27
    riket = after.filter(pl.col("area") == "Riket", pl.col("measure") == "arbetsloshet_bas", pl.col("is_preferred"))
    assert len(riket) == 9
    datasets = store.load_datasets().filter(pl.col("id") == fid)
    assert datasets["source_type"].to_list() == ["api"] and datasets["producer"][0].startswith("Statistiska")

    # The build repeats offline from the stored responses: same values, no network.
    http.reset_mock()
    http.get(requests_mock.ANY, exc=requests.exceptions.ConnectionError)
    rebuilt = store.build(force=True)
    assert rebuilt.rebuilt and store.load_observations().equals(after)

    # The same answer again: nothing changes.
    mock_scb(http)
    again = commit.commit(scb.fetch(config, client=client("SCB", fake_time)), by="test")
    assert not again.changed and again.record["id"] == fid

    # Undo takes it out; the data is exactly as before.
    commit.undo(fid, by="test")
    assert store.load_observations().equals(before)
    assert commit.history()[0]["status"] == "undone" and api_files(data_dir)  # the files stay
    commit.redo(fid, by="test")
    assert store.load_observations().equals(after)


def test_csv_fetch_rebuilds_offline_the_same(data_dir, http, config, fake_time):
    config["scb"]["format"] = "csv"
    mock_scb(http, fixture("scb_TAB6260_data.csv"), content_type="text/csv")
    fetched = scb.fetch(config, client=client("SCB", fake_time))
    commit.commit(fetched, by="test")
    stored = store.load_observations().filter(pl.col("dataset") == fetched.fetch_id)
    store.build(force=True)  # reads fetch.json back from disk (its keys sorted)
    again = store.load_observations().filter(pl.col("dataset") == fetched.fetch_id)
    assert len(again) == 27 and again.equals(stored)
    cols = ["area", "gender", "period", "value"]
    assert stored.select(cols).sort(cols).equals(fetched.observations.select(cols).sort(cols))


def test_a_newer_fetch_of_the_same_question_replaces_the_older(data_dir, http, config, fake_time):
    mock_scb(http)
    first = scb.fetch(config, client=client("SCB", fake_time))
    commit.commit(first, by="test")
    revised = json.loads(fixture("scb_TAB6260_data.json"))
    revised["value"][0] = 9.9  # Stockholm män 2024M10 revised
    mock_scb(http, json.dumps(revised).encode())
    second = scb.fetch(config, client=client("SCB", fake_time))
    assert second.fetch_id != first.fetch_id
    diff = commit.preview(second.observations, store.load_observations())
    assert diff.filter(pl.col("change") == "ändrad")["new_value"].to_list() == [9.9]
    commit.commit(second, by="test")
    obs = store.load_observations()
    assert set(obs.filter(pl.col("dataset").str.starts_with("scb-"))["dataset"]) == {second.fetch_id}
    hist = commit.history()
    assert [h["in_force"] for h in hist] == [True, False]
    commit.undo(second.fetch_id, by="test")
    assert set(store.load_observations().filter(pl.col("dataset").str.starts_with("scb-"))["dataset"]) == \
        {first.fetch_id}


def test_failed_build_rolls_the_commit_back(data_dir, http, config, fake_time, monkeypatch):
    before = store.load_observations()
    mock_scb(http)
    fetched = scb.fetch(config, client=client("SCB", fake_time))

    def broken_build(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(commit, "build", broken_build)
    with pytest.raises(RuntimeError):
        commit.commit(fetched, by="test")
    monkeypatch.undo()
    assert api_files(data_dir) == [] and commit.history() == []
    assert store.load_observations().equals(before)


def test_tampered_stored_response_stops_the_build(data_dir, http, config, fake_time):
    mock_scb(http)
    fetched = scb.fetch(config, client=client("SCB", fake_time))
    commit.commit(fetched, by="test")
    path = data_dir / "raw" / "api" / "scb" / fetched.fetch_id / "manad-data-001.json"
    path.write_bytes(path.read_bytes().replace(b"5.4", b"9.4"))
    with pytest.raises(BuildError) as err:
        store.build(force=True)
    assert "saknas eller har ändrats sedan hämtningen" in str(err.value)


def test_kolada_and_af_commit_together(data_dir, http, config_file, fake_time):
    with_kolada_id(config_file)
    conf = cfg.load(config_file)
    mock_kolada(http)
    http.get(AF_URL, content=af_workbook())
    commit.commit(kolada.fetch(conf, client=client("Kolada", fake_time)), by="test")
    commit.commit(af.fetch(conf, client=client("Arbetsförmedlingen", fake_time)), by="test")
    obs = store.load_observations()
    k = obs.filter(pl.col("dataset").str.starts_with("kolada-"))
    a = obs.filter(pl.col("dataset").str.starts_with("af-"))
    assert len(k) == 18 and len(a) == 18
    assert k["source_label"].str.starts_with("Källa: Kolada").all()
    assert set(store.load_datasets().filter(pl.col("source_type") == "api")["producer"]) == \
        {"Kolada (RKA)", "Arbetsförmedlingen"}


# ============================================================== command line

def test_cli_without_network_says_so_in_swedish_and_changes_nothing(data_dir, config_file, http, capsys):
    http.get(requests_mock.ANY, exc=requests.exceptions.ConnectionError("Max retries exceeded"))
    before = store.load_observations()
    assert main(["fetch", "scb"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Kunde inte nå SCB (statistikdatabasen.scb.se):") and "Inget har ändrats." in err
    assert main(["fetch", "kolada", "--lookup", KPI_TITLE]) == 1
    assert "Kunde inte nå Kolada (api.kolada.se)" in capsys.readouterr().err
    assert main(["fetch", "af"]) == 1
    assert "Kunde inte nå Arbetsförmedlingen (arbetsformedlingen.se)" in capsys.readouterr().err
    assert api_files(data_dir) == [] and store.load_observations().equals(before)


def test_cli_fetch_scb_dry_run_then_commit_list_undo(data_dir, config_file, http, capsys):
    mock_scb(http)
    assert main(["fetch", "scb", "--validate"]) == 0
    assert "manad: tabell TAB6260 har alla 6 variabler" in capsys.readouterr().out
    assert main(["fetch", "scb", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "arbetsloshet_bas" in out and "inget har sparats" in out and api_files(data_dir) == []
    assert main(["fetch", "scb"]) == 0
    out = capsys.readouterr().out
    fid = re.search(r"som (scb-[0-9a-f]{12})", out)[1]
    assert main(["fetch", "scb"]) == 0
    assert "oförändrat" in capsys.readouterr().out
    assert main(["fetch", "list"]) == 0
    assert f"{fid}" in capsys.readouterr().out
    assert main(["fetch", "undo", fid]) == 0 and "Ångrad." in capsys.readouterr().out


def test_cli_kolada_lookup_then_fetch(data_dir, config_file, http, capsys):
    mock_kolada(http)
    assert main(["fetch", "kolada", "--lookup", KPI_TITLE]) == 0
    assert "har id N99901" in capsys.readouterr().out
    assert main(["fetch", "kolada", "--years", "2022-2024"]) == 0
    assert "Hämtat 18 värden" in capsys.readouterr().out


def test_cli_af_with_url_and_period(data_dir, config_file, http, capsys):
    url = "https://arbetsformedlingen.se/download/annan.xlsx"
    http.get(url, content=af_workbook())
    assert main(["fetch", "af", "--url", url, "--period", "2024-01", "--dry-run"]) == 0
    assert "arbetslosa_andel" in capsys.readouterr().out


def test_fixture_generator_is_reproducible(tmp_path):
    src = FIX / "make_fixtures.py"
    shutil.copy(src, tmp_path / "make_fixtures.py")
    ns: dict = {"__name__": "fixtures_copy", "__file__": str(tmp_path / "make_fixtures.py")}
    exec(compile(src.read_text(encoding="utf-8"), str(src), "exec"), ns)
    ns["scb_monthly"](), ns["scb_yearly"](), ns["kolada"]()
    for p in tmp_path.iterdir():
        if p.suffix in (".json", ".csv"):
            assert p.read_bytes() == (FIX / p.name).read_bytes(), p.name
