"""Swedish display text for values, changes and sources."""

from __future__ import annotations

import math
import re

from ..catalogue import NO_VALUE_TEXT, SERIES_LABELS, Measure, measures
from ..numbers import format_number, printed_decimals, rough_difference
from ..periods import format_period


def value_text(value: float | None, series: str, measure: str) -> str:
    m = measures().get((series, measure))
    if m is None:
        return format_number(value, 1)
    return format_number(value, m.decimals, m.unit)


def figure_text(value: float | None, status: str, m: Measure) -> str:
    """A value as charts, tables and sentences show it: 'cirka 2,0 %'; without a number '..' when
    suppressed (a small count kept secret) and '–' when the source gives none (NO_VALUE_TEXT)."""
    if value is None:
        return NO_VALUE_TEXT.get(status, NO_VALUE_TEXT["missing"])
    # an indicator as its report prints it; other measures with their decimals, so that equal
    # figures read the same in rankings ('cirka 2,0 %' beside '2,0 %')
    decimals = printed_decimals(value, m.decimals) if m.is_printed_as_is else m.decimals
    return ("cirka " if status == "approximate" else "") + format_number(value, decimals, m.unit)


def measure_title(series: str, label: str) -> str:
    """'Serie: mått', without naming the series twice when the measure's label already does
    ('Feriejobb: anställda'; 'Kommunala aktivitetsansvaret (KAA): omfattade' for 'KAA: omfattade')."""
    name = SERIES_LABELS.get(series, series)
    if label.lower().startswith(name.split()[0].lower()):  # 'Feriejobb: anställda', 'Sfi-elever som ...'
        return label
    short = re.search(r"\(([^)]+)\)$", name)
    if short and label.startswith(short.group(1) + ":"):
        return f"{name}:{label[len(short.group(1)) + 1:]}"
    return f"{name}: {label}"


def change_text(change: float | None, pct: float | None, unit: str, decimals: int,
                approximate: bool = False) -> str | None:
    """'+0,4 procentenheter' for shares, '+326 (+5,4 %)' for counts; 'cirka +2 100' when a figure
    compared is approximate; None when not comparable."""
    if change is None or (isinstance(change, float) and math.isnan(change)):
        return None
    if approximate:
        change = rough_difference(change, decimals if unit != "procentenheter" else 1)
        sign = "+" if change > 0 else ""
        return f"cirka {sign}{format_number(change, 1 if unit == 'procentenheter' else decimals)}" + (
            " procentenheter" if unit == "procentenheter" else "")
    sign = "+" if change > 0 else ""
    if unit == "procentenheter":
        return f"{sign}{format_number(change, 1)} procentenheter"
    text = f"{sign}{format_number(change, decimals)}"
    if pct is not None and not math.isnan(pct):
        text += f" ({'+' if pct > 0 else ''}{format_number(pct, 1)} %)"
    return text


def period_text(label: str) -> str:
    return format_period(label)


def lower_first(label: str) -> str:
    """A label inside a sentence: its first letter lower-cased, unless it starts with an
    abbreviation ('KAA: omfattade' stays; 'Omfattas av KAA' becomes 'omfattas av KAA')."""
    if not label or (len(label) > 1 and label[1].isupper()):
        return label
    return label[0].lower() + label[1:]


def measure_label(series: str, measure: str) -> str:
    """A measure's Swedish label (its code when the catalogue has none). A module function, for
    a widget's format_func: a lambda written in a page would keep that page's every variable
    (an upload's file and tables) alive in the session, through the widget's saved state."""
    m = measures().get((series, measure))
    return m.label_sv if m else measure


def local_time(iso: str) -> str:
    """An ISO timestamp as Stockholm's clock shows it, to the minute ('2026-11-23 03:22'). The
    records keep UTC; a naive timestamp is read as UTC."""
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    when = datetime.fromisoformat(iso)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(ZoneInfo("Europe/Stockholm")).strftime("%Y-%m-%d %H:%M")
