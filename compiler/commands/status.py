"""``odahu-batch status SPECS (--job NAME | --request-id ID | --webhook-body FILE)``: where a run stands.

Storage (the run's folder: ``_manifest.json``, ``_SUCCESS``, counts, rejected files, shards) and the
cluster (the TaskRun or PipelineRun, or for a project compiled for Argo the Workflow, found by our
labels, through the kubeconfig) are both asked; the result is one of ODAHU's job states. Exit 0 when
the run succeeded, is running or is being scheduled; 1 when it failed, nothing was found, or ``--watch``
timed out.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from compiler.commands import add_secret_flags, add_target_flag
from compiler.diagnostics import render_text
from compiler.localrun.errors import LocalRunError
from compiler.localrun.secrets import SecretStore, flags_out_of_argv
from compiler.pipeline import generate_documents
from compiler.status import storage as store
from compiler.status.cluster import Cluster, ClusterError, RunView
from compiler.status.report import Report, join, text
from compiler.status.states import FINAL
from compiler.status.target import Target, TargetError, of_job, of_request, of_webhook

EXAMPLES = """\
odahu-batch status specs/ --job nightly
odahu-batch status specs/ --request-id nov-2026 --service multiplier --format json
odahu-batch status specs/ --webhook-body body.json --watch --timeout 1h
odahu-batch status specs/ --job nightly --target argo
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="SPECS", help="spec files or folders (*.yaml, *.yml)")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--job", metavar="NAME", help="a committed InferenceJob")
    which.add_argument(
        "--request-id", metavar="ID", help="a run's request id (a webhook run: with --service)"
    )
    which.add_argument("--webhook-body", metavar="FILE", help="the ODAHU webhook body that started the run")
    parser.add_argument(
        "--service", metavar="NAME", help="the InferenceService of a --request-id webhook run"
    )
    add_secret_flags(parser, "Secret manifests with the output connection's credentials (as for run)")
    parser.add_argument(
        "--kubeconfig", metavar="FILE", help="the kubeconfig (default: $KUBECONFIG, ~/.kube/config)"
    )
    parser.add_argument("--context", metavar="NAME", help="the kubeconfig context (default: the current one)")
    add_target_flag(parser)
    parser.add_argument("--no-cluster", action="store_true", help="ask only the storage")
    parser.add_argument("--no-storage", action="store_true", help="ask only the cluster")
    parser.add_argument("--watch", action="store_true", help="look again until the run succeeds or fails")
    parser.add_argument(
        "--interval", type=float, default=10.0, metavar="SECONDS", help="--watch: between looks"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="--watch: give up after this long (exit 1)",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text, or JSON (with --watch: one object per line, per change)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    try:
        # First: a --watch lasts as long as the run, and argv is public (localrun/secrets.py).
        args.secret = flags_out_of_argv(args.secret)
        target = _target(args)
        if target is None:
            return 1
        secrets = SecretStore.from_sources(args.secrets_file, args.secret)
    except (TargetError, LocalRunError) as exc:
        print(f"odahu-batch status: {exc}", file=sys.stderr)
        return 1
    cluster = _cluster(args)
    if not args.watch:
        report = look(target, cluster, secrets, args)
        _print(report, args.format)
        return 0 if report.state in ("succeeded", "running", "scheduling") else 1
    return _watch(target, cluster, secrets, args)


def _target(args: argparse.Namespace) -> Target | None:
    result = generate_documents(args.paths, for_cluster=False, target=args.target)
    if result.generated is None or not result.generated.ok:
        sys.stderr.write(render_text(result.diagnostics, result.sources))
        errors = sum(d.is_error for d in result.diagnostics)
        print(f"odahu-batch: {errors} error{'s' if errors != 1 else ''}", file=sys.stderr)
        return None
    docs = result.generated.objects
    if args.job is not None:
        return of_job(docs, args.job)
    if args.request_id is not None:
        return of_request(docs, args.request_id, args.service)
    body = sys.stdin.read() if args.webhook_body == "-" else _read(Path(args.webhook_body))
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise TargetError(f"--webhook-body {args.webhook_body}: not JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("spec"), dict):
        raise TargetError(
            f'--webhook-body {args.webhook_body}: expected {{"spec": {{"inferenceServiceId": ...}}}}'
        )
    return of_webhook(docs, data)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TargetError(f"--webhook-body {path}: cannot read it ({exc})") from exc


def _cluster(args: argparse.Namespace) -> Cluster | str:
    """A client, or why there is none (a note: the storage may still answer)."""
    if args.no_cluster:
        return "cluster not asked (--no-cluster)"
    try:
        return Cluster(args.kubeconfig, args.context)
    except ClusterError as exc:
        return f"cluster not asked: {exc}"


def look(target: Target, cluster: Cluster | str, secrets: SecretStore, args: argparse.Namespace) -> Report:
    notes: list[str] = []
    run: RunView | None = None
    if isinstance(cluster, str):
        notes.append(cluster)
    else:
        try:
            run = cluster.find(target)
            if run is None:
                kinds = "Workflow" if target.engine == "argo" else "TaskRun or PipelineRun"
                notes.append(f"no {kinds} of this run in namespace {target.namespace}")
            else:
                notes += run.notes
        except ClusterError as exc:
            notes.append(f"cluster: {exc}")
    found = None
    rid = target.request_id or (run.request_id if run else "")
    if args.no_storage:
        notes.append("storage not asked (--no-storage)")
    elif not rid:
        notes.append("storage not asked: the run has no request id and no run on the cluster gives its uid")
    else:
        try:
            found = store.read(target, secrets, rid)
        except store.StorageError as exc:
            notes.append(f"storage: {exc}")
    return join(target, run, found, tuple(notes))


def _print(report: Report, fmt: str, *, stamp: bool = False) -> None:
    if fmt == "json":
        line = json.dumps(report.as_json(), sort_keys=True)
        sys.stdout.write((line if stamp else json.dumps(report.as_json(), indent=2, sort_keys=True)) + "\n")
    else:
        prefix = time.strftime("%H:%M:%S ") if stamp else ""
        sys.stdout.write(
            prefix + text(report) if not stamp else prefix + f"state: {report.state} ({report.reason})\n"
        )
    sys.stdout.flush()


def _watch(target: Target, cluster: Cluster | str, secrets: SecretStore, args: argparse.Namespace) -> int:
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    last: tuple[str, str] | None = None
    while True:
        report = look(target, cluster, secrets, args)
        key = (report.state, report.reason)
        if key != last:
            _print(report, args.format, stamp=True)
            last = key
        if report.state in FINAL:
            if args.format == "text":
                sys.stdout.write(text(report))
            return 0 if report.state == "succeeded" else 1
        if deadline is not None and time.monotonic() + args.interval > deadline:
            print(f"odahu-batch status: still {report.state} after {args.timeout:g} s", file=sys.stderr)
            return 1
        time.sleep(max(0.1, args.interval))
