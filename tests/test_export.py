"""Downloads are valid files, opened again and checked: PNG, SVG, CSV, Excel, PowerPoint."""

from __future__ import annotations

import io
import struct
import xml.etree.ElementTree as ET

import openpyxl
import polars as pl
import pytest
from pptx import Presentation

from amnstats import store
from amnstats.ui import charts, export, meeting_pack, theme


@pytest.fixture(scope="module")
def spec():
    obs = store.load_observations()
    return charts.bars(obs, "jobbtorg", "inskrivna", by="group", period="2023", genders=("kvinnor", "män", "totalt"))


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_png_is_high_resolution(spec):
    low = png_size(export.chart_png(theme.apply(spec.chart), scale=1))
    high = png_size(export.chart_png(theme.apply(spec.chart), scale=3))
    assert high[0] >= 3 * low[0] - 3 and high[0] >= 1200


def test_svg_is_valid_and_uses_swedish_numbers(spec):
    svg = export.chart_svg(theme.apply(spec.chart)).decode("utf-8")
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    texts = "".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    assert "3\u00a0237" in texts  # Försörjningsstöd 2023, with a no-break space
    assert "Försörjningsstöd" in texts


def test_csv_has_swedish_format_and_source(spec):
    raw = export.table_csv(spec.table)
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens UTF-8 right
    text = raw.decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == spec.title
    header = lines[1].split(";")
    assert header[:2] == ["Grupp", "Kön"]
    assert any(line.startswith("Försörjningsstöd;Totalt;3\u00a0237") for line in lines)
    assert any(line.startswith("Källa: Verksamhetsberättelse 2023") for line in lines)


def test_excel_keeps_numbers_as_numbers_and_the_source(spec):
    wb = openpyxl.load_workbook(io.BytesIO(export.table_xlsx(spec.table)))
    ws = wb["Data"]
    assert ws["A1"].value == spec.title
    header = [c.value for c in ws[3]]
    value_col = header.index("Inskrivna på Jobbtorg") + 1
    rows = {(ws.cell(r, 1).value, ws.cell(r, 2).value): ws.cell(r, value_col).value for r in range(4, ws.max_row + 1)}
    assert rows[("Försörjningsstöd", "Totalt")] == 3237
    assert ws.cell(4, value_col).number_format.startswith("#,##0")
    assert any(str(ws.cell(r, 1).value).startswith("Källa:") for r in range(1, ws.max_row + 1))


def test_missing_value_is_two_dots_not_zero():
    table = export.ExportTable("t", pl.DataFrame({"Period": ["2022", "2023"], "Värde": [5.0, None]}), {"Värde": 1}, ["x"])
    assert "2023;..\n" in export.table_csv(table).decode("utf-8-sig")
    ws = openpyxl.load_workbook(io.BytesIO(export.table_xlsx(table)))["Data"]
    assert ws["B5"].value == ".."


def test_meeting_pack_has_one_slide_per_chart_with_title_sentence_and_source(spec):
    png = export.chart_png(theme.apply(spec.chart, large=True), scale=1)
    slides = [meeting_pack.Slide(spec.title, png, spec.sentence, spec.source_text),
              meeting_pack.Slide("Andra", png, "En mening.", "Källa X")]
    prs = Presentation(io.BytesIO(meeting_pack.build_pack(slides)))
    assert len(prs.slides) == 3  # cover + 2
    texts = [" ".join(sh.text_frame.text for sh in s.shapes if sh.has_text_frame) for s in prs.slides]
    assert spec.title in texts[1] and spec.sentence in texts[1] and "Källa: Verksamhetsberättelse 2023" in texts[1]
    pictures = [sh for sh in prs.slides[1].shapes if sh.shape_type == 13]
    assert len(pictures) == 1 and pictures[0].width <= prs.slide_width
