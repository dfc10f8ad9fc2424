"""The page objects are made once per process and copied for every run; the build is found
with one readlink per run."""

from __future__ import annotations

import os
import threading

import streamlit as st

from amnstats.ui import nav, state


class _CountingPage:
    made = 0

    def __init__(self, path, *, title, icon, url_path, **extra):
        type(self).made += 1
        self.path, self.title, self.url_path, self.extra = path, title, url_path, extra


def test_pages_are_made_once_and_every_run_gets_its_own_copies(monkeypatch):
    _CountingPage.made = 0
    monkeypatch.setattr(st, "Page", _CountingPage)
    monkeypatch.setattr(nav, "_made", {})
    monkeypatch.setattr(nav, "_main_folder", lambda: "/app")
    first, second = nav.pages(), nav.pages()
    assert _CountingPage.made == len(nav.PAGES) == 12
    # st.navigation marks the page it returns on the object itself: sessions must not share one
    assert not {id(p) for p in first} & {id(p) for p in second}
    assert [p.url_path for p in first] == [p.url_path for p in second] == [u for _, _, _, u, _ in nav.PAGES]
    assert [p.url_path for p in nav.pages(with_upload=False)] == [p.url_path for p in first
                                                                   if p.url_path != "ladda-upp"]
    assert _CountingPage.made == 12


def test_pages_are_made_once_when_many_sessions_start_together(monkeypatch):
    _CountingPage.made = 0
    monkeypatch.setattr(st, "Page", _CountingPage)
    monkeypatch.setattr(nav, "_made", {})
    monkeypatch.setattr(nav, "_main_folder", lambda: "/app")
    threads = [threading.Thread(target=nav.pages) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _CountingPage.made == 12


def test_a_run_finds_the_current_build_by_its_link_and_follows_a_switch(tmp_path, monkeypatch):
    processed = tmp_path / "processed"
    for name in ("build-a", "build-b"):
        (processed / name).mkdir(parents=True)
        (processed / name / "observations.parquet").write_bytes(b"")
    monkeypatch.setattr(state.paths, "processed_dir", lambda: processed)
    monkeypatch.setattr(state, "_link_targets", {})
    assert state._current_build_quickly() is None  # no build yet
    os.symlink("build-a", processed / "current")
    assert state._current_build_quickly() == str((processed / "build-a").resolve())
    calls = []
    real = state.current_build
    monkeypatch.setattr(state, "current_build", lambda: calls.append(1))
    assert state._current_build_quickly() == str((processed / "build-a").resolve())
    assert not calls  # the same link text: no resolving
    monkeypatch.setattr(state, "current_build", real)
    os.symlink("build-b", processed / ".new")
    os.replace(processed / ".new", processed / "current")  # as build._switch_link does
    assert state._current_build_quickly() == str((processed / "build-b").resolve())


def test_a_current_folder_that_is_no_link_is_still_found(tmp_path, monkeypatch):
    processed = tmp_path / "processed"
    (processed / "current").mkdir(parents=True)  # e.g. copied without its link
    (processed / "current" / "observations.parquet").write_bytes(b"")
    monkeypatch.setattr(state.paths, "processed_dir", lambda: processed)
    monkeypatch.setattr(state, "_link_targets", {})
    assert state._current_build_quickly() == str((processed / "current").resolve())
