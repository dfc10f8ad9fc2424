"""How the process hands freed memory back to the system (set when amnstats is imported).

amnstats serves many sessions from one process, and an import of a million rows needs a few
hundred MB for a second. Both allocators in the process would keep that memory afterwards:
- polars' jemalloc keeps freed pages for 0.5 s and then 1 s more (polars' own setting), in an
  arena per thread. With one arena,
  purged by a background thread after 0.1 s, an import's peak stays near its live data
  (bench/import.py, 42 MB file: about 190 MB above the baseline against 300-390 MB, in the
  same time; purging at once gives 176 MB but costs 0.3 s in page faults). One arena suits
  the few cores a replica has; a larger machine may set _RJEM_MALLOC_CONF itself.
- glibc (numpy, Python) raises its mmap threshold to the size of the largest block freed, up
  to 32 MB, and then serves such blocks from a heap it seldom returns. A fixed threshold gives
  every large array back when it is freed.
jemalloc reads its settings once, when polars is loaded: amnstats/__init__ calls configure()
before any module imports polars. A setting already in the environment is left as it is.
"""

from __future__ import annotations

import ctypes
import os
import sys

JEMALLOC_CONF = "narenas:1,background_thread:true,dirty_decay_ms:100,muzzy_decay_ms:0"
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's own default, kept fixed
_M_MMAP_THRESHOLD = -3  # mallopt parameter (malloc.h)


def configure() -> None:
    if "polars" not in sys.modules:
        os.environ.setdefault("_RJEM_MALLOC_CONF", JEMALLOC_CONF)
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    except (OSError, AttributeError):  # not glibc (musl, ...): its own policy stands
        pass
