"""One table, every entry point: ODAHU's documents get the same verdict from ``validate``, ``run --job-file``,
``run --webhook-body`` and the compiled webhook filter, and the same TaskRun params where they are accepted.

The documents are made with ODAHU's own SDK models (odahu-flow-sdk 1.6.1, ``Model.to_dict()``), which send
every field, null when unset; the filter is evaluated with cel-python, as Tekton Triggers' cel interceptor
evaluates it (with cel-go).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import celpy
import pytest
from celpy.adapter import json_to_cel
from odahuflow.sdk.models import (
    Connection,
    ConnectionReference,
    ConnectionSpec,
    InferenceJob,
    InferenceJobSpec,
    InferenceJobStatus,
    InferenceService,
    InferenceServiceSpec,
    ModelSource,
    RemoteModelSource,
    ResourceList,
    ResourceRequirements,
)

from compiler import naming as n
from compiler.front.odahu import drop_nulls, normalize
from compiler.localrun.errors import LocalRunError
from compiler.localrun.jobs import job_name_in_file, taskrun_of_job, webhook_job, write_job
from compiler.pipeline import analyse, generate_documents
from compiler.plan.planner import plan
from compiler.runtime_bundle import load_bundle
from compiler.tekton.cel import interceptors
from tests.support import webhooks

Body = dict[str, Any]
PARAMS = (n.PARAM_DATA_CONNECTION, n.PARAM_DATA_PATH, n.PARAM_OUTPUT_CONNECTION, n.PARAM_OUTPUT_PATH)


def project_files(folder: Path) -> list[Path]:
    """ODAHU's documents of a project, as its SDK writes them: a connection and a service."""
    connections = [
        Connection(id=name, spec=ConnectionSpec(type="s3", uri=f"s3://bucket/{path}", region="eu-central-1"))
        for name, path in (("data", "batch"), ("models", "models"))
    ]
    service = InferenceService(
        id="multiplier",
        spec=InferenceServiceSpec(
            image="registry.example.com/multiplier:1",
            command=["python"],
            args=["/opt/app/predictor.py"],
            model_registry=ModelSource(remote=RemoteModelSource(model_connection="models", model_path="m")),
            data_source=ConnectionReference(connection="data", path="batch/input"),
            output_destination=ConnectionReference(connection="data", path="batch/output"),
        ),
    )
    files = []
    for index, model in enumerate([*connections, service]):
        body = model.to_dict()
        body["spec"]["credentials"] = {"anonymous": True} if body["kind"] == "Connection" else None
        if body["kind"] == "InferenceService":
            # What a webhook call may name beyond the service's own connections (compiler/front/access.py).
            body["spec"]["triggers"] = {"webhook": {"allowedConnections": ["models"]}}
        path = folder / f"{index}.json"
        path.write_text(json.dumps(body))
        files.append(path)
    return files


def job(**spec: Any) -> Body:
    body: Body = InferenceJob(spec=InferenceJobSpec(inference_service_id="multiplier", **spec)).to_dict()
    return body


def with_status(body: Body) -> Body:
    api = InferenceJob.from_dict(body)
    api.status = InferenceJobStatus(state="succeeded", pod_name="p")
    api.created_at = "2021-03-15T12:47:00Z"
    out: Body = api.to_dict()
    out["deletionMark"] = False  # the Go server's field (job.go), not in the SDK's model
    return out


def edited(body: Body, change: Callable[[Body], None]) -> Body:
    change(body)
    return body


ACCEPTED = [
    ("all defaults", job(), ("data", "batch/input", "data", "batch/output")),
    (
        "overrides",
        job(data_source=ConnectionReference(connection="models", path="x/y"), request_id="r-1"),
        ("models", "x/y", "data", "batch/output"),
    ),
    ("only a connection", job(output_destination=ConnectionReference(connection="models")), None),
    ("an empty path", job(data_source=ConnectionReference(connection="data", path="")), None),
    (
        "server-managed fields",
        with_status(job(request_id="r-2")),
        ("data", "batch/input", "data", "batch/output"),
    ),
    (
        "an id",
        edited(job(), lambda b: b.update(id="nightly")),
        ("data", "batch/input", "data", "batch/output"),
    ),
]
ACCEPTED_PARAMS = {
    "only a connection": ("data", "batch/input", "models", "models"),
    "an empty path": ("data", "batch", "data", "batch/output"),
}
REFUSED = [
    ("resources", job(resources=ResourceRequirements(limits=ResourceList(cpu="1")))),
    ("node selector", job(node_selector={"a": "b"})),
    ("unknown connection", job(data_source=ConnectionReference(connection="elsewhere"))),
    ("id not starting with a letter", edited(job(), lambda b: b.update(id="1abc"))),
    ("unknown top-level field", edited(job(), lambda b: b.update(extra=1))),
    ("unknown spec field", edited(job(), lambda b: b["spec"].update(bucket="x"))),
    ("another service", edited(job(), lambda b: b["spec"].update(inferenceServiceId="other"))),
    ("a path going up", job(data_source=ConnectionReference(connection="data", path="a/../b"))),
    ("no spec", {"kind": "InferenceJob", "id": None, "spec": None}),
]


def filter_verdict(body: Body, tmp: Path) -> tuple[str, ...] | None:
    project, diags, _ = analyse([str(p) for p in project_files(tmp)], for_cluster=True)
    assert project is not None, diags
    cel = interceptors(plan(project, load_bundle()).triggers[0].rules)[-1]
    assert cel.filter is not None
    env = celpy.Environment()
    activation = {"body": json_to_cel(body)}
    if not env.program(env.compile(cel.filter)).evaluate(activation):
        return None
    values = {key: str(env.program(env.compile(expr)).evaluate(activation)) for key, expr in cel.overlays}
    return tuple(values[n.overlay_key(p)] for p in PARAMS)


def argo_verdict(body: Body, tmp: Path) -> tuple[str, ...] | None:
    """The WorkflowEventBinding's selector and parameters, run as Argo Server runs them."""
    project, diags, _ = analyse([str(p) for p in project_files(tmp)], for_cluster=True)
    assert project is not None, diags
    params = webhooks.argo(plan(project, load_bundle()).triggers[0].rules, body)
    return None if params is None else tuple(params[p] for p in PARAMS)


def taskrun_params(paths: list[Path], job_name: str) -> tuple[str, ...] | None:
    result = generate_documents(paths, for_cluster=True)
    if result.generated is None or not result.generated.ok:
        return None
    docs = result.generated.objects
    name = taskrun_of_job(docs, job_name)
    (run,) = [d for d in docs if d["kind"] == "TaskRun" and d["metadata"]["name"] == name]
    params = {p["name"]: p["value"] for p in run["spec"]["params"]}
    return tuple(params[p] for p in PARAMS)


def job_file_verdict(body: Body, tmp: Path) -> tuple[str, ...] | None:
    path = tmp / "job.json"
    path.write_text(json.dumps(body))
    try:
        name = job_name_in_file(path)
    except LocalRunError:
        return None
    return taskrun_params([*project_files(tmp), path], name)


def webhook_verdict(body: Body, tmp: Path) -> tuple[str, ...] | None:
    try:
        doc = webhook_job(json.dumps(body), "body.json")
    except LocalRunError:
        return None
    return taskrun_params([*project_files(tmp), write_job(doc, tmp / ".jobs")], str(doc["id"]))


def validate_verdict(body: Body, tmp: Path) -> bool:
    path = tmp / "job.json"
    path.write_text(json.dumps(body))
    _, diags, _ = analyse([*map(str, project_files(tmp)), str(path)], for_cluster=True)
    return not any(d.is_error for d in diags)


@pytest.mark.parametrize(("case", "body", "params"), ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_accepted_everywhere_with_the_same_params(
    tmp_path: Path, case: str, body: Body, params: tuple[str, ...] | None
) -> None:
    expected = params or ACCEPTED_PARAMS[case]
    assert validate_verdict(body, tmp_path)
    assert filter_verdict(body, tmp_path) == expected
    assert argo_verdict(body, tmp_path) == expected
    assert job_file_verdict(body, tmp_path) == expected
    assert webhook_verdict(body, tmp_path) == expected


@pytest.mark.parametrize(("case", "body"), REFUSED, ids=[c[0] for c in REFUSED])
def test_refused_everywhere(tmp_path: Path, case: str, body: Body) -> None:
    assert filter_verdict(body, tmp_path) is None
    assert argo_verdict(body, tmp_path) is None
    if case not in WEBHOOK_ONLY:
        assert webhook_verdict(body, tmp_path) is None
        assert not validate_verdict(body, tmp_path)
        assert job_file_verdict(body, tmp_path) is None


# A committed job may set these; a webhook call may not (README, "The webhook"), and ``run --webhook-body``
# refuses the first two as the filter does. Its plain-path rule is the cluster's alone.
WEBHOOK_ONLY = ("resources", "node selector", "a path going up")


@pytest.mark.parametrize("case", WEBHOOK_ONLY[:2])
def test_run_webhook_body_refuses_what_the_filter_refuses(tmp_path: Path, case: str) -> None:
    body = dict(REFUSED)[case]
    assert webhook_verdict(body, tmp_path) is None
    assert validate_verdict(body, tmp_path)


def test_the_sdk_bodies_hold_nulls_and_server_fields() -> None:
    """What the table relies on: the SDK sends nulls, and an API answer carries server-managed fields."""
    body = with_status(job())
    assert body["spec"]["requestId"] is None
    assert body["id"] is None
    found = normalize(body)
    assert found.ignored == (("createdAt",), ("deletionMark",), ("status",))  # updatedAt: None, dropped
    assert found.data == {"kind": "InferenceJob", "spec": {"inferenceServiceId": "multiplier"}}


def test_one_warning_names_every_ignored_field(tmp_path: Path) -> None:
    connection = Connection(
        id="c", spec=ConnectionSpec(type="s3", uri="s3://b/p", vital=True, reference="main")
    )
    body = connection.to_dict()
    body.update(createdAt="2021-03-15T12:47:00Z", status={})
    body["spec"]["credentials"] = {"anonymous": True}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(body))
    _, diags, _ = analyse([str(path)], for_cluster=True)
    assert [(d.code, d.message) for d in diags] == [
        (
            "W202",
            "ignored 'createdAt', 'status', 'spec.reference', 'spec.vital': "
            "written by ODAHU's API server or a newer ODAHU, no meaning here",
        )
    ]


def test_nulls_inside_lists_are_kept() -> None:
    assert drop_nulls({"a": None, "b": [None, {"c": None}]}) == {"b": [None, {}]}
