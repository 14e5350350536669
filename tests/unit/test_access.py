"""The connection rule (compiler/access.py) from the shared table: the compiled webhook filter, run
as Tekton Triggers runs it (cel-python), and the compile-time check of a committed job."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from compiler.access import Access, feedback_connection, service_access
from compiler.pipeline import analyse, generate_documents
from compiler.spec import ConnectionSpec, InferenceServiceSpec
from tests.support import triggers
from tests.support.access_table import CASE_IDS, CASES, SERVICE, Case, doc, documents, service_spec

SECRETS = {f"{SERVICE}-webhook": {"secret": "hmac-key"}}


def _write(folder: Path, docs: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "specs.yaml"
    path.write_text("---\n".join(json.dumps(d) + "\n" for d in docs))
    return path


@pytest.fixture(scope="module")
def trigger(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    specs = _write(tmp_path_factory.mktemp("access"), documents())
    result = generate_documents([specs], for_cluster=False)
    assert result.generated is not None, result.diagnostics
    (found,) = [o for o in result.generated.objects if o.get("kind") == "Trigger"]
    return found


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_the_webhook_filter_follows_the_table(trigger: dict[str, Any], case: Case) -> None:
    pytest.importorskip("celpy")
    body = json.dumps({"spec": case.spec()}).encode()
    headers = {"X-Hub-Signature-256": [triggers.hmac_header("hmac-key", body)]}
    if not case.allowed:
        with pytest.raises(triggers.Refused):
            triggers.call(trigger, body, headers, SECRETS)
        return
    extensions = triggers.call(trigger, body, headers, SECRETS)
    for key, param in (("dataSource", "data"), ("outputDestination", "output")):
        connection, path = case.location(key)
        assert extensions[f"odahu.{param}_connection"] == connection
        assert extensions[f"odahu.{param}_path"] == path


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_a_committed_job_follows_the_table(tmp_path: Path, case: Case) -> None:
    spec = case.spec()
    specs = _write(tmp_path, [*documents(), doc("InferenceJob", "job", spec)])
    project, diags, _ = analyse([specs], for_cluster=False)
    codes = [d.code for d in diags if d.is_error]
    if case.allowed:
        assert project is not None
        assert codes == [], diags
    else:
        assert set(codes) == {case.code}, diags
        assert all(d.location.line > 1 and d.field for d in diags if d.is_error)


def _connections(**read_only: bool) -> dict[str, ConnectionSpec]:
    names = ("data", "extra", "models", "other", "results", "shared", "sink")
    return {
        n: ConnectionSpec.model_validate(
            {"type": "s3", "uri": f"s3://b-{n}", "readOnly": read_only.get(n, False)}
        )
        for n in names
    }


def test_the_rule() -> None:
    spec = InferenceServiceSpec.model_validate(service_spec())
    rule = service_access(spec, _connections(shared=True), "rclone:sink:feedback/records")
    assert rule == Access(
        data=("data", "extra", "shared"), output=("extra", "results"), model="models", feedback="sink"
    )
    # exactly what the Task holds: never 'other'
    assert rule.connections == ("data", "extra", "models", "results", "shared", "sink")
    assert rule.roles("extra") == ("data", "output")
    assert rule.roles("shared") == ("data",)
    assert rule.roles("models") == ("model",)
    assert rule.roles("other") == ()


def test_by_default_only_the_services_own_connections() -> None:
    spec = InferenceServiceSpec.model_validate({**service_spec(), "triggers": {}})
    rule = service_access(spec, _connections(), "none")
    assert (rule.data, rule.output, rule.feedback) == (("data",), ("results",), None)


@pytest.mark.parametrize(
    ("sink", "connection"),
    [("rclone:logs:feedback", "logs"), ("rclone:logs", "logs"), ("none", None), ("http://x/y", None)],
)
def test_feedback_connection(sink: str, connection: str | None) -> None:
    assert feedback_connection(sink) == connection
