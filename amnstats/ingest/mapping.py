"""From a RawTable to candidate rows: which column (or constant) gives each model field.

`detect(table)` guesses a `Mapping` from header words and cell contents; the analyst fixes
what it got wrong or could not know (`Mapping.missing`), and `apply(table, mapping, ...)`
turns every value cell into one candidate row for `amnstats.normalise.normalise`.

Layouts:
  long  one value column (`value`), every other field a column or a constant;
  wide  several value columns (`wide.columns`) whose header levels name a field:
        years or months as columns, Kvinnor/Män/Totalt as columns, districts as columns,
        or two header rows such as Kvinna/Man/Totalsumma over 2023/2022
        (`wide.levels == ["gender", "period"]`).
A Mapping is plain data (`to_dict`/`from_dict`), so it can be saved as a named template;
`signature` identifies the file layout (period labels abstracted) so next month's export of
the same kind finds its template, and `fit` re-selects the wide columns in that file.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace

import polars as pl

from .. import catalogue
from ..normalise import CANDIDATE_COLUMNS, parse_values
from ..problems import InputError, Problem
from ..schema import SOURCE_ROW
from . import roles
from .read import RawTable

FIELDS = ("period", "gender", "area", "group", "note")
LEVEL_FIELDS = ("period", "gender", "area", "group")
MISSING_SV = {
    "series": "vilken serie värdena hör till (t.ex. Arbetslöshet eller Jobbtorg)",
    "measure": "vilket mått värdena är (ur katalogen för serien)",
    "period": "vilken period värdena gäller: en kolumn, eller en period för hela filen (t.ex. 2023)",
    "area": "vilket område värdena gäller: en kolumn, eller ett område för hela filen (t.ex. Stockholm)",
    "value": "vilken kolumn (eller vilka kolumner) som innehåller värdena",
}
FIELD_SV = {"period": "period", "gender": "kön", "area": "område", "group": "grupp", "note": "kommentar"}
FRACTIONS_NOTE = "Alla värden ligger mellan 0 och 1: de tolkas som andelar och multipliceras med 100."
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Source:
    """Where a field comes from: one or more columns (joined with ', '), or a constant."""

    columns: tuple[str, ...] = ()
    constant: str | None = None

    @classmethod
    def column(cls, *names: str) -> Source:
        return cls(columns=tuple(names))

    @classmethod
    def fixed(cls, value: str) -> Source:
        return cls(constant=value)

    @property
    def is_set(self) -> bool:
        return bool(self.columns) or self.constant is not None

    def to_dict(self) -> dict:
        if self.columns:
            return {"columns": list(self.columns)}
        return {} if self.constant is None else {"constant": self.constant}

    @classmethod
    def from_dict(cls, d: dict | None) -> Source:
        d = d or {}
        return cls(tuple(d.get("columns") or ()), d.get("constant"))


@dataclass
class Wide:
    """Value columns that melt into rows; `levels[i]` is the field header row i gives
    ('period', 'gender', 'area', 'group') or '' when that row is not used."""

    columns: list[str]
    levels: list[str]
    patterns: list[list[str]] = field(default_factory=list)  # normalised headers, see fit()

    def to_dict(self) -> dict:
        return {"columns": list(self.columns), "levels": list(self.levels),
                "patterns": [list(p) for p in self.patterns]}

    @classmethod
    def from_dict(cls, d: dict | None) -> Wide | None:
        if not d:
            return None
        return cls(list(d.get("columns", [])), list(d.get("levels", [])), [list(p) for p in d.get("patterns", [])])


@dataclass
class Mapping:
    series: str = ""
    measure: str = ""
    kind: str = "utfall"
    target_setter: str = ""
    period: Source = field(default_factory=Source)
    gender: Source = field(default_factory=lambda: Source.fixed("totalt"))
    area: Source = field(default_factory=Source)
    group: Source = field(default_factory=lambda: Source.fixed(""))
    note: Source = field(default_factory=lambda: Source.fixed(""))
    value: str = ""                                   # long layout: the value column
    wide: Wide | None = None                          # wide layout
    period_year: Source = field(default_factory=Source)  # year for month labels without one
    values_are_fractions: bool = False                # 0.053 means 5,3 % (procent measures only)
    signature: str = ""
    notes: list[str] = field(default_factory=list)    # what detect() guessed, in Swedish

    @property
    def missing(self) -> list[str]:
        """Fields the analyst must still answer (keys of MISSING_SV)."""
        out = [f for f in ("series", "measure") if not getattr(self, f)]
        levels = set(self.wide.levels) if self.wide else set()
        # an empty constant is a question left blank, not a period or area
        out += [f for f in ("period", "area")
                if not (getattr(self, f).is_set and getattr(self, f).constant != "") and f not in levels]
        if not self.value and not (self.wide and self.wide.columns) or self.ambiguous_levels:
            out.append("value")
        return out

    @property
    def ambiguous_levels(self) -> list[int]:
        """Unused header rows that differ between the wide columns (e.g. several measures)."""
        if not self.wide:
            return []
        return [i for i, lv in enumerate(self.wide.levels)
                if not lv and len({p[i] for p in self.wide.patterns if i < len(p)}) > 1]

    def describe_missing(self) -> list[str]:
        several = "vilka av värdekolumnerna som hör till måttet: rubrikerna visar flera olika mått, ta bara med det " \
                  "valda måttets kolumner"
        return [several if f == "value" and self.ambiguous_levels else MISSING_SV[f] for f in self.missing]

    def id_columns(self) -> list[str]:
        out: list[str] = []
        for src in (self.period, self.gender, self.area, self.group, self.note, self.period_year):
            out += [c for c in src.columns if c not in out]
        return out

    def matches(self, table: RawTable) -> bool:
        return bool(self.signature) and self.signature == layout_signature(table)

    def to_dict(self) -> dict:
        d = {"version": FORMAT_VERSION, "series": self.series, "measure": self.measure, "kind": self.kind,
             "target_setter": self.target_setter, "value": self.value,
             "values_are_fractions": self.values_are_fractions, "signature": self.signature,
             "notes": list(self.notes), "missing": self.missing}
        for f in (*FIELDS, "period_year"):
            d[f] = getattr(self, f).to_dict()
        d["wide"] = self.wide.to_dict() if self.wide else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Mapping:
        m = cls(series=d.get("series", ""), measure=d.get("measure", ""), kind=d.get("kind", "utfall"),
                target_setter=d.get("target_setter", ""), value=d.get("value", ""),
                wide=Wide.from_dict(d.get("wide")), values_are_fractions=bool(d.get("values_are_fractions")),
                signature=d.get("signature", ""), notes=list(d.get("notes", [])))
        for f in (*FIELDS, "period_year"):
            if f in d:
                setattr(m, f, Source.from_dict(d[f]))
        return m

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str) -> Mapping:
        return cls.from_dict(json.loads(text))


# ---------------------------------------------------------------- layout signature

def normalised_label(label: str) -> str:
    """A header label with case, spacing and period values abstracted ('2023' -> '<period>')."""
    text = " ".join(label.split()).casefold()
    if text and (roles.is_period(label) or roles.is_month_without_year(label)):
        return "<period>"
    return text


def normalised_header(header: tuple[str, ...]) -> list[str]:
    return [normalised_label(p) for p in header]


def layout_signature(table: RawTable) -> str:
    """Same value for files of the same layout, whatever periods they cover."""
    collapsed: list[list[str]] = []
    for h in table.headers:
        n = normalised_header(h)
        if not collapsed or collapsed[-1] != n:
            collapsed.append(n)
    return hashlib.sha256(json.dumps(collapsed, ensure_ascii=False).encode()).hexdigest()[:16]


# ---------------------------------------------------------------- detection

def _lowest(header: tuple[str, ...]) -> str:
    return next((p for p in reversed(header) if p), "")


def _full(header: tuple[str, ...]) -> str:
    return " ".join(p for p in header if p)


def _preamble_period(table: RawTable) -> str | None:
    found = set()
    for line in table.preamble:
        for token in re.findall(r"\b\d{4}(?:/\d{2}|M\d{2}|-T[123]|-\d{2})?\b", line):
            if roles.is_period(token):
                found.add(token)
    return found.pop() if len(found) == 1 else None


def says_percent(label: str) -> bool:
    """A header that states its unit as percent ('Andel (%)', 'Procent'): its values are percent."""
    return "%" in label or "procent" in roles.words(label)


def values_look_like_fractions(table: RawTable, mapping: Mapping) -> bool:
    """Every value within 0..1 (and not all 0 or 1): Arbetsförmedlingen's 0.053 for 5,3 %. Not
    when a value column's header says percent: 0,4 under 'Andel (%)' is 0,4 %."""
    cols = mapping.wide.columns if mapping.wide else ([mapping.value] if mapping.value else [])
    cols = [c for c in cols if c in table.columns]
    if not cols or any(says_percent(_full(table.header(c))) for c in cols):
        return False
    value, _status, _invalid = parse_values(pl.col("v"))
    distinct = pl.concat([table.cells[c].unique().cast(pl.String) for c in cols])  # each text once
    vals = distinct.to_frame("v").select(value.alias("x"))["x"].drop_nulls()
    return vals.len() > 0 and bool(((vals >= 0) & (vals <= 1)).all()) and bool(((vals > 0) & (vals < 1)).any())


def _is_share_measure(series: str, measure: str) -> bool | None:
    m = catalogue.measures().get((series, measure))
    return None if m is None else m.unit in catalogue.SHARE_UNITS


class _Columns:
    """Profiles and header-word scores of a table's columns, for detect()."""

    def __init__(self, table: RawTable):
        self.table = table
        self.profiles = {c: roles.profile(table.cells[c], _full(h)) for c, h in zip(table.columns, table.headers)}
        self.used: set[str] = set()

    def score(self, col: str, role: str) -> int:
        h = self.table.header(col)
        return max(roles.header_score(_lowest(h), role), roles.header_score(_full(h), role))

    def best(self, role: str, evidence, min_evidence: float, allow_numeric: bool = False) -> str | None:
        """The unused column a header word or its contents name for `role`."""
        ranked = []
        for i, (c, p) in enumerate(self.profiles.items()):
            s = self.score(c, role)
            if c in self.used or p.n_filled == 0 or (p.numeric >= 0.9 and not allow_numeric and s < 2):
                continue
            ev = evidence(p)
            # Without a header word, contents alone decide, but never for a column named as a value.
            if s >= 2 or (ev >= min_evidence and self.score(c, "value") == 0):
                ranked.append((s + (2 if ev >= min_evidence else 0), p.n_unique, -i, c))
        if not ranked:
            return None
        self.used.add(max(ranked)[3])
        return max(ranked)[3]

    def holds_values(self, c: str) -> bool:
        # A typo in a cell must not hide a column whose header names a year or a gender.
        named = any(roles.label_role(p) for p in self.table.header(c))
        p = self.profiles[c]
        return p.n_filled == 0 or p.numeric >= 0.8 or (named and p.numeric >= 0.5)


def _detect_ids(cols: _Columns, m: Mapping) -> None:
    """Period, gender, area, group and note columns."""
    prof = cols.profiles
    if period := cols.best("period", lambda p: max(p.period, p.month_no_year), 0.9, allow_numeric=True):
        m.period = Source.column(period)
        # Month names without a year ('januari') take their year from a year column.
        if prof[period].month_no_year >= 0.5:
            if year := cols.best("period", lambda p: p.period, 0.9, allow_numeric=True):
                m.period_year = Source.column(year)
        elif month := cols.best("period", lambda p: p.month_no_year, 0.9):
            if prof[month].month_no_year >= 0.9:
                m.period, m.period_year = Source.column(month), Source.column(period)
            else:
                cols.used.discard(month)
    if gender := cols.best("gender", lambda p: p.gender if p.n_unique >= 2 else 0.0, 0.9):
        # A column headed 'Kön' is the gender even with a value it does not know ('Okänt'): the
        # validation then names that value and its row, instead of every row becoming totalt.
        if prof[gender].gender >= 0.8 or (cols.score(gender, "gender") >= 2 and prof[gender].gender >= 0.5):
            m.gender = Source.column(gender)
        else:
            cols.used.discard(gender)
    if area := cols.best("area", lambda p: p.area, 0.8):
        m.area = Source.column(area)
    table = cols.table
    groups = [c for c in table.columns
              if c not in cols.used and cols.score(c, "group") >= 2 and prof[c].numeric < 0.9]
    if groups:
        cols.used.update(groups)
        m.group = Source.column(*groups)
    if note := next((c for c in table.columns if c not in cols.used and cols.score(c, "note") >= 2), None):
        cols.used.add(note)
        m.note = Source.column(note)


def _detect_values(cols: _Columns, m: Mapping, notes: list[str]) -> None:
    """Wide when header rows name periods, genders or areas; else one value column."""
    table = cols.table
    candidates = [c for c in table.columns if c not in cols.used and not roles.words(c) & roles.CODE_WORDS
                  and cols.holds_values(c)]
    levels = [""] * table.n_levels
    for i in range(table.n_levels):
        found = [roles.label_role(table.header(c)[i]) for c in candidates]
        counts = {r: found.count(r) for r in set(found) if r}
        if counts:
            role, n = max(counts.items(), key=lambda kv: kv[1])
            taken = role in levels or (role in ("gender", "area") and bool(getattr(m, role).columns))
            if n * 2 >= len(candidates) and not taken:
                levels[i] = role
    if not any(levels):
        worded = [c for c in candidates if cols.score(c, "value") >= 2]
        pick = candidates if len(candidates) == 1 else worded if len(worded) == 1 else []
        if pick:
            m.value = pick[0]
            notes.append(f"Värden: kolumnen '{m.value}'.")
        elif len(candidates) > 1:
            notes.append(f"Flera kolumner med tal ({', '.join(candidates[:6])}); välj vilken som är värdet.")
        return
    wide_cols = [c for c in candidates
                 if all(not lv or roles.label_role(table.header(c)[i]) == lv for i, lv in enumerate(levels))]
    if "period" in levels and m.period.columns:
        # The period comes from the header; a period column can only supply the year.
        i = levels.index("period")
        if any(roles.is_month_without_year(table.header(c)[i]) for c in wide_cols):
            m.period_year, m.period = m.period, Source()
        else:
            notes.append(f"Kolumnen '{m.period.columns[0]}' används inte: perioden står i rubrikraden.")
            m.period = Source()
    m.wide = Wide(wide_cols, levels, [normalised_header(table.header(c)) for c in wide_cols])
    named = ", ".join(f"rubrikrad {i + 1} = {FIELD_SV[lv]}" for i, lv in enumerate(levels) if lv)
    notes.append(f"Bred tabell: {len(wide_cols)} värdekolumner ({named}).")
    if m.ambiguous_levels:
        notes.append("Värdekolumnerna innehåller flera olika mått; välj de kolumner som hör till måttet.")


def _describe(cols: _Columns, m: Mapping, notes: list[str]) -> None:
    levels = m.wide.levels if m.wide else []
    for name in ("period", "gender", "area"):
        if getattr(m, name).columns:
            notes.append(f"{FIELD_SV[name].capitalize()}: kolumnen '{getattr(m, name).columns[0]}'.")
    if not m.gender.columns and "gender" not in levels:
        notes.append("Kön saknas i filen; alla värden tolkas som totalt.")
    if m.group.columns:
        notes.append(f"Grupp: {', '.join(repr(c) for c in m.group.columns)}.")
    taken = cols.used | {m.value} | set(m.wide.columns if m.wide else [])
    if unused := [c for c in cols.table.columns if c not in taken]:
        notes.append(f"Kolumner som inte används: {', '.join(unused[:8])}{' …' if len(unused) > 8 else ''}.")


def detect(table: RawTable, *, series: str = "", measure: str = "", kind: str = "utfall") -> Mapping:
    """Guess the mapping of `table`; series and measure are the analyst's when known.
    `Mapping.notes` says in Swedish what was guessed, `Mapping.missing` what is still open."""
    cols = _Columns(table)
    notes: list[str] = []
    m = Mapping(series=series, measure=measure, kind=kind, signature=layout_signature(table))
    _detect_ids(cols, m)
    _detect_values(cols, m, notes)
    if not m.period.is_set and not (m.wide and "period" in m.wide.levels) and (p := _preamble_period(table)):
        m.period = Source.fixed(p)
        notes.append(f"Perioden {p} är hämtad från raderna ovanför tabellen.")
    _describe(cols, m, notes)
    share = _is_share_measure(series, measure)
    if share is None:
        header_words = set().union(*(roles.words(c) for c in (m.wide.columns if m.wide else [m.value]) if c))
        share = bool(header_words & roles.SHARE_WORDS)
    if share and values_look_like_fractions(table, m):
        m.values_are_fractions = True
        notes.append(FRACTIONS_NOTE)
    m.notes = notes
    return m


# ---------------------------------------------------------------- the analyst's answers

def choose_value_columns(mapping: Mapping, table: RawTable, columns: list[str]) -> Mapping:
    """The wide columns the analyst picked (e.g. one measure out of several)."""
    levels = mapping.wide.levels if mapping.wide else [""] * table.n_levels
    return replace(mapping, value="", wide=Wide(list(columns), list(levels),
                                                [normalised_header(table.header(c)) for c in columns]))


def set_measure(mapping: Mapping, table: RawTable, series: str, measure: str) -> Mapping:
    """Series and measure chosen; decides again whether values are written as fractions."""
    out = replace(mapping, series=series, measure=measure)
    share = _is_share_measure(series, measure)
    out.values_are_fractions = bool(share) and values_look_like_fractions(table, out)
    return out


# ---------------------------------------------------------------- applying

def fit(mapping: Mapping, table: RawTable) -> Mapping:
    """A saved mapping re-targeted to `table`: wide columns re-selected by their normalised
    headers, so next month's export (with one more month column) is read the same way."""
    if not mapping.wide or not mapping.wide.patterns:
        return mapping
    patterns = {tuple(p) for p in mapping.wide.patterns}
    ids = set(mapping.id_columns())
    cols = [c for c in table.columns if c not in ids and tuple(normalised_header(table.header(c))) in patterns]
    if cols == mapping.wide.columns:
        return mapping
    return replace(mapping, wide=Wide(cols, list(mapping.wide.levels), [list(p) for p in mapping.wide.patterns]))


def _question(filename: str, name: str) -> Problem:
    """check()'s problem for a question of Mapping.missing."""
    return Problem(filename, None, name, f"ange {MISSING_SV[name]}")


def unanswered(problem: Problem) -> bool:
    """Whether a problem from check() only repeats a question of Mapping.missing (shown once, as
    describe_missing(), rather than again as an error in a column the file does not have)."""
    return problem.column in MISSING_SV and problem == _question(problem.file, problem.column)


def check(mapping: Mapping, table: RawTable) -> list[Problem]:
    """What stops `mapping` from being applied to `table`, in Swedish."""
    f = table.filename
    problems = [_question(f, name) for name in mapping.missing]
    referenced = mapping.id_columns() + ([mapping.value] if mapping.value else [])
    if mapping.wide:
        referenced += mapping.wide.columns
        if len(mapping.wide.levels) != table.n_levels:
            problems.append(Problem(f, None, "", f"mappningen gäller {len(mapping.wide.levels)} rubrikrader men "
                                                 f"filen har {table.n_levels}"))
        for c in set(mapping.wide.columns) & set(mapping.id_columns()):
            problems.append(Problem(f, None, c, "kolumnen kan inte vara både värdekolumn och beskrivande kolumn"))
    for c in dict.fromkeys(referenced):
        if c not in table.columns:
            problems.append(Problem(f, None, c, f"kolumnen '{c}' finns inte i filen"))
    return problems


def _joined(parts: list[pl.Expr]) -> pl.Expr:
    if len(parts) == 1:
        return parts[0]
    parts = [p.cast(pl.String) for p in parts]  # a table's cells are Categoricals of their own
    return pl.concat_list(parts).list.eval(pl.element().filter(pl.element() != "")).list.join(", ")


# Names of the working columns in apply(): no header can give a column these names (a file's
# own column may well be called '__row').
_INTERNAL = "\x00"
_ROW, _COLUMN, _VALUE, _ORDER = (f"{_INTERNAL}{n}" for n in ("row", "column", "value", "order"))


def _field_expr(mapping: Mapping, name: str) -> pl.Expr:
    src: Source = getattr(mapping, name)
    parts = [pl.col(c) for c in src.columns]
    if mapping.wide and name in mapping.wide.levels:
        parts.append(pl.col(f"{_INTERNAL}level{mapping.wide.levels.index(name)}"))
    if parts:
        return _joined(parts)
    return pl.lit(src.constant or "")


def _scaled(text: pl.Expr) -> pl.Expr:
    """Fractions as percent text: '0.053' -> '5.3', markers and '%' values untouched."""
    value, _status, _invalid = parse_values(text)
    pct = (value * 100).round(8).cast(pl.String)
    approx = text.str.strip_chars().str.starts_with("~")
    return (pl.when(value.is_not_null() & ~text.str.contains("%", literal=True))
            .then(pl.when(approx).then(pl.lit("~") + pct).otherwise(pct))
            .otherwise(text))


def apply(table: RawTable, mapping: Mapping, *, dataset_id: str, raw_file: str, file_hash: str) -> pl.DataFrame:
    """One candidate row per value cell (CANDIDATE_COLUMNS, source_row and `column`, the file
    column the value stands in). Vectorised: one unpivot and column expressions, no per-row Python."""
    if problems := check(mapping, table):
        raise InputError(problems, "Mappningen passar inte filen")
    ids = mapping.id_columns()
    # built from Series: with every field a constant there is no id column, and an empty select
    # would have no rows to put the row numbers beside
    base = pl.DataFrame([*(table.cells[c] for c in ids), table.row_numbers.alias(_ROW)])
    if mapping.wide:
        cols = mapping.wide.columns
        melted = (  # as text: each column's cells are a Categorical of their own
            pl.concat([base, table.cells.select(pl.col(cols).cast(pl.String))], how="horizontal")
            .unpivot(index=[*ids, _ROW], on=cols, variable_name=_COLUMN, value_name=_VALUE)
        )
        levels = {_COLUMN: cols, _ORDER: list(range(len(cols)))}
        for i in range(table.n_levels):
            levels[f"{_INTERNAL}level{i}"] = [table.header(c)[i] for c in cols]
        long = (melted.join(pl.DataFrame(levels, schema_overrides={_ORDER: pl.Int64}),
                            on=_COLUMN, how="left")
                .sort([_ROW, _ORDER]))
    else:
        long = base.with_columns(table.cells[mapping.value].alias(_VALUE), pl.lit(mapping.value).alias(_COLUMN))

    period = _field_expr(mapping, "period")
    if mapping.period_year.is_set:
        year = _joined([pl.col(c) for c in mapping.period_year.columns]) if mapping.period_year.columns \
            else pl.lit(mapping.period_year.constant or "")
        period, year = period.cast(pl.String), year.cast(pl.String)
        period = pl.when(period.str.contains(r"\d{4}")).then(period).otherwise(period + pl.lit(" ") + year)
    text = pl.col(_VALUE).fill_null("")
    if mapping.values_are_fractions and _is_share_measure(mapping.series, mapping.measure):
        text = _scaled(text.cast(pl.String))
    # the row number is kept as a number, and appended to source and source_label when they are
    # read (schema.with_places): not two strings per row
    prefix = f"uploads/{raw_file}#sha256={file_hash[:12]};kolumn="
    return long.select(
        series=pl.lit(mapping.series), measure=pl.lit(mapping.measure), period=period,
        gender=_field_expr(mapping, "gender"), area=_field_expr(mapping, "area"),
        group=_field_expr(mapping, "group"), value_text=text, status=pl.lit(""), kind=pl.lit(mapping.kind),
        target_setter=pl.lit(mapping.target_setter), dataset=pl.lit(dataset_id),
        source=pl.concat_str([pl.lit(prefix), pl.col(_COLUMN), pl.lit(";rad=")]),
        source_label=pl.lit(f"Uppladdad fil {raw_file}, rad "),
        note=_field_expr(mapping, "note"), raw_file=pl.lit(raw_file), raw_row=pl.col(_ROW).cast(pl.Int64),
        source_row=pl.col(_ROW).cast(SOURCE_ROW.dtype), column=pl.col(_COLUMN),
    ).select(*CANDIDATE_COLUMNS, SOURCE_ROW.name, "column")
