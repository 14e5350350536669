"""``odahu-batch run SPECS... --job NAME [--target tekton|argo]``: run one job on this machine from its
compiled documents.

The specs (plus ``--job-file`` or ``--webhook-body``) are compiled in memory for a local run (local
connections allowed) for the backend of ``--target`` (default: ``BatchSettings.backend``); the job's
TaskRun (or PipelineRun) with its Task, or its Workflow with its WorkflowTemplate, and the runtime
ConfigMap are then executed step by step by the local runner. Exit 0 only when every step succeeded;
130 after Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from compiler.commands import add_secret_flags, add_target_flag, compiled_objects
from compiler.localrun import LocalRunError, RunOptions, run_documents
from compiler.localrun.jobs import job_name_in_file, taskrun_of_job, webhook_job, write_job
from compiler.localrun.launch import ENGINES
from compiler.localrun.paths import Bind
from compiler.localrun.pipeline import pipelinerun_of_job, run_pipelinerun
from compiler.localrun.secrets import SecretStore, flags_out_of_argv
from compiler.localrun.workflow import run_workflow, workflow_of_job
from compiler.pipeline import generate_documents

EXAMPLES = """\
odahu-batch run specs/ --job nightly
odahu-batch run specs/ --webhook-body body.json --secrets-file secrets.yaml
odahu-batch run specs/ --job nightly --target argo    # the job's Workflow
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="SPECS", help="spec files or folders (*.yaml, *.yml)")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--job", metavar="NAME", help="a job of the specs (InferenceJob name)")
    which.add_argument("--job-file", metavar="FILE", type=Path, help="a file holding one InferenceJob")
    which.add_argument(
        "--webhook-body", metavar="FILE", help='an ODAHU webhook body (JSON: {"spec": {...}}); - for stdin'
    )
    parser.add_argument(
        "--workdir", type=Path, default=Path("runs"), help="where run directories go (default: ./runs)"
    )
    parser.add_argument(
        "--bind",
        action="append",
        default=[],
        metavar="HOST_DIR:IMAGE_DIR[:ro]",
        help="a folder of the service's image, taken from this machine (repeatable, like docker -v)",
    )
    add_secret_flags(
        parser, "Secret manifests (YAML/JSON, data or stringData) or {name: {key: value}} (repeatable)"
    )
    parser.add_argument(
        "--user-runtime",
        choices=("host", *ENGINES),
        default="host",
        help="run the user step on this machine (default) or in its image with docker or podman",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the volumes' data after a successful run (always kept on failure)",
    )
    add_target_flag(parser)
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="print each step's command and env (secrets masked)"
    )


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except LocalRunError as exc:
        print(f"odahu-batch run: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    args.secret = flags_out_of_argv(args.secret)  # first: re-executes with the values out of argv
    paths: list[str | Path] = list(args.paths)
    if args.job_file is not None:
        job = job_name_in_file(args.job_file)
        paths.append(args.job_file)
    elif args.webhook_body is not None:
        body = sys.stdin.read() if args.webhook_body == "-" else _read(Path(args.webhook_body))
        doc = webhook_job(body, "stdin" if args.webhook_body == "-" else args.webhook_body)
        paths.append(write_job(doc, args.workdir / ".jobs"))
        job = str(doc["id"])
    else:
        job = args.job
    binds = [Bind.parse(b) for b in args.bind]
    secrets = SecretStore.from_sources(args.secrets_file, args.secret)
    calls = frozenset([job]) if args.webhook_body is not None else frozenset()
    compiled = generate_documents(paths, for_cluster=False, calls=calls, target=args.target)
    docs = compiled_objects(compiled, "odahu-batch run")
    if docs is None:
        return 1
    if any(d.get("kind") == "Workflow" for d in docs) or args.target == "argo":
        options = _options(args, binds, secrets, None)
        return run_workflow(docs, workflow_of_job(docs, job), options, sys.stdout).exit_code
    sharded = pipelinerun_of_job(docs, job)
    options = _options(args, binds, secrets, sharded or taskrun_of_job(docs, job))
    if sharded is not None:  # a job of more than one shard: its PipelineRun
        return run_pipelinerun(docs, sharded, options, sys.stdout).exit_code
    report = run_documents(docs, options, sys.stdout)
    return report.exit_code


def _options(
    args: argparse.Namespace, binds: list[Bind], secrets: SecretStore, run: str | None
) -> RunOptions:
    return RunOptions(
        workdir=args.workdir,
        taskrun=run,
        binds=binds,
        secrets=secrets,
        user_runtime=args.user_runtime,
        keep=args.keep,
        verbose=args.verbose,
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LocalRunError(f"--webhook-body {path}: cannot read it ({exc})") from exc
