"""naming: every generated name is stable, within its limit and derived only from ids and hashes."""

from __future__ import annotations

import pytest

from compiler import naming as n
from compiler.naming import request_id_problem
from tests.support import webhooks


def test_content_hash_is_stable_and_order_free() -> None:
    assert n.content_hash({"a": 1, "b": [1, 2]}) == n.content_hash({"b": [1, 2], "a": 1})
    assert n.content_hash({"a": 1}) != n.content_hash({"a": 2})
    assert len(n.content_hash("x")) == 8


def test_taskrun_names_leave_room_for_the_pod_suffix() -> None:
    assert n.job_run_name("nightly", "1a2b3c4d") == "nightly-1a2b3c4d"
    long = n.job_run_name("j" * 63, "1a2b3c4d")
    assert len(long) == n.TASKRUN_MAX == 59
    assert long.endswith("-1a2b3c4d")
    # a cut never leaves a dangling separator before the hash
    assert n.job_run_name("a" * 49 + "-x", "1a2b3c4d") == "a" * 49 + "-1a2b3c4d"


@pytest.mark.parametrize(
    ("connection", "field", "env"),
    [
        ("data", "accessKeyID", "ODAHU_CRED_DATA__ACCESS_KEY_ID"),
        ("s3-models", "secretAccessKey", "ODAHU_CRED_S3_MODELS__SECRET_ACCESS_KEY"),
        ("a--b", "sasURL", "ODAHU_CRED_A__B__SAS_URL"),
        ("gcs", "serviceAccountJSON", "ODAHU_CRED_GCS__SERVICE_ACCOUNT_JSON"),
    ],
)
def test_credential_env_names(connection: str, field: str, env: str) -> None:
    assert n.credential_env(connection, field) == env


def test_distinct_connections_get_distinct_env_names() -> None:
    assert n.credential_env("a-b", "accountKey") != n.credential_env("a--b", "accountKey")


def test_document_paths() -> None:
    assert n.document_path("Task", "multiplier", "odahu-batch") == "odahu-batch/task/multiplier.yaml"
    assert n.document_path("ClusterRole", "x", None) == "_cluster/clusterrole/x.yaml"


def test_fixed_names() -> None:
    assert n.runtime_configmap_name("1a2b3c4d") == "odahu-batch-runtime-1a2b3c4d"
    assert n.trigger_run_prefix("svc") == "svc-"
    assert n.overlay_key("data-path") == "odahu.data_path"
    assert n.rclone_location("data", "batch/in") == "data:batch/in"
    assert len(n.EVENTLISTENER) <= n.EVENTLISTENER_MAX


REQUEST_IDS = [
    "",
    "r-1",
    "nightly-2024.05_01",
    "A" * 256,
    "A" * 257,
    "$(HOME)",
    "--sink",
    "-x",
    ".hidden",
    "..",
    "a/b",
    "a b",
    "a\n",
    "é",
    'x"; rm -rf',
]


@pytest.mark.parametrize("backend", sorted(webhooks.BACKENDS))
@pytest.mark.parametrize("value", REQUEST_IDS)
def test_one_request_id_rule_for_committed_jobs_and_the_webhook(value: str, backend: str) -> None:
    """naming.request_id_problem (compile time, local webhook bodies) accepts exactly what each backend's
    webhook accepts: the Trigger's CEL filter run with cel-python as Tekton Triggers runs it, the
    WorkflowEventBinding's selector run as Argo Server runs it (tests/support/argo_events.py)."""
    pytest.importorskip("celpy")
    body = {"spec": {"inferenceServiceId": "svc", "requestId": value}}
    accepted = webhooks.BACKENDS[backend](webhooks.rules(), body) is not None
    assert (request_id_problem(value) is None) is accepted
