"""From candidate rows (text as read from a source) to validated observations.

Every source loader produces the same candidate columns; this module parses numbers,
periods, genders and areas, checks every row against the catalogue and returns either
observations or the full list of problems. Work is done per unique label or vectorised,
so it stays fast on millions of rows.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from . import catalogue
from .areas import canonical_area, suggest_area
from .periods import PeriodError, parse_period
from .problems import InputError, Problem
from .schema import KEY_COLUMNS, SOURCE_ROW, STORE_CATEGORICAL, STORED_DTYPES, STORED_SCHEMA, place

CANDIDATE_COLUMNS = (
    "series", "measure", "period", "gender", "area", "group", "value_text", "status", "kind",
    "target_setter", "dataset", "source", "source_label", "note", "raw_file", "raw_row",
)  # and optionally source_row (STORED_SCHEMA): an upload's row, which reading appends to its source

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


def is_constant(df: pl.DataFrame, column: str) -> bool:
    """Every value of df[column] the same and none null (such a column cannot tell rows apart).
    Asked through an expression: a constant column that polars keeps as one value (pl.lit) is
    not expanded to a million values, as df[column] would do (and keep)."""
    c = pl.col(column)
    return df.height > 0 and bool(df.select((c == c.first()).all() & (c.null_count() == 0)).item())


def first_value(df: pl.DataFrame, column: str):
    """df[column][0] without expanding a constant column (see is_constant)."""
    return df.select(pl.col(column).first()).item()


def only_measure(df: pl.DataFrame) -> tuple[str, str] | None:
    """(series, measure) when every row has the same ones (an upload is one measure), else None."""
    if is_constant(df, "series") and is_constant(df, "measure"):
        return df.select(pl.col("series").first(), pl.col("measure").first()).row(0)
    return None


def string_codes(s: pl.Series, ordered: bool = False) -> tuple[pl.Series, int] | None:
    """Dense UInt32 codes 0..n-1 of a String column without nulls (equal strings, equal codes)
    and n; `ordered`: codes sort as the strings do (UTF-8 byte order, as polars sorts). One
    cast to a Categorical with its own categories, far cheaper than hashing the strings twice
    (unique, then replace). None when the column has nulls."""
    if s.null_count():
        return None
    return categorical_codes(s.cast(pl.Categorical(pl.Categories.random())), ordered)


def categorical_codes(cat: pl.Series, ordered: bool = False) -> tuple[pl.Series, int] | None:
    """string_codes of a Categorical column: its physical codes (below the bound returned), or
    with `ordered` codes 0..n-1 that sort as the labels do. None when the column has nulls."""
    if cat.null_count():
        return None
    if cat.len() == 0:
        return pl.Series(cat.name, [], dtype=pl.UInt32), 0
    phys = cat.to_physical()
    bound = int(phys.max()) + 1  # the codes are below this (dense in practice)
    if not ordered:
        return phys.cast(pl.UInt32), bound
    uniq = cat.unique()
    lut = np.zeros(bound, dtype=np.uint32)
    lut[uniq.to_physical().to_numpy()[uniq.cast(pl.String).arg_sort().to_numpy()]] = np.arange(
        uniq.len(), dtype=np.uint32)
    return pl.Series(cat.name, lut[phys.to_numpy()], dtype=pl.UInt32), uniq.len()


def _column_code(df: pl.DataFrame, column: str) -> tuple[pl.Series, int] | None:
    """(codes, bound) of one column for packed_codes; card 1 for a constant column."""
    if df.schema[column].is_float():
        return None  # -0.0 == 0.0 and NaN: left to polars
    if is_constant(df, column):
        return pl.Series([], dtype=pl.UInt32), 1
    return value_codes(df[column])


def value_codes(s: pl.Series, ordered: bool = False) -> tuple[pl.Series, int] | None:
    """Dense codes (UInt32, or UInt64 for a wide range of integers) of a String, integer, date or
    boolean column without nulls, and how many there can be (None otherwise); `ordered`: codes
    sort as the values do. Half a million-row column's codes are 4 MB, not 8."""
    if s.dtype == pl.String:
        return string_codes(s, ordered=ordered)
    if isinstance(s.dtype, pl.Categorical):
        return categorical_codes(s, ordered=ordered)
    if (s.dtype.is_temporal() or s.dtype.is_integer() or s.dtype == pl.Boolean) and not s.null_count():
        p = s.to_physical().cast(pl.Int64)
        lo = p.min()
        card = int(p.max() - lo) + 1
        return (p - lo).cast(pl.UInt32 if card <= 2**32 else pl.UInt64), card
    return None


def pack_code(words: list, word, room: int, code, card: int):
    """Adds one column's codes (0..card-1) to the word being filled, or starts a new word when
    it has no room left (the full one goes to `words`). Returns (word, room)."""
    if word is not None and room >= card:
        return word * card + code, room // card
    if word is not None:
        words.append(word.alias(f"_w{len(words)}"))
    return code.cast(pl.UInt64), (2**63 - 1) // max(card, 1)  # a word is 64-bit; codes may be 32


def packed_codes(df: pl.DataFrame, columns: list[str], memo: dict | None = None) -> list[pl.Series] | None:
    """The rows' values in `columns` as few UInt64 words (equal words, equal values), columns that
    are the same on every row left out. None when a column has nulls or is not a string/integer/date.
    `memo` keeps each column's codes for another call on the same frame."""
    words: list[pl.Series] = []
    word, room = None, 0
    for c in columns:
        if memo is not None and c in memo:
            coded = memo[c]
        else:
            coded = _column_code(df, c)
            if memo is not None:
                memo[c] = coded
        if coded is None:
            return None
        code, card = coded
        if card == 1:
            continue
        word, room = pack_code(words, word, room, code, card)
    if word is not None:
        words.append(word.alias(f"_w{len(words)}"))
    return words


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


def _per_label(df: pl.DataFrame, column: str, fn, schema: dict[str, pl.DataType],
               codes_out: dict | None = None) -> list[pl.Series | pl.Expr]:
    """Columns `schema` from `fn(label)` (a tuple, or None for nulls), called once per distinct
    label of df[column] (String, no nulls) and gathered back row by row through the labels'
    integer codes: no hashing of the text again, no join. An output that is the same for every
    label is a constant column (polars keeps it as one value, not a million). `codes_out` receives,
    under the name `column`, the ordered codes of the first output (see _ordered_codes)."""
    if is_constant(df, column):
        out = fn(first_value(df, column))
        if codes_out is not None:
            codes_out[column] = (pl.Series([], dtype=pl.UInt32), 1)
        return [pl.lit(out[i] if out is not None else None, dtype=dtype).alias(name)
                for i, (name, dtype) in enumerate(schema.items())]
    values = df[column]
    cat = values if isinstance(values.dtype, pl.Categorical) else values.cast(pl.Categorical(pl.Categories.random()))
    uniq = cat.unique()
    labels: list[str | None] = [None] * (int(uniq.to_physical().max() or 0) + 1)
    for code, label in zip(uniq.to_physical().to_list(), uniq.cast(pl.String).to_list()):
        if code is not None:
            labels[code] = label
    outs = {code: fn(label) for code, label in enumerate(labels) if label is not None}
    if codes_out is not None:
        firsts = [outs[code][0] if outs.get(code) is not None else None for code in range(len(labels))]
        codes_out[column] = _ordered_codes(firsts, cat)
    codes = cat.to_physical()
    columns: list[pl.Series | pl.Expr] = []
    for i, (name, dtype) in enumerate(schema.items()):
        per_code = {code: (o[i] if o is not None else None) for code, o in outs.items()}
        distinct = set(per_code.values())
        if len(distinct) == 1 and values.len() > 0:
            columns.append(pl.lit(distinct.pop(), dtype=dtype).alias(name))
        else:
            lut = [per_code.get(code) for code in range(len(labels))]
            columns.append(pl.Series(name, lut, dtype=dtype).gather(codes))
    return columns


def _ordered_codes(value_of_code: list, cat: pl.Series) -> tuple[pl.Series, int]:
    """(codes, n) of the values the rows of `cat` turn into (value_of_code[label code]), dense
    and ordered as the values sort (UTF-8 byte order, as polars sorts): what string_codes(...,
    ordered=True) would give for the output column, without hashing its million values again."""
    distinct = sorted({v for v in value_of_code if v is not None})
    rank = {v: i for i, v in enumerate(distinct)}
    lut = np.array([rank.get(v, 0) for v in value_of_code], dtype=np.uint32)
    return pl.Series(lut[cat.to_physical().to_numpy()], dtype=pl.UInt32), len(distinct)


def _measures_frame(cat: dict) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "series": [k[0] for k in cat], "measure": [k[1] for k in cat],
            "unit": [m.unit for m in cat.values()], "_additive": [m.is_additive for m in cat.values()],
        },
        schema={"series": pl.String, "measure": pl.String, "unit": pl.String, "_additive": pl.Boolean},
    )


def _narrow_join(df: pl.DataFrame, table: pl.DataFrame, on: list[str]) -> pl.DataFrame:
    """The columns `table` adds to `df`, row-aligned with `df`: only the key columns are joined,
    so the wide frame is not gathered once per lookup."""
    return df.select(on).join(table, on=on, how="left", maintain_order="left").drop(on)


def _values(text: pl.Series) -> list[pl.Series | pl.Expr]:
    """parse_values() for a column: plain numbers ('1 234,5', '12') in one vectorised pass,
    and the full parser (markers, '%', '~', odd spaces) only for the rows that need it. A
    Categorical column (a table's cells) is parsed once per distinct text."""
    if isinstance(text.dtype, pl.Categorical):
        distinct = text.unique()
        phys = distinct.to_physical().to_numpy()
        position = np.zeros(int(phys.max()) + 1 if phys.size else 1, dtype=np.uint32)
        position[phys] = np.arange(phys.size, dtype=np.uint32)
        rows = pl.Series(position[text.to_physical().to_numpy()])
        return [c if isinstance(c, pl.Expr) else c.gather(rows) for c in _values(distinct.cast(pl.String))]
    plain = text.str.contains(_NUMBER)
    value = (text.str.replace_all(" ", "", literal=True).str.replace(",", ".", literal=True)
             .cast(pl.Float64, strict=False))
    n = text.len()
    rest = (~plain).arg_true()
    if rest.len() == 0:  # no markers: the two marker columns are one value each
        return [value.alias("value"), pl.lit("", dtype=pl.String).alias("marker_status"),
                pl.lit(False, dtype=pl.Boolean).alias("_bad_value")]
    v, st, bad = parse_values(pl.col("t"))
    slow = pl.DataFrame({"t": text.gather(rest)}).select(v=v, st=st, bad=bad)
    return [
        value.scatter(rest, slow["v"]).alias("value"),
        pl.Series([""], dtype=pl.String).new_from_index(0, n).scatter(rest, slow["st"]).alias("marker_status"),
        pl.Series([False]).new_from_index(0, n).scatter(rest, slow["bad"]).alias("_bad_value"),
    ]


def normalise(candidates: pl.DataFrame, max_problems: int = 1000, codes: dict | None = None) -> pl.DataFrame:
    """Validate and convert candidate rows. Raises InputError listing every problem (up to max).
    Columns are read through expressions (`rows`), never as df[column]: a column that is the same
    on every row stays one value (pl.lit) from the candidates to the observations. `codes`
    receives the ordered codes of the observations' gender, area and period ({column: (codes,
    n)}, n 1 for a constant column), as the checks and the store order use them. The observations
    come as the build holds them (schema.STORED_DTYPES)."""
    row = pl.col(SOURCE_ROW.name) if SOURCE_ROW.name in candidates.columns else pl.lit(None)
    df = candidates.select(*CANDIDATE_COLUMNS, row.cast(SOURCE_ROW.dtype).alias(SOURCE_ROW.name)).with_columns(
        # an upload's cells stay Categoricals (each distinct text once); the rest is text
        [pl.col(c).fill_null("") if isinstance(candidates.schema[c], pl.Categorical)
         else pl.col(c).fill_null("").cast(pl.String) for c in CANDIDATE_COLUMNS if c != "raw_row"]
    )
    problems: list[Problem] = []

    def rows(expr: pl.Expr) -> pl.Series:
        return df.select(expr.alias("_mask")).to_series()

    def report(mask: pl.Series, column: str, message) -> None:
        if len(problems) >= max_problems or not mask.any():
            return
        for r in df.filter(mask).head(max_problems - len(problems)).iter_rows(named=True):
            problems.append(Problem(r["raw_file"], r["raw_row"], column, message(r)))

    # Numbers
    df = df.with_columns(_values(df["value_text"]))
    report(rows(pl.col("_bad_value")), "value", lambda r: f"'{r['value_text']}' är inte ett tal")
    if rows(pl.col("marker_status") != "").any():  # markers in the values: '..', '~12', empty
        df = df.with_columns(
            status=pl.when(pl.col("status") != "").then(pl.col("status")).otherwise(pl.col("marker_status"))
        )
    report(rows(~pl.col("status").is_in(catalogue.STATUSES)), "status", lambda r: f"okänd status '{r['status']}'")
    report(
        rows(pl.col("value").is_null() & ~pl.col("_bad_value") & pl.col("status").is_in(["", "approximate"])),
        "value", lambda r: "värde saknas men status anger inte varför (suppressed/missing)",
    )

    # Gender
    df = df.with_columns(_per_label(df, "gender", lambda g: (canonical_gender(g),), {"_gender": STORE_CATEGORICAL},
                                    codes))
    report(rows(pl.col("_gender").is_null()), "gender",
           lambda r: f"okänt kön '{r['gender']}' (kvinnor, män eller totalt)")

    # Areas
    area_types = {a: x.area_type for a, x in catalogue.areas().items()}

    def area(label: str) -> tuple[str | None, str | None]:
        canonical = canonical_area(label)
        return canonical, area_types.get(canonical)

    df = df.with_columns(_per_label(df, "area", area, {"_area": STORE_CATEGORICAL, "area_type": STORE_CATEGORICAL},
                                    codes))

    def area_message(r):
        hint = suggest_area(r["area"])
        return f"okänt område '{r['area']}'" + (f" – menade du '{hint}'?" if hint else "")

    report(rows(pl.col("_area").is_null()), "area", area_message)

    # Periods
    parsed: dict[str, object] = {}
    for label in df.select(pl.col("period").unique()).to_series().to_list():
        try:
            parsed[label] = parse_period(label)
        except PeriodError as exc:
            parsed[label] = str(exc)

    def period(label: str) -> tuple | None:
        p = parsed[label]
        return None if isinstance(p, str) else (p.label, p.start, p.end, p.type)

    df = df.with_columns(_per_label(df, "period", period, {"_period": STORE_CATEGORICAL, "period_start": pl.Date,
                                                           "period_end": pl.Date, "period_type": STORE_CATEGORICAL},
                                    codes))
    report(rows(pl.col("_period").is_null()), "period", lambda r: str(parsed[r["period"]]))

    # Measures
    cat = catalogue.measures()
    if (pair := only_measure(df)) is not None:  # one measure: no join
        m = cat.get(pair)
        df = df.with_columns(unit=pl.lit(m.unit if m else None, dtype=pl.String),
                             _additive=pl.lit(m.is_additive if m else None, dtype=pl.Boolean))
    else:
        df = df.hstack(_narrow_join(df, _measures_frame(cat), ["series", "measure"]))
    report(rows(pl.col("unit").is_null()), "measure",
           lambda r: f"måttet '{r['measure']}' finns inte i katalogen för serien '{r['series']}'")

    # Kind and target setter
    kind, setter = pl.col("kind"), pl.col("target_setter")
    report(rows(~kind.is_in(catalogue.KINDS)), "kind",
           lambda r: f"okänd typ '{r['kind']}' (utfall, målvärde, prognos eller budget)")
    report(rows(~setter.is_in(("",) + catalogue.TARGET_SETTERS)), "target_setter",
           lambda r: f"okänd målsättare '{r['target_setter']}' (nämnden eller kf)")
    report(rows((setter != "") & (kind != "målvärde")), "target_setter",
           lambda r: "målsättare anges bara för målvärden")

    # Plausibility: shares within 0-100, counts not negative
    v, unit = pl.col("value"), pl.col("unit")
    report(rows((unit == "procent") & (kind != "målvärde") & ((v > 100) | (v < 0)).fill_null(False)),
           "value", lambda r: f"andelen {r['value_text']} % ligger utanför 0–100")
    report(rows((unit == "procent") & (kind == "målvärde") & (v > 100).fill_null(False)),
           "value", lambda r: f"målvärdet {r['value_text']} % är över 100")
    report(rows(pl.col("_additive").fill_null(False) & (v < 0).fill_null(False)), "value",
           lambda r: f"antalet {r['value_text']} är negativt")

    if problems:
        raise InputError(problems)

    out = df.with_columns(
        gender=pl.col("_gender"), area=pl.col("_area"), period=pl.col("_period"),
        is_preferred=pl.lit(True), has_conflict=pl.lit(False),
    )
    # as the build holds them: the store's dictionary columns as Categoricals (STORED_DTYPES)
    return out.select(STORED_SCHEMA.names()).cast(STORED_DTYPES)


def duplicate_conflicts(obs: pl.DataFrame, within: str = "dataset") -> pl.DataFrame:
    """Keys that occur twice within one `within` group with different values."""
    return (
        obs.group_by([within, *KEY_COLUMNS])
        .agg(n_values=pl.col("value").n_unique(), sources=place("source"))
        .filter(pl.col("n_values") > 1)
    )
