"""Faults the store survives: a build killed at random moments, a power cut that leaves a
truncated Parquet file, a row count that no longer matches; and memory that does not grow
under simulated use. (Imports killed mid-commit and two simultaneous imports: test_imports.py.)
No test here asserts a time.
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
from polars.testing import assert_frame_equal

from amnstats import store
from amnstats.build import build, current_build, verify_build
from amnstats.schema import scan_store
from fixture_files import script_module

PROJECT = Path(__file__).resolve().parents[1]


def _complete(build_path: Path, n_rows: int) -> None:
    """Everything a reader needs is there, readable and consistent."""
    assert verify_build(build_path) is None
    manifest = json.loads((build_path / "manifest.json").read_text())
    obs = scan_store(build_path / "observations.parquet").collect()
    assert len(obs) == manifest["n_observations"] == n_rows
    assert len(pl.read_parquet(build_path / "datasets.parquet")) == manifest["n_datasets"]


def test_build_killed_at_random_moments_always_leaves_a_complete_store(data_dir):
    first = build()
    expected = scan_store(first.path / "observations.parquet").collect()
    env = os.environ | {"AMNSTATS_DATA_DIR": str(data_dir), "PYTHONPATH": str(PROJECT)}
    rng = random.Random(11)
    finished = killed = 0
    for _ in range(15):
        proc = subprocess.Popen([sys.executable, "-m", "amnstats", "build", "--force"], env=env, cwd=PROJECT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, 3.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        else:
            finished += 1
        proc.wait(timeout=60)
        cur = current_build()
        assert cur is not None, "no current build after a kill"
        _complete(cur, len(expected))  # the old build or the new one, whole
        assert_frame_equal(scan_store(cur / "observations.parquet").collect(), expected)
    assert killed, "no kill landed inside a build: the test proved nothing"
    # the next build (or the app's next start) cleans up and carries on
    again = build(force=True)
    _complete(again.path, len(expected))
    leftovers = [p.name for p in (data_dir / "processed").iterdir() if p.name.startswith((".build-", ".current-"))]
    assert not leftovers, leftovers


def test_truncated_parquet_after_a_power_cut_is_detected_and_rebuilt_from_raw(data_dir, caplog):
    first = build()
    before = store.load_observations()
    target = first.path / "observations.parquet"
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2])  # what a power cut during write-back can leave
    assert verify_build(first.path) is not None
    with caplog.at_level(logging.ERROR, logger="amnstats"):
        rebuilt = store.ensure_built()
    assert rebuilt != first.path and current_build() == rebuilt
    assert any("damaged" in r.getMessage() and "observations.parquet" in r.getMessage() for r in caplog.records)
    _complete(rebuilt, len(before))
    assert_frame_equal(store.load_observations(), before)


def test_row_count_that_differs_from_the_manifest_is_rebuilt(data_dir, caplog):
    first = build()
    before = store.load_observations()
    obs = scan_store(first.path / "observations.parquet").collect()
    # a consistent Parquet file with a row missing: the footer reads, the count does not match
    pq.write_table(obs.head(len(obs) - 1).to_arrow(), first.path / "observations.parquet")
    problem = verify_build(first.path)
    assert problem and "rader" in problem
    with caplog.at_level(logging.ERROR, logger="amnstats"):
        store.ensure_built()
    assert any("damaged" in r.getMessage() for r in caplog.records)
    assert_frame_equal(store.load_observations(), before)


def test_a_missing_manifest_is_rebuilt(data_dir):
    first = build()
    (first.path / "manifest.json").unlink()
    assert store.ensure_built() != first.path
    assert verify_build(current_build()) is None


def _soak_module():
    return script_module(PROJECT / "bench" / "soak.py", "amnstats_bench_soak")


def test_simulated_use_does_not_grow_memory(data_dir):
    """A shortened soak (bench/soak.py): sessions come and go on a real `streamlit run`,
    opening pages and changing filters; the server's resident memory must level off. The
    bounds are generous (allocator noise, caches filling, disconnected sessions kept for
    their TTL, here 10 s); a leak of a few hundred kB per action exceeds them."""
    soak = _soak_module()
    result = soak.soak(actions=200, sessions=2, max_seconds=150, every=10, pages=soak.LIGHT_PAGES, data=data_dir,
                       session_ttl_s=10)
    assert not result["errors"], result["errors"][:5]
    assert result["actions"] >= 100, f"only {result['actions']} actions ran"
    assert result["late_growth_mb"] < 40, result["samples"]
    assert result["growth_mb"] < 100, result["samples"]


def test_pages_see_a_new_build_at_once_and_raw_changes_within_the_recheck_interval(data_dir, monkeypatch):
    from amnstats.ui import state

    state._checked.clear()
    first = state.build_path()
    assert first == str(current_build())
    # raw data changed by hand, outside this process: not looked for on every run ...
    meta = sorted((data_dir / "raw" / "reports").glob("*.meta.json"))[0]
    meta.write_text(meta.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # same data, new bytes
    assert state.build_path() == first
    # ... but once the interval has passed
    monkeypatch.setattr(state, "RECHECK_SECONDS", 0.0)
    second = state.build_path()
    assert second != first and second == str(current_build())
    # a build made elsewhere (an import, the CLI) moves `current`: seen on the very next run
    monkeypatch.setattr(state, "RECHECK_SECONDS", 3600.0)
    third = build(force=True).path
    assert state.build_path() == str(third)


def test_a_new_build_lets_the_previous_builds_frames_go(data_dir):
    """A page's run leaves its variables in a reference cycle (its functions refer to the page's
    namespace, which holds them), so the store's frames it used outlive it until Python's
    collector runs, which in a busy server can be much later. When a new build is shown, the
    previous one's frames must go at once: else every import kept the previous store in memory."""
    import gc
    import weakref

    from amnstats import imports
    from amnstats.ingest import Mapping, Source
    from amnstats.ui import state
    from apptest_helpers import run_page

    at = run_page("jobbtorg")
    assert not at.exception
    old = [weakref.ref(f) for f in state._frames()]  # the frames the page ran on (shared, cached)
    n_before = old[0]().height
    namespace = {"obs": old[0](), "preferred": old[2]()}
    namespace["self"] = namespace  # as a page's namespace and its functions: a cycle
    del namespace
    data = "Stadsdelsområde;Totalt\nBromma;2,0\nSkärholmen;8,8\n".encode("cp1252")
    mapping = Mapping(series="unemployment", measure="arbetslosa_andel", period=Source.fixed("dec 2023"),
                      gender=Source.fixed("totalt"), area=Source.column("Stadsdelsområde"), value="Totalt")
    gc.disable()  # the collector must not happen to run on its own during the test
    try:
        assert imports.commit(data, "af.csv", mapping, uploaded_by="test").changed  # a new build
        at.run()  # the page's next run shows it
        assert not at.exception
        assert [r() is None for r in old] == [True, True, True]  # observations, datasets, preferred
    finally:
        gc.enable()
    assert state._frames()[0].height == n_before + 2


def test_a_run_that_read_the_old_build_just_before_a_switch_does_not_switch_back(data_dir, monkeypatch):
    from amnstats.ui import state

    first = state.build_path()
    state._frames()
    second = str(build(force=True).path)
    shown = state._frames()
    assert state._shown["build"] == second  # switched once
    answers = iter([first, second])  # read before the switch; asked again, the current build
    monkeypatch.setattr(state, "build_path", lambda: next(answers))
    cleared = []
    monkeypatch.setattr(state, "let_previous_build_go", lambda: cleared.append(True))
    assert state._frames()[0] is shown[0] and state._shown["build"] == second and not cleared
