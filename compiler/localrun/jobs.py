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
from ruamel.yaml.error import YAMLError

from compiler.diagnostics import did_you_mean
from compiler.localrun.documents import Doc, taskruns
from compiler.localrun.errors import LocalRunError
from compiler.naming import LABEL_JOB, derived_job_id

WEBHOOK_KEYS = ("id", "kind", "spec")


def webhook_job(body: str, where: str) -> dict[str, Any]:
    """ODAHU's ``{"spec": {"inferenceServiceId", "dataSource", ...}}`` as an InferenceJob document."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise LocalRunError(f"{where}: the webhook body is not JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("spec"), dict):
        raise LocalRunError(f'{where}: expected a JSON object {{"spec": {{"inferenceServiceId": ...}}}}')
    unknown = sorted(set(data) - set(WEBHOOK_KEYS))
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
    if "replaceOutput" in spec:  # the webhook's filter refuses it too: only a committed job may replace
        raise LocalRunError(f"{where}: a webhook call cannot set replaceOutput; commit a job for that")
    ident = data.get("id") or derived_job_id(service, spec)
    return {"kind": "InferenceJob", "id": ident, "spec": spec}


def write_job(doc: Mapping[str, Any], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{doc['id']}.yaml"
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
    try:
        docs = [d for d in YAML(typ="safe", pure=True).load_all(path.read_text(encoding="utf-8")) if d]
    except (OSError, UnicodeDecodeError, YAMLError) as exc:
        raise LocalRunError(f"--job-file {path}: cannot read it ({exc})") from exc
    jobs = [d for d in docs if isinstance(d, dict) and d.get("kind") == "InferenceJob"]
    if len(jobs) != 1:
        raise LocalRunError(f"--job-file {path}: expected exactly one InferenceJob, found {len(jobs)}")
    job = jobs[0]
    name = (job.get("metadata") or {}).get("name") or job.get("id")
    spec = job.get("spec")
    if not name and isinstance(spec, dict) and isinstance(spec.get("inferenceServiceId"), str):
        name = derived_job_id(spec["inferenceServiceId"], spec)
    if not isinstance(name, str) or not name:
        raise LocalRunError(f"--job-file {path}: the InferenceJob has no name and no inferenceServiceId")
    return name


def taskrun_of_job(docs: Iterable[Doc], job: str) -> str:
    """The TaskRun compiled for ``job`` (by the job label, or a TaskRun's own name)."""
    runs = taskruns(docs)
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
