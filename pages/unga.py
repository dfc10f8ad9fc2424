"""Unga: the KAA chain, UVAS and outreach, and feriejobb by lov and by district x kön."""

from amnstats.ui import frame

frame.ensure()

import functools

import polars as pl
import streamlit as st

from amnstats.periods import format_period
from amnstats.ui import charts, fmt, panel, state
from amnstats.ui.memo import memo, slice_rows

st.title("Unga: KAA, UVAS och feriejobb")
obs = state.observations()


def choices(obs: pl.DataFrame) -> dict:
    """The page's filter options (kept per build by memo: not recomputed on every run)."""
    kaa = slice_rows(obs, "kaa").filter(pl.col("measure").is_in([k for k, _ in charts.KAA_STAGES]),
                                        pl.col("group") == "", pl.col("area") == "Stockholm")
    kaa_periods = kaa.sort("period_start", descending=True)["period"].unique(maintain_order=True).to_list()
    present = set(kaa.select("period", "gender").unique().rows())
    fj = slice_rows(obs, "feriejobb", "anstallda").filter(pl.col("kind") == "utfall", pl.col("area_type") == "sdo")
    lov = slice_rows(obs, "feriejobb").filter(pl.col("group").is_in(["sommarlov", "höstlov", "jullov"]),
                                              pl.col("gender") == "totalt", pl.col("kind") == "utfall")
    lperiod = lov.sort("period_end")["period"][-1] if not lov.is_empty() else None
    return {
        "kaa_periods": kaa_periods,
        "kaa_genders": {p: [g for g in ("totalt", "kvinnor", "män") if (p, g) in present] for p in kaa_periods},
        "feriejobb_periods": fj.sort("period_start", descending=True)["period"].unique(maintain_order=True).to_list(),
        "lov_period": lperiod,
        "lov_measures": [] if lperiod is None else (
            lov.filter(pl.col("period") == lperiod).group_by("measure").agg(n=pl.col("group").n_unique())
            .filter(pl.col("n") >= 2)["measure"].sort().to_list()),
    }


st.header("Kommunala aktivitetsansvaret (KAA)")
choice = memo(obs, choices)
c1, c2 = st.columns(2)
period = c1.selectbox("Period", choice["kaa_periods"], format_func=format_period, key="kaa_period",
                      bind="query-params")
# Every gender is offered whatever the period: a choice the period lacks stays chosen (and in the
# link) for the next period, while this one shows what it has and says so.
chosen = c2.selectbox("Kön", ("totalt", "kvinnor", "män"), key="kaa_kon", bind="query-params")
genders = choice["kaa_genders"].get(period, [])
gender = chosen if chosen in genders or not genders else genders[0]
if gender != chosen:
    st.info(f"Källan redovisar inte KAA-kedjan för {format_period(period)} för {chosen}; här visas {gender}.")
panel.show(charts.kaa_funnel(obs, period=period, gender=gender))

st.header("Unga som varken arbetar eller studerar (UVAS) och uppsökande arbete")
panel.show(charts.trend(obs, "uvas", "nadda", title="Unga som nåtts av uppsökande verksamhet", chart_id="uvas-nadda"))
panel.show(charts.trend(obs, "uvas", "inskrivna", title="Unga 20–29 år som skrivits in på Jobbtorg",
                        chart_id="uvas-inskrivna"))

st.header("Feriejobb")
fj_periods = choice["feriejobb_periods"]
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
if choice["lov_period"] is not None:
    lperiod, per_lov = choice["lov_period"], choice["lov_measures"]
    measure = st.selectbox("Mått per lov", per_lov,
                           format_func=functools.partial(fmt.measure_label, "feriejobb"), key="lov_matt",
                           bind="query-params")
    panel.show(charts.bars(obs, "feriejobb", measure, by="group", period=lperiod,
                           title=f"{charts.measure_of('feriejobb', measure).label_sv} per lov, {lperiod}",
                           chart_id="feriejobb-lov"))
