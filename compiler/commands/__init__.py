"""One module per command: ``EXAMPLES``, ``add_arguments(parser)`` and ``run(args) -> exit code``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from compiler.backend import TARGETS
from compiler.diagnostics import render_text
from compiler.pipeline import CompileResult


def compiled_objects(result: CompileResult, prog: str) -> tuple[dict[str, Any], ...] | None:
    """The compiled documents, after printing the diagnostics on stderr; None (with the count of errors)
    when the specs did not compile, for the command to exit 1."""
    if result.diagnostics:
        sys.stderr.write(render_text(result.diagnostics, result.sources))
    if result.generated is None or not result.generated.ok:
        errors = sum(d.is_error for d in result.diagnostics)
        print(f"{prog}: {errors} error{'s' if errors != 1 else ''} in the specs", file=sys.stderr)
        return None
    return result.generated.objects


def add_secret_flags(parser: argparse.ArgumentParser, files_help: str) -> None:
    """``--secret`` and ``--secrets-file``, for every command that reads a Secret the Task would read.

    A command taking them calls ``localrun.secrets.flags_out_of_argv`` first: the values leave argv.
    """
    parser.add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="NAME/KEY=VALUE",
        help="a key of a Kubernetes Secret the Task reads (repeatable; its value leaves the process's command"
        " line at once; prefer --secrets-file)",
    )
    parser.add_argument(
        "--secrets-file", action="append", default=[], type=Path, metavar="FILE", help=files_help
    )


def add_target_flag(parser: argparse.ArgumentParser) -> None:
    """``--target``: the backend for this command, over the project's ``BatchSettings.backend``."""
    parser.add_argument(
        "--target",
        choices=TARGETS,
        default=None,
        help="the engine to compile for: tekton or argo (default: BatchSettings.backend, else tekton)",
    )
