"""Unga: the KAA chain, UVAS and outreach, and feriejobb by lov and by district x kön."""

from amnstats.ui import frame

frame.ensure()

import polars as pl
import streamlit as st

from amnstats.periods import format_period
from amnstats.ui import charts, panel, state
from amnstats.ui.memo import slice_rows

st.title("Unga: KAA, UVAS och feriejobb")
obs = state.observations()

st.header("Kommunala aktivitetsansvaret (KAA)")
kaa = slice_rows(obs, "kaa").filter(pl.col("measure").is_in([k for k, _ in charts.KAA_STAGES]),
                 pl.col("group") == "", pl.col("area") == "Stockholm")
periods = kaa.sort("period_start", descending=True)["period"].unique(maintain_order=True).to_list()
c1, c2 = st.columns(2)
period = c1.selectbox("Period", periods, format_func=format_period, key="kaa_period", bind="query-params")
genders = [g for g in ("totalt", "kvinnor", "män") if g in set(kaa.filter(pl.col("period") == period)["gender"])]
gender = c2.selectbox("Kön", genders, key="kaa_kon", bind="query-params")
panel.show(charts.kaa_funnel(obs, period=period, gender=gender))

st.header("Unga som varken arbetar eller studerar (UVAS) och uppsökande arbete")
panel.show(charts.trend(obs, "uvas", "nadda", title="Unga som nåtts av uppsökande verksamhet", chart_id="uvas-nadda"))
panel.show(charts.trend(obs, "uvas", "inskrivna", title="Unga 20–29 år som skrivits in på Jobbtorg",
                        chart_id="uvas-inskrivna"))

st.header("Feriejobb")
fj = slice_rows(obs, "feriejobb", "anstallda").filter(pl.col("kind") == "utfall")
fj_periods = fj.filter(pl.col("area_type") == "sdo").sort("period_start", descending=True)["period"].unique(
    maintain_order=True).to_list()
if fj_periods:
    fperiod = st.selectbox("År (feriejobb per stadsdelsområde)", fj_periods, format_func=format_period,
                           key="feriejobb_ar", bind="query-params")
    left, right = st.columns(2)
    with left:
        panel.show(charts.choropleth(obs, "feriejobb", "anstallda", period=fperiod, chart_id="feriejobb-karta"))
    with right:
        panel.show(charts.bars(obs, "feriejobb", "anstallda", by="area", period=fperiod, area=None,
                               genders=("kvinnor", "män"), title=f"Feriejobb per förvaltning och kön, {fperiod}",
                               area_types=("sdo", "other"),
                               chart_id="feriejobb-stadsdelar"))
lov = slice_rows(obs, "feriejobb").filter(pl.col("group").is_in(["sommarlov", "höstlov", "jullov"]),
                 pl.col("gender") == "totalt", pl.col("kind") == "utfall")
if not lov.is_empty():
    lperiod = lov.sort("period_end")["period"][-1]
    per_lov = (lov.filter(pl.col("period") == lperiod).group_by("measure").agg(n=pl.col("group").n_unique())
               .filter(pl.col("n") >= 2)["measure"].sort().to_list())
    measure = st.selectbox("Mått per lov", per_lov,
                           format_func=lambda m: charts.measure_of("feriejobb", m).label_sv, key="lov_matt",
                           bind="query-params")
    panel.show(charts.bars(obs, "feriejobb", measure, by="group", period=lperiod,
                           title=f"{charts.measure_of('feriejobb', measure).label_sv} per lov, {lperiod}",
                           chart_id="feriejobb-lov"))
