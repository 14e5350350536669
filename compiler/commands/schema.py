"""``odahu-batch schema [--kind K]``: the JSON Schema of spec documents, for editors."""

from __future__ import annotations

import argparse
import sys

from compiler.front.schema import render_json_schema
from compiler.front.spec import KINDS

EXAMPLES = """\
odahu-batch schema > odahu-batch.schema.json
odahu-batch schema --kind InferenceJob
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kind", choices=KINDS, help="only this kind (default: any spec document)")


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(render_json_schema(args.kind))
    return 0
