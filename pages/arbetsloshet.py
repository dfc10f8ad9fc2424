"""Arbetslöshet: the city against län and riket, women and men, youth and foreign-born,
and the districts ranked."""

from amnstats.ui import frame

frame.ensure()

import polars as pl
import streamlit as st

from amnstats.periods import format_period
from amnstats.ui import charts, panel, state
from amnstats.ui.memo import memo, slice_rows

st.title("Arbetslöshet")
obs = state.observations()

st.caption("Två källor: SCB:s registerbaserade arbetsmarknadsstatus (BAS, 20–64 år, månad) och "
           "Arbetsförmedlingens inskrivna arbetslösa (16–64 år) som nämndens rapporter citerar. "
           "Måtten är olika och jämförs inte med varandra.")


def choices(obs: pl.DataFrame) -> dict:
    """The page's filter options and reference values (kept per build by memo)."""
    bas = slice_rows(obs, "unemployment", "arbetsloshet_bas")
    groups = [g for g in ["20-64 år", "20-64 år, utrikes födda", "20-64 år, inrikes födda"]
              if g in set(bas["group"].to_list())]
    af = slice_rows(obs, "unemployment", "arbetslosa_andel")
    city = af.filter(pl.col("area") == "Stockholm", pl.col("gender") == "totalt", pl.col("group") == "")
    levels = af.filter(pl.col("area").is_in(["Stockholm", "Stockholms län", "Riket"]), pl.col("group") == "",
                       pl.col("gender") == "totalt")
    # the latest period where most of the three levels are reported
    best = (levels.group_by("period").agg(n=pl.col("area").n_unique(), end=pl.col("period_end").max())
            .sort("n", "end", descending=True))
    return {
        "groups": groups,
        "areas": {g: sorted(bas.filter(pl.col("group") == g)["area"].unique().to_list()) for g in groups},
        "periods": af.filter(pl.col("area_type") == "sdo").sort("period_start", descending=True)["period"].unique(
            maintain_order=True).to_list(),
        "city": dict(city.select("period", "value").unique("period", keep="first", maintain_order=True).iter_rows()),
        "period_levels": best["period"][0] if not best.is_empty() else None,
    }


choice = memo(obs, choices)
c1, c2 = st.columns(2)
group = c1.selectbox("Grupp (SCB BAS)", choice["groups"], key="grupp", bind="query-params")
area = c2.selectbox("Område (SCB BAS)", choice["areas"].get(group, []), key="omrade", bind="query-params")
panel.show(charts.trend(obs, "unemployment", "arbetsloshet_bas", area=area, group=group,
                        chart_id="arbetsloshet-bas", title=f"Arbetslöshet per månad, {area}, {group}"))

periods = choice["periods"]
if periods:
    period = st.selectbox("Period för stadsdelsområden", periods, format_func=format_period, key="period",
                          bind="query-params")
    ref = choice["city"].get(period)
    panel.show(charts.bars(obs, "unemployment", "arbetslosa_andel", by="area", period=period, area=None,
                           title=f"Arbetslösa per stadsdelsområde, {format_period(period)}",
                           chart_id="arbetsloshet-stadsdelar", reference=ref,
                           reference_label="Hela staden" if ref is not None else "", area_types=("sdo",)))

period_levels = choice["period_levels"]
if period_levels is not None:
    panel.show(charts.bars(obs, "unemployment", "arbetslosa_andel", by="area", period=period_levels, area=None,
                           genders=("kvinnor", "män", "totalt"),
                           title=f"Staden, länet och riket, {format_period(period_levels)}",
                           area_types=("city", "county", "country"),
                           chart_id="arbetsloshet-nivaer"))
