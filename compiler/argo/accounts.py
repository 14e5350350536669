"""The ServiceAccounts the Argo tree emits, as rendered items: the account, its API token Secret (no value
in Git: Kubernetes fills it; Argo finds it by name, argo-workflows util/secrets/secret_name.go) and the
Role and RoleBinding that grant it exactly ``rules``. The runner (the executor's token) and each service's
webhook caller are built here alike."""

from __future__ import annotations

from collections.abc import Iterator

from compiler import naming as n
from compiler.front.spec import Source
from compiler.manifests.rbac import PolicyRule
from compiler.manifests.render import Item
from compiler.plan.model import Meta, RoleBinding


def token_secret(
    account: str, namespace: str | None, labels: tuple[tuple[str, str], ...], source: Source
) -> Item:
    """The account's long-lived token Secret, named ``<account>.service-account-token``."""
    annotations = ((n.ANNOTATION_SERVICE_ACCOUNT_NAME, account),)
    meta = Meta(n.argo_token_secret_name(account), namespace, labels, annotations)
    return "serviceaccounttoken", "Secret", meta.name, namespace, source, {"meta": meta}


def grant(
    role: str,
    account: str,
    namespace: str | None,
    labels: tuple[tuple[str, str], ...],
    rules: tuple[PolicyRule, ...],
    source: Source,
) -> Iterator[Item]:
    """A Role ``role`` with ``rules`` and the RoleBinding that gives it to ``account``."""
    meta = Meta(role, namespace, labels)
    yield "role", "Role", role, namespace, source, {"meta": meta, "rules": rules}
    bound = RoleBinding(meta, "Role", role, account, namespace or "default")
    yield "rolebinding", "RoleBinding", role, namespace, source, {"b": bound}
