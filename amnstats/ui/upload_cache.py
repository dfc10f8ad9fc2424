"""The upload page's prepared file, kept between the reruns of one session.

Every click on the upload page reruns it. The page used to read, screen and validate the file
twice on every rerun (the first look that detects a mapping, then the analyst's mapping): seconds
for a large export, on each click. This keeps the first look and the latest mapping's result
while the file and the mapping stay the same, and nothing once the file is removed from the
uploader or the analyst leaves the page (app.py).
"""

from __future__ import annotations

import json

import streamlit as st

from ..ingest import Mapping, Prepared, prepare

KEY = "_upload_prepared"


def has_first_look(file_id: str, sheet: str | None = None) -> bool:
    cache = st.session_state.get(KEY)
    return cache is not None and cache.get("file") == file_id and sheet in cache.get("first", {})


def first_look(file_id: str, data: bytes, filename: str, sheet: str | None = None, **options) -> Prepared:
    """prepare(data, filename) with a detected mapping; once per uploaded file and sheet (None:
    the one read_table picks). The other sheet's first look is let go when another is chosen."""
    cache = _cache(file_id)
    looks = cache.setdefault("first", {})
    if sheet not in looks:
        for other in [k for k in looks if k is not None]:  # the default look stays: it lists the sheets
            del looks[other]
        looks[sheet] = prepare(data, filename, sheet=sheet, **options)
    return looks[sheet]


def with_mapping(file_id: str, data: bytes, filename: str, mapping: Mapping, sheet: str | None = None,
                 **options) -> Prepared:
    """prepare(data, filename, mapping); again only when the mapping or sheet changed. The first
    look's table is used, not read again: one copy of a large file's cells, and no second read."""
    cache = _cache(file_id)
    key = json.dumps([sheet, mapping_key(mapping)])
    if cache.get("key") != key:
        cache.pop("key", None)
        cache.pop("result", None)  # not the old result and the new one at once
        if (first := cache.get("first", {}).get(sheet)) is not None and first.table is not None:
            options = {**options, "table": first.table}
        result = prepare(data, filename, mapping, sheet=sheet, **options)
        cache["key"], cache["result"] = key, result  # only once prepare() has returned
    return cache["result"]


def mapping_key(mapping: Mapping) -> str:
    return json.dumps(mapping.to_dict(), sort_keys=True, ensure_ascii=False, default=str)


def forget() -> None:
    """No file in the uploader, or the analyst on another page: let its tables and observations go."""
    st.session_state.pop(KEY, None)


def _cache(file_id: str) -> dict:
    cache = st.session_state.get(KEY)
    if cache is None or cache.get("file") != file_id:
        cache = {"file": file_id}  # another file: the previous one's work is dropped
        st.session_state[KEY] = cache
    return cache
