"""Översikt: the latest figure of every series, its change from a year earlier, a small
trend line, and what changed most."""

from amnstats.ui import frame

frame.ensure()

import altair as alt
import polars as pl
import streamlit as st

from amnstats.catalogue import measures
from amnstats.metrics import latest, year_on_year
from amnstats.ui import charts, fmt, panel, state, theme
from amnstats.ui.headlines import headlines
from amnstats.ui.memo import memo, slice_rows
from amnstats.ui.sentences import changes_html

st.title("Översikt")
st.write("Senaste uppgift för varje område, för hela staden, jämfört med samma period året före.")

obs = state.observations()
heads = memo(obs, headlines)
cat = measures()


def sparkline(obs: pl.DataFrame, series: str, measure: str, group: str, period_type: str) -> dict | None:
    """The Vega-Lite spec of a small trend line (kept per build by memo)."""
    sel = slice_rows(obs, series, measure).filter(
        pl.col("area") == "Stockholm", pl.col("group") == group, pl.col("gender") == "totalt",
        pl.col("kind") == "utfall", pl.col("period_type") == period_type,
        pl.col("value").is_not_null()).sort("period_start").select("period_start", "value")
    if len(sel) < 3:
        return None
    return panel.themed_vega_lite(alt.Chart(sel).mark_line(strokeWidth=2.5, color=theme.PALETTE[0]).encode(
        x=alt.X("period_start:T", axis=None), y=alt.Y("value:Q", axis=None, scale=alt.Scale(zero=False)),
    ).properties(height=50))


def biggest_changes(obs: pl.DataFrame) -> pl.DataFrame:
    """The city's latest figures against a year earlier, the largest changes first (top 6)."""
    city = obs.filter(pl.col("area") == "Stockholm", pl.col("gender") == "totalt", pl.col("kind") == "utfall",
                      pl.col("series") != "indicator")
    changes = latest(year_on_year(city)).filter(pl.col("change_abs").is_not_null())
    # a decrease compared with last year's decrease is no change a reader can use
    kept = [(k[0], k[1]) for k, m in measures().items() if not m.is_change]
    changes = changes.join(pl.DataFrame(kept, schema=["series", "measure"], orient="row"), on=["series", "measure"])
    return changes.with_columns(
        size=pl.when(pl.col("change_unit") == "procentenheter").then(pl.col("change_abs").abs())
        .otherwise(pl.col("change_pct").abs() / 10)  # 10 % of a count weighs like 1 procentenhet
    ).sort("size", descending=True, nulls_last=True).head(6)


if heads.is_empty():
    st.info("Det finns ingen statistik inläst ännu.")
else:
    cols = st.columns(3)
    for i, row in enumerate(heads.iter_rows(named=True)):
        m = cat[(row["series"], row["measure"])]
        delta = fmt.change_text(row["change_abs"], row["change_pct"], row["change_unit"], m.decimals,
                                approximate=row["status"] == "approximate")
        with cols[i % 3].container(border=True):
            st.metric(
                label=fmt.measure_title(row["series"], m.label_sv) + (f" ({row['group']})" if row["group"] else ""),
                value=("cirka " if row["status"] == "approximate" else "")
                + fmt.value_text(row["value"], row["series"], row["measure"]),
                delta=delta,
                delta_color={"lower_is_better": "inverse", "higher_is_better": "normal"}.get(m.direction, "off"),
                help=m.definition_sv,
            )
            spark = memo(obs, sparkline, row["series"], row["measure"], row["group"], row["period_type"])
            if spark is not None:
                st.vega_lite_chart(spec=spark, width="stretch", alt=f"Trend för {m.label_sv}")
            period = fmt.period_text(row["period"])
            compared = (f"jämfört med {fmt.period_text(row['period_prev'])}" if delta
                        else (row["yoy_reason"] or ""))
            st.caption(f"{period} · {compared}")
            st.caption(panel.source_line(charts.sources_of(heads.slice(i, 1))))

st.header("Störst förändring")
st.write("Stadens uppgifter för senaste period jämfört med samma period året före, störst förändring först "
         "(procentenheter för andelar, procent för antal).")
ranked = memo(obs, biggest_changes)
if ranked.is_empty():
    st.info("Inga uppgifter kan jämföras med samma period året före.")
else:
    st.html(changes_html(list(ranked.iter_rows(named=True))))

panel.show(charts.trend(obs, "unemployment", "arbetsloshet_bas", group="20-64 år",
                        title="Arbetslöshet i Stockholm, 20–64 år, per månad", chart_id="oversikt-arbetsloshet"))
