"""``odahu-batch crds --out DIR``: write the CustomResourceDefinitions of the spec kinds."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from compiler.front.schema import crd_files

EXAMPLES = """\
odahu-batch crds --out crds/
odahu-batch crds --out crds/ --check          # exit 1 when crds/ is stale
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="the folder to write (crds/)")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if DIR differs from what would be written"
    )


def stale(out: Path) -> list[str]:
    """Files of ``out`` that differ from the generated ones, are missing, or are left over."""
    wanted = crd_files()
    present = {p.name for p in out.glob("*.yaml")} if out.is_dir() else set()
    differing = [
        name
        for name, text in wanted.items()
        if not (out / name).is_file() or (out / name).read_text(encoding="utf-8") != text
    ]
    return sorted(set(differing) | (present - set(wanted)))


def run(args: argparse.Namespace) -> int:
    out: Path = args.out
    if args.check:
        changed = stale(out)
        for name in changed:
            print(f"{out / name}: out of date", file=sys.stderr)
        if changed:
            print("odahu-batch: run `odahu-batch crds --out crds/` and commit the result", file=sys.stderr)
        return 1 if changed else 0
    out.mkdir(parents=True, exist_ok=True)
    wanted = crd_files()
    for old in out.glob("*.yaml"):
        if old.name not in wanted:
            old.unlink()
    for name, text in wanted.items():
        (out / name).write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {len(wanted)} files to {out}")
    return 0
