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
from amnstats.ui.memo import memo, slice_rows

st.title("Stadsdelsområden")
st.caption("Stockholm har 13 stadsdelsområden sedan 1 juli 2020, då Hägersten-Liljeholmen och Älvsjö "
           "slogs samman till Hägersten-Älvsjö.")
obs = state.observations()
cat = measures()


def district_rows(obs: pl.DataFrame) -> pl.DataFrame:
    return obs.filter(pl.col("area_type") == "sdo", pl.col("group") == "")


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
    rows = []
    for (s, mm, k, p), grp in sdo.group_by(["series", "measure", "kind", "period"], maintain_order=True):
        mine = grp.filter(pl.col("area") == district)
        ranked = grp.filter(pl.col("value").is_not_null()).sort("value", descending=True)["area"].to_list()
        meas = cat[(s, mm)]
        cityv = city_values.get((s, mm, k, p), ...)
        rows.append({
            "Mått": meas.label_sv + ("" if k == "utfall" else f" ({k})"),
            "Period": format_period(p),
            district: format_number(mine["value"][0], meas.decimals, meas.unit) if len(mine) else "uppgift saknas",
            "Rang": f"{ranked.index(district) + 1} av {len(ranked)}" if district in ranked else "–",
            "Hela staden": format_number(cityv, meas.decimals, meas.unit) if cityv is not ... else "–",
            "Källa": mine["source_label"][0] if len(mine) else "",
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
    st.dataframe(table.to_pandas(), hide_index=True, width="stretch")
    st.caption("Rang 1 = högst värde bland de stadsdelsområden som redovisas. Källa per rad i tabellen.")
else:
    st.info(f"Inga uppgifter per stadsdelsområde finns för {district}.")
