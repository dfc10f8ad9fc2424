"""The sentences under the charts and the line charts' gaps and month axis: on hand-built
observations (values in the tests) and on the QA review's examples in the embedded data."""

from __future__ import annotations

import re

import polars as pl
import pytest

from amnstats import catalogue, store
from amnstats.numbers import format_number
from amnstats.periods import parse_period
from amnstats.schema import OBSERVATION_SCHEMA
from amnstats.ui import charts, export, memo, theme

NB = "\u00a0"  # format_number's thin space in thousands and before %


@pytest.fixture(autouse=True)
def _fresh():
    memo.clear()
    yield
    memo.clear()


def make_obs(series: str, measure: str, rows: list[dict]) -> pl.DataFrame:
    """Observation rows of a catalogue measure with defaults: gender totalt, area Stockholm,
    group '', kind utfall, status '', preferred."""
    areas, unit = catalogue.areas(), catalogue.measures()[(series, measure)].unit
    out = []
    for i, r in enumerate(rows):
        r = {"gender": "totalt", "area": "Stockholm", "group": "", "kind": "utfall", "target_setter": "",
             "status": "", **r}
        p = parse_period(r["period"])
        out.append({**r, "series": series, "measure": measure, "unit": unit,
                    "area_type": areas[r["area"]].area_type if r["area"] in areas else "other",
                    "period_start": p.start, "period_end": p.end, "period_type": p.type, "dataset": "test",
                    "source": f"test#L{i + 1}", "source_label": f"Test, rad {i + 1}", "note": "",
                    "has_conflict": False, "is_preferred": True,
                    "value": None if r.get("value") is None else float(r["value"])})
    return pl.DataFrame(out, schema=OBSERVATION_SCHEMA).select(OBSERVATION_SCHEMA.names())


def plain(text: str) -> str:
    return text.replace(NB, " ")


def by_gender(period: str, values: dict[str, float], **kw) -> list[dict]:
    return [{"period": period, "gender": g, "value": v, **kw} for g, v in values.items()]


# ----------------------------------------------------------------- women and men without a total

def test_one_bar_label_with_women_and_men_describes_both_and_a_year_earlier():
    obs = make_obs("jobbtorg", "avslut_arbete_andel", by_gender("2023", {"kvinnor": 50.4, "män": 60.6})
                   + by_gender("2022", {"kvinnor": 52.9, "män": 56.6, "totalt": 54.0}))
    spec = charts.bars(obs, "jobbtorg", "avslut_arbete_andel", by="area", period="2023", area=None,
                       genders=("kvinnor", "män", "totalt"))
    assert plain(spec.sentence) == ("Andelen avslut till arbete i Stockholm var 50,4 % bland kvinnor och 60,6 % "
                                    "bland män under 2023. Under 2022 var motsvarande värden 52,9 % och 56,6 %.")


def test_a_trend_without_a_total_names_both_genders():
    rows = [r for month in ("2024-11", "2024-12")
            for r in by_gender(month, {"kvinnor": 11.1, "män": 9.0}, group="20-64 år, utrikes födda")]
    obs = make_obs("unemployment", "arbetsloshet_bas", rows)
    spec = charts.trend(obs, "unemployment", "arbetsloshet_bas", group="20-64 år, utrikes födda")
    assert plain(spec.sentence) == ("Arbetslösheten (20-64 år, utrikes födda) i Stockholm var 11,1 % bland kvinnor "
                                    "och 9,0 % bland män i december 2024.")
    single = charts.trend(obs.filter(pl.col("period") == "2024-12"), "unemployment", "arbetsloshet_bas",
                          group="20-64 år, utrikes födda")
    assert "11,1 % bland kvinnor och 9,0 % bland män" in plain(single.sentence)


def test_women_and_men_in_different_latest_periods_each_get_their_period():
    obs = make_obs("unemployment", "arbetsloshet_bas", by_gender("2023-07", {"kvinnor": 9.8, "män": 8.0})
                   + by_gender("2024-12", {"kvinnor": 11.1}))
    s = plain(charts.trend(obs, "unemployment", "arbetsloshet_bas").sentence)
    assert s == "Arbetslösheten i Stockholm var 11,1 % bland kvinnor i december 2024 och 8,0 % bland män i juli 2023."


def test_counts_without_a_total_are_ranked_by_women_and_men_summed():
    # by men alone Farsta (800) would be highest; summed, Rinkeby-Kista (1 432) is
    obs = make_obs("feriejobb", "anstallda", [
        *by_gender("2022", {"kvinnor": 735, "män": 697}, area="Rinkeby-Kista"),
        *by_gender("2022", {"kvinnor": 100, "män": 800}, area="Farsta"),
        *by_gender("2022", {"kvinnor": 40, "män": 39}, area="Utbildningsnämnden"),
    ])
    spec = charts.bars(obs, "feriejobb", "anstallda", by="area", period="2022", area=None,
                       genders=("kvinnor", "män"))
    assert plain(spec.sentence) == (
        "Feriejobb: anställda 2022, kvinnor och män sammanlagt: "
        "högst i Rinkeby-Kista (1 432: 735 kvinnor och 697 män) "
        "och lägst i Utbildningsnämnden (79: 40 kvinnor och 39 män) bland förvaltningarna som redovisas.")
    y = spec.chart.to_dict(validate=False)["layer"][0]["encoding"]["y"]
    assert y["sort"] == ["Rinkeby-Kista", "Farsta", "Utbildningsnämnden"]  # the bars in the sentence's order


def test_shares_without_a_total_are_ranked_per_gender():
    obs = make_obs("unemployment", "arbetslosa_andel", [
        *by_gender("2022-12", {"kvinnor": 10.0, "män": 12.0}, area="Rinkeby-Kista"),
        *by_gender("2022-12", {"kvinnor": 11.0, "män": 3.0}, area="Skärholmen"),
        *by_gender("2022-12", {"kvinnor": 2.0, "män": 4.0}, area="Bromma"),
    ])
    spec = charts.bars(obs, "unemployment", "arbetslosa_andel", by="area", period="2022-12", area=None,
                       genders=("kvinnor", "män"))
    assert plain(spec.sentence) == (
        "Arbetslösa (andel) dec 2022: bland kvinnor högst i Skärholmen (11,0 %) och lägst i Bromma (2,0 %), "
        "bland män högst i Rinkeby-Kista (12,0 %) och lägst i Skärholmen (3,0 %).")


def test_the_qa_examples_in_the_embedded_data_name_both_genders():
    obs = store.load_observations()
    avslut = charts.bars(obs, "jobbtorg", "avslut_arbete_andel", by="area", period="2023", area=None,
                         genders=("kvinnor", "män", "totalt"))
    assert "bland kvinnor och" in avslut.sentence and "bland män" in avslut.sentence
    feriejobb = charts.bars(obs, "feriejobb", "anstallda", by="area", period="2022", area=None,
                            genders=("kvinnor", "män"), area_types=("sdo", "other"))
    rk = {r["gender"]: r["value"] for r in obs.filter(
        pl.col("series") == "feriejobb", pl.col("measure") == "anstallda", pl.col("period") == "2022",
        pl.col("area") == "Rinkeby-Kista").iter_rows(named=True)}
    assert (f"högst i Rinkeby-Kista ({format_number(rk['kvinnor'] + rk['män'], 0)}: "
            f"{format_number(rk['kvinnor'], 0)} kvinnor och {format_number(rk['män'], 0)} män)") in feriejobb.sentence
    utrikes = charts.trend(obs, "unemployment", "arbetsloshet_bas", group="20-64 år, utrikes födda")
    assert "bland kvinnor och" in utrikes.sentence and "bland män" in utrikes.sentence


# ----------------------------------------------------------------- budgets, forecasts, targets

def test_a_budget_is_not_written_as_an_outcome():
    obs = make_obs("sfi", "helarsplatser", [{"period": "2026", "value": 5800, "kind": "budget",
                                              "group": "reguljär sfi"}])
    spec = charts.bars(obs, "sfi", "helarsplatser", by="group", period="2026", kind="budget")
    assert plain(spec.sentence) == ("Budgeten för antalet helårsplatser i sfi (reguljär sfi) i Stockholm "
                                    "är 5 800 för 2026.")


def test_a_ranking_and_a_map_of_budgets_say_budget():
    districts = {"Södermalm": 40, "Bromma": 10, "Rinkeby-Kista": 0}
    obs = make_obs("arbetsmarknadsinsatser", "osa_platser",
                   [{"period": "2022", "value": v, "area": a, "kind": "budget"} for a, v in districts.items()])
    ranking = charts.bars(obs, "arbetsmarknadsinsatser", "osa_platser", by="area", period="2022", area=None,
                          kind="budget")
    assert ranking.sentence.startswith("OSA-platser (budget) 2022: högst i Södermalm (40)")
    karta = charts.choropleth(obs, "arbetsmarknadsinsatser", "osa_platser", period="2022", kind="budget")
    assert karta.title == "OSA-platser (budget) per stadsdelsområde, 2022"
    assert karta.sentence.startswith("OSA-platser (budget) 2022 var högst i Södermalm (40) "
                                     "och lägst i Rinkeby-Kista (0).")


# ----------------------------------------------------------------- ties, varav groups, names

def test_every_label_that_shows_the_lowest_value_is_named():
    values = {"Rinkeby-Kista": 11.5, "Bromma": 2.0, "Kungsholmen": 2.04, "Hägersten-Älvsjö": 1.96, "Farsta": 5.0}
    obs = make_obs("unemployment", "arbetslosa_andel", [{"period": "2022-12", "value": v, "area": a,
                                                         "status": "approximate" if v < 3 else ""}
                                                        for a, v in values.items()])
    spec = charts.bars(obs, "unemployment", "arbetslosa_andel", by="area", period="2022-12", area=None)
    assert plain(spec.sentence) == ("Arbetslösa (andel) dec 2022: högst i Rinkeby-Kista (11,5 %) och lägst i "
                                    "Bromma, Hägersten-Älvsjö och Kungsholmen (cirka 2,0 %) "
                                    "bland stadsdelsområdena som redovisas.")
    karta = charts.choropleth(obs, "unemployment", "arbetslosa_andel", period="2022-12")
    assert "lägst i Bromma, Hägersten-Älvsjö och Kungsholmen (cirka 2,0 %)" in plain(karta.sentence)


def test_more_than_three_tied_labels_are_capped_with_med_flera():
    values = {"Rinkeby-Kista": 9.0, "Bromma": 2.0, "Kungsholmen": 2.0, "Farsta": 2.0, "Norrmalm": 2.0}
    obs = make_obs("unemployment", "arbetslosa_andel",
                   [{"period": "2022-12", "value": v, "area": a} for a, v in values.items()])
    spec = charts.bars(obs, "unemployment", "arbetslosa_andel", by="area", period="2022-12", area=None)
    assert "lägst i Bromma, Farsta, Kungsholmen med flera (2,0 %)" in plain(spec.sentence)


def test_one_value_everywhere_is_said_once():
    obs = make_obs("kaa", "omfattade_andel", [{"period": "2023", "value": 10, "area": "Bromma"}])
    karta = charts.choropleth(obs, "kaa", "omfattade_andel", period="2023")
    assert plain(karta.sentence).startswith("KAA: andel av 16-19-åringar som omfattas 2023 var 10 % i Bromma.")


def test_riket_is_lower_case_inside_a_sentence_and_districts_are_not():
    values = {"Riket": 6.7, "Stockholms län": 6.3, "Stockholm": 6.3}
    obs = make_obs("unemployment", "arbetslosa_andel",
                   [{"period": "2022-12", "value": v, "area": a} for a, v in values.items()])
    spec = charts.bars(obs, "unemployment", "arbetslosa_andel", by="area", period="2022-12", area=None)
    assert plain(spec.sentence) == ("Arbetslösa (andel) dec 2022: högst i riket (6,7 %) och lägst i Stockholm och "
                                    "Stockholms län (6,3 %) bland områdena som redovisas.")


def test_varav_groups_are_left_out_of_the_ranking_sentence():
    groups = {"Försörjningsstöd": 3237, "Stockholmsjobb": 1063, "varav LSS, socialpsykiatri, gymnasiesärskola": 490}
    obs = make_obs("jobbtorg", "inskrivna", [{"period": "2023", "value": v, "group": g} for g, v in groups.items()])
    spec = charts.bars(obs, "jobbtorg", "inskrivna", by="group", period="2023")
    assert plain(spec.sentence) == ("Inskrivna på Jobbtorg 2023: högst för Försörjningsstöd (3 237) och lägst för "
                                    "Stockholmsjobb (1 063) bland grupperna som redovisas.")
    assert len(spec.table.frame) == 3  # the chart and its table still show the subgroup


# ----------------------------------------------------------------- line charts: gaps and month axis

def _monthly(months: dict[str, list[str]], group: str = "") -> pl.DataFrame:
    rows = [{"period": p, "gender": g, "value": 10.0 + i % 3, "group": group}
            for g, periods in months.items() for i, p in enumerate(periods)]
    return make_obs("unemployment", "arbetsloshet_bas", rows)


def _months(first: str, n: int) -> list[str]:
    y, m = map(int, first.split("-"))
    return [f"{y + (m - 1 + i) // 12}-{(m - 1 + i) % 12 + 1:02d}" for i in range(n)]


def _svg(spec) -> str:
    return export.chart_svg(theme.apply(spec.chart)).decode("utf-8")


def _line_paths(svg: str, color: str) -> list[str]:
    return re.findall(rf'<path aria-hidden="true" d="([^"]*)" stroke="{color}"', svg)


def test_a_line_breaks_where_months_are_missing():
    # women: 31 months to jul 2023, then dec 2024 after 16 missing months; men: dec 2024 only
    obs = _monthly({"kvinnor": _months("2021-01", 31) + ["2024-12"], "män": ["2024-12"]})
    spec = charts.trend(obs, "unemployment", "arbetsloshet_bas")
    women = _line_paths(_svg(spec), theme.GENDER_COLORS["kvinnor"])
    assert len(women) == 1 and women[0].count("M") == 2, women  # two runs, nothing drawn across the gap
    assert spec.table.frame.height == 33  # the table has the observations only, no filler rows


def test_a_value_between_gaps_is_drawn_as_a_point_on_a_long_series():
    obs = _monthly({"kvinnor": _months("2020-01", 48) + ["2024-12"], "män": ["2024-12"]})
    spec = charts.trend(obs, "unemployment", "arbetsloshet_bas")
    svg = _svg(spec)
    symbols = re.findall(r'<path aria-hidden="true" transform="translate\(([\d.]+),[\d.]+\)"[^>]*fill="([^"]+)"', svg)
    right = max(float(x) for x, _ in symbols)
    assert {fill for x, fill in symbols if float(x) == right} == {theme.GENDER_COLORS["kvinnor"],
                                                                  theme.GENDER_COLORS["män"]}


@pytest.mark.parametrize("n_months", [2, 5, 31, 60])
def test_the_month_axis_labels_each_month_at_most_once(n_months):
    obs = _monthly({"totalt": _months("2022-06", n_months)})
    spec = charts.trend(obs, "unemployment", "arbetsloshet_bas")
    labels = re.findall(r'<text[^>]*>((?:jan|feb|mar|apr|maj|jun|jul|aug|sep|okt|nov|dec) \d{4})</text>', _svg(spec))
    assert labels and len(labels) == len(set(labels)), labels
    assert len(labels) <= 9


def test_a_year_series_with_a_missing_year_breaks_on_a_category_axis():
    obs = make_obs("jobbtorg", "inskrivna_unika", [{"period": p, "value": v}
                                                   for p, v in (("2019", 5000), ("2020", 5100), ("2022", 6000),
                                                                ("2023", 6400))])
    spec = charts.trend(obs, "jobbtorg", "inskrivna_unika", period_type="year")
    x = spec.chart.to_dict(validate=False)["layer"][0]["encoding"]["x"]
    assert x["sort"] == ["2019", "2020", "2021", "2022", "2023"]  # the missing year has its place
    totals = _line_paths(_svg(spec), theme.GENDER_COLORS["totalt"])
    assert len(totals) == 1 and totals[0].count("M") == 2


# ----------------------------------------------------------------- Mål och utfall

def _legends(spec: dict) -> dict[str, list]:
    """Legend title -> its domain, for every colour or shape scale of a layered chart."""
    out: dict[str, list] = {}
    for layer in spec.get("layer", [spec]):
        for channel in ("color", "shape"):
            enc = layer.get("encoding", {}).get(channel)
            if isinstance(enc, dict) and enc.get("legend", {}) is not None and "scale" in enc:
                out.setdefault(enc.get("title", channel), enc["scale"]["domain"])
    return out


def test_a_target_chart_lists_only_what_it_draws_and_keeps_missing_years_on_its_axis():
    measure = next(m for (s, m), x in catalogue.measures().items() if s == "indicator" and x.unit == "procent")
    obs = make_obs("indicator", measure, [
        {"period": "2021", "value": 70.0}, {"period": "2024", "value": 74.0},
        {"period": "2024", "value": 72.0, "kind": "målvärde", "target_setter": "nämnden"}])
    spec = charts.targets(obs, measure).chart.to_dict()
    legends = _legends(spec)
    assert legends["Utfall"] == ["totalt"]  # no Kvinnor and Män where only totalt is drawn
    assert legends["Mål"] == ["Nämndens mål"]  # no KF:s mål where the chart has none
    x_domains = [layer["encoding"]["x"]["scale"]["domain"] for layer in spec["layer"]
                 if "scale" in layer["encoding"]["x"]]
    assert x_domains and all(d == ["2021", "2022", "2023", "2024"] for d in x_domains)
    assert any(layer["mark"]["type"] == "tick" for layer in spec["layer"])  # the target across the period's bars


def test_gender_scale_keeps_each_genders_colour_for_the_genders_drawn():
    full, women_total = theme.gender_scale().to_dict(), theme.gender_scale(["totalt", "kvinnor"]).to_dict()
    assert women_total["domain"] == ["kvinnor", "totalt"]
    colour = dict(zip(full["domain"], full["range"]))
    assert women_total["range"] == [colour["kvinnor"], colour["totalt"]]


def test_a_source_with_a_figure_printed_twice_with_different_values_says_so():
    shown = pl.DataFrame({"source_label": ["Arbetsmarknadsrapport 2022, rad 2054", "Arbetsmarknadsrapport 2022, rad 2101",
                                           "Verksamhetsberättelse 2023, rad 77"],
                          "value": [9527.0, 100.0, 11000.0], "has_conflict": [True, False, False]})
    assert charts.sources_of(shown) == [
        f"Arbetsmarknadsrapport 2022, rad 2054, 2101 ({charts.DISPUTED_SV})", "Verksamhetsberättelse 2023, rad 77"]
    assert charts.sources_of(shown.drop("has_conflict"))[0] == "Arbetsmarknadsrapport 2022, rad 2054, 2101"


def test_a_ranking_of_the_holidays_speaks_of_loven():
    per_lov = {"sommarlov": 15929.0, "höstlov": 2311.0, "jullov": 1548.0}  # Arbetsmarknadsrapport 2022, line 2101
    obs = make_obs("feriejobb", "ansokningar", [{"period": "2022", "value": v, "group": g} for g, v in per_lov.items()])
    spec = charts.bars(obs, "feriejobb", "ansokningar", by="group", period="2022")
    assert plain(spec.sentence).endswith("högst för sommarlov (15 929) och lägst för jullov (1 548) bland loven som redovisas.")
