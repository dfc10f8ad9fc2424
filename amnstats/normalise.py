"""From candidate rows (text as read from a source) to validated observations.

Every source loader produces the same candidate columns; this module parses numbers,
periods, genders and areas, checks every row against the catalogue and returns either
observations or the full list of problems. Work is done per unique label or vectorised,
so it stays fast on millions of rows.
"""

from __future__ import annotations

import polars as pl

from . import catalogue
from .areas import canonical_area, suggest_area
from .periods import PeriodError, parse_period
from .problems import InputError, Problem
from .schema import KEY_COLUMNS, OBSERVATION_COLUMNS, OBSERVATION_SCHEMA

CANDIDATE_COLUMNS = (
    "series", "measure", "period", "gender", "area", "group", "value_text", "status", "kind",
    "target_setter", "dataset", "source", "source_label", "note", "raw_file", "raw_row",
)

GENDER_ALIASES = {
    "kvinnor": "kvinnor", "kvinna": "kvinnor", "k": "kvinnor", "tjej": "kvinnor", "tjejer": "kvinnor",
    "flickor": "kvinnor", "flicka": "kvinnor", "2": "kvinnor", "women": "kvinnor", "female": "kvinnor",
    "män": "män", "man": "män", "m": "män", "kille": "män", "killar": "män", "pojkar": "män",
    "pojke": "män", "1": "män", "men": "män", "male": "män",
    "totalt": "totalt", "total": "totalt", "totalsumma": "totalt", "t": "totalt", "samtliga": "totalt",
    "båda könen": "totalt", "tot": "totalt", "totsa": "totalt", "": "totalt", "alla": "totalt",
}

_SPACES = "[\u00a0\u202f\u2009\u2007 ]+"
_NUMBER = r"^[+-]?(\d{1,3}( \d{3})+|\d+)([,.]\d+)?$"
_SUPPRESSED = r"^(\.\.?|[-–x…]|<\s*\d+)$"


def canonical_gender(text: str) -> str | None:
    return GENDER_ALIASES.get(" ".join(str(text).split()).casefold())


def parse_values(text: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """Vectorised Swedish number parsing: (value, status from markers, is_invalid)."""
    t = text.fill_null("").str.replace_all(_SPACES, " ").str.strip_chars().str.replace("\u2212", "-")
    approx = t.str.starts_with("~")
    t = t.str.strip_prefix("~").str.strip_chars().str.strip_suffix("%").str.strip_chars()
    suppressed = t.str.contains(_SUPPRESSED)
    empty = t == ""
    ok = t.str.contains(_NUMBER)
    value = pl.when(ok).then(t.str.replace_all(" ", "").str.replace(",", ".").cast(pl.Float64, strict=False))
    status = (
        pl.when(empty).then(pl.lit("missing"))
        .when(suppressed).then(pl.lit("suppressed"))
        .when(approx).then(pl.lit("approximate"))
        .otherwise(pl.lit(""))
    )
    return value, status, ~(ok | empty | suppressed)


def _lookup(values: pl.Series, fn) -> pl.DataFrame:
    uniq = values.unique().to_list()
    return pl.DataFrame({"key": uniq, "out": [fn(u) for u in uniq]}, schema={"key": pl.String, "out": pl.String})


def _mapped(values: pl.Series, fn) -> pl.Series:
    """`fn` applied once per unique value, then mapped back row by row (no join of the whole frame)."""
    table = _lookup(values, fn)
    return values.replace_strict(table["key"], table["out"], default=None, return_dtype=pl.String)


def _narrow_join(df: pl.DataFrame, table: pl.DataFrame, on: list[str]) -> pl.DataFrame:
    """The columns `table` adds to `df`, row-aligned with `df`: only the key columns are joined,
    so the wide frame is not gathered once per lookup."""
    return df.select(on).join(table, on=on, how="left", maintain_order="left").drop(on)


def _values(text: pl.Series) -> pl.DataFrame:
    """parse_values() for a column: plain numbers ('1 234,5', '12') in one vectorised pass,
    and the full parser (markers, '%', '~', odd spaces) only for the rows that need it."""
    plain = text.str.contains(_NUMBER)
    value = (text.str.replace_all(" ", "", literal=True).str.replace(",", ".", literal=True)
             .cast(pl.Float64, strict=False))
    n = text.len()
    rest = (~plain).arg_true()
    if rest.len() == 0:
        return pl.DataFrame({"value": value, "marker_status": pl.Series([""]).new_from_index(0, n),
                             "_bad_value": pl.Series([False]).new_from_index(0, n)})
    v, st, bad = parse_values(pl.col("t"))
    slow = pl.DataFrame({"t": text.gather(rest)}).select(v=v, st=st, bad=bad)
    return pl.DataFrame({
        "value": value.scatter(rest, slow["v"]),
        "marker_status": pl.Series([""], dtype=pl.String).new_from_index(0, n).scatter(rest, slow["st"]),
        "_bad_value": pl.Series([False]).new_from_index(0, n).scatter(rest, slow["bad"]),
    })


def normalise(candidates: pl.DataFrame, max_problems: int = 1000) -> pl.DataFrame:
    """Validate and convert candidate rows. Raises InputError listing every problem (up to max)."""
    df = candidates.select(CANDIDATE_COLUMNS).with_columns(
        [pl.col(c).fill_null("").cast(pl.String) for c in CANDIDATE_COLUMNS if c != "raw_row"]
    )
    problems: list[Problem] = []

    def report(mask: pl.Series, column: str, message) -> None:
        if len(problems) >= max_problems or not mask.any():
            return
        for r in df.filter(mask).head(max_problems - len(problems)).iter_rows(named=True):
            problems.append(Problem(r["raw_file"], r["raw_row"], column, message(r)))

    # Numbers
    df = df.hstack(_values(df["value_text"]))
    report(df["_bad_value"], "value", lambda r: f"'{r['value_text']}' är inte ett tal")
    if (df["marker_status"] != "").any():  # markers in the values: '..', '~12', empty
        df = df.with_columns(
            status=pl.when(pl.col("status") != "").then(pl.col("status")).otherwise(pl.col("marker_status"))
        )
    bad_status = ~df["status"].is_in(catalogue.STATUSES)
    report(bad_status, "status", lambda r: f"okänd status '{r['status']}'")
    report(
        (df["value"].is_null() & ~df["_bad_value"] & df["status"].is_in(["", "approximate"])),
        "value", lambda r: "värde saknas men status anger inte varför (suppressed/missing)",
    )

    # Gender
    df = df.with_columns(_gender=_mapped(df["gender"], canonical_gender))
    report(df["_gender"].is_null(), "gender", lambda r: f"okänt kön '{r['gender']}' (kvinnor, män eller totalt)")

    # Areas
    df = df.with_columns(_area=_mapped(df["area"], canonical_area))

    def area_message(r):
        hint = suggest_area(r["area"])
        return f"okänt område '{r['area']}'" + (f" – menade du '{hint}'?" if hint else "")

    report(df["_area"].is_null(), "area", area_message)
    area_types = pl.DataFrame(
        {"_area": list(catalogue.areas()), "area_type": [a.area_type for a in catalogue.areas().values()]}
    )
    df = df.hstack(_narrow_join(df, area_types, ["_area"]))

    # Periods
    parsed: dict[str, object] = {}
    for label in df["period"].unique().to_list():
        try:
            parsed[label] = parse_period(label)
        except PeriodError as exc:
            parsed[label] = str(exc)
    good = {k: v for k, v in parsed.items() if not isinstance(v, str)}
    periods = pl.DataFrame(
        {
            "period": list(good),
            "_period": [p.label for p in good.values()],
            "period_start": [p.start for p in good.values()],
            "period_end": [p.end for p in good.values()],
            "period_type": [p.type for p in good.values()],
        },
        schema={"period": pl.String, "_period": pl.String, "period_start": pl.Date,
                "period_end": pl.Date, "period_type": pl.String},
    )
    df = df.hstack(_narrow_join(df, periods, ["period"]))
    report(df["_period"].is_null(), "period", lambda r: str(parsed[r["period"]]))

    # Measures
    cat = catalogue.measures()
    measures = pl.DataFrame(
        {
            "series": [k[0] for k in cat], "measure": [k[1] for k in cat],
            "unit": [m.unit for m in cat.values()], "_additive": [m.is_additive for m in cat.values()],
        },
        schema={"series": pl.String, "measure": pl.String, "unit": pl.String, "_additive": pl.Boolean},
    )
    df = df.hstack(_narrow_join(df, measures, ["series", "measure"]))
    report(df["unit"].is_null(), "measure",
           lambda r: f"måttet '{r['measure']}' finns inte i katalogen för serien '{r['series']}'")

    # Kind and target setter
    report(~df["kind"].is_in(catalogue.KINDS), "kind",
           lambda r: f"okänd typ '{r['kind']}' (utfall, målvärde, prognos eller budget)")
    report(~df["target_setter"].is_in(("",) + catalogue.TARGET_SETTERS), "target_setter",
           lambda r: f"okänd målsättare '{r['target_setter']}' (nämnden eller kf)")
    report((df["target_setter"] != "") & (df["kind"] != "målvärde"), "target_setter",
           lambda r: "målsättare anges bara för målvärden")

    # Plausibility: shares within 0-100, counts not negative
    v = df["value"]
    report((df["unit"] == "procent") & (df["kind"] != "målvärde") & ((v > 100) | (v < 0)).fill_null(False),
           "value", lambda r: f"andelen {r['value_text']} % ligger utanför 0–100")
    report((df["unit"] == "procent") & (df["kind"] == "målvärde") & (v > 100).fill_null(False),
           "value", lambda r: f"målvärdet {r['value_text']} % är över 100")
    report(df["_additive"].fill_null(False) & (v < 0).fill_null(False), "value",
           lambda r: f"antalet {r['value_text']} är negativt")

    if problems:
        raise InputError(problems)

    out = df.with_columns(
        gender=pl.col("_gender"), area=pl.col("_area"), period=pl.col("_period"),
        is_preferred=pl.lit(True), has_conflict=pl.lit(False),
    )
    return out.select(OBSERVATION_COLUMNS).cast(OBSERVATION_SCHEMA)


def duplicate_conflicts(obs: pl.DataFrame, within: str = "dataset") -> pl.DataFrame:
    """Keys that occur twice within one `within` group with different values."""
    return (
        obs.group_by([within, *KEY_COLUMNS])
        .agg(n_values=pl.col("value").n_unique(), sources=pl.col("source"))
        .filter(pl.col("n_values") > 1)
    )
