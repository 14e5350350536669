"""validate-input / validate-output: check every file of a folder against the Predict Protocol V2.

Usage: validate.py request|response SRC_DIR --valid DIR --rejected DIR [policy] [--requests DIR ...] [profile]

Valid files are hard-linked (else copied) unchanged to --valid, rejected ones to --rejected, both under
their relative path. With --valid naming SRC_DIR itself the check is in place: valid files stay where they
are (no directory operation per file) and rejected ones are moved out to --rejected, so SRC_DIR ends up
holding exactly the valid files. ``<rejected>/_report.json`` names each rejected file with a JSON pointer,
rule id and message per error (at most 20 kept per file), lists the warnings, and for responses the missing
ones. Non-.json files are rejected (rule R0). The whole pass always finishes before the policy decides the
exit code: by default any rejection fails (exit 1); --max-rejected N / --max-rejected-fraction F allow some
(every limit given must hold). With --record-verdict the verdict is only recorded (the report's ``policy``)
and the exit code is 0: in a Task a failing step makes Tekton skip every later one, the upload included,
so sync-output applies the verdict once the rejected files and reports are in storage. Files are checked in
parallel on the pod's cores. Rules: README.md (R0-R24 of
notes/v2-protocol.md).

Ambiguities (default; option): A1 rank 0 holds one element. A2 FP16 as JSON accepted, warned (--refuse-fp16).
A3 duplicate tensor names rejected. A4 duplicate keys rejected. A5 BOM rejected. A6 7.0 for an integer
accepted, warned (--strict-integers). A7 non-natural nesting rejected (--allow-unnatural-nesting). A8 response
id optional (--require-response-id). A9 BF16 rejected (--allow-bf16). A10 empty inputs/outputs warned. A11
binary data after the JSON rejected. A13 NaN/Infinity tokens and nulls rejected (--allow-nan-tokens,
--allow-null-as-nan). A14 non-scalar parameters rejected (--relaxed-output-parameters). A15 null ids rejected.
A16 model_name required. A19 lone surrogates rejected. A20 data deeper than 64 rejected (--max-depth). A21
requested outputs missing from a response warned.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence, Set, Tuple

try:
    from . import _common as common
    from . import _files, _requests
    from .v2rules import Findings, Profile, check
except ImportError:  # run as a plain file next to its siblings
    import _common as common  # type: ignore[no-redef,import-not-found]
    import _files  # type: ignore[no-redef,import-not-found]
    import _requests  # type: ignore[no-redef,import-not-found]
    from v2rules import Findings, Profile, check  # type: ignore[no-redef,import-not-found]

REPORT = "_report.json"
Entry = Dict[str, Any]
# (relative path, valid?, report entry or None, a valid request's id and requested outputs or None)
Result = Tuple[str, bool, Optional[Entry], Optional[_requests.Facts]]


class Job(NamedTuple):
    kind: str
    src: str
    valid: str
    rejected: str
    profile: Profile
    requests: Optional[str]
    matching_ids: bool
    in_place: bool = False
    facts: Optional[str] = None  # (responses) the requests' facts file that validate-input wrote


def _entry(found: Findings) -> Entry:
    entry: Entry = {}
    if found.errors:
        entry["errors"] = found.errors
    if found.more_errors:
        entry["more_errors"] = found.more_errors
    if found.warnings:
        entry["warnings"] = found.warnings
    if found.more_warnings:
        entry["more_warnings"] = found.more_warnings
    return entry


def reserved(rel: str) -> bool:
    """A response path the run's folder keeps for its own files (_SUCCESS, _manifest.json, _rejected/...)."""
    return rel.startswith("_")


def check_one(job: Job, rel: str) -> Result:
    """The Result of one file."""
    if job.kind == "response" and reserved(rel):
        found = Findings()
        found.error("", "R0", "names starting with _ at the top of the output are the run's own files")
    elif rel.endswith(".json") or rel.lower().endswith(".json"):
        try:
            raw = _files.read_bytes(job.src + os.sep + rel)  # src has no trailing separator (main)
        except OSError as exc:
            found = Findings()
            found.error("", "R1", f"cannot read the file: {exc.strerror}")
        else:
            found, doc = check(raw, job.kind, job.profile)
            if job.requests is not None and isinstance(doc, dict):
                _requests.cross(job.requests, job.facts, job.matching_ids, rel, doc, found)
            elif job.kind == "request" and not found.errors:
                facts = _requests.facts_of(doc)
                entry = _entry(found) if found.warnings else None
                return rel, True, entry, facts if facts[0] is not None or facts[1] else None
    else:
        found = Findings()
        found.error("", "R0", "not a .json file")
    return rel, not found.errors, _entry(found) if found.errors or found.warnings else None, None


def check_files(job: Job, rels: List[str]) -> List[Result]:
    """A pool worker's share: check only; the main process places the files."""
    return [check_one(job, rel) for rel in rels]


def stored_name(rel: str) -> str:
    """A rejected file's name in the rejected folder: its own, except the report's and its escapes.

    ``_report.json`` followed by any number of ``~`` gets one more: no file can take the report's name,
    and no two files share one.
    """
    return rel + "~" if rel.rstrip("~") == REPORT else rel


def _rejected_path(job: Job, rel: str) -> str:
    return os.path.join(job.rejected, stored_name(rel))


def place_file(job: Job, result: Result, made: Set[str]) -> Result:
    """Put a checked file where it belongs; a valid one that cannot go fails the step.

    In place, a valid file is already where it belongs, and a rejected one that cannot be moved out fails the
    step too: left behind, it would reach the predictor.
    """
    rel, ok, entry, facts = result
    if job.in_place:
        if not ok:
            try:
                _files.move(os.path.join(job.src, rel), _rejected_path(job, rel), made)
            except OSError as exc:
                raise common.Fail(f"cannot move {rel} out to {job.rejected}: {exc.strerror}") from None
        return result
    src = os.path.join(job.src, rel)
    try:
        _files.link(src, os.path.join(job.valid, rel) if ok else _rejected_path(job, rel), made)
    except OSError as exc:
        if ok:
            raise common.Fail(f"cannot place {rel} in {job.valid}: {exc.strerror}") from None
        entry = dict(entry or {})
        note = {"pointer": "", "rule": "R0", "message": f"not copied to the rejected folder: {exc.strerror}"}
        entry["warnings"] = [*entry.get("warnings", []), note]
    return rel, ok, entry, facts


SERIAL_SECONDS = 0.02  # work that fits in this stays in one process: a pool would cost more than it saves


def run_checks(job: Job, files: List[str], jobs: int) -> List[Result]:
    """Check and place every file: the first ones here, the rest (if the work is big enough) with a pool."""
    made: Set[str] = set()
    if jobs <= 1:
        checked = check_files(job, files)
    else:
        checked, start = [], time.monotonic()
        for rel in files:
            if time.monotonic() - start >= SERIAL_SECONDS:
                break
            checked.append(check_one(job, rel))
    results = _placed(job, checked, made)
    rest = files[len(results) :]
    if not rest:
        return results
    size = max(1, min(256, len(rest) // (jobs * 8)))
    chunks = [rest[i : i + size] for i in range(0, len(rest), size)]
    context = None
    if sys.platform.startswith("linux"):
        import multiprocessing

        context = multiprocessing.get_context("fork")  # workers inherit the loaded modules: no re-import
    parts = (
        _checked_with_pool(job, chunks, jobs, context)
        if job.in_place
        else _checked_by_pool(job, chunks, jobs, context)
    )
    for part in parts:
        results += _placed(job, part, made)
    return results


def _placed(job: Job, part: List[Result], made: Set[str]) -> List[Result]:
    """The part's files placed; a valid file checked in place needs nothing, not even a call (hot path)."""
    if job.in_place:
        return [result if result[1] else place_file(job, result, made) for result in part]
    return [place_file(job, result, made) for result in part]


def _checked_by_pool(job: Job, chunks: List[List[str]], jobs: int, context: Any) -> Iterator[List[Result]]:
    """Every chunk checked by a pool of ``jobs`` workers; this process places each finished chunk meanwhile.

    Links into one folder serialize in the kernel anyway; here they overlap the checks instead of contending.
    """
    with ProcessPoolExecutor(max_workers=min(jobs, len(chunks)), mp_context=context) as pool:
        yield from pool.map(check_files, [job] * len(chunks), chunks)


def _checked_with_pool(job: Job, chunks: List[List[str]], jobs: int, context: Any) -> Iterator[List[Result]]:
    """Chunks checked by ``jobs - 1`` workers and by this process, which has next to nothing to place.

    This process takes chunks from the back while the pool takes them from the front, until it meets one the
    pool has started (a pending future can still be cancelled).
    """
    with ProcessPoolExecutor(max_workers=min(jobs - 1, len(chunks)), mp_context=context) as pool:
        futures = [pool.submit(check_files, job, chunk) for chunk in chunks]
        own: Dict[int, List[Result]] = {}
        for index in range(len(chunks) - 1, -1, -1):
            if not futures[index].cancel():
                break
            own[index] = check_files(job, chunks[index])
        for index, future in enumerate(futures):
            yield own[index] if index in own else future.result()


def _policy(args: argparse.Namespace, failures: int, total: int) -> Tuple[bool, str]:
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


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="validate", description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("kind", choices=("request", "response"), help="what the files are")
    add("src", metavar="SRC_DIR", help="folder to check (walked recursively)")
    add(
        "--valid", required=True, help="folder that receives the valid files (SRC_DIR itself: check in place)"
    )
    add("--rejected", required=True, help="folder that receives the rejected files and _report.json")
    add("--max-rejected", type=int, help="allow up to N rejected (or missing) files")
    add("--max-rejected-fraction", type=_fraction, help="allow up to this fraction of the files rejected")
    add("--requests", help="(response) folder of the requests, for the cross-file checks")
    add("--facts", help="(request) write each valid request's id and requested outputs to this file")
    add("--request-facts", help="(response) the --facts file of the requests, read instead of each request")
    add("--require-one-per-request", action="store_true", help="every request needs a response (R23)")
    add("--require-matching-ids", action="store_true", help="a response carries its request's id (R23)")
    add("--summary", help="write {checked, valid, rejected, missing} as compact JSON to this file")
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
    parser.set_defaults(fp16=True, unnatural=False)
    return parser


def _report(job: Job, results: List[Result], missing: List[str]) -> Tuple[Entry, Counter[str]]:
    rejected: List[Entry] = []
    warned: List[Entry] = []
    rules: Counter[str] = Counter()
    for rel, ok, entry, _ in results:
        if not ok and entry is not None:
            renamed = {"stored_as": stored_name(rel)} if stored_name(rel) != rel else {}
            rejected.append({"file": rel, **renamed, **entry})
            rules.update({err["rule"] for err in entry["errors"]})
        elif entry is not None:
            warned.append({"file": rel, **entry})
    valid = sum(1 for result in results if result[1])
    report: Entry = {"kind": job.kind, "checked": len(results), "valid": valid, "rejected": len(rejected)}
    report["files"] = rejected
    if warned:
        report["warnings"] = warned
    if job.requests is not None:
        report["missing"] = missing
    return report, rules


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    prog = "validate-input" if args.kind == "request" else "validate-output"
    if not os.path.isdir(args.src):
        raise common.Fail(f"source folder {args.src} does not exist")
    profile = Profile(
        fp16=args.fp16,
        bf16=args.allow_bf16,
        nan_tokens=args.allow_nan_tokens,
        null_as_nan=args.allow_null_as_nan,
        relaxed_output_parameters=args.relaxed_output_parameters,
        unnatural_nesting=args.unnatural,
        max_depth=args.max_depth,
        strict_integers=args.strict_integers,
        require_response_id=args.require_response_id,
    )
    requests = args.requests if args.kind == "response" else None
    in_place = os.path.realpath(args.valid) == os.path.realpath(args.src)
    args.src = args.src.rstrip(os.sep) or os.sep
    facts = args.request_facts if args.kind == "response" else None
    if facts is not None and not os.path.isfile(facts):
        raise common.Fail(
            f"the requests' facts file {facts} does not exist (validate-input --facts writes it)"
        )
    job = Job(
        args.kind,
        args.src,
        args.valid,
        args.rejected,
        profile,
        requests,
        args.require_matching_ids,
        in_place,
        facts,
    )
    if common.inside(os.path.realpath(args.src), os.path.realpath(args.rejected)):
        raise common.Fail(f"the rejected folder {args.rejected} must not lie inside {args.src}")
    os.makedirs(args.valid, exist_ok=True)
    os.makedirs(args.rejected, exist_ok=True)
    files = common.walk_files(args.src)
    # Parsed documents hold no reference cycles: the cyclic collector would only rescan them (a few % on
    # many small files). Reference counting still frees each document when its check ends.
    gc.disable()
    try:
        results = run_checks(job, files, args.jobs or _files.cores())
    finally:
        gc.enable()
    missing: List[str] = []
    if requests is not None and args.require_one_per_request:
        present = set(files)
        missing = [rel for rel in common.walk_files(requests) if rel.endswith(".json") and rel not in present]
    report, rules = _report(job, results, missing)
    passed, policy = _policy(args, report["rejected"] + len(missing), len(results) + len(missing))
    report["policy"] = {"passed": passed, "rule": policy}
    common.write_json(os.path.join(args.rejected, REPORT), report)
    if args.facts and args.kind == "request":
        known = {rel: [found[0], found[1]] for rel, ok, _, found in results if ok and found is not None}
        common.write_json(args.facts, known, indent=None)
    counts = {k: report[k] for k in ("checked", "valid", "rejected")}
    counts["missing"] = len(missing)
    if args.summary:
        common.write_json(args.summary, counts, indent=None)
    if not args.quiet:
        for entry in report["files"][:20]:
            first = entry["errors"][0]
            common.log(
                prog,
                f"rejected {entry['file']}: {first['rule']} at {first['pointer'] or '/'}: {first['message']}",
            )
    detail = ", ".join(f"{rule} x{n}" for rule, n in sorted(rules.items(), key=lambda kv: (-kv[1], kv[0])))
    line = f"{counts['checked']} checked, {counts['valid']} valid, {counts['rejected']} rejected"
    line += f" ({detail})" if detail else ""
    line += f", {len(missing)} missing" if missing else ""
    line += f" -> {'OK' if passed else 'FAILED'} (policy: {policy})"
    print(f"{prog}: {line}", file=sys.stdout if passed else sys.stderr, flush=True)
    return 0 if passed or args.record_verdict else 1


if __name__ == "__main__":
    sys.exit(common.run_main("validate", main, None))
