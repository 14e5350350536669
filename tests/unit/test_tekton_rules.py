"""compiler.tekton.rules: upstream-style documents pass; each rule has a negative case that yields
exactly that rule's violation."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from compiler.tekton.rules import MAX_CLIENT_SIDE_APPLY_BYTES, RULES, Violation, check_documents
from compiler.tekton.rules_base import parse_duration
from compiler.tekton.rules_triggers import canonical_header
from tests.support.manifests import (
    check_documents_all,
    check_tree,
    kustomize_build,
    scan_for_secrets,
    validate_core_k8s,
    validate_tekton_schema,
)

POSITIVE_YAML = r"""
apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: batch-infer
  labels: {app.kubernetes.io/part-of: odahu-batch}
spec:
  description: Run one batch-inference shard.
  params:
    - {name: model-uri, type: string}
    - {name: input-files, type: array, default: []}
    - name: limits
      type: object
      properties: {cpu: {type: string}, memory: {type: string}}
      default: {cpu: "1", memory: 1Gi}
    - {name: log.level, type: string, default: info}
  results:
    - {name: output-uri, type: string, description: where the predictions went}
    - name: stats
      type: object
      properties: {rows: {type: string}, failed: {type: string}}
    - {name: rows-total, type: string, value: $(steps.infer.results.rows)}
  workspaces:
    - {name: data, mountPath: /data}
    - {name: model, readOnly: true}
  volumes:
    - {name: scratch, emptyDir: {}}
  stepTemplate:
    image: registry.example.com/odahu/batch-tools:1.0
    env:
      - {name: HOME, value: /tekton/home}
    securityContext: {runAsNonRoot: true}
  sidecars:
    - name: metrics
      image: registry.example.com/statsd:1.0
      args: ["--port", "8125"]
  steps:
    - name: fetch-model
      workingDir: $(workspaces.model.path)
      command: [odahu-fetch]
      args: ["--uri", "$(params.model-uri)", "--dest", "$(workspaces.model.path)", "$(params.input-files[*])"]
      workspaces:
        - {name: model, mountPath: /model}
    - name: infer
      image: registry.example.com/odahu/model:2.3
      env:
        - {name: MODEL_URI, value: $(params.model-uri)}
        - {name: CPU, value: $(params.limits.cpu)}
        - {name: LOG_LEVEL, value: '$(params["log.level"])'}
        - {name: FIRST_INPUT, value: "$(params.input-files[0])"}
        - {name: RUN, value: $(context.taskRun.name)}
      volumeMounts:
        - {name: scratch, mountPath: /scratch}
      results:
        - {name: rows, type: string}
      timeout: 1h30m0s
      onError: stopAndFail
      script: |
        #!/usr/bin/env python3
        import json, os
        open("$(results.output-uri.path)", "w").write(os.environ["MODEL_URI"])
        open("$(results.stats.path)", "w").write(json.dumps({"rows": "3", "failed": "0"}))
        open("$(step.results.rows.path)", "w").write("3")
    - name: report
      command: [python3, -c]
      args: ["import sys; print(sys.argv[1])", "$(steps.infer.results.rows)"]
---
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: batch-infer-1a2b3c4d
spec:
  taskRef: {name: batch-infer, kind: Task}
  params:
    - {name: model-uri, value: "s3://models/m1"}
    - {name: input-files, value: [a.json, b.json]}
    - {name: limits, value: {cpu: "2", memory: 2Gi}}
  workspaces:
    - {name: data, persistentVolumeClaim: {claimName: batch-data}}
    - {name: model, emptyDir: {}}
  serviceAccountName: odahu-batch
  podTemplate: {securityContext: {fsGroup: 65532}}
  stepSpecs:
    - {name: infer, computeResources: {requests: {cpu: "1"}}}
  retries: 1
  timeout: 1h0m0s
---
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: hello-inline
spec:
  params:
    - {name: greeting, value: hello}
  taskSpec:
    steps:
      - name: hello
        image: busybox:1.36
        env:
          - {name: GREETING, value: $(params.greeting)}
        script: echo "$GREETING"
  timeout: 10m0s
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: batch-inference
spec:
  params:
    - {name: model-uri, type: string}
    - {name: shards, type: array, default: ["0", "1", "2"]}
    - {name: limits, type: object, properties: {cpu: {type: string}}, default: {cpu: "1"}}
  workspaces:
    - name: data
  results:
    - {name: outputs, type: array, value: "$(tasks.infer.results.output-uri[*])"}
    - {name: model-path, type: string, value: $(tasks.prepare.results.model-path)}
  tasks:
    - name: prepare
      taskRef: {name: batch-prepare, kind: Task}
      params:
        - {name: model-uri, value: $(params.model-uri)}
        - {name: run-name, value: $(context.pipelineRun.name)}
        - {name: shards, value: ["$(params.shards[*])"]}
        - {name: limits, value: "$(params.limits[*])"}
      workspaces:
        - {name: data, workspace: data}
    - name: infer
      runAfter: [prepare]
      retries: 2
      params:
        - {name: model, value: $(tasks.prepare.results.model-path)}
      matrix:
        params:
          - {name: shard, value: "$(params.shards[*])"}
        include:
          - name: extra-shard
            params:
              - {name: shard, value: "99"}
      taskSpec:
        params:
          - {name: shard, type: string}
          - {name: model, type: string}
        results:
          - {name: output-uri, type: string}
        steps:
          - name: run
            image: registry.example.com/odahu/model:2.3
            env:
              - {name: SHARD, value: $(params.shard)}
              - {name: MODEL, value: $(params.model)}
              - {name: CPU, value: $(params.limits.cpu)}
            script: |
              #!/bin/sh
              set -eu
              infer --shard "$SHARD" --model "$MODEL" > "$(results.output-uri.path)"
    - name: gate
      runAfter: [infer]
      taskRef: {name: quality-gate, kind: Task}
      when:
        - {input: $(params.model-uri), operator: notin, values: [""]}
      onError: continue
  finally:
    - name: notify
      taskRef: {name: notify, kind: Task}
      params:
        - {name: infer-status, value: $(tasks.infer.status)}
        - {name: aggregate, value: $(tasks.status)}
        - {name: outputs, value: ["$(tasks.infer.results.output-uri[*])"]}
      when:
        - {input: $(tasks.prepare.status), operator: in, values: [Succeeded]}
---
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: batch-inference-3f2a9c1d
  annotations: {argocd.argoproj.io/sync-options: Prune=false}
spec:
  pipelineRef: {name: batch-inference}
  params:
    - {name: model-uri, value: "s3://models/m1"}
    - {name: shards, value: ["0", "1"]}
  workspaces:
    - name: data
      volumeClaimTemplate:
        spec:
          accessModes: [ReadWriteOnce]
          resources: {requests: {storage: 1Gi}}
  timeouts: {pipeline: 2h0m0s, tasks: 1h30m0s, finally: 30m0s}
  taskRunTemplate:
    serviceAccountName: odahu-batch
  taskRunSpecs:
    - pipelineTaskName: infer
      timeout: 1h0m0s
      stepSpecs:
        - {name: run, computeResources: {limits: {memory: 2Gi}}}
---
apiVersion: triggers.tekton.dev/v1beta1
kind: TriggerTemplate
metadata:
  name: batch-inference
spec:
  params:
    - {name: model-uri, description: the model to run}
    - {name: revision, default: main}
  resourcetemplates:
    - apiVersion: tekton.dev/v1
      kind: PipelineRun
      metadata:
        generateName: batch-inference-
        labels: {odahu.org/revision: $(tt.params.revision)}
      spec:
        pipelineRef: {name: batch-inference}
        params:
          - {name: model-uri, value: $(tt.params.model-uri)}
        workspaces:
          - {name: data, emptyDir: {}}
---
apiVersion: triggers.tekton.dev/v1beta1
kind: TriggerBinding
metadata:
  name: batch-inference
spec:
  params:
    - {name: model-uri, value: $(body.model.uri)}
    - {name: revision, value: $(body.head_commit.id)}
---
apiVersion: triggers.tekton.dev/v1beta1
kind: Trigger
metadata:
  name: batch-inference-push
spec:
  interceptors:
    - ref: {name: cel, kind: ClusterInterceptor}
      params:
        - {name: filter, value: "header.match('X-GitHub-Event', 'push')"}
  bindings:
    - {ref: batch-inference, kind: TriggerBinding}
  template:
    ref: batch-inference
---
apiVersion: triggers.tekton.dev/v1beta1
kind: EventListener
metadata:
  name: odahu-batch
  annotations: {tekton.dev/payload-validation: "true"}
spec:
  serviceAccountName: odahu-batch-triggers
  triggers:
    - name: github-push
      interceptors:
        - ref: {name: github, kind: ClusterInterceptor}
          params:
            - {name: secretRef, value: {secretName: github-webhook, secretKey: token}}
            - {name: eventTypes, value: [push]}
        - ref: {name: cel, kind: ClusterInterceptor}
          params:
            - {name: filter, value: "body.ref == 'refs/heads/main'"}
            - name: overlays
              value:
                - {key: short_sha, expression: "body.head_commit.id.truncate(8)"}
      bindings:
        - {ref: batch-inference, kind: TriggerBinding}
        - {name: source, value: github}
      template:
        ref: batch-inference
    - name: by-ref
      triggerRef: batch-inference-push
  resources:
    kubernetesResource:
      replicas: 1
      serviceType: ClusterIP
      spec:
        template:
          spec:
            serviceAccountName: odahu-batch-triggers
            nodeSelector: {kubernetes.io/os: linux}
            containers:
              - resources: {limits: {memory: 256Mi}}
                env:
                  - name: TLS_CERT
                    valueFrom: {secretKeyRef: {name: el-tls, key: tls.crt}}
                  - name: TLS_KEY
                    valueFrom: {secretKeyRef: {name: el-tls, key: tls.key}}
---
apiVersion: triggers.tekton.dev/v1alpha1
kind: ClusterInterceptor
metadata:
  name: odahu-filter
spec:
  clientConfig:
    service: {name: odahu-filter, namespace: odahu, path: /filter, port: 8443}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: odahu-batch-settings
data:
  settings.json: '{"bucket": "predictions"}'
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: odahu-batch
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: odahu-batch-triggers
rules:
  - apiGroups: [tekton.dev]
    resources: [pipelineruns, taskruns]
    verbs: [create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: odahu-batch-triggers
subjects:
  - {kind: ServiceAccount, name: odahu-batch-triggers}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: odahu-batch-triggers}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: odahu-batch-triggers-clusterroles
subjects:
  - {kind: ServiceAccount, name: odahu-batch-triggers, namespace: odahu}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: tekton-triggers-eventlistener-clusterroles
"""

POSITIVE: list[dict[str, Any]] = list(yaml.safe_load_all(POSITIVE_YAML))
BASE = {
    "task": POSITIVE[0],
    "taskrun": POSITIVE[1],
    "inline": POSITIVE[2],
    "pipeline": POSITIVE[3],
    "pipelinerun": POSITIVE[4],
    "tt": POSITIVE[5],
    "tb": POSITIVE[6],
    "trigger": POSITIVE[7],
    "el": POSITIVE[8],
    "ci": POSITIVE[9],
    "cm": POSITIVE[10],
}

Edit = Callable[[Any], None]


def _locate(doc: Any, path: str) -> tuple[Any, Any]:
    *parents, last = [p.replace("~1", "/") for p in path.split("/")]
    node = doc
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node, (int(last) if isinstance(node, list) and last != "-" else last)


def put(path: str, value: Any) -> Edit:
    """Set (or, with a trailing ``-`` on a list, append) the value at a ``/``-separated path."""

    def edit(doc: Any) -> None:
        node, key = _locate(doc, path)
        if key == "-":
            node.append(copy.deepcopy(value))
        else:
            node[key] = copy.deepcopy(value)

    return edit


def drop(path: str) -> Edit:
    def edit(doc: Any) -> None:
        node, key = _locate(doc, path)
        del node[key]

    return edit


def case(rule: str, base: str, *edits: Edit, id: str) -> Any:
    return pytest.param(rule, base, edits, id=f"{rule}-{id}")


def step(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "image": "busybox:1.36", **fields}


TASK_STEP = "spec/steps/-"
INFER_ENV = "spec/steps/1/env/-"
PT = "spec/tasks"

NEGATIVE = [
    case("R0", "task", put("apiVersion", "tekton.dev/v1beta1"), id="unknown-version"),
    case("R1", "task", put("metadata/name", "Batch_Infer"), id="not-subdomain"),
    case("R1", "task", put("metadata/name", "a" * 64), id="too-long"),
    case(
        "R1", "pipelinerun", drop("metadata/name"), put("metadata/generateName", "p" * 59), id="generate-name"
    ),
    case("R1", "tb", drop("metadata/name"), id="missing"),
    case("R2", "el", put("metadata/name", "e" * 61), id="too-long"),
    case("R2", "el", put("metadata/name", "1-listener"), id="dns1035"),
    case(
        "R3", "el", put("metadata/annotations/tekton.dev~1payload-validation", "yes"), id="payload-validation"
    ),
    case("R4", "task", put("spec/steps", []), drop("spec/results/2"), id="no-steps"),
    case("R5", "task", put("spec/steps/0/name", "Fetch_Model"), id="not-label"),
    case("R5", "task", put("spec/steps/2/name", "infer"), id="duplicate"),
    case("R5", "task", drop("spec/steps/0/name"), id="unnamed"),
    case("R6", "task", drop("spec/stepTemplate/image"), id="no-image"),
    case("R6", "task", put("spec/steps/1/command", ["python3"]), id="script-and-command"),
    case("R6", "task", put("spec/steps/0/params", [{"name": "a", "value": "b"}]), id="params-without-ref"),
    case(
        "R7", "task", put(TASK_STEP, {"name": "act", "ref": {"name": "git-clone"}, "image": "x"}), id="image"
    ),
    case(
        "R7",
        "task",
        put(TASK_STEP, {"name": "act", "ref": {"name": "x", "params": [{"name": "a"}]}}),
        id="params",
    ),
    case(
        "R7", "task", put(TASK_STEP, {"name": "act", "ref": {"name": "x", "resolver": "git"}}), id="concise"
    ),
    case("R8", "task", put("spec/steps/1/onError", "ignore"), id="on-error"),
    case("R9", "task", put("spec/steps/1/timeout", "90"), id="no-unit"),
    case("R9", "task", put("spec/steps/1/timeout", "-1s"), id="negative"),
    case("R10", "task", put("spec/steps/1/volumeMounts/0/mountPath", "/tekton/results"), id="tekton-path"),
    case(
        "R10",
        "task",
        put("spec/steps/1/volumeMounts/-", {"name": "tekton-internal-x", "mountPath": "/x"}),
        id="name",
    ),
    case("R11", "task", put("spec/steps/1/stdoutConfig", {"path": "/data/out"}), id="stdout-config"),
    case("R11", "task", put("spec/steps/1/script", "#!win pwsh\nWrite-Host hi"), id="win-script"),
    case("R12", "task", put("spec/steps/2/workingDir", "$(steps.infer.results.rows)"), id="working-dir"),
    case("R12", "task", put("spec/steps/2/args/1", "$(step.artifacts.path)"), id="artifacts"),
    case("R13", "task", drop("spec/sidecars/0/image"), id="no-image"),
    case("R13", "task", put("spec/sidecars/0/name", "tekton-log-results"), id="reserved"),
    case(
        "R13",
        "task",
        put("spec/sidecars/0/script", "echo hi"),
        put("spec/sidecars/0/command", ["sh"]),
        id="both",
    ),
    case("R14", "task", put("spec/volumes/-", {"name": "scratch", "emptyDir": {}}), id="duplicate"),
    case("R15", "task", put("spec/workspaces/-", {"name": "data"}), id="duplicate"),
    case("R15", "task", put("spec/workspaces/1/mountPath", "/scratch"), id="mount-collision"),
    case("R15", "task", put("spec/workspaces/-", {"name": "other", "mountPath": "/data"}), id="same-path"),
    case("R16", "task", put("spec/steps/0/workspaces/0/name", "cache"), id="undeclared"),
    case("R17", "task", put("spec/params/0/type", "number"), id="type"),
    case("R17", "task", put("spec/params/0/default", ["a"]), id="default-type"),
    case("R17", "task", put("spec/params/-", {"name": "o", "type": "object"}), id="no-properties"),
    case("R17", "task", put("spec/params/2/properties/cpu/type", "integer"), id="property-type"),
    case("R17", "task", put("spec/params/-", {"name": "model-uri"}), id="duplicate"),
    case("R18", "task", put("spec/params/-", {"name": "1st", "default": "x"}), id="name"),
    case("R18", "task", put("spec/params/-", {"name": "o.b", "properties": {"k": {}}}), id="object-name"),
    case("R19", "task", put("spec/params/0/enum", ["a", "b"]), id="enum"),
    case("R20", "task", put(INFER_ENV, {"name": "X", "value": "$(params.missing)"}), id="env"),
    case("R20", "task", put("spec/sidecars/0/args/-", "$(params.missing)"), id="sidecar"),
    case("R20", "task", put("spec/stepTemplate/env/0/value", "$(params.missing)"), id="step-template"),
    case("R20", "task", put("spec/volumes/0/emptyDir/sizeLimit", "$(params.missing)"), id="volume"),
    case("R20", "task", put(INFER_ENV, {"name": "X", "value": "$(params.log.level)"}), id="dotted-name"),
    case("R20", "inline", put("spec/params/0/name", "salutation"), id="inline-propagation"),
    case("R21", "task", put(INFER_ENV, {"name": "X", "value": "$(params.a.b.c)"}), id="three-components"),
    case("R21", "task", put(INFER_ENV, {"name": "X", "value": "$(params.model-uri[0])"}), id="string-index"),
    case("R22", "task", put(INFER_ENV, {"name": "X", "value": "$(params.input-files[*])"}), id="env"),
    case("R22", "task", put("spec/steps/0/args/-", "--in=$(params.input-files[*])"), id="isolated"),
    case("R23", "task", put(INFER_ENV, {"name": "X", "value": "$(params.limits)"}), id="whole"),
    case("R23", "task", put(INFER_ENV, {"name": "X", "value": "$(params.limits.gpu)"}), id="unknown-key"),
    case(
        "R24",
        "task",
        put(INFER_ENV, {"name": "X", "value": "$(context.pipelineRun.name)"}),
        id="pipeline-ctx",
    ),
    case("R25", "task", put("spec/steps/1/script", "echo 1 > $(results.missing.path)"), id="task-result"),
    case("R25", "task", put("spec/steps/1/script", "echo 1 > $(step.results.nope.path)"), id="step-result"),
    case("R26", "task", put("spec/results/-", {"name": "-output"}), id="name"),
    case("R26", "task", put("spec/results/0/type", "number"), id="type"),
    case("R26", "task", drop("spec/results/1/properties"), id="object-properties"),
    case("R26", "task", put("spec/results/2/value", "rows"), id="value"),
    case("R26", "task", put("spec/steps/1/results/-", {"name": "rows_"}), id="step-result-name"),
    case("R27", "taskrun", put("spec/taskSpec", {"steps": [step("s")]}), id="both"),
    case("R27", "taskrun", drop("spec/taskRef"), id="neither"),
    case("R27", "taskrun", put("spec/taskRef/resolver", "git"), id="concise"),
    case("R27", "taskrun", put("spec/taskRef/params", [{"name": "url", "value": "x"}]), id="params"),
    case("R27", "taskrun", put("spec/taskRef/name", "https://example.com/task.yaml"), id="url"),
    case("R28", "taskrun", put("spec/params/-", {"name": "Model-URI", "value": "x"}), id="duplicate"),
    case("R29", "taskrun", put("spec/workspaces/1/configMap", {"name": "cm"}), id="two-sources"),
    case("R29", "taskrun", put("spec/workspaces/1", {"name": "model"}), id="no-source"),
    case("R29", "taskrun", put("spec/workspaces/0/persistentVolumeClaim", {}), id="claim-name"),
    case("R29", "taskrun", put("spec/workspaces/1/name", "DATA"), id="duplicate"),
    case("R30", "taskrun", put("spec/status", "Running"), id="status"),
    case("R30", "taskrun", put("spec/statusMessage", "why"), id="status-message"),
    case("R30", "taskrun", put("spec/retries", -1), id="retries"),
    case("R30", "taskrun", put("spec/timeout", "1 hour"), id="timeout"),
    case("R31", "taskrun", put("spec/debug", {"breakpoints": {"onFailure": "enabled"}}), id="debug"),
    case("R31", "taskrun", put("spec/stepSpecs/-", {"name": "infer"}), id="duplicate-step-spec"),
    case("R31", "taskrun", put("spec/computeResources", {"requests": {"cpu": "1"}}), id="compute-resources"),
    case("R34", "pipeline", put("spec/finally/0/name", "Notify"), id="label"),
    case("R34", "pipeline", put("spec/finally/0/name", "gate"), id="duplicate"),
    case("R35", "pipeline", put("spec/tasks/2/taskSpec", {"steps": [step("s")]}), id="both"),
    case("R35", "pipeline", put("spec/tasks/2/pipelineRef", {"name": "p"}), id="pipeline-ref"),
    case("R35", "pipeline", put("spec/tasks/1/taskSpec/kind", "Task"), id="embedded-kind"),
    case("R35", "pipeline", put("spec/tasks/2/taskRef/kind", "Approval"), id="custom-no-api-version"),
    case("R36", "pipeline", put("spec/tasks/2/onError", "ignore"), id="value"),
    case("R36", "pipeline", put("spec/tasks/2/retries", 2), id="continue-with-retries"),
    case("R37", "pipeline", put("spec/tasks/2/runAfter/0", "infr"), id="run-after"),
    case("R37", "pipeline", put("spec/tasks/1/params/0/value", "$(tasks.prep.results.x)"), id="unknown-task"),
    case("R37", "pipeline", put("spec/tasks/0/runAfter", ["gate"]), id="cycle"),
    case(
        "R37",
        "pipeline",
        put(f"{PT}/2/params", [{"name": "u", "value": "$(tasks.infer.results.nope[*])"}]),
        id="res",
    ),
    case(
        "R37",
        "pipeline",
        put(f"{PT}/1/taskSpec/steps/0/env/-", {"name": "X", "value": "$(tasks.nope.results.r)"}),
        id="propagated-result",
    ),
    case(
        "R37",
        "pipeline",
        put(f"{PT}/1/taskSpec/steps/0/env/-", {"name": "G", "value": "$(tasks.gate.results.verdict)"}),
        id="propagated-cycle",
    ),
    case("R38", "pipeline", put("spec/finally/0/runAfter", ["gate"]), id="run-after"),
    case(
        "R38",
        "pipeline",
        put(
            "spec/finally/-",
            {
                "name": "f2",
                "taskRef": {"name": "t"},
                "params": [{"name": "x", "value": "$(tasks.notify.results.r)"}],
            },
        ),
        id="finally-result",
    ),
    case(
        "R39",
        "pipeline",
        put(f"{PT}/2/params", [{"name": "s", "value": "$(tasks.infer.status)"}]),
        id="in-tasks",
    ),
    case("R39", "pipeline", put("spec/finally/0/params/0/value", "$(tasks.nope.status)"), id="unknown-task"),
    case("R40", "pipeline", put("spec/tasks/0/params/1/value", "$(date)"), id="shell"),
    case("R41", "pipeline", put("spec/tasks/0/params/0/value", "$(params.model)"), id="undeclared"),
    case(
        "R41", "pipeline", put("spec/tasks/0/params/-", {"name": "MODEL-URI", "value": "x"}), id="duplicate"
    ),
    case(
        "R22",
        "pipeline",
        put("spec/tasks/0/params/1/value", "run-$(params.shards[*])"),
        id="pipeline-isolated",
    ),
    case("R23", "pipeline", put("spec/tasks/0/params/1/value", "$(params.limits.gpu)"), id="pipeline-key"),
    case("R42", "pipeline", put("spec/tasks/0/params/1/value", "$(context.taskRun.name)"), id="context"),
    case("R43", "pipeline", put("spec/tasks/0/workspaces/0/workspace", "cache"), id="undeclared"),
    case("R43", "pipeline", put("spec/workspaces/-", {"name": "data"}), id="duplicate"),
    case("R43", "pipeline", put("spec/tasks/0/workspaces/-", {"name": "data"}), id="bound-twice"),
    case("R44", "pipeline", put("spec/results/1/value", "literal"), id="no-ref"),
    case("R44", "pipeline", put("spec/results/1/value", "$(tasks.nope.results.x)"), id="unknown-task"),
    case("R44", "pipeline", put("spec/results/1/value", "$(params.model-uri)"), id="param"),
    case("R45", "pipeline", put("spec/tasks/2/when/0/operator", "equals"), id="operator"),
    case("R45", "pipeline", put("spec/tasks/2/when/0/values", []), id="values"),
    case("R45", "pipeline", put("spec/tasks/2/when/0", {"cel": "'a' == 'a'"}), id="cel"),
    case(
        "R46",
        "pipeline",
        put(f"{PT}/1/matrix/params/0/value", [str(i) for i in range(257)]),
        id="combinations",
    ),
    case("R46", "pipeline", put(f"{PT}/1/matrix/params/-", {"name": "shard", "value": ["x"]}), id="dup"),
    case("R46", "pipeline", put(f"{PT}/1/params/-", {"name": "shard", "value": "1"}), id="matrix-and-params"),
    case("R46", "pipeline", put("spec/results/0/value", "$(tasks.infer.results.output-uri)"), id="not-star"),
    case("R47", "pipelinerun", put("spec/pipelineSpec", {"tasks": []}), id="both"),
    case(
        "R47", "pipelinerun", put("spec/pipelineRef/params", [{"name": "a", "value": "b"}]), id="ref-params"
    ),
    case("R48", "pipelinerun", put("spec/params/-", {"name": "SHARDS", "value": ["1"]}), id="duplicate"),
    case("R48", "pipelinerun", put("spec/params/0/value", "$(tasks.a.results.b)"), id="result-ref"),
    case("R49", "pipelinerun", put("spec/timeouts/tasks", "3h0m0s"), id="tasks-above-pipeline"),
    case("R49", "pipelinerun", put("spec/timeouts/finally", "0s"), id="zero-finally"),
    case("R49", "pipelinerun", put("spec/timeouts/finally", "1h0m0s"), id="sum"),
    case("R49", "pipelinerun", put("spec/taskRunSpecs/0/timeout", "1h45m0s"), id="task-run-spec"),
    case("R49", "pipelinerun", put("spec/timeouts", {"tasks": "2h0m0s"}), id="default-pipeline-timeout"),
    case("R50", "pipelinerun", put("spec/status", "Stopped"), id="status"),
    case("R50", "pipelinerun", put("spec/workspaces/0/emptyDir", {}), id="binding"),
    case("R50", "pipelinerun", put("spec/taskRunSpecs/0/stepSpecs/-", {"name": "run"}), id="step-specs"),
    case("R52", "tt", put("spec/resourcetemplates", []), id="empty"),
    case("R52", "tt", drop("spec/resourcetemplates/0/apiVersion"), id="no-api-version"),
    case("R53", "tt", drop("spec/params/1"), id="undeclared"),
    case("R54", "tb", put("spec", {}), id="empty"),
    case("R54", "tb", put("spec/params/0/value", 3), id="not-string"),
    case("R54", "tb", put("spec/params/0/value", "$(body.a $(body.b)"), id="unclosed"),
    case("R54", "tb", put("spec/params/1/name", "model-uri"), id="duplicate"),
    case("R55", "el", put("spec", {"serviceAccountName": "sa"}), id="nothing"),
    case("R56", "el", drop("spec/triggers/0/template"), id="no-template"),
    case("R56", "el", put("spec/triggers/1/template", {"ref": "t"}), id="ref-and-template"),
    case("R56", "el", put("spec/triggers/0/name", "github push"), id="name"),
    case("R57", "el", put("spec/triggers/0/template/spec", BASE["tt"]["spec"]), id="ref-and-spec"),
    case("R57", "el", put("spec/triggers/0/template/apiversion", "v1"), id="apiversion"),
    case("R57", "trigger", put("spec/template/ref", ""), id="empty-ref"),
    case("R58", "el", put("spec/triggers/0/bindings/0/name", "x"), id="ref-and-name"),
    case("R58", "el", put("spec/triggers/0/bindings/0/kind", "Binding"), id="kind"),
    case("R58", "trigger", put("spec/bindings/-", {"name": "x"}), id="no-value"),
    case(
        "R59",
        "el",
        put("spec/triggers/0/interceptors/0/ref", {"kind": "ClusterInterceptor"}),
        id="no-ref-name",
    ),
    case("R59", "trigger", put("spec/interceptors/-", None), id="nil"),
    case("R56", "el", put("spec/triggers/0/interceptors/-", None), id="nil-interceptor"),
    case(
        "R59",
        "trigger",
        put(
            "spec/interceptors/0",
            {"webhook": {"objectRef": {"kind": "Deployment", "apiVersion": "apps/v1", "name": "x"}}},
        ),
        id="webhook-kind",
    ),
    case(
        "R59",
        "trigger",
        put(
            "spec/interceptors/0",
            {
                "webhook": {
                    "objectRef": {"kind": "Service", "apiVersion": "v1", "name": "x"},
                    "header": [{"name": "x-odahu", "value": "1"}],
                }
            },
        ),
        id="header",
    ),
    case(
        "R60",
        "el",
        put(
            "spec/triggerGroups",
            [{"interceptors": [], "triggerSelector": {"labelSelector": {"matchLabels": {"a": "b"}}}}],
        ),
        id="no-interceptors",
    ),
    case(
        "R60",
        "el",
        put("spec/triggerGroups", [{"interceptors": [{"ref": {"name": "cel"}}], "triggerSelector": {}}]),
        id="no-selector",
    ),
    case("R61", "el", put("spec/resources/customResource", {"apiVersion": "v1"}), id="both"),
    case("R61", "el", put("spec/resources/kubernetesResource/replicas", -1), id="replicas"),
    case("R61", "el", put("spec/resources/kubernetesResource/serviceLoadBalancerClass", "x"), id="lb-class"),
    case(
        "R61", "el", put("spec/resources/kubernetesResource/spec/template/spec/hostNetwork", True), id="pod"
    ),
    case(
        "R61",
        "el",
        put("spec/resources/kubernetesResource/spec/template/spec/containers/0/image", "x"),
        id="c",
    ),
    case(
        "R61",
        "el",
        put(
            "spec/resources/kubernetesResource/spec/template/spec/containers/0/env/0",
            {"name": "TLS_CERT", "value": "x"},
        ),
        id="env-value",
    ),
    case(
        "R61", "el", drop("spec/resources/kubernetesResource/spec/template/spec/containers/0/env/1"), id="tls"
    ),
    case("R62", "ci", put("spec/clientConfig/url", "https://x"), id="url-and-service"),
    case("R62", "ci", drop("spec/clientConfig/service/namespace"), id="namespace"),
    case("S1", "task", put("spec/steps/1/script", "echo $(params.model-uri)"), id="script-param"),
    case("S1", "task", put("spec/steps/1/script", "echo $(context.taskRun.name)"), id="script-context"),
    case("S1", "task", put("spec/steps/2/args/0", "print('$(params.model-uri)')"), id="python-c"),
    case(
        "S1",
        "task",
        put(TASK_STEP, step("sh", command=["/bin/sh", "-ec", "echo $(params.model-uri)"])),
        id="sh",
    ),
    case("S1", "task", put("spec/sidecars/0/script", "echo $(params.model-uri)"), id="sidecar"),
    case(
        "S1", "pipeline", put("spec/tasks/1/taskSpec/steps/0/script", "echo $(params.model)"), id="embedded"
    ),
    case(
        "S2", "tt", put("spec/resourcetemplates/0/metadata/generateName", "$(tt.params.revision)"), id="name"
    ),
    case(
        "S2",
        "tt",
        put("spec/resourcetemplates/0/spec/params/0/value", "s3://$(tt.params.model-uri)"),
        id="part",
    ),
    case(
        "S2",
        "tt",
        put("spec/resourcetemplates/0/spec/taskRunTemplate", {"serviceAccountName": "$(tt.params.revision)"}),
        id="service-account",
    ),
    case("S3", "task", put("spec/steps/1/envFrom", [{"secretRef": {"name": "s3-credentials"}}]), id="step"),
    case(
        "S3",
        "task",
        put("spec/stepTemplate/envFrom", [{"secretRef": {"name": "s3-credentials"}}]),
        id="template",
    ),
    case("L1", "cm", put("data/big", "x" * MAX_CLIENT_SIDE_APPLY_BYTES), id="too-big"),
]


def test_positive_documents_pass() -> None:
    assert [str(v) for v in check_documents(POSITIVE)] == []


@pytest.mark.parametrize(("rule", "base", "edits"), NEGATIVE)
def test_negative_case_yields_exactly_its_rule(rule: str, base: str, edits: tuple[Edit, ...]) -> None:
    doc = copy.deepcopy(BASE[base])
    for edit in edits:
        edit(doc)
    violations = check_documents([doc])
    assert violations, f"no violation; expected {rule}"
    assert {v.rule for v in violations} == {rule}, [str(v) for v in violations]


def test_every_rule_has_a_negative_case() -> None:
    assert {p.values[0] for p in NEGATIVE} == set(RULES)


def test_rules_cover_the_notes_except_cluster_and_update_rules() -> None:
    numbered = {int(rule[1:]) for rule in RULES if rule.startswith("R")}
    assert set(range(63)) - numbered == {32, 33, 51}


def test_violation_carries_kind_name_and_pointer() -> None:
    doc = copy.deepcopy(BASE["task"])
    doc["spec"]["steps"][1]["env"].append({"name": "X", "value": "$(params.missing)"})
    (violation,) = check_documents([doc])
    assert violation == Violation(
        "R20",
        "Task",
        "batch-infer",
        "/spec/steps/1/env/5/value",
        "$(params.missing): param 'missing' is not declared",
    )
    assert str(violation).startswith("R20 Task/batch-infer /spec/steps/1/env/5/value: ")


def test_undeclared_dotted_name_hints_at_bracket_syntax() -> None:
    doc = copy.deepcopy(BASE["task"])
    doc["spec"]["steps"][1]["env"].append({"name": "X", "value": "$(params.log.level)"})
    (violation,) = check_documents([doc])
    assert violation.message.endswith("""is not declared; use $(params["log.level"])""")


def test_trigger_template_violations_point_into_the_template() -> None:
    doc = copy.deepcopy(BASE["tt"])
    doc["spec"]["resourcetemplates"][0]["spec"]["status"] = "Stopped"
    (violation,) = check_documents([doc])
    assert (violation.rule, violation.path) == ("R50", "/spec/resourcetemplates/0/spec/status")


def test_size_limit_is_waived_for_server_side_apply() -> None:
    doc = copy.deepcopy(BASE["cm"])
    doc["data"]["big"] = "x" * MAX_CLIENT_SIDE_APPLY_BYTES
    doc["metadata"]["annotations"] = {"argocd.argoproj.io/sync-options": "ServerSideApply=true"}
    assert check_documents([doc]) == []


@pytest.mark.parametrize(
    "doc",
    [
        {},
        {"apiVersion": "tekton.dev/v1", "kind": "Task"},
        {"apiVersion": "tekton.dev/v1", "kind": "Task", "metadata": [], "spec": {"steps": [None, 3, "x"]}},
        {
            "apiVersion": "tekton.dev/v1",
            "kind": "Pipeline",
            "metadata": {"name": "p"},
            "spec": {"tasks": "x"},
        },
        {
            "apiVersion": "tekton.dev/v1",
            "kind": "PipelineRun",
            "metadata": {"name": 5},
            "spec": {"timeouts": 3},
        },
        {
            "apiVersion": "triggers.tekton.dev/v1beta1",
            "kind": "EventListener",
            "spec": {"triggers": [None, 1]},
        },
        {
            "apiVersion": "triggers.tekton.dev/v1beta1",
            "kind": "TriggerTemplate",
            "spec": {"resourcetemplates": [1]},
        },
    ],
)
def test_malformed_documents_do_not_crash(doc: dict[str, Any]) -> None:
    assert all(isinstance(v, Violation) for v in check_documents([doc]))


def _nodes(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, item in items:
        found += _nodes(item, (*path, key))
    return found


@pytest.mark.parametrize("base", sorted(BASE))
def test_any_node_replaced_by_a_wrong_shape_does_not_crash(base: str) -> None:
    """The compiler runs the checker on everything it writes: a malformed document must give
    violations (or schema errors elsewhere), never an exception."""
    for path in _nodes(BASE[base])[1:]:
        for weird in (None, 7, "$(params.", [[1]], {"x": [1]}):
            doc = copy.deepcopy(BASE[base])
            parent = doc
            for key in path[:-1]:
                parent = parent[key]
            parent[path[-1]] = weird
            check_documents([doc])


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0", 0.0), ("1h0m0s", 3600.0), ("1h30m", 5400.0), ("90s", 90.0), ("1.5h", 5400.0), ("-1s", -1.0)],
)
def test_parse_duration_accepts_go_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "1", "1 h", "h", ".s", "1d", 60])
def test_parse_duration_rejects_what_go_rejects(text: Any) -> None:
    assert parse_duration(text) is None


@pytest.mark.parametrize(
    ("name", "canonical"),
    [("x-odahu", "X-Odahu"), ("X-GitHub-Event", "X-Github-Event"), ("X-Custom-Header", "X-Custom-Header")],
)
def test_canonical_header(name: str, canonical: str) -> None:
    assert canonical_header(name) == canonical


def test_checker_is_fast_on_two_thousand_documents() -> None:
    docs = POSITIVE * 182  # ~2,000 documents, as in the compile benchmark
    start = time.perf_counter()
    assert check_documents(docs) == []
    assert time.perf_counter() - start < 5.0


# --- tests/support/manifests.py ----------------------------------------------------------------------


def test_helpers_accept_the_positive_documents() -> None:
    assert check_documents_all(POSITIVE) == []


def test_schema_reports_every_error_with_its_path() -> None:
    doc = copy.deepcopy(BASE["task"])
    doc["spec"]["steps"][0]["cmd"] = ["x"]
    doc["spec"]["steps"][1]["timeout"] = 90
    errors = validate_tekton_schema(doc)
    assert len(errors) == 2, errors
    assert any(e.startswith("Task/batch-infer /spec/steps/0:") and "'cmd'" in e for e in errors), errors
    assert any(e.startswith("Task/batch-infer /spec/steps/1/timeout:") for e in errors), errors


def test_schema_flags_a_tekton_kind_without_schema() -> None:
    doc = {"apiVersion": "tekton.dev/v1beta1", "kind": "StepAction", "metadata": {"name": "a"}}
    (error,) = validate_tekton_schema(doc)
    assert "no schema for tekton.dev/v1beta1 StepAction" in error


def test_core_validation() -> None:
    cm = copy.deepcopy(BASE["cm"])
    cm["data"]["count"] = 3
    assert validate_core_k8s(cm) == [
        "ConfigMap/odahu-batch-settings /data/count: 3 is not of type 'string', 'null'"
    ]
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert validate_core_k8s(unknown) == ["Widget/w: no Kubernetes 1.32.0 schema for example.com/v1"]
    assert validate_core_k8s(BASE["task"]) == []


def _write_tree(root: Any, files: dict[str, Any], listed: list[str]) -> None:
    for name, docs in files.items():
        (root / name).write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
    (root / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": listed}
        ),
        encoding="utf-8",
    )


def test_tree_good_builds_and_passes(tmp_path: Any) -> None:
    _write_tree(
        tmp_path, {"task.yaml": [BASE["task"]], "rbac.yaml": POSITIVE[11:15]}, ["task.yaml", "rbac.yaml"]
    )
    kinds = sorted(d["kind"] for d in kustomize_build(tmp_path))
    assert kinds == ["ClusterRoleBinding", "Role", "RoleBinding", "ServiceAccount", "Task"]
    assert check_tree(tmp_path) == []


def test_tree_problems_are_all_found(tmp_path: Any) -> None:
    bad_schema = copy.deepcopy(BASE["cm"])
    bad_schema["metadata"]["labelz"] = {}
    bad_rule = copy.deepcopy(BASE["task"])
    bad_rule["spec"]["steps"][1]["script"] = "echo $(params.model-uri)"
    _write_tree(
        tmp_path,
        {"task.yaml": [bad_rule], "cm.yaml": [bad_schema], "stray.yaml": [{**BASE["tb"], "spec": {}}]},
        ["task.yaml", "cm.yaml"],
    )
    problems = check_tree(tmp_path)
    assert any("stray.yaml: not listed in any kustomization.yaml" in p for p in problems), problems
    assert any(p.startswith("S1 Task/batch-infer /spec/steps/1/script") for p in problems), problems
    assert any("ConfigMap/odahu-batch-settings" in p and "labelz" in p for p in problems), problems
    assert any(p.startswith("stray.yaml: R54 TriggerBinding/") for p in problems), (
        problems
    )  # unlisted: loaded
    assert not any(p.startswith("task.yaml: ") for p in problems), problems  # listed: checked once, built


def test_tree_listing_a_missing_file(tmp_path: Any) -> None:
    task = copy.deepcopy(BASE["task"])
    task["spec"]["steps"][1]["script"] = "echo $(params.model-uri)"
    _write_tree(tmp_path, {"task.yaml": [task]}, ["task.yaml", "gone.yaml"])
    problems = check_tree(tmp_path)
    assert any(p.startswith("task.yaml: S1 ") for p in problems), problems  # the build failed: files checked
    assert "kustomization.yaml: listed 'gone.yaml' does not exist" in problems
    assert any("kubectl kustomize" in p for p in problems), problems
    assert problems == sorted(set(problems), key=problems.index)  # nothing reported twice


def test_kustomize_build_raises_with_stderr(tmp_path: Any) -> None:
    run = copy.deepcopy(BASE["pipelinerun"])
    del run["metadata"]["name"]
    run["metadata"]["generateName"] = "batch-"
    _write_tree(tmp_path, {"run.yaml": [run]}, ["run.yaml"])
    with pytest.raises(RuntimeError, match=r"missing metadata\.name"):
        kustomize_build(tmp_path)


def test_scan_for_secrets_finds_plain_and_base64(tmp_path: Any) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "secret.yaml").write_text("data:\n  token: c3VwZXItc2VjcmV0LTQy\n", encoding="utf-8")
    (tmp_path / "config.env").write_text("TOKEN=super-secret-42\n", encoding="utf-8")
    (tmp_path / "clean.txt").write_text("nothing here\n", encoding="utf-8")
    assert scan_for_secrets(tmp_path, ["super-secret-42", ""]) == [
        "config.env: contains a secret value (plain)",
        "sub/secret.yaml: contains a secret value (base64)",
    ]
    assert scan_for_secrets(tmp_path, ["other"]) == []
