"""'Hämta från källa' on the upload page (AppTest), with the network mocked at the transport
level: a button per source, a Swedish message when the source cannot be reached, preview,
save and undo."""

from __future__ import annotations

import polars as pl
import pytest
import requests
import requests_mock

from amnstats import store
from amnstats.connectors import commit
from apptest_helpers import run_page
from test_connectors import TEST_CONFIG, mock_scb


@pytest.fixture
def page(data_dir, tmp_path, monkeypatch):
    path = tmp_path / "connectors.toml"
    path.write_text(TEST_CONFIG, encoding="utf-8")
    monkeypatch.setenv("AMNSTATS_CONNECTORS_CONFIG", str(path))
    return run_page("ladda-upp")


def test_a_button_per_source(page):
    keys = {b.key for b in page.button}
    assert {"hamta-scb", "hamta-kolada", "hamta-af"} <= keys
    assert any(h.value == "Hämta från källa" for h in page.header)


def test_no_network_gives_a_swedish_message_and_changes_nothing(page, data_dir):
    before = store.load_observations()
    with requests_mock.Mocker() as m:
        m.get(requests_mock.ANY, exc=requests.exceptions.ConnectionError("no route to host"))
        page.button(key="hamta-scb").click().run()
    errors = [e.value for e in page.error]
    assert errors and errors[0].startswith("Kunde inte nå SCB (statistikdatabasen.scb.se)")
    assert errors[0].endswith("Inget har ändrats.")
    assert not (data_dir / "raw" / "api" / "scb").exists()
    assert store.load_observations().equals(before)


def test_kolada_without_ids_explains_the_lookup(page):
    page.button(key="hamta-kolada").click().run()
    assert "--lookup" in page.error[0].value


def test_fetch_preview_save_and_undo(page):
    before = store.load_observations()
    with requests_mock.Mocker() as m:
        mock_scb(m)
        page.button(key="hamta-scb").click().run()
    assert not page.exception and not page.error
    summary = [d.value for d in page.dataframe if "ny" in d.value.columns][-1]
    assert summary["ny"].astype(int).sum() == 15 and summary["oförändrad"].astype(int).sum() == 12
    page.button(key="spara-hamtning").click().run()
    assert any("Hämtat: 27 värden" in s.value for s in page.success)
    after = store.load_observations()
    assert len(after) == len(before) + 27
    fid = commit.history()[0]["id"]
    assert after.filter(pl.col("dataset") == fid).height == 27
    page.button(key=f"fetch-active-{fid}").click().run()
    assert store.load_observations().equals(before)
    assert commit.history()[0]["status"] == "undone"
