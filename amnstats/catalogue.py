"""The catalogue: every measure and every area, declared once as data.

Measures live in `catalogue/measures*.csv` (series, measure, Swedish label, definition, unit,
additivity, direction, decimals); areas in `catalogue/areas*.csv` (canonical name, type,
code, validity, merger, members, aliases). Several files are read so that each source's
curation can declare its own extras; a key declared twice is an error.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .paths import CATALOGUE_DIR

UNITS = {
    "antal": "antal",
    "procent": "procent",
    "procent_kvot": "procent",  # a percentage that may exceed 100 (budgetföljsamhet)
    "procentenheter": "procentenheter",
    "manader": "månader",
    "dagar": "dagar",
    "kronor": "kronor",
    "mnkr": "mnkr",
    "helarsplatser": "helårsplatser",
    "index": "index",
    "ton": "ton",
}
SHARE_UNITS = {"procent", "procent_kvot"}  # changes in procentenheter, never summed
BOUNDED_SHARE_UNITS = {"procent"}  # shares of a whole: 0-100
DIRECTIONS = {"higher_is_better", "lower_is_better", "neutral"}
AREA_TYPES = {"city", "county", "country", "sdo", "former_sdo", "combined", "group_of_sdo", "other"}
GENDERS = ("kvinnor", "män", "totalt")
KINDS = ("utfall", "målvärde", "prognos", "budget")
TARGET_SETTERS = ("nämnden", "kf")
STATUSES = ("", "approximate", "suppressed", "missing")
STATUS_SV = {"": "", "approximate": "ungefärligt", "suppressed": "skyddat", "missing": "saknas"}
# how a value without a number is written: '..' is a figure kept secret (SCB's and Kolada's
# sign), '–' one the source does not give
NO_VALUE_TEXT = {"suppressed": "..", "missing": "–"}

CHANGE_WORDS = ("minskning", "okning", "forandring")  # words of a measure id: see Measure.is_change

SERIES_LABELS = {
    "unemployment": "Arbetslöshet",
    "jobbtorg": "Jobbtorg Stockholm",
    "kaa": "Kommunala aktivitetsansvaret (KAA)",
    "sfi": "Sfi",
    "komvux": "Komvux",
    "stockholmsjobb": "Stockholmsjobb",
    "feriejobb": "Feriejobb",
    "uvas": "Unga som varken arbetar eller studerar (UVAS)",
    "ekonomiskt_bistand": "Ekonomiskt bistånd",
    "arbetsmarknadsinsatser": "Stadsdelarnas arbetsmarknadsinsatser",
    "indicator": "Indikatorer",
}


class CatalogueError(ValueError):
    pass


@dataclass(frozen=True)
class Measure:
    series: str
    measure: str
    label_sv: str
    definition_sv: str
    unit: str
    is_additive: bool
    direction: str
    decimals: int

    @property
    def is_share(self) -> bool:
        return self.unit in SHARE_UNITS

    @property
    def is_printed_as_is(self) -> bool:
        """Indicators are copied from report tables that print each figure with its own decimals
        (73,8 % beside 62,65 %): shown the same way, not padded to the measure's decimals."""
        return self.series == "indicator"

    @property
    def is_change(self) -> bool:
        """A figure that is itself a change (a decrease, an increase, procentenheter): compared with
        a year earlier it would be a change of a change, which no sentence or ranking should state."""
        return self.unit == "procentenheter" or bool(set(self.measure.split("_")) & set(CHANGE_WORDS))


@dataclass(frozen=True)
class Area:
    area: str
    area_type: str
    code: str
    valid_from: str
    valid_to: str
    merged_into: str
    members: tuple[str, ...]
    aliases: tuple[str, ...]


def _read(pattern: str, directory: Path) -> list[tuple[str, int, dict[str, str]]]:
    rows = []
    for path in sorted(directory.glob(pattern)):
        with path.open(encoding="utf-8", newline="") as fh:
            for i, row in enumerate(csv.DictReader(fh), start=2):
                rows.append((path.name, i, {k: (v or "").strip() for k, v in row.items()}))
    return rows


@lru_cache(maxsize=4)
def measures(directory: Path = CATALOGUE_DIR) -> dict[tuple[str, str], Measure]:
    out: dict[tuple[str, str], Measure] = {}
    for fname, line, r in _read("measures*.csv", directory):
        where = f"{fname} rad {line}"
        key = (r["series"], r["measure"])
        if key in out:
            raise CatalogueError(f"{where}: måttet {key[0]}/{key[1]} är redan deklarerat")
        if r["unit"] not in UNITS:
            raise CatalogueError(f"{where}: okänd enhet '{r['unit']}'")
        if r["direction"] not in DIRECTIONS:
            raise CatalogueError(f"{where}: okänd riktning '{r['direction']}'")
        if r["is_additive"] not in ("true", "false"):
            raise CatalogueError(f"{where}: is_additive måste vara true eller false")
        if r["is_additive"] == "true" and r["unit"] in SHARE_UNITS:
            raise CatalogueError(f"{where}: andelar kan inte summeras")
        out[key] = Measure(
            series=r["series"], measure=r["measure"], label_sv=r["label_sv"],
            definition_sv=r["definition_sv"], unit=r["unit"],
            is_additive=r["is_additive"] == "true", direction=r["direction"],
            decimals=int(r["decimals"] or 0),
        )
    return out


@lru_cache(maxsize=4)
def areas(directory: Path = CATALOGUE_DIR) -> dict[str, Area]:
    out: dict[str, Area] = {}
    for fname, line, r in _read("areas*.csv", directory):
        if r["area"] in out:
            raise CatalogueError(f"{fname} rad {line}: området '{r['area']}' är redan deklarerat")
        if r["area_type"] not in AREA_TYPES:
            raise CatalogueError(f"{fname} rad {line}: okänd områdestyp '{r['area_type']}'")
        split = lambda s: tuple(x.strip() for x in s.split("|") if x.strip())  # noqa: E731
        out[r["area"]] = Area(
            area=r["area"], area_type=r["area_type"], code=r["code"], valid_from=r["valid_from"],
            valid_to=r["valid_to"], merged_into=r["merged_into"], members=split(r["members"]),
            aliases=split(r["aliases"]),
        )
    return out


def measure(series: str, name: str) -> Measure:
    try:
        return measures()[(series, name)]
    except KeyError:
        raise CatalogueError(f"måttet '{series}/{name}' finns inte i katalogen") from None


def districts() -> list[str]:
    """The 13 stadsdelsområden in force since 2020-07-01, in catalogue order."""
    return [a.area for a in areas().values() if a.area_type == "sdo"]
