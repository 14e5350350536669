"""``odahu-batch init DIR``: a starter project that validates, compiles and runs locally as it is.

The files come from ``compiler/starter/`` with ``$name`` filled in. They are written to a folder
beside DIR and moved into place at once, so a failed init leaves nothing half-written; an existing,
non-empty DIR is refused.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from string import Template

EXAMPLES = """\
odahu-batch init my-project
cd my-project && odahu-batch run specs/ --job my-project-sample --bind predictor:/opt/predictor
odahu-batch init batch/ --name scorer
"""

STARTER = Path(__file__).resolve().parent.parent / "starter"
# Files whose stored name differs from the written one (a dotfile would be skipped by packaging).
RENAMED = {"gitignore": ".gitignore"}
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", type=Path, metavar="DIR", help="the folder to create (new or empty)")
    parser.add_argument(
        "--name",
        help="the service's name, a DNS-1123 label of at most 40 characters (default: from DIR)",
    )


def project_name(directory: Path, given: str | None) -> str | None:
    """The service name: ``--name``, else DIR's name lowercased with other characters as dashes."""
    name = (
        given
        if given is not None
        else re.sub(r"[^a-z0-9]+", "-", directory.resolve().name.lower()).strip("-")
    )
    return name if _LABEL.fullmatch(name) else None


def starter_files(name: str) -> dict[str, str]:
    """Relative path -> text of every starter file, with the project's name filled in."""
    files: dict[str, str] = {}
    for path in sorted(STARTER.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            rel = path.relative_to(STARTER).as_posix()
            text = Template(path.read_text(encoding="utf-8")).substitute(name=name)
            files[RENAMED.get(rel, rel)] = text
    return files


def run(args: argparse.Namespace) -> int:
    target: Path = args.dir
    name = project_name(target, args.name)
    if name is None:
        wanted = "--name" if args.name is not None else f"DIR's name ({target.resolve().name!r})"
        print(
            f"odahu-batch init: {wanted} does not make a service name: expected a DNS-1123 label "
            "(lowercase letters, digits, dashes; at most 40 characters); give one with --name",
            file=sys.stderr,
        )
        return 1
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        print(
            f"odahu-batch init: {target} exists and is not an empty folder; nothing written", file=sys.stderr
        )
        return 1
    _write(target, starter_files(name))
    print(f"created {target}/ for service {name!r}:")
    for rel in starter_files(name):
        print(f"  {rel}")
    print(f"next: cd {target} && odahu-batch validate specs/ (README.md lists the rest)")
    return 0


def _write(target: Path, files: dict[str, str]) -> None:
    parent = target.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{target.name}.init-"))
    try:
        os.chmod(tmp, 0o755)
        for rel, text in files.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
        if target.exists():
            target.rmdir()  # empty, checked above
        os.rename(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
