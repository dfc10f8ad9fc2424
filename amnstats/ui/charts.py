"""Chart builders shared by the pages: each takes observations and a selection and returns
a ChartSpec (chart, table, sentence, sources). No Streamlit calls here, so every chart can
be tested, exported and put in a slideshow on its own."""

from __future__ import annotations

import re
from collections import OrderedDict

import altair as alt
import polars as pl

from ..catalogue import GENDERS, Measure, measures
from ..metrics import latest, year_on_year
from ..numbers import format_number
from ..periods import format_period
from . import theme
from .memo import memo, slice_rows
from .export import ExportTable
from .fmt import lower_first
from .panel import ChartSpec
from .sentences import describe

# Altair validates every object it creates against the Vega-Lite schema ("debug mode"): most of
# the time of building a chart, the map's geometry above all. The finished specs of every page
# are validated by the tests instead (tests/test_memo.py).
alt.utils.schemapi.disable_debug_mode()
# Encodings are given as channel objects (alt.X("v:Q"), alt.YValue(0)), never as bare strings or
# alt.value(): Altair resolves those through its schema, hashing schema parts as JSON each time
# (a third of a new chart's build on Stadsdelsområden).


def _layer(*layers: alt.Chart, **kwargs) -> alt.LayerChart:
    """alt.layer(*layers, **kwargs) without its copies. Altair's LayerChart deep-copies every
    layer three times to merge selection parameters, data and sizes: most of a new chart's
    build time. These layers have no parameters or sizes of their own, and data the layers
    share is given once by to_dict anyway (tests/test_memo.py checks the specs are the same)."""
    if any(layer.params is not alt.Undefined or layer.height is not alt.Undefined
           or layer.width is not alt.Undefined for layer in layers):
        return alt.layer(*layers, **kwargs)
    chart = alt.LayerChart.__new__(alt.LayerChart)
    alt.TopLevelLayerSpec.__init__(chart, layer=list(layers), **kwargs)
    return chart


GENDER_LABEL = {"kvinnor": "Kvinnor", "män": "Män", "totalt": "Totalt"}
BREAKS = {
    # date, applies to series (None = all district series), text
    "district_reform": ("2020-07-01", None, "Stadsdelsområdena Hägersten-Liljeholmen och Älvsjö slogs samman "
                        "till Hägersten-Älvsjö den 1 juli 2020."),
    "vera": ("2023-01-01", {"jobbtorg", "uvas", "stockholmsjobb"}, "Jobbtorg bytte verksamhetssystem till VERA "
             "2023; könsuppdelad statistik för 2023 omfattar bara en del av året."),
}


def measure_of(series: str, measure: str) -> Measure:
    return measures()[(series, measure)]


def sources_of(df: pl.DataFrame) -> list[str]:
    """'Verksamhetsberättelse 2023, rad 663, 677' per dataset, in first-seen order."""
    grouped: OrderedDict[str, list[str]] = OrderedDict()
    for label in df["source_label"].to_list():
        m = re.match(r"^(.*), rad (\d+)$", label)
        title, line = (m.group(1), m.group(2)) if m else (label, None)
        lines = grouped.setdefault(title, [])
        if line and line not in lines:
            lines.append(line)
    out = []
    for title, lines in grouped.items():
        nums = sorted(set(lines), key=int)
        if len(nums) > 6:
            out.append(f"{title}, rad {nums[0]}–{nums[-1]} ({format_number(len(nums))} rader)")
        elif nums:
            out.append(f"{title}, rad {', '.join(nums)}")
        else:
            out.append(title)
    return out


def _value_title(m: Measure) -> str:
    """Short axis titles (the chart title names the measure): legible on a projector too."""
    return {"procent": "Procent", "procent_kvot": "Procent", "antal": "Antal", "manader": "Månader",
            "mnkr": "Miljoner kronor", "helarsplatser": "Helårsplatser", "index": "Index",
            "procentenheter": "Procentenheter", "dagar": "Dagar", "kronor": "Kronor", "ton": "Ton"}.get(m.unit, m.unit)


def axis_format(m: Measure) -> str:
    """A value axis's labels in Swedish format, in the measure's decimals."""
    return theme.sv_number_expr(spec=",.0f" if m.decimals == 0 and m.unit not in ("procent", "procent_kvot")
                                else ",.1f")


def _display(df: pl.DataFrame, m: Measure) -> pl.DataFrame:
    """Adds text columns for tooltips: Swedish number and period.

    Built as Python lists, not map_elements: Python callbacks inside polars' thread pool
    deadlock against to_pandas() in another session's thread (seen under concurrent load)."""
    texts = [("cirka " if st == "approximate" else "") + format_number(v, m.decimals, m.unit) if v is not None else ".."
             for v, st in zip(df["value"].to_list(), df["status"].to_list())]
    return df.with_columns(
        Värde_text=pl.Series(texts, dtype=pl.String),
        Period_text=pl.Series([format_period(p) for p in df["period"].to_list()], dtype=pl.String),
        Kön=pl.col("gender").replace_strict(GENDER_LABEL, default=pl.col("gender")),
    )


def pick_period_type(df: pl.DataFrame) -> str | None:
    if df.is_empty():
        return None
    counts = df.group_by("period_type").agg(n=pl.col("period").n_unique()).sort("n", "period_type", descending=True)
    return counts["period_type"][0]


def trend(obs: pl.DataFrame, series: str, measure: str, *, area: str = "Stockholm", group: str = "",
          genders: tuple[str, ...] = GENDERS, kind: str = "utfall", title: str | None = None,
          chart_id: str | None = None, period_type: str | None = None) -> ChartSpec:
    """Value over time, one line per gender."""
    m = measure_of(series, measure)
    title = title or f"{m.label_sv}, {area}" + (f", {group}" if group else "")
    chart_id = chart_id or f"trend-{series}-{measure}"
    sel = slice_rows(obs, series, measure).filter(pl.col("area") == area,
                     pl.col("group") == group, pl.col("kind") == kind, pl.col("gender").is_in(list(genders)),
                     pl.col("is_preferred"))
    ptype = period_type or pick_period_type(sel)
    sel = sel.filter(pl.col("period_type") == ptype).sort("period_start", "gender")
    table = _table(sel, m, title, ["Period_text", "Kön"])
    if sel.filter(pl.col("value").is_not_null()).is_empty():
        return ChartSpec(chart_id, title, None, table, "", [], empty_message=f"Inga uppgifter för {area}.")
    data = _display(sel, m)
    if data["period"].n_unique() == 1:  # one period: a line would be a lone dot
        return _single_period(data, m, chart_id, title, sel, area)
    temporal = ptype == "month"
    x = (alt.X("period_start:T", title=None, axis=alt.Axis(labelExpr=theme.sv_month_expr(), tickCount=8))
         if temporal else
         alt.X("Period_text:O", title=None, sort=data["Period_text"].unique(maintain_order=True).to_list(),
               axis=alt.Axis(labelAngle=0)))
    base = alt.Chart(data).encode(
        x=x,
        y=alt.Y("value:Q", title=_value_title(m), axis=alt.Axis(labelExpr=axis_format(m))),
        color=alt.Color("gender:N", title="Kön", scale=theme.gender_scale(),
                        legend=alt.Legend(labelExpr="{'kvinnor':'Kvinnor','män':'Män','totalt':'Totalt'}[datum.label]")),
        tooltip=[alt.Tooltip("Period_text:N", title="Period"), alt.Tooltip("Kön:N"),
                 alt.Tooltip("Värde_text:N", title=m.label_sv)],
    )
    layers = [base.mark_line()]
    if not temporal or len(data) < 40:
        layers.append(base.mark_point(filled=True, size=90).transform_filter("datum.status != 'approximate'"))
    notes = []
    if (data["status"] == "approximate").any():
        # 'drygt', 'cirka' figures from running text: drawn hollow so nobody reads them as exact
        layers.append(base.mark_point(filled=False, size=140, strokeWidth=2.5)
                      .transform_filter("datum.status == 'approximate'"))
        notes.append("Ofyllda punkter är ungefärliga värden (t.ex. 'drygt' eller 'cirka' i rapporttexten).")
    for key, (when, applies, text) in BREAKS.items():
        if applies is not None and series not in applies:
            continue
        if key == "district_reform" and area not in ("Hägersten-Älvsjö", "Hägersten-Liljeholmen", "Älvsjö"):
            continue
        start, end = data["period_start"].min(), data["period_end"].max()
        if not (str(start) < when <= str(end)):
            continue
        notes.append(f"Brott i serien: {text}")
        label = "VERA" if key == "vera" else "Ny indelning"
        if temporal:
            rule = alt.Chart(pl.DataFrame({"d": [when], "t": [label]}))
            layers.append(rule.mark_rule(strokeDash=[6, 4], color=theme.MUTED).encode(x=alt.X("d:T")))
            layers.append(rule.mark_text(align="left", dx=6, dy=-8, color=theme.MUTED, baseline="top")
                          .encode(x=alt.X("d:T"), y=alt.YValue(0), text=alt.Text("t:N")))
        else:  # a category axis: mark the first period after the break
            first = data.filter(pl.col("period_start").cast(pl.String) >= when).sort("period_start")
            if not first.is_empty():
                rule = alt.Chart(pl.DataFrame({"p": [first["Period_text"][0]], "t": [label]}))
                layers.append(rule.mark_rule(strokeDash=[6, 4], color=theme.MUTED).encode(x=alt.X("p:O")))
                layers.append(rule.mark_text(align="left", dx=5, dy=-8, color=theme.MUTED, baseline="top")
                              .encode(x=alt.X("p:O"), y=alt.YValue(0), text=alt.TextValue(f"{label} från {first['Period_text'][0]}")))
    chart = _layer(*layers, height=380)
    sentence = _sentence(sel, area)
    return ChartSpec(chart_id, title, chart, table, sentence, sources_of(sel),
                     alt_text=f"Linjediagram: {title}. {sentence}", notes=notes)


def _single_period(data: pl.DataFrame, m: Measure, chart_id: str, title: str, sel: pl.DataFrame,
                   area: str) -> ChartSpec:
    base = alt.Chart(data.filter(pl.col("value").is_not_null())).encode(
        y=alt.Y("Kön:N", title=None, sort=[GENDER_LABEL[g] for g in GENDERS]),
        x=alt.X("value:Q", title=_value_title(m), axis=alt.Axis(labelExpr=axis_format(m))),
        color=alt.Color("gender:N", scale=theme.gender_scale(), legend=None),
        tooltip=[alt.Tooltip("Period_text:N", title="Period"), alt.Tooltip("Kön:N"),
                 alt.Tooltip("Värde_text:N", title=m.label_sv)])
    chart = _layer(base.mark_bar(), base.mark_text(align="left", dx=4, color=theme.TEXT).encode(text=alt.Text("Värde_text:N")),
                   height=alt.Step(36))
    period = data["Period_text"][0]
    sentence = _sentence(sel, area)
    return ChartSpec(chart_id, f"{title}, {period}", chart, _table(sel, m, title, ["Period_text", "Kön"]), sentence,
                     sources_of(sel), alt_text=f"Stapeldiagram: {title}, {period}. {sentence}",
                     notes=["Bara en period finns redovisad för det här måttet."])


def _sentence(sel: pl.DataFrame, area: str | None) -> str:
    if sel.is_empty():
        return ""
    yoy = year_on_year(sel)
    rows = latest(yoy)
    pick = rows.filter(pl.col("gender") == "totalt")
    row = (pick if not pick.is_empty() else rows).row(0, named=True)
    return describe(row, area_phrase=f" i {area}" if area else "")


def _table(sel: pl.DataFrame, m: Measure, title: str, label_cols: list[str]) -> ExportTable:
    data = _display(sel, m) if not sel.is_empty() else sel.with_columns(
        Period_text=pl.lit(""), Kön=pl.lit(""), Värde_text=pl.lit(""))
    names = {"Period_text": "Period", "Kön": "Kön", "area": "Område", "group": "Grupp"}
    frame = data.select(
        *[pl.col(c).alias(names[c]) for c in label_cols],
        pl.col("value").alias(m.label_sv),
        pl.col("status").replace_strict({"": "", "approximate": "ungefärligt", "suppressed": "skyddat",
                                         "missing": "saknas"}, default=pl.col("status")).alias("Status"),
        pl.col("source_label").alias("Källa"),
    )
    return ExportTable(title=title, frame=frame, decimals={m.label_sv: m.decimals}, sources=sources_of(sel))


def bars(obs: pl.DataFrame, series: str, measure: str, *, by: str, period: str, area: str | None = "Stockholm",
         group: str | None = "", genders: tuple[str, ...] = ("totalt",), kind: str = "utfall",
         title: str | None = None, chart_id: str | None = None, reference: float | None = None,
         reference_label: str = "", area_types: tuple[str, ...] | None = None) -> ChartSpec:
    """Ranked horizontal bars by `by` (group or area) for one period; several genders side by side.
    `area_types` limits the areas, e.g. ("sdo",) to rank only the stadsdelsområden."""
    m = measure_of(series, measure)
    filters = [pl.col("period") == period, pl.col("kind") == kind, pl.col("gender").is_in(list(genders)), pl.col("is_preferred")]
    if by != "area" and area is not None:
        filters.append(pl.col("area") == area)
    if by != "group" and group is not None:
        filters.append(pl.col("group") == group)
    sel = slice_rows(obs, series, measure).filter(*filters)
    if by == "group":
        sel = sel.filter(pl.col("group") != "")
    if area_types is not None:
        sel = sel.filter(pl.col("area_type").is_in(list(area_types)))
    title = title or f"{m.label_sv} {format_period(period)}"
    chart_id = chart_id or f"bars-{series}-{measure}-{by}"
    label_col = "group" if by == "group" else "area"
    table = _table(sel.sort(label_col, "gender"), m, title, ["area" if by == "area" else "group", "Kön"])
    if sel.filter(pl.col("value").is_not_null()).is_empty():
        return ChartSpec(chart_id, title, None, table, "", [],
                         empty_message=f"Inga uppgifter för {format_period(period)}.")
    data = _display(sel, m)
    present = set(data.filter(pl.col("value").is_not_null())["gender"].to_list())
    g_last = next(g for g in reversed(genders) if g in present)
    order = (data.filter(pl.col("gender") == g_last).sort("value", descending=True, nulls_last=True)[label_col]
             .to_list())
    order += [x for x in data[label_col].unique().to_list() if x not in order]
    enc = dict(
        y=alt.Y(f"{label_col}:N", title=None, sort=order),
        x=alt.X("value:Q", title=_value_title(m), axis=alt.Axis(labelExpr=axis_format(m))),
        tooltip=[alt.Tooltip(f"{label_col}:N", title="Område" if by == "area" else "Grupp"),
                 alt.Tooltip("Kön:N"), alt.Tooltip("Värde_text:N", title=m.label_sv)],
    )
    if len(genders) > 1:
        enc["color"] = alt.Color("gender:N", title="Kön", scale=theme.gender_scale(),
                                 legend=alt.Legend(labelExpr="{'kvinnor':'Kvinnor','män':'Män','totalt':'Totalt'}[datum.label]"))
        enc["yOffset"] = alt.YOffset("gender:N", sort=list(genders))
    else:
        enc["color"] = alt.ColorValue(theme.PALETTE[0])
    base = alt.Chart(data).encode(**enc)
    layers = [base.mark_bar(),
              base.mark_text(align="left", dx=4).encode(text=alt.Text("Värde_text:N"), color=alt.ColorValue(theme.TEXT))]
    if reference is not None:
        ref = alt.Chart(pl.DataFrame({"v": [reference], "t": [reference_label]}))
        layers.append(ref.mark_rule(color=theme.TEXT, strokeDash=[6, 4]).encode(x=alt.X("v:Q")))
        layers.append(ref.mark_text(align="left", dx=4, dy=-6, baseline="bottom", color=theme.TEXT)
                      .encode(x=alt.X("v:Q"), y=alt.YValue(0), text=alt.Text("t:N")))
    # a fixed step per bar keeps bars thick however few rows there are
    step = alt.Step(22, **{"for": "offset"}) if len(genders) > 1 else alt.Step(30)
    chart = _layer(*layers, height=step)
    top = data.filter(pl.col("gender") == g_last).sort("value", descending=True, nulls_last=True).row(0, named=True)
    low = data.filter(pl.col("gender") == g_last, pl.col("value").is_not_null()).sort("value").row(0, named=True)
    what = "områdena" if by == "area" else "grupperna"
    sentence = (f"{m.label_sv} {format_period(period)}: högst i {top[label_col]} "
                f"({top['Värde_text']}) och lägst i {low[label_col]} ({low['Värde_text']}) bland {what} som redovisas."
                if top[label_col] != low[label_col] else describe(top | {"period_prev": None}, area_phrase=""))
    return ChartSpec(chart_id, title, chart, table, sentence, sources_of(sel),
                     alt_text=f"Stapeldiagram: {title}. {sentence}")


class _Values:
    """Inline rows Altair hands on as they are. Altair's conversion walks plain lists value by
    value with protocol checks; on a map's coordinates that was most of the map's build time.
    (Altair passes on any object with `_schema` and `to_dict`: its SchemaLike protocol.)"""

    _schema = {"type": "array"}

    def __init__(self, rows: list[dict]):
        self.rows = rows

    def to_dict(self, *args, **kwargs) -> list[dict]:
        return self.rows


def choropleth(obs: pl.DataFrame, series: str, measure: str, *, period: str, gender: str = "totalt",
               group: str = "", kind: str = "utfall", title: str | None = None,
               chart_id: str | None = None) -> ChartSpec:
    """The 13 stadsdelsområden coloured by value; districts without a figure are grey and say so."""
    from ..catalogue import districts
    from ..geo import attribution, district_features

    m = measure_of(series, measure)
    title = title or f"{m.label_sv} per stadsdelsområde, {format_period(period)}"
    chart_id = chart_id or f"karta-{series}-{measure}"
    sel = slice_rows(obs, series, measure).filter(pl.col("period") == period,
                     pl.col("gender") == gender, pl.col("group") == group, pl.col("kind") == kind,
                     pl.col("area_type") == "sdo", pl.col("is_preferred"))
    table = _table(sel.sort("area"), m, title, ["area", "Kön"])
    if sel.filter(pl.col("value").is_not_null()).is_empty():
        return ChartSpec(chart_id, title, None, table, "", [],
                         empty_message=f"Inga uppgifter per stadsdelsområde för {format_period(period)}.")
    data = _display(sel, m)
    values = {r["area"]: r for r in data.iter_rows(named=True)}
    features = []
    for f in district_features():  # shared geometry, read only; fresh properties per map
        r = values.get(f["properties"]["area"])
        features.append({"type": f["type"], "geometry": f["geometry"],
                         "properties": f["properties"] | {"value": r["value"] if r else None,
                                                          "text": r["Värde_text"] if r else "uppgift saknas"}})
    geo = alt.Data(values=_Values(features))
    base = alt.Chart().project(type="mercator")  # the geometry goes on the layer once: Altair copies
    # a chart's data at every step (encode, filter, ...), which made the map the slowest chart
    missing = base.mark_geoshape(fill="#e6e6e6", stroke="#ffffff", strokeWidth=1.5).encode(
        tooltip=[alt.Tooltip("properties.area:N", title="Stadsdelsområde"),
                 alt.Tooltip("properties.text:N", title=m.label_sv)],
    ).transform_filter("datum.properties.value == null")
    filled = base.mark_geoshape(stroke="#ffffff", strokeWidth=1.5).encode(
        color=alt.Color("properties.value:Q", title=_value_title(m),
                        # light to mid blue: dark labels read at 4.5:1 or better on every district
                        scale=alt.Scale(range=["#eef5fc", "#4f9bd1"]),
                        legend=alt.Legend(orient="right", labelExpr=axis_format(m), gradientLength=220)),
        tooltip=[alt.Tooltip("properties.area:N", title="Stadsdelsområde"),
                 alt.Tooltip("properties.text:N", title=m.label_sv)],
    ).transform_filter("datum.properties.value != null")
    labels = base.mark_text(fontSize=12, fontWeight="bold").encode(
        longitude=alt.Longitude("lon:Q"), latitude=alt.Latitude("lat:Q"), text=alt.Text("properties.text:N"),
        color=alt.ColorValue(theme.TEXT),
    ).transform_filter(  # grey districts carry no label: the small central ones would overlap
        "datum.properties.value != null"
    ).transform_calculate(
        lon="geoCentroid(null, datum)[0]", lat="geoCentroid(null, datum)[1]")
    chart = _layer(missing, filled, labels, data=geo, height=520)
    shown = sorted(values)
    lacking = [d for d in districts() if d not in values]
    top = data.sort("value", descending=True, nulls_last=True).row(0, named=True)
    low = data.filter(pl.col("value").is_not_null()).sort("value").row(0, named=True)
    sentence = (f"{m.label_sv} {format_period(period)} var högst i {top['area']} ({top['Värde_text']}) "
                f"och lägst i {low['area']} ({low['Värde_text']}).")
    if lacking:
        sentence += f" Uppgift saknas för {len(lacking)} av 13 stadsdelsområden."
    notes = [f"Grått på kartan: uppgift saknas för {', '.join(lacking)}."] if lacking else []
    return ChartSpec(chart_id, title, chart, table, sentence, sources_of(sel) + [attribution()],
                     alt_text=f"Karta: {title}. Redovisade områden: {', '.join(shown)}. {sentence}", notes=notes)


KAA_STAGES = [("omfattade", "Omfattas av KAA"), ("uppsokta", "Uppsökta"), ("nadda", "Nådda"),
              ("stod", "Fått stöd"), ("avslutade", "Avslutade")]


def kaa_funnel(obs: pl.DataFrame, *, period: str, gender: str = "totalt", chart_id: str = "kaa-kedja") -> ChartSpec:
    """The KAA chain register -> uppsökta -> nådda -> stöd -> avslut for one period."""
    labels = dict(KAA_STAGES)
    sel = slice_rows(obs, "kaa").filter(pl.col("measure").is_in(list(labels)), pl.col("period") == period,
                     pl.col("gender") == gender, pl.col("group") == "", pl.col("area") == "Stockholm",
                     pl.col("kind") == "utfall", pl.col("is_preferred"))
    title = f"KAA-kedjan {format_period(period)}" + ("" if gender == "totalt" else f", {gender}")
    order = [lab for key, lab in KAA_STAGES]
    data = sel.with_columns(Steg=pl.col("measure").replace_strict(labels), ).with_columns(
        Värde_text=pl.Series([format_number(v, 0) for v in sel["value"].to_list()], dtype=pl.String),
        Period_text=pl.Series([format_period(p) for p in sel["period"].to_list()], dtype=pl.String),
        Kön=pl.col("gender"))
    frame = data.sort(pl.col("Steg").replace_strict({s: i for i, s in enumerate(order)}, return_dtype=pl.Int32)).select(
        pl.col("Steg"), pl.col("value").alias("Antal"), pl.col("source_label").alias("Källa"))
    table = ExportTable(title, frame, {"Antal": 0}, sources_of(sel))
    if sel.filter(pl.col("value").is_not_null()).is_empty():
        return ChartSpec(chart_id, title, None, table, "", [], empty_message=f"Inga KAA-uppgifter för {format_period(period)}.")
    base = alt.Chart(data).encode(
        y=alt.Y("Steg:N", sort=order, title=None),
        x=alt.X("value:Q", title="Antal ungdomar", axis=alt.Axis(labelExpr=theme.sv_number_expr())),
        tooltip=[alt.Tooltip("Steg:N"), alt.Tooltip("Värde_text:N", title="Antal")])
    chart = _layer(base.mark_bar(color=theme.PALETTE[2]),
                   base.mark_text(align="left", dx=4).encode(text=alt.Text("Värde_text:N")), height=60 * len(data) + 40)
    parts = [f"{lower_first(r['Steg'])} {format_number(r['Antal'], 0)}"
             for r in frame.iter_rows(named=True) if r["Antal"] is not None]
    sentence = f"Inom det kommunala aktivitetsansvaret {period_phrase_short(period)}: " + ", ".join(parts) + "."
    return ChartSpec(chart_id, title, chart, table, sentence, sources_of(sel), alt_text=f"Stapeldiagram: {title}. {sentence}")


def period_phrase_short(period: str) -> str:
    from .sentences import period_phrase
    return period_phrase(period)


TARGET_LABELS = {"nämnden": "Nämndens mål", "kf": "KF:s mål"}


def targets(obs: pl.DataFrame, measure: str, *, group: str = "", area: str = "Stockholm",
            chart_id: str | None = None) -> ChartSpec:
    """An indicator's outcome by gender over the periods, with nämndens and KF:s targets as ticks."""
    m = measure_of("indicator", measure)
    sel = slice_rows(obs, "indicator", measure).filter(pl.col("is_preferred"),
                     pl.col("kind").is_in(["utfall", "målvärde"]), pl.col("group") == group, pl.col("area") == area)
    title = m.label_sv
    chart_id = chart_id or f"mal-{measure}"[:60]
    data = _display(sel, m).with_columns(
        Serie=pl.when(pl.col("kind") == "målvärde")
        .then(pl.col("target_setter").replace_strict(TARGET_LABELS, default="Mål"))
        .otherwise(pl.col("Kön")))
    frame = data.sort("period_start", "kind", "gender").select(
        pl.col("Period_text").alias("Period"), pl.col("Serie").alias("Avser"), pl.col("value").alias(m.label_sv),
        pl.col("source_label").alias("Källa"))
    table = ExportTable(title, frame, {m.label_sv: m.decimals}, sources_of(sel))
    outcome = data.filter(pl.col("kind") == "utfall")
    goal = data.filter(pl.col("kind") == "målvärde", pl.col("value").is_not_null())
    if outcome.filter(pl.col("value").is_not_null()).is_empty() and goal.is_empty():
        return ChartSpec(chart_id, title, None, table, "", [], empty_message="Inga uppgifter för indikatorn.")
    periods = data.sort("period_start")["Period_text"].unique(maintain_order=True).to_list()
    x = alt.X("Period_text:N", title=None, sort=periods, axis=alt.Axis(labelAngle=0))
    y_axis = alt.Axis(labelExpr=axis_format(m))
    layers = []
    if not outcome.is_empty():
        ob = alt.Chart(outcome).encode(
            x=x, xOffset=alt.XOffset("gender:N", sort=list(GENDERS)),
            y=alt.Y("value:Q", title=_value_title(m), axis=y_axis),
            color=alt.Color("gender:N", title="Utfall", scale=theme.gender_scale(),
                            legend=alt.Legend(labelExpr="{'kvinnor':'Kvinnor','män':'Män','totalt':'Totalt'}[datum.label]")),
            tooltip=[alt.Tooltip("Period_text:N", title="Period"), alt.Tooltip("Kön:N"),
                     alt.Tooltip("Värde_text:N", title="Utfall")])
        layers.append(ob.mark_bar())
    if not goal.is_empty():
        domain = list(TARGET_LABELS.values())
        legend = alt.Legend(symbolSize=260, symbolStrokeWidth=1.5)  # as large as the markers, legible on a projector
        gb = alt.Chart(goal).encode(
            # nämndens and KF:s markers side by side: equal targets must not hide one another
            x=x, xOffset=alt.XOffset("Serie:N", scale=alt.Scale(domain=domain, paddingOuter=0.5)),
            y=alt.Y("value:Q", axis=y_axis),
            shape=alt.Shape("Serie:N", title="Mål", legend=legend,
                            scale=alt.Scale(domain=domain, range=["diamond", "triangle-down"])),
            color=alt.Color("Serie:N", title="Mål", legend=legend,
                            scale=alt.Scale(domain=domain, range=[theme.TEXT, theme.PALETTE[3]])),
            tooltip=[alt.Tooltip("Period_text:N", title="Period"), alt.Tooltip("Serie:N", title="Mål"),
                     alt.Tooltip("Värde_text:N", title="Målvärde")])
        layers.append(gb.mark_point(size=320, filled=True, opacity=1, stroke="#ffffff", strokeWidth=1.5))
    chart = _layer(*layers, height=360, resolve=alt.Resolve(scale=alt.ScaleResolveMap(
        color="independent", shape="independent", xOffset="independent")))
    from ..metrics import latest as _latest
    last = _latest(outcome.filter(pl.col("gender") == "totalt")) if not outcome.is_empty() else outcome
    if not last.is_empty():
        row = last.row(0, named=True)
        tgt = goal.filter(pl.col("period") == row["period"], pl.col("target_setter") == "nämnden")
        sentence = f"Utfallet {format_period(row['period'])} var {row['Värde_text']}"
        if not tgt.is_empty():
            sentence += f" mot nämndens mål {tgt['Värde_text'][0]}"
        sentence += "."
    else:
        sentence = "Indikatorn har mål men inget redovisat utfall."
    return ChartSpec(chart_id, title, chart, table, sentence, sources_of(sel), alt_text=f"Diagram: {title}. {sentence}")


# The slideshow rebuilds a chart from how it was built: builder name and arguments (JSON-safe).
REGISTRY: dict = {}


def _registered(fn):
    """The builder, registered by name, with its result kept per observations and arguments
    (amnstats.ui.memo): every session and rerun asking for the same chart shares one."""
    import functools

    name = fn.__name__

    def build(obs, *args, **kwargs):
        spec = fn(obs, *args, **kwargs)
        spec.call = {"fn": name, "args": list(args),
                     "kwargs": {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()}}
        return spec

    build.__qualname__ = f"charts.{name}"  # the memo's key

    @functools.wraps(fn)
    def wrapper(obs, *args, **kwargs):
        return memo(obs, build, *args, **kwargs)

    REGISTRY[name] = wrapper
    return wrapper


trend = _registered(trend)
bars = _registered(bars)
choropleth = _registered(choropleth)
kaa_funnel = _registered(kaa_funnel)
targets = _registered(targets)


def rebuild(obs: pl.DataFrame, call: dict) -> ChartSpec:
    fn = REGISTRY[call["fn"]]
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in call.get("kwargs", {}).items()}
    return fn(obs, *call.get("args", []), **kwargs)
