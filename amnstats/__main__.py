"""Command line: `python -m amnstats build [--force]`."""

from __future__ import annotations

import argparse
import sys

from .build import build
from .problems import InputError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m amnstats", description="amnstats: AMN:s statistik")
    sub = parser.add_subparsers(dest="command", required=True)
    p_build = sub.add_parser("build", help="bygg data/processed från data/raw")
    p_build.add_argument("--force", action="store_true", help="bygg om även om inget ändrats")
    args = parser.parse_args(argv)

    if args.command == "build":
        try:
            result = build(force=args.force)
        except InputError as exc:
            print(str(exc), file=sys.stderr)
            print("Inget skrevs: den tidigare datan är orörd.", file=sys.stderr)
            return 1
        verb = "Byggde" if result.rebuilt else "Oförändrat:"
        print(f"{verb} {result.n_observations} värden från {result.n_datasets} dataset -> {result.path}")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
