"""Downloads are valid files, opened again and checked: PNG, SVG, CSV, Excel, PowerPoint."""

from __future__ import annotations

import io
import struct
import xml.etree.ElementTree as ET

import openpyxl
import polars as pl
import pytest
from PIL import Image
from pptx import Presentation

from amnstats import store
from amnstats.ui import charts, export, meeting_pack, panel, theme


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


@pytest.fixture(scope="module")
def map_spec():
    obs = store.load_observations()
    return charts.choropleth(obs, "unemployment", "arbetslosa_andel", period="2022-12")


def svg_texts(svg: bytes) -> list[str]:
    """Each text element's words, its lines (tspans) joined by spaces."""
    root = ET.fromstring(svg.decode("utf-8"))
    return [" ".join(" ".join(t.itertext()).split()) for t in root.iter() if t.tag.endswith("}text")]


def captioned(s, sources=None) -> dict:
    return {"title": s.title, "source": panel.source_line(s.sources if sources is None else sources)}


@pytest.mark.parametrize("name", ["spec", "map_spec"])
def test_svg_carries_title_and_every_source(name, request):
    s = request.getfixturevalue(name)  # a layer of bars, and the map (layers of geoshapes)
    assert not any("Källa" in t for t in svg_texts(export.chart_svg(theme.apply(s.chart))))
    texts = svg_texts(export.chart_svg(theme.apply(s.chart), **captioned(s)))
    assert s.title in texts
    source = next(t for t in texts if t.startswith("Källa: "))
    assert all(src in source for src in s.sources) and len(s.sources) >= 1


def content_rows(png: bytes) -> list[int]:
    """The darkest grey value of each row with anything drawn on it, top to bottom."""
    img = Image.open(io.BytesIO(png)).convert("L")
    w, h = img.size
    px = img.load()
    rows = [min(px[x, y] for x in range(w)) for y in range(h)]
    return [v for v in rows if v < 250]


def test_png_has_the_title_on_top_and_the_source_in_grey_at_the_bottom(map_spec):
    chart = theme.apply(map_spec.chart)
    bare = Image.open(io.BytesIO(export.chart_png(chart, scale=1))).size
    png = export.chart_png(chart, scale=2, **captioned(map_spec))
    w, h = Image.open(io.BytesIO(png)).size
    assert h >= 2 * (bare[1] + 18 + 2 * 14) and w <= 2 * (bare[0] + 30)  # two source lines; no wider than the chart
    rows = content_rows(png)
    assert min(rows[:10]) <= 0x30  # the title's near-black text comes first
    assert all(v >= 0x50 for v in rows[-10:])  # last: the source's grey (#555), no chart marks


def test_long_source_list_wraps_and_keeps_every_part(spec):
    sources = spec.sources + [f"Arbetsmarknadsrapport {y} för arbetsmarknadsnämnden, rad {y - 1800}, {y - 1799}"
                              for y in range(2015, 2023)] + ["SCB, Registerbaserad arbetsmarknadsstatistik (BAS)"]
    chart = theme.apply(spec.chart)
    svg = export.chart_svg(chart, **captioned(spec, sources))
    root = ET.fromstring(svg.decode("utf-8"))
    source = next(t for t in root.iter() if t.tag.endswith("}text") and "Källa" in "".join(t.itertext()))
    assert len([t for t in source if t.tag.endswith("tspan")]) >= 3  # split into lines, not one cut-off line
    words = " ".join(" ".join(source.itertext()).split())
    assert all(src in words for src in sources)
    bare = png_size(export.chart_png(chart, scale=1))
    assert png_size(export.chart_png(chart, scale=1, **captioned(spec, sources)))[0] <= bare[0] + 30  # not widened


def test_no_caption_leaves_the_chart_as_it_was(spec):
    # the meeting pack writes title and source on the slide: its pictures stay bare
    assert export._spec(theme.apply(spec.chart)) == theme.apply(spec.chart).to_dict() | {"width": export.SLIDE_WIDTH_PX}


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


def test_a_slide_carries_the_notes_the_page_shows_under_the_chart(spec):
    png = export.chart_png(theme.apply(spec.chart, large=True), scale=1)
    note = "Verksamhetssystemet byttes till VERA 2023: serien är bruten."
    prs = Presentation(io.BytesIO(meeting_pack.build_pack([meeting_pack.Slide(spec.title, png, spec.sentence,
                                                                              spec.source_text, (note,))])))
    boxes = {sh.text_frame.text: sh for sh in prs.slides[1].shapes if sh.has_text_frame}
    assert note in boxes and spec.sentence in boxes
    assert boxes[spec.sentence].top < boxes[note].top < boxes[f"Källa: {spec.source_text}"].top  # in reading order
    assert all(sh.top + sh.height <= prs.slide_height for sh in prs.slides[1].shapes)


def test_csv_writes_an_empty_cell_empty():
    table = export.ExportTable("T", pl.DataFrame({"Grupp": ["a", "b"], "Status": ["", "ungefärligt"],
                                                  "Värde": [1.0, None]}), {"Värde": 1}, ["k"])
    lines = export.table_csv(table).decode("utf-8-sig").splitlines()
    assert lines[1:4] == ["Grupp;Status;Värde", "a;;1,0", "b;ungefärligt;.."]


def test_a_value_the_source_does_not_give_is_a_dash_and_a_secret_one_two_dots():
    frame = pl.DataFrame({"Område": ["Bromma", "Farsta", "Kista"], "Värde": [None, None, 4.0],
                          "Status": ["saknas", "skyddat", ""]})
    table = export.ExportTable("T", frame, {"Värde": 0}, ["k"])
    assert export.table_csv(table).decode("utf-8-sig").splitlines()[2:5] == [
        "Bromma;–;saknas", "Farsta;..;skyddat", "Kista;4;"]
    ws = openpyxl.load_workbook(io.BytesIO(export.table_xlsx(table)))["Data"]
    assert [ws.cell(r, 2).value for r in (4, 5, 6)] == ["–", "..", 4]


def _slide_shapes(prs, index=1):
    """The chart slide's shapes by role, in the order build_pack adds them."""
    shapes = list(prs.slides[index].shapes)
    picture = next(sh for sh in shapes if sh.shape_type == 13)
    texts = {sh.text_frame.text: sh for sh in shapes if sh.has_text_frame}
    return picture, texts


def test_a_long_slide_stacks_title_chart_sentence_notes_and_source_without_overlap(spec):
    png = export.chart_png(theme.apply(spec.chart, large=True), scale=1)
    title = "Stadsdelarnas arbetsmarknadsinsatser: unika personer per stadsdelsområde, 2022"
    sentence = ("Antalet unika personer i stadsdelarnas arbetsmarknadsinsatser ökade i de flesta stadsdelsområden "
                "mellan 2021 och 2022, men minskade i Rinkeby-Kista, Spånga-Tensta och Skärholmen där färre personer "
                "deltog i insatserna under året.")  # three lines at 18 pt
    notes = ("Verksamhetssystemet byttes till VERA 2023: serien är bruten.",
             "Hägersten-Älvsjö och Skärholmen redovisas tillsammans före 2020.")
    prs = Presentation(io.BytesIO(meeting_pack.build_pack([meeting_pack.Slide(title, png, sentence, "Källa X",
                                                                              notes)])))
    picture, texts = _slide_shapes(prs)
    order = [texts[title], picture, texts[sentence], texts[" ".join(notes)], texts["Källa: Källa X"]]
    assert [sh.top for sh in order] == sorted(sh.top for sh in order)  # reading order top to bottom
    for upper, lower in zip(order, order[1:]):
        assert upper.top + upper.height <= lower.top, (upper.name, lower.name)  # no vertical overlap
    for sh in prs.slides[1].shapes:
        assert sh.left >= 0 and sh.top >= 0
        assert sh.left + sh.width <= prs.slide_width and sh.top + sh.height <= prs.slide_height
    assert texts[title].height >= 2 * 22 * 12700  # room for two title lines, at least 22 pt each
    assert texts[sentence].height >= 3 * 18 * 12700  # and three sentence lines


def test_a_very_long_title_gets_a_smaller_font_rather_than_a_third_line(spec):
    png = export.chart_png(theme.apply(spec.chart, large=True), scale=1)
    title = ("Stadsdelarnas arbetsmarknadsinsatser och Jobbtorg Stockholms insatser: unika personer per "
             "stadsdelsområde och kön, 2019–2023")
    prs = Presentation(io.BytesIO(meeting_pack.build_pack([meeting_pack.Slide(title, png, "En mening.", "X")])))
    picture, texts = _slide_shapes(prs)
    size = texts[title].text_frame.paragraphs[0].font.size.pt
    assert 22 <= size < 30
    assert texts[title].top + texts[title].height <= picture.top


def test_a_tall_narrow_chart_is_scaled_to_the_space_not_to_a_strip():
    buf = io.BytesIO()
    Image.new("RGB", (300, 1200), "white").save(buf, format="PNG")
    prs = Presentation(io.BytesIO(meeting_pack.build_pack([meeting_pack.Slide("Många staplar", buf.getvalue(),
                                                                              "En mening.", "X")])))
    picture, texts = _slide_shapes(prs)
    space_top = texts["Många staplar"].top + texts["Många staplar"].height
    space_bottom = texts["En mening."].top
    assert space_top <= picture.top and picture.top + picture.height <= space_bottom
    assert picture.height >= 0.9 * (space_bottom - space_top)  # height-bound: it fills the space between the texts
    assert abs(picture.width / picture.height - 300 / 1200) < 0.01  # aspect ratio kept
    assert abs(picture.left + picture.width / 2 - prs.slide_width / 2) <= 12700  # centred
    # a 1:4 picture can only be 1.5 in wide at 6 in tall, more than a 7.5 in slide has besides the texts;
    # the old fixed 4.6 in box made it 1.15 in
    assert picture.width >= 1.3 * 914400
