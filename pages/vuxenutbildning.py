"""Vuxenutbildning: sfi and komvux volumes and results by kön and nivå."""

from amnstats.ui import frame

frame.ensure()

import functools

import polars as pl
import streamlit as st

from amnstats.ui import charts, fmt, panel, state
from amnstats.ui.memo import memo, slice_rows

st.title("Vuxenutbildning: sfi och komvux")
st.caption("Volymtabellerna per skolform och kön var bilder i rapporterna och finns inte i texten; "
           "här visas de volymer som står i texten och resultatindikatorerna.")
obs = state.observations()


def choices(obs: pl.DataFrame) -> dict:
    """Per school form: the period type of its pupil series and the latest budget period;
    the result indicators (kept per build by memo)."""
    out: dict = {}
    for series in ("sfi", "komvux"):
        part = slice_rows(obs, series).filter(pl.col("area") == "Stockholm", pl.col("group") == "",
                                              pl.col("measure") == "elever")
        plats = slice_rows(obs, series, "helarsplatser")
        out[series] = {
            "period_type": (charts.pick_period_type(part.filter(pl.col("period_type") == "year"))
                            or charts.pick_period_type(part)),
            "budget_period": plats.sort("period_end")["period"][-1] if not plats.is_empty() else None,
        }
    out["results"] = [m for m in slice_rows(obs, "indicator")["measure"].unique().sort().to_list()
                      if any(w in m for w in ("sfi", "vuxenutbildning", "komvux", "kursdeltagare"))]
    return out


choice = memo(obs, choices)
for series, name in (("sfi", "Sfi"), ("komvux", "Komvux")):
    st.header(name)
    panel.show(charts.trend(obs, series, "elever", genders=("totalt",), title=f"Elever i {name.lower()}",
                            chart_id=f"{series}-elever", period_type=choice[series]["period_type"]))
    p = choice[series]["budget_period"]
    if p is not None:
        panel.show(charts.bars(obs, series, "helarsplatser", by="group", period=p, kind="budget",
                               title=f"Budgeterade helårsplatser {name.lower()}, {p}", chart_id=f"{series}-platser"))

st.header("Resultat")
results = choice["results"]
if results:
    ind = st.selectbox("Indikator", results, format_func=functools.partial(fmt.measure_label, "indicator"),
                       key="indikator", bind="query-params")
    panel.show(charts.targets(obs, ind, doubtful=state.doubtful_sources()))
else:
    st.info("Inga resultatindikatorer för vuxenutbildningen finns inlästa.")
