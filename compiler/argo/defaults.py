"""The defaulting the cluster applies to Argo documents, so generated ones can be emitted at its fixed
point and Argo CD sees no drift.

What upstream does (argoproj/argo-workflows v4.1.2):

* Argo Workflows has **no mutating admission webhook**, and the controller writes what it derives
  (``status.storedTemplates``, ``status.storedWorkflowTemplateSpec``, the ``workflows.argoproj.io/completed``
  and ``.../phase`` labels) to status and labels only, never to ``spec``; labels the generator does not
  set are outside Argo CD's diff.
* The **minimal CRDs** (``manifests/base/crds/minimal``, the default install) keep ``spec`` as
  ``x-kubernetes-preserve-unknown-fields`` with no ``default:``: nothing is defaulted.
* The **full CRDs** (``manifests/base/crds/full``, applied with server-side apply) carry the
  controller-gen schema, and the apiserver applies its structural ``default:`` values. 37 distinct
  defaults exist (``argoproj.io_workflows.yaml``, ``argoproj.io_workflowtemplates.yaml``); the ones that
  can touch what this project emits (env from Secrets and ConfigMaps, ConfigMap volumes, container
  ports) are encoded in :data:`DEFAULTS`. The others sit in volume sources and artifact repositories
  the project never emits (azureDisk, rbd, scaleIO, iscsi, artifact ``*Secret`` references).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# (key of the object, field, default) from the full CRDs' structural schema: every object found under
# that key gets the field when it lacks it (a list key, ``ports``, applies to each item).
DEFAULTS: tuple[tuple[str, str, Any], ...] = (
    ("secretKeyRef", "name", ""),  # core/v1 SecretKeySelector.LocalObjectReference
    ("configMapKeyRef", "name", ""),  # core/v1 ConfigMapKeySelector.LocalObjectReference
    ("configMap", "name", ""),  # core/v1 ConfigMapVolumeSource.LocalObjectReference
    ("ports", "protocol", "TCP"),  # core/v1 ContainerPort.protocol
)


def crd_defaults(value: Any) -> Any:
    """``value`` (a document or any part of it) as the apiserver stores it under the full CRDs: a new
    value, the input is not changed. A generated document should already equal its image."""
    if isinstance(value, list):
        return [crd_defaults(item) for item in value]
    if not isinstance(value, Mapping):
        return value
    result = {key: crd_defaults(item) for key, item in value.items()}
    for key, field, default in DEFAULTS:
        target = result.get(key)
        for node in target if isinstance(target, list) else [target]:
            if isinstance(node, dict) and field not in node:
                node[field] = default
    return result
