"""``odahu-batch import EXPORT... --out SPECS --secrets-out DIR``: an ODAHU export as Git-ready specs.

Reads what ODAHU writes (``odahuflowctl conn get -o json|yaml`` with or without ``--decrypted``, bulk files,
the API server's JSON: YAML or JSON, one document, several or an array) and writes ``SPECS/odahu-import.yaml``
(Connections with ``credentials.secretRef``, InferenceServices, InferenceJobs, in ODAHU's API shape) and, in
DIR, which must lie outside SPECS, one Secret manifest per connection with credentials (mode 0600), or with
``--secrets-format commands`` one ``kubectl create secret`` script. No credential value is ever written into
SPECS or printed. The written specs are validated before the command reports success.
"""

from __future__ import annotations

import argparse
import base64
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from compiler.diagnostics import has_errors, render_text
from compiler.front.load import load
from compiler.front.odahu_import import Imported, SecretOut, import_documents, secret_manifest
from compiler.pipeline import analyse

EXAMPLES = """\
odahu-batch import export.yaml --out specs/ --secrets-out ../secrets/   # odahuflowctl conn get -o yaml
odahu-batch import bulk.json --out specs/ --secrets-out ../secrets/ --secrets-format commands
"""
SPEC_FILE = "odahu-import.yaml"
COMMANDS_FILE = "create-secrets.sh"
SCRIPT_HEAD = (
    "#!/bin/sh\n# The Secrets of `odahu-batch import`: run once against the cluster; never commit.\nset -eu\n"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="EXPORT", help="ODAHU export files or folders")
    parser.add_argument("--out", type=Path, required=True, help="the spec folder to write (a Git tree)")
    parser.add_argument(
        "--secrets-out", type=Path, help="where the Secrets go, outside --out (required when there are any)"
    )
    parser.add_argument(
        "--secrets-format",
        choices=("manifests", "commands"),
        default="manifests",
        help="Secret manifests (default) or a script of `kubectl create secret` commands",
    )
    parser.add_argument(
        "--namespace", default="odahu-batch", help="the Secrets' namespace (default odahu-batch)"
    )


def run(args: argparse.Namespace) -> int:
    loaded = load(args.paths)
    if has_errors(loaded.diagnostics):
        sys.stderr.write(render_text(loaded.diagnostics, dict(loaded.sources)))
        return 1
    result = import_documents(raw.data for raw in loaded.documents)
    problem = _check_folders(args, result)
    if problem:
        print(f"odahu-batch import: {problem}", file=sys.stderr)
        return 1
    spec_path = _write_specs(args.out, result)
    secrets_path = _write_secrets(args, result.secrets) if result.secrets else None
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    _, diags, sources = analyse([spec_path], for_cluster=True)
    if has_errors(diags):
        sys.stderr.write(render_text(diags, sources))
        print("odahu-batch import: the imported specs do not validate (see above)", file=sys.stderr)
        return 1
    print(f"wrote {len(result.documents)} documents to {spec_path}")
    if secrets_path is not None:
        print(f"wrote {len(result.secrets)} Secrets to {secrets_path} (keep them out of Git)")
    return 0


def _check_folders(args: argparse.Namespace, result: Imported) -> str | None:
    if not result.documents:
        return "no Connection, InferenceService or InferenceJob in the export"
    if not result.secrets:
        return None
    if args.secrets_out is None:
        return "the export holds credentials: name a folder outside --out with --secrets-out"
    out, secrets = args.out.resolve(), args.secrets_out.resolve()
    if secrets == out or out in secrets.parents:
        return f"--secrets-out {args.secrets_out} lies inside --out {args.out}: secrets must stay out of Git"
    return None


def _dump(docs: list[dict[str, Any]], path: Path, mode: int = 0o644) -> None:
    yaml = YAML()
    yaml.default_flow_style = False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with open(fd, "w", encoding="utf-8") as handle:
        handle.write("# Imported from ODAHU by `odahu-batch import`.\n")
        yaml.dump_all(docs, handle)


def _write_specs(out: Path, result: Imported) -> Path:
    path = out / SPEC_FILE
    _dump([dict(doc) for doc in result.documents], path)
    return path


def _write_secrets(args: argparse.Namespace, secrets: tuple[SecretOut, ...]) -> Path:
    folder: Path = args.secrets_out
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if args.secrets_format == "manifests":
        for secret in secrets:
            _dump([secret_manifest(secret, args.namespace)], folder / f"{secret.name}.yaml", 0o600)
        return folder
    path = folder / COMMANDS_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o700)
    with open(fd, "w", encoding="utf-8") as handle:
        handle.write(SCRIPT_HEAD)
        for secret in secrets:
            handle.write(_command(secret, args.namespace) + "\n")
    return path


def _command(secret: SecretOut, namespace: str) -> str:
    parts = ["kubectl", "create", "secret", "generic", secret.name, "--namespace", namespace]
    for key, value in secret.data.items():
        plain = base64.b64decode(value).decode() if value is not None else "FILL-IN"
        parts.append(f"--from-literal={key}={plain}")
    return " ".join(shlex.quote(part) for part in parts)
