"""The Argo backend's webhook objects (compiler/argo/webhook.py), run as Argo Server runs them
(tests/support/argo_events.py): who may call, what a call can start, what Git holds."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from compiler import naming as n
from compiler.pipeline import generate_documents
from tests.support import argo_events
from tests.support.access_table import SERVICE, doc, documents, service_spec
from tests.support.argo_manifests import validate_argo_schema

NS = "odahu-batch"
OTHER = "other-svc"
Objects = tuple[dict[str, Any], ...]


def _compile(tmp: Path, docs: list[dict[str, Any]]) -> Any:
    specs = tmp / "specs.yaml"
    specs.write_text("---\n".join(json.dumps(d) + "\n" for d in docs))
    return generate_documents([specs], for_cluster=False, target="argo")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Objects:
    """The table's project plus a second team's service (parallelism 3: its webhook runs sharded)."""
    other = doc("InferenceService", OTHER, service_spec(parallelism=3, triggers={"webhook": {}}))
    result = _compile(tmp_path_factory.mktemp("webhook"), [*documents(), other])
    assert result.generated is not None, result.diagnostics
    objects: Objects = result.generated.objects
    return objects


def _of(tree: Objects, kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in tree if o.get("kind") == kind and o["metadata"]["name"] == name]
    return found


def _body(service: str, **spec: Any) -> bytes:
    return json.dumps({"spec": {"inferenceServiceId": service, **spec}}).encode()


def test_every_webhook_object_passes_argos_schema(tree: Objects) -> None:
    kinds = {(o["kind"], o["metadata"]["name"]) for o in tree if "metadata" in o}
    for service in (SERVICE, OTHER):
        account = n.webhook_account_name(service)
        assert {
            ("WorkflowEventBinding", service),
            ("ServiceAccount", account),
            ("Secret", n.argo_token_secret_name(account)),
            ("Role", account),
            ("RoleBinding", account),
        } <= kinds
    for binding in (o for o in tree if o["kind"] == "WorkflowEventBinding"):
        assert validate_argo_schema(binding) == []


def test_git_holds_no_token(tree: Objects) -> None:
    """The token Secret is typed and named for Argo Server's lookup; Kubernetes writes the token."""
    account = n.webhook_account_name(SERVICE)
    secret = _of(tree, "Secret", f"{account}.service-account-token")
    assert secret["type"] == "kubernetes.io/service-account-token"
    assert secret["metadata"]["annotations"]["kubernetes.io/service-account.name"] == account
    assert "data" not in secret
    assert "stringData" not in secret


def test_the_role_allows_exactly_submitting_its_own_service(tree: Objects) -> None:
    rules = _of(tree, "Role", n.webhook_account_name(SERVICE))["rules"]
    assert argo_events.allows(rules, "list", "workfloweventbindings")
    assert argo_events.allows(rules, "get", "workflowtemplates", SERVICE)
    assert not argo_events.allows(rules, "get", "workflowtemplates", OTHER)
    assert argo_events.allows(rules, "create", "workflows")
    assert not argo_events.allows(rules, "get", "workflows", "any")
    binding = _of(tree, "RoleBinding", n.webhook_account_name(SERVICE))
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": f"{SERVICE}-webhook", "namespace": NS}]


def test_a_call_starts_its_service_with_the_run_params_and_labels(tree: Objects) -> None:
    outcome = argo_events.call(tree, NS, SERVICE, _body(SERVICE, requestId="r-1"), f"{SERVICE}-webhook")
    assert (outcome.status, outcome.events) == (200, [])
    (created,) = outcome.created
    assert created["template"] == SERVICE
    assert created["parameters"] == {
        "request-id": "r-1",
        "data-connection": "data",
        "data-path": "input",
        "output-connection": "results",
        "output-path": "output",
    }
    # labelled as the runs the Tekton webhook creates; Argo CD leaves them alone if it ever sees them
    assert created["labels"] == {n.LABEL_PART_OF: n.PRODUCT, n.LABEL_SERVICE: SERVICE}
    assert created["annotations"] == {
        n.ANNOTATION_COMPARE_OPTIONS: "IgnoreExtraneous",
        n.ANNOTATION_SYNC_OPTIONS: "Prune=false",
    }


def test_a_credential_of_one_service_never_starts_another(tree: Objects) -> None:
    """The call names the other service (its discriminator and its id): its binding matches, but the
    caller may not get that WorkflowTemplate, so nothing is created and the error is recorded."""
    outcome = argo_events.call(tree, NS, OTHER, _body(OTHER), f"{SERVICE}-webhook")
    assert outcome.created == []
    assert [name for name, _ in outcome.events] == [OTHER]
    assert "forbidden" in outcome.events[0][1]
    assert outcome.status == 500
    # its own credential does
    (created,) = argo_events.call(tree, NS, OTHER, _body(OTHER, parallelism=5), f"{OTHER}-webhook").created
    assert created["parameters"]["shard-count"] == "5"
    assert argo_events.call(tree, NS, OTHER, _body(OTHER), None).status == 401


@pytest.mark.parametrize(
    ("discriminator", "body"),
    [
        (SERVICE, _body(OTHER)),  # a body for another service, at this service's endpoint
        (OTHER, _body(SERVICE)),
        (SERVICE, b'{"spec": null}'),
        (SERVICE, b'{"spec": {"inferenceServiceId": 1}}'),
        (SERVICE, b'{"spec": {"inferenceServiceId": "scorer", "dataSource": 7}}'),
        (SERVICE, b'{"spec": {"inferenceServiceId": "scorer", "dataSource": {"connection": 7}}}'),
        (SERVICE, b'{"spec": {"inferenceServiceId": "scorer", "dataSource": {"path": ["a"]}}}'),
        (SERVICE, b'{"spec": {"inferenceServiceId": "scorer", "requestId": {"a": 1}}}'),
        (SERVICE, b'{"spec": {"inferenceServiceId": "scorer", "parallelism": "2"}}'),
        (SERVICE, b'{"kind": 3, "id": 4, "spec": {"inferenceServiceId": "scorer"}}'),
        (SERVICE, b"{}"),
    ],
)
def test_a_refused_call_creates_nothing_and_no_selector_fails(
    tree: Objects, discriminator: str, body: bytes
) -> None:
    """Every binding of the namespace runs on every call: each selector is false, never an error, for any
    JSON object, so a call refused by one binding leaves no Event and no error status behind."""
    for account in (f"{SERVICE}-webhook", f"{OTHER}-webhook"):
        outcome = argo_events.call(tree, NS, discriminator, body, account)
        assert (outcome.created, outcome.events, outcome.status) == ([], [], 200)


def test_a_body_that_is_not_an_object_fails_every_selector_at_compile_time(tree: Objects) -> None:
    """Refused as by Triggers' CEL, but Argo Server records the failure on each binding of the namespace."""
    outcome = argo_events.call(tree, NS, SERVICE, b"[1, 2]", f"{SERVICE}-webhook")
    assert outcome.created == []
    assert sorted(name for name, _ in outcome.events) == sorted([SERVICE, OTHER])


def test_a_signed_call_gets_the_services_account() -> None:
    """server/auth/webhook/interceptor_test.go TestInterceptor "Github": the clients Secret's entry
    ``github`` (type github, secret ``sh!``), body ``{}``, event ``push`` and its signature."""
    clients, tokens = {"github": "type: github\nsecret: sh!"}, {"github": "my-github-token"}
    signature = "sha256=926ceeb8dcd67d5979fd7d726e3905af6d220f7fd6b2d8cce946906f7cf35963"
    assert argo_events.github_signature("sh!", b"{}") == signature
    headers = {"X-Github-Event": ["push"], "X-Hub-Signature-256": [signature]}
    path = "/api/v1/events/my-ns/my-d"
    assert (
        argo_events.webhook_authorization("POST", path, headers, b"{}", clients, tokens)
        == "Bearer my-github-token"
    )
    # upstream's ignored cases: another method, an Authorization already there, another path
    assert argo_events.webhook_authorization("GET", path, headers, b"{}", clients, tokens) == ""
    given = {**headers, "Authorization": ["existing"]}
    assert argo_events.webhook_authorization("POST", path, given, b"{}", clients, tokens) == "existing"
    assert argo_events.webhook_authorization("POST", "/api/v1/xxx/", headers, b"{}", clients, tokens) == ""
    # a wrong signature, or no event header, gets no account
    wrong = {**headers, "X-Hub-Signature-256": [argo_events.github_signature("other", b"{}")]}
    assert argo_events.webhook_authorization("POST", path, wrong, b"{}", clients, tokens) == ""
    no_event = {"X-Hub-Signature-256": [signature]}
    assert argo_events.webhook_authorization("POST", path, no_event, b"{}", clients, tokens) == ""


def test_the_clients_secret_entry_is_a_prerequisite_and_never_written(tmp_path: Path) -> None:
    result = _compile(tmp_path, documents())
    assert result.generated is not None
    text = result.generated.prerequisites.as_text()
    assert f"{n.ARGO_WEBHOOK_CLIENTS_SECRET}/{SERVICE}-webhook" in text
    names = {o["metadata"]["name"] for o in result.generated.objects if "metadata" in o}
    assert n.ARGO_WEBHOOK_CLIENTS_SECRET not in names


def test_a_token_webhook_needs_no_clients_entry(tmp_path: Path) -> None:
    docs = documents()
    docs[-1]["spec"] = service_spec(triggers={"webhook": {"auth": "token"}})
    result = _compile(tmp_path, docs)
    assert result.generated is not None, result.diagnostics
    binding = next(o for o in result.generated.objects if o["kind"] == "WorkflowEventBinding")
    assert binding["metadata"]["annotations"][n.ANNOTATION_WEBHOOK_AUTH] == "token"
    assert n.ARGO_WEBHOOK_CLIENTS_SECRET not in result.generated.prerequisites.as_text()
    (warning,) = [d for d in result.diagnostics if d.code == "W302"]
    assert warning.field == "spec.triggers.webhook.auth"
    assert warning.location.line > 1


def test_auth_none_is_refused_with_a_located_error(tmp_path: Path) -> None:
    docs = documents()
    docs[-1]["spec"] = service_spec(triggers={"webhook": {"auth": "none"}})
    result = _compile(tmp_path, docs)
    errors = [d for d in result.diagnostics if d.is_error]
    assert [d.code for d in errors] == ["E410"]
    assert errors[0].location.file.endswith("specs.yaml")
    assert errors[0].location.line > 1
    assert errors[0].field == "spec.triggers.webhook.auth"
    assert result.generated is None or not result.generated.docs


# A WorkflowEventBinding's submit holds only the template, metadata and parameters
# (pkg/apis/workflow/v1alpha1/event_types.go Submit), and operation.go creates the Workflow from
# common.NewWorkflowFromWorkflowTemplate: the entrypoint, timeout, node selector and tolerations of a
# webhook run are the WorkflowTemplate's own. The renderer's WorkflowTemplate does not carry them yet.
def test_a_sharded_services_webhook_runs_its_sharded_template(tree: Objects) -> None:
    assert _of(tree, "WorkflowTemplate", OTHER)["spec"]["entrypoint"] == n.ARGO_TEMPLATE_SHARDED


def test_a_webhook_run_keeps_the_services_timeout(tree: Objects) -> None:
    assert _of(tree, "WorkflowTemplate", SERVICE)["spec"].get("activeDeadlineSeconds") == 600


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _scripts_read_no_parameter(template: dict[str, Any]) -> bool:
    """Webhook values reach the steps as whole argv items or env values: no ``sh -c`` script of the
    WorkflowTemplate holds a ``{{...}}`` reference (Argo substitutes it as text, util/template/replace.go)."""
    for t in template["spec"]["templates"]:
        containers = [t.get("container") or {}, *((t.get("containerSet") or {}).get("containers") or ())]
        for c in containers:
            argv = [*c.get("command", ()), *c.get("args", ())]
            scripts = [argv[i + 1] for i, item in enumerate(argv[:-1]) if item == "-c"]
            if any("{{" in script for script in scripts):
                return False
    return True


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir()))
def test_each_examples_binding_fills_its_templates_arguments(example: str) -> None:
    """A call naming only the service creates a Workflow whose parameters are arguments its
    WorkflowTemplate declares (an undeclared one would be ignored by the steps)."""
    result = generate_documents([EXAMPLES / example], for_cluster=False, target="argo")
    assert result.generated is not None, result.diagnostics
    objects = result.generated.objects
    bindings = [o for o in objects if o.get("kind") == "WorkflowEventBinding"]
    for binding in bindings:
        ns, service = binding["metadata"]["namespace"], binding["metadata"]["name"]
        template = _of(objects, "WorkflowTemplate", service)
        arguments = template["spec"]["arguments"]["parameters"]
        declared = {p["name"] for p in arguments}
        body = _body(service)
        if not next(p for p in arguments if p["name"] == "data-connection").get("value"):
            # no default location (ODAHU's services): the call names the connection the service allows
            ref = {"connection": "models-output", "path": "in"}
            body = _body(service, dataSource=ref, outputDestination=ref)
        outcome = argo_events.call(objects, ns, service, body, n.webhook_account_name(service))
        assert outcome.events == []
        (created,) = outcome.created
        assert set(created["parameters"]) <= declared
        # a call sets the run params only: never replace-output, never the pod spec patch
        assert set(created["parameters"]) <= {*n.RUN_PARAMS, n.PARAM_SHARD_COUNT}
        assert _scripts_read_no_parameter(template)
        assert created["labels"][n.LABEL_SERVICE] == service


def test_every_readme_body_starts_its_service_on_argo() -> None:
    """The README's webhook bodies, at their service's endpoint, create a Workflow (their Tekton twin is
    tests/cluster/test_triggers.py)."""
    readme = (EXAMPLES.parent / "README.md").read_text(encoding="utf-8")
    bodies = [json.loads(b) for b in re.findall(r"(?:-d |BODY=)'(\{.*?\})'", readme, re.S)]
    assert bodies
    result = generate_documents([EXAMPLES], for_cluster=False, target="argo")
    assert result.generated is not None, result.diagnostics
    for body in bodies:
        service = body["spec"]["inferenceServiceId"]
        account = n.webhook_account_name(service)
        outcome = argo_events.call(result.generated.objects, NS, service, json.dumps(body).encode(), account)
        assert (len(outcome.created), outcome.events) == (1, []), body


def test_the_script_check_sees_a_pasted_value() -> None:
    pasted = {"command": ["sh", "-c"], "args": ['echo "{{workflow.parameters.request-id}}"']}
    as_argv = {"command": ["python3", "x.py", "{{workflow.parameters.request-id}}"]}
    assert not _scripts_read_no_parameter({"spec": {"templates": [{"container": pasted}]}})
    assert _scripts_read_no_parameter({"spec": {"templates": [{"containerSet": {"containers": [as_argv]}}]}})
