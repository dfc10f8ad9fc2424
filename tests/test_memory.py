"""amnstats.memory: the allocator settings are in place before polars loads, and a setting
already in the environment is left as it is."""

from __future__ import annotations

import os
import subprocess
import sys

from amnstats import memory

_SHOW = ("import os, sys, amnstats; loaded_first = 'polars' in sys.modules; import polars; "
         "print(loaded_first, os.environ['_RJEM_MALLOC_CONF'])")


def _child(extra: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("_RJEM_MALLOC_CONF", "MALLOC_MMAP_THRESHOLD_")}
    proc = subprocess.run([sys.executable, "-c", _SHOW], env=env | extra, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def test_the_setting_reaches_polars_when_amnstats_is_imported_first():
    loaded_first, conf = _child({}).split(" ", 1)
    assert loaded_first == "False"  # amnstats itself does not load polars at import
    # polars puts its own defaults first and the environment's setting after them: ours wins
    assert conf.endswith("," + memory.JEMALLOC_CONF)


def test_a_setting_in_the_environment_is_left_alone():
    _, conf = _child({"_RJEM_MALLOC_CONF": "dirty_decay_ms:5000"}).split(" ", 1)
    assert conf.endswith(",dirty_decay_ms:5000") and memory.JEMALLOC_CONF not in conf


def test_configure_twice_and_after_polars_changes_nothing(monkeypatch):
    monkeypatch.setenv("_RJEM_MALLOC_CONF", "x")
    memory.configure()
    memory.configure()
    assert os.environ["_RJEM_MALLOC_CONF"] == "x"
