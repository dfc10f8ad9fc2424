"""SCB, Statistikdatabasen through PxWebApi v2 (https://statistikdatabasen.scb.se/api/v2).

For every query in [scb.queries.*] of config/connectors.toml:
  1. GET /tables/{table}/metadata: the table's variables and codes (JSON-stat 2.0). The
     query is checked against it (`validate`): every configured variable and code must
     exist, every content code's label and unit must say what the config expects, and
     every variable SCB does not allow to leave out must be selected. Otherwise a Swedish
     error says what differs and nothing is fetched.
  2. The selection, made explicit (the time codes resolved from the metadata), is split so
     that no call asks for more than `max_cells` values (`split_selection`).
  3. GET /tables/{table}/data?valueCodes[VAR]=a,b,...&outputFormat=json-stat2 (or csv) per
     part, at most `max_calls` calls per `per_seconds` (RateLimiter).
  4. Each answer is checked against what was asked (variables, codes) and turned into
     candidate rows: area, gender, group and measure through the config's code tables,
     period from the time code (2024M01 -> 2024-01), '..' and other symbols with no value
     as suppressed. `source` is the call's URL; `source_label` "SCB, tabell X, hämtat D".
"""

from __future__ import annotations

import math
import re
from urllib.parse import urlsplit

import polars as pl

from .. import catalogue
from ..areas import canonical_area
from ..ingest.read import read_table
from ..problems import InputError
from . import config as cfg
from . import jsonstat
from .base import Fetched, call_entry, frame, new_record, number_text, validate as validate_candidates
from .errors import ConfigError, FormatError
from .http import Call, HttpClient, RateLimiter, shared_limiter

SOURCE = "scb"
NAME = "SCB"


# ---------------------------------------------------------------- query splitting

def n_cells(selection: dict[str, list[str]]) -> int:
    return math.prod(len(v) for v in selection.values())


def split_selection(selection: dict[str, list[str]], max_cells: int, order: list[str] | None = None) \
        -> list[dict[str, list[str]]]:
    """Parts of `selection` (variable -> codes) whose cells (the product of the number of
    codes) are each at most `max_cells`, together covering every cell exactly once. The
    variables in `order` (e.g. time first) are split first, then the longest."""
    if max_cells < 1:
        raise ValueError("max_cells must be >= 1")
    if n_cells(selection) <= max_cells:
        return [selection]
    preferred = [v for v in (order or []) if v in selection]
    rest = sorted((v for v in selection if v not in preferred), key=lambda v: -len(selection[v]))
    var = next((v for v in preferred + rest if len(selection[v]) > 1), None)
    if var is None:  # one cell per variable cannot exceed max_cells >= 1
        return [selection]
    others = n_cells(selection) // len(selection[var])
    if others <= max_cells:
        step = max_cells // others
        codes = selection[var]
        return [{**selection, var: codes[i:i + step]} for i in range(0, len(codes), step)]
    parts: list[dict[str, list[str]]] = []
    for code in selection[var]:
        parts += split_selection({**selection, var: [code]}, max_cells, order)
    return parts


# ---------------------------------------------------------------- configuration

def _queries(sec: dict, only: list[str] | None) -> dict[str, dict]:
    queries = sec.get("queries")
    if not isinstance(queries, dict) or not queries:
        raise ConfigError("[scb.queries] saknas i inställningsfilen: ange minst en tabell att hämta")
    if only:
        unknown = [q for q in only if q not in queries]
        if unknown:
            raise ConfigError(f"Okänd SCB-fråga: {', '.join(unknown)} (finns: {', '.join(queries)})")
        queries = {q: queries[q] for q in only}
    return queries


def _check_query_config(name: str, q: dict) -> None:
    where = f"[scb.queries.{name}]"
    cfg.need(q, "table", str, where)
    selection = cfg.need(q, "selection", dict, where)
    mp = cfg.need(q, "map", dict, f"{where}.map")
    time_var = cfg.need(q, "time_variable", str, where)
    if time_var in selection:
        raise ConfigError(f"{where}: tiden ({time_var}) väljs med time_from/time_last, inte i selection")
    if "time_from" not in q and "time_last" not in q:
        raise ConfigError(f"{where}: ange time_from (t.ex. \"2020M01\") eller time_last (antal perioder)")
    for var, codes in selection.items():
        if not isinstance(codes, list) or not codes or not all(isinstance(c, str) for c in codes):
            raise ConfigError(f"{where}.selection: {var} ska vara en lista med koder (text)")
    roles = {"area_variable": "areas", "gender_variable": "genders", "content_variable": "contents"}
    for role, table in roles.items():
        var = cfg.need(mp, role, str, f"{where}.map")
        if var not in selection:
            raise ConfigError(f"{where}.map: {role} = {var} finns inte i selection")
        mapping = cfg.need(mp, table, dict, f"{where}.map")
        missing = [c for c in selection[var] if c not in mapping]
        if missing:
            raise ConfigError(f"{where}.map.{table}: koderna {', '.join(missing)} saknar översättning")
    for var in mp.get("group_variables", []):
        table = (mp.get("groups") or {}).get(var)
        if var not in selection or not isinstance(table, dict):
            raise ConfigError(f"{where}.map: gruppvariabeln {var} saknas i selection eller i map.groups")
        missing = [c for c in selection[var] if c not in table]
        if missing:
            raise ConfigError(f"{where}.map.groups.{var}: koderna {', '.join(missing)} saknar text")
    used = {mp["area_variable"], mp["gender_variable"], mp["content_variable"], *mp.get("group_variables", [])}
    for var, codes in selection.items():
        if var not in used and len(codes) != 1:
            raise ConfigError(f"{where}: {var} används inte i map och får då bara ha en kod (har {len(codes)})")
    for code, area in mp["areas"].items():
        if canonical_area(area) is None:
            raise ConfigError(f"{where}.map.areas: området '{area}' ({code}) finns inte i katalogen")
    series = q.get("series") or ""
    for code, content in mp["contents"].items():
        measure = cfg.need(content, "measure", str, f"{where}.map.contents.{code}")
        m = catalogue.measures().get((series, measure))
        if m is None:
            raise ConfigError(f"{where}.map.contents.{code}: måttet {series}/{measure} finns inte i katalogen")
        unit = content.get("unit", "")
        if unit and catalogue.UNITS.get(m.unit) != unit and m.unit != unit:
            raise ConfigError(f"{where}.map.contents.{code}: enheten '{unit}' stämmer inte med katalogens "
                              f"'{m.unit}' för {measure}")


def _norm(text: str) -> str:
    return " ".join(str(text).replace("\u2013", "-").replace("\u2014", "-").split()).casefold()


def _show_codes(dim: jsonstat.Dimension, limit: int = 12) -> str:
    shown = ", ".join(f"'{c}' ({dim.labels.get(c, c)})" for c in dim.codes[:limit])
    return shown + (f" … ({len(dim.codes)} koder)" if len(dim.codes) > limit else "")


def resolve(name: str, q: dict, meta: jsonstat.Dataset, *, time_from: str | None = None,
            time_last: int | None = None) -> dict[str, list[str]]:
    """The query made explicit against the table's metadata, or a Swedish error naming every
    difference. Returns variable -> codes, the time variable included."""
    table = q["table"]
    where = f"SCB-tabellen {table} (fråga '{name}')"
    problems: list[str] = []
    selection: dict[str, list[str]] = {k: list(v) for k, v in q["selection"].items()}
    time_var = q["time_variable"]
    for var in [*selection, time_var]:
        if var not in meta.dimensions:
            problems.append(f"variabeln '{var}' finns inte (tabellens variabler: {', '.join(meta.ids)})")
    for var, codes in selection.items():
        dim = meta.dimensions.get(var)
        if dim is None:
            continue
        missing = [c for c in codes if c not in dim.codes]
        if missing:
            problems.append(f"{var} saknar {', '.join(repr(c) for c in missing)}; finns: {_show_codes(dim)}")
    for var in meta.ids:
        dim = meta.dimensions[var]
        if var not in selection and var != time_var and dim.elimination is not True:
            problems.append(f"variabeln '{var}' måste väljas (SCB tillåter inte att den utelämnas)")
    content_var = q["map"]["content_variable"]
    dim = meta.dimensions.get(content_var)
    if dim is not None:
        for code, content in q["map"]["contents"].items():
            if code not in dim.codes:
                continue
            label = dim.labels.get(code, "")
            if content.get("label") and _norm(content["label"]) not in _norm(label):
                problems.append(f"{content_var} '{code}' heter '{label}', inte '{content['label']}' som väntat")
            unit = (dim.units.get(code) or {}).get("base") if isinstance(dim.units.get(code), dict) else None
            want = content.get("unit", "")
            if unit and want and not (_norm(want) in _norm(unit) or (want == "procent" and "%" in unit)):
                problems.append(f"{content_var} '{code}' har enheten '{unit}', inte '{want}' som väntat")
    tdim = meta.dimensions.get(time_var)
    if tdim is not None:
        pattern = re.compile(q.get("period_pattern") or r".+")
        odd = [c for c in tdim.codes if not pattern.fullmatch(c)]
        if odd:
            problems.append(f"tidskoderna har ändrat form ({', '.join(odd[:3])} passar inte {pattern.pattern})")
        codes = sorted(tdim.codes)
        start = time_from if time_from is not None else (None if time_last else q.get("time_from"))
        last = time_last if time_last is not None else (None if time_from else q.get("time_last"))
        if start:
            codes = [c for c in codes if c >= start]
        if last:
            codes = codes[-int(last):]
        if not codes:
            problems.append(f"inga perioder att hämta från {start} (tabellen har {tdim.codes[0]}–{tdim.codes[-1]})")
        selection[time_var] = codes
    if problems:
        raise FormatError(f"{where} stämmer inte med inställningarna: " + "; ".join(problems) +
                          ". Tabellen kan ha ändrats hos SCB; rätta config/connectors.toml efter "
                          "`python -m amnstats fetch scb --validate`")
    return selection


# ---------------------------------------------------------------- fetching

def _client(sec: dict, client: HttpClient | None) -> HttpClient:
    if client is not None:
        return client
    host = urlsplit(sec.get("base_url", "")).hostname or "scb"
    limiter = shared_limiter(host, int(sec.get("max_calls", 10)), float(sec.get("per_seconds", 10)))
    return HttpClient(NAME, limiter=limiter, **cfg.client_options(sec))


def _data_params(sec: dict, q: dict, part: dict[str, list[str]]) -> dict:
    params = {"lang": sec.get("lang", "sv"), "outputFormat": sec.get("format", "json-stat2")}
    if params["outputFormat"] == "csv":
        stub = [v for v in part if v != q["time_variable"]]
        params.update(outputFormatParams="separatorsemicolon,usecodes", stub=",".join(stub),
                      heading=q["time_variable"])
    for var, codes in part.items():
        params[f"valueCodes[{var}]"] = ",".join(codes)
    return params


def metadata(sec: dict, name: str, q: dict, client: HttpClient):
    call = client.get(f"{sec['base_url'].rstrip('/')}/tables/{q['table']}/metadata", {"lang": sec.get("lang", "sv")},
                      accept="application/json")
    return call, jsonstat.parse(call.json(NAME), f"SCB, metadata för {q['table']}", metadata_only=True)


def validate(config: dict | None = None, *, queries: list[str] | None = None, client: HttpClient | None = None) \
        -> list[str]:
    """Check every query against its table's metadata; one Swedish line per query when all is
    well, FormatError/ConfigError otherwise."""
    config = config if config is not None else cfg.load()
    sec = cfg.section(config, SOURCE)
    client = _client(sec, client)
    out = []
    for name, q in _queries(sec, queries).items():
        q = {**q, "series": q.get("series") or sec.get("series", "")}
        _check_query_config(name, q)
        _call, meta = metadata(sec, name, q, client)
        selection = resolve(name, q, meta)
        t = selection[q["time_variable"]]
        out.append(f"{name}: tabell {q['table']} har alla {len(selection)} variabler och koder som behövs; "
                   f"{n_cells(selection)} värden, perioder {t[0]}–{t[-1]}.")
    return out


def fetch(config: dict | None = None, *, queries: list[str] | None = None, client: HttpClient | None = None,
          time_from: str | None = None, time_last: int | None = None) -> Fetched:
    """Fetch, check and convert; nothing is written (see amnstats.connectors.commit)."""
    config = config if config is not None else cfg.load()
    sec = cfg.section(config, SOURCE)
    cfg.need(sec, "base_url", str, "[scb]")
    fmt = sec.get("format", "json-stat2")
    if fmt not in ("json-stat2", "csv"):
        raise ConfigError(f"[scb] format = '{fmt}': välj json-stat2 eller csv")
    max_cells = int(sec.get("max_cells", 150_000))
    client = _client(sec, client)
    selected = _queries(sec, queries)
    files: dict[str, bytes] = {}
    calls: list[dict] = []
    mapping: dict = {"format": fmt, "queries": {}}
    notes: list[str] = []
    for name, q in selected.items():
        q = {**q, "series": q.get("series") or sec.get("series", "")}
        _check_query_config(name, q)
        call, meta = metadata(sec, name, q, client)
        fname = f"{name}-metadata.json"
        files[fname] = call.body
        calls.append(call_entry(call, fname, "metadata", query=name))
        selection = resolve(name, q, meta, time_from=time_from, time_last=time_last)
        order = [q["time_variable"]]
        parts = split_selection(selection, max_cells, order)
        url = f"{sec['base_url'].rstrip('/')}/tables/{q['table']}/data"
        for i, part in enumerate(parts, start=1):
            data_call = client.get(url, _data_params(sec, q, part),
                                   accept="text/csv" if fmt == "csv" else "application/json")
            fname = f"{name}-data-{i:03d}.{'csv' if fmt == 'csv' else 'json'}"
            files[fname] = data_call.body
            calls.append(call_entry(data_call, fname, "data", query=name, selection=part))
        mapping["queries"][name] = {
            "title": q.get("title", ""), "table": q["table"], "series": q["series"],
            "time_variable": q["time_variable"],
            "selection": selection, "map": q["map"],
        }
        notes.append(f"{name}: tabell {q['table']}, {n_cells(selection)} värden i {len(parts)} anrop.")
        notes += [f"SCB: {n}" for n in meta.notes[:3]]
    names = sorted(selected)
    record = new_record(
        SOURCE, scope=f"scb:{'+'.join(names)}",
        title="SCB via API: " + "; ".join(selected[n].get("title") or selected[n]["table"] for n in names),
        producer=sec.get("producer", "Statistiska centralbyrån (SCB)"),
        licence=sec.get("licence", "CC0 1.0 (SCB öppna data). Källa: SCB."),
        mapping=mapping, calls=calls, files=files,
    )
    cands = candidates(record, files)
    return Fetched(record, files, cands, validate_candidates(cands, NAME), notes)


# ---------------------------------------------------------------- responses -> candidates

def _cells_json(body: bytes, call: dict, q: dict):
    doc = Call(call["url"], call["params"], call["status"], call.get("content_type", ""), body).json(NAME)
    ds = jsonstat.parse(doc, f"SCB, {call['file']}")
    asked = call["selection"]
    if set(ds.ids) != set(asked):
        raise FormatError(f"SCB:s svar ({call['file']}) har variablerna {', '.join(ds.ids)} men frågan gällde "
                          f"{', '.join(asked)}")
    for var in ds.ids:
        extra = [c for c in ds.dimensions[var].codes if c not in asked[var]]
        if extra:
            raise FormatError(f"SCB:s svar ({call['file']}) innehåller koder som inte efterfrågades: {var} "
                              f"{', '.join(extra[:5])}")
    for cell in ds.cells():
        yield dict(zip(ds.ids, cell.codes)), cell.value, cell.status, cell.index


def _cells_csv(body: bytes, call: dict, q: dict):
    asked = call["selection"]
    time_var = q["time_variable"]
    stub = call["params"]["stub"].split(",")  # the order asked for (fetch.json sorts its keys)
    if sorted([*stub, time_var]) != sorted(asked):
        raise FormatError(f"SCB:s CSV-fråga ({call['file']}) har en stub som inte stämmer med urvalet")
    try:
        table = read_table(body, call["file"])
    except InputError as exc:
        raise FormatError(f"SCB:s CSV-svar ({call['file']}) gick inte att läsa: {exc.problems[0].message}") from None
    columns = table.columns
    if len(columns) != len(stub) + len(asked[time_var]):
        raise FormatError(f"SCB:s CSV-svar ({call['file']}) har {len(columns)} kolumner; frågan ger "
                          f"{len(stub)} + {len(asked[time_var])}")
    heading = [" ".join(h for h in table.header(c) if h) for c in columns[len(stub):]]
    if heading != asked[time_var]:
        raise FormatError(f"SCB:s CSV-svar ({call['file']}) har perioderna {', '.join(heading[:4])} … i rubriken, "
                          f"inte de efterfrågade {', '.join(asked[time_var][:4])} …")
    rows = table.cells.rows()
    index = 0
    for r_i, row in enumerate(rows):
        codes = dict(zip(stub, row[:len(stub)]))
        for var, code in codes.items():
            if code not in asked[var]:
                raise FormatError(f"SCB:s CSV-svar ({call['file']}, rad {table.row_numbers[r_i]}) har koden "
                                  f"'{code}' för {var}, som inte efterfrågades")
        for t_i, period in enumerate(heading):
            text = (row[len(stub) + t_i] or "").strip()
            yield {**codes, time_var: period}, text, "", index
            index += 1


def candidates(record: dict, files: dict[str, bytes]) -> pl.DataFrame:
    """Candidate rows from stored SCB responses (used by fetch and by the build)."""
    fmt = record["mapping"].get("format", "json-stat2")
    date = record["fetched_at"][:10]
    rows: list[dict] = []
    for call in record["calls"]:
        if call["role"] != "data":
            continue
        q = record["mapping"]["queries"][call["query"]]
        mp = q["map"]
        group_vars = mp.get("group_variables", [])
        label = f"SCB, tabell {q['table']}, hämtat {date}"
        raw_file = f"api/{SOURCE}/{record['id']}/{call['file']}"
        cells = _cells_csv if fmt == "csv" else _cells_json
        for codes, value, status, index in cells(files[call["file"]], call, q):
            content = mp["contents"].get(codes[mp["content_variable"]])
            if content is None:
                raise FormatError(f"SCB:s svar har innehållskoden '{codes[mp['content_variable']]}' som saknas i map")
            group = ", ".join(g for g in (mp["groups"][v][codes[v]] for v in group_vars) if g)
            if isinstance(value, str):  # CSV: text as printed, markers parsed by normalise()
                value_text, status_out, note = value, "", ""
            elif value is None:
                value_text, status_out = "", "suppressed" if status else "missing"
                note = f"SCB:s markering '{status}'" if status else ""
            else:
                value_text, status_out = number_text(value), ""
                note = f"SCB:s markering '{status}'" if status else ""
            rows.append({
                "series": q["series"], "measure": content["measure"], "period": codes[q["time_variable"]],
                "gender": mp["genders"][codes[mp["gender_variable"]]], "area": mp["areas"][codes[mp["area_variable"]]],
                "group": group, "value_text": value_text, "status": status_out, "kind": "utfall",
                "target_setter": "", "dataset": record["id"], "source": f"{call['url']}#cell={index}",
                "source_label": label, "note": note, "raw_file": raw_file, "raw_row": index,
            })
    return frame(rows)


__all__ = ["RateLimiter", "candidates", "fetch", "resolve", "split_selection", "n_cells", "validate"]
