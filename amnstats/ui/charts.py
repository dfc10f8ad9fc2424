"""Chart builders shared by the pages: each takes observations and a selection and returns
a ChartSpec (chart, table, sentence, sources). No Streamlit calls here, so every chart can
be tested, exported and put in a slideshow on its own."""

from __future__ import annotations

import re
from collections import OrderedDict

import altair as alt
import polars as pl

from ..catalogue import GENDERS, NO_VALUE_TEXT, Measure, areas, measures
from ..metrics import SERIES_KEY, latest, previous_period_labels, year_on_year
from ..numbers import format_number
from ..periods import PeriodError, format_period, parse_period
from . import theme
from .memo import memo, slice_rows
from .export import ExportTable
from .fmt import figure_text, lower_first
from .panel import ChartSpec
from .sentences import area_name, describe, describe_genders, names

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


MISSING_FILL = "#e6e6e6"  # a district without a figure of its own on the map
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
    disputed: set[str] = set()  # documents where a figure shown is also printed with another value
    conflicts = (df["has_conflict"] & df["value"].is_not_null()).to_list() if "has_conflict" in df.columns \
        else [False] * df.height
    for label, conflict in zip(df["source_label"].to_list(), conflicts):
        m = re.match(r"^(.*), rad (\d+)$", label)
        title, line = (m.group(1), m.group(2)) if m else (label, None)
        lines = grouped.setdefault(title, [])
        if line and line not in lines:
            lines.append(line)
        if conflict:
            disputed.add(title)
    out = []
    for title, lines in grouped.items():
        nums = sorted(set(lines), key=int)
        if len(nums) > 6:
            text = f"{title}, rad {nums[0]}–{nums[-1]} ({format_number(len(nums))} rader)"
        elif nums:
            text = f"{title}, rad {', '.join(nums)}"
        else:
            text = title
        out.append(text + (f" ({DISPUTED_SV})" if title in disputed else ""))
    return out


DISPUTED_SV = "samma uppgift anges med ett annat värde på annat ställe; se Data och källor"


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
    texts = [figure_text(v, st, m) for v, st in zip(df["value"].to_list(), df["status"].to_list())]
    return df.with_columns(
        Värde_text=pl.Series(texts, dtype=pl.String),
        Period_text=pl.Series([format_period(p) for p in df["period"].to_list()], dtype=pl.String),
        Kön=pl.col("gender").replace_strict(GENDER_LABEL, default=pl.col("gender")),
    )


def joint_areas() -> dict[str, tuple[str, ...]]:
    """Areas a source reports as one row ('Kungsholmen, Norrmalm och Östermalm'), with their districts."""
    return {a.area: a.members for a in areas().values() if a.area_type == "combined"}


def reported_jointly(joint: pl.DataFrame, have: set[str]) -> dict[str, dict]:
    """District -> the row of a combined area with a value that reports it, for the districts
    not in `have` (those without a value of their own)."""
    members = joint_areas()
    out: dict[str, dict] = {}
    for r in joint.filter(pl.col("value").is_not_null()).iter_rows(named=True):
        for d in members.get(r["area"], ()):
            if d not in have:
                out.setdefault(d, r)
    return out


def joint_phrase(district: str, row: dict, m: Measure) -> str:
    """'redovisas sammantaget med Norrmalm och Östermalm: 46'."""
    others = [d for d in joint_areas().get(row["area"], ()) if d != district]
    return f"redovisas sammantaget med {names(others, cap=len(others))}: {figure_text(row['value'], row['status'], m)}"


def _joint_notes(jointly: dict[str, dict], m: Measure) -> list[str]:
    """One phrase per combined row: 'Kungsholmen, Norrmalm och Östermalm redovisas sammantaget (46)'."""
    rows = {r["area"]: r for r in jointly.values()}
    return [f"{area} redovisas sammantaget ({figure_text(r['value'], r['status'], m)})" for area, r in rows.items()]


def _without_value(rows: pl.DataFrame, label_col: str, everyone: list[str] | None = None) -> str:
    """'uppgift saknas för Bromma; skyddade små tal (..) för Farsta': the labels without a value
    (and those of `everyone` without a row), by why; 'Farsta (kvinnor och män)' when other
    genders of the label have a value."""
    have = set(rows.filter(pl.col("value").is_not_null())[label_col].to_list())
    lacking, hidden = [], []
    for (label,), grp in rows.filter(pl.col("value").is_null()).group_by(label_col, maintain_order=True):
        name = label if label not in have else f"{label} ({' och '.join(grp['gender'].to_list())})"
        (hidden if (grp["status"] == "suppressed").all() else lacking).append(name)
    known = set(rows[label_col].to_list())
    lacking += [x for x in (everyone or []) if x not in known]
    parts = []
    if lacking:
        parts.append(f"uppgift saknas för {', '.join(lacking)}")
    if hidden:
        parts.append(f"skyddade små tal ({NO_VALUE_TEXT['suppressed']}) för {', '.join(hidden)}")
    return "; ".join(parts)


PERIOD_TYPE_SV = {"year": "helår", "tertial": "tertial", "quarter": "kvartal", "month": "månad",
                  "months": "del av år", "date": "datum", "school_year": "läsår"}


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
    other_types = set(sel["period_type"].unique().to_list()) - {ptype}
    sel = sel.filter(pl.col("period_type") == ptype).sort("period_start", "gender")
    table = _table(sel, m, title, ["Period_text", "Kön"])
    if sel.filter(pl.col("value").is_not_null()).is_empty():
        return ChartSpec(chart_id, title, None, table, "", [], empty_message=f"Inga uppgifter för {area}.")
    data = _display(sel, m)
    if data["period"].n_unique() == 1:  # one period: a line would be a lone dot
        note = ("Bara en period finns redovisad för det här måttet." if not other_types else
                f"Bara en period av typen {PERIOD_TYPE_SV.get(ptype, ptype)} finns redovisad; måttets andra perioder "
                f"({', '.join(sorted(PERIOD_TYPE_SV.get(t, t) for t in other_types))}) finns under Data och källor.")
        return _single_period(data, m, chart_id, title, sel, area, note)
    temporal = ptype == "month"
    drawn = _with_gaps(data.filter(pl.col("gender").is_in(_valued_genders(data))), ptype)
    x = (alt.X("period_start:T", title=None,
               axis=alt.Axis(labelExpr=theme.sv_month_expr(), tickCount=_month_ticks(drawn)))
         if temporal else
         alt.X("Period_text:O", title=None, sort=drawn["Period_text"].unique(maintain_order=True).to_list(),
               axis=alt.Axis(labelAngle=0)))
    base = alt.Chart(drawn).encode(
        x=x,
        y=alt.Y("value:Q", title=_value_title(m), axis=alt.Axis(labelExpr=axis_format(m))),
        color=alt.Color("gender:N", title="Kön", scale=theme.gender_scale(_valued_genders(drawn)),
                        legend=alt.Legend(labelExpr="{'kvinnor':'Kvinnor','män':'Män','totalt':'Totalt'}[datum.label]")),
        tooltip=[alt.Tooltip("Period_text:N", title="Period"), alt.Tooltip("Kön:N"),
                 alt.Tooltip("Värde_text:N", title=m.label_sv)],
    )
    layers = [base.mark_line()]
    if not temporal or len(data) < 40:
        layers.append(base.mark_point(filled=True, size=90).transform_filter("datum.status != 'approximate'"))
    elif drawn["alone"].any():  # a value between gaps has no line to show it
        layers.append(base.mark_point(filled=True, size=90)
                      .transform_filter("datum.alone && datum.status != 'approximate'"))
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


PERIODS_PER_YEAR = {"year": 1, "tertial": 3, "quarter": 4, "month": 12}


def _period_index(label: str, ptype: str) -> int | None:
    """Periods of a regular type counted from year 0: consecutive periods differ by one."""
    n = PERIODS_PER_YEAR.get(ptype)
    try:
        p = parse_period(label)
    except PeriodError:
        return None
    if n is None or p.type != ptype:
        return None
    return p.start.year * n + (p.start.month - 1) // (12 // n)


def _period_label(index: int, ptype: str) -> str:
    year, part = divmod(index, PERIODS_PER_YEAR[ptype])
    return {"year": f"{year}", "tertial": f"{year}-T{part + 1}", "quarter": f"{year}-K{part + 1}",
            "month": f"{year}-{part + 1:02d}"}[ptype]


def _with_gaps(data: pl.DataFrame, ptype: str) -> pl.DataFrame:
    """The rows a line chart draws: a null value for each period missing inside a gender's run,
    so the line breaks there instead of bridging the gap (Vega-Lite draws no line through a
    null), and `alone` for a value without a neighbour (a line of one point does not show)."""
    gaps = []
    for gender in data["gender"].unique(maintain_order=True).to_list():
        have = {_period_index(p, ptype) for p in data.filter(pl.col("gender") == gender)["period"].to_list()}
        have.discard(None)
        for i in (range(min(have), max(have) + 1) if have else ()):
            if i not in have:
                label = _period_label(i, ptype)
                p = parse_period(label)
                gaps.append({"period": label, "period_start": p.start, "period_end": p.end, "gender": gender,
                             "status": "missing", "Period_text": format_period(label),
                             "Kön": GENDER_LABEL.get(gender, gender), "Värde_text": NO_VALUE_TEXT["missing"]})
    if gaps:
        data = pl.concat([data, pl.DataFrame(gaps)], how="diagonal_relaxed").sort("period_start", "gender")
    valued = pl.col("value").is_not_null()
    neighbour = valued.shift(1).over("gender").fill_null(False) | valued.shift(-1).over("gender").fill_null(False)
    return data.with_columns(alone=valued & ~neighbour)


def _valued_genders(data: pl.DataFrame) -> list[str]:
    """The genders with a value: a legend lists only what is drawn."""
    return data.filter(pl.col("value").is_not_null())["gender"].unique().to_list()


def _month_ticks(drawn: pl.DataFrame) -> alt.TimeIntervalStep:
    """About eight ticks at most and none finer than a month: finer ticks repeat a month's label."""
    first, last = drawn["period_start"].min(), drawn["period_start"].max()
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    step = next((s for s in (1, 2, 3, 6, 12) if months / s <= 8), 24)
    return alt.TimeIntervalStep(interval="month", step=step)


def _single_period(data: pl.DataFrame, m: Measure, chart_id: str, title: str, sel: pl.DataFrame,
                   area: str, note: str) -> ChartSpec:
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
                     notes=[note])


def _sentence(sel: pl.DataFrame, area: str | None, period: str | None = None) -> str:
    """The latest figures (or those of `period`) in words: the total, or women and men together
    where there is no total: one gender never stands for both."""
    if sel.is_empty():
        return ""
    rows = _with_status_prev(year_on_year(sel))
    rows = latest(rows) if period is None else rows.filter(pl.col("period") == period, pl.col("value").is_not_null())
    if rows.is_empty():
        return ""
    phrase = f" i {area_name(area)}" if area else None
    by_gender: dict[str, dict] = {}
    for r in rows.sort("period_end", descending=True).iter_rows(named=True):
        by_gender.setdefault(r["gender"], r)
    last = max(r["period_end"] for r in by_gender.values())
    total = by_gender.get("totalt")
    if total is not None and total["period_end"] == last:
        return describe(total, phrase)
    if "kvinnor" in by_gender and "män" in by_gender:
        return describe_genders(by_gender["kvinnor"], by_gender["män"], phrase)
    return describe(max(by_gender.values(), key=lambda r: r["period_end"]), phrase)


def _with_status_prev(yoy: pl.DataFrame) -> pl.DataFrame:
    """Adds `status_prev`: whether the year-earlier value was approximate ('cirka')."""
    keys = [k for k in SERIES_KEY if k in yoy.columns]
    prev = (yoy.select(*keys, pl.col("period").alias("period_prev"), pl.col("status").alias("status_prev"))
            .unique(subset=[*keys, "period_prev"], keep="first"))
    return yoy.join(prev, on=[*keys, "period_prev"], how="left")


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
    pick = dict(by=by, area=area, group=group, genders=genders, kind=kind, area_types=area_types)
    sel = _bar_rows(obs, series, measure, [period], **pick)
    title = title or f"{m.label_sv}{kind_suffix(kind)} {format_period(period)}"
    chart_id = chart_id or f"bars-{series}-{measure}-{by}"
    label_col = "group" if by == "group" else "area"
    table = _table(sel.sort(label_col, "gender"), m, title, ["area" if by == "area" else "group", "Kön"])
    if sel.filter(pl.col("value").is_not_null()).is_empty():
        return ChartSpec(chart_id, title, None, table, "", [],
                         empty_message=f"Inga uppgifter för {format_period(period)}.")
    # a bar without a value is left out and named in a note: an empty row reads as zero
    data = _display(sel.filter(pl.col("value").is_not_null()), m)
    notes, cited = [], [data]  # the source names the rows whose figures are shown
    own, everyone = sel, None
    if by == "area" and area_types == ("sdo",):  # the districts: every one drawn, noted, or reported jointly
        from ..catalogue import districts
        joint = _joint_rows(obs, series, measure, period=period, gender="totalt", group=group, kind=kind)
        jointly = reported_jointly(joint, set(data["area"].to_list()))
        own, everyone = sel.filter(~pl.col("area").is_in(list(jointly))), [d for d in districts() if d not in jointly]
        notes += [f"{n}; inte med i diagrammet." for n in _joint_notes(jointly, m)]
        cited.append(joint.filter(pl.col("area").is_in([r["area"] for r in jointly.values()])))
    gaps = _without_value(own, label_col, everyone)
    if gaps:
        notes.insert(0, f"Utan stapel: {gaps}.")
    vera_from, vera_series, vera_text = BREAKS["vera"]
    if series in vera_series and period.startswith(vera_from[:4]) and {"kvinnor", "män"} & set(data["gender"].to_list()):
        notes.append(vera_text)  # a split by kön for 2023 covers part of the year only
    order = _bar_order(data, label_col, genders, m)
    enc = dict(
        y=alt.Y(f"{label_col}:N", title=None, sort=order),
        x=alt.X("value:Q", title=_value_title(m), axis=alt.Axis(labelExpr=axis_format(m))),
        tooltip=[alt.Tooltip(f"{label_col}:N", title="Område" if by == "area" else "Grupp"),
                 alt.Tooltip("Kön:N"), alt.Tooltip("Värde_text:N", title=m.label_sv)],
    )
    if len(genders) > 1:
        enc["color"] = alt.Color("gender:N", title="Kön", scale=theme.gender_scale(_valued_genders(data)),
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
    ranked = data.filter(pl.col("value").is_not_null(), ~_is_subgroup(label_col))
    if ranked[label_col].n_unique() == 0:  # only 'varav' groups: they are all there is to rank
        ranked = data.filter(pl.col("value").is_not_null())
    if ranked[label_col].n_unique() == 1:
        sentence = _sentence(_bar_rows(obs, series, measure, [period, *_previous(period)], **pick)
                             .filter(pl.col(label_col) == ranked[label_col][0]), None, period)
    else:
        sentence = _bars_sentence(ranked, m, label_col, f"{m.label_sv}{kind_suffix(kind)} {format_period(period)}",
                                  _ranked_what(ranked) if by == "area" else _groups_what(ranked[label_col]),
                                  "i" if by == "area" else "för")
    return ChartSpec(chart_id, title, chart, table, sentence, sources_of(pl.concat(cited, how="diagonal_relaxed")),
                     alt_text=f"Stapeldiagram: {title}. {sentence}", notes=notes,
                     bars_drawn=data[label_col].n_unique() * (len(_valued_genders(data)) if len(genders) > 1 else 1))


def _joint_rows(obs: pl.DataFrame, series: str, measure: str, *, period: str, gender: str, group: str | None,
                kind: str) -> pl.DataFrame:
    """The rows of areas reported as one (area_type combined) for a cell."""
    return slice_rows(obs, series, measure).filter(
        pl.col("period") == period, pl.col("gender") == gender, pl.col("group") == (group or ""),
        pl.col("kind") == kind, pl.col("area_type") == "combined", pl.col("is_preferred"))


def _bar_rows(obs: pl.DataFrame, series: str, measure: str, periods: list[str], *, by: str, area: str | None,
              group: str | None, genders: tuple[str, ...], kind: str,
              area_types: tuple[str, ...] | None) -> pl.DataFrame:
    filters = [pl.col("period").is_in(periods), pl.col("kind") == kind, pl.col("gender").is_in(list(genders)),
               pl.col("is_preferred")]
    if by != "area" and area is not None:
        filters.append(pl.col("area") == area)
    if by != "group" and group is not None:
        filters.append(pl.col("group") == group)
    sel = slice_rows(obs, series, measure).filter(*filters)
    if by == "group":
        sel = sel.filter(pl.col("group") != "")
    if area_types is not None:
        sel = sel.filter(pl.col("area_type").is_in(list(area_types)))
    return sel


def _previous(period: str) -> list[str]:
    return [p for p in previous_period_labels([period]) if p]


def _ranked_what(ranked: pl.DataFrame) -> str:
    """What a ranking of areas is among: 'stadsdelsområdena', or 'förvaltningarna' when other
    administrations (Utbildningsnämnden, ...) are ranked beside the districts."""
    types = set(ranked["area_type"].unique().to_list()) if "area_type" in ranked.columns else set()
    if types <= {"sdo", "former_sdo", "combined"}:
        return "stadsdelsområdena"
    return "förvaltningarna" if "other" in types else "områdena"


def _groups_what(labels: pl.Series) -> str:
    """What a ranking of groups is among: 'loven' for sommarlov, höstlov and jullov."""
    return "loven" if labels.str.ends_with("lov").all() else "grupperna"


def kind_suffix(kind: str) -> str:
    """' (budget)': a budget, forecast or target must not read as an outcome."""
    return "" if kind == "utfall" else f" ({kind})"


def _is_subgroup(label_col: str) -> pl.Expr:
    """'varav LSS, ...' is part of another group: ranked against the main groups it misleads."""
    return pl.col(label_col).str.starts_with("varav ") if label_col == "group" else pl.lit(False)


def _bar_order(data: pl.DataFrame, label_col: str, genders: tuple[str, ...], m: Measure) -> list[str]:
    """Labels from the highest value down: by the total, else (counts) by women and men summed,
    else by the last gender shown."""
    valued = data.filter(pl.col("value").is_not_null())
    present = set(valued["gender"].to_list())
    if "totalt" not in present and {"kvinnor", "män"} <= present and m.is_additive:
        ranked = (valued.group_by(label_col).agg(pl.col("value").sum())
                  .sort(["value", label_col], descending=[True, False]))
    else:
        g_last = next(g for g in reversed(genders) if g in present)
        ranked = data.filter(pl.col("gender") == g_last).sort("value", descending=True, nulls_last=True)
    order = ranked[label_col].to_list()
    return order + [x for x in data[label_col].unique().to_list() if x not in order]


def _entries(df: pl.DataFrame, m: Measure, label_col: str) -> list[dict]:
    """One entry per label to rank (highest first): its name in a sentence and its value as shown."""
    out = [{"label": area_name(r[label_col]) if label_col == "area" else r[label_col], "value": r["value"],
            "shown": format_number(r["value"], m.decimals, m.unit), "approx": r["status"] == "approximate",
            "detail": r.get("detail", "")}
           for r in df.iter_rows(named=True)]
    return sorted(out, key=lambda e: (-e["value"], e["label"]))


def _ends(entries: list[dict], top: bool) -> str:
    """'Bromma, Hägersten-Älvsjö och Kungsholmen (cirka 2,0 %)': every label showing the end value."""
    shown = entries[0 if top else -1]["shown"]
    tied = sorted((e for e in entries if e["shown"] == shown), key=lambda e: _sv_key(e["label"]))
    approx = "cirka " if any(e["approx"] for e in tied) else ""
    detail = f": {tied[0]['detail']}" if len(tied) == 1 and tied[0]["detail"] else ""
    return f"{names([e['label'] for e in tied])} ({approx}{shown}{detail})"


def _sv_key(label: str) -> str:
    """Swedish alphabetical order: å, ä, ö after z."""
    return label.lower().translate({ord("å"): "{", ord("ä"): "|", ord("ö"): "}"})


def _rank_text(entries: list[dict], at: str = "i") -> str:
    """'högst i A (x) och lägst i B (y)' ('för' groups); when every label shows the same value: 'x i A och B'."""
    if entries[0]["shown"] == entries[-1]["shown"]:
        approx = "cirka " if any(e["approx"] for e in entries) else ""
        return f"{approx}{entries[0]['shown']} {at} {names(sorted((e['label'] for e in entries), key=_sv_key))}"
    return f"högst {at} {_ends(entries, True)} och lägst {at} {_ends(entries, False)}"


def _bars_sentence(ranked: pl.DataFrame, m: Measure, label_col: str, head: str, what: str, at: str = "i") -> str:
    """The ranking in words. Without a total, counts are ranked by women and men summed (and say
    so), shares per gender: one gender never stands for both."""
    present = set(ranked["gender"].to_list())
    if "totalt" in present or not {"kvinnor", "män"} <= present:
        gender = "totalt" if "totalt" in present else next(iter(present))
        who = "" if gender == "totalt" else f", {gender}"
        entries = _entries(ranked.filter(pl.col("gender") == gender), m, label_col)
        return f"{head}{who}: {_rank_text(entries, at)} bland {what} som redovisas."
    if m.is_additive:
        entries = _entries(_summed(ranked, m, label_col), m, label_col)
        return f"{head}, kvinnor och män sammanlagt: {_rank_text(entries, at)} bland {what} som redovisas."
    parts = [f"bland {g} {_rank_text(_entries(ranked.filter(pl.col('gender') == g), m, label_col), at)}"
             for g in ("kvinnor", "män")]
    return f"{head}: {parts[0]}, {parts[1]}."


def _summed(ranked: pl.DataFrame, m: Measure, label_col: str) -> pl.DataFrame:
    """Women + men per label with both (the parts kept for the sentence: '1 432: 735 kvinnor och 697 män')."""
    wide = (ranked.filter(pl.col("gender").is_in(["kvinnor", "män"]))
            .group_by(label_col, maintain_order=True)
            .agg(pl.col("value").filter(pl.col("gender") == "kvinnor").first().alias("k"),
                 pl.col("value").filter(pl.col("gender") == "män").first().alias("m"),
                 (pl.col("status") == "approximate").any().alias("approx"))
            .filter(pl.col("k").is_not_null(), pl.col("m").is_not_null()))
    detail = [f"{format_number(k, m.decimals)} kvinnor och {format_number(v, m.decimals)} män"
              for k, v in zip(wide["k"].to_list(), wide["m"].to_list())]
    return wide.select(
        pl.col(label_col), (pl.col("k") + pl.col("m")).alias("value"),
        pl.when(pl.col("approx")).then(pl.lit("approximate")).otherwise(pl.lit("")).alias("status"),
        pl.Series("detail", detail, dtype=pl.String))


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
    title = title or f"{m.label_sv}{kind_suffix(kind)} per stadsdelsområde, {format_period(period)}"
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
    valued = {a for a, r in values.items() if r["value"] is not None}
    joint = _joint_rows(obs, series, measure, period=period, gender=gender, group=group, kind=kind)
    jointly = reported_jointly(joint, valued)
    features = []
    for f in district_features():  # shared geometry, read only; fresh properties per map
        area = f["properties"]["area"]
        r = values.get(area)
        if area in jointly:
            text = joint_phrase(area, jointly[area], m)
        elif r is None or (r["value"] is None and r["status"] != "suppressed"):
            text = "uppgift saknas"
        else:
            text = r["Värde_text"]
        features.append({"type": f["type"], "geometry": f["geometry"],
                         "properties": f["properties"] | {"value": r["value"] if r else None, "text": text,
                                                          "joint": area in jointly}})
    geo = alt.Data(values=_Values(features))
    base = alt.Chart().project(type="mercator")  # the geometry goes on the layer once: Altair copies
    # a chart's data at every step (encode, filter, ...), which made the map the slowest chart
    tooltip = [alt.Tooltip("properties.area:N", title="Stadsdelsområde"),
               alt.Tooltip("properties.text:N", title=m.label_sv)]
    missing = base.mark_geoshape(fill=MISSING_FILL, stroke="#ffffff", strokeWidth=1.5).encode(
        tooltip=tooltip).transform_filter("datum.properties.value == null && !datum.properties.joint")
    # grey too (a joint figure is not the district's own), outlined as one: drawn last, over the borders
    together = base.mark_geoshape(fill=MISSING_FILL, stroke=theme.MUTED, strokeWidth=2, strokeDash=[5, 3]).encode(
        tooltip=tooltip).transform_filter("datum.properties.joint")
    filled = base.mark_geoshape(stroke="#ffffff", strokeWidth=1.5).encode(
        color=alt.Color("properties.value:Q", title=_value_title(m),
                        # light to mid blue: dark labels read at 4.5:1 or better on every district
                        scale=alt.Scale(range=["#eef5fc", "#4f9bd1"]),
                        legend=alt.Legend(orient="right", labelExpr=axis_format(m), gradientLength=220)),
        tooltip=tooltip,
    ).transform_filter("datum.properties.value != null")
    labels = base.mark_text(style=theme.MAP_LABEL).encode(  # its size in the theme: larger when projected
        longitude=alt.Longitude("lon:Q"), latitude=alt.Latitude("lat:Q"), text=alt.Text("properties.text:N"),
        color=alt.ColorValue(theme.TEXT),
    ).transform_filter(  # grey districts carry no label: the small central ones would overlap
        "datum.properties.value != null"
    ).transform_calculate(
        lon="geoCentroid(null, datum)[0]", lat="geoCentroid(null, datum)[1]")
    layers = [missing, filled, together, labels] if jointly else [missing, filled, labels]
    chart = _layer(*layers, data=geo)  # its height is the theme's: shorter when projected
    shown = sorted(valued)
    everyone = districts()
    lacking = [d for d in everyone if d not in valued and d not in jointly]
    entries = _entries(data.filter(pl.col("value").is_not_null()), m, "area")
    sentence = f"{m.label_sv}{kind_suffix(kind)} {format_period(period)} var {_rank_text(entries)}."
    together_notes = _joint_notes(jointly, m)
    sentence += "".join(f" {n}." for n in together_notes)
    if lacking:
        sentence += f" Uppgift saknas för {len(lacking)} av {len(everyone)} stadsdelsområden."
    notes = []
    if lacking:
        own = sel.filter(~pl.col("area").is_in(list(jointly)))
        notes.append(f"Grått på kartan: {_without_value(own, 'area', [d for d in everyone if d not in jointly])}.")
    if together_notes:
        notes.append(f"Grått med streckad kant: {'; '.join(together_notes)}.")
    cited = pl.concat([sel.filter(pl.col("value").is_not_null()),
                       joint.filter(pl.col("area").is_in([r["area"] for r in jointly.values()]))])
    return ChartSpec(chart_id, title, chart, table, sentence, sources_of(cited) + [attribution()],
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
    shown = set(frame.filter(pl.col("Antal").is_not_null())["Steg"].to_list())
    absent = [lower_first(s) for s in order if s not in shown]
    notes = [f"Källan redovisar inte {names(absent, cap=len(absent))} för {format_period(period)}"
             + ("" if gender == "totalt" else f" bland {gender}") + "."] if absent else []
    return ChartSpec(chart_id, title, chart, table, sentence, sources_of(sel), alt_text=f"Stapeldiagram: {title}. {sentence}",
                     notes=notes)


def period_phrase_short(period: str) -> str:
    from .sentences import period_phrase
    return period_phrase(period)


TARGET_LABELS = {"nämnden": "Nämndens mål", "kf": "KF:s mål"}


def targets(obs: pl.DataFrame, measure: str, *, group: str = "", area: str = "Stockholm",
            chart_id: str | None = None, doubtful: tuple[str, ...] = ()) -> ChartSpec:
    """An indicator's outcome by gender over the periods, with nämndens and KF:s targets as ticks.
    `doubtful`: sources of figures the report itself contradicts (reports.contradicted_sources);
    an outcome there is named in a note, which goes with the chart onto a slide."""
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
    # a gender whose every value is missing or 0 has no bar to see: it is not drawn (the table keeps
    # it), so the legend does not list it and it takes no slot beside the others
    seen = outcome.filter(pl.col("value").is_not_null(), pl.col("value") != 0)["gender"].unique().to_list()
    bars_of = seen or outcome.filter(pl.col("value").is_not_null())["gender"].unique().to_list()
    drawn = outcome.filter(pl.col("gender").is_in(bars_of), pl.col("value").is_not_null())
    goal = data.filter(pl.col("kind") == "målvärde", pl.col("value").is_not_null())
    if outcome.filter(pl.col("value").is_not_null()).is_empty() and goal.is_empty():
        return ChartSpec(chart_id, title, None, table, "", [], empty_message="Inga uppgifter för indikatorn.")
    # years without figures stay on the axis, empty: equally spaced categories must not hide a gap
    periods = _with_missing_years(data.sort("period_start").select("Period_text", "period_type").unique(
        maintain_order=True))
    x = alt.X("Period_text:N", title=None, sort=periods, scale=alt.Scale(domain=periods), axis=alt.Axis(labelAngle=0))
    y_axis = alt.Axis(labelExpr=axis_format(m))
    layers = []
    if not drawn.is_empty():
        ob = alt.Chart(drawn).encode(
            x=x, xOffset=alt.XOffset("gender:N", sort=list(GENDERS)),
            y=alt.Y("value:Q", title=_value_title(m), axis=y_axis),
            color=alt.Color("gender:N", title="Utfall", scale=theme.gender_scale(bars_of),
                            legend=alt.Legend(labelExpr="{'kvinnor':'Kvinnor','män':'Män','totalt':'Totalt'}[datum.label]")),
            tooltip=[alt.Tooltip("Period_text:N", title="Period"), alt.Tooltip("Kön:N"),
                     alt.Tooltip("Värde_text:N", title="Utfall")])
        layers.append(ob.mark_bar())
    if not goal.is_empty():
        present = set(goal["Serie"].to_list())  # the legend lists only the targets the chart has
        labels = [v for v in TARGET_LABELS.values() if v in present] or sorted(present)
        styles = dict(zip(TARGET_LABELS.values(), [("diamond", theme.TEXT), ("triangle-down", theme.PALETTE[3])]))
        shapes, colours = zip(*(styles.get(v, ("circle", theme.TEXT)) for v in labels))
        colour_scale = alt.Scale(domain=labels, range=list(colours))
        legend = alt.Legend(symbolSize=260, symbolStrokeWidth=1.5)  # as large as the markers, legible on a projector
        enc = dict(
            x=x, y=alt.Y("value:Q", axis=y_axis),
            shape=alt.Shape("Serie:N", title="Mål", legend=legend, scale=alt.Scale(domain=labels, range=list(shapes))),
            color=alt.Color("Serie:N", title="Mål", legend=legend, scale=colour_scale),
            tooltip=[alt.Tooltip("Period_text:N", title="Period"), alt.Tooltip("Serie:N", title="Mål"),
                     alt.Tooltip("Värde_text:N", title="Målvärde")])
        if len(labels) > 1:  # nämndens and KF:s markers side by side: equal targets must not hide one another
            enc["xOffset"] = alt.XOffset("Serie:N", scale=alt.Scale(domain=labels, paddingOuter=0.5))
        gb = alt.Chart(goal).encode(**enc)
        layers.append(gb.mark_point(size=320, filled=True, opacity=1, stroke="#ffffff", strokeWidth=1.5))
        # each target also a line across all the period's bars: the target for the whole, not for the
        # gender whose bar its marker happens to stand over
        layers.append(alt.Chart(goal).mark_tick(thickness=3, opacity=0.9).encode(
            x=x, y=alt.Y("value:Q", axis=y_axis), color=alt.Color("Serie:N", legend=None, scale=colour_scale),
            tooltip=enc["tooltip"]))
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
    contradicted = outcome.filter(pl.col("source").is_in(list(doubtful)), pl.col("gender") == "totalt")
    notes = [f"Utfallet {format_period(r['period'])} ({r['Värde_text']}) motsägs av rapportens egen text och "
             "bedöms inte mot målet (se Om data)." for r in contradicted.unique("period", maintain_order=True)
             .iter_rows(named=True)]
    return ChartSpec(chart_id, title, chart, table, sentence, sources_of(sel), alt_text=f"Diagram: {title}. {sentence}",
                     notes=notes)


def _with_missing_years(periods: pl.DataFrame) -> list[str]:
    """The period labels in order, with the years between the first and last year that have no
    figures put in their place ('2023', '2024', '2025', '2026' where 2024 and 2025 are missing)."""
    out: list[str] = []
    for label, ptype in periods.iter_rows():
        if ptype == "year" and out and (prev := next((p for p in reversed(out) if p.isdigit()), None)):
            out += [str(y) for y in range(int(prev) + 1, int(label)) if str(y) not in out]
        out.append(label)
    return out


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
