"""The Argo backend's webhook: per service a WorkflowEventBinding, and the account a call acts as.

Argo Server's event endpoint ``POST /api/v1/events/<namespace>/<discriminator>`` (argo-workflows v4.1.2
``docs/events.md``) runs every WorkflowEventBinding of the namespace over the call, under the caller's
own identity (``server/event/event_server.go`` lists the bindings, ``server/event/dispatch/operation.go``
gets the WorkflowTemplate and creates the Workflow, each with ``auth.GetWfClient``: the caller's token
when Argo Server runs ``--auth-mode=client``, ``server/auth/gatekeeper.go``). So per service:

- a ``WorkflowEventBinding`` named after the service, whose selector (``compiler/argo/expr.py``) accepts
  only its discriminator (the service's name) and the bodies the plan's ``WebhookRules`` accept, and
  whose parameters are the run params: the endpoint is ``/api/v1/events/<namespace>/<service>``;
- a ServiceAccount ``<service>-webhook`` with a Role allowing exactly what that path checks:
  ``workfloweventbindings: list``, ``workflowtemplates: get`` of this service's WorkflowTemplate only
  (``resourceNames``), ``workflows: create`` (upstream ``manifests/quick-start/base/webhooks/
  submit-workflow-template-role.yaml``, tightened by ``resourceNames`` as its comment suggests). A call
  authenticated as service A that names service B matches B's binding, whose template A may not get:
  nothing is created (the error is logged and recorded on B's binding);
- its token Secret ``<service>-webhook.service-account-token`` (type
  ``kubernetes.io/service-account-token``, no data: Kubernetes fills it in the cluster, never Git).

``auth: hmac`` is Argo Server's GitHub webhook check (``server/auth/webhook/interceptor.go``,
``github.go``): the ``argo-workflows-webhook-clients`` Secret, which the user creates, holds an entry
named after the service's account, ``{type: github, secret: <key>}``; a call carrying ``X-GitHub-Event``
and ``X-Hub-Signature-256`` (the HMAC-SHA256 of the body) that matches it is given that account's token.
``auth: token``: the caller sends the account's token as ``Authorization: Bearer``. ``auth: none``
cannot be honoured: Argo Server takes unauthenticated calls only with ``--auth-mode=server``, which
opens its whole API under its own account, so it is refused (E410).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from compiler import naming as n
from compiler.argo.accounts import grant, token_secret
from compiler.argo.expr import literal, parameters, selector
from compiler.diagnostics import CompileError, Diagnostic, Location
from compiler.manifests.rbac import PolicyRule
from compiler.manifests.render import Item
from compiler.plan.model import Meta, Plan, WebhookTrigger

ARGO_GROUP = ("argoproj.io",)


def submit_rules(service: str) -> tuple[PolicyRule, ...]:
    """What submitting ``service``'s WorkflowTemplate through Argo Server checks, and nothing more."""
    return (
        PolicyRule(ARGO_GROUP, ("workfloweventbindings",), ("list",)),
        PolicyRule(ARGO_GROUP, ("workflowtemplates",), ("get",), (n.task_name(service),)),
        PolicyRule(ARGO_GROUP, ("workflows",), ("create",)),
    )


@dataclass(frozen=True)
class Binding:
    """One WorkflowEventBinding: every value already an expr expression."""

    meta: Meta
    template: str
    selector: str
    labels: tuple[tuple[str, str], ...]
    annotations: tuple[tuple[str, str], ...]
    parameters: tuple[tuple[str, str], ...]


def binding(trigger: WebhookTrigger) -> Binding:
    rules = trigger.rules
    meta = Meta(
        trigger.trigger.name,
        trigger.trigger.namespace,
        tuple(kv for kv in trigger.trigger.labels if kv[0] != n.LABEL_WEBHOOK),
        tuple(sorted((*trigger.trigger.annotations, (n.ANNOTATION_WEBHOOK_AUTH, rules.auth.kind)))),
    )
    created = trigger.run_meta
    return Binding(
        meta=meta,
        template=n.task_name(trigger.service),
        selector=selector(rules),
        labels=tuple((key, literal(value)) for key, value in created.labels),
        annotations=tuple((key, literal(value)) for key, value in created.annotations),
        parameters=parameters(rules),
    )


def auth_none_error(trigger: WebhookTrigger) -> Diagnostic:
    source = trigger.source
    return Diagnostic(
        "E410",
        f"InferenceService '{trigger.service}': the Argo backend cannot take webhook calls from anyone "
        "(auth: none): Argo Server accepts unauthenticated calls only with --auth-mode=server, which "
        "opens its whole API",
        Location(source.file, source.line, source.col),
        hint="remove 'auth: none' (a call then carries the HMAC of its body), or use 'auth: token'",
        field="spec.triggers.webhook.auth",
    )


def token_warnings(located: Iterable[tuple[Mapping[str, Any], Location]]) -> list[Diagnostic]:
    """W302 for each binding whose calls carry the account's token: a Kubernetes credential that can also
    create Workflows in the namespace through the Kubernetes API, around the selector and
    ``resourceNames`` (only Argo Server reads a template before creating a Workflow)."""
    return [
        Diagnostic(
            "W302",
            f"InferenceService '{obj['metadata']['name']}': with the Argo backend, auth: token hands "
            "callers a Kubernetes token that can create any Workflow in the namespace, not only this "
            "service's",
            where,
            severity="warning",
            hint="remove 'auth: token': the default HMAC keeps the token inside the cluster",
            field="spec.triggers.webhook.auth",
        )
        for obj, where in located
        if obj.get("kind") == "WorkflowEventBinding"
        and (obj["metadata"].get("annotations") or {}).get(n.ANNOTATION_WEBHOOK_AUTH) == "token"
    ]


def _account_items(trigger: WebhookTrigger) -> Iterator[Item]:
    ns, source = trigger.trigger.namespace, trigger.source
    labels = tuple(kv for kv in trigger.trigger.labels if kv[0] != n.LABEL_WEBHOOK)
    account = n.webhook_account_name(trigger.service)
    sa = Meta(account, ns, labels)
    yield "serviceaccount", "ServiceAccount", account, ns, source, {"meta": sa, "pull_secrets": ()}
    yield token_secret(account, ns, labels, source)
    yield from grant(account, account, ns, labels, submit_rules(trigger.service), source)


def webhook_documents(plan: Plan) -> list[Item]:
    """(template, kind, name, namespace, origin, context) of every webhook object, in plan order.

    Raises CompileError (E410) for a service whose webhook takes calls from anyone."""
    refused = [auth_none_error(t) for t in plan.triggers if t.rules.auth.kind == "none"]
    if refused:
        raise CompileError(tuple(refused))
    items: list[Item] = []
    for trigger in plan.triggers:
        b = binding(trigger)
        items.append(
            (
                "workfloweventbinding",
                "WorkflowEventBinding",
                b.meta.name,
                b.meta.namespace,
                trigger.source,
                {"b": b},
            )
        )
        items.extend(_account_items(trigger))
    return items
