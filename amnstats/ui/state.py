"""Data for the pages: loaded once per process and shared read-only between sessions."""

from __future__ import annotations

import gc
import logging
import os
import threading
import time

import polars as pl
import streamlit as st

from .. import paths, storage, store
from ..build import current_build
from ..disclosure import min_count, suppress_small_counts
from ..problems import InputError
from ..schema import from_stored, scan_store

log = logging.getLogger(__name__)


@st.cache_resource(show_spinner="Läser in statistiken …", max_entries=1)
def _load(build_path: str, min_count: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(observations, datasets, preferred observations) of one build, read once per process and
    shared read-only by every session; a new build is a new key. The build is a local folder
    or, with AMNSTATS_STORE_URI, a build in object storage."""
    # small counts by gender x district are suppressed here, once: every page and export reads this
    obs = suppress_small_counts(_read(build_path, "observations.parquet"), min_count)
    # the preferred rows once, not per page run (the same frame when every row is preferred)
    preferred = obs if obs["is_preferred"].all() else obs.filter(pl.col("is_preferred"))
    return obs, _read(build_path, "datasets.parquet"), preferred


def _read(build_path: str, name: str) -> pl.DataFrame:
    observations = name == "observations.parquet"  # its text columns stored as dictionaries
    if "://" in build_path:
        frame = pl.from_arrow(storage.read_table(build_path, name))
        return from_stored(frame) if observations else frame
    return scan_store(f"{build_path}/{name}").collect() if observations else pl.read_parquet(f"{build_path}/{name}")


# How often a page run checks data/raw for changes made outside this process. A new build
# (an import here, or by the CLI) moves `current` and is seen at once.
RECHECK_SECONDS = 5.0
_checked: dict[str, float] = {}


_logged: dict[str, float] = {}
_link_targets: dict[tuple[str, str], str] = {}  # (link, its text) -> the build folder it names


def _current_build_quickly() -> str | None:
    """current_build() for a page run: one readlink. Resolving the link and looking for the
    build's files costs a dozen file system calls, and each one gives up the GIL to the other
    sessions' runs and waits to get it back. A build folder is never changed once `current`
    names it, so what a link text was found to name holds while the text stays the same."""
    link = str(paths.processed_dir() / "current")
    try:
        text = os.readlink(link)
    except OSError:  # no build yet, or not a link: the full answer
        text = None
    if text is not None and (known := _link_targets.get((link, text))) is not None:
        return known
    cur = current_build()
    if cur is not None and text is not None:
        _link_targets.clear()  # one entry: the build shown now
        _link_targets[(link, text)] = str(cur)
    return str(cur) if cur is not None else None


def _log_once_a_minute(message: str) -> None:
    """An error every page run would repeat (50 sessions: many a second), logged once a minute."""
    now = time.monotonic()
    if now - _logged.get(message, -1e9) >= 60:
        _logged[message] = now
        log.error("%s", message)


def build_path() -> str:
    """The build to show: rebuilt if raw data changed; if the rebuild fails, the previous
    build with a warning; with no build at all, an error and the page stops. With
    AMNSTATS_STORE_URI (dashboard replicas), the build object storage's CURRENT names."""
    if storage.is_remote():
        try:
            remote = storage.current_remote_build()
        except (storage.StorageError, OSError) as exc:
            remote = None
            _log_once_a_minute(f"amnstats: object storage unreadable: {storage.redacted(str(exc))}")
            why = (str(exc) if isinstance(exc, storage.StorageError) else
                   f"{storage.ENV}: lagringen svarar inte eller nekar åtkomst (detaljer i serverns logg)")
            st.warning(f"Statistiken kunde inte läsas från den delade lagringen. {why}. "
                       "Sidan visar den lokala versionen.")
        if remote is not None:
            return storage.remote_location(remote)
    cur = _current_build_quickly()
    if cur is not None and _checked.get(cur, -1e9) > time.monotonic() - RECHECK_SECONDS:
        return cur  # checked a moment ago: a run costs one readlink, not a stat of every raw file
    try:
        path = str(store.ensure_built())
        _checked.clear()
        _checked[path] = time.monotonic()
        return path
    except InputError as exc:
        previous = current_build()
        details = "\n".join(f"- {p}" for p in exc.problems[:10])
        if previous is None:
            st.error(f"Statistiken kunde inte byggas från data/raw. {exc.headline}:\n\n{details}")
            st.stop()
        st.warning(f"Nya rådata kunde inte läsas in; sidan visar den senast fungerande versionen.\n\n{details}")
        return str(previous)
    except storage.StorageError as exc:  # built here, but the shared store could not take it
        previous = current_build()
        if previous is None:
            st.error(f"Statistiken kunde inte byggas: {exc}")
            st.stop()
        st.warning(f"Den delade lagringen kunde inte uppdateras ({exc}); sidan visar den lokala versionen.")
        return str(previous)



_shown = {"build": None}
_switching = threading.Lock()


def _frames() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    path = build_path()
    if _shown["build"] != path:
        with _switching:
            # asked again under the lock: a run that read the path just before another session
            # switched to a newer build must not switch the process back
            path = build_path()
            if _shown["build"] != path:
                if _shown["build"] is not None:
                    let_previous_build_go()
                _shown["build"] = path
    return _load(path, min_count())


def let_previous_build_go() -> None:
    """A new build is shown: drop the previous one's frames before the new ones are read. Page
    runs on it left reference cycles (a page's functions and its variables, which hold the
    frames) that Python's collector would only find much later; an import's file and tables
    likewise. Without this, each import kept the previous store in memory: +2 GB after four
    1M-row imports (docs/performance.md)."""
    _load.clear()
    gc.collect()


def observations(preferred_only: bool = True) -> pl.DataFrame:
    obs, _, preferred = _frames()
    return preferred if preferred_only else obs


def datasets() -> pl.DataFrame:
    return _frames()[1]


def doubtful_sources() -> tuple[str, ...]:
    """Sources of figures a report itself contradicts (its sidecar's doubtful_lines), sorted: an
    argument of the target charts, so a slide rebuilt from its link says the same. Once per build."""
    from .memo import memo

    return memo(datasets(), _doubtful_sources)


def _doubtful_sources(datasets: pl.DataFrame) -> tuple[str, ...]:
    from ..sources.reports import contradicted_sources

    return tuple(sorted(contradicted_sources(datasets.to_dicts())))
