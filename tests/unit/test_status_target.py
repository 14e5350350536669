"""Which run status looks for, from the documents compiled for either backend.

A job's Workflow carries as ``spec.arguments.parameters`` exactly the values its TaskRun carries as
params, and the service's WorkflowTemplate the defaults and connections its Task carries: the target
(request id, output folder, the credentials the output connection names) is the same on both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from compiler.pipeline import generate_documents
from compiler.status.target import TargetError, of_job, of_request, of_webhook

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@cache
def compiled(target: str) -> Sequence[dict[str, Any]]:
    result = generate_documents([str(EXAMPLES)], for_cluster=False, target=target)  # type: ignore[arg-type]
    assert result.generated is not None
    assert result.generated.ok
    return result.generated.objects


def _jobs() -> list[str]:
    return sorted(
        str(d["metadata"]["labels"]["batch.odahu.org/job"])
        for d in compiled("argo")
        if d["kind"] == "Workflow"
    )


def test_every_example_job_has_a_workflow() -> None:
    assert len(_jobs()) >= 10


@pytest.mark.parametrize("job", _jobs())
def test_a_jobs_target_is_the_same_on_both_backends(job: str) -> None:
    tekton, argo = of_job(compiled("tekton"), job), of_job(compiled("argo"), job)
    assert (tekton.engine, argo.engine) == ("tekton", "argo")
    assert dataclasses.replace(argo, engine="tekton") == tekton
    assert argo.request_id
    assert argo.output_connection
    assert argo.connections != "[]"


def test_credentials_come_from_the_workflow_templates_configure_rclone() -> None:
    target = of_job(compiled("argo"), "azure-multiplier-weekly")
    assert target.service == "azure-multiplier"
    assert {(c.secret, c.key) for c in target.credentials} >= {("azure-data-credentials", "account-key")}


def test_webhook_runs_take_the_workflow_templates_defaults() -> None:
    body = {"spec": {"inferenceServiceId": "ranker", "requestId": "nov-2026"}}
    tekton, argo = of_webhook(compiled("tekton"), body), of_webhook(compiled("argo"), body)
    assert dataclasses.replace(argo, engine="tekton") == tekton
    assert (argo.job, argo.folder()) == (None, "scoring-data:ranking/output/nov-2026")


def test_a_request_id_finds_the_committed_workflow() -> None:
    job = _jobs()[0]
    rid = of_job(compiled("argo"), job).request_id
    assert of_request(compiled("argo"), rid, None).job == job


def test_an_unknown_service_is_an_error() -> None:
    with pytest.raises(TargetError, match="no InferenceService 'nope'"):
        of_webhook(compiled("argo"), {"spec": {"inferenceServiceId": "nope"}})
