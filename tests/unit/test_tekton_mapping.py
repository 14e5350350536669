"""compiler.tekton.mapping: the plan's neutral runs, results folder and receiver needs as Tekton objects."""

from __future__ import annotations

import yaml

from compiler import naming as n
from compiler.manifests.rbac import PolicyRule
from compiler.plan.model import ResultsDirRef, ShardedRunUidRef
from compiler.plan.planner import plan
from compiler.plan.sharded import MAX_SHARDS
from compiler.tekton.mapping import GRANTS, RESULTS_DIR, RUN_KINDS, managed_run, policy_rules
from compiler.tekton.render import render, tekton_ref
from compiler.tekton.rules_pipeline import MAX_MATRIX_COMBINATIONS
from tests.unit.compile_fixtures import BUNDLE, sample_project


def test_the_neutral_references_print_as_tekton_variables_and_folders() -> None:
    # tektoncd/pipeline v1.15.0 pkg/apis/pipeline/paths.go: DefaultResultPath = "/tekton/results"
    assert tekton_ref(ResultsDirRef()) == RESULTS_DIR == "/tekton/results"
    assert tekton_ref(ShardedRunUidRef()) == "$(context.pipelineRun.uid)"
    assert RUN_KINDS == {"single": "TaskRun", "sharded": "PipelineRun"}


def test_the_product_shard_cap_fits_tektons_matrix_limit() -> None:
    # the shard task fans out by matrix: one combination per shard
    assert MAX_SHARDS <= MAX_MATRIX_COMBINATIONS


def test_needs_become_the_listeners_rules_in_order_runs_sharing_one_rule() -> None:
    single = policy_rules(("read-triggers", "read-config", "create-runs", "report-events"))
    assert [r.resources for r in single] == [
        ("eventlisteners", "interceptors", "triggerbindings", "triggers", "triggertemplates"),
        ("configmaps",),
        ("taskruns",),
        ("events",),
    ]
    sharded = policy_rules(
        ("read-triggers", "read-config", "create-runs", "create-sharded-runs", "report-events")
    )
    assert sharded[2] == PolicyRule(("tekton.dev",), ("pipelineruns", "taskruns"), ("create",))
    assert len(sharded) == 4
    assert all("secrets" not in rule.resources for rule in GRANTS.values())


def test_runs_carry_the_managed_by_label_tektons_webhook_would_default() -> None:
    meta = managed_run(plan(sample_project(), BUNDLE).jobs[0].meta)
    # tektoncd/pipeline pkg/apis/pipeline/v1/taskrun_defaults.go: DefaultManagedByLabelValue
    assert dict(meta.labels)[n.LABEL_MANAGED_BY] == "tekton-pipelines"
    assert list(meta.labels) == sorted(meta.labels)
    docs = {d.kind: yaml.safe_load(d.text) for d in render(plan(sample_project(), BUNDLE))}
    assert docs["TaskRun"]["metadata"]["labels"][n.LABEL_MANAGED_BY] == "tekton-pipelines"
    assert docs["Task"]["metadata"]["labels"].get(n.LABEL_MANAGED_BY) is None
