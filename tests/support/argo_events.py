"""What Argo Server (argo-workflows v4.1.2) does with a call to its event endpoint, for tests.

No Argo Server runs here; each function follows the named upstream source, and expressions are run by
tests/support/expr.py:
- ``webhook_authorization``: ``server/auth/webhook/interceptor.go`` (only a POST under ``/api/v1/events/``
  without an ``Authorization`` header; each entry of the ``argo-workflows-webhook-clients`` Secret, named
  after a ServiceAccount, is tried; a match gets that account's token as ``Bearer``) with ``github.go``
  (go-playground/webhooks v6.4.0 ``github.Parse``: an ``X-GitHub-Event`` among the listed events, a
  non-empty body, ``X-Hub-Signature-256`` = ``sha256=`` + hex HMAC-SHA256 of the body);
- ``environment``: ``server/event/dispatch/operation.go`` ``expressionEnvironment`` and ``metaData``
  through ``util/json/jsonify.go`` (every JSON number a float64; only ``x-`` headers, lower-cased, each a
  list of values);
- ``dispatch``: ``operation.go`` ``Dispatch``/``dispatch``: every binding of the namespace, in turn;
  ``argoexpr.EvalBool`` on the selector; when true, the WorkflowTemplate is read and the Workflow created
  with the caller's own client; labels and annotations of ``submit.metadata`` are expressions that must
  give strings; each parameter's value is ``json.Marshal`` of its result, unquoted by ``Item.String``
  (``pkg/apis/workflow/v1alpha1/item.go``, ``util/json/fix.go``). An error of one binding is logged and
  recorded as a ``Warning`` Event ``WorkflowEventBindingError`` on it; the others still run;
- ``allows``: Kubernetes RBAC (kubernetes ``plugin/pkg/auth/authorizer/rbac/rbac.go`` ``RuleAllows``): a rule
  matches the group, resource and verb, and its ``resourceNames``, when given, the object's name (a
  ``list`` or ``create`` names no object, so such a rule never grants them).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from tests.support.expr import ExprError, compile_and_run

CLIENTS_SECRET = "argo-workflows-webhook-clients"
PATH_PREFIX = "/api/v1/events/"
# go-playground/webhooks v6.4.0 github events that server/auth/webhook/github.go lists (a few of them).
GITHUB_EVENTS = frozenset({"push", "ping", "create", "release", "workflow_dispatch", "workflow_run"})
Headers = Mapping[str, Sequence[str]]


class SelectorError(Exception):
    """A binding's selector or parameter failed: logged and recorded as an Event, nothing created."""


def github_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _header(headers: Headers, name: str) -> str:
    """Go's ``http.Header.Get``: case-insensitive, the first value."""
    for key, values in headers.items():
        if key.lower() == name.lower() and values:
            return values[0]
    return ""


def github_match(secret: str, headers: Headers, body: bytes) -> bool:
    if _header(headers, "X-GitHub-Event") not in GITHUB_EVENTS or not body:
        return False
    signature = _header(headers, "X-Hub-Signature-256")
    if not signature:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature.removeprefix("sha256=").encode(), expected.encode())


def webhook_authorization(
    method: str,
    path: str,
    headers: Headers,
    body: bytes,
    clients: Mapping[str, str],
    tokens: Mapping[str, str],
) -> str:
    """The ``Authorization`` header the call goes on with ('' when none); ``clients``: the clients Secret's
    entries (account -> YAML), ``tokens``: each account's token."""
    given = _header(headers, "Authorization")
    if method != "POST" or given or not path.startswith(PATH_PREFIX):
        return given
    if len(path.removeprefix(PATH_PREFIX).split("/", 1)) != 2:
        return ""
    for account, entry in clients.items():
        client = yaml.safe_load(entry)
        if client["type"] == "github" and github_match(str(client["secret"]), headers, body):
            return "Bearer " + tokens[account]
    return ""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON constant {name}")


def environment(namespace: str, discriminator: str, body: bytes, headers: Headers) -> dict[str, Any]:
    payload = json.loads(body, parse_int=float, parse_constant=_reject_constant) if body else None
    metadata = {key.lower(): list(values) for key, values in headers.items() if key.lower().startswith("x-")}
    return {"namespace": namespace, "discriminator": discriminator, "metadata": metadata, "payload": payload}


def go_json(value: Any) -> str:
    """``json.Marshal`` of an expression's result (strings, numbers, booleans, nil)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def parameter_value(result: Any) -> str:
    """``wfv1.AnyStringPtr(wfv1.Item{Value: json.Marshal(result)})``: a JSON string loses its quotes."""
    text = go_json(result)
    if text.startswith('"'):
        text = text[1:-1]
    return text.replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u0026", "&")


def eval_bool(expression: str, env: Mapping[str, Any]) -> bool:
    """``util/expr/argoexpr`` ``EvalBool``."""
    try:
        result = compile_and_run(expression, env)
    except ExprError as exc:
        raise SelectorError(f"failed to evaluate workflow template expression: {exc}") from None
    if not isinstance(result, bool):
        raise SelectorError(f"unable to cast expression result '{result}' to bool")
    return result


def evaluate_parameters(parameters: Sequence[Mapping[str, Any]], env: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    for p in parameters:
        try:
            out[p["name"]] = parameter_value(compile_and_run(p["valueFrom"]["event"], env))
        except ExprError as exc:
            raise SelectorError(
                f'failed to evaluate workflow template parameter "{p["name"]}": {exc}'
            ) from None
    return out


def dispatch_one(
    selector: str, parameters: Sequence[tuple[str, str]], body: Any, service: str
) -> dict[str, str] | None:
    """One binding over one JSON body sent to ``/api/v1/events/<ns>/<service>``: the Workflow's parameters,
    None when the selector is false; SelectorError when it fails."""
    env = environment("ns", service, json.dumps(body).encode(), {})
    if not eval_bool(selector, env):
        return None
    return evaluate_parameters([{"name": k, "valueFrom": {"event": e}} for k, e in parameters], env)


# --- RBAC and the whole call ----------------------------------------------------------------------


def allows(rules: Sequence[Mapping[str, Any]], verb: str, resource: str, name: str = "") -> bool:
    for rule in rules:
        names = rule.get("resourceNames") or ()
        if (
            "argoproj.io" in rule.get("apiGroups", ())
            and resource in rule.get("resources", ())
            and verb in rule.get("verbs", ())
            and (not names or (name and name in names))
        ):
            return True
    return False


@dataclass
class Outcome:
    """What a call left: the Workflows created and the Events recorded on bindings."""

    status: int = 200
    created: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[str, str]] = field(default_factory=list)  # (binding, message)


def account_rules(objects: Sequence[Mapping[str, Any]], namespace: str, account: str) -> list[dict[str, Any]]:
    """The rules of every Role bound to ``account`` in ``namespace`` by the tree's RoleBindings."""
    roles = {o["metadata"]["name"]: o for o in objects if o.get("kind") == "Role"}
    rules: list[dict[str, Any]] = []
    for b in (
        o for o in objects if o.get("kind") == "RoleBinding" and o["metadata"].get("namespace") == namespace
    ):
        if any(s["kind"] == "ServiceAccount" and s["name"] == account for s in b["subjects"]):
            rules += roles[b["roleRef"]["name"]]["rules"]
    return rules


def _submit(
    binding: Mapping[str, Any], env: Mapping[str, Any], rules: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    submit = binding["spec"]["submit"]
    template = submit["workflowTemplateRef"]["name"]
    if not allows(rules, "get", "workflowtemplates", template):
        raise SelectorError(f'failed to get workflow template: workflowtemplates "{template}" is forbidden')
    meta = submit.get("metadata") or {}
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    for target, given in ((labels, meta.get("labels") or {}), (annotations, meta.get("annotations") or {})):
        for key, expression in given.items():
            value = compile_and_run(expression, env)
            if not isinstance(value, str):
                raise SelectorError(f"workflow label {key} expression must evaluate to a string")
            target[key] = value
    parameters = evaluate_parameters((submit.get("arguments") or {}).get("parameters") or (), env)
    if not allows(rules, "create", "workflows"):
        raise SelectorError("failed to create workflow: workflows is forbidden")
    return {"template": template, "labels": labels, "annotations": annotations, "parameters": parameters}


def call(
    objects: Sequence[Mapping[str, Any]], namespace: str, discriminator: str, body: bytes, account: str | None
) -> Outcome:
    """A call authenticated as ``account`` (None: no valid token, refused as Unauthenticated)."""
    if account is None:
        return Outcome(status=401)
    rules = account_rules(objects, namespace, account)
    if not allows(rules, "list", "workfloweventbindings"):
        return Outcome(status=500)
    bindings = [
        o
        for o in objects
        if o.get("kind") == "WorkflowEventBinding" and o["metadata"]["namespace"] == namespace
    ]
    env = environment(namespace, discriminator, body, {})
    outcome = Outcome()
    for binding in bindings:
        try:
            if eval_bool(binding["spec"]["event"]["selector"], env):
                outcome.created.append(_submit(binding, env, rules))
        except (SelectorError, ExprError) as exc:
            outcome.events.append((binding["metadata"]["name"], f"failed to dispatch event: {exc}"))
    if outcome.events:
        outcome.status = 500  # --event-async-dispatch=false, the default: the call answers the error
    return outcome
