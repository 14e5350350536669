"""Static Tekton admission rules for generated documents.

``check_documents(docs)`` returns every :class:`Violation` of the rules in
``docs/reference/tekton-rules.md`` (Tekton Pipelines v1.15.0, Triggers v0.37.0) that can be decided
from the documents alone, under the default feature flags of rule 0.3 (``enable-api-fields: beta``,
step actions on; param enums, CEL when-expressions, artifacts and the concise resolver syntax off).
The compiler runs it as a guard on everything it writes; tests use it as an oracle. It is pure and
linear in the size of the documents.

Defaults of rule 0.4 are emulated where a rule depends on them, without copying the documents:
ParamSpec and result ``type`` inference, ``taskRef.kind: Task``, ``timeouts.pipeline: 1h``,
``bindings[].kind: TriggerBinding`` and ``kubernetesResource.replicas: 1``. A Triggers
``resourcetemplates`` entry that is a TaskRun or PipelineRun is checked as well, after replacing
``$(tt.params.*)`` and ``$(uid)`` as Triggers would.

Rule ids: ``R<n>`` is rule n of tekton-rules.md; ``S1``-``S3`` are the security rules of its
section 7, enforced here as project rules; ``L1`` is the client-side-apply size limit of section 8;
``R0`` flags a Tekton document whose apiVersion/kind this checker does not know (so nothing
slips through unchecked).

Covered: R1-R31, R34-R50, R52-R62, S1-S3, L1, with these parts left out:

* R27/R47/R57/R58: whether the referenced Task, Pipeline, TriggerTemplate or binding exists in the
  cluster (needs the cluster; the compiler's own reference checks cover what it writes).
* R46, R44: result types of a task given by ``taskRef`` are unknown; only embedded specs are checked.
* R45: CEL is not compiled (CEL when-expressions are alpha and always rejected here).
* R54: duplicate names across *all* bindings of a trigger are a runtime error that needs the
  referenced bindings; duplicates inside one binding are checked.
* Section 8 results size (4096 bytes): what a step writes is not statically knowable.

Not covered: R32 (needs the cluster's ``default-forbidden-env``), R33 and R51 (update rules need
the live object; the GitOps answer is content-hashed run names).

Stricter than the webhook, on purpose (each is a real failure later, or a project rule): steps and
sidecars must be named (R5, R13); param references are checked in stepTemplate, sidecars, volumes
and workspaces too (R20), and a string param used with a key or index is flagged (R21); context
variables are checked in every pipeline task, not only the last (R42); a reference to a result an
embedded task does not declare is flagged (R37, R38, R44); the matrix size counts a ``$(...)``
array as one combination instead of none (R46).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from compiler.manifests.violations import Sink, Violation, as_map, as_str, ptr
from compiler.tekton.rules_pipeline import check_pipeline_spec
from compiler.tekton.rules_runs import check_pipelinerun, check_taskrun
from compiler.tekton.rules_task import check_task_spec
from compiler.tekton.rules_triggers import (
    check_eventlistener,
    check_interceptor,
    check_trigger,
    check_triggerbinding,
    check_triggertemplate,
)
from compiler.units import is_dns1035_label, is_dns_subdomain

__all__ = ["MAX_CLIENT_SIDE_APPLY_BYTES", "RULES", "Violation", "check_documents"]

RULES: Mapping[str, str] = {
    "R0": "Tekton apiVersion/kind known to the checker",
    "R1": "metadata.name: DNS-1123 subdomain, <= 63 (generateName prefix <= 58)",
    "R2": "EventListener name: DNS-1035 label, <= 60",
    "R3": "tekton.dev/payload-validation annotation is true/false",
    "R4": "Task has steps",
    "R5": "step names: present, DNS-1123 labels, unique",
    "R6": "step (merged with stepTemplate): image, script xor command, params only with ref",
    "R7": "StepAction ref steps",
    "R8": "step onError",
    "R9": "step timeout",
    "R10": "step volumeMounts outside /tekton/, no tekton-internal- volumes",
    "R11": "alpha step features (stdoutConfig, stderrConfig, #!win)",
    "R12": "step-result and artifact references",
    "R13": "sidecars",
    "R14": "volume names unique",
    "R15": "workspace names and mount paths unique",
    "R16": "step/sidecar workspaces declared",
    "R17": "param types, defaults, properties, unique names",
    "R18": "param name format",
    "R19": "param enum (alpha)",
    "R20": "step params declared",
    "R21": "param reference syntax",
    "R22": "array param usage",
    "R23": "object param usage",
    "R24": "Task context variables",
    "R25": "result paths declared",
    "R26": "result names, types, values",
    "R27": "TaskRun taskRef xor taskSpec, ref format",
    "R28": "TaskRun params unique",
    "R29": "workspace bindings",
    "R30": "TaskRun status, retries, timeout",
    "R31": "TaskRun debug, stepSpecs, sidecarSpecs, computeResources",
    "R34": "pipeline task names",
    "R35": "pipeline task taskRef xor taskSpec, custom tasks",
    "R36": "pipeline task onError",
    "R37": "pipeline DAG: runAfter, result references, cycles",
    "R38": "finally tasks",
    "R39": "execution status references",
    "R40": "pipeline expressions are Tekton variables",
    "R41": "pipeline params declared, task params unique",
    "R42": "Pipeline context variables",
    "R43": "pipeline workspaces",
    "R44": "pipeline results",
    "R45": "when expressions",
    "R46": "matrix",
    "R47": "PipelineRun pipelineRef xor pipelineSpec, ref format",
    "R48": "PipelineRun params",
    "R49": "PipelineRun timeouts",
    "R50": "PipelineRun status, workspaces, taskRunSpecs",
    "R52": "TriggerTemplate resourcetemplates",
    "R53": "TriggerTemplate params declared",
    "R54": "TriggerBinding params",
    "R55": "EventListener has triggers or selectors",
    "R56": "EventListener triggers",
    "R57": "trigger template",
    "R58": "trigger bindings",
    "R59": "interceptors",
    "R60": "trigger groups",
    "R61": "EventListener resources",
    "R62": "Interceptor clientConfig",
    "S1": "no $(params/tt.params/tasks results/context) in scripts or -c code",
    "S2": "$(tt.params.*) only as whole string values, never in names, images, scripts, SAs",
    "S3": "no envFrom secrets",
    "L1": "object fits client-side apply (262144 bytes of annotations)",
}

MAX_CLIENT_SIDE_APPLY_BYTES = 262144
_GENERATED_SUFFIX = "x" * 5  # the apiserver appends 5 characters to generateName
_PIPELINES, _TRIGGERS, _INTERCEPTORS = (
    "tekton.dev/v1",
    "triggers.tekton.dev/v1beta1",
    "triggers.tekton.dev/v1alpha1",
)
_TEKTON_GROUPS = ("tekton.dev/", "triggers.tekton.dev/")
_SIZE_EXEMPT = ("ServerSideApply=true", "Replace=true")
_SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

_Check = Callable[[Mapping[str, Any], Sink], None]
_CHECKS: Mapping[tuple[str, str], _Check] = {
    (_PIPELINES, "Task"): lambda doc, sink: check_task_spec(as_map(doc.get("spec")), "/spec", sink),
    (_PIPELINES, "TaskRun"): check_taskrun,
    (_PIPELINES, "Pipeline"): lambda doc, sink: check_pipeline_spec(as_map(doc.get("spec")), "/spec", sink),
    (_PIPELINES, "PipelineRun"): check_pipelinerun,
    (_TRIGGERS, "TriggerTemplate"): check_triggertemplate,
    (_TRIGGERS, "TriggerBinding"): check_triggerbinding,
    (_TRIGGERS, "ClusterTriggerBinding"): check_triggerbinding,
    (_TRIGGERS, "Trigger"): check_trigger,
    (_TRIGGERS, "EventListener"): check_eventlistener,
    (_INTERCEPTORS, "Interceptor"): check_interceptor,
    (_INTERCEPTORS, "ClusterInterceptor"): check_interceptor,
}
_SUBDOMAIN_NAMED = frozenset(
    {
        "Task",
        "TaskRun",
        "Pipeline",
        "PipelineRun",
        "TriggerTemplate",
        "TriggerBinding",
        "ClusterTriggerBinding",
        "Trigger",
    }
)


def check_documents(docs: Sequence[Mapping[str, Any]]) -> list[Violation]:
    """Every violation in ``docs`` (Kubernetes objects as plain data), in document order."""
    out: list[Violation] = []
    for doc in docs:
        if isinstance(doc, Mapping):
            _check_document(doc, out)
    return out


def _check_document(doc: Mapping[str, Any], out: list[Violation]) -> None:
    api_version, kind = as_str(doc.get("apiVersion")), as_str(doc.get("kind"))
    meta = as_map(doc.get("metadata"))
    sink = Sink(kind, as_str(meta.get("name")) or as_str(meta.get("generateName")), out)
    check = _CHECKS.get((api_version, kind))
    if check is not None:
        _check_metadata(kind, meta, sink)
        check(doc, sink)
    elif api_version.startswith(_TEKTON_GROUPS):
        sink.add("R0", "/apiVersion", f"{api_version} {kind} is not a kind/version this checker knows")
    _check_size(doc, meta, sink)


def _check_metadata(kind: str, meta: Mapping[str, Any], sink: Sink) -> None:
    name, generate = as_str(meta.get("name")), as_str(meta.get("generateName"))
    full = name or (generate + _GENERATED_SUFFIX if generate else "")
    where = "/metadata/name" if name else "/metadata/generateName"
    if kind in _SUBDOMAIN_NAMED:
        if not full:
            sink.add("R1", "/metadata", "metadata.name (or generateName) is required")
        elif len(full) > 63 or not is_dns_subdomain(full):
            sink.add("R1", where, f"{full!r} must be a DNS-1123 subdomain of at most 63 characters")
    elif kind == "EventListener":
        if len(full) > 60 or not is_dns1035_label(full):
            sink.add(
                "R2", where, f"{full!r} must be a DNS-1035 label of at most 60 characters (Service el-<name>)"
            )
        annotations = as_map(meta.get("annotations"))
        key = "tekton.dev/payload-validation"
        if key in annotations and annotations[key] not in ("true", "false"):
            sink.add("R3", ptr("/metadata/annotations", key), 'must be "true" or "false"')


def _check_size(doc: Mapping[str, Any], meta: Mapping[str, Any], sink: Sink) -> None:
    """L1: client-side apply copies the whole object into an annotation, and all annotations together
    must fit in 262144 bytes."""
    options = as_str(as_map(meta.get("annotations")).get(_SYNC_OPTIONS))
    if any(flag in options for flag in _SIZE_EXEMPT):
        return
    annotations = as_map(meta.get("annotations"))
    size = len(_LAST_APPLIED) + sum(len(str(k)) + len(str(v)) for k, v in annotations.items())
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False, default=str)
    size += len(text.encode()) + 5 * sum(map(text.count, "<>&"))  # Go writes <, >, & as \u003c
    if size > MAX_CLIENT_SIDE_APPLY_BYTES:
        sink.add(
            "L1",
            "",
            f"{size} bytes of JSON exceed the {MAX_CLIENT_SIDE_APPLY_BYTES}-byte client-side apply limit; "
            "annotate argocd.argoproj.io/sync-options: ServerSideApply=true",
        )
