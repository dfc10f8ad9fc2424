"""Översikt: the latest figure of every series and its change from a year earlier."""

from amnstats.ui import frame

frame.ensure()

import altair as alt
import polars as pl
import streamlit as st

from amnstats.catalogue import SERIES_LABELS, measures
from amnstats.ui import fmt, state
from amnstats.ui.headlines import headlines

st.title("Översikt")
st.write("Senaste uppgift för varje område, för hela staden, jämfört med samma period året före.")

obs = state.observations()
heads = headlines(obs)
cat = measures()

if heads.is_empty():
    st.info("Det finns ingen statistik inläst ännu.")
else:
    cols = st.columns(3)
    for i, row in enumerate(heads.iter_rows(named=True)):
        m = cat[(row["series"], row["measure"])]
        delta = fmt.change_text(row["change_abs"], row["change_pct"], row["change_unit"], m.decimals)
        with cols[i % 3].container(border=True):
            st.metric(
                label=f"{SERIES_LABELS[row['series']]}: {m.label_sv}" + (f" ({row['group']})" if row["group"] else ""),
                value=fmt.value_text(row["value"], row["series"], row["measure"]),
                delta=delta,
                delta_color={"lower_is_better": "inverse", "higher_is_better": "normal"}.get(m.direction, "off"),
                help=m.definition_sv,
            )
            period = fmt.period_text(row["period"])
            compared = (f"jämfört med {fmt.period_text(row['period_prev'])}" if delta
                        else (row["yoy_reason"] or ""))
            st.caption(f"{period} · {compared}")
            st.caption(f"Källa: {row['source_label']}")

st.subheader("Arbetslöshet i Stockholm, 20–64 år, per månad")
unemp = obs.filter(pl.col("measure") == "arbetsloshet_bas", pl.col("area") == "Stockholm",
                   pl.col("group") == "20-64 år")
if unemp.is_empty():
    st.info("Inga månadsuppgifter om arbetslöshet finns inlästa.")
else:
    chart_data = unemp.select(
        Månad=pl.col("period_start"), Kön=pl.col("gender"), Arbetslöshet=pl.col("value"),
    ).to_pandas()
    chart = (
        alt.Chart(chart_data)
        .mark_line(strokeWidth=3)
        .encode(
            x=alt.X("Månad:T", title=None, axis=alt.Axis(format="%b %Y")),
            y=alt.Y("Arbetslöshet:Q", title="Arbetslöshet (%)"),
            color=alt.Color("Kön:N", scale=alt.Scale(domain=["kvinnor", "män", "totalt"],
                                                     range=["#8f2d56", "#1f6f8b", "#404040"])),
            tooltip=["Månad:T", "Kön:N", alt.Tooltip("Arbetslöshet:Q", format=".1f")],
        )
        .properties(height=320)
    )
    st.altair_chart(chart, width="stretch")
    sources = unemp["source_label"].str.replace(r", rad \d+$", "").unique().sort().to_list()
    st.caption("Källa: " + "; ".join(sources))
