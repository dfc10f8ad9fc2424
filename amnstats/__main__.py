"""Command line.

    python -m amnstats build [--force]
    python -m amnstats import FILE [--series S --measure M] [--period P] [--area A] [--gender G]
                                   [--group X] [--template NAME] [--save-template NAME]
                                   [--producer P] [--licence L] [--dry-run]
    python -m amnstats history
    python -m amnstats undo IMPORT_ID
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
    from .ingest import Source, prepare, set_measure

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
        print("Kopplingen är inte komplett. Ange: " + "; ".join(result.mapping.describe_missing()), file=sys.stderr)
        _print_problems(result.problems, "Kopplingen passar inte filen")
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
        state = "aktiv" if r["status"] == "active" else "ångrad"
        print(f"{r['id']}  {r['uploaded_at']}  {state:6}  {r['n_values']:>7} värden  {r['filename']}  ({r['uploaded_by']})")
    return 0


def cmd_undo(args) -> int:
    from . import imports

    try:
        outcome = imports.undo(args.import_id, by=f"{getpass.getuser()} (kommandorad)")
    except InputError as exc:
        _print_problems(exc.problems, exc.headline)
        return 1
    print("Ångrad." if outcome.changed else "Importen var redan ångrad; inget ändrades.")
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
    p = sub.add_parser("undo", help="ångra en import")
    p.add_argument("import_id")
    p.set_defaults(func=cmd_undo)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
