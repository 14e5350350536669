"""Which keys a pod holds: for every example, each Task (and each inline task of a Pipeline) refers to
exactly the Secrets of the connections its service may use, read from the specs themselves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from compiler.front.project import Project, Service
from compiler.pipeline import analyse, generate_documents

EXAMPLES = sorted(p for p in (Path(__file__).resolve().parents[2] / "examples").iterdir() if p.is_dir())


def _service_secrets(project: Project, service: Service) -> set[str]:
    """The Secrets of the model, data, output and allowed connections, and of an rclone feedback sink."""
    spec = service.spec
    names = set(spec.triggers.webhook.allowedConnections)
    names |= {ref.connection for ref in (spec.dataSource, spec.outputDestination) if ref is not None}
    if spec.modelRegistry.remote is not None:
        names.add(spec.modelRegistry.remote.modelConnection)
    sink = project.settings.feedback.sink
    if sink.startswith("rclone:"):
        names.add(sink.split(":")[1])
    found = set()
    for connection in project.connections:
        creds = connection.spec.credentials
        if connection.name in names and creds is not None and creds.secretRef is not None:
            found.add(creds.secretRef.name)
    return found


def _steps(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    if doc["kind"] == "Task":
        for step in doc["spec"]["steps"]:
            yield step["name"], step
    for task in doc["spec"].get("tasks", ()) if doc["kind"] == "Pipeline" else ():
        for step in task.get("taskSpec", {}).get("steps", ()):
            yield step["name"], step


def _secret_refs(step: dict[str, Any]) -> set[str]:
    return {var["valueFrom"]["secretKeyRef"]["name"] for var in step.get("env", ()) if "valueFrom" in var}


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_each_task_holds_exactly_its_connections_secrets(example: Path) -> None:
    project, diags, _ = analyse([example], for_cluster=False)
    assert project is not None, diags
    result = generate_documents([example], for_cluster=False)
    assert result.generated is not None, result.diagnostics
    services = {s.name: s for s in project.services}
    checked = 0
    for doc in result.generated.objects:
        if doc.get("kind") not in ("Task", "Pipeline"):
            continue
        service = services[doc["metadata"]["labels"]["batch.odahu.org/service"]]
        refs = {name: _secret_refs(step) for name, step in _steps(doc)}
        # only configure-rclone reads a Secret: never the user step, never another helper
        assert {name for name, found in refs.items() if found} <= {"configure-rclone"}
        for name, found in refs.items():
            if name == "configure-rclone":
                assert found == _service_secrets(project, service), (doc["metadata"]["name"], found)
                checked += 1
    assert checked >= len(services)


TWO_TEAMS = """\
apiVersion: batch.odahu.org/v1alpha1
kind: Connection
metadata: {name: team-a}
spec: {type: s3, uri: "s3://team-a/data", credentials: {secretRef: {name: team-a-creds}}}
---
apiVersion: batch.odahu.org/v1alpha1
kind: Connection
metadata: {name: team-b}
spec: {type: s3, uri: "s3://team-b/data", credentials: {secretRef: {name: team-b-creds}}}
---
apiVersion: batch.odahu.org/v1alpha1
kind: InferenceService
metadata: {name: scorer-a}
spec:
  image: img
  command: [run]
  modelRegistry: {local: {modelPath: /m, meta: {name: m, version: "1"}}}
  dataSource: {connection: team-a, path: in}
  outputDestination: {connection: team-a, path: out}
"""


def test_a_task_never_holds_another_teams_keys(tmp_path: Path) -> None:
    """A project that uses none of the access fields: the Task still holds only its own connection."""
    specs = tmp_path / "specs.yaml"
    specs.write_text(TWO_TEAMS)
    result = generate_documents([specs], for_cluster=True)
    assert result.generated is not None, result.diagnostics
    (task,) = [o for o in result.generated.objects if o.get("kind") == "Task"]
    refs = {name: _secret_refs(step) for name, step in _steps(task)}
    assert refs["configure-rclone"] == {"team-a-creds"}
    assert "team-b" not in str(task)
