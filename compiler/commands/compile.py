"""``odahu-batch compile PATH... --out DIR [--check] [--target tekton|argo]``: specs -> a tree for Argo CD.

``--out -`` writes no tree: the documents go to stdout as one YAML stream in the tree's order (for
``kubectl diff -f -`` and Argo CD Config Management Plugins). Diagnostics and reports go to stderr,
except with ``--format json`` / ``github``, where stdout carries them (and only them).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from compiler.commands import add_target_flag
from compiler.diagnostics import Diagnostic, render_github, render_json, render_text
from compiler.emit import stream
from compiler.pipeline import CompileResult, compile, generate_documents

EXAMPLES = """\
odahu-batch compile specs/ --out deploy/
odahu-batch compile specs/ --out deploy/ --check --format github   # CI guard with annotations
odahu-batch compile specs/ --out - | kubectl diff -f -             # stream the documents
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="spec files or folders (*.yaml, *.yml)")
    parser.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="the output folder (replaced as a whole); - streams the documents to stdout instead",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; report each stale, missing or extra file and exit 1 when DIR is not "
        "what compile would write (for CI)",
    )
    parser.add_argument(
        "--local",
        action="store_true",
        help="compile for a local run: allow local connections without BatchSettings.allowLocalConnections",
    )
    add_target_flag(parser)
    parser.add_argument(
        "--format",
        choices=("text", "json", "github"),
        default="text",
        help="diagnostics as text, JSON, or GitHub Actions annotations (for CI)",
    )


def run(args: argparse.Namespace) -> int:
    if args.out == "-":
        if args.check:
            print("odahu-batch compile: error: --check compares a folder; not with --out -", file=sys.stderr)
            return 2
        return _stream(args)
    result = compile(args.paths, args.out, check=args.check, for_cluster=not args.local, target=args.target)
    if result.emitted is None or not result.ok:
        return _report(args.format, result, result.diagnostics)
    emitted = result.emitted
    stale = args.check and emitted.stale
    if args.format == "text":
        _report("text", result, result.diagnostics)
        if stale:
            sys.stdout.write(emitted.diff)
        print(emitted.summary(check=args.check))
        if result.generated is not None:
            sys.stdout.write(result.generated.prerequisites.as_text())
    else:
        _report(args.format, result, [*result.diagnostics, *(emitted.stale_files() if stale else ())])
        print(emitted.summary(check=args.check), file=sys.stderr)
    return 1 if stale else 0


def _stream(args: argparse.Namespace) -> int:
    result = generate_documents(args.paths, for_cluster=not args.local, target=args.target)
    # stdout carries the documents, so diagnostics in any format go to stderr.
    _report(args.format, result, result.diagnostics, sys.stderr)
    if result.generated is None or not result.generated.ok:
        return 1
    sys.stdout.write(stream(result.generated.docs))
    return 0


def _report(fmt: str, result: CompileResult, diags: list[Diagnostic], machine: TextIO | None = None) -> int:
    """Print ``diags`` in ``fmt`` (JSON and annotations to ``machine``, stdout by default); return 1."""
    target = machine or sys.stdout
    if fmt == "json":
        # One document: the diagnostics and, once the tree compiled, what it needs in the cluster.
        needs = result.generated.prerequisites.as_json() if result.ok and result.generated else None
        records = json.loads(render_json(diags))
        target.write(json.dumps({"diagnostics": records, "prerequisites": needs}) + "\n")
    elif fmt == "github":
        target.write(render_github(diags))
    elif diags:
        sys.stderr.write(render_text(diags, result.sources))
    errors = sum(d.is_error for d in diags)
    if fmt == "text" and errors:
        print(f"odahu-batch: {errors} error{'s' if errors != 1 else ''}", file=sys.stderr)
    return 1
