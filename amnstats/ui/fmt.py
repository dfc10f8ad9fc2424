"""Swedish display text for values, changes and sources."""

from __future__ import annotations

import math

from ..catalogue import measures
from ..numbers import format_number
from ..periods import format_period


def value_text(value: float | None, series: str, measure: str) -> str:
    m = measures().get((series, measure))
    if m is None:
        return format_number(value, 1)
    return format_number(value, m.decimals, m.unit)


def change_text(change: float | None, pct: float | None, unit: str, decimals: int) -> str | None:
    """'+0,4 procentenheter' for shares, '+326 (+5,4 %)' for counts; None when not comparable."""
    if change is None or (isinstance(change, float) and math.isnan(change)):
        return None
    sign = "+" if change > 0 else ""
    if unit == "procentenheter":
        return f"{sign}{format_number(change, 1)} procentenheter"
    text = f"{sign}{format_number(change, decimals)}"
    if pct is not None and not math.isnan(pct):
        text += f" ({'+' if pct > 0 else ''}{format_number(pct, 1)} %)"
    return text


def period_text(label: str) -> str:
    return format_period(label)
