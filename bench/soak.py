"""Soak: simulated use of one `streamlit run` server for a long time, sampling its resident
memory; prints the growth and its slope.

    .venv/bin/python bench/soak.py                  # an hour's worth: 3 000 actions (50 analysts x 60 min,
                                                    # one click a minute), at most 3 600 s
    .venv/bin/python bench/soak.py --ci             # shortened: 300 actions, at most 90 s
    .venv/bin/python bench/soak.py --actions 500 --sessions 8 --max-seconds 300
    .venv/bin/python bench/soak.py --wall-hour      # an hour of wall-clock time at a user's pace:
                                                    # 50 sessions, a click every 0-120 s each

An action is one page opened or one filter changed, by websocket clients speaking
Streamlit's protocol (see bench/concurrency.py). Sessions come and go: each opens a random
page, changes filters a few times and disconnects, and a new one takes its place, so memory
held per session shows up as growth. Resident memory of the server (VmRSS) is sampled every
--every actions after a warm-up (every page opened once); printed: RSS after warm-up and at
the end, the slope of a least-squares line through the samples (MB per 1 000 actions) and
the growth from the warm-up baseline to the median of the last quarter of the samples.

The straightforward alternative, in the same run with --alternative: the same actions with
the process-wide cache cleared before each run (everything read and computed again). The
test tests/test_reliability.py runs a few hundred actions through `soak()` and bounds the
growth; no time is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "bench"))

from concurrency import PAGES_WITH_FILTERS, Session, data_copy, rss_mb, streamlit_server  # noqa: E402

LIGHT_PAGES = ["data", "om-data"]  # the test: many actions in little time


async def _worker(host: str, pages: list[str], budget: dict, rng: random.Random, errors: list, clear: bool,
                  stop_at: float, on_action, think_s: float = 0.0) -> None:
    async def think() -> None:  # a user reading the page before the next click
        if think_s:
            await asyncio.sleep(min(rng.uniform(0, 2 * think_s), max(0.0, stop_at - time.perf_counter())))

    while budget["left"] > 0 and time.perf_counter() < stop_at:
        await think()
        if budget["left"] <= 0 or time.perf_counter() >= stop_at:
            break
        page = rng.choice(pages)
        try:
            async with Session(host, page) as s:
                budget["left"] -= 1
                r = await s.run(clear_cache=clear, timeout=max(1.0, stop_at - time.perf_counter()))
                errors += r.errors
                on_action()
                for _ in range(rng.randint(1, 4)):
                    if budget["left"] <= 0 or time.perf_counter() > stop_at:
                        break
                    await think()
                    if budget["left"] <= 0 or time.perf_counter() > stop_at:
                        break
                    budget["left"] -= 1
                    r = await s.run(Session.filter_change(r.elements, rng), clear_cache=clear,
                                    timeout=max(1.0, stop_at - time.perf_counter()))
                    errors += r.errors
                    on_action()
        except Exception as exc:  # noqa: BLE001 - every failure is reported, the soak goes on
            errors.append(f"{page}: {type(exc).__name__}: {exc}"[:200])


def slope_per_1000(xs: list[float], ys: list[float]) -> float:
    if len(xs) < 2:
        return float("nan")
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var * 1000 if var else float("nan")


def soak(actions: int = 300, sessions: int = 4, max_seconds: float = 90, every: int = 10,
         pages: list[str] | None = None, clear_cache: bool = False, data: Path | None = None,
         seed: int = 7, session_ttl_s: int | None = None, think_s: float = 0.0) -> dict:
    """Run the soak against a fresh server; returns the samples and the summary figures.
    `think_s`: each session waits 0 to 2 x think_s seconds before each action (0: none).
    `session_ttl_s`: how long the server keeps a disconnected session (Streamlit's default
    is 120 s; a short soak lowers it so that it reaches the steady state)."""
    own = data is None
    data = data or data_copy()
    pages = pages or PAGES_WITH_FILTERS
    try:
        ttl = {} if session_ttl_s is None else {"STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(session_ttl_s)}
        with streamlit_server(data, ttl) as (host, pid):
            async def warm():
                for page in pages:
                    async with Session(host, page) as s:
                        await s.run(timeout=180)
            asyncio.run(warm())
            samples: list[tuple[int, float]] = [(0, rss_mb(pid))]
            done = {"n": 0}

            def on_action() -> None:
                done["n"] += 1
                if done["n"] % every == 0:
                    samples.append((done["n"], rss_mb(pid)))

            errors: list[str] = []
            budget = {"left": actions}
            rng = random.Random(seed)
            stop_at = time.perf_counter() + max_seconds
            start = time.perf_counter()

            async def run_all():
                await asyncio.gather(*(_worker(host, pages, budget, random.Random(rng.random()), errors, clear_cache,
                                               stop_at, on_action, think_s) for _ in range(sessions)))
            asyncio.run(run_all())
            wall = time.perf_counter() - start
            samples.append((done["n"], rss_mb(pid)))
    finally:
        if own:
            shutil.rmtree(data.parent, ignore_errors=True)
    xs, ys = [s[0] for s in samples], [s[1] for s in samples]
    q = max(1, len(ys) // 4)
    half = len(ys) // 2
    return {"actions": done["n"], "seconds": wall, "errors": errors, "samples": samples,
            "rss_start_mb": ys[0], "rss_end_mb": ys[-1],
            "growth_mb": statistics.median(ys[-q:]) - ys[0],
            # a leak keeps growing; caches and disconnected sessions (kept for their TTL) level off
            "late_growth_mb": statistics.median(ys[-q:]) - statistics.median(ys[q:2 * q] or ys[:1]),
            "slope_mb_per_1000": slope_per_1000(xs, ys),
            "late_slope_mb_per_1000": slope_per_1000(xs[half:], ys[half:])}


def report(name: str, r: dict) -> None:
    print(f"  {name:30s} {r['actions']} actions in {r['seconds']:.0f} s; RSS {r['rss_start_mb']:.0f} MB after warm-up, "
          f"{r['rss_end_mb']:.0f} MB at the end; growth {r['growth_mb']:+.0f} MB (second quarter -> last quarter "
          f"{r['late_growth_mb']:+.0f} MB); slope {r['slope_mb_per_1000']:+.1f} MB per 1 000 actions "
          f"(second half {r['late_slope_mb_per_1000']:+.1f}); {len(r['errors'])} errors")
    for e in sorted(set(r["errors"]))[:5]:
        print(f"    error: {e}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ci", action="store_true", help="shortened: 300 actions, at most 90 s")
    ap.add_argument("--actions", type=int)
    ap.add_argument("--sessions", type=int, default=4, help="simultaneous sessions")
    ap.add_argument("--max-seconds", type=float)
    ap.add_argument("--every", type=int, default=10, help="sample RSS every N actions")
    ap.add_argument("--think", type=float, default=0.0,
                    help="each session waits 0 to 2x this many seconds before each action")
    ap.add_argument("--wall-hour", action="store_true",
                    help="an hour of wall-clock time at a user's pace: 50 sessions, --think 60, sampled every 25 actions")
    ap.add_argument("--alternative", action="store_true", help="also run with the cache cleared before each run")
    args = ap.parse_args()
    if args.wall_hour:
        args.sessions, args.think, args.every = 50, 60.0, 25
        args.actions, args.max_seconds = args.actions or 1_000_000, args.max_seconds or 3600
    actions = args.actions or (300 if args.ci else 3000)
    max_seconds = args.max_seconds or (90 if args.ci else 3600)
    print(f"bench/soak.py: {actions} actions by {args.sessions} simultaneous sessions (coming and going), "
          f"at most {max_seconds:.0f} s" + (f", thinking 0-{2 * args.think:.0f} s before each action" if args.think else "")
          + f"; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    t0 = time.time()
    r = soak(actions, args.sessions, max_seconds, args.every, think_s=args.think)
    print(f"  started {time.strftime('%H:%M:%S', time.localtime(t0))}, ended {time.strftime('%H:%M:%S')}")
    report("amnstats (shared cache)", r)
    print("  RSS samples (action: MB): " + ", ".join(f"{a}: {m:.0f}" for a, m in r["samples"][:: max(1, len(r['samples']) // 12)]))
    if args.alternative:
        report("alternative (no cache)", soak(actions, args.sessions, max_seconds, args.every, clear_cache=True))


if __name__ == "__main__":
    main()
