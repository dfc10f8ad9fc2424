"""Arbetsförmedlingen: the published monthly statistics workbook per kommun (xlsx).

The workbook is downloaded from the configured address ([af] url or --url) and read with
amnstats.ingest.read_table (title rows above the header are skipped and kept as the
preamble). For each configured sheet: a title row must contain `title_contains`, the area
column and the value columns (Kvinnor/Män/Totalt) must be there, exactly one row must match
each configured area ("0180 Stockholm" by its code, "Riket" by name), and shares written as
fractions (0.053) are scaled by the ingest Mapping's `values_are_fractions` — a share above 1
in a sheet said to hold fractions means the format changed, and stops the fetch.
The month comes from --period or from a title row ("januari 2024"); it is stored in the
fetch record so the build reads the workbook the same way every time.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import polars as pl

from .. import catalogue
from ..areas import canonical_area
from ..ingest import Mapping, Source, Wide, apply, read_table
from ..ingest.read import RawTable
from ..normalise import CANDIDATE_COLUMNS, parse_values
from ..periods import PeriodError, parse_period
from ..problems import InputError
from . import config as cfg
from .base import Fetched, call_entry, new_record, sha256, validate as validate_candidates
from .errors import ConfigError, FormatError
from .http import HttpClient, shared_limiter

SOURCE = "af"
NAME = "Arbetsförmedlingen"
WORKBOOK = "workbook.xlsx"
_MONTH_YEAR = re.compile(r"\b(januari|februari|mars|april|maj|juni|juli|augusti|september|oktober|november|december)"
                         r"\s+(\d{4})\b|\b(\d{4})-?M?(\d{2})\b", re.IGNORECASE)


def _client(sec: dict, client: HttpClient | None, url: str) -> HttpClient:
    if client is not None:
        return client
    host = urlsplit(url).hostname or "af"
    limiter = shared_limiter(host, int(sec.get("max_calls", 5)), float(sec.get("per_seconds", 10)))
    return HttpClient(NAME, limiter=limiter, **cfg.client_options(sec))


def _read(data: bytes, sheet) -> RawTable:
    try:
        return read_table(data, "arbetsformedlingen.xlsx", sheet=sheet)
    except InputError as exc:
        raise FormatError(f"Arbetsförmedlingens arbetsbok gick inte att läsa (blad {sheet!r}): "
                          f"{exc.problems[0].message}") from None


def period_from_titles(lines: list[str]) -> str | None:
    """The one month named in the title rows ('Januari 2024' -> '2024-01'), else None."""
    found = set()
    for line in lines:
        for m in _MONTH_YEAR.finditer(line):
            text = f"{m[1]} {m[2]}" if m[1] else f"{m[3]}-{m[4]}"
            try:
                p = parse_period(text)
            except PeriodError:
                continue
            if p.type == "month":
                found.add(p.label)
    return found.pop() if len(found) == 1 else None


def _check_config(sec: dict) -> None:
    cfg.need(sec, "area_column", str, "[af]")
    areas = cfg.need(sec, "areas", dict, "[af]")
    for key, area in areas.items():
        if canonical_area(area) is None:
            raise ConfigError(f"[af] areas: området '{area}' ({key}) finns inte i katalogen")
    sheets = cfg.need(sec, "sheets", list, "[af]")
    if not sheets:
        raise ConfigError("[[af.sheets]] saknas: ange minst ett blad")
    for i, s in enumerate(sheets, start=1):
        where = f"[[af.sheets]] nr {i}"
        series, measure = cfg.need(s, "series", str, where), cfg.need(s, "measure", str, where)
        m = catalogue.measures().get((series, measure))
        if m is None:
            raise ConfigError(f"{where}: måttet {series}/{measure} finns inte i katalogen")
        if s.get("fractions") and not m.is_share:
            raise ConfigError(f"{where}: fractions = true gäller bara andelar, inte {measure} ({m.unit})")
        cols = cfg.need(s, "columns", dict, where)
        bad = [g for g in cols.values() if g not in catalogue.GENDERS]
        if bad:
            raise ConfigError(f"{where}: columns ska ange kvinnor, män eller totalt (inte {', '.join(bad)})")


def fetch(config: dict | None = None, *, url: str | None = None, period: str | None = None,
          client: HttpClient | None = None) -> Fetched:
    config = config if config is not None else cfg.load()
    sec = cfg.section(config, SOURCE)
    url = url or sec.get("url") or ""
    if not url:
        raise ConfigError("Ingen adress till Arbetsförmedlingens arbetsbok: ange --url eller [af] url i "
                          "config/connectors.toml")
    _check_config(sec)
    if period:
        try:
            period = parse_period(period).label
        except PeriodError as exc:
            raise ConfigError(f"--period: {exc}") from None
    client = _client(sec, client, url)
    call = client.get(url, None)
    data = call.body
    if not data.startswith(b"PK\x03\x04"):
        raise FormatError(f"Svaret från {NAME} är ingen Excelarbetsbok (xlsx) – adressen kan ha ändrats "
                          f"({call.url})")
    if period is None:
        first = _read(data, sec["sheets"][0].get("sheet"))
        period = period_from_titles(first.preamble)
        if period is None:
            raise FormatError("Vilken månad arbetsboken gäller gick inte att läsa ur rubrikraderna; ange --period "
                              "(t.ex. 2024-01)")
    files = {WORKBOOK: data}
    mapping = {"period": period, "area_column": sec["area_column"], "areas": dict(sec["areas"]),
               "title_contains": sec.get("title_contains", ""), "sheets": [dict(s) for s in sec["sheets"]]}
    record = new_record(
        SOURCE, scope=f"af:{period}", title=f"Arbetsförmedlingen, månadsstatistik per kommun, {period}",
        producer=sec.get("producer", NAME), licence=sec.get("licence", ""), mapping=mapping,
        calls=[call_entry(call, WORKBOOK, "data")], files=files,
    )
    cands = candidates(record, files)
    return Fetched(record, files, cands, validate_candidates(cands, NAME), [f"Månad: {period}."])


def _match_rows(table: RawTable, column: str, areas: dict[str, str], where: str) -> list[tuple[int, str]]:
    """(row index, canonical area) for each configured area: the cell equals the key or
    begins with it followed by a space ('0180 Stockholm')."""
    cells = [" ".join((c or "").split()) for c in table.cells[column].to_list()]
    out = []
    for key, area in areas.items():
        k = key.casefold()
        hits = [i for i, c in enumerate(cells) if c.casefold() == k or c.casefold().startswith(k + " ")]
        if len(hits) != 1:
            raise FormatError(f"{where}: {'ingen rad' if not hits else f'{len(hits)} rader'} för '{key}' i kolumnen "
                              f"'{column}' – arbetsbokens format kan ha ändrats")
        out.append((hits[0], canonical_area(area) or area))
    return out


def candidates(record: dict, files: dict[str, bytes]) -> pl.DataFrame:
    mp = record["mapping"]
    data = files[WORKBOOK]
    date_ = record["fetched_at"][:10]
    url = record["calls"][0]["url"]
    raw_file = f"api/{SOURCE}/{record['id']}/{WORKBOOK}"
    file_hash = sha256(data)
    frames = []
    for s in mp["sheets"]:
        sheet = s.get("sheet")
        where = f"{NAME}s arbetsbok, blad '{sheet}'"
        table = _read(data, sheet)
        want = (mp.get("title_contains") or "").casefold()
        if want and not any(want in line.casefold() for line in table.preamble):
            raise FormatError(f"{where}: ingen rubrikrad innehåller '{mp['title_contains']}' – fel arbetsbok eller "
                              "ändrat format")
        needed = [mp["area_column"], *s["columns"]]
        missing = [c for c in needed if c not in table.columns]
        if missing:
            raise FormatError(f"{where}: kolumnerna {', '.join(missing)} saknas "
                              f"(bladet har {', '.join(table.columns)})")
        rows = _match_rows(table, mp["area_column"], mp["areas"], where)
        idx = [i for i, _ in rows]
        value_cols = list(s["columns"])
        cells = table.cells.select(pl.col(value_cols).cast(pl.String))[idx].with_columns(
            pl.Series(mp["area_column"], [a for _, a in rows], dtype=pl.String))
        if s.get("fractions"):
            value, _status, _bad = parse_values(pl.col("v"))
            vals = cells.select(pl.concat_list(value_cols).alias("v")).explode("v").select(value.alias("x"))["x"]
            if (vals.drop_nulls() > 1).any():
                raise FormatError(f"{where}: andelarna är inte skrivna som bråk (t.ex. 5,3 i stället för "
                                  "0,053) – arbetsbokens format har ändrats")
        sub = RawTable(filename=table.filename, cells=cells.select(mp["area_column"], *value_cols),
                       headers=[(mp["area_column"],), *[(s["columns"][c],) for c in value_cols]],
                       row_numbers=table.row_numbers.gather(idx), header_rows=table.header_rows)
        mapping = Mapping(series=s["series"], measure=s["measure"], period=Source.fixed(mp["period"]),
                          area=Source.column(mp["area_column"]), group=Source.fixed(s.get("group", "")),
                          wide=Wide(value_cols, ["gender"]), values_are_fractions=bool(s.get("fractions")))
        try:
            cand = apply(sub, mapping, dataset_id=record["id"], raw_file=raw_file, file_hash=file_hash)
        except InputError as exc:
            raise FormatError(f"{where}: {exc.problems[0].message}") from None
        frames.append(cand.with_columns(
            source=pl.lit(f"{url}#blad={sheet};rad=") + pl.col("raw_row").cast(pl.String) + pl.lit(";kolumn=")
            + pl.col("column"),
            source_label=pl.lit(f"{NAME}, månadsstatistik per kommun (blad {sheet}), hämtat {date_}"),
            raw_file=pl.lit(raw_file),
        ).select(CANDIDATE_COLUMNS))
    return pl.concat(frames, how="vertical")
