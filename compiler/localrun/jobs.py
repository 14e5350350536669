"""Which job to run: a committed job by name, a job file, or an ODAHU webhook body.

A job file and a webhook body are compiled together with the specs, so they take exactly the path a
committed job takes. A webhook body becomes an ODAHU-style InferenceJob document, written next to
the runs (``<workdir>/.jobs/<id>.yaml``) so that diagnostics point at a real file and the job can be
committed as it is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from compiler.diagnostics import did_you_mean
from compiler.front.load import load
from compiler.front.odahu import JOB_KEYS, SERVER_MANAGED, drop_nulls
from compiler.front.translate import value_repr
from compiler.localrun.documents import Doc, taskruns
from compiler.localrun.errors import LocalRunError
from compiler.naming import LABEL_JOB, derived_job_id, request_id_problem
from compiler.plan.triggers import FORBIDDEN as WEBHOOK_FORBIDDEN
from compiler.units import DNS1123_LABEL

WEBHOOK_KEYS = JOB_KEYS


def webhook_job(body: str, where: str) -> dict[str, Any]:
    """ODAHU's ``{"spec": {"inferenceServiceId", "dataSource", ...}}`` as an InferenceJob document."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise LocalRunError(f"{where}: the webhook body is not JSON ({exc})") from exc
    # Null is absent, as for every entry point (compiler/front/odahu.py); what is left is compiled as a job
    # file is, so server-managed fields get the same warning and unknown ones the same error.
    data = drop_nulls(data)
    if not isinstance(data, dict) or not isinstance(data.get("spec"), dict):
        raise LocalRunError(f'{where}: expected a JSON object {{"spec": {{"inferenceServiceId": ...}}}}')
    unknown = sorted(set(data) - set(WEBHOOK_KEYS) - set(SERVER_MANAGED))
    if unknown:
        raise LocalRunError(
            f"{where}: unknown key(s) {', '.join(unknown)}; a body has {', '.join(WEBHOOK_KEYS)}"
        )
    if data.get("kind", "InferenceJob") != "InferenceJob":
        raise LocalRunError(f"{where}: a webhook body is an InferenceJob, not a {data['kind']}")
    spec: dict[str, Any] = data["spec"]
    service = spec.get("inferenceServiceId")
    if not isinstance(service, str) or not service:
        raise LocalRunError(f"{where}: spec.inferenceServiceId is missing")
    forbidden = sorted(key for key in WEBHOOK_FORBIDDEN if key in spec)
    if forbidden:
        raise LocalRunError(
            f"{where}: {', '.join(forbidden)} cannot be overridden over the webhook (commit a job for that)"
        )
    ident = data.get("id") or derived_job_id(service, spec)
    if not isinstance(ident, str) or len(ident) > 63 or not DNS1123_LABEL.fullmatch(ident):
        raise LocalRunError(
            f"{where}: id {value_repr(ident)} is not a job name: expected at most 63 lower-case letters,"
            " digits and '-', starting and ending with a letter or digit"
        )
    request_id = spec.get("requestId", "")
    problem = request_id_problem(request_id) if isinstance(request_id, str) else "expected a string"
    if problem is not None:  # the Trigger's CEL filter refuses such a body: so does the local run
        raise LocalRunError(f"{where}: spec.requestId {value_repr(request_id)}: {problem}")
    rest = {key: value for key, value in data.items() if key not in WEBHOOK_KEYS}
    return {"kind": "InferenceJob", "id": ident, "spec": spec, **rest}


def write_job(doc: Mapping[str, Any], folder: Path) -> Path:
    """Write the job as ``folder/<id>.yaml``; an id that would leave the folder is refused unwritten."""
    path = folder / f"{doc['id']}.yaml"
    if path.parent != folder or path.name.startswith(".") or "/" in str(doc["id"]) or "\\" in str(doc["id"]):
        raise LocalRunError(f"job id {value_repr(doc['id'])} cannot name a file in {folder}")
    folder.mkdir(parents=True, exist_ok=True)
    yaml = YAML()
    yaml.default_flow_style = False
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(
            "# An ODAHU webhook body, as the InferenceJob `odahu-batch run --webhook-body` compiled.\n"
        )
        yaml.dump(dict(doc), handle)
    return path


def job_name_in_file(path: Path) -> str:
    """The name of the one InferenceJob in ``path`` (``metadata.name``, ``id``, or ODAHU's derived id)."""
    # Read as the load stage reads every spec file (YAML or JSON, one document, several or an array);
    # its diagnostics are reported when the file is compiled with the specs.
    docs = [raw.data for raw in load([path]).documents]
    if not docs and not path.is_file():
        raise LocalRunError(f"--job-file {path}: cannot read it")
    jobs = [d for d in docs if d.get("kind") == "InferenceJob"]
    if len(jobs) != 1:
        raise LocalRunError(f"--job-file {path}: expected exactly one InferenceJob, found {len(jobs)}")
    job = drop_nulls(jobs[0])
    name = (job.get("metadata") or {}).get("name") or job.get("id")
    spec = job.get("spec")
    if not name and isinstance(spec, dict) and isinstance(spec.get("inferenceServiceId"), str):
        name = derived_job_id(spec["inferenceServiceId"], spec)
    if not isinstance(name, str) or not name:
        raise LocalRunError(f"--job-file {path}: the InferenceJob has no name and no inferenceServiceId")
    return name


def run_of_job(runs: Iterable[Doc], job: str) -> str:
    """The name of the run compiled for ``job`` among ``runs`` (a TaskRun or Workflow of any engine): the
    one labelled with the job, or named ``job`` itself."""
    runs = list(runs)
    for run in runs:
        meta = run.get("metadata") or {}
        if (meta.get("labels") or {}).get(LABEL_JOB) == job or meta.get("name") == job:
            return str(meta["name"])
    jobs = sorted(
        {str(((r.get("metadata") or {}).get("labels") or {}).get(LABEL_JOB, "")) for r in runs} - {""}
    )
    hint = did_you_mean(job, jobs)
    listing = ", ".join(jobs) if jobs else "none"
    raise LocalRunError(
        f"no job named {job!r} in the specs (jobs: {listing})" + (f"; {hint}" if hint else "")
    )


def taskrun_of_job(docs: Iterable[Doc], job: str) -> str:
    """The TaskRun compiled for ``job`` (by the job label, or a TaskRun's own name)."""
    return run_of_job(taskruns(docs), job)
