"""validate.py's command line, and the policy that turns its rejections into a verdict.

Standard library only, Python >= 3.9 (the step images'); see validate.py.
"""

from __future__ import annotations

import argparse
from typing import Tuple

try:
    from . import _files
except ImportError:  # run as a plain file next to its siblings
    import _files  # type: ignore[no-redef,import-not-found]


def policy(args: argparse.Namespace, failures: int, total: int) -> Tuple[bool, str]:
    limits = []
    passed = True
    if args.max_rejected is not None:
        limits.append(f"up to {args.max_rejected} rejected")
        passed = passed and failures <= args.max_rejected
    if args.max_rejected_fraction is not None:
        limits.append(f"up to {args.max_rejected_fraction:g} of the files rejected")
        passed = passed and failures <= args.max_rejected_fraction * total
    if not limits:
        return failures == 0, "no rejections allowed"
    return passed, " and ".join(limits)


def fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="validate", description=description)
    add = parser.add_argument
    add("kind", choices=("request", "response"), help="what the files are")
    add("src", metavar="SRC_DIR", help="folder to check (walked recursively)")
    add(
        "--valid", required=True, help="folder that receives the valid files (SRC_DIR itself: check in place)"
    )
    add("--rejected", required=True, help="folder that receives the rejected files and _report.json")
    add("--max-rejected", type=int, help="allow up to N rejected (or missing) files")
    add("--max-rejected-fraction", type=fraction, help="allow up to this fraction of the files rejected")
    add("--requests", help="(response) folder of the requests, for the cross-file checks")
    add("--facts", help="(request) write each valid request's id and requested outputs to this file")
    add("--request-facts", help="(response) the --facts file of the requests, read instead of each request")
    add("--require-one-per-request", action="store_true", help="every request needs a response (R23)")
    add("--require-matching-ids", action="store_true", help="a response carries its request's id (R23)")
    add("--summary", help="write {checked, valid, rejected, missing} as compact JSON to this file")
    add("--max-file-bytes", type=int, default=_files.MAX_FILE_BYTES, help="larger files are rejected unread")
    add("--record-verdict", action="store_true", help="exit 0 whatever the policy says (report: policy)")
    add("--jobs", type=int, default=0, help="worker processes (default: the pod's cores)")
    add("--quiet", action="store_true", help="print only the summary line")
    profile = parser.add_argument_group("profile (ambiguities of the protocol, see README.md)")
    flag = profile.add_argument
    flag("--refuse-fp16", dest="fp16", action="store_false", help="A2: refuse FP16 data as JSON numbers")
    flag("--allow-fp16", dest="fp16", action="store_true", help="A2: accept it, with a warning (default)")
    flag("--allow-bf16", action="store_true", help="A9: accept the BF16 datatype")
    flag("--allow-nan-tokens", action="store_true", help="A13: accept NaN/Infinity tokens in FP tensors")
    flag("--allow-null-as-nan", action="store_true", help="A13: accept null elements in FP tensors")
    flag("--relaxed-output-parameters", action="store_true", help="A14: any value in response parameters")
    flag("--allow-unnatural-nesting", dest="unnatural", action="store_true", help="A7: accept it")
    flag("--reject-unnatural-nesting", dest="unnatural", action="store_false", help="A7: refuse (default)")
    flag("--max-depth", type=int, default=64, help="A20: deepest nesting of data (default 64)")
    flag("--strict-integers", action="store_true", help="A6: refuse 7.0 where an integer is due")
    flag("--require-response-id", action="store_true", help="A8: a response must carry an id")
    odahu = parser.add_argument_group("ODAHU-style responses (see _odahu.py)")
    odahu.add_argument("--odahu-responses", action="store_true", help="accept them, warned")
    odahu.add_argument("--model-meta", help="the model.json sync_model wrote: fills a missing model_name")
    odahu.add_argument("--model-name", help="model name of a model baked into the image")
    odahu.add_argument("--model-version", help="model version of a model baked into the image")
    parser.set_defaults(fp16=True, unnatural=False)
    return parser
