"""Ladda upp data: an analyst's CSV or Excel export read, mapped, validated, previewed,
committed atomically; every import listed with undo."""

from amnstats.ui import frame

frame.ensure()

import copy
import functools
import gc
import itertools

import altair as alt
import polars as pl
import streamlit as st

from amnstats import connectors, imports, templates
from amnstats.connectors import commit as fetch_commit
from amnstats.catalogue import KINDS, SERIES_LABELS, measures
from amnstats.ingest import Source, choose_value_columns, unanswered
from amnstats.ingest.mapping import FRACTIONS_NOTE
from amnstats.ingest.read import ACCEPTED_SV
from amnstats.numbers import format_number
from amnstats.periods import format_period
from amnstats.problems import InputError, problems_frame
from amnstats.ui import access, charts, fmt, state, theme, upload_cache
from amnstats.ui.export import ExportTable, table_csv

MAX_MB = 50
MAX_BYTES = MAX_MB * 1024 * 1024
UPLOAD_LIMIT_MB = 4 * MAX_MB  # what Streamlit accepts; amnstats refuses above MAX_MB, in Swedish
FIELD_LABELS = {"period": "Period", "area": "Område", "gender": "Kön", "group": "Grupp"}



def value_texts(values: pl.Series, series: str | pl.Series, measure: str | pl.Series) -> pl.Series:
    """Swedish numbers in the measure's decimals ("1 234,5"); "–" where there is no value. `series`
    and `measure` are one for every value, or one per value (a fetch holds several measures)."""
    def each(x):
        return x.to_list() if isinstance(x, pl.Series) else itertools.repeat(x)

    rows = zip(values.to_list(), each(series), each(measure))
    return pl.Series([fmt.value_text(v, s, m) if v is not None else "–" for v, s, m in rows], dtype=pl.String)


def summary_table(diff: pl.DataFrame) -> pl.DataFrame:
    """imports.summary with the series and measure as the analyst knows them (Swedish labels) and
    the counts in Swedish format ('1 008 000'): a few rows, read rather than sorted."""
    out = imports.summary(diff)
    counts = {c: pl.Series([format_number(n) for n in out[c].to_list()], dtype=pl.String)
              for c in ("ny", "ändrad", "oförändrad")}
    return out.with_columns(
        series=pl.Series([SERIES_LABELS.get(x, x) for x in out["series"].to_list()], dtype=pl.String),
        measure=pl.Series([fmt.measure_label(a, b) for a, b in zip(out["series"].to_list(), out["measure"].to_list())],
                          dtype=pl.String),
        **counts,
    ).rename({"series": "Serie", "measure": "Mått"})


def period_texts(frame: pl.DataFrame) -> dict[str, str]:
    """Swedish period labels as a lookup table: map_elements would run Python inside polars'
    thread pool, which deadlocks against other sessions under load."""
    return {p: format_period(p) for p in frame["period"].unique().to_list()}


st.title("Ladda upp data")
allowed, reason = access.may_upload()
if not allowed:
    st.warning(reason)
    if access.auth_configured() and not getattr(st.user, "is_logged_in", False) and not access.read_only():
        st.button("Logga in", on_click=st.login)
    st.stop()

st.write("Ladda upp en CSV- eller Excelfil från Arbetsförmedlingen, SCB, Kolada, Skolverket eller stadens egna "
         "system. Filen kontrolleras och du ser vad som ändras innan något sparas. Allt kan ångras.")
cat = measures()


def show_problems(problems, headline: str) -> None:
    st.error(f"{headline} ({format_number(len(problems))} fel). Inget har sparats.")
    frame_ = problems_frame(problems)
    # a problem with the whole file has no row: an empty cell, not 'None'
    shown = frame_.head(200).with_columns(pl.col("rad").cast(pl.String).fill_null(""))
    st.dataframe(shown.to_pandas(), hide_index=True, width="stretch",
                 column_config={"fel": st.column_config.TextColumn("fel", width="large"),
                                "rad": st.column_config.TextColumn("rad", width="small")})
    report = ExportTable("Felrapport", frame_, {}, ["amnstats uppladdning"])
    st.download_button("Ladda ned felrapporten (CSV)", data=table_csv(report), file_name="felrapport.csv",
                       mime="text/csv", key="error-report", on_click="ignore")


ORIGIN = "_mapping_origin"  # (file, template) the mapping widgets were filled from
MAPPING_KEYS = {"serie", "matt", "typ", "brak"}
MAPPING_PREFIXES = ("hur-", "kol-", "konst-")

DONE = "_upload_done"  # (kind, text) of the last import, shown once after the page lets the file go
GENERATION = "_upload_generation"  # a new uploader key empties the uploader

if done := st.session_state.pop(DONE, None):
    (st.success if done[0] == "success" else st.info)(done[1])
    gc.collect()  # the run before this one held the file, its tables and observations in a cycle


def choose_sheet(first, upload, data: bytes):
    """A workbook's sheet as the analyst chooses it (a select box when it has several): (first
    look, the sheet asked for: None for the one read_table picked)."""
    table = first.table
    if len(table.sheets) < 2:
        return first, None
    chosen = st.selectbox("Blad i Excel-filen", table.sheets, index=table.sheets.index(table.sheet),
                          key=f"blad-{upload.file_id}")
    if chosen == table.sheet:
        return first, None
    with st.spinner(f"Läser bladet '{chosen}' …"):
        return upload_cache.first_look(upload.file_id, data, upload.name, sheet=chosen,
                                       max_bytes=MAX_BYTES), chosen


def map_fields(mapping, table) -> None:
    """The widgets that say where period, area, gender and group come from (changes `mapping`)."""
    wide_levels = set(mapping.wide.levels) if mapping.wide else set()
    columns = list(table.columns)
    for field_name, label in FIELD_LABELS.items():
        if field_name in wide_levels:
            continue
        src: Source = getattr(mapping, field_name)
        a, b = st.columns([1, 2])
        how = a.radio(label, ["Kolumn i filen", "Samma för hela filen"], horizontal=True, key=f"hur-{field_name}",
                      index=0 if src.columns else 1)
        if how == "Kolumn i filen" and field_name == "group":  # e.g. ålder and födelseregion (SCB)
            chosen = b.multiselect("Kolumner för grupp", columns, default=[c for c in src.columns if c in columns],
                                   key="kol-group", placeholder="Välj en eller flera kolumner")
            mapping.group = Source.column(*chosen) if chosen else Source.fixed("")
        elif how == "Kolumn i filen":
            default = columns.index(src.columns[0]) if src.columns and src.columns[0] in columns else 0
            col = b.selectbox(f"Kolumn för {label.lower()}", columns, index=default, key=f"kol-{field_name}")
            setattr(mapping, field_name, Source.column(col))
        else:
            hint = {"period": "t.ex. 2023, 2023-T1, dec 2023", "area": "t.ex. Stockholm",
                    "gender": "kvinnor, män eller totalt", "group": "lämna tomt om ingen"}[field_name]
            value = b.text_input(f"{label} för hela filen", value=src.constant or "", placeholder=hint,
                                 key=f"konst-{field_name}")
            setattr(mapping, field_name, Source.fixed(value.strip()))


def map_values(mapping, table):
    """The value column, or a wide file's value columns (a measure among several): the mapping."""
    columns = list(table.columns)
    if not mapping.wide:
        # no guess when the file leaves it open (several columns of numbers): the page asks
        chosen = st.selectbox("Kolumn med värden", columns, key="kol-value", placeholder="Välj kolumnen med värdena",
                              index=columns.index(mapping.value) if mapping.value in columns else None)
        mapping.value = chosen or ""
        return mapping
    offered = [c for c in columns if c not in mapping.id_columns()]
    chosen = st.multiselect(
        "Kolumner med värden", offered, default=[c for c in mapping.wide.columns if c in offered], key="kol-values",
        placeholder="Välj kolumnerna med värden för måttet",
        help="Ta bara med kolumnerna för det mått du valt ovan, om filen har flera mått.")
    return choose_value_columns(mapping, table, chosen) if chosen != mapping.wide.columns else mapping


def commit_form(result, upload, data: bytes, series: str, measure: str, generation: int) -> None:
    """Title, producer, licence and Importera; an import of the same file is explained before it is tried."""
    earlier = imports.active_import(result.file_hash)
    if earlier is not None:
        when = fmt.local_time(earlier["uploaded_at"])
        st.warning(f"Den här filen är redan importerad ({earlier['title']}, {when}, {earlier['uploaded_by']}). "
                   "Vill du importera den med en annan koppling: ångra den importen under Historik nedan först.")
    with st.form("spara"):
        st.subheader("Spara")
        title = st.text_input("Titel", value=f"{cat[(series, measure)].label_sv} ({upload.name})")
        producer = st.text_input("Producent (källa)", placeholder="t.ex. Arbetsförmedlingen")
        licence = st.text_input("Licens", placeholder="t.ex. CC0, fri användning med källangivelse")
        template_name = st.text_input("Spara kopplingen som mall (valfritt)", placeholder="t.ex. AF månadsstatistik")
        submitted = st.form_submit_button("Importera", type="primary", disabled=earlier is not None)
    if not submitted:
        return
    try:
        with st.spinner(f"Sparar {format_number(len(result.observations))} värden och bygger om statistiken …"):
            outcome = imports.commit(data, upload.name, result.mapping, uploaded_by=access.current_user(),
                                     producer=producer, licence=licence, title=title, prepared=result,
                                     sheet=result.table.sheet or None)  # the sheet read, also one picked for it
    except InputError as exc:
        show_problems(exc.problems, exc.headline)
        return
    if template_name.strip():
        templates.save(template_name, result.mapping)
    # Imported: the file, its tables and observations are let go now, not when the analyst
    # leaves (a closed tab's session is kept for minutes), and the page is ready for the next.
    st.session_state[DONE] = (
        ("success", f"Importerat: {format_number(outcome.record['n_values'])} värden från {upload.name}. "
                    "Statistiken är uppdaterad.") if outcome.changed else
        ("info", f"{upload.name} är redan importerad; inget ändrades."))
    st.session_state[GENERATION] = generation + 1
    upload_cache.forget()
    st.rerun()


def show_diff(diff: pl.DataFrame, nothing: str) -> pl.DataFrame:
    """The counts per measure and the first 500 new or changed values, in Swedish format, of an
    upload's or a fetch's preview; returns the new and changed rows."""
    st.dataframe(summary_table(diff).to_pandas(), hide_index=True, width="stretch")
    changed = diff.filter(pl.col("change") != "oförändrad")
    if changed.is_empty():
        st.info(nothing)
        return changed
    head = changed.head(500)
    period_text = period_texts(head)
    shown = head.select(
        Ändring="change", Period=pl.col("period").replace_strict(period_text, default=pl.col("period")),
        Område="area", Kön="gender", Grupp="group").with_columns(
        Nu=value_texts(head["old_value"], head["series"], head["measure"]),
        Ny=value_texts(head["new_value"], head["series"], head["measure"]))
    # as text: Streamlit shows an empty category of a Categorical (the group of most rows) as 'None'
    st.dataframe(shown.cast({c: pl.String for c, t in shown.schema.items() if isinstance(t, pl.Categorical)})
                 .to_pandas(), hide_index=True, width="stretch")
    return changed


def preview(result, series: str, measure: str) -> None:
    st.subheader("Förhandsgranskning: det här ändras")
    changed = show_diff(imports.preview(result, state.observations(preferred_only=False)),
                        "Filen innehåller inga nya eller ändrade värden.")
    if changed.is_empty():
        return
    period_text = period_texts(changed.head(60))
    plot = (changed.head(60).with_columns(
        Etikett=pl.concat_str(pl.col("area"), pl.lit(" "), pl.col("gender"), pl.lit(" "),
                              pl.col("period").replace_strict(period_text, default=pl.col("period"))))
            .unpivot(index="Etikett", on=["old_value", "new_value"], variable_name="Version", value_name="Värde")
            .with_columns(Version=pl.col("Version").replace_strict({"old_value": "Nu", "new_value": "Efter import"})))
    plot = plot.with_columns(Text=value_texts(plot["Värde"], series, measure))
    chart = alt.Chart(plot).mark_bar().encode(
        y=alt.Y("Etikett:N", title=None, sort=None), yOffset="Version:N",  # in the file's order, not by the text
        x=alt.X("Värde:Q", axis=alt.Axis(labelExpr=charts.axis_format(cat[(series, measure)]))),
        color=alt.Color("Version:N", scale=alt.Scale(domain=["Nu", "Efter import"],
                                                      range=[theme.MUTED, theme.PALETTE[0]])),
        tooltip=[alt.Tooltip("Etikett:N", title="Värde för"), "Version:N", alt.Tooltip("Text:N", title="Värde")],
    ).properties(height=alt.Step(14, **{"for": "offset"}))
    st.altair_chart(theme.apply(chart), width="stretch", alt="Nya värden bredvid nuvarande")


def upload_section() -> None:
    """Read, map, validate, preview and import one file. Returns early (not st.stop()) where the
    file cannot go further, so the page's history and undo stay in reach below."""
    generation = st.session_state.get(GENERATION, 0)
    st.caption(f"Godkända format: {ACCEPTED_SV}. Högst {MAX_MB} MB.")  # the refusals name the same list
    # Streamlit's own check of type and size speaks English: it lets through up to four times the limit, and
    # read_table refuses, in Swedish, what is not a table or larger than MAX_MB.
    upload = st.file_uploader("Välj fil", key="fil" if generation == 0 else f"fil-{generation}",
                              max_upload_size=UPLOAD_LIMIT_MB)
    if upload is None:
        upload_cache.forget()
        return
    data = upload.getvalue()
    if upload_cache.has_first_look(upload.file_id):
        first = upload_cache.first_look(upload.file_id, data, upload.name)
    else:  # read now: show how far it got
        bar = st.progress(0.0, text="Läser filen …")
        first = upload_cache.first_look(upload.file_id, data, upload.name, max_bytes=MAX_BYTES,
                                        progress=lambda f, t: bar.progress(min(max(f, 0.0), 1.0), text=t))
        bar.empty()
    if first.status == "refused":
        show_problems(first.problems, "Filen kan inte tas emot")
        return
    first, sheet = choose_sheet(first, upload, data)
    if first.status == "refused":
        show_problems(first.problems, "Bladet kan inte läsas")
        return

    table = first.table
    notes = [n for n in first.notes if n != FRACTIONS_NOTE]  # the fractions checkbox below says it instead
    st.caption(f"Läst: {format_number(len(table.cells))} rader, {format_number(len(table.columns))} kolumner. "
               + " ".join(notes))
    with st.expander("Visa filens första rader"):
        # as text: the cells are Categoricals, whose empty category Streamlit shows as 'None'
        st.dataframe(table.cells.head(20).cast(pl.String).to_pandas(), hide_index=True, width="stretch")

    saved = templates.matching(table)
    mapping = first.mapping
    choice = "(ingen)"
    if saved:
        choice = st.selectbox("Sparad mall som passar filen", ["(ingen)"] + list(saved), key="mall")
        if choice != "(ingen)":
            mapping = saved[choice]
    mapping = copy.deepcopy(mapping)  # the widgets below change it; the first look stays as it was
    # The widgets below keep their values between reruns, and a widget's value wins over its
    # default: another file, sheet or template would otherwise show the previous one's answers.
    if st.session_state.get(ORIGIN) != (upload.file_id, choice, sheet):
        for key in [k for k in st.session_state if k in MAPPING_KEYS or k.startswith(MAPPING_PREFIXES)]:
            del st.session_state[key]
        st.session_state[ORIGIN] = (upload.file_id, choice, sheet)

    st.subheader("Koppla filens kolumner")
    series_options = [s for s in SERIES_LABELS]
    c1, c2, c3 = st.columns(3)
    # No guess where the file does not say: a series picked for the analyst would fail the file
    # with errors that are not in it. Left empty, the page asks for it (Mapping.missing).
    series = c1.selectbox("Serie", series_options, format_func=SERIES_LABELS.get, key="serie",
                          index=series_options.index(mapping.series) if mapping.series in series_options else None,
                          placeholder="Välj serie")
    measure_options = sorted([m for (s, m) in cat if s == series], key=lambda m: cat[(series, m)].label_sv)
    measure = c2.selectbox("Mått", measure_options, format_func=functools.partial(fmt.measure_label, series), key="matt",
                           index=measure_options.index(mapping.measure) if mapping.measure in measure_options else None,
                           placeholder="Välj mått" if series else "Välj först serie", disabled=not series)
    kind = c3.selectbox("Typ", list(KINDS), index=list(KINDS).index(mapping.kind or "utfall"), key="typ")
    mapping.series, mapping.measure, mapping.kind = series or "", measure or "", kind
    if kind != "målvärde":
        mapping.target_setter = ""

    if mapping.wide:
        st.caption(f"Värdena står i {len(mapping.wide.columns)} kolumner (brett format); rubrikraderna anger: "
                   + ", ".join(FIELD_LABELS.get(lv, lv) for lv in mapping.wide.levels if lv) + ".")
    map_fields(mapping, table)
    mapping = map_values(mapping, table)
    if (series, measure) in cat and cat[(series, measure)].is_share:
        mapping.values_are_fractions = st.checkbox("Andelarna står som bråk (0,053 betyder 5,3 %)",
                                                   value=mapping.values_are_fractions, key="brak")
        if mapping.values_are_fractions:
            st.caption("Värdena multipliceras med 100: 0,053 blir 5,3 %.")

    # shown only when the check takes longer than half a second (a large file, a new mapping)
    with st.spinner(f"Kontrollerar {format_number(len(table.cells))} rader med kopplingen …"):
        result = upload_cache.with_mapping(upload.file_id, data, upload.name, mapping, sheet=sheet,
                                           max_bytes=MAX_BYTES)
    if result.status == "needs_mapping":
        if result.mapping and result.mapping.missing:
            st.info("Det här behöver du ange: " + "; ".join(result.mapping.describe_missing()))
        if beyond := [p for p in result.problems if not unanswered(p)]:
            show_problems(beyond, "Kopplingen passar inte filen")
        return
    if result.status != "ready":
        show_problems(result.problems, "Filen innehåller fel")
        return

    st.success(f"{format_number(len(result.observations))} värden är giltiga.")
    for w in result.warnings[:20]:
        st.warning(str(w))
    preview(result, series, measure)
    commit_form(result, upload, data, series, measure, generation)


upload_section()

st.header("Hämta från källa")
st.write("Hämta officiell statistik direkt från källans API. Du ser vad som ändras innan något sparas; svaret "
         "sparas oförändrat så att statistiken kan byggas om utan nätverk. Inställningar: config/connectors.toml.")
FETCH_HELP = {
    "scb": "Arbetslöshet (BAS) per månad och år för Stockholm, länet och riket, efter kön och ålder.",
    "kolada": "Nyckeltal för Stockholm och riket efter kön. Källa: Kolada.",
    "af": "Arbetsförmedlingens månadsstatistik per kommun (Excel).",
}
fetch_options: dict[str, dict] = {"scb": {}, "kolada": {}, "af": {}}
for source_id, help_text in FETCH_HELP.items():
    with st.container(border=True):
        a, b = st.columns([4, 1])
        a.markdown(f"**{connectors.SOURCE_NAMES[source_id]}** – {help_text}")
        if source_id == "af":
            url = a.text_input("Arbetsbokens adress (tom: den i inställningarna)", key="af-url")
            period = a.text_input("Månad (tom: läses ur arbetsbokens rubrik)", key="af-period", placeholder="2024-01")
            fetch_options["af"] = {"url": url.strip() or None, "period": period.strip() or None}
        if b.button(f"Hämta från {connectors.SOURCE_NAMES[source_id]}", key=f"hamta-{source_id}"):
            st.session_state.pop("hamtning", None)
            with st.spinner(f"Hämtar från {connectors.SOURCE_NAMES[source_id]} …"):
                try:
                    st.session_state["hamtning"] = connectors.fetch(source_id, **fetch_options[source_id])
                except connectors.ConnectorError as exc:
                    st.error(exc.message)

fetched = st.session_state.get("hamtning")
if fetched is not None:
    st.subheader(f"Förhandsgranskning: {fetched.record['title']}")
    for note in fetched.notes[:8]:
        st.caption(note)
    show_diff(fetch_commit.preview(fetched.observations, state.observations(preferred_only=False)),
              "Hämtningen innehåller inga nya eller ändrade värden.")
    if st.button("Spara hämtningen", type="primary", key="spara-hamtning"):
        try:
            fetch_outcome = fetch_commit.commit(fetched, by=access.current_user())
        except connectors.ConnectorError as exc:
            st.error(exc.message)
        except InputError as exc:
            show_problems(exc.problems, exc.headline)
        else:
            st.session_state.pop("hamtning", None)
            if fetch_outcome.changed:
                st.success(f"Hämtat: {format_number(fetch_outcome.record['n_values'])} värden. Statistiken är uppdaterad.")
            else:
                st.info("Svaret är oförändrat sedan förra hämtningen; inget ändrades.")

fetch_records = fetch_commit.history()
if fetch_records:
    st.caption("Tidigare hämtningar")
for r in fetch_records:
    with st.container(border=True):
        a, b = st.columns([4, 1])
        state_text = "gäller" if r["in_force"] else ("ersatt av en senare hämtning" if r["status"] == "active"
                                                     else "ångrad")
        a.text(f"{r['title']} – {format_number(r.get('n_values', 0))} värden – {r.get('fetched_by', '')}, "
               f"{fmt.local_time(r['committed_at'])} – {state_text}")
        action = fetch_commit.undo if r["status"] == "active" else fetch_commit.redo
        if b.button("Ångra" if r["status"] == "active" else "Återställ", key=f"fetch-{r['status']}-{r['id']}"):
            try:
                action(r["id"], by=access.current_user())
            except connectors.ConnectorError as exc:
                st.error(exc.message)
            except InputError as exc:
                show_problems(exc.problems, exc.headline)
            else:
                st.rerun()

st.header("Historik")
records = imports.history()
if not records:
    st.caption("Inga uppladdningar ännu.")
for r in records:
    with st.container(border=True):
        a, b = st.columns([4, 1])
        status_text = {"active": "aktiv", "undone": "ångrad", "erased": "filen raderad"}.get(r["status"], r["status"])
        a.text(f"{r['title']} – {format_number(r['n_values'])} värden – {r['uploaded_by']}, "
               f"{fmt.local_time(r['uploaded_at'])} – {status_text}")
        if r["status"] == "erased":
            continue
        if r["status"] == "undone":
            with a.popover("Radera filen"):
                st.write(f"{r['filename']} raderas för gott: filen och allt som lästs ur den. Historiken behåller "
                         "att den fanns, vem som raderade den och när. Använd det för en fil som aldrig skulle ha "
                         "laddats upp, till exempel med personuppgifter.")
                if st.button("Radera permanent", key=f"erase-{r['id']}", type="primary"):
                    try:
                        imports.erase(r["id"], by=access.current_user())
                    except InputError as exc:
                        show_problems(exc.problems, exc.headline)
                    else:
                        st.session_state[DONE] = ("success", f"{r['filename']} är raderad.")
                        st.rerun()
        active = r["status"] == "active"
        label, action, prefix = ("Ångra", imports.undo, "undo") if active else ("Återställ", imports.redo, "redo")
        if b.button(label, key=f"{prefix}-{r['id']}"):
            try:
                action(r["id"], by=access.current_user())
            except InputError as exc:
                show_problems(exc.problems, exc.headline)
            else:
                done_text = ("är ångrad: dess värden är borttagna ur statistiken" if active
                             else "är återställd: dess värden är tillbaka i statistiken")
                st.session_state[DONE] = ("success", f"Importen av {r['filename']} {done_text}. Filen finns kvar "
                                                     "i arkivet.")
                st.rerun()
