"""sync-output: upload the validated output, the rejected files and reports, the manifest, then _SUCCESS.

Usage: sync_output.py --output DIR --rejected DIR --dest CONN:PATH --request-id ID [--inputs DIR]
       [--model-meta FILE | --model-name N --model-version V] [--image IMAGE] [--service NAME]
       [--source CONN:PATH] [--replace-output true|false] [--input-summary F] [--output-summary F]
       [--rclone PATH] [--config FILE] [--shard ID] [--timeout S]

The run's folder is ``CONN:PATH/<request-id>/``. Outputs whose path starts with ``_`` are refused: those
names are the folder's own. The counts go to --input-summary / --output-summary (Task results) first. Then
(``_claim.py``): the folder is claimed (refused if it holds another job's work, unless --replace-output
true, or objects no run wrote), the old ``_SUCCESS`` removed; the output and the rejected files
(``_rejected/input/`` and ``output/``, each with its ``_report.json``) are copied, never synced, so nothing
of anyone else's is deleted; the claim is checked and files this job left there earlier that this run did
not write are removed; ``_manifest.json`` is written (no timestamps: a rerun gives the same bytes); the
listing must equal what this run uploaded; ``_SUCCESS`` is written last, and only if the validators'
recorded verdicts passed. A failed verdict exits 1 after all that, naming the policy. Any failed upload
exits 1 naming the step and rclone's error, and no ``_SUCCESS`` is written. With ``--shard ID`` (an empty
ID: not sharded) several pods share the folder and ``shard.py merge`` finishes the run (and applies the
verdict): the shard's old ``_shards/<ID>/_manifest.json`` is deleted; at once, outputs are copied (not
synced) into the folder, rejected files copied to ``_rejected/`` and their reports synced to
``_shards/<ID>/_rejected/``; last ``_shards/<ID>/_manifest.json`` (with ``shard``). The run's ``_SUCCESS``
and ``_manifest.json`` are never touched.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import uuid
from typing import Any, Dict, List, Optional, Sequence

try:
    from . import _claim as claim
    from . import _common as common
except ImportError:  # run as a plain file next to its siblings
    import _claim as claim  # type: ignore[no-redef,import-not-found]
    import _common as common  # type: ignore[no-redef,import-not-found]

PROG = "sync-output"
REPORT = "_report.json"
KINDS = ("input", "output")
MANIFEST, SUCCESS = "_manifest.json", "_SUCCESS"
# What a shard's output upload leaves alone in the run's folder: the rejected files and the run's markers.
SCOPE = ["--exclude", "/_rejected/**", "--exclude", "/_manifest*.json", "--exclude", "/_SUCCESS*"]


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _counts(rejected: str, kind: str) -> Dict[str, int]:
    path = os.path.join(rejected, kind, REPORT)
    try:
        with open(path, encoding="utf-8") as fh:
            report = json.load(fh)
        counts = {key: int(report[key]) for key in ("checked", "valid", "rejected")}
        counts["missing"] = len(report.get("missing") or [])
        return counts
    except (OSError, ValueError, KeyError, TypeError):
        rejected_files = [f for f in common.walk_files(os.path.join(rejected, kind)) if f != REPORT]
        return {"rejected": len(rejected_files)}


def manifest(args: argparse.Namespace, rid: str, meta: Dict[str, str]) -> Dict[str, Any]:
    """Everything a consumer needs to trust the folder; sorted, without timestamps."""
    outputs = [
        {
            "file": rel,
            "size": os.path.getsize(os.path.join(args.output, rel)),
            "sha256": _sha256(os.path.join(args.output, rel)),
        }
        for rel in common.walk_files(args.output)
    ]
    inputs = [
        {"file": rel, "size": os.path.getsize(os.path.join(args.inputs, rel))}
        for rel in (common.walk_files(args.inputs) if args.inputs else [])
    ]
    rejected = {
        kind: [f for f in common.walk_files(os.path.join(args.rejected, kind)) if f != REPORT]
        for kind in KINDS
    }
    doc: Dict[str, Any] = {
        "request_id": rid,
        "service": args.service or "",
        "source": args.source or "",
        "model_name": meta["name"],
        "model_version": meta["version"],
        "image": args.image or "",
        "counts": {kind: _counts(args.rejected, kind) for kind in KINDS},
        "inputs": inputs,
        "outputs": outputs,
        "rejected": rejected,
    }
    doc["counts"]["output"]["files"] = len(outputs)
    doc["counts"]["input"]["files"] = len(inputs)
    if args.shard:
        doc["shard"] = args.shard
    return doc


def verdict(rejected: str) -> List[str]:
    """The validation policies that failed, as the validators recorded them (empty: the run passes)."""
    failed = []
    for kind in KINDS:
        try:
            with open(os.path.join(rejected, kind, REPORT), encoding="utf-8") as fh:
                policy = json.load(fh).get("policy") or {}
        except (OSError, ValueError, AttributeError):
            continue  # no report: that validator did not run, so it gave no verdict
        if policy.get("passed") is False:
            counts = _counts(rejected, kind)
            failed.append(
                f"{kind}: {counts.get('rejected', 0)} rejected, {counts.get('missing', 0)} missing "
                f"(policy: {policy.get('rule', '?')})"
            )
    return failed


def write_results(args: argparse.Namespace) -> None:
    """The run's counts as Task results, from the reports the user step cannot reach.

    Every step mounts /tekton/results and Tekton keeps the last value a step wrote for a result
    (tektoncd/pipeline v1.15.0 pkg/pod/status.go removeDuplicateResults; each step's entrypoint reads the
    files after it ends, pkg/entrypoint/entrypointer.go readResultsFromDisk): written here, in the last
    step, whatever the predictor put there is replaced.
    """
    for kind, path in (("input", args.input_summary), ("output", args.output_summary)):
        if path:
            counts = _counts(args.rejected, kind)
            counts.pop("files", None)
            common.write_json(path, counts, indent=None)


def _local_files(args: argparse.Namespace) -> Dict[str, int]:
    """What this run puts in its folder, with sizes, as the store names it."""
    files = {rel: os.path.getsize(os.path.join(args.output, rel)) for rel in common.walk_files(args.output)}
    for rel in common.walk_files(args.rejected):
        files[f"_rejected/{rel}"] = os.path.getsize(os.path.join(args.rejected, rel))
    return files


def upload(args: argparse.Namespace) -> str:
    rid = common.request_id(args.request_id)
    meta = common.model_meta(args.model_meta, args.model_name, args.model_version)
    if not os.path.isdir(args.output):
        raise common.Fail(f"output folder {args.output} does not exist")
    taken = [rel for rel in common.walk_files(args.output) if rel.startswith("_")]
    if taken:
        raise common.Fail(f"{len(taken)} outputs take names of the run's own files, e.g. {taken[0]!r}")
    write_results(args)
    failed = verdict(args.rejected)
    folder = args.dest.rstrip("/") + "/" + rid
    if args.shard:  # the merge applies the policy to the whole run
        return _upload_shard(args, rid, meta, folder)
    rclone = common.Rclone(args.rclone, args.config, args.timeout)
    me = run_token()
    folder_ = claim.Folder(rclone, folder, me, identity(args, rid))
    folder_.claim(args.replace_output == "true")
    with tempfile.TemporaryDirectory() as tmp:
        doc = manifest(args, rid, meta)
        path = os.path.join(tmp, MANIFEST)
        common.write_json(path, doc)
        expected = _local_files(args)
        expected[MANIFEST] = os.path.getsize(path)
        _write_folder(args, rclone, folder_, path, expected)
        if not failed:
            marker = os.path.join(tmp, SUCCESS)
            open(marker, "wb").close()
            folder_.check("write the success marker")
            rclone.run("write the success marker", ["copyto", marker, f"{folder}/{SUCCESS}"])
    rejected_count = len(doc["rejected"]["input"]) + len(doc["rejected"]["output"])
    done = f"{folder}: {len(doc['outputs'])} outputs, {rejected_count} rejected files"
    if failed:
        raise common.Fail(
            f"{done} and the reports are in storage, no {SUCCESS}: the validation policy failed: "
            + "; ".join(failed)
        )
    return f"{done}, {SUCCESS} written"


ROUNDS = 3  # a run that lost the folder stops at its next claim check: its last upload lands within a round


def _write_folder(
    args: argparse.Namespace,
    rclone: common.Rclone,
    folder: claim.Folder,
    manifest_file: str,
    expected: Dict[str, int],
) -> None:
    """Upload (copy), drop stale files, write the manifest, and check the folder holds exactly ``expected``.

    A run that claimed the folder before this one may still be uploading; while the claim is this run's, a
    mismatch is put right by uploading again (copy sends only what differs), a bounded number of times.
    """
    for attempt in range(1, ROUNDS + 1):
        calls = [("upload the output", ["copy", args.output, folder.folder], (0,))]
        if os.path.isdir(args.rejected):
            calls.append(
                ("upload the rejected files", ["copy", args.rejected, f"{folder.folder}/_rejected"], (0,))
            )
        rclone.run_all(calls)
        folder.settle(expected)
        rclone.run("upload the manifest", ["copyto", manifest_file, f"{folder.folder}/{MANIFEST}"])
        try:
            folder.verify(expected)
            return
        except common.Fail as exc:
            if attempt == ROUNDS:
                raise
            common.log(PROG, f"{exc}; uploading again ({attempt} of {ROUNDS - 1})")


def identity(args: argparse.Namespace, rid: str) -> Dict[str, str]:
    """What makes two runs the same job: a rerun of it may complete the folder, anything else may not."""
    return {"request_id": rid, "service": args.service or "", "source": args.source or ""}


def run_token() -> str:
    """This run's name in the claim: the TaskRun's uid (kept by a retry of the TaskRun), else a random one."""
    return os.environ.get("ODAHU_RUN_UID", "").strip() or "local-" + uuid.uuid4().hex


def _upload_shard(args: argparse.Namespace, rid: str, meta: Dict[str, str], folder: str) -> str:
    """One shard's share of the run; ``shard.py merge`` reads it and writes the run's markers."""
    mine = f"{folder}/_shards/{args.shard}"
    rclone = common.Rclone(args.rclone, args.config, args.timeout)
    old = ["deletefile", f"{mine}/_manifest.json"]
    rclone.run("remove the shard's old manifest", old, ok_codes=(0, 3, 4))
    with tempfile.TemporaryDirectory() as tmp:
        rejected = args.rejected if os.path.isdir(args.rejected) else tmp
        files, reports = ["--exclude", f"/*/{REPORT}"], ["--include", f"/*/{REPORT}"]
        rclone.run_all([
            ("upload the output", ["copy", args.output, folder, *SCOPE, "--exclude", "/_shards/**"], (0,)),
            ("upload the rejected files", ["copy", rejected, f"{folder}/_rejected", *files], (0,)),
            ("upload the reports", ["sync", rejected, f"{mine}/_rejected", *reports], (0,)),
        ])  # fmt: skip
        doc = manifest(args, rid, meta)
        path = os.path.join(tmp, "_manifest.json")
        common.write_json(path, doc)
        rclone.run("upload the manifest", ["copyto", path, f"{mine}/_manifest.json"])
    rejected_count = len(doc["rejected"]["input"]) + len(doc["rejected"]["output"])
    return (
        f"{folder}: shard {args.shard}: {len(doc['outputs'])} outputs, {rejected_count} rejected files, "
        f"_shards/{args.shard}/_manifest.json written"
    )


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--output", required=True, help="validated output folder")
    add("--rejected", required=True, help="folder with input/ and output/ rejections and their reports")
    add("--dest", required=True, help="CONN:PATH; the run goes to CONN:PATH/<request-id>/")
    add("--request-id", default="", help="request id (default: $ODAHU_RUN_UID)")
    add("--inputs", help="validated input folder, listed in the manifest")
    add("--model-meta", help="model metadata JSON written by sync_model")
    add("--model-name", help="model name (without --model-meta)")
    add("--model-version", help="model version (without --model-meta)")
    add("--source", help="CONN:PATH the input came from, recorded in the manifest and the claim")
    add("--replace-output", choices=("true", "false"), default="false",
        help="true: take over a folder holding another job's work (never objects no run wrote)")  # fmt: skip
    add("--input-summary", help="Task result: write the input counts here")
    add("--output-summary", help="Task result: write the output counts here")
    add("--image", help="predictor image, recorded in the manifest")
    add("--service", help="InferenceService name, recorded in the manifest")
    add("--rclone", help="rclone binary (default: $ODAHU_RCLONE or rclone)")
    add("--config", help="rclone config (default: $RCLONE_CONFIG)")
    add("--shard", default="", help="shard id when several pods write one run (empty: not sharded)")
    add("--timeout", type=float, default=4 * 3600, help="overall time limit, seconds (default 4 h)")
    args = parser.parse_args(argv)
    common.log(PROG, upload(args))
    return 0


if __name__ == "__main__":
    sys.exit(common.run_main(PROG, main, None))
