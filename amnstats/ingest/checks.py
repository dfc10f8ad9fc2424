"""Upload checks on normalised observations, beyond what normalise() already checks
(numbers, periods, areas, catalogue, shares within 0–100).

- The same key twice in one file is an error: the store could not tell which value holds.
- Kvinnor + män that differ from totalt is a warning: SCB perturbs small counts and reports
  round, so the analyst decides. Only additive measures are compared.
Rows and columns are read back from each observation's `source` (…;rad=N;kolumn=X).
"""

from __future__ import annotations

import polars as pl

from .. import catalogue
from ..numbers import format_number
from ..problems import Problem
from ..schema import KEY_COLUMNS

MAX_REPORTED = 200
_WHERE = r";rad=(\d+);kolumn=(.*)$"


def _with_place(obs: pl.DataFrame) -> pl.DataFrame:
    return obs.with_columns(
        _row=pl.col("source").str.extract(_WHERE, 1).cast(pl.Int64, strict=False),
        _column=pl.col("source").str.extract(_WHERE, 2).fill_null(""),
    )


def _key_text(r: dict, with_gender: bool = True) -> str:
    parts = [f"period {r['period']}"] + ([f"kön {r['gender']}"] if with_gender else []) + [f"område {r['area']}"]
    if r["group"]:
        parts.append(f"grupp '{r['group']}'")
    return ", ".join(parts)


def duplicate_problems(obs: pl.DataFrame, filename: str) -> list[Problem]:
    """Errors for keys that occur more than once in the file, naming every row."""
    repeated = obs.select(pl.struct(KEY_COLUMNS).is_duplicated()).to_series()
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


def gender_sum_warnings(obs: pl.DataFrame, filename: str) -> list[Problem]:
    """Warnings where kvinnor + män != totalt for an additive measure, with the difference."""
    additive = [(k[0], k[1]) for k, m in catalogue.measures().items() if m.is_additive]
    if obs.height == 0 or not additive:
        return []
    adds = pl.DataFrame({"series": [a[0] for a in additive], "measure": [a[1] for a in additive]})
    key = [c for c in KEY_COLUMNS if c != "gender"]
    parts = obs.join(adds, on=["series", "measure"], how="semi").filter(pl.col("value").is_not_null())
    wide = _with_place(
        parts.group_by(key)
        .agg(
            k=pl.col("value").filter(pl.col("gender") == "kvinnor").first(),
            m=pl.col("value").filter(pl.col("gender") == "män").first(),
            t=pl.col("value").filter(pl.col("gender") == "totalt").first(),
            source=pl.col("source").filter(pl.col("gender") == "totalt").first(),
        )
        .drop_nulls(["k", "m", "t"])
        .with_columns(diff=pl.col("k") + pl.col("m") - pl.col("t"))
        .filter(pl.col("diff").abs() > 1e-9)
    ).sort("_row")
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


def check_observations(obs: pl.DataFrame, filename: str) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) for one file's observations."""
    return duplicate_problems(obs, filename), gender_sum_warnings(obs, filename)
