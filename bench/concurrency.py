"""Concurrency: 50 simultaneous sessions against one `streamlit run` on 127.0.0.1, each opening
a page and changing a filter several times; the 50th and 95th percentile of the response time
and every error. The sessions start evenly over --ramp seconds (default 10: 50 page opens in
the same millisecond finish together, late, since every script run shares one interpreter)
and then all stay connected while they change filters.

    .venv/bin/python bench/concurrency.py                     # 50 sessions x 5 changes, <= 60 s
    .venv/bin/python bench/concurrency.py --sessions 20 --changes 3 --max-seconds 30

Sessions are websocket clients speaking Streamlit's own protocol (BackMsg / ForwardMsg, as the
browser does), not browsers: the server does all the work a browser would cause (script run,
data, charts as Vega-Lite specs, element deltas) without 50 Chromium renderers competing for
the same two cores. A response time is from sending the rerun (page opened or widget
changed) to the server's `script_finished`. Errors: an exception element in the page, a run
that does not finish, a dropped connection, or the time bound reached.

In the same run, the straightforward alternative: the same load with every run preceded by
`clear_cache` (no process-wide cache: each run reads the store and computes again), and the
single-session baseline. Then the same load against --replicas servers (default 2: one per
core, as docs/deployment.md plans them) over the same store, each session sticking to one,
as a load balancer with sticky sessions sends them. Nothing here asserts a time. The data
folder is a temporary copy of data/raw (embedded data); --data points at another one (e.g. a
synthetic 1M store).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

PAGES_WITH_FILTERS = ["arbetsloshet", "jobbtorg", "unga", "vuxenutbildning", "stadsdelar", "mal", "data"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return float("nan")


def data_copy() -> Path:
    root = Path(tempfile.mkdtemp(prefix="amnstats-bench-"))
    shutil.copytree(PROJECT / "data" / "raw", root / "data" / "raw", ignore=shutil.ignore_patterns("uploads"))
    (root / "data" / "processed").mkdir()
    return root / "data"


@contextmanager
def streamlit_server(data: Path, extra_env: dict | None = None, app: Path | None = None):
    """`streamlit run app.py` (or another `app`, run in its folder) on 127.0.0.1 (loopback
    only); yields (base url, pid)."""
    port = free_port()
    env = os.environ | {"AMNSTATS_DATA_DIR": str(data)} | (extra_env or {})
    app = app or PROJECT / "app.py"
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", app.name, "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=app.parent, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("streamlit did not start: " + proc.stderr.read().decode()[-1500:]) from None
                time.sleep(0.3)
        yield f"127.0.0.1:{port}", proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@dataclass
class RunResult:
    seconds: float
    elements: list
    errors: list[str] = field(default_factory=list)


class Session:
    """One browser tab's worth of protocol: open a page, change a widget, read the reply."""

    def __init__(self, host: str, page: str):
        self.url = f"ws://{host}/_stcore/stream"
        self.page = page
        self.ws = None
        self._cache: dict[str, object] = {}

    async def __aenter__(self):
        import websockets

        self.ws = await websockets.connect(self.url, subprotocols=["streamlit"], max_size=None, open_timeout=120,
                                         ping_interval=None)  # a busy server answers late, not never
        return self

    async def __aexit__(self, *exc):
        await self.ws.close()

    async def run(self, widget_states=None, clear_cache: bool = False, timeout: float = 60) -> RunResult:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        if clear_cache:
            msg = BackMsg()
            msg.clear_cache = True
            await self.ws.send(msg.SerializeToString())
        msg = BackMsg()
        msg.rerun_script.page_name = self.page
        if widget_states is not None:
            msg.rerun_script.widget_states.CopyFrom(widget_states)
        start = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        elements, errors = [], []
        deadline = start + timeout
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), timeout=max(0.1, deadline - time.perf_counter()))
            fm = ForwardMsg()
            fm.ParseFromString(raw)
            kind = fm.WhichOneof("type")
            if kind == "ref_hash":  # a message this session was sent before
                fm = self._cache.get(fm.ref_hash, fm)
                kind = fm.WhichOneof("type")
            elif fm.hash and fm.metadata.cacheable:
                self._cache[fm.hash] = fm
            if kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                el = fm.delta.new_element
                elements.append(el)
                if el.WhichOneof("type") == "exception":
                    errors.append(f"{self.page}: {el.exception.type}: {el.exception.message[:120]}")
            elif kind == "script_finished" and fm.script_finished in (0, 3):  # not 'early for rerun'
                return RunResult(time.perf_counter() - start, elements, errors)

    @staticmethod
    def filter_change(elements, rng: random.Random):
        """Widget states that pick another option of the page's first selectbox (None: none)."""
        from streamlit.proto.WidgetStates_pb2 import WidgetStates

        boxes = [e.selectbox for e in elements if e.WhichOneof("type") == "selectbox" and len(e.selectbox.options) >= 2]
        if not boxes:
            return None
        box = boxes[0]
        states = WidgetStates()
        w = states.widgets.add()
        w.id = box.id
        w.string_value = rng.choice([o for i, o in enumerate(box.options) if i != (box.default or 0)] or box.options)
        return states


async def one_session(host: str, page: str, changes: int, think: tuple[float, float], seed: int,
                      clear_cache: bool, stats: dict, stop_at: float, delay: float = 0.0) -> None:
    rng = random.Random(seed)
    await asyncio.sleep(delay)
    try:
        async with Session(host, page) as s:
            first = await s.run(clear_cache=clear_cache, timeout=max(1.0, stop_at - time.perf_counter()))
            stats["open"].append(first.seconds)
            stats["errors"] += first.errors
            elements = first.elements
            for _ in range(changes):
                await asyncio.sleep(rng.uniform(*think))
                if time.perf_counter() > stop_at:
                    stats["errors"].append(f"{page}: time bound reached before all changes")
                    return
                states = Session.filter_change(elements, rng)
                r = await s.run(states, clear_cache=clear_cache, timeout=max(1.0, stop_at - time.perf_counter()))
                stats["change"].append(r.seconds)
                stats["errors"] += r.errors
    except (asyncio.TimeoutError, TimeoutError):
        stats["errors"].append(f"{page}: no reply within the time bound")
    except Exception as exc:  # noqa: BLE001 - every failure is an error to report, not a crash
        stats["errors"].append(f"{page}: {type(exc).__name__}: {exc}"[:200])


async def load(host: str | list[str], sessions: int, changes: int, think: tuple[float, float], max_seconds: float,
               clear_cache: bool = False, seed: int = 1, ramp: float = 0.0) -> dict:
    """`sessions` clients, started evenly over `ramp` seconds, all connected at once after it.
    With several hosts (replicas), session i goes to host i mod n and stays there, as a sticky
    load balancer would send it."""
    hosts = [host] if isinstance(host, str) else host
    stats: dict = {"open": [], "change": [], "errors": []}
    stop_at = time.perf_counter() + max_seconds
    start = time.perf_counter()
    tasks = [one_session(hosts[i % len(hosts)], PAGES_WITH_FILTERS[i % len(PAGES_WITH_FILTERS)], changes, think,
                         seed + i, clear_cache, stats, stop_at, delay=ramp * i / max(1, sessions))
             for i in range(sessions)]
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=max_seconds + 5)
    except (asyncio.TimeoutError, TimeoutError):
        stats["errors"].append("the whole run hit its time bound")
    stats["wall"] = time.perf_counter() - start
    return stats


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))]


def summary(name: str, stats: dict, expected_changes: int) -> str:
    c, o = stats["change"], stats["open"]
    line = (f"  {name:34s} filter change p50 {pct(c, 50) * 1000:6.0f} ms  p95 {pct(c, 95) * 1000:6.0f} ms  "
            f"max {max(c, default=float('nan')) * 1000:6.0f} ms | page open p50 {pct(o, 50) * 1000:6.0f} ms "
            f"p95 {pct(o, 95) * 1000:6.0f} ms | {len(c)}/{expected_changes} changes, {len(stats['errors'])} errors, "
            f"{stats['wall']:.1f} s")
    return line


def replicated(data: Path, args) -> None:
    """The same load on `args.replicas` servers over the same store, as deployed (one per core)."""
    with ExitStack() as stack:
        servers = [stack.enter_context(streamlit_server(data)) for _ in range(args.replicas)]
        hosts = [host for host, _pid in servers]
        for host in hosts:
            asyncio.run(load(host, 1, 1, (0, 0), 180))  # each replica loads the store and warms its imports
        res = asyncio.run(load(hosts, args.sessions, args.changes, tuple(args.think), args.max_seconds,
                               ramp=args.ramp))
        print(summary(f"{args.sessions} sessions, {args.replicas} replicas", res, args.sessions * args.changes))
        print("  replica resident memory " + ", ".join(f"{rss_mb(pid):.0f} MB" for _host, pid in servers))
        for e in sorted(set(res["errors"]))[:10]:
            print(f"    error: {e}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--changes", type=int, default=5, help="filter changes per session")
    ap.add_argument("--think", type=float, nargs=2, default=(1.0, 3.0), help="seconds between changes (uniform)")
    ap.add_argument("--max-seconds", type=float, default=60)
    ap.add_argument("--ramp", type=float, default=10, help="sessions start evenly over this many seconds")
    ap.add_argument("--data", type=Path, help="an AMNSTATS_DATA_DIR to serve (default: a copy of data/raw)")
    ap.add_argument("--no-alternative", action="store_true")
    ap.add_argument("--replicas", type=int, default=2,
                    help="also run the load against this many replicas, sessions spread over them and sticky "
                         "(docs/deployment.md: one replica per core); 1 or less: skip")
    args = ap.parse_args()
    data = args.data or data_copy()
    print(f"bench/concurrency.py: {args.sessions} websocket sessions on 127.0.0.1 (started over {args.ramp:.0f} s, "
          f"then all connected), {args.changes} filter changes each, think time {args.think[0]}-{args.think[1]} s, "
          f"bounded to {args.max_seconds:.0f} s; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    try:
        with streamlit_server(data) as (host, pid):
            asyncio.run(load(host, 1, 1, (0, 0), 180))  # build the store, load it, warm the imports
            base = asyncio.run(load(host, 1, args.changes * 2, (0.2, 0.2), args.max_seconds))
            print(summary("1 session (baseline)", base, args.changes * 2))
            rss_before = rss_mb(pid)
            res = asyncio.run(load(host, args.sessions, args.changes, tuple(args.think), args.max_seconds,
                                   ramp=args.ramp))
            print(summary(f"{args.sessions} sessions, shared cache", res, args.sessions * args.changes))
            print(f"  server resident memory {rss_before:.0f} MB before, {rss_mb(pid):.0f} MB after the 50-session run")
            for e in sorted(set(res["errors"]))[:10]:
                print(f"    error: {e}")
            if not args.no_alternative:
                alt = asyncio.run(load(host, args.sessions, args.changes, tuple(args.think), args.max_seconds,
                                       clear_cache=True, ramp=args.ramp))
                print(summary(f"{args.sessions} sessions, no cache (alt.)", alt, args.sessions * args.changes))
                if res["change"] and alt["change"]:
                    print(f"  ratio alternative / amnstats, p95 filter change: "
                          f"{pct(alt['change'], 95) / pct(res['change'], 95):.1f}x")
            if res["change"] and base["change"]:
                print(f"  p95 with {args.sessions} sessions / p50 alone: "
                      f"{pct(res['change'], 95) / pct(base['change'], 50):.1f}x")
        if args.replicas > 1:
            replicated(data, args)
    finally:
        if args.data is None:
            shutil.rmtree(data.parent, ignore_errors=True)
    print(f"  load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
