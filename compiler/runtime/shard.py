"""shard: split a run's input into shards (plan), and join what the shards wrote into one run (merge).

Usage: shard.py plan --source CONN:PATH --dest CONN:PATH --request-id ID --shards N [--cap C]
                     [--results-dir DIR] [--repartition] [--service S] [--replace-output true|false]
                     [--rclone PATH] [--config FILE] [--timeout S]
       shard.py merge --dest CONN:PATH --request-id ID --shards N [--max-rejected N] [--source CONN:PATH]
                      [--max-rejected-fraction F] [--service S] [--rclone PATH] [--config FILE] [--timeout S]

The run's folder is ``CONN:PATH/<request-id>/``; the shards' files are under its ``_shards/``. plan claims
the run's folder as the PipelineRun (``_claim.py``: ``ODAHU_RUN_UID``; another job's work or other data
there is refused unless --replace-output true), lists the source once, gives each key a shard
(``_partition.py``; N clamped to --cap), removes the run's ``_SUCCESS`` and the shards' old manifests and
reports, uploads ``_shards/<i>/files.txt`` per shard (its keys, sorted, one a line, for ``rclone copy
--files-from-raw``) then ``_shards/partition.json``, and writes the Tekton results ``shard-ids``,
``shard-count`` and ``request-id`` (the resolved id) into --results-dir. A rerun over the same keys keeps
the stored partition; other keys fail unless --repartition. merge reads what ``sync_output.py --shard <i>``
wrote: outputs in the run's folder, rejected files in ``_rejected/<kind>/``, reports in
``_shards/<i>/_rejected/<kind>/``, last ``_shards/<i>/_manifest.json``. A missing manifest fails, naming the
shards. It checks each shard's file count and that no two shards wrote one file, checks the claim is still
this run's, deletes what no shard lists (earlier attempts of this job), and writes the merged reports,
``_manifest.json`` (``shard`` on each input and output, ``rejected_shards``, ``shards``), last ``_SUCCESS``,
unless the whole run's validation policy failed: then it exits 1 with everything else in storage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from typing import Any, Dict, List, Optional, Sequence, Tuple

try:
    from . import _claim as claim
    from . import _common as common
    from . import _partition as part
    from ._validate_cli import fraction, policy
except ImportError:  # run as a plain file next to its siblings
    import _claim as claim  # type: ignore[no-redef,import-not-found]
    import _common as common  # type: ignore[no-redef,import-not-found]
    import _partition as part  # type: ignore[no-redef,import-not-found]
    from _validate_cli import fraction, policy  # type: ignore[no-redef,import-not-found]

PROG = "shard"
KINDS = ("input", "output")
REPORT = "_report.json"
META = ("request_id", "service", "source", "model_name", "model_version", "image")
NOT_FOUND = (0, 3, 4)  # rclone's exit codes for "directory not found" and "file not found"
LSJSON = common.LSJSON
Doc = Dict[str, Any]


def _keys(step: str, listing: str) -> List[str]:
    """Every object of an ``rclone lsjson`` listing, relative, sorted."""
    return sorted(common.listed(step, listing))


def _read_json(path: str, where: str) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError) as exc:
        raise common.Fail(f"cannot read {where}: {exc}") from None


def plan(args: argparse.Namespace) -> str:
    rid = common.request_id(args.request_id)
    shards = min(args.shards, args.cap or args.shards)
    if shards < args.shards:
        common.log(PROG, f"{args.shards} shards asked, clamped to the cap of {shards}")
    rclone = common.Rclone(args.rclone, args.config, args.timeout)
    folder = args.dest.rstrip("/") + "/" + rid
    store = folder + "/_shards"
    # The run claims its folder before anything is written; merge checks the claim before _SUCCESS.
    _folder(args, rclone, rid).claim(args.replace_output == "true")
    listing, stored = rclone.run_all([
        ("list the input", [*LSJSON, args.source], (0,)),
        ("read the stored partition", ["cat", store + "/partition.json"], NOT_FOUND),
    ])  # fmt: skip
    keys = _keys("list the input", listing)
    bad = [key for key in keys if part.key_problem(key)]
    if bad:
        raise common.Fail(f"{len(bad)} keys cannot be listed, e.g. {bad[0]!r}: {part.key_problem(bad[0])}")
    if stored.strip() and not args.repartition:
        where = store + "/partition.json"
        try:
            old = part.load_partition(json.loads(stored), rid, where)
        except ValueError as exc:
            raise common.Fail(f"{where} is not valid JSON ({exc}); rerun with --repartition") from None
        added, removed = set(keys) - set(old["files"]), set(old["files"]) - set(keys)
        if added or removed:
            raise common.Fail(
                f"the input changed since request {rid} was partitioned ({len(added)} objects added, "
                f"{len(removed)} removed); rerun with --repartition to partition it again"
            )
        assignment, shards = old["files"], old["shards"]
        common.log(PROG, f"kept the stored partition ({shards} shards) of the same {len(keys)} objects")
    else:
        assignment = part.partition(keys, shards)
    results = {**part.plan_results(shards), "request-id": rid}  # every task of the run uses this id
    part.check_results_size(results)
    old_files = ["--include", "/*/_manifest.json", "--include", "/*/_rejected/**"]
    rclone.run_all([
        ("remove the old success marker", ["deletefile", folder + "/_SUCCESS"], NOT_FOUND),
        ("remove the shards' old manifests", ["delete", store, *old_files], NOT_FOUND),
    ])  # fmt: skip
    lists = part.file_lists(assignment, shards)
    with tempfile.TemporaryDirectory() as tmp:
        for shard, names in enumerate(lists):
            os.makedirs(os.path.join(tmp, str(shard)))
            with open(os.path.join(tmp, str(shard), "files.txt"), "wb") as fh:
                fh.write(part.files_txt(names))
        common.write_json(
            os.path.join(tmp, "partition.json"), part.partition_doc(rid, shards, assignment), indent=None
        )
        # One sync: the lists of shards beyond N (an older, larger partition) go too.
        ours = ["--include", "/*/files.txt", "--include", "/partition.json"]
        rclone.run("upload the file lists and the partition", ["sync", tmp, store, *ours])
    if args.results_dir:
        os.makedirs(args.results_dir, exist_ok=True)
        for name, value in results.items():
            with open(os.path.join(args.results_dir, name), "w", encoding="utf-8") as fh:
                fh.write(value)
    sizes = sorted(len(names) for names in lists)
    return f"{len(keys)} objects in {shards} shards ({sizes[0]} to {sizes[-1]} each), lists in {store}/"


def _folder(args: argparse.Namespace, rclone: common.Rclone, rid: str) -> claim.Folder:
    """The run's folder as this PipelineRun (its uid, the same in plan and merge) writes it."""
    job = {"request_id": rid, "service": args.service or "", "source": args.source or ""}
    token = os.environ.get("ODAHU_RUN_UID", "").strip()
    if not token:
        raise common.Fail("ODAHU_RUN_UID is not set: the sharded run's uid names its claim on the folder")
    return claim.Folder(rclone, args.dest.rstrip("/") + "/" + rid, token, job)


def _entries(doc: Doc, field: str, shard: int) -> List[Doc]:
    entries = doc.get(field) or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "file" in e for e in entries):
        raise common.Fail(f"shard {shard}'s manifest: {field} is not a list of file entries")
    return entries


def _claim(owners: Dict[str, int], name: str, shard: int, what: str) -> None:
    other = owners.setdefault(name, shard)
    if other != shard:
        raise common.Fail(f"shards {other} and {shard} both wrote {what} {name!r}; names must differ")


def merge_manifests(docs: List[Doc], lists: List[List[str]]) -> Doc:
    """One run's manifest from its shards' (docs[i] is shard i's); every file is listed once."""
    merged: Doc = {}
    for field in META:
        values = sorted({str(doc.get(field) or "") for doc in docs})
        if len(values) > 1:
            raise common.Fail(f"the shards disagree on {field}: {' / '.join(values)}")
        merged[field] = values[0]
    inputs: List[Doc] = []
    outputs: List[Doc] = []
    writers: Dict[str, int] = {}
    rejected: Dict[str, Dict[str, int]] = {kind: {} for kind in KINDS}
    for shard, doc in enumerate(docs):
        processed = _entries(doc, "inputs", shard)
        inputs += [{**entry, "shard": shard} for entry in processed]
        for entry in _entries(doc, "outputs", shard):
            _claim(writers, str(entry["file"]), shard, "the output")
            outputs.append({**entry, "shard": shard})
        listed = doc.get("rejected") or {}
        for kind in KINDS:
            for name in listed.get(kind) or []:
                _claim(rejected[kind], str(name), shard, f"the rejected {kind}")
        handled = len(processed) + len(listed.get("input") or [])
        if handled != len(lists[shard]):
            raise common.Fail(
                f"shard {shard} processed {handled} input files, its list holds {len(lists[shard])}: "
                "objects vanished from the source during the run, or the shard read another list"
            )
    counts: Doc = {}
    for kind in KINDS:
        shard_counts = [(doc.get("counts") or {}).get(kind) or {} for doc in docs]
        common_keys = set.intersection(*(set(c) for c in shard_counts))
        counts[kind] = {key: sum(int(c[key]) for c in shard_counts) for key in common_keys}
    merged.update(counts=counts, shards=len(docs))
    merged["inputs"] = sorted(inputs, key=lambda e: str(e["file"]))
    merged["outputs"] = sorted(outputs, key=lambda e: str(e["file"]))
    merged["rejected"] = {kind: sorted(rejected[kind]) for kind in KINDS}
    merged["rejected_shards"] = rejected
    return merged


def merge_reports(reports: List[Tuple[int, Doc]], shards: int) -> Doc:
    """One validation report from the shards' (``shard`` added to every file entry)."""
    merged: Doc = {"kind": reports[0][1].get("kind"), "shards": shards}
    for key in ("checked", "valid", "rejected"):
        merged[key] = sum(int(report.get(key) or 0) for _, report in reports)
    for key in ("files", "warnings"):
        entries = [{**e, "shard": i} for i, report in reports for e in report.get(key) or []]
        if entries or key == "files":
            merged[key] = sorted(entries, key=lambda e: str(e.get("file")))
    if any("missing" in report for _, report in reports):
        merged["missing"] = sorted(str(m) for _, report in reports for m in report.get("missing") or [])
    rules = sorted({str((report.get("policy") or {}).get("rule") or "") for _, report in reports})
    passed = all((report.get("policy") or {}).get("passed", True) for _, report in reports)
    merged["policy"] = {"passed": passed, "rule": "; ".join(rules)}
    return merged


def _run_policy(args: argparse.Namespace, kind: str, report: Doc) -> Optional[str]:
    """The validation policy over the whole run (each shard only checked its own share): why it fails."""
    if args.max_rejected is None and args.max_rejected_fraction is None:
        return None
    missing = len(report.get("missing") or [])
    failures, total = int(report["rejected"]) + missing, int(report["checked"]) + missing
    passed, rule = policy(args, failures, total)
    report["policy"] = {"passed": passed, "rule": f"{rule} (whole run)"}
    if passed:
        return None
    return (f"{kind} validation of the whole run: {failures} of {total} files rejected or missing, the "
            f"policy allows {rule}")  # fmt: skip


_fold = common.fold


PRUNE_SCOPE = ["--exclude", "/_shards/**", "--exclude", "/_manifest*.json", "--exclude", "/_SUCCESS*",
               "--exclude", "/" + claim.CLAIM]  # fmt: skip


def prune(rclone: common.Rclone, folder: str, listing: str, doc: Doc) -> int:
    """Delete what no shard lists (stale files of earlier attempts); fail if a listed file is not there.

    ``listing`` is the run folder's (``lsjson`` in PRUNE_SCOPE), taken once every shard had finished.
    """
    reports = {f"_rejected/{kind}/{REPORT}" for kind in KINDS}
    present = [name for name in _keys("list the run folder", listing) if name not in reports]
    wanted = {_fold(str(e["file"])) for e in doc["outputs"]}
    wanted.update(_fold(f"_rejected/{kind}/{name}") for kind in KINDS for name in doc["rejected"][kind])
    absent = sorted(wanted - {_fold(name) for name in present})
    if absent:
        raise common.Fail(f"{len(absent)} files the shards list are not in {folder}, e.g. {absent[0]!r}")
    stale = [name for name in present if _fold(name) not in wanted and not part.key_problem(name)]
    if stale:
        with tempfile.TemporaryDirectory() as tmp:
            listing = os.path.join(tmp, "stale.txt")
            with open(listing, "wb") as fh:
                fh.write(part.files_txt(stale))
            rclone.run("delete stale files", ["delete", folder, "--files-from-raw", listing])
    return len(stale)


def merge(args: argparse.Namespace) -> str:
    rid = common.request_id(args.request_id)
    rclone = common.Rclone(args.rclone, args.config, args.timeout)
    folder = args.dest.rstrip("/") + "/" + rid
    store = folder + "/_shards"
    with tempfile.TemporaryDirectory() as tmp:
        wanted = ["/partition.json", "/*/_manifest.json", f"/*/_rejected/*/{REPORT}"]
        filters = [arg for pattern in wanted for arg in ("--include", pattern)]
        _, _, listing = rclone.run_all([
            ("remove the old success marker", ["deletefile", folder + "/_SUCCESS"], NOT_FOUND),
            ("download the shards' manifests", ["copy", store, tmp, *filters], NOT_FOUND),
            ("list the run folder", [*LSJSON, folder, *PRUNE_SCOPE], NOT_FOUND),
        ])  # fmt: skip
        if not os.path.isfile(os.path.join(tmp, "partition.json")):
            raise common.Fail(f"{store}/partition.json is missing: shard.py plan did not run for {rid}")
        stored = _read_json(os.path.join(tmp, "partition.json"), store + "/partition.json")
        partition = part.load_partition(stored, rid, store + "/partition.json")
        if partition["shards"] != args.shards:
            raise common.Fail(f"request {rid} has {partition['shards']} shards, not {args.shards}")
        manifests = [os.path.join(tmp, str(i), "_manifest.json") for i in range(args.shards)]
        missing = [str(i) for i, path in enumerate(manifests) if not os.path.isfile(path)]
        if missing:
            raise common.Fail(
                f"{len(missing)} of {args.shards} shards wrote no manifest (shards {', '.join(missing)}): "
                f"they failed or did not finish, so {folder} gets no _SUCCESS"
            )
        docs = [_read_json(path, f"{store}/{i}/_manifest.json") for i, path in enumerate(manifests)]
        reports: Dict[str, List[Tuple[int, Doc]]] = {kind: [] for kind in KINDS}
        for kind in KINDS:
            for i in range(args.shards):
                path = os.path.join(tmp, str(i), "_rejected", kind, REPORT)
                if os.path.isfile(path):
                    reports[kind].append((i, _read_json(path, f"{store}/{i}/_rejected/{kind}/{REPORT}")))
    if not all(isinstance(doc, dict) for doc in docs):
        raise common.Fail("a shard manifest is not a JSON object")
    doc = merge_manifests(docs, part.file_lists(partition["files"], args.shards))
    if doc["request_id"] != rid:
        raise common.Fail(f"the shards' manifests are for request {doc['request_id']!r}, not {rid!r}")
    merged = {kind: merge_reports(reports[kind], args.shards) for kind in KINDS if reports[kind]}
    # The shards only recorded their verdicts (a retried shard would compute the same one again); the run's
    # verdict is applied here, once the reports and the manifest are in storage.
    failed = [why for why in (_run_policy(args, kind, report) for kind, report in merged.items()) if why]
    owner = _folder(args, rclone, rid)
    owner.check("remove stale files")
    removed = prune(rclone, folder, listing, doc)
    with tempfile.TemporaryDirectory() as tmp:
        for kind, report in merged.items():
            common.write_json(os.path.join(tmp, "_rejected", kind, REPORT), report)
        common.write_json(os.path.join(tmp, "_manifest.json"), doc)
        rclone.run("upload the reports and the manifest", ["copy", tmp, folder])
        if not failed:
            marker = os.path.join(tmp, "_SUCCESS")
            open(marker, "wb").close()
            owner.check("write the success marker")
            rclone.run("write the success marker", ["copyto", marker, folder + "/_SUCCESS"])
    rejected = sum(len(names) for names in doc["rejected"].values())
    if failed:
        raise common.Fail(f"{folder}: reports and manifest written, no _SUCCESS: " + "; ".join(failed))
    return (
        f"{folder}: {args.shards} shards, {len(doc['outputs'])} outputs, {rejected} rejected files, "
        f"{removed} stale files removed, _SUCCESS written"
    )


def _count(text: str) -> int:
    value = int(text)
    if not 1 <= value <= part.MAX_SHARDS:
        raise argparse.ArgumentTypeError(f"must be from 1 to {part.MAX_SHARDS}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="{plan,merge}")
    plan_cmd = commands.add_parser("plan", help="partition the input into shards")
    merge_cmd = commands.add_parser("merge", help="merge the shards' manifests; write _SUCCESS")
    for sub in (plan_cmd, merge_cmd):
        sub.add_argument("--dest", required=True, help="CONN:PATH; the run is CONN:PATH/<request-id>/")
        sub.add_argument("--request-id", default="", help="request id (default: $ODAHU_RUN_UID)")
        sub.add_argument("--shards", type=_count, required=True, help="shard count N (1..256)")
        sub.add_argument("--rclone", help="rclone binary (default: $ODAHU_RCLONE or rclone)")
        sub.add_argument("--config", help="rclone config (default: $RCLONE_CONFIG)")
        sub.add_argument("--timeout", type=float, default=4 * 3600, help="time limit, s (default 4 h)")
        sub.add_argument("--service", help="InferenceService name: with the request id and source, the job")
    plan_cmd.add_argument("--source", required=True, help="CONN:PATH of the input objects")
    merge_cmd.add_argument("--source", help="CONN:PATH of the input objects (recorded in the claim)")
    plan_cmd.add_argument("--replace-output", choices=("true", "false"), default="false",
                          help="true: take over a folder holding another job's work")  # fmt: skip
    plan_cmd.add_argument("--cap", type=_count, help="the most shards of one run (N is clamped to it)")
    plan_cmd.add_argument("--results-dir", help="folder for the results shard-ids, shard-count, request-id")
    plan_cmd.add_argument("--repartition", action="store_true", help="partition again if the input changed")
    merge_cmd.add_argument("--max-rejected", type=int, help="run-wide: allow N rejected or missing")
    merge_cmd.add_argument("--max-rejected-fraction", type=fraction, help="run-wide: allow this fraction")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    common.log(PROG, plan(args) if args.command == "plan" else merge(args))
    return 0


if __name__ == "__main__":
    sys.exit(common.run_main(PROG, main, None))
