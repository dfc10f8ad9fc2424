"""Jobbtorg Stockholm: inskrivna by målgrupp x kön x år, unique individuals, and outcomes against targets."""

from amnstats.ui import frame

frame.ensure()

import functools

import polars as pl
import streamlit as st

from amnstats.periods import format_period
from amnstats.ui import charts, fmt, panel, state
from amnstats.ui.memo import memo, slice_rows
from amnstats.ui.sentences import names

st.title("Jobbtorg Stockholm")
st.caption("Inskrivna per målgrupp räknas per målgrupp (en person kan stå i flera); unika individer räknar "
           "varje person en gång. Verksamhetssystemet byttes till VERA 2023.")
obs = state.observations()
kinds = {"year": "Helår", "months": "Del av år (t.ex. jan–mar)"}


def choices(obs: pl.DataFrame) -> dict:
    """The page's filter options per period type (kept per build by memo)."""
    jt = slice_rows(obs, "jobbtorg").filter(pl.col("area") == "Stockholm")
    insk = jt.filter(pl.col("measure") == "inskrivna", pl.col("group") != "", pl.col("kind") == "utfall")
    out: dict = {"available": [k for k in kinds if k in set(insk["period_type"].to_list())], "periods": {},
                 "default": {}, "groups": {}, "avslut": {}, "partial": {}}
    for ptype in out["available"]:
        typed = insk.filter(pl.col("period_type") == ptype)
        periods = typed.sort("period_start", descending=True)["period"].unique(maintain_order=True).to_list()
        # default: the latest period with the whole målgrupp table, not a lone figure from running text
        full = typed.group_by("period").agg(n=pl.col("group").n_unique()).filter(pl.col("n") >= 3)["period"].to_list()
        out["periods"][ptype] = periods
        out["default"][ptype] = next((i for i, p in enumerate(periods) if p in full), 0)
        out["partial"].update({p: sorted(typed.filter(pl.col("period") == p)["group"].unique().to_list())
                               for p in periods if p not in full})
        out["groups"][ptype] = sorted(typed["group"].unique().to_list())
    for measure in ("avslut_arbete_studier_andel", "avslut_arbete_andel", "avslut_studier_andel"):
        sel = jt.filter(pl.col("measure") == measure, pl.col("group") == "", pl.col("kind") == "utfall")
        if not sel.is_empty():
            out["avslut"][measure] = sel.sort("period_end")["period"][-1]
    out["indicators"] = [m for m in slice_rows(obs, "indicator")["measure"].unique().sort().to_list()
                         if "jobbtorg" in m or "aspirant" in m]
    return out


choice = memo(obs, choices)
c1, c2 = st.columns(2)
ptype = c1.selectbox("Periodtyp", choice["available"], format_func=kinds.get, key="periodtyp", bind="query-params")
periods = choice["periods"].get(ptype, [])
period = c2.selectbox("Period", periods, index=choice["default"].get(ptype, 0), format_func=format_period,
                      key="period", bind="query-params")

if period in choice["partial"]:  # e.g. 2024: one målgrupp from the plan's running text, no table
    st.info(f"För {format_period(period)} finns ingen tabell över alla målgrupper; källan nämner bara "
            f"{names(choice['partial'][period], cap=5)}.")
panel.show(charts.bars(obs, "jobbtorg", "inskrivna", by="group", period=period, genders=("kvinnor", "män", "totalt"),
                       title=f"Inskrivna per målgrupp och kön, {format_period(period)}", chart_id="jobbtorg-malgrupp"))

groups = choice["groups"].get(ptype, [])
group = st.selectbox("Målgrupp över tid", groups, key="malgrupp", bind="query-params")
panel.show(charts.trend(obs, "jobbtorg", "inskrivna", group=group, period_type=ptype,
                        title=f"Inskrivna över tid: {group}", chart_id="jobbtorg-malgrupp-tid"))

panel.show(charts.trend(obs, "jobbtorg", "inskrivna_unika", period_type=ptype,
                        title="Inskrivna unika individer", chart_id="jobbtorg-unika"))

for measure, title in [("avslut_arbete_studier_andel", "Avslut till arbete eller studier"),
                       ("avslut_arbete_andel", "Avslut till arbete"), ("avslut_studier_andel", "Avslut till studier")]:
    if measure not in choice["avslut"]:
        continue
    last = choice["avslut"][measure]
    panel.show(charts.bars(obs, "jobbtorg", measure, by="area", period=last, area=None,
                           genders=("kvinnor", "män", "totalt"), title=f"{title}, {format_period(last)}",
                           chart_id=f"jobbtorg-{measure}"))

indicators = choice["indicators"]
if indicators:
    st.subheader("Indikatorer för Jobbtorg")
    ind = st.selectbox("Indikator", indicators, format_func=functools.partial(fmt.measure_label, "indicator"),
                       key="indikator", bind="query-params")
    panel.show(charts.targets(obs, ind, doubtful=state.doubtful_sources()))
