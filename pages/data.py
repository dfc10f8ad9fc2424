"""Data och källor: every observation, filterable, with its source."""

from amnstats.ui import frame

frame.ensure()

import polars as pl
import streamlit as st

from amnstats.catalogue import NO_VALUE_TEXT, SERIES_LABELS, STATUS_SV, measures
from amnstats.numbers import format_number
from amnstats.periods import format_period
from amnstats.ui import state
from amnstats.ui.memo import memo, slice_rows

st.title("Data och källor")
st.write("Alla värden i amnstats, ett per rad, med källa (dokument och rad, fil och rad).")

obs = state.observations(preferred_only=False)
cat = measures()


def series_present(obs: pl.DataFrame) -> list[str]:
    return [s for s in SERIES_LABELS if not slice_rows(obs, s).is_empty()]


def measures_of(obs: pl.DataFrame, series: str) -> list[str]:
    return sorted(slice_rows(obs, series)["measure"].unique().to_list(), key=lambda m: cat[(series, m)].label_sv)


def areas_of(obs: pl.DataFrame, series: str, measure: str) -> list[str]:
    """The areas of the chosen measure (or of all the series' measures)."""
    return sorted(slice_rows(obs, series, None if measure == "(alla)" else measure)["area"].unique().to_list())


def data_table(obs: pl.DataFrame, series: str, measure: str, area: str, gender: str):
    """The chosen rows as the page shows them (a pandas frame for st.dataframe), or None."""
    part = slice_rows(obs, series, None if measure == "(alla)" else measure)
    if area != "(alla)":
        part = part.filter(pl.col("area") == area)
    if gender != "(alla)":
        part = part.filter(pl.col("gender") == gender)
    if part.is_empty():
        return None
    rows = part.sort("measure", "area", "group", "gender", "period_start")
    decimals = {k: m.decimals for k, m in cat.items()}
    units = {k: m.unit for k, m in cat.items()}
    return pl.DataFrame({
        "Mått": [cat[(s, m)].label_sv for s, m in zip(rows["series"], rows["measure"])],
        "Period": [format_period(p) for p in rows["period"]],
        "Område": rows["area"], "Kön": rows["gender"], "Grupp": rows["group"],
        "Värde": [format_number(v, decimals[(s, m)], units[(s, m)]) if v is not None else NO_VALUE_TEXT.get(st_, "..")
                  for v, s, m, st_ in zip(rows["value"], rows["series"], rows["measure"], rows["status"])],
        "Typ": rows.select(pl.when(pl.col("target_setter") != "")
                           .then(pl.concat_str("kind", pl.lit(" ("), "target_setter", pl.lit(")")))
                           .otherwise("kind")).to_series(),
        "Status": rows["status"].replace_strict(STATUS_SV, default=rows["status"]), "Källa": rows["source_label"], "Anmärkning": rows["note"],
    }).to_pandas()


c1, c2, c3, c4 = st.columns(4)
series = c1.selectbox("Serie", memo(obs, series_present), format_func=SERIES_LABELS.__getitem__, key="serie",
                      bind="query-params")
measure_options = ["(alla)"] + memo(obs, measures_of, series)
measure_labels = {m: m if m == "(alla)" else cat[(series, m)].label_sv for m in measure_options}
# format_func is a dict's own method, not a lambda: a function written here would keep this page's
# variables (the store's frames) alive in the session through the widget's saved state
measure = c2.selectbox("Mått", measure_options, format_func=measure_labels.__getitem__, key="matt",
                       bind="query-params")
area = c3.selectbox("Område", ["(alla)"] + memo(obs, areas_of, series, measure), key="omrade", bind="query-params")
gender = c4.selectbox("Kön", ["(alla)", "kvinnor", "män", "totalt"], key="kon", bind="query-params")

table = memo(obs, data_table, series, measure, area, gender)
if table is None:
    st.info("Inga värden matchar urvalet.")
else:
    st.caption(f"{format_number(len(table))} värden")
    st.dataframe(table, hide_index=True, width="stretch")
