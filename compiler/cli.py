"""The command line: flags in, diagnostics out.

Exit codes: 0 success, 1 user error (diagnostics were printed), 2 internal error (only then a
traceback). Each sub-command lives in ``compiler/commands/<name>.py`` and exposes
``add_arguments(parser)`` and ``run(args) -> int``; the library never imports this module.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence

# name -> one-line help, in the order ``--help`` lists them.
COMMANDS: dict[str, str] = {
    "validate": "Load, validate and resolve specs and print diagnostics.",
    "schema": "Print the JSON Schema of the spec kinds (for editors).",
    "crds": "Write the CustomResourceDefinitions of the spec kinds.",
    "compile": "Compile specs into a Tekton tree (kustomization) for Argo CD.",
    "run": "Run one job on this machine from its compiled Tekton documents.",
    "import": "Turn an ODAHU export into specs, and its credentials into Secrets kept out of Git.",
}
# A command whose module is not named after it (``import`` is a Python keyword).
MODULES = {"import": "import_odahu"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="odahu-batch", description="Batch inference on Tekton, GitOps style."
    )
    subs = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f"compiler.commands.{MODULES.get(name, name)}")
        sub = subs.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module = importlib.import_module(f"compiler.commands.{MODULES.get(args.command, args.command)}")
    try:
        code: int = module.run(args)
    except KeyboardInterrupt:
        print("odahu-batch: interrupted", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        print(
            "odahu-batch: internal error (a bug in odahu-batch, not in your specs); please report it",
            file=sys.stderr,
        )
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
