"""Om data: every dataset with its source, licence, date, number of values and known
inconsistencies; every measure's definition."""

from amnstats.ui import frame

frame.ensure()

import json

import polars as pl
import streamlit as st

from amnstats.catalogue import SERIES_LABELS, UNITS, measures
from amnstats.geo import attribution
from amnstats.numbers import format_number
from amnstats.ui import state

st.title("Om data")
st.write("amnstats samlar nämndens egna rapporter, SCB:s statistik och analytikers uppladdningar i en tabell "
         "med ett värde per rad. Varje värde har sin källa: dokument och rad, fil och rad eller API-anrop.")

datasets = state.datasets()
st.header("Dataset")
for d in datasets.sort("date", descending=True, nulls_last=True).iter_rows(named=True):
    with st.expander(f"{d['title']} ({format_number(d['n_values'] or 0)} värden)"):
        st.markdown(f"**Producent:** {d['producer']}  \n**Datum:** {d['date'] or 'anges inte'}  \n"
                    f"**Licens:** {d['licence']}  \n**Fil:** `data/raw/{d['raw_path']}` (sha256 `{d['sha256'][:12]}…`)")
        if d["url"]:
            st.markdown(f"**Webbadress:** {d['url']}")
        if d["description"]:
            st.write(d["description"])
        issues = json.loads(d["inconsistencies"] or "[]")
        if issues:
            st.markdown("**Kända inkonsekvenser i källan** (båda värdena behålls som de står tryckta):")
            for item in issues:
                lines = ", ".join(str(x) for x in item.get("lines", []))
                st.markdown(f"- {item['description']}" + (f" (rad {lines})" if lines else ""))

st.header("Mått")
cat = measures()
rows = [{"Serie": SERIES_LABELS.get(s, s), "Mått": m.label_sv, "Definition": m.definition_sv,
         "Enhet": UNITS.get(m.unit, m.unit), "Kan summeras": "ja" if m.is_additive else "nej",
         "Riktning": {"higher_is_better": "högre är bättre", "lower_is_better": "lägre är bättre"}.get(m.direction, "–"),
         "Id": f"{s}/{name}"} for (s, name), m in cat.items()]
series_labels = {"(alla)": "(alla)", **SERIES_LABELS}  # its own method as format_func: no page function kept
series = st.selectbox("Serie", list(series_labels), format_func=series_labels.__getitem__, key="serie",
                      bind="query-params")
table = pl.DataFrame(rows)
if series != "(alla)":
    table = table.filter(pl.col("Serie") == SERIES_LABELS[series])
st.dataframe(table.to_pandas(), hide_index=True, width="stretch")

st.header("Kartor")
st.write(attribution())
st.header("Personuppgifter")
st.write("amnstats innehåller bara aggregerad statistik. Filer med personnummer, samordningsnummer eller "
         "namnkolumner tas inte emot. Små antal i uppdelningar på kön och stadsdelsområde visas som '..'; "
         "'–' betyder att källan inte anger någon uppgift.")
