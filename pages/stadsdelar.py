"""Stadsdelsområden: the 13 districts on a map with ranked bars, and one district against
the city and the others across every series."""

from amnstats.ui import frame

frame.ensure()

import polars as pl
import streamlit as st

from amnstats.catalogue import districts, measures
from amnstats.numbers import format_number
from amnstats.periods import format_period
from amnstats.ui import charts, fmt, panel, state
from amnstats.ui.export import ExportTable, table_csv
from amnstats.ui.html_table import html_table
from amnstats.ui.memo import memo, slice_rows

st.title("Stadsdelsområden")
st.caption("Stockholm har 13 stadsdelsområden sedan 1 juli 2020, då Hägersten-Liljeholmen och Älvsjö "
           "slogs samman till Hägersten-Älvsjö.")
obs = state.observations()
cat = measures()


def district_rows(obs: pl.DataFrame) -> pl.DataFrame:
    return obs.filter(pl.col("area_type") == "sdo", pl.col("group") == "")


def joint_rows(obs: pl.DataFrame) -> pl.DataFrame:
    """Rows of districts the source reports together ('Kungsholmen, Norrmalm och Östermalm')."""
    return obs.filter(pl.col("area_type") == "combined", pl.col("group") == "", pl.col("gender") == "totalt")


def rank_of(values: list[float], mine: float, decimals: int) -> int:
    """1 + the number of higher values: equal values (as shown) share a rank."""
    return 1 + sum(round(v, decimals) > round(mine, decimals) for v in values)


def measure_options(obs: pl.DataFrame) -> list[str]:
    return (memo(obs, district_rows).select("series", "measure", "kind").unique().sort("series", "measure", "kind")
            .with_columns(key=pl.concat_str("series", "measure", "kind", separator="/"))["key"].to_list())


def periods_of(obs: pl.DataFrame, series: str, measure: str, kind: str) -> list[str]:
    part = memo(obs, district_rows).filter(pl.col("series") == series, pl.col("measure") == measure,
                                           pl.col("kind") == kind)
    return part.sort("period_start", descending=True)["period"].unique(maintain_order=True).to_list()


def city_value(obs: pl.DataFrame, series: str, measure: str, kind: str, period: str) -> float | None:
    city = slice_rows(obs, series, measure).filter(pl.col("kind") == kind, pl.col("area") == "Stockholm",
                                                   pl.col("period") == period, pl.col("gender") == "totalt",
                                                   pl.col("group") == "")
    return city["value"][0] if len(city) else None


def profile(obs: pl.DataFrame, district: str) -> pl.DataFrame:
    """Every district measure and period: the district's value, its rank and the city's value."""
    sdo = memo(obs, district_rows).filter(pl.col("gender") == "totalt")
    pairs = set(sdo.select("series", "measure").unique().rows())
    city = pl.concat([slice_rows(obs, s, mm) for s, mm in sorted(pairs)]).filter(
        pl.col("area") == "Stockholm", pl.col("gender") == "totalt", pl.col("group") == "")
    city_values = {(s, mm, k, p): v for s, mm, k, p, v in
                   city.select("series", "measure", "kind", "period", "value").iter_rows()}
    joint = memo(obs, joint_rows)
    rows = []
    for (s, mm, k, p), grp in sdo.group_by(["series", "measure", "kind", "period"], maintain_order=True):
        mine = grp.filter(pl.col("area") == district)
        mine = mine.row(0, named=True) if len(mine) else None
        values = grp.filter(pl.col("value").is_not_null())["value"].to_list()
        meas = cat[(s, mm)]
        cityv = city_values.get((s, mm, k, p), ...)
        if mine is not None and mine["value"] is not None:
            shown = fmt.figure_text(mine["value"], mine["status"], meas)
            rank = f"{rank_of(values, mine['value'], meas.decimals)} av {len(values)}"
            source = mine["source_label"]
        else:
            together = charts.reported_jointly(
                joint.filter(pl.col("series") == s, pl.col("measure") == mm, pl.col("kind") == k,
                             pl.col("period") == p), set()).get(district)
            if together is not None:
                shown, source = charts.joint_phrase(district, together, meas), together["source_label"]
            elif mine is not None:  # '..' kept secret, '–' not given by the source
                shown, source = fmt.figure_text(None, mine["status"], meas), mine["source_label"]
            else:
                shown, source = "uppgift saknas", ""
            rank = "–"
        rows.append({
            "Mått": meas.label_sv + ("" if k == "utfall" else f" ({k})"),
            "Period": format_period(p),
            district: shown,
            "Rang": rank,
            "Hela staden": format_number(cityv, meas.decimals, meas.unit) if cityv is not ... else "–",
            "Källa": source,
        })
    return pl.DataFrame(rows)


options = memo(obs, measure_options)


def label(key: str) -> str:
    series, measure, kind = key.split("/")
    return fmt.measure_title(series, cat[(series, measure)].label_sv) + ("" if kind == "utfall" else f" ({kind})")


c1, c2 = st.columns(2)
# a dict's own method as format_func, not `label`: a function written here keeps the page's variables
choice = c1.selectbox("Mått", options, format_func={o: label(o) for o in options}.__getitem__, key="matt",
                      bind="query-params")
series, measure, kind = choice.split("/")
periods = memo(obs, periods_of, series, measure, kind)
period = c2.selectbox("Period", periods, format_func=format_period, key="period", bind="query-params")

m = cat[(series, measure)]
ref = memo(obs, city_value, series, measure, kind, period) if not m.is_additive else None
left, right = st.columns([1, 1])
with left:
    panel.show(charts.choropleth(obs, series, measure, period=period, kind=kind, chart_id="stadsdelar-karta"))
with right:
    panel.show(charts.bars(obs, series, measure, by="area", period=period, area=None, kind=kind,
                           title=f"{m.label_sv}{charts.kind_suffix(kind)}, {format_period(period)}",
                           chart_id="stadsdelar-rangordning",
                           reference=ref, reference_label="Hela staden" if ref is not None else "",
                           area_types=("sdo",)))

st.header("Ett stadsdelsområde jämfört med staden")
district = st.selectbox("Stadsdelsområde", districts(), key="stadsdel", bind="query-params")
table = memo(obs, profile, district)
if not table.is_empty():
    st.html(html_table(table, f"{district} jämfört med hela staden, per mått och period",
                       right=[district, "Rang", "Hela staden"]))
    cited = sorted({s for s in table["Källa"].to_list() if s})
    st.download_button("Ladda ned tabellen (CSV)", key="stadsdel-csv", mime="text/csv",
                       file_name=f"stadsdelsomrade-{district.lower()}.csv",
                       data=table_csv(ExportTable(f"{district} jämfört med hela staden", table, {}, cited)))
    st.caption("Rang 1 = högst värde bland de stadsdelsområden som redovisas; lika värden delar rang. "
               "'–' betyder att källan inte anger någon uppgift, '..' att ett litet tal är skyddat. "
               "Källa per rad i tabellen.")
else:
    st.info(f"Inga uppgifter per stadsdelsområde finns för {district}.")
