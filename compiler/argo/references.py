"""What compiled Argo documents reference, read from the documents themselves.

A Workflow follows its ``workflowTemplateRef`` (``workflow/controller/operator.go`` fails the Workflow
when the WorkflowTemplate is missing) and runs its pods as ``serviceAccountName`` and the executor's
account; a WorkflowTemplate's pods mount ConfigMaps and read Secrets through env. Kinds the tree must emit
are checked against it; Secrets and the namespace are its prerequisites.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from compiler import naming as n
from compiler.manifests.references import Prerequisites, Ref, env_refs, kube_references
from compiler.manifests.references import prerequisites as common_prerequisites

MUST_EMIT = frozenset({"ServiceAccount", "ConfigMap", "WorkflowTemplate", "Role", "ClusterRole"})
CLUSTER_SCOPED = frozenset({"ClusterRole", "ClusterRoleBinding", "ClusterWorkflowTemplate"})


def _spec_refs(spec: Mapping[str, Any], ns: str | None) -> Iterator[Ref]:
    """What a Workflow's or WorkflowTemplate's spec names."""
    if (spec.get("workflowTemplateRef") or {}).get("name"):
        ref = spec["workflowTemplateRef"]
        kind = "ClusterWorkflowTemplate" if ref.get("clusterScope") else "WorkflowTemplate"
        yield Ref(kind, None if ref.get("clusterScope") else ns, ref["name"])
    if spec.get("serviceAccountName"):
        yield Ref("ServiceAccount", ns, spec["serviceAccountName"])
    executor = (spec.get("executor") or {}).get("serviceAccountName")
    if executor:
        # The controller mounts the executor's token Secret in every pod (workflow/controller/workflowpod.go
        # setupServiceAccount; util/secrets/secret_name.go): a missing one keeps every pod from starting.
        yield Ref("ServiceAccount", ns, executor)
        yield Ref("Secret", ns, n.argo_token_secret_name(executor))
    for secret in spec.get("imagePullSecrets") or ():
        yield Ref("Secret", ns, secret["name"])
    volumes = list(spec.get("volumes") or ())
    for template in spec.get("templates") or ():
        volumes += template.get("volumes") or ()
        containers = [
            template.get("container") or {},
            *((template.get("containerSet") or {}).get("containers") or ()),
        ]
        for container in containers:
            yield from env_refs(container, ns)
    for volume in volumes:
        if "configMap" in volume:
            yield Ref("ConfigMap", ns, volume["configMap"]["name"])
        if "secret" in volume:
            yield Ref("Secret", ns, volume["secret"]["secretName"])


def references(obj: Mapping[str, Any]) -> Iterator[Ref]:
    """Every object ``obj`` names, with the namespace it is looked up in."""
    kind, meta, spec = obj.get("kind", ""), obj.get("metadata") or {}, obj.get("spec") or {}
    ns = meta.get("namespace")
    if kind in ("Workflow", "WorkflowTemplate"):
        yield from _spec_refs(spec, ns)
    elif kind == "WorkflowEventBinding":
        ref = (spec.get("submit") or {}).get("workflowTemplateRef") or {}
        if ref.get("name"):
            yield Ref("WorkflowTemplate", ns, ref["name"])
        # A signed call is matched against the entry named after the service's webhook account in Argo
        # Server's clients Secret, which the user creates (compiler/argo/webhook.py).
        if (meta.get("annotations") or {}).get(n.ANNOTATION_WEBHOOK_AUTH) == "hmac":
            account = n.webhook_account_name(meta.get("name", ""))
            yield Ref("Secret", ns, n.ARGO_WEBHOOK_CLIENTS_SECRET, account)
    else:
        yield from kube_references(obj)


def prerequisites(objects: Sequence[Mapping[str, Any]]) -> Prerequisites:
    """The prerequisites of an Argo tree, and in ``missing`` what it references but does not emit."""
    return common_prerequisites(objects, references, MUST_EMIT, CLUSTER_SCOPED)
