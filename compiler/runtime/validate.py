"""validate-input / validate-output: check every file of a folder against the Predict Protocol V2.

Usage: validate.py request|response SRC_DIR --valid DIR --rejected DIR [policy] [--requests DIR ...] [profile]
       [--odahu-responses --model-meta FILE | --model-name N --model-version V]   (see _odahu.py)

Valid files are hard-linked (else copied) unchanged to --valid, rejected ones to --rejected, both under
their relative path. With --valid naming SRC_DIR itself the check is in place: valid files stay where they
are (no directory operation per file) and rejected ones are moved out to --rejected, so SRC_DIR ends up
holding exactly the valid files. ``<rejected>/_report.json`` names each rejected file with a JSON pointer,
rule id and message per error (at most 20 kept per file), lists the warnings, and for responses the missing
ones. Rule R0 rejects a file as a file: not .json, a symlink (never followed), larger than
--max-file-bytes (refused unread), a response named like the run's own files (``_...`` at the top), or
one whose checks could not finish (any exception, MemoryError too). The whole pass always finishes before
the policy decides the exit code: by default any rejection fails (exit 1); --max-rejected N /
--max-rejected-fraction F allow some (every limit given must hold). With --record-verdict the verdict is
only recorded (the report's ``policy``) and the exit code is 0: in a Task a failing step makes Tekton skip
every later one, the upload included, so sync-output applies the verdict once the rejected files and
reports are in storage. Files are checked in parallel on the pod's cores. Rules: README.md (R0-R24 of
docs/reference/v2-protocol.md).

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
    from . import _files, _odahu, _requests
    from . import _validate_cli as validate_cli
    from .v2rules import Findings, Profile, check
except ImportError:  # run as a plain file next to its siblings
    import _common as common  # type: ignore[no-redef,import-not-found]
    import _files  # type: ignore[no-redef,import-not-found]
    import _odahu  # type: ignore[no-redef,import-not-found]
    import _requests  # type: ignore[no-redef,import-not-found]
    import _validate_cli as validate_cli  # type: ignore[no-redef,import-not-found]
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
    max_bytes: int = _files.MAX_FILE_BYTES  # a larger file is rejected unread


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
    """The Result of one file; whatever goes wrong on it (a bug, MemoryError) is that file's rejection."""
    try:
        return _check_one(job, rel)
    except Exception as exc:  # one file must never stop the pass, its report or the policy
        found = Findings()
        found.error("", "R0", f"the checks could not finish: {_describe(exc)}")
        return rel, False, _entry(found), None


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _check_one(job: Job, rel: str) -> Result:
    found = Findings()
    path = job.src + os.sep + rel  # src has no trailing separator (main)
    if os.path.islink(path):
        found.error("", "R0", "a symbolic link: never followed, its target is not checked")
    elif job.kind == "response" and reserved(rel):
        found.error("", "R0", "names starting with _ at the top of the output are the run's own files")
    elif not (rel.endswith(".json") or rel.lower().endswith(".json")):
        found.error("", "R0", "not a .json file")
    else:
        try:
            raw = _files.read_bytes(path, job.max_bytes)
        except _files.TooBig as exc:
            limit = f"the per-file limit {job.max_bytes} (maxFileBytes)"
            found.error("", "R0", f"{exc.size} bytes, larger than {limit}: refused unread")
        except OSError as exc:
            found.error("", "R1", f"cannot read the file: {exc.strerror}")
        else:
            found, doc = check(raw, job.kind, job.profile)
            del raw  # the parsed document is what the rest needs: the bytes go before the cross checks
            if job.requests is not None and isinstance(doc, dict):
                _requests.cross(job.requests, job.facts, job.matching_ids, rel, doc, found)
            elif job.kind == "request" and not found.errors:
                facts = _requests.facts_of(doc)
                entry = _entry(found) if found.warnings else None
                return rel, True, entry, facts if facts[0] is not None or facts[1] else None
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


def _odahu_results(
    job: Job, args: argparse.Namespace, results: List[Result]
) -> Tuple[List[Result], List[str]]:
    """ODAHU-style responses: paired to requests beyond their names, a missing model_name filled."""
    assert job.requests is not None
    meta = common.model_meta(args.model_meta, args.model_name, args.model_version)
    paired, unpaired = _odahu.pair(job.src, job.requests, job.facts, results)
    return _odahu.fill_all(job.valid, paired, meta), unpaired


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = validate_cli.parser(__doc__.split("\n\n")[0]).parse_args(argv)
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
        require_model_name=not (args.odahu_responses and args.kind == "response"),
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
        args.max_file_bytes,
    )
    if common.inside(os.path.realpath(args.src), os.path.realpath(args.rejected)):
        raise common.Fail(f"the rejected folder {args.rejected} must not lie inside {args.src}")
    os.makedirs(args.valid, exist_ok=True)
    os.makedirs(args.rejected, exist_ok=True)
    files = common.walk_files(args.src, dir_links=True)  # a linked folder is rejected, never left unchecked
    # Parsed documents hold no reference cycles: the cyclic collector would only rescan them (a few % on
    # many small files). Reference counting still frees each document when its check ends.
    gc.disable()
    try:
        results = run_checks(job, files, args.jobs or _files.cores())
    finally:
        gc.enable()
    missing: List[str] = []
    if requests is not None and args.odahu_responses:
        results, unpaired = _odahu_results(job, args, results)
        missing = unpaired if args.require_one_per_request else []
    elif requests is not None and args.require_one_per_request:
        present = set(files)
        missing = [rel for rel in common.walk_files(requests) if rel.endswith(".json") and rel not in present]
    report, rules = _report(job, results, missing)
    passed, policy = validate_cli.policy(args, report["rejected"] + len(missing), len(results) + len(missing))
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
