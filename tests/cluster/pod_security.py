"""Pod Security Standards "restricted" (latest), as code.

Each check names its file in kubernetes/pod-security-admission ``policy/``; each returns the
reasons a pod is refused (empty: allowed), in the words of upstream's ForbiddenDetail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

Pod = Mapping[str, Any]
# policy/check_restrictedVolumes.go: the only volume sources "restricted" allows.
ALLOWED_VOLUMES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)


def _containers(pod: Pod) -> Iterator[Mapping[str, Any]]:
    # policy/visitor.go visitContainers: init, regular and ephemeral containers.
    spec = pod["spec"]
    for field in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(field) or ()


def _ctx(container: Mapping[str, Any]) -> Mapping[str, Any]:
    return container.get("securityContext") or {}


def _pod_ctx(pod: Pod) -> Mapping[str, Any]:
    return pod["spec"].get("securityContext") or {}


def allow_privilege_escalation(pod: Pod) -> list[str]:
    # policy/check_allowPrivilegeEscalation.go: must be set to false on every container.
    bad = [c["name"] for c in _containers(pod) if _ctx(c).get("allowPrivilegeEscalation") is not False]
    return [f"containers {bad} must set securityContext.allowPrivilegeEscalation=false"] if bad else []


def capabilities(pod: Pod) -> list[str]:
    # policy/check_capabilities_restricted.go: drop ALL, add at most NET_BIND_SERVICE.
    out = []
    for c in _containers(pod):
        caps = _ctx(c).get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or ()):
            out.append(f'container {c["name"]!r} must set securityContext.capabilities.drop=["ALL"]')
        added = set(caps.get("add") or ()) - {"NET_BIND_SERVICE"}
        if added:
            out.append(
                f"container {c['name']!r} must not include {sorted(added)} "
                "in securityContext.capabilities.add"
            )
    return out


def run_as_non_root(pod: Pod) -> list[str]:
    # policy/check_runAsNonRoot.go: true at pod level or on every container; false nowhere.
    pod_value = _pod_ctx(pod).get("runAsNonRoot")
    if pod_value is False:
        return ["pod must not set securityContext.runAsNonRoot=false"]
    bad = [
        c["name"]
        for c in _containers(pod)
        if _ctx(c).get("runAsNonRoot") is False
        or (_ctx(c).get("runAsNonRoot") is None and pod_value is not True)
    ]
    return [f"pod or containers {bad} must set securityContext.runAsNonRoot=true"] if bad else []


def run_as_user(pod: Pod) -> list[str]:
    # policy/check_runAsUser.go: never runAsUser=0.
    bad = ["pod"] if _pod_ctx(pod).get("runAsUser") == 0 else []
    bad += [c["name"] for c in _containers(pod) if _ctx(c).get("runAsUser") == 0]
    return [f"{bad} must not set runAsUser=0"] if bad else []


def seccomp_profile(pod: Pod) -> list[str]:
    # policy/check_seccompProfile_restricted.go: RuntimeDefault or Localhost, at pod level or on
    # every container; an explicit other value anywhere is refused.
    valid = ("RuntimeDefault", "Localhost")
    pod_type = (_pod_ctx(pod).get("seccompProfile") or {}).get("type")
    if pod_type is not None and pod_type not in valid:
        return [f'pod must not set securityContext.seccompProfile.type to "{pod_type}"']
    bad = []
    for c in _containers(pod):
        own = (_ctx(c).get("seccompProfile") or {}).get("type")
        if (own is not None and own not in valid) or (own is None and pod_type is None):
            bad.append(c["name"])
    return (
        [
            f"pod or containers {bad} must set securityContext.seccompProfile.type "
            'to "RuntimeDefault" or "Localhost"'
        ]
        if bad
        else []
    )


def privileged(pod: Pod) -> list[str]:
    # policy/check_privileged.go (baseline, part of restricted).
    bad = [c["name"] for c in _containers(pod) if _ctx(c).get("privileged") is True]
    return [f"containers {bad} must not set securityContext.privileged=true"] if bad else []


def volumes(pod: Pod) -> list[str]:
    # policy/check_restrictedVolumes.go.
    bad = [v["name"] for v in pod["spec"].get("volumes") or () if not (set(v) - {"name"}) <= ALLOWED_VOLUMES]
    return [f"restricted volume types: {bad}"] if bad else []


def host_namespaces(pod: Pod) -> list[str]:
    # policy/check_hostNamespaces.go (baseline).
    spec = pod["spec"]
    bad = [k for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k)]
    return [f"must not set {bad}"] if bad else []


RESTRICTED: tuple[Callable[[Pod], list[str]], ...] = (
    allow_privilege_escalation,
    capabilities,
    run_as_non_root,
    run_as_user,
    seccomp_profile,
    privileged,
    volumes,
    host_namespaces,
)


def restricted(pod: Pod) -> list[str]:
    """Every reason the "restricted" profile refuses the pod (policy/registry.go runs them all)."""
    return [reason for check in RESTRICTED for reason in check(pod)]
