"""Command line.

    python -m amnstats build [--force]
    python -m amnstats import FILE [--series S --measure M] [--period P] [--area A] [--gender G]
                                   [--group X] [--template NAME] [--save-template NAME]
                                   [--producer P] [--licence L] [--dry-run]
    python -m amnstats history
    python -m amnstats undo IMPORT_ID | redo IMPORT_ID | erase IMPORT_ID --yes
    python -m amnstats fetch scb [--validate] [--query Q] [--from 2020M01 | --last N] [--dry-run]
    python -m amnstats fetch kolada [--years 2020-2024] [--dry-run] | --lookup "TITEL" [--series S --measure M]
    python -m amnstats fetch af [--url URL] [--period 2024-01] [--dry-run]
    python -m amnstats fetch list | undo FETCH_ID | redo FETCH_ID
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from .problems import InputError


def _print_problems(problems, headline: str) -> None:
    print(f"{headline} ({len(problems)} fel):", file=sys.stderr)
    for p in problems[:50]:
        print(f"  - {p}", file=sys.stderr)
    if len(problems) > 50:
        print(f"  ... och {len(problems) - 50} till", file=sys.stderr)
    print("Inget har sparats.", file=sys.stderr)


def cmd_build(args) -> int:
    from .build import build

    try:
        result = build(force=args.force)
    except InputError as exc:
        print(str(exc), file=sys.stderr)
        print("Inget skrevs: den tidigare datan är orörd.", file=sys.stderr)
        return 1
    verb = "Byggde" if result.rebuilt else "Oförändrat:"
    print(f"{verb} {result.n_observations} värden från {result.n_datasets} dataset -> {result.path}")
    return 0


def cmd_import(args) -> int:
    from . import imports, store, templates
    from .ingest import Source, prepare, set_measure, unanswered

    path = Path(args.file)
    if not path.is_file():
        print(f"Filen {path} finns inte. Inget har sparats.", file=sys.stderr)
        return 1
    data = path.read_bytes()
    first = prepare(data, path.name, series=args.series or "", measure=args.measure or "")
    if first.status == "refused":
        _print_problems(first.problems, "Filen kan inte tas emot")
        return 1
    mapping = first.mapping
    if args.template:
        saved = templates.all_templates()
        if args.template not in saved:
            print(f"Mallen '{args.template}' finns inte. Sparade mallar: {', '.join(saved) or 'inga'}.", file=sys.stderr)
            return 1
        mapping = saved[args.template]
    if args.series and args.measure:
        mapping = set_measure(mapping, first.table, args.series, args.measure)
    for name in ("period", "area", "gender", "group"):
        value = getattr(args, name)
        if value is not None:
            setattr(mapping, name, Source.column(value[4:]) if value.startswith("col:") else Source.fixed(value))
    result = prepare(data, path.name, mapping)
    if result.status == "needs_mapping":
        if result.mapping.missing:
            print("Kopplingen är inte komplett. Ange: " + "; ".join(result.mapping.describe_missing()), file=sys.stderr)
        if {"series", "measure"} & set(result.mapping.missing):
            print("Serie och mått anges med --series och --measure, som koder (t.ex. --series unemployment "
                  "--measure arbetslosa_andel); alla står i amnstats/catalogue/measures.csv.", file=sys.stderr)
        if beyond := [p for p in result.problems if not unanswered(p)]:
            _print_problems(beyond, "Kopplingen passar inte filen")
        return 1
    if not result.ok:
        _print_problems(result.problems, "Filen innehåller fel")
        return 1
    for w in result.warnings:
        print(f"Varning: {w}", file=sys.stderr)
    diff = imports.preview(result, store.load_observations())
    print(imports.summary(diff))
    if args.dry_run:
        print("Förhandsgranskning: inget har sparats.")
        return 0
    try:
        outcome = imports.commit(data, path.name, result.mapping, uploaded_by=f"{getpass.getuser()} (kommandorad)",
                                 producer=args.producer or "", licence=args.licence or "", prepared=result)
    except InputError as exc:
        _print_problems(exc.problems, exc.headline)
        return 1
    if args.save_template:
        templates.save(args.save_template, result.mapping)
    if outcome.changed:
        print(f"Importerat {outcome.record['n_values']} värden som {outcome.record['id']}.")
    else:
        print(f"Filen är redan importerad ({outcome.record['id']}); inget ändrades.")
    return 0


def cmd_history(args) -> int:
    from . import imports

    records = imports.history()
    if not records:
        print("Inga importer.")
    for r in records:
        state = {"active": "aktiv", "undone": "ångrad", "erased": "raderad"}.get(r["status"], r["status"])
        print(f"{r['id']}  {r['uploaded_at']}  {state:7}  {r['n_values']:>7} värden  {r['filename']}  ({r['uploaded_by']})")
    return 0


def cmd_undo(args) -> int:
    from . import imports

    who = f"{getpass.getuser()} (kommandorad)"
    try:
        if args.command == "erase":
            if not args.yes:  # for good: the page asks for a confirmation too
                print(f"Radering av {args.import_id} är permanent: filen och allt som lästs ur den försvinner. "
                      "Kör igen med --yes för att radera.", file=sys.stderr)
                return 1
            imports.erase(args.import_id, by=who)
            print("Filen är raderad. Historiken behåller vem som raderade den och när.")
            return 0
        outcome = (imports.undo if args.command == "undo" else imports.redo)(args.import_id, by=who)
    except InputError as exc:
        _print_problems(exc.problems, exc.headline)
        return 1
    done, already = {"undo": ("Ångrad.", "Importen var redan ångrad; inget ändrades."),
                     "redo": ("Återställd.", "Importen var redan aktiv; inget ändrades.")}[args.command]
    print(done if outcome.changed else already)
    return 0


def _years(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.strip().partition("-")
        if not a.isdigit() or (b and not b.isdigit()):
            raise argparse.ArgumentTypeError(f"'{text}' är inga år (t.ex. 2020-2024 eller 2022,2023)")
        out += list(range(int(a), int(b or a) + 1))
    return out


def cmd_fetch(args) -> int:
    from . import store
    from .connectors import SOURCE_NAMES, ConnectorError, commit, fetch
    from .imports import summary as imports_summary

    who = f"{getpass.getuser()} (kommandorad)"
    try:
        if args.source == "list":
            rows = commit.history()
            if not rows:
                print("Inga hämtningar.")
            for r in rows:
                state = "gäller" if r["in_force"] else ("ersatt" if r["status"] == "active" else "ångrad")
                print(f"{r['id']}  {r['committed_at']}  {state:7}  {r.get('n_values', 0):>7} värden  {r['title']}")
            return 0
        if args.source in ("undo", "redo"):
            outcome = (commit.undo if args.source == "undo" else commit.redo)(args.fetch_id, by=who)
            print(("Ångrad." if args.source == "undo" else "Återställd.") if outcome.changed
                  else "Inget ändrades (hämtningen hade redan den statusen).")
            return 0
        if args.source == "scb" and args.validate:
            from .connectors import scb
            for line in scb.validate(queries=args.query):
                print(line)
            return 0
        if args.source == "kolada" and args.lookup:
            from .connectors import kolada
            result = kolada.lookup(args.lookup, series=args.series or "", measure=args.measure or "",
                                   group=args.group)
            print(result.message())
            return 0 if result.action else 1
        options = {"scb": lambda: {"queries": args.query, "time_from": args.time_from, "time_last": args.last},
                   "kolada": lambda: {"years": args.years},
                   "af": lambda: {"url": args.url, "period": args.period}}[args.source]()
        fetched = fetch(args.source, **options)
    except ConnectorError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    except InputError as exc:
        _print_problems(exc.problems, exc.headline)
        return 1
    for note in fetched.notes:
        print(note)
    diff = commit.preview(fetched.observations, store.load_observations())
    print(imports_summary(diff))
    if args.dry_run:
        print(f"Förhandsgranskning ({len(fetched.observations)} värden från {SOURCE_NAMES[args.source]}): "
              "inget har sparats.")
        return 0
    try:
        outcome = commit.commit(fetched, by=who)
    except ConnectorError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    except InputError as exc:
        _print_problems(exc.problems, "Bygget med den nya hämtningen misslyckades")
        return 1
    if outcome.changed:
        print(f"Hämtat {outcome.record['n_values']} värden som {outcome.record['id']}; statistiken är uppdaterad.")
    else:
        print(f"Svaret är oförändrat sedan förra hämtningen ({outcome.record['id']}); inget ändrades.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m amnstats", description="amnstats: AMN:s statistik")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build", help="bygg data/processed från data/raw")
    p.add_argument("--force", action="store_true", help="bygg om även om inget ändrats")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("import", help="importera en CSV- eller Excelfil")
    p.add_argument("file")
    p.add_argument("--series", help="serie, t.ex. unemployment")
    p.add_argument("--measure", help="mått, t.ex. arbetslosa_andel")
    for name, sv in (("period", "period"), ("area", "område"), ("gender", "kön"), ("group", "grupp")):
        p.add_argument(f"--{name}", help=f"{sv} för hela filen, eller col:KOLUMN för en kolumn i filen")
    p.add_argument("--template", help="använd en sparad mall")
    p.add_argument("--save-template", help="spara kopplingen som mall")
    p.add_argument("--producer", help="källans producent, t.ex. Arbetsförmedlingen")
    p.add_argument("--licence", help="licens för datan")
    p.add_argument("--dry-run", action="store_true", help="visa bara vad som skulle ändras")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("history", help="lista importer")
    p.set_defaults(func=cmd_history)
    for name, text in (("undo", "ångra en import"), ("redo", "återställ en ångrad import"),
                       ("erase", "radera en ångrad imports fil för gott")):
        p = sub.add_parser(name, help=text)
        p.add_argument("import_id")
        if name == "erase":
            p.add_argument("--yes", action="store_true", help="radera utan att fråga (permanent)")
        p.set_defaults(func=cmd_undo)

    p = sub.add_parser("fetch", help="hämta statistik från SCB, Kolada eller Arbetsförmedlingen "
                                     "(se docs/connectors.md)")
    fetch_sub = p.add_subparsers(dest="source", required=True)
    f = fetch_sub.add_parser("scb", help="SCB:s statistikdatabas (PxWebApi v2)")
    f.add_argument("--validate", action="store_true", help="kontrollera bara tabellernas metadata mot inställningarna")
    f.add_argument("--query", action="append", help="bara denna fråga ur [scb.queries] (kan upprepas)")
    f.add_argument("--from", dest="time_from", help="första period, t.ex. 2020M01 eller 2020")
    f.add_argument("--last", type=int, help="bara de senaste N perioderna")
    f = fetch_sub.add_parser("kolada", help="Kolada (API v3)")
    f.add_argument("--years", type=_years, help="år, t.ex. 2020-2024")
    f.add_argument("--lookup", metavar="TITEL", help="slå upp ett nyckeltals id på titeln och spara det")
    f.add_argument("--series", help="serie för ett nytt nyckeltal (med --lookup)")
    f.add_argument("--measure", help="mått för ett nytt nyckeltal (med --lookup)")
    f.add_argument("--group", help="grupp för nyckeltalet (med --lookup), t.ex. '20-24 år'")
    f = fetch_sub.add_parser("af", help="Arbetsförmedlingens månadsstatistik per kommun (xlsx)")
    f.add_argument("--url", help="arbetsbokens adress (annars [af] url)")
    f.add_argument("--period", help="månaden arbetsboken gäller, t.ex. 2024-01 (annars ur rubrikraderna)")
    for f in fetch_sub.choices.values():
        f.add_argument("--dry-run", action="store_true", help="visa bara vad som skulle ändras")
    f = fetch_sub.add_parser("list", help="lista hämtningar")
    f = fetch_sub.add_parser("undo", help="ångra en hämtning")
    f.add_argument("fetch_id")
    f = fetch_sub.add_parser("redo", help="återställ en ångrad hämtning")
    f.add_argument("fetch_id")
    p.set_defaults(func=cmd_fetch)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
