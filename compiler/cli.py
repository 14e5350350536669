"""The command line: flags in, diagnostics out.

Exit codes (``docs/diagnostics.md``): 0 success, 1 the specs or the run failed (diagnostics were
printed), 2 usage error (argparse's own code), 70 internal error (``EX_SOFTWARE`` of sysexits.h; only
then a traceback), 130 interrupted, 141 stdout closed early (``| head``), as a process killed by
SIGPIPE would report. Each sub-command lives in ``compiler/commands/<name>.py`` and exposes
``add_arguments(parser)``, ``run(args) -> int`` and ``EXAMPLES`` (shown by its ``--help``); the library
never imports this module.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import re
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from compiler.diagnostics import did_you_mean

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

# name -> one-line help, in the order ``--help`` lists them. One line per command, so that adding a
# command is a one-line change.
COMMANDS: dict[str, str] = {
    "init": "Create a starter project (specs and a predictor) that validates, compiles and runs.",
    "validate": "Load, validate and resolve specs and print diagnostics.",
    "schema": "Print the JSON Schema of the spec kinds (for editors).",
    "crds": "Write the CustomResourceDefinitions of the spec kinds.",
    "compile": "Compile specs into a Tekton or Argo Workflows tree (kustomization) for Argo CD.",
    "graph": "Draw a service's run (steps, images, volumes, credentials) as a Mermaid flowchart.",
    "run": "Run one job on this machine from its compiled Tekton or Argo documents.",
    "status": "Show where a job's run stands, from its output storage and from the cluster.",
    "import": "Turn an ODAHU export into specs, and its credentials into Secrets kept out of Git.",
}
# A command whose module is not named after it (``import`` is a Python keyword).
MODULES = {"import": "import_odahu"}

_INVALID_CHOICE = re.compile(r"invalid choice: '([^']*)'")
_UNRECOGNIZED = "unrecognized arguments: "


def _version() -> str:
    try:
        return importlib.metadata.version("odahu-batch")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class Parser(argparse.ArgumentParser):
    """argparse without abbreviations (``--ou`` is not ``--out``) and with "did you mean" on usage errors."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        # A command's unknown flag is reported before its missing ones: "--ou" should suggest "--out",
        # not complain that "--out" is missing.
        if self._subparsers is None and args is not None:
            self._check_flags(list(args))
        return super().parse_known_args(args, namespace)

    def _check_flags(self, args: list[str]) -> None:
        known = {s for a in self._actions for s in a.option_strings}
        for word in args:
            if word == "--":
                return
            flag = word.split("=", 1)[0]
            if (
                word.startswith("-")
                and word != "-"
                and flag not in known
                and not re.fullmatch(r"-\d.*", word)
            ):
                self.error(_UNRECOGNIZED + word)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        hint = self._suggestion(message)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n" + (f"  hint: {hint}\n" if hint else ""))

    def _suggestion(self, message: str) -> str | None:
        choice = _INVALID_CHOICE.search(message)
        if choice is not None:
            known = [c for a in self._actions if a.choices for c in a.choices]
            return did_you_mean(choice.group(1), map(str, known))
        if message.startswith(_UNRECOGNIZED):
            flags = [s for a in self._actions for s in a.option_strings]
            for word in message[len(_UNRECOGNIZED) :].split():
                if word.startswith("-"):
                    return did_you_mean(word.split("=", 1)[0], flags)
        return None


def build_parser() -> tuple[Parser, dict[str, Parser]]:
    parser = Parser(
        prog="odahu-batch", description="Batch inference on Tekton or Argo Workflows, GitOps style."
    )
    parser.add_argument("--version", action="version", version=f"odahu-batch {_version()}")
    subs = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    by_name: dict[str, Parser] = {}
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f"compiler.commands.{MODULES.get(name, name)}")
        epilog = "examples:\n" + "\n".join(f"  {line}" for line in module.EXAMPLES.strip().splitlines())
        sub = subs.add_parser(name, help=help_text, description=help_text, epilog=epilog)
        module.add_arguments(sub)
        by_name[name] = sub
    return parser, by_name


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser, subs = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # The sub-command's parser reports them, with its own usage and flags to suggest from.
        subs[args.command].error(_UNRECOGNIZED + " ".join(extra))
    return args


def _silence_stdout() -> None:
    """After a closed pipe, point stdout at /dev/null so the interpreter's last flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parse(argv)
        module = importlib.import_module(f"compiler.commands.{MODULES.get(args.command, args.command)}")
        code: int = module.run(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (``| head``): nothing left to say and no one to say it to.
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print("odahu-batch: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception:
        traceback.print_exc()
        print(
            "odahu-batch: internal error (a bug in odahu-batch, not in your specs); please report it",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    return code


if __name__ == "__main__":
    sys.exit(main())
