"""The connection rule (compiler/front/access.py) from the shared table: the compiled webhook of each
backend, run as its engine runs it (Tekton Triggers' CEL with cel-python; Argo Server's event expressions
with tests/support/expr.py), and the compile-time check of a committed job."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from compiler.front.access import Access, feedback_connection, service_access
from compiler.front.spec import ConnectionSpec, InferenceServiceSpec
from compiler.pipeline import analyse, generate_documents
from tests.support import argo_events, triggers
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


@pytest.fixture(scope="module")
def argo_tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], ...]:
    specs = _write(tmp_path_factory.mktemp("access-argo"), documents())
    result = generate_documents([specs], for_cluster=False, target="argo")
    assert result.generated is not None, result.diagnostics
    return result.generated.objects


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_the_argo_webhook_follows_the_table_as_the_tekton_one(
    trigger: dict[str, Any], argo_tree: tuple[dict[str, Any], ...], case: Case
) -> None:
    """The same call, signed, through both backends: the same verdict and the same run params."""
    pytest.importorskip("celpy")
    body = json.dumps({"spec": case.spec()}).encode()
    headers = {"X-Hub-Signature-256": [triggers.hmac_header("hmac-key", body)]}
    try:
        tekton: dict[str, str] | None = triggers.call(trigger, body, headers, SECRETS)
    except triggers.Refused:
        tekton = None
    account = f"{SERVICE}-webhook"
    signed = {"X-GitHub-Event": ["push"], "X-Hub-Signature-256": [argo_events.github_signature("k", body)]}
    bearer = argo_events.webhook_authorization(
        "POST", f"/api/v1/events/odahu-batch/{SERVICE}", signed, body, {account: "type: github\nsecret: k"},
        {account: "t0ken"},
    )  # fmt: skip
    assert bearer == "Bearer t0ken"
    outcome = argo_events.call(argo_tree, "odahu-batch", SERVICE, body, account)
    assert outcome.events == []  # refused or not, the selector never fails
    assert (tekton is not None) is case.allowed is bool(outcome.created)
    if tekton is not None:
        (created,) = outcome.created
        assert created["parameters"] == {
            p: tekton[f"odahu.{p.replace('-', '_')}"] for p in created["parameters"]
        }
        assert created["template"] == SERVICE


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_a_job_standing_for_a_call_follows_the_table(tmp_path: Path, case: Case) -> None:
    """``run --webhook-body`` compiles the body as a job held to the call's rule (``calls``)."""
    spec = case.spec()
    specs = _write(tmp_path, [*documents(), doc("InferenceJob", "job", spec)])
    project, diags, _ = analyse([specs], for_cluster=False, calls=frozenset({"job"}))
    codes = [d.code for d in diags if d.is_error]
    if case.allowed:
        assert project is not None
        assert codes == [], diags
    else:
        assert set(codes) == {case.code}, diags
        assert all(d.location.line > 1 and d.field for d in diags if d.is_error)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_a_committed_job_may_name_any_declared_connection_but_never_write_a_read_only_one(
    tmp_path: Path, case: Case
) -> None:
    """A committed job is reviewed in Git (ODAHU's jobs name their own connections): only a readOnly
    output and an undeclared connection are refused."""
    specs = _write(tmp_path, [*documents(), doc("InferenceJob", "job", case.spec())])
    project, diags, _ = analyse([specs], for_cluster=False)
    codes = {d.code for d in diags if d.is_error}
    if case.code in ("E302", "E307"):
        assert codes == {case.code}, diags
    else:
        assert project is not None
        assert codes == set(), diags


def test_a_committed_jobs_connection_reaches_its_task_but_never_the_webhook(tmp_path: Path) -> None:
    job = doc("InferenceJob", "job", {"inferenceServiceId": SERVICE, "dataSource": {"connection": "other"}})
    specs = _write(tmp_path, [*documents(), job])
    result = generate_documents([specs], for_cluster=False)
    assert result.generated is not None, result.diagnostics
    (task,) = [o for o in result.generated.objects if o.get("kind") == "Task"]
    secrets = {
        e["valueFrom"]["secretKeyRef"]["name"]
        for step in task["spec"]["steps"]
        for e in step.get("env", ())
        if "valueFrom" in e
    }
    assert "other-creds" in secrets
    (trigger,) = [o for o in result.generated.objects if o.get("kind") == "Trigger"]
    pytest.importorskip("celpy")
    body = json.dumps(
        {"spec": {"inferenceServiceId": SERVICE, "dataSource": {"connection": "other"}}}
    ).encode()
    headers = {"X-Hub-Signature-256": [triggers.hmac_header("hmac-key", body)]}
    with pytest.raises(triggers.Refused):
        triggers.call(trigger, body, headers, SECRETS)


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
