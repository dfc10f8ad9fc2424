"""Named column mappings ('mallar'): next month's export of the same kind is one click.

Stored as data/templates/<slug>.json; a template is offered for a file whose layout
signature (header words with periods abstracted) matches the one it was saved from."""

from __future__ import annotations

import json
import os
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from . import paths
from .ingest import Mapping, RawTable, layout_signature


def templates_dir() -> Path:
    return paths.data_dir() / "templates"


def _slug(name: str) -> str:
    s = name.strip().lower()
    for a, b in (("å", "a"), ("ä", "a"), ("ö", "o")):
        s = s.replace(a, b)
    return re.sub(r"[^a-z0-9]+", "-", s).strip("-")[:60] or "mall"


def save(name: str, mapping: Mapping) -> Path:
    if not name.strip():
        raise ValueError("mallen behöver ett namn")
    path = templates_dir() / f"{_slug(name)}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"name": name.strip(), "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "mapping": mapping.to_dict()}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(body, fh, ensure_ascii=False, indent=2)
    os.replace(tmp, path)
    return path


def all_templates() -> dict[str, Mapping]:
    out = {}
    if templates_dir().exists():
        for p in sorted(templates_dir().glob("*.json")):
            try:
                body = json.loads(p.read_text(encoding="utf-8"))
                out[body["name"]] = Mapping.from_dict(body["mapping"])
            except (json.JSONDecodeError, KeyError):
                continue
    return out


def matching(table: RawTable) -> dict[str, Mapping]:
    sig = layout_signature(table)
    return {name: m for name, m in all_templates().items() if m.signature == sig}
