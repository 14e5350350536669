"""resolve: symbol table, references, defaults, the immutable Project."""

from __future__ import annotations

from compiler.diagnostics import Diagnostic
from compiler.front.project import Project
from compiler.front.resolve import resolve
from compiler.front.spec import BatchSettingsSpec
from tests.unit.helpers import CONNECTION, SERVICE, validated, where

JOB = """\
apiVersion: batch.odahu.org/v1alpha1
kind: InferenceJob
metadata:
  name: nightly
spec:
  inferenceServiceId: svc
"""
SETTINGS = """\
apiVersion: batch.odahu.org/v1alpha1
kind: BatchSettings
metadata:
  name: settings
spec:
  defaultTimeout: 90m
"""


def run(*texts: str, for_cluster: bool = True) -> tuple[Project | None, list[Diagnostic]]:
    docs, diags = validated("---\n".join(texts))
    assert diags == []
    result = resolve(docs, for_cluster=for_cluster)
    return result.project, list(result.diagnostics)


def ok(*texts: str, for_cluster: bool = True) -> Project:
    project, diags = run(*texts, for_cluster=for_cluster)
    assert diags == []
    assert project is not None
    return project


def test_project_is_sorted_and_defaults_apply() -> None:
    other = SERVICE.replace("name: svc", "name: alpha")
    docs, _ = validated("---\n".join([SERVICE, other, CONNECTION, JOB]))
    result = resolve(docs)
    assert result.diagnostics == ()
    project = result.project
    assert project is not None
    assert [s.name for s in project.services] == ["alpha", "svc"]
    assert project.settings == BatchSettingsSpec()
    job = project.jobs[0]
    assert (job.name, job.service, job.namespace) == ("nightly", "svc", "odahu-batch")
    assert job.effective.dataSource.path == "in"
    assert job.effective.outputDestination.path == "out"
    assert job.effective.timeout == "1h0m0s"
    assert job.effective.requestId == ""
    assert job.effective.parallelism == 1


def test_timeout_job_then_service_then_settings() -> None:
    assert ok(SERVICE, CONNECTION, JOB, SETTINGS).jobs[0].effective.timeout == "1h30m0s"
    project = ok(SERVICE + "  timeout: 20m\n", CONNECTION, JOB, SETTINGS)
    assert project.jobs[0].effective.timeout == "20m0s"
    project = ok(SERVICE + "  timeout: 20m\n", CONNECTION, JOB + "  timeout: 5m\n", SETTINGS)
    assert project.jobs[0].effective.timeout == "5m0s"


def test_unknown_references_did_you_mean() -> None:
    job = JOB.replace("inferenceServiceId: svc", "inferenceServiceId: svx")
    job += "  outputDestination: {connection: stor}\n"
    project, diags = run(SERVICE, CONNECTION, job)
    assert project is None
    assert sorted(where(diags)) == [("E302", 28, 23), ("E302", 29, 35)]
    assert {d.hint for d in diags} == {"did you mean 'svc'?", "did you mean 'store'?"}


def test_output_connection_is_checked_even_when_source_is_fine() -> None:
    service = SERVICE.replace("outputDestination: {connection: store", "outputDestination: {connection: gone")
    _, diags = run(service, CONNECTION)
    assert [(d.code, d.field) for d in diags] == [("E302", "spec.outputDestination.connection")]


def test_job_without_data_source_anywhere() -> None:
    service = SERVICE.replace("  dataSource: {connection: store, path: in}\n", "")
    _, diags = run(service, CONNECTION, JOB)
    assert [(d.code, d.field) for d in diags] == [("E303", "spec.dataSource")]


def test_duplicates_point_to_the_first() -> None:
    _, diags = run(CONNECTION, CONNECTION)
    assert where(diags) == [("E301", 14, 9)]
    assert diags[0].hint is not None
    assert "specs.yaml:4:9" in diags[0].hint


def test_two_settings_is_an_error() -> None:
    _, diags = run(SETTINGS, SETTINGS)
    assert [d.code for d in diags] == ["E305"]


def test_local_connections_need_permission_on_a_cluster() -> None:
    local = (
        CONNECTION.replace("type: s3", "type: local")
        .replace("s3://bucket/prefix", "data")
        .replace("  credentials:\n    secretRef: {name: store-creds}\n", "")
    )
    project, diags = run(local, SERVICE)
    assert project is None
    assert [d.code for d in diags] == ["E304"]
    assert ok(local, SERVICE, for_cluster=False).for_cluster is False
    assert ok(local, SERVICE, SETTINGS + "  allowLocalConnections: true\n").settings.allowLocalConnections
