"""Area names: one alias table for every spelling, and the 2020 district reorganisation.

Real files write "Enskede - Årsta - Vantör", "ENSKEDE-ÅRSTA-VANTÖR", "Bromma (Sthlm)",
"Stockholm (0180)": all resolve to the catalogue's canonical name.
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache

from .catalogue import areas

_SUFFIXES = re.compile(r"\s*\((sthlm|stockholm|sdo|sdf|sdn)\)\s*$", re.IGNORECASE)


def _key(name: str) -> str:
    s = " ".join(str(name).replace("\u00a0", " ").split())
    s = _SUFFIXES.sub("", s)
    s = re.sub(r"\s*[-–—]\s*", "-", s)  # "Enskede - Årsta - Vantör"
    s = re.sub(r"\s+(stadsdelsområde|stadsdelsförvaltning|stadsdelsnämnd|sdo|sdf|sdn)$", "", s,
               flags=re.IGNORECASE)
    return s.casefold()


@lru_cache(maxsize=1)
def _alias_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for area in areas().values():
        for name in (area.area, *area.aliases):
            table[_key(name)] = area.area
    return table


def canonical_area(name: str) -> str | None:
    """The canonical name, or None when the name is unknown."""
    return _alias_table().get(_key(name))


def suggest_area(name: str) -> str | None:
    """'Did you mean': the closest known name, for error messages."""
    table = _alias_table()
    match = difflib.get_close_matches(_key(name), list(table), n=1, cutoff=0.6)
    return table[match[0]] if match else None


def comparable_area(name: str) -> str:
    """The post-2020 district a name maps to for comparisons over time
    (Hägersten-Liljeholmen and Älvsjö -> Hägersten-Älvsjö)."""
    area = areas().get(name)
    return area.merged_into if area and area.merged_into else name
