"""Kolada API v3 (https://api.kolada.se/v3): KPIs for Stockholm (0180) and riket (0000) by
gender (T/K/M), per year.

KPI ids are never guessed: each [[kolada.kpi]] block in config/connectors.toml names the
KPI by its exact Kolada title, and `lookup(title)` (CLI: `fetch kolada --lookup "title"`)
searches GET /kpi?title=... and records the id only when exactly one KPI has that title.
Before data is fetched, GET /kpi/{id} must still give that title (an id reused for another
KPI stops the fetch). Data: GET /data/kpi/{id}/municipality/0180,0000/year/2019,...,
following `next_page` until there is none. Kolada's terms require the attribution
"Källa: Kolada", which every value's source_label carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import urljoin, urlsplit

import polars as pl

from .. import catalogue
from ..areas import canonical_area
from . import config as cfg
from .base import Fetched, call_entry, frame, new_record, number_text, validate as validate_candidates
from .errors import ConfigError, FormatError
from .http import Call, HttpClient, shared_limiter

SOURCE = "kolada"
NAME = "Kolada"
GENDERS = {"T": "totalt", "K": "kvinnor", "M": "män"}
ATTRIBUTION = "Källa: Kolada"


def _norm(text: str) -> str:
    return " ".join(str(text).split()).casefold()


def _client(sec: dict, client: HttpClient | None) -> HttpClient:
    if client is not None:
        return client
    host = urlsplit(sec.get("base_url", "")).hostname or "kolada"
    limiter = shared_limiter(host, int(sec.get("max_calls", 10)), float(sec.get("per_seconds", 10)))
    return HttpClient(NAME, limiter=limiter, **cfg.client_options(sec))


def _pages(client: HttpClient, url: str, params: dict | None, max_pages: int, what: str):
    """Every page of a Kolada list answer: (call, document), following next_page."""
    seen: set[str] = set()
    next_url: str | None = url
    for _ in range(max_pages):
        call = client.get(next_url, params, accept="application/json")
        doc = call.json(NAME)
        if not isinstance(doc, dict) or not isinstance(doc.get("values"), list):
            raise FormatError(f"Koladas svar på {what} har inte listan 'values' som väntat ({call.url})")
        yield call, doc
        nxt = doc.get("next_page")
        if not nxt:
            return
        if not isinstance(nxt, str):
            raise FormatError(f"Koladas 'next_page' är ingen adress ({nxt!r})")
        next_url, params = urljoin(call.url, nxt), None
        if next_url in seen:
            raise FormatError(f"Kolada pekar på samma sida igen ({next_url})")
        seen.add(next_url)
    raise FormatError(f"Kolada gav fler än {max_pages} sidor för {what}; höj max_pages i [kolada] om det stämmer")


# ---------------------------------------------------------------- lookup by title

@dataclass
class LookupResult:
    title: str
    hits: list[dict]          # every KPI the search returned: {id, title}
    exact: list[dict]         # those whose title is exactly `title`
    action: str               # 'updated', 'added', 'unchanged' or '' (nothing written)

    def message(self) -> str:
        if self.action:
            kpi = self.exact[0]
            verb = {"updated": "sparat", "added": "lagt till", "unchanged": "redan sparat"}[self.action]
            return f"Nyckeltalet '{kpi['title']}' har id {kpi['id']}: {verb} i {cfg.config_path().name}."
        if not self.hits:
            return f"Kolada har inget nyckeltal vars titel innehåller '{self.title}'. Inget har ändrats."
        shown = "\n".join(f"  {h['id']}  {h['title']}" for h in self.hits[:25])
        more = f"\n  … och {len(self.hits) - 25} till" if len(self.hits) > 25 else ""
        why = ("flera nyckeltal har exakt den titeln" if len(self.exact) > 1
               else "inget har exakt den titeln")
        return (f"Sökningen på '{self.title}' gav {len(self.hits)} nyckeltal men {why}; ange en av titlarna "
                f"nedan exakt. Inget har ändrats.\n{shown}{more}")


def lookup(title: str, config: dict | None = None, *, client: HttpClient | None = None, series: str = "",
           measure: str = "", group: str | None = None, write: bool = True) -> LookupResult:
    config = config if config is not None else cfg.load()
    sec = cfg.section(config, SOURCE)
    client = _client(sec, client)
    hits: list[dict] = []
    url = f"{sec['base_url'].rstrip('/')}/kpi"
    for _call, doc in _pages(client, url, {"title": title}, int(sec.get("max_pages", 50)), "sökningen"):
        for v in doc["values"]:
            if not isinstance(v, dict) or not isinstance(v.get("id"), str) or not isinstance(v.get("title"), str):
                raise FormatError("Koladas sökresultat saknar 'id' eller 'title' för ett nyckeltal")
            hits.append({"id": v["id"], "title": v["title"]})
    exact = [h for h in hits if _norm(h["title"]) == _norm(title)]
    action = ""
    if len(exact) == 1 and write:
        if series or measure:
            _check_kpi({"title": title, "series": series, "measure": measure, "group": group or ""}, "--lookup")
        action = cfg.set_kolada_id(exact[0]["title"], exact[0]["id"], series=series, measure=measure, group=group)
    return LookupResult(title, hits, exact, action)


# ---------------------------------------------------------------- fetching

def _check_kpi(k: dict, where: str) -> None:
    cfg.need(k, "title", str, where)
    series, measure = cfg.need(k, "series", str, where), cfg.need(k, "measure", str, where)
    if (series, measure) not in catalogue.measures():
        raise ConfigError(f"{where}: måttet {series}/{measure} finns inte i katalogen")


def _years(sec: dict, years: list[int] | None) -> list[int]:
    if years:
        return sorted(set(years))
    if isinstance(sec.get("years"), list) and sec["years"]:
        return sorted({int(y) for y in sec["years"]})
    back = int(sec.get("years_back", 6))
    this = date.today().year
    return list(range(this - back, this))


def fetch(config: dict | None = None, *, client: HttpClient | None = None, years: list[int] | None = None,
          kpis: list[str] | None = None) -> Fetched:
    """Fetch every configured KPI that has an id (or only `kpis`); nothing is written."""
    config = config if config is not None else cfg.load()
    sec = cfg.section(config, SOURCE)
    base = cfg.need(sec, "base_url", str, "[kolada]").rstrip("/")
    munis = cfg.need(sec, "municipalities", list, "[kolada]")
    areas = cfg.need(sec, "areas", dict, "[kolada]")
    for m in munis:
        if m not in areas or canonical_area(areas[m]) is None:
            raise ConfigError(f"[kolada] areas: kommunkoden {m} saknar ett område som finns i katalogen")
    entries = sec.get("kpi") or []
    notes: list[str] = []
    chosen = []
    for i, k in enumerate(entries, start=1):
        _check_kpi(k, f"[[kolada.kpi]] nr {i}")
        if kpis and k.get("id") not in kpis:
            continue
        if not k.get("id"):
            notes.append(f"'{k['title']}' har inget id än: kör "
                         f"python -m amnstats fetch kolada --lookup \"{k['title']}\".")
            continue
        chosen.append(k)
    if not chosen:
        raise ConfigError("Inget Kolada-nyckeltal har id ännu. Slå upp dem först: python -m amnstats fetch kolada "
                          "--lookup \"<titel>\" (id:t skrivs då in i config/connectors.toml)")
    client = _client(sec, client)
    yrs = _years(sec, years)
    files: dict[str, bytes] = {}
    calls: list[dict] = []
    max_pages = int(sec.get("max_pages", 50))
    for k in chosen:
        kpi_id = k["id"]
        meta = client.get(f"{base}/kpi/{kpi_id}", None, accept="application/json")
        doc = meta.json(NAME)
        found = [v for v in (doc.get("values") or []) if isinstance(v, dict) and v.get("id") == kpi_id] \
            if isinstance(doc, dict) else []
        if not found:
            raise FormatError(f"Kolada känner inte till nyckeltalet {kpi_id} ('{k['title']}'); slå upp det igen med "
                              "--lookup")
        if _norm(found[0].get("title", "")) != _norm(k["title"]):
            raise FormatError(f"Kolada-nyckeltalet {kpi_id} heter nu '{found[0].get('title')}', inte '{k['title']}'. "
                              "Kontrollera att det fortfarande mäter samma sak och slå upp det igen med --lookup")
        fname = f"{kpi_id}-kpi.json"
        files[fname] = meta.body
        calls.append(call_entry(meta, fname, "metadata", kpi=kpi_id))
        url = f"{base}/data/kpi/{kpi_id}/municipality/{','.join(munis)}/year/{','.join(map(str, yrs))}"
        params = {"per_page": int(sec.get("per_page", 5000))}
        for page, (call, _doc) in enumerate(_pages(client, url, params, max_pages, f"{kpi_id}"), start=1):
            fname = f"{kpi_id}-data-{page:03d}.json"
            files[fname] = call.body
            calls.append(call_entry(call, fname, "data", kpi=kpi_id, municipalities=list(munis), years=yrs))
    mapping = {"areas": dict(areas), "kpis": {k["id"]: {key: k.get(key, "") for key in ("title", "series", "measure",
                                                                                       "group")} for k in chosen}}
    record = new_record(
        SOURCE, scope="kolada", title="Kolada via API: " + "; ".join(k["title"] for k in chosen),
        producer=sec.get("producer", "Kolada (RKA)"), licence=sec.get("licence", ATTRIBUTION),
        mapping=mapping, calls=calls, files=files,
    )
    cands = candidates(record, files)
    return Fetched(record, files, cands, validate_candidates(cands, NAME), notes)


# ---------------------------------------------------------------- responses -> candidates

def candidates(record: dict, files: dict[str, bytes]) -> pl.DataFrame:
    date_ = record["fetched_at"][:10]
    rows: list[dict] = []
    seen: dict[tuple, object] = {}
    for call in record["calls"]:
        if call["role"] != "data":
            continue
        kpi_id = call["kpi"]
        kpi = record["mapping"]["kpis"][kpi_id]
        areas = record["mapping"]["areas"]
        doc = Call(call["url"], call["params"], call["status"], "", files[call["file"]]).json(NAME)
        if not isinstance(doc, dict) or not isinstance(doc.get("values"), list):
            raise FormatError(f"Koladas svar ({call['file']}) har inte listan 'values'")
        label = f"{ATTRIBUTION}, {kpi['title']} ({kpi_id}), hämtat {date_}"
        raw_file = f"api/{SOURCE}/{record['id']}/{call['file']}"
        for i, item in enumerate(doc["values"]):
            where = f"Koladas svar ({call['file']}, post {i + 1})"
            if not isinstance(item, dict) or not {"kpi", "municipality", "period", "values"} <= set(item):
                raise FormatError(f"{where} saknar kpi, municipality, period eller values – formatet har ändrats")
            if item["kpi"] != kpi_id:
                raise FormatError(f"{where} gäller nyckeltalet {item['kpi']}, inte {kpi_id}")
            muni = str(item["municipality"])
            if muni not in call["municipalities"]:
                raise FormatError(f"{where} gäller kommunkoden {muni}, som inte efterfrågades")
            period = str(item["period"])
            if not period.isdigit() or len(period) != 4:
                raise FormatError(f"{where} har perioden {item['period']!r}, inget årtal")
            if not isinstance(item["values"], list):
                raise FormatError(f"{where}: 'values' är ingen lista")
            for v in item["values"]:
                if not isinstance(v, dict) or v.get("gender") not in GENDERS or "value" not in v:
                    raise FormatError(f"{where}: ett värde saknar gender (T/K/M) eller value")
                value, status = v["value"], v.get("status") or ""
                if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                    raise FormatError(f"{where}: värdet {value!r} är inget tal")
                key = (kpi_id, muni, period, v["gender"])
                if key in seen and seen[key] != value:
                    raise FormatError(f"{where}: {muni} {period} {v['gender']} förekommer två gånger med "
                                      "olika värden")
                seen[key] = value
                rows.append({
                    "series": kpi["series"], "measure": kpi["measure"], "period": period,
                    "gender": GENDERS[v["gender"]], "area": areas[muni], "group": kpi.get("group", ""),
                    "value_text": number_text(value),
                    "status": "" if value is not None else ("suppressed" if status else "missing"),
                    "kind": "utfall", "target_setter": "", "dataset": record["id"],
                    "source": f"{call['url']}#kommun={muni};år={period};kön={v['gender']}",
                    "source_label": label, "note": f"Koladas status '{status}'" if status else "",
                    "raw_file": raw_file, "raw_row": i + 1,
                })
    return frame(rows).unique(subset=["series", "measure", "period", "gender", "area", "group"], keep="first",
                              maintain_order=True)
