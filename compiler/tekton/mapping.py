"""The plan's backend-neutral notions as Tekton and Triggers objects, folders and RBAC rules.

The plan says "a single run", "a sharded run", "the folder of a step's results", "create runs of this
service"; this module says what each one is in Tekton, citing the upstream file it relies on.
"""

from __future__ import annotations

from dataclasses import replace

from compiler import naming as n
from compiler.manifests.rbac import PolicyRule
from compiler.plan.model import Meta, ReceiverNeed, RunKind

# Where Tekton collects the results a step writes (tektoncd/pipeline v1.15.0 pkg/apis/pipeline/paths.go,
# DefaultResultPath).
RESULTS_DIR = "/tekton/results"

# A single run is a TaskRun of the service's Task; a sharded run a PipelineRun of its Pipeline, whose
# shard task fans the Task out by matrix (the plan's ``fan_out``). Each shard is a TaskRun of its own, so
# the plan's per-shard retries are the pipeline task's ``retries`` (tektoncd/pipeline docs/pipelines.md
# "Using the retries field"), and its shard cap must fit the matrix limit
# (rules_pipeline.MAX_MATRIX_COMBINATIONS). A matrix starts every combination at once (tektoncd/pipeline
# docs/matrix.md: no concurrency limit per PipelineRun), so the plan's shard cap is its max parallel shards.
RUN_KINDS: dict[RunKind, str] = {"single": "TaskRun", "sharded": "PipelineRun"}

# Every run carries the managed-by label Tekton's webhook would default on admission, so the stored
# object equals the committed one (tektoncd/pipeline pkg/apis/pipeline/v1/taskrun_defaults.go SetDefaults,
# config.DefaultManagedByLabelValue "tekton-pipelines").
MANAGED_BY = (n.LABEL_MANAGED_BY, n.TEKTON_MANAGED_BY)

# A job's resources reach the user step as a TaskRun's ``stepSpecs``, which Tekton merges into the step
# key by key (tektoncd/pipeline pkg/apis/pipeline/v1/merge.go MergeStepsWithOverrides): the plan's
# "merged into the service's" (compiler/plan/checks.py E409).

# A runtime ConfigMap stays mounted by name for as long as a run may resolve its definition again
# (tektoncd/pipeline pkg/reconciler/taskrun/resources/taskref.go, pipelinerun/resources/pipelineref.go
# on every reconcile), and a run without its ServiceAccount fails at pod creation for good
# (pkg/pod/creds_init.go; pkg/reconciler/taskrun/taskrun.go handlePodCreationError).


_WATCH = ("get", "list", "watch")

# Tekton Triggers' documented EventListener permissions (tektoncd/triggers v0.37.0
# config/200-clusterrole.yaml, tekton-triggers-eventlistener-roles and -clusterroles), cut to what the
# plan's listener needs. The upstream cluster role also grants reading every Secret of the cluster: the
# plan's listener needs none (its interceptors read the webhook Secret under their own account).
GRANTS: dict[ReceiverNeed, PolicyRule] = {
    "read-triggers": PolicyRule(
        ("triggers.tekton.dev",),
        ("eventlisteners", "interceptors", "triggerbindings", "triggers", "triggertemplates"),
        _WATCH,
    ),
    "read-config": PolicyRule(("",), ("configmaps",), _WATCH),
    "create-runs": PolicyRule(("tekton.dev",), ("taskruns",), ("create",)),
    "create-sharded-runs": PolicyRule(("tekton.dev",), ("pipelineruns",), ("create",)),
    "report-events": PolicyRule(("",), ("events",), ("create", "patch")),
    "read-cluster-triggers": PolicyRule(
        ("triggers.tekton.dev",), ("clusterinterceptors", "clustertriggerbindings"), _WATCH
    ),
}


def policy_rules(needs: tuple[ReceiverNeed, ...]) -> tuple[PolicyRule, ...]:
    """The RBAC rules granting ``needs``, in their order; grants of one API group and verbs share a rule."""
    rules: list[PolicyRule] = []
    for need in needs:
        grant = GRANTS[need]
        same = next(
            (i for i, r in enumerate(rules) if (r.api_groups, r.verbs) == (grant.api_groups, grant.verbs)),
            None,
        )
        if same is None:
            rules.append(grant)
        else:
            merged = tuple(sorted({*rules[same].resources, *grant.resources}))
            rules[same] = replace(rules[same], resources=merged)
    return tuple(rules)


def managed_run(meta: Meta) -> Meta:
    """A run's metadata with Tekton's managed-by label, labels kept sorted."""
    return replace(meta, labels=tuple(sorted((*meta.labels, MANAGED_BY))))
