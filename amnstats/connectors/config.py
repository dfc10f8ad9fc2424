"""config/connectors.toml: read, checked, and (for Kolada KPI ids) updated in place.

AMNSTATS_CONNECTORS_CONFIG points at another file (tests use a copy). The file is plain
TOML; `set_kolada_id` edits only the `id = ...` line of one [[kolada.kpi]] block (or appends
a block), so the comments an analyst wrote stay.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

from ..paths import PROJECT_DIR
from .errors import ConfigError

SOURCES = ("scb", "kolada", "af")
SOURCE_NAMES = {"scb": "SCB", "kolada": "Kolada", "af": "Arbetsförmedlingen"}


def config_path() -> Path:
    return Path(os.environ.get("AMNSTATS_CONNECTORS_CONFIG", PROJECT_DIR / "config" / "connectors.toml"))


def load(path: Path | None = None) -> dict:
    path = path or config_path()
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"Inställningsfilen {path} finns inte") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Inställningsfilen {path} är inte giltig TOML: {exc}") from None


def section(config: dict, source: str) -> dict:
    sec = config.get(source)
    if not isinstance(sec, dict):
        raise ConfigError(f"Avsnittet [{source}] saknas i {config_path().name}")
    return sec


def need(sec: dict, key: str, kind: type | tuple[type, ...], where: str):
    value = sec.get(key)
    if value is None or not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float)):
        expected = kind.__name__ if isinstance(kind, type) else " eller ".join(k.__name__ for k in kind)
        raise ConfigError(f"{where}: inställningen '{key}' saknas eller är inte {expected}")
    return value


def client_options(sec: dict) -> dict:
    """Timeouts and retry settings shared by every connector."""
    return {
        "connect_timeout": float(sec.get("connect_timeout", 5)),
        "read_timeout": float(sec.get("read_timeout", 60)),
        "retries": int(sec.get("retries", 3)),
        "backoff": float(sec.get("backoff_seconds", 2)),
    }


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def set_kolada_id(title: str, kpi_id: str, *, path: Path | None = None, series: str = "", measure: str = "",
                  group: str | None = None) -> str:
    """Record `kpi_id` for the [[kolada.kpi]] block with this exact title; a new block is
    appended when there is none (then series and measure are required). Returns 'updated',
    'added' or 'unchanged'."""
    path = path or config_path()
    text = path.read_text(encoding="utf-8")
    blocks = list(re.finditer(r"(?ms)^\[\[kolada\.kpi\]\]\s*\n(.*?)(?=^\[|\Z)", text))
    norm = " ".join(title.split()).casefold()
    for block in blocks:
        body = block.group(1)
        try:
            entry = tomllib.loads(body)
        except tomllib.TOMLDecodeError:
            continue
        if " ".join(str(entry.get("title", "")).split()).casefold() != norm:
            continue
        if entry.get("id") == kpi_id and not series and not measure and group is None:
            return "unchanged"
        new_body = body
        for key, value in (("id", kpi_id), ("series", series), ("measure", measure), ("group", group)):
            if value is None or (key != "id" and not value):
                continue
            line = f"{key} = {_toml_string(value)}"
            if re.search(rf"(?m)^{key}\s*=.*$", new_body):
                new_body = re.sub(rf"(?m)^{key}\s*=.*$", lambda _m: line, new_body, count=1)
            else:
                new_body = new_body.rstrip("\n") + f"\n{line}\n" + ("\n" if new_body.endswith("\n\n") else "")
        text = text[:block.start(1)] + new_body + text[block.end(1):]
        _write(path, text)
        return "updated"
    if not series or not measure:
        raise ConfigError(f"Nyckeltalet '{title}' finns inte i [[kolada.kpi]]; ange --series och --measure för att "
                          "lägga till det")
    block = (f"\n[[kolada.kpi]]\ntitle = {_toml_string(title)}\nid = {_toml_string(kpi_id)}\n"
             f"series = {_toml_string(series)}\nmeasure = {_toml_string(measure)}\n"
             f"group = {_toml_string(group or '')}\n")
    _write(path, text.rstrip("\n") + "\n" + block)
    return "added"


def _write(path: Path, text: str) -> None:
    tomllib.loads(text)  # never leave a file that does not parse
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
