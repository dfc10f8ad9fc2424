"""District groups and the district board: aggregate_areas against a plain row-by-row
implementation of its rules, and the board's fast path (cells numbered per key, already in
row order) against its per-row path, on small hand-built frames."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from amnstats.metrics import ObsKeys, aggregate_areas, area_comparison
from amnstats.metrics import areas as areas_module
from amnstats.metrics.areas import CELL, GROUP_EXTRAS, merged_districts
from amnstats.schema import OBSERVATION_SCHEMA
from test_metrics import ATTRS, make_obs

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from synthetic import generate, synthetic_attributes, synthetic_share_parts  # noqa: E402

SHARE_PARTS = {("t", "andel"): ("antal", "deltagare")}  # andel = antal / deltagare * 100
GROUPS = {
    "Järva": ("Rinkeby-Kista", "Spånga-Tensta"),
    "Söderort": ("Enskede-Årsta-Vantör", "Skarpnäck", "Farsta", "Hägersten-Älvsjö", "Skärholmen"),
    "Farsta och Älvsjö": ("Farsta", "Älvsjö"),  # a former district as a member
}
BEFORE = ["Stockholm", "Rinkeby-Kista", "Spånga-Tensta", "Enskede-Årsta-Vantör", "Skarpnäck", "Farsta",
          "Hägersten-Liljeholmen", "Älvsjö", "Skärholmen"]
AFTER = [a for a in BEFORE if a not in ("Hägersten-Liljeholmen", "Älvsjö")] + ["Hägersten-Älvsjö"]


def _frame() -> pl.DataFrame:
    """Counts, the share of two of them and a measure without parts, per district, gender and
    period (2019: before the merger), sorted as the store is; some suppressed, approximate,
    missing or absent; a zero denominator; a Hägersten-Älvsjö row printed for 2019; a group
    and a non-district area in the data; målvärden."""
    rows, i = [], 0
    for measure in ("deltagare", "antal", "andel", "neutral"):
        for area in dict.fromkeys(BEFORE + AFTER):
            for gender in ("kvinnor", "totalt"):
                for period in ("2019", "2021", "2022-03"):
                    printed_2019 = area == "Hägersten-Älvsjö" and measure == "antal" and gender == "kvinnor"
                    if area not in (BEFORE if period == "2019" else AFTER) and not printed_2019:
                        continue
                    i += 1
                    row = {"measure": measure, "area": area, "gender": gender, "period": period,
                           "value": float(10 + (i * 37) % 90) / (10 if measure == "andel" else 1)}
                    if measure == "deltagare" and area in GROUPS["Järva"] and period == "2021":
                        row["value"] = 0.0  # Järva's share has no denominator
                    elif gender == "totalt" and period == "2019":
                        pass  # every part of Söderort's 2019 totals, so its harmonised sums are complete
                    elif i % 29 == 11:
                        continue  # absent
                    elif i % 17 == 3:
                        row["value"] = None  # suppressed
                    elif i % 23 == 7:
                        row.update(value=None, status="missing")
                    elif i % 19 == 5:
                        row["status"] = "approximate"
                    rows.append(row)
    rows += [{"measure": "antal", "area": "Järva", "period": "2021", "value": 1.0},  # a group printed as such
             {"measure": "antal", "area": "Riket", "period": "2021", "value": 5.0},
             *({"measure": "antal", "area": a, "period": "2021", "kind": "målvärde", "target_setter": "nämnden",
                "value": 7.0} for a in GROUPS["Järva"])]
    return make_obs(rows)


# --------------------------------------------------------------------------- a plain version of the rules

def _plain_aggregate(obs: pl.DataFrame, groups, share_parts, attrs) -> pl.DataFrame:
    rows = obs.filter(pl.col("is_preferred")).to_dicts()
    rows = _plain_harmonise(rows, share_parts, attrs)
    out = _plain_sum(rows, groups, share_parts, attrs, "group_of_sdo")
    return pl.DataFrame(out, schema={**OBSERVATION_SCHEMA, **GROUP_EXTRAS}, orient="row")


def _plain_harmonise(rows: list[dict], share_parts, attrs) -> list[dict]:
    """Before 2020-07-01, Hägersten-Älvsjö as the sum of the districts it replaced, unless printed."""
    merged = merged_districts()
    former = {a for members in merged.values() for a in members}
    before = [r for r in rows if r["area"] in former and r["period_start"] and r["period_start"] < date(2020, 7, 1)]
    printed = {(_cell(r), r["area"]) for r in rows if r["area"] in merged}
    added = [r for r in _plain_sum(before, merged, share_parts, attrs, "sdo") if (_cell(r), r["area"]) not in printed]
    return rows + added


def _cell(row: dict) -> tuple:
    return tuple(row[c] for c in CELL)


def _plain_sum(rows: list[dict], groups, share_parts, attrs, area_type: str) -> list[dict]:
    additive = {(s, m): bool(a) for s, m, a in attrs.select("series", "measure", "is_additive").iter_rows()}
    board = {"Stockholm"} | {r["area"] for r in rows if r["area_type"] == "sdo"} | {a for ms in groups.values()
                                                                                     for a in ms}
    found: dict[tuple, dict[str, list[dict]]] = {}  # cell -> area -> its rows in row order
    last: dict[tuple, int] = {}  # cell -> its last row in a board area
    for i, r in enumerate(rows):
        if r["area"] in board:
            found.setdefault(_cell(r), {}).setdefault(r["area"], []).append(r)
            last[_cell(r)] = i

    def group_sum(cell, members) -> dict:
        present, partial, seen, flags = 0, 0.0, False, set()
        for m in members:
            here = found.get(cell, {}).get(m, [])
            if here:
                seen = True
                flags.add(here[-1]["status"])
            if len(here) == 1 and here[0]["value"] is not None:
                present += 1
                partial += here[0]["value"]
        complete = present == len(members)
        status = ("suppressed" if "suppressed" in flags else "missing" if not complete
                  else "approximate" if "approximate" in flags else "")
        return {"value": partial if complete else None, "value_partial": partial if present else None,
                "status": status, "n_present": present, "seen": seen}

    def worst(a: str, b: str) -> str:
        return next(s for s in ("suppressed", "missing", "approximate", "") if s in (a, b))

    out = []
    for name, members in groups.items():
        for cell in sorted(last, key=last.get):
            s = group_sum(cell, members)
            parts = share_parts.get(cell[:2])
            if parts:  # a share: from the group's numerator and denominator, never summed
                num, den = (group_sum((cell[0], part, *cell[2:]), members) for part in parts)
                share = num["value"] / den["value"] * 100 if None not in (num["value"], den["value"]) \
                    and den["value"] > 0 else None
                s.update(value=share, value_partial=share, status=worst(num["status"], den["status"]),
                         n_present=min(num["n_present"], den["n_present"]))
            if not s["seen"] or not (additive.get(cell[:2], False) or parts):
                continue
            rep = rows[last[cell]]
            out.append({**{c: rep[c] for c in (*CELL, "period_start", "period_end", "period_type", "unit")},
                        "area": name, "area_type": area_type, "value": s["value"], "status": s["status"],
                        "dataset": "", "source": "amnstats.metrics.aggregate_areas",
                        "source_label": "Beräknat från stadsdelsområdenas värden", "note": "", "is_preferred": True,
                        "has_conflict": False, "value_partial": s["value_partial"], "n_members": len(members),
                        "n_present": s["n_present"], "is_complete": s["value"] is not None})
    return [{c: r[c] for c in (*OBSERVATION_SCHEMA.names(), *GROUP_EXTRAS)} for r in out]


# --------------------------------------------------------------------------- tests

@pytest.mark.parametrize("order", ["sorted", "shuffled", "with repeated rows"])
def test_aggregate_areas_follows_its_rules_row_by_row(order):
    obs = _frame()
    if order == "shuffled":
        obs = obs.sample(fraction=1.0, shuffle=True, seed=7)
    elif order == "with repeated rows":  # two rows for one district and cell: that district has no value
        obs = pl.concat([obs, obs.slice(40, 6), obs.slice(100, 3).with_columns(status=pl.lit("approximate"))])
    want = _plain_aggregate(obs, GROUPS, SHARE_PARTS, ATTRS)
    got = aggregate_areas(obs, GROUPS, ATTRS, SHARE_PARTS)
    assert got.equals(want)
    if order != "sorted":
        return
    # The frame has what the rules are about.
    assert set(want["status"]) == {"", "suppressed", "missing", "approximate"}
    assert want.filter(pl.col("measure") == "andel", pl.col("is_complete")).height > 0
    assert _one(want, area="Järva", measure="andel", period="2021", gender="totalt")["value"] is None  # 0 deltagare
    assert want.filter(pl.col("period") == "2019", pl.col("area") == "Söderort", pl.col("is_complete")).height == 3


def _one(frame: pl.DataFrame, **where) -> dict:
    rows = frame.filter(*[pl.col(k) == v for k, v in where.items()])
    assert rows.height == 1
    return rows.row(0, named=True)


def _synthetic_small() -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    obs = generate(n_series=1, n_pairs=2, n_groups=2, n_years=2)
    obs = obs.with_columns(status=pl.when(pl.int_range(pl.len()) % 53 == 0).then(pl.lit("approximate"))
                           .otherwise(pl.col("status")))
    return obs, synthetic_attributes(1, 2), synthetic_share_parts(1, 2)


@pytest.mark.parametrize("frame", ["hand-built", "hand-built with repeated rows", "synthetic", "synthetic shuffled"])
def test_board_per_row_path_gives_the_fast_paths_results(frame, monkeypatch):
    """Cells numbered per key (a table small next to its rows) or per row with sparse cells
    renumbered (forced here): the same sums, ranks and city values."""
    if frame.startswith("hand-built"):
        obs, attrs, parts = _frame(), ATTRS, SHARE_PARTS
        if frame.endswith("repeated rows"):
            obs = pl.concat([obs, obs.slice(40, 6)])
    else:
        obs, attrs, parts = _synthetic_small()
        if frame == "synthetic shuffled":
            obs = obs.sample(fraction=1.0, shuffle=True, seed=3)
    fast = aggregate_areas(obs, attrs=attrs, share_parts=parts), area_comparison(obs, attrs)
    monkeypatch.setattr(areas_module, "_small_enough", lambda n_slots, n_rows: False)
    per_row = aggregate_areas(obs, attrs=attrs, share_parts=parts), area_comparison(obs, attrs)
    assert fast[0].height > 0 and fast[0].equals(per_row[0])
    # Rows of areas outside the board (groups, former districts) get the city's value from
    # the per-key path only (the sparse path never gave them one): compared on the board's.
    fast_rows, per_row_rows = (f.filter(pl.col("area_type").is_in(["city", "sdo"])) for f in (fast[1], per_row[1]))
    assert fast_rows["rank"].is_not_null().any() and fast_rows.equals(per_row_rows)


def test_a_table_sorted_by_key_needs_no_sort_of_its_cells():
    obs, attrs, parts = _synthetic_small()
    k = ObsKeys(obs, attrs)
    board = areas_module._board(k, areas_module._board_areas(k, "Stockholm", areas_module._all_members()))
    assert areas_module._in_row_order(board.representative) is None
    shuffled = ObsKeys(obs.sample(fraction=1.0, shuffle=True, seed=1), attrs)
    board = areas_module._board(shuffled, areas_module._board_areas(shuffled, "Stockholm",
                                                                      areas_module._all_members()))
    assert areas_module._in_row_order(board.representative) is not None
