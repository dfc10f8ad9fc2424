"""Mål och utfall: every indicator's outcome against nämndens and KF:s targets, by kön, over the years."""

from amnstats.ui import frame

frame.ensure()

import polars as pl
import streamlit as st

from amnstats.catalogue import measures
from amnstats.metrics import target_status
from amnstats.numbers import format_number, printed_decimals
from amnstats.periods import format_period
from amnstats.ui import charts, panel, state
from amnstats.ui.export import ExportTable, table_csv
from amnstats.ui.html_table import html_table
from amnstats.ui.memo import memo, slice_rows

st.title("Mål och utfall")
st.caption("Nämndens indikatorer ur tertialrapporter, verksamhetsberättelse och verksamhetsplan: utfall "
           "mot nämndens årsmål och kommunfullmäktiges (KF:s) årsmål.")
obs = state.observations()
cat = measures()


def indicator_table(obs: pl.DataFrame) -> pl.DataFrame:
    """One row per indicator: latest outcome, by gender, targets and the assessment (kept per build)."""
    ind = slice_rows(obs, "indicator").filter(pl.col("group") == "", pl.col("area") == "Stockholm")
    # met / partly met / missed, by the rule in amnstats.metrics.target_status (5 % tolerance)
    statuses = target_status(ind).filter(pl.col("gender") == "totalt").select(
        "measure", "period", "target_setter", status=pl.col("target_status_sv").cast(pl.String),
        reason=pl.col("target_reason").cast(pl.String))

    def status(measure: str, period: str) -> str:
        found = statuses.filter(pl.col("measure") == measure, pl.col("period") == period)
        for setter in ("nämnden", "kf"):  # nämndens mål first, KF:s when the nämnd has none
            row = found.filter(pl.col("target_setter") == setter)
            if len(row):
                return row["status"][0] or row["reason"][0] or "–"
        return "–"

    doubtful = set(state.doubtful_sources())
    rows = []
    for measure, grp in ind.group_by("measure", maintain_order=True):
        m = cat[("indicator", measure[0])]
        out = grp.filter(pl.col("kind") == "utfall", pl.col("gender") == "totalt", pl.col("value").is_not_null())
        if out.is_empty():
            continue
        last = out.sort("period_end").row(-1, named=True)
        targets = grp.filter(pl.col("kind") == "målvärde", pl.col("gender") == "totalt")
        year = str(last["period_start"].year)
        tgt, annual = {}, {}
        for s in ("nämnden", "kf"):
            mine = targets.filter(pl.col("target_setter") == s)
            tgt[s] = mine.filter(pl.col("period") == last["period"])["value"].to_list()
            if not tgt[s] and last["period"] != year:  # a tertial's outcome beside the year's target
                tgt[s], annual[s] = mine.filter(pl.col("period") == year)["value"].to_list(), f" (årsmål {year})"
        same = grp.filter(pl.col("kind") == "utfall", pl.col("period") == last["period"])
        women, men = same.filter(pl.col("gender") == "kvinnor"), same.filter(pl.col("gender") == "män")
        # each figure as the report prints it: 73,8 % and 62,65 % in one measure, a target of 72 %
        def fmt(v: float | None, m=m) -> str:
            return format_number(v, printed_decimals(v, m.decimals), m.unit) if v is not None else "–"

        rows.append({
            "Indikator": m.label_sv, "Period": format_period(last["period"]), "Utfall": fmt(last["value"]),
            "Kvinnor": fmt(women["value"][0] if len(women) else None),
            "Män": fmt(men["value"][0] if len(men) else None),
            "Nämndens mål": fmt(tgt["nämnden"][0]) + annual.get("nämnden", "") if tgt["nämnden"] else "–",
            "KF:s mål": fmt(tgt["kf"][0]) + annual.get("kf", "") if tgt["kf"] else "–",
            "Bedömning": "ej bedömd: källan motsäger sig själv (se Om data)" if last["source"] in doubtful
            else status(measure[0], last["period"]),
            "Källa": last["source_label"],
            "_measure": measure[0],
        })
    # alphabetical as a reader looks for a name (å, ä, ö after z), not in the catalogue's order
    swedish = pl.col("Indikator").str.to_lowercase().str.replace_many(["å", "ä", "ö"], ["{", "|", "}"])
    return pl.DataFrame(rows).sort(swedish)


all_rows = memo(obs, indicator_table)

query = st.text_input("Sök indikator", key="sok", bind="query-params", placeholder="t.ex. feriejobb, sfi, avslut")
table = all_rows.drop("_measure") if not all_rows.is_empty() else all_rows
if query and not table.is_empty():
    table = table.filter(pl.col("Indikator").str.to_lowercase().str.contains(query.lower(), literal=True))
if table.is_empty():
    st.info("Inga indikatorer matchar sökningen.")
else:
    # the assessment next to the figures it judges, so it is in view without scrolling sideways
    order = ["Indikator", "Period", "Utfall", "Nämndens mål", "KF:s mål", "Bedömning", "Kvinnor", "Män", "Källa"]
    # a static table: long indicator names and sources wrap, so every column is in view at 1400 px
    shown = table.select(order)
    # (not in a scrolling box of its own: a box without keyboard access fails axe's scrollable-region check)
    st.html(html_table(shown, "Nämndens indikatorer: senaste utfall mot målen",
                       right=["Utfall", "Nämndens mål", "KF:s mål", "Kvinnor", "Män"]))
    cited = shown["Källa"].unique().sort().to_list()
    st.download_button("Ladda ned tabellen (CSV)", key="mal-csv", mime="text/csv", file_name="mal-och-utfall.csv",
                       data=table_csv(ExportTable("Mål och utfall", shown, {}, cited)))
    st.caption("Bedömning mot nämndens mål (KF:s om nämnden saknar mål för perioden): uppfyllt; delvis uppfyllt = "
               "högst 5 % av målvärdet från målet; ej uppfyllt. Riktningen (högre eller lägre är bättre) står i "
               "katalogen.")

choices = sorted(set(all_rows["Indikator"].to_list())) if not all_rows.is_empty() else []
by_label = dict(zip(all_rows["Indikator"].to_list(), all_rows["_measure"].to_list())) if choices else {}
if choices:
    # the search narrows the choice too (all indicators again when it matches none)
    matching = [c for c in choices if query.lower() in c.lower()] if query else choices
    pick = st.selectbox("Visa en indikator över tid", matching or choices, key="indikator", bind="query-params")
    panel.show(charts.targets(obs, by_label[pick], doubtful=state.doubtful_sources()))
