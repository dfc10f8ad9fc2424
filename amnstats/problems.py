"""Problems found in input: what is wrong and where, in Swedish."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Problem:
    file: str
    row: int | None
    column: str
    message: str

    def __str__(self) -> str:
        where = self.file + (f", rad {self.row}" if self.row is not None else "")
        where += f", kolumn '{self.column}'" if self.column else ""
        return f"{where}: {self.message}"


class InputError(ValueError):
    """Input that cannot be accepted; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem], headline: str = "Indata innehåller fel"):
        self.problems = problems
        self.headline = headline
        shown = "\n".join(f"  - {p}" for p in problems[:20])
        more = f"\n  ... och {len(problems) - 20} fel till" if len(problems) > 20 else ""
        super().__init__(f"{headline} ({len(problems)} st):\n{shown}{more}")


def problems_frame(problems: list[Problem]) -> pl.DataFrame:
    """As a table, for a downloadable error report."""
    return pl.DataFrame(
        {
            "fil": [p.file for p in problems],
            "rad": [p.row for p in problems],
            "kolumn": [p.column for p in problems],
            "fel": [p.message for p in problems],
        },
        schema={"fil": pl.String, "rad": pl.Int64, "kolumn": pl.String, "fel": pl.String},
    )
