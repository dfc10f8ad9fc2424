"""The embedded dataset: every curated figure stands on the line of the document it cites."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import polars as pl
import pytest

from amnstats import store
from amnstats.numbers import normalise_spaces

RAW = Path(__file__).resolve().parents[1] / "data" / "raw"
REPORTS = sorted((RAW / "reports").glob("*.csv"))
SEEDS = {p.name: p.read_text(encoding="utf-8").splitlines() for p in (RAW / "seeds").glob("*.txt")}


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_all_five_documents_are_curated():
    assert len(SEEDS) == 5
    assert {p.stem for p in REPORTS} == {Path(s).stem for s in SEEDS}


@pytest.mark.parametrize("path", REPORTS, ids=lambda p: p.stem)
def test_every_value_is_printed_on_its_line(path):
    meta = json.loads(path.with_name(path.stem + ".meta.json").read_text(encoding="utf-8"))
    lines = SEEDS[meta["document"]]
    failures = []
    for i, row in enumerate(_rows(path), start=2):
        printed = normalise_spaces(row["value_printed"])
        if not printed:
            assert row["status"] in ("suppressed", "missing"), f"rad {i}: tomt värde utan status"
            continue
        line_no = int(row["line"])
        text = normalise_spaces(lines[line_no - 1])
        # the figure must stand as a whole number on that line ("12" not inside "128" or "1,25");
        # tables printed with spaces between cells ("185 219 292") rule out a stricter check
        pattern = r"(?<![\d,])" + re.escape(printed) + r"(?!\d|,\d)"
        if not re.search(pattern, text):
            failures.append(f"rad {i}: '{printed}' finns inte på rad {line_no}: {text[:100]!r}")
    assert not failures, "\n".join(failures[:30])


@pytest.mark.parametrize("path", REPORTS, ids=lambda p: p.stem)
def test_sidecar_is_complete(path):
    meta = json.loads(path.with_name(path.stem + ".meta.json").read_text(encoding="utf-8"))
    for key in ("id", "title", "producer", "document", "date", "licence", "accessed", "description"):
        assert meta.get(key), f"{path.name}: {key} saknas"
    assert meta["document"] in SEEDS
    for item in meta.get("inconsistencies", []):
        assert item["description"]
        assert all(1 <= int(n) <= len(SEEDS[meta["document"]]) for n in item["lines"])
        assert set(item.get("doubtful_lines", [])) <= set(item["lines"])  # a doubtful line is one of its lines


def test_embedded_dataset_loads_whole():
    obs = store.load_observations()
    datasets = store.load_datasets()
    curated = sum(len(_rows(p)) for p in REPORTS)
    scb_rows = 251 * 6
    assert len(obs) == curated + scb_rows
    assert set(datasets["id"]) == {p.stem for p in REPORTS} | {"scb_bas_stockholm_2020_2024"}
    assert obs.select(pl.col("series", "measure", "period", "gender", "area", "kind", "source").null_count()).sum_horizontal().item() == 0
    assert len(obs) > 800, "hundreds of report figures plus the SCB series"
