"""Stadsdelsområden: the 13 districts on a map with ranked bars, and one district against
the city and the others across every series."""

from amnstats.ui import frame

frame.ensure()

import polars as pl
import streamlit as st

from amnstats.catalogue import SERIES_LABELS, districts, measures
from amnstats.numbers import format_number
from amnstats.periods import format_period
from amnstats.ui import charts, panel, state

st.title("Stadsdelsområden")
st.caption("Stockholm har 13 stadsdelsområden sedan 1 juli 2020, då Hägersten-Liljeholmen och Älvsjö "
           "slogs samman till Hägersten-Älvsjö.")
obs = state.observations()
cat = measures()
sdo = obs.filter(pl.col("area_type") == "sdo", pl.col("group") == "")
options = (sdo.select("series", "measure", "kind").unique().sort("series", "measure", "kind")
           .with_columns(key=pl.concat_str("series", "measure", "kind", separator="/"))["key"].to_list())


def label(key: str) -> str:
    series, measure, kind = key.split("/")
    name = cat[(series, measure)].label_sv
    prefix = SERIES_LABELS[series].split()[0]
    text = name if name.lower().startswith(prefix.lower()) else f"{SERIES_LABELS[series]}: {name}"
    return text + ("" if kind == "utfall" else f" ({kind})")


c1, c2 = st.columns(2)
choice = c1.selectbox("Mått", options, format_func=label, key="matt", bind="query-params")
series, measure, kind = choice.split("/")
part = sdo.filter(pl.col("series") == series, pl.col("measure") == measure, pl.col("kind") == kind)
periods = part.sort("period_start", descending=True)["period"].unique(maintain_order=True).to_list()
period = c2.selectbox("Period", periods, format_func=format_period, key="period", bind="query-params")

city = obs.filter(pl.col("series") == series, pl.col("measure") == measure, pl.col("kind") == kind,
                  pl.col("area") == "Stockholm", pl.col("period") == period, pl.col("gender") == "totalt",
                  pl.col("group") == "")
m = cat[(series, measure)]
ref = city["value"][0] if len(city) and not m.is_additive else None
left, right = st.columns([1, 1])
with left:
    panel.show(charts.choropleth(obs, series, measure, period=period, kind=kind, chart_id="stadsdelar-karta"))
with right:
    panel.show(charts.bars(obs, series, measure, by="area", period=period, area=None, kind=kind,
                           title=f"{m.label_sv}, {format_period(period)}", chart_id="stadsdelar-rangordning",
                           reference=ref, reference_label="Hela staden" if ref is not None else "",
                           area_types=("sdo",)))

st.header("Ett stadsdelsområde jämfört med staden")
district = st.selectbox("Stadsdelsområde", districts(), key="stadsdel", bind="query-params")
rows = []
for (s, mm, k, p), grp in sdo.filter(pl.col("gender") == "totalt").group_by(
        ["series", "measure", "kind", "period"], maintain_order=True):
    mine = grp.filter(pl.col("area") == district)
    ranked = grp.filter(pl.col("value").is_not_null()).sort("value", descending=True)["area"].to_list()
    meas = cat[(s, mm)]
    cityv = obs.filter(pl.col("series") == s, pl.col("measure") == mm, pl.col("kind") == k, pl.col("period") == p,
                       pl.col("area") == "Stockholm", pl.col("gender") == "totalt", pl.col("group") == "")
    rows.append({
        "Mått": meas.label_sv + ("" if k == "utfall" else f" ({k})"),
        "Period": format_period(p),
        district: format_number(mine["value"][0], meas.decimals, meas.unit) if len(mine) else "uppgift saknas",
        "Rang": f"{ranked.index(district) + 1} av {len(ranked)}" if district in ranked else "–",
        "Hela staden": format_number(cityv["value"][0], meas.decimals, meas.unit) if len(cityv) else "–",
        "Källa": mine["source_label"][0] if len(mine) else "",
    })
if rows:
    st.dataframe(pl.DataFrame(rows).to_pandas(), hide_index=True, width="stretch")
    st.caption("Rang 1 = högst värde bland de stadsdelsområden som redovisas. Källa per rad i tabellen.")
else:
    st.info(f"Inga uppgifter per stadsdelsområde finns för {district}.")
