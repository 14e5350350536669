"""``odahu-batch graph SPECS [--service NAME]``: a service's run as a Mermaid flowchart.

The specs are compiled in memory (nothing is written) and the picture is read off the compiled
Task and, for a sharded service, its Pipeline (with ``--target argo``, or ``BatchSettings.backend: argo``:
the WorkflowTemplate). With ``--service`` the output is the flowchart alone
(for ``mmdc`` or an editor); without, a Markdown section with a fenced ``mermaid`` block per service.
"""

from __future__ import annotations

import argparse
import sys

from compiler.commands import add_target_flag, compiled_objects
from compiler.diagnostics import did_you_mean
from compiler.graph import mermaid, services
from compiler.pipeline import generate_documents

EXAMPLES = """\
odahu-batch graph specs/                          # every service, as Markdown
odahu-batch graph specs/ --service scorer > scorer.mmd
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="SPECS", help="spec files or folders (*.yaml, *.yml)")
    parser.add_argument("--service", metavar="NAME", help="one InferenceService (default: all, as Markdown)")
    add_target_flag(parser)


def run(args: argparse.Namespace) -> int:
    # Local connections are fine here: a picture deploys nothing.
    compiled = generate_documents(args.paths, for_cluster=False, target=args.target)
    objects = compiled_objects(compiled, "odahu-batch graph")
    if objects is None:
        return 1
    known = services(objects)
    if args.service is None:
        sys.stdout.write("\n".join(f"### {s}\n\n```mermaid\n{mermaid(objects, s)}```\n" for s in known))
        return 0
    if args.service not in known:
        hint = did_you_mean(args.service, known) or f"the services: {', '.join(known) or 'none'}"
        print(
            f"odahu-batch graph: no InferenceService {args.service!r} in the specs; {hint}", file=sys.stderr
        )
        return 1
    sys.stdout.write(mermaid(objects, args.service))
    return 0
