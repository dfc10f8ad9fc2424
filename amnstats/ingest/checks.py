"""Upload checks on normalised observations, beyond what normalise() already checks
(numbers, periods, areas, catalogue, shares within 0–100).

- The same key twice in one file is an error: the store could not tell which value holds.
- Kvinnor + män that differ from totalt is a warning: SCB perturbs small counts and reports
  round, so the analyst decides. Only additive measures are compared.
Rows are each observation's `source_row`, columns read back from its `source` (…;kolumn=X;rad=).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from .. import catalogue
from ..normalise import only_measure, packed_codes
from ..numbers import format_number
from ..problems import Problem
from ..schema import KEY_COLUMNS, SOURCE_ROW

MAX_REPORTED = 200
_COLUMN = r";kolumn=(.*);rad=$"


def _with_place(obs: pl.DataFrame) -> pl.DataFrame:
    return obs.with_columns(
        _row=pl.col(SOURCE_ROW.name).cast(pl.Int64),
        _column=pl.col("source").cast(pl.String).str.extract(_COLUMN, 1).fill_null(""),
    )


def _key_text(r: dict, with_gender: bool = True) -> str:
    parts = [f"period {r['period']}"] + ([f"kön {r['gender']}"] if with_gender else []) + [f"område {r['area']}"]
    if r["group"]:
        parts.append(f"grupp '{r['group']}'")
    return ", ".join(parts)


def duplicate_problems(obs: pl.DataFrame, filename: str, memo: dict | None = None) -> list[Problem]:
    """Errors for keys that occur more than once in the file, naming every row."""
    repeated = _is_duplicated(obs, list(KEY_COLUMNS), memo)
    if not repeated.any():
        return []
    dup = (
        _with_place(obs.filter(repeated)).group_by(KEY_COLUMNS)
        .agg(pl.col("_row"), pl.col("_column"), n=pl.len())
        .sort(pl.col("_row").list.first())
    )
    problems = []
    for r in dup.head(MAX_REPORTED).iter_rows(named=True):
        places = [f"rad {row} (kolumn '{col}')" for row, col in zip(r["_row"], r["_column"])]
        problems.append(Problem(
            filename, r["_row"][0], r["_column"][0],
            f"samma uppgift ({_key_text(r)}) förekommer {r['n']} gånger: {', '.join(places)}. "
            "Ta bort dubbletten, eller ange i mappningen den kolumn som skiljer raderna åt (t.ex. grupp).",
        ))
    return problems


def _is_duplicated(obs: pl.DataFrame, key: list[str], memo: dict | None = None) -> pl.Series:
    """Rows whose `key` another row also has. The key columns that vary become integer codes
    packed into a word or two (columns the same on every row are left out): the same rows as
    struct(key).is_duplicated(), far cheaper on a million rows of text."""
    words = packed_codes(obs, key, memo)
    if words is None:
        return obs.select(pl.struct(key).is_duplicated()).to_series()
    if not words:  # every key column the same on every row
        return pl.Series(np.full(obs.height, obs.height > 1))
    if len(words) == 1:
        group, n_groups = _groups(words[0].to_numpy())
        return pl.Series(np.bincount(group, minlength=n_groups)[group] > 1)
    return pl.DataFrame(words).is_duplicated()


def _groups(key: np.ndarray) -> tuple[np.ndarray, int]:
    """(group number of each row, number of groups) for integer keys: the key itself when its
    values are few enough to index an array (packed codes of a few labels usually are), else
    numbered through a sort."""
    if key.size == 0:
        return key.astype(np.int64), 0
    bound = int(key.max()) + 1
    if bound <= 4 * key.size + 1024:
        return key.astype(np.int64), bound
    uniq, group = np.unique(key, return_inverse=True)
    return group.reshape(-1), len(uniq)


def _additive_rows(obs: pl.DataFrame) -> tuple[pl.DataFrame, bool]:
    """The rows of additive measures that have a value (an upload is one measure: no join), and
    whether they are all the rows of `obs`, in order."""
    additive = [(k[0], k[1]) for k, m in catalogue.measures().items() if m.is_additive]
    if not additive:
        return obs.clear(), False
    if (pair := only_measure(obs)) is not None:
        if pair not in set(additive):
            return obs.clear(), False
        parts, whole = obs, True
    else:
        adds = pl.DataFrame({"series": [a[0] for a in additive], "measure": [a[1] for a in additive]},
                            schema={c: obs.schema[c] for c in ("series", "measure")})  # Categorical as obs
        parts, whole = obs.join(adds, on=["series", "measure"], how="semi"), False
    if parts["value"].null_count():
        return parts.filter(pl.col("value").is_not_null()), False
    return parts, whole


def _gender_sums(parts: pl.DataFrame, key: np.ndarray) -> pl.DataFrame:
    """Per key (one integer per row): the first kvinnor, män and totalt value, where all three
    exist and kvinnor + män differs from totalt; `_i` is the row of the totalt value. The same
    as grouping by the key text and taking each gender's first value, done with one sort."""
    group, n_groups = _groups(key)
    value = parts["value"].to_numpy()
    first = {}
    for g in ("kvinnor", "män", "totalt"):
        rows = parts.select(pl.col("gender") == g).to_series().arg_true().to_numpy()
        pos = np.full(n_groups, -1, dtype=np.int64)
        pos[group[rows[::-1]]] = rows[::-1]  # assigned last to first: the first row stays
        first[g] = pos
    found = (first["kvinnor"] >= 0) & (first["män"] >= 0) & (first["totalt"] >= 0)
    k, m, t = (first[g][found] for g in ("kvinnor", "män", "totalt"))
    k, m, t = value[k], value[m], value[t]
    i = first["totalt"][found]
    diff = k + m - t
    keep = np.abs(diff) > 1e-9
    return pl.DataFrame({"k": k[keep], "m": m[keep], "t": t[keep], "_i": i[keep], "diff": diff[keep]},
                        schema={"k": pl.Float64, "m": pl.Float64, "t": pl.Float64, "_i": pl.Int64,
                                "diff": pl.Float64})


def gender_sum_warnings(obs: pl.DataFrame, filename: str, memo: dict | None = None) -> list[Problem]:
    """Warnings where kvinnor + män != totalt for an additive measure, with the difference."""
    if obs.height == 0:
        return []
    key = [c for c in KEY_COLUMNS if c != "gender"]
    parts, whole = _additive_rows(obs.select(*KEY_COLUMNS, "value", "source", SOURCE_ROW.name))
    if parts.height == 0:
        return []
    words = packed_codes(parts, key, memo if whole else None)
    if words is not None and len(words) <= 1:
        sums = _gender_sums(parts, words[0].to_numpy() if words else np.zeros(parts.height, np.uint64))
        sums = pl.concat([sums, parts.select(*key, "source", SOURCE_ROW.name)[sums["_i"]]], how="horizontal")
    else:
        is_k, is_m, is_t = (pl.col("gender") == g for g in ("kvinnor", "män", "totalt"))
        sums = (
            parts.with_row_index("_i").group_by(key)
            .agg(k=pl.col("value").filter(is_k).first(), m=pl.col("value").filter(is_m).first(),
                 t=pl.col("value").filter(is_t).first(), source=pl.col("source").filter(is_t).first(),
                 source_row=pl.col(SOURCE_ROW.name).filter(is_t).first(), _i=pl.col("_i").filter(is_t).first())
            .drop_nulls(["k", "m", "t"])
            .with_columns(diff=pl.col("k") + pl.col("m") - pl.col("t"))
            .filter(pl.col("diff").abs() > 1e-9)
        )
    wide = _with_place(sums).sort("_row", "_i", maintain_order=True)
    warnings = []
    for r in wide.head(MAX_REPORTED).iter_rows(named=True):
        d = 0 if float(r["diff"]).is_integer() else 1
        warnings.append(Problem(
            filename, r["_row"], r["_column"] or "",
            f"kvinnor {format_number(r['k'], d)} + män {format_number(r['m'], d)} = "
            f"{format_number(r['k'] + r['m'], d)}, men totalt är {format_number(r['t'], d)} "
            f"(skillnad {format_number(r['diff'], d)}) för {_key_text(r, with_gender=False)}",
        ))
    return warnings


def check_observations(obs: pl.DataFrame, filename: str,
                       codes: dict | None = None) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) for one file's observations; `codes`: codes of some key columns already
    at hand ({column: (codes, n)}, as normalise gives them; not changed here)."""
    memo: dict = dict(codes or {})  # the key columns' codes, computed once for both checks
    return duplicate_problems(obs, filename, memo), gender_sum_warnings(obs, filename, memo)
