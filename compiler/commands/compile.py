"""``odahu-batch compile PATH... --out DIR [--check]``: specs -> a Tekton tree for Argo CD."""

from __future__ import annotations

import argparse
import json
import sys

from compiler.diagnostics import render_json, render_text
from compiler.pipeline import compile


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="spec files or folders (*.yaml, *.yml)")
    parser.add_argument("--out", required=True, metavar="DIR", help="the output folder (replaced as a whole)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; print a diff and exit 1 when DIR is not what compile would write (for CI)",
    )
    parser.add_argument(
        "--local",
        action="store_true",
        help="compile for a local run: allow local connections without BatchSettings.allowLocalConnections",
    )
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="diagnostics as text or JSON (for CI)"
    )


def run(args: argparse.Namespace) -> int:
    result = compile(args.paths, args.out, check=args.check, for_cluster=not args.local)
    diags = result.diagnostics
    if args.format == "json":
        # One document: the diagnostics and, once the tree compiled, what it needs in the cluster.
        needs = result.generated.prerequisites.as_json() if result.ok and result.generated else None
        sys.stdout.write(
            json.dumps({"diagnostics": json.loads(render_json(diags)), "prerequisites": needs}) + "\n"
        )
    elif diags:
        sys.stderr.write(render_text(diags, result.sources))
    if result.emitted is None or not result.ok:
        errors = sum(d.is_error for d in diags)
        if args.format == "text":
            print(f"odahu-batch: {errors} error{'s' if errors != 1 else ''}", file=sys.stderr)
        return 1
    emitted = result.emitted
    if args.check and emitted.stale and args.format == "text":
        sys.stdout.write(emitted.diff)
    print(emitted.summary(check=args.check), file=sys.stderr if args.format == "json" else sys.stdout)
    if args.format == "text" and result.generated is not None:
        sys.stdout.write(result.generated.prerequisites.as_text())
    return 1 if args.check and emitted.stale else 0
