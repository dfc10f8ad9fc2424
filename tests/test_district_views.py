"""Stadsdelsområden as the page and its charts show them: districts the source reports together,
districts without a figure, ties in the comparison's rank, the map in presentation mode, and
legends that list only what is drawn. On the embedded data (seed 003, Arbetsmarknadsrapport 2022)
and on small inline samples."""

from __future__ import annotations

import re

import polars as pl
import pytest

from amnstats import catalogue, store
from amnstats.periods import parse_period
from amnstats.schema import OBSERVATION_SCHEMA
from amnstats.ui import charts, export, fmt, memo, panel, theme
from apptest_helpers import html_tables, run_page, sentences

NB = "\u00a0"
OSA = "Stadsdelarnas arbetsmarknadsinsatser: OSA-platser (budget)"


@pytest.fixture(autouse=True)
def _fresh():
    memo.clear()
    yield
    memo.clear()


@pytest.fixture(scope="module")
def obs() -> pl.DataFrame:
    return store.load_observations()


def make_obs(series: str, measure: str, rows: list[dict]) -> pl.DataFrame:
    """Rows of a catalogue measure: gender totalt, group '', kind utfall, status '' unless given."""
    areas, unit = catalogue.areas(), catalogue.measures()[(series, measure)].unit
    out = []
    for i, r in enumerate(rows):
        r = {"gender": "totalt", "group": "", "kind": "utfall", "target_setter": "", "status": "", **r}
        p = parse_period(r["period"])
        out.append({**r, "series": series, "measure": measure, "unit": unit, "area_type": areas[r["area"]].area_type,
                    "period_start": p.start, "period_end": p.end, "period_type": p.type, "dataset": "test",
                    "source": f"test#L{i + 1}", "source_label": f"Test, rad {i + 1}", "note": "",
                    "has_conflict": False, "is_preferred": True,
                    "value": None if r.get("value") is None else float(r["value"])})
    return pl.DataFrame(out, schema=OBSERVATION_SCHEMA).select(OBSERVATION_SCHEMA.names())


def comparison(at) -> pl.DataFrame:
    return pl.from_pandas(next(t for t in html_tables(at) if "Hela staden" in t.columns))


def row_of(table: pl.DataFrame, measure: str) -> dict:
    return table.filter(pl.col("Mått") == measure).row(0, named=True)


def map_texts(spec) -> dict[str, str]:
    """Each district's text on the map (its tooltip)."""
    return {f["properties"]["area"]: f["properties"]["text"] for f in panel.to_vega_lite(spec.chart)["data"]["values"]}


def captions(at) -> list[str]:
    return [c.value for c in at.caption]


# ----------------------------------------------------------------- reported together (003 line 790)

def test_districts_reported_together_are_said_to_be_so_with_the_joint_figure():
    at = run_page("stadsdelar", query={"stadsdel": "Kungsholmen"})
    assert not at.exception
    karta = sentences(at)[0]
    assert "Kungsholmen, Norrmalm och Östermalm redovisas sammantaget (46)." in karta
    assert "saknas" not in karta
    notes = captions(at)
    assert "Grått med streckad kant: Kungsholmen, Norrmalm och Östermalm redovisas sammantaget (46)." in notes
    assert not any("uppgift saknas för Kungsholmen" in n for n in notes)
    # the joint row is cited: 782-802 now counts line 790
    assert any(n.startswith("Källa: Arbetsmarknadsrapport 2022, rad 782–802 (11 rader)") for n in notes)
    row = row_of(comparison(at), "Stadsdelarnas arbetsmarknadsinsatser: unika personer")
    assert row["Kungsholmen"] == "redovisas sammantaget med Norrmalm och Östermalm: 46"
    assert row["Rang"] == "–" and row["Källa"] == "Arbetsmarknadsrapport 2022, rad 790"


def test_the_map_tooltip_names_the_others_and_only_districts_without_their_own_figure_are_joint():
    rows = [{"period": "2022", "area": a, "value": v} for a, v in
            {"Rinkeby-Kista": 124, "Farsta": 9, "Kungsholmen": 13,
             "Kungsholmen, Norrmalm och Östermalm": 46}.items()]
    spec = charts.choropleth(make_obs("arbetsmarknadsinsatser", "deltagare_unika", rows),
                             "arbetsmarknadsinsatser", "deltagare_unika", period="2022")
    texts = map_texts(spec)
    assert texts["Norrmalm"] == "redovisas sammantaget med Kungsholmen och Östermalm: 46"
    assert texts["Kungsholmen"] == "13"  # its own figure comes first
    assert texts["Bromma"] == "uppgift saknas"
    assert spec.notes[0].startswith("Grått på kartan: uppgift saknas för ") and "Kungsholmen" not in spec.notes[0]
    assert spec.notes[1] == "Grått med streckad kant: Kungsholmen, Norrmalm och Östermalm redovisas sammantaget (46)."
    assert "Uppgift saknas för 8 av 13 stadsdelsområden." in spec.sentence  # 13 - 3 own - Norrmalm, Östermalm


# ----------------------------------------------------------------- no figure: '–', not '..' (003 lines 838-918)

def test_a_budget_without_figure_is_left_out_of_the_bars_and_named_under_both_charts():
    at = run_page("stadsdelar", query={"matt": OSA, "period": "2022", "stadsdel": "Bromma"})
    assert not at.exception
    notes = captions(at)
    assert "Grått på kartan: uppgift saknas för Bromma." in notes
    assert "Utan stapel: uppgift saknas för Bromma." in notes
    assert sum(n.startswith("Källa: Arbetsmarknadsrapport 2022, rad 838–918 (12 rader)") for n in notes) == 2
    assert "Uppgift saknas för 1 av 13 stadsdelsområden." in sentences(at)[0]
    table = comparison(at)
    for measure in ("OSA-platser (budget)", "Stockholmsjobb: platser (budget)", "Feriejobb: platser (budget)"):
        row = row_of(table, measure)
        assert (row["Bromma"], row["Rang"]) == ("–", "–")
        assert row["Källa"] == "Arbetsmarknadsrapport 2022, rad 856"  # the source's line that prints '-'


def test_bars_draw_only_rows_with_a_value(obs):
    spec = charts.bars(obs, "feriejobb", "platser", by="area", period="2022", area=None, kind="budget",
                       area_types=("sdo",))
    areas = set(spec.chart.layer[0].data["area"].to_list())  # the bars' rows
    assert len(areas) == 10 and not areas & {"Bromma", "Kungsholmen", "Norrmalm"}
    assert spec.notes == ["Utan stapel: uppgift saknas för Bromma, Kungsholmen, Norrmalm."]
    assert len(spec.table.frame) == 13  # the table keeps every row, with its status


def test_suppressed_is_written_dot_dot_and_missing_a_dash():
    m = catalogue.measures()[("arbetsmarknadsinsatser", "osa_platser")]
    assert fmt.figure_text(None, "suppressed", m) == ".."
    assert fmt.figure_text(None, "missing", m) == "–"
    assert fmt.figure_text(2.0, "approximate", catalogue.measures()[("unemployment", "arbetslosa_andel")]) \
        == f"cirka 2,0{NB}%"
    rows = [{"period": "2022", "area": a, "value": v, "status": st, "kind": "budget"} for a, v, st in
            [("Södermalm", 40, ""), ("Bromma", None, "missing"), ("Farsta", None, "suppressed")]]
    sample = make_obs("arbetsmarknadsinsatser", "osa_platser", rows)
    karta = charts.choropleth(sample, "arbetsmarknadsinsatser", "osa_platser", period="2022", kind="budget")
    texts = map_texts(karta)
    assert (texts["Bromma"], texts["Farsta"]) == ("uppgift saknas", "..")
    assert karta.notes[0].startswith("Grått på kartan: uppgift saknas för Bromma, ")
    assert karta.notes[0].endswith("; skyddade små tal (..) för Farsta.")


# ----------------------------------------------------------------- ties (003 line 217, 'cirka 2 procent')

def test_equal_values_share_a_rank_in_the_comparison():
    at = run_page("stadsdelar", query={"stadsdel": "Bromma"})
    seen = {}
    for district in ("Bromma", "Hägersten-Älvsjö", "Kungsholmen"):
        at.selectbox(key="stadsdel").set_value(district).run()
        row = row_of(comparison(at), "Arbetslösa (andel)")
        seen[district] = (row[district], row["Rang"])
    assert set(seen.values()) == {(f"cirka 2,0{NB}%", "4 av 6")}


# ----------------------------------------------------------------- presentation mode, axes, legends

def test_a_projected_map_is_shorter_with_larger_labels(obs):
    spec = charts.choropleth(obs, "arbetsmarknadsinsatser", "deltagare_unika", period="2022")
    normal, large = panel._vega(spec, False), panel._vega(spec, True)  # as the page shows them
    assert "height" not in large  # not made 1.6 times as tall: its height is the theme's
    assert large["config"]["view"]["continuousHeight"] == theme.MAP_HEIGHT_LARGE < theme.MAP_HEIGHT
    labels = next(layer for layer in large["layer"] if layer["mark"]["type"] == "text")
    assert labels["mark"]["style"] == theme.MAP_LABEL and "fontSize" not in labels["mark"]  # sized by the theme
    assert large["config"]["style"][theme.MAP_LABEL]["size"] > normal["config"]["style"][theme.MAP_LABEL]["size"]
    # drawn: the projected map is shorter than the one on the page, with larger figures on it
    heights = {}
    for big in (False, True):
        svg = export.chart_svg(theme.apply(spec.chart, large=big)).decode()
        heights[big] = float(re.search(r'<svg[^>]* height="([\d.]+)"', svg).group(1))
        assert f'font-size="{20 if big else 12}px"' in svg or f"font-size: {20 if big else 12}px" in svg
    assert heights[True] < heights[False]
    # other charts still grow on a projector
    line = charts.trend(obs, "jobbtorg", "inskrivna", group="Försörjningsstöd")
    assert panel._vega(line, True)["height"] == round(380 * theme.TALLER)


def test_value_axis_labels_are_not_flushed_off_their_gridlines():
    # Streamlit's theme sets labelFlush on every axis; ours turns it off for y (the value axis of line charts)
    for large in (False, True):
        assert theme.config(large)["axisY"]["labelFlush"] is False


def test_target_chart_legend_lists_only_drawn_genders(obs):
    # feriejobb i stadens regi: kvinnor and män only as 0 (T1 2021), totalt 55 in 2020
    spec = charts.targets(obs, "antal_ungdomar_fatt_feriejobb_i_stadens_regi")
    outcome = panel.to_vega_lite(spec.chart)["layer"][0]
    assert outcome["encoding"]["color"]["scale"]["domain"] == ["totalt"]
    assert len(spec.table.frame.filter(pl.col("Avser").is_in(["Kvinnor", "Män"]))) == 2  # still in the table


def test_line_chart_legend_leaves_out_a_gender_without_values():
    rows = [{"period": p, "area": "Stockholm", "gender": g, "value": v, "status": "suppressed" if v is None else ""}
            for p in ("2021", "2022") for g, v in (("totalt", 10), ("kvinnor", 4), ("män", None))]
    spec = charts.trend(make_obs("jobbtorg", "inskrivna", rows), "jobbtorg", "inskrivna")
    domain = panel.to_vega_lite(spec.chart)["layer"][0]["encoding"]["color"]["scale"]["domain"]
    assert domain == ["kvinnor", "totalt"]
