"""``odahu-batch validate PATH...``: load, validate and resolve specs; print the diagnostics."""

from __future__ import annotations

import argparse
import sys

from compiler.diagnostics import has_errors, render_github, render_json, render_text
from compiler.pipeline import analyse

EXAMPLES = """\
odahu-batch validate specs/
odahu-batch validate specs/ --format json     # one JSON object per diagnostic, for CI
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="spec files or folders (*.yaml, *.yml)")
    parser.add_argument(
        "--format",
        choices=("text", "json", "github"),
        default="text",
        help="diagnostics as text, JSON, or GitHub Actions annotations (for CI)",
    )
    parser.add_argument(
        "--local",
        action="store_true",
        help="check for a local run: allow local connections without BatchSettings.allowLocalConnections",
    )


def run(args: argparse.Namespace) -> int:
    project, diags, sources = analyse(args.paths, for_cluster=not args.local)
    if args.format == "json":
        sys.stdout.write(render_json(diags))
    elif args.format == "github":
        sys.stdout.write(render_github(diags))
    elif diags:
        sys.stderr.write(render_text(diags, sources))
    failed = has_errors(diags) or project is None
    if args.format == "text":
        if failed:
            errors = sum(d.is_error for d in diags)
            print(f"odahu-batch: {errors} error{'s' if errors != 1 else ''}", file=sys.stderr)
        elif project is not None:
            print(
                f"ok: {len(project.connections)} connections, {len(project.services)} services, "
                f"{len(project.jobs)} jobs"
            )
    return 1 if failed else 0
