"""Every generated name, in one place.

Names derive from spec ids and content hashes only: never from time, randomness or the tool's
version, so the output is byte-identical across runs and machines. The plan asks this module for
every object, step, volume, param, label and environment-variable name; templates only print them.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

# --- limits -------------------------------------------------------------------------------------

NAME_MAX = 63  # Tekton object names (tekton-rules 1) and DNS-1123 labels
EVENTLISTENER_MAX = 60  # the Service is named el-<name> (tekton-rules 2)
GENERATE_NAME_MAX = 58  # Kubernetes appends 5 characters to generateName (tekton-rules 1)
LABEL_VALUE_MAX = 63
# Tekton names the pod <taskrun>-pod; a run name this short keeps the pod name readable.
TASKRUN_MAX = NAME_MAX - len("-pod")
SUBDOMAIN_MAX = 253
HASH_LEN = 8


def content_hash(value: Any, length: int = HASH_LEN) -> str:
    """A short, stable hash of a JSON-able value (keys sorted, no whitespace)."""
    blob = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:length]


def derived_job_id(service_id: str, spec: Any) -> str:
    """The id of an ODAHU-style InferenceJob written without one: stable for the same content."""
    return f"{service_id[:53]}-{content_hash(spec)}"


def _with_suffix(base: str, suffix: str, limit: int) -> str:
    """``<base>-<suffix>`` cut to ``limit`` characters by shortening ``base`` (never the suffix)."""
    room = limit - len(suffix) - 1
    return f"{base[:room].rstrip('-.')}-{suffix}"


# --- objects ------------------------------------------------------------------------------------

PRODUCT = "odahu-batch"
EVENTLISTENER = PRODUCT
TRIGGER_BINDING = f"{PRODUCT}-job"
TRIGGER_ROLE = f"{PRODUCT}-triggers"
EVENTLISTENER_CLUSTERROLE = f"{PRODUCT}-eventlistener"
RUNTIME_CONFIGMAP_PREFIX = f"{PRODUCT}-runtime"
SHARDED_SUFFIX = "-sharded"


def imported_secret_name(connection: str) -> str:
    """The Secret ``odahu-batch import`` makes of an ODAHU connection's inline credentials."""
    return _with_suffix(connection, "credentials", 253)


def task_name(service: str) -> str:
    return service


def trigger_name(service: str) -> str:
    return service


def trigger_template_name(service: str) -> str:
    return service


def trigger_run_prefix(service: str) -> str:
    """``generateName`` of the runs a webhook creates."""
    return f"{service}-"


def job_run_name(job: str, digest: str) -> str:
    """The committed run of ``job``: a new name whenever the job's effective content changes."""
    return _with_suffix(job, digest, TASKRUN_MAX)


def pipeline_name(service: str) -> str:
    """The sharded run of ``service`` (services are at most 53 characters: this stays within 63)."""
    return f"{service}{SHARDED_SUFFIX}"


def pipelinerun_name(job: str, digest: str) -> str:
    """The committed sharded run of ``job``; Tekton names its TaskRuns ``<run>-<task>[-<i>]``."""
    return _with_suffix(job, digest, TASKRUN_MAX)


def runtime_configmap_name(digest: str) -> str:
    """Content-hashed like kustomize's configMapGenerator: new programs, new name."""
    return f"{RUNTIME_CONFIGMAP_PREFIX}-{digest}"


def eventlistener_clusterrolebinding_name(namespace: str) -> str:
    return f"{EVENTLISTENER_CLUSTERROLE}-{namespace}"


# --- labels and annotations ---------------------------------------------------------------------

LABEL_PART_OF = "app.kubernetes.io/part-of"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
TEKTON_MANAGED_BY = "tekton-pipelines"
LABEL_SERVICE = "batch.odahu.org/service"
LABEL_JOB = "batch.odahu.org/job"
LABEL_WEBHOOK = "batch.odahu.org/webhook"
ANNOTATION_SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
ANNOTATION_COMPARE_OPTIONS = "argocd.argoproj.io/compare-options"
ANNOTATION_SYNC_WAVE = "argocd.argoproj.io/sync-wave"

# --- inside a Task ------------------------------------------------------------------------------

STEP_CONFIGURE_RCLONE = "configure-rclone"
STEP_SYNC_DATA = "sync-data"
STEP_SYNC_MODEL = "sync-model"
STEP_VALIDATE_INPUT = "validate-input"
STEP_LOG_INPUT = "log-input"
STEP_USER = "user-container"
STEP_VALIDATE_OUTPUT = "validate-output"
STEP_LOG_OUTPUT = "log-output"
STEP_SYNC_OUTPUT = "sync-output"

PARAM_REQUEST_ID = "request-id"
# A request id names the run's output folder and is a program argument: one rule for committed jobs (checks)
# and webhook bodies (the webhook rules, plan/triggers.py) and local webhook bodies alike.
REQUEST_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]*$"
REQUEST_ID_MAX = 256


def request_id_problem(value: str) -> str | None:
    """Why ``value`` cannot be a request id, or None; '' (the run's uid) is allowed."""
    if value == "":
        return None
    if len(value) > REQUEST_ID_MAX:
        return f"longer than {REQUEST_ID_MAX} characters"
    if not re.fullmatch(REQUEST_ID_PATTERN, value):
        return "expected letters, digits, '.', '_' and '-', starting with a letter or digit"
    return None


PARAM_DATA_CONNECTION = "data-connection"
PARAM_DATA_PATH = "data-path"
PARAM_OUTPUT_CONNECTION = "output-connection"
PARAM_OUTPUT_PATH = "output-path"
RUN_PARAMS = (
    PARAM_REQUEST_ID,
    PARAM_DATA_CONNECTION,
    PARAM_DATA_PATH,
    PARAM_OUTPUT_CONNECTION,
    PARAM_OUTPUT_PATH,
)

# Sharded runs (a Pipeline): the Task's shard param, the Pipeline's own params, tasks and results.
PARAM_SHARD_INDEX = "shard-index"
PARAM_REPLACE_OUTPUT = "replace-output"
PARAM_SHARD_COUNT = "shard-count"
PARAM_RUN_UID = "run-uid"
PIPELINE_TASK_PLAN = "plan"
PIPELINE_TASK_SHARD = "shard"
PIPELINE_TASK_MERGE = "merge"
STEP_FETCH_RCLONE = "fetch-rclone"
STEP_PLAN = "plan"
STEP_MERGE = "merge"
RESULT_SHARD_IDS = "shard-ids"
RESULT_SHARD_COUNT = "shard-count"
RESULT_REQUEST_ID = "request-id"

RESULT_INPUT_SUMMARY = "input-summary"
RESULT_OUTPUT_SUMMARY = "output-summary"

# volume name -> mount path. Paths reach programs only as whole arguments or whole env values,
# so the local runner can map them to host folders by prefix.
VOLUME_RUNTIME = "odahu-runtime"
VOLUME_CONFIG = "odahu-config"
VOLUME_INPUT = "odahu-input"
VOLUME_MODEL_SRC = "odahu-model-src"
VOLUME_MODEL = "odahu-model"
VOLUME_RAW_OUTPUT = "odahu-raw-output"
VOLUME_OUTPUT = "odahu-output"
VOLUME_REJECTED = "odahu-rejected"
MOUNT_PATHS: dict[str, str] = {
    VOLUME_RUNTIME: "/odahu/runtime",
    VOLUME_CONFIG: "/odahu/config",
    VOLUME_INPUT: "/odahu/input",
    VOLUME_MODEL_SRC: "/odahu/model-src",
    VOLUME_MODEL: "/odahu/model",
    VOLUME_RAW_OUTPUT: "/odahu/raw-output",
    VOLUME_OUTPUT: "/odahu/output",
    VOLUME_REJECTED: "/odahu/rejected",
}

# --- Argo Workflows -----------------------------------------------------------------------------

# A WorkflowTemplate per service holds these templates (compiler/argo/DESIGN.md).
ARGO_TEMPLATE_RUN = "run"  # the nine steps, one containerSet pod
ARGO_TEMPLATE_SHARD = "shard"  # the same pod for one shard, retried on its own
ARGO_TEMPLATE_SHARDED = "sharded"  # plan -> shards -> merge, a dag
# Argo reads a containerSet's outputs from this container only (compiler/argo/rules.py AW9).
ARGO_MAIN_CONTAINER = "main"
ARGO_EXECUTOR_ROLE = f"{PRODUCT}-executor"
ARGO_RESULTS_VOLUME = "odahu-results"
ARGO_RESULTS_DIR = "/odahu/results"
# Argo Server's webhook: one ServiceAccount per service whose bearer token a call carries (directly, or
# put in by Argo Server for a signed call listed in its clients Secret: argo-workflows
# server/auth/webhook/interceptor.go, which reads the token from argo_token_secret_name(account)).
ARGO_WEBHOOK_CLIENTS_SECRET = "argo-workflows-webhook-clients"
ANNOTATION_WEBHOOK_AUTH = "batch.odahu.org/webhook-auth"
ANNOTATION_SERVICE_ACCOUNT_NAME = "kubernetes.io/service-account.name"


def webhook_account_name(service: str) -> str:
    """The ServiceAccount a service's webhook calls act as (services are at most 53 characters)."""
    return f"{service}-webhook"


PARAM_POD_SPEC_PATCH = "pod-spec-patch"


def argo_token_secret_name(service_account: str) -> str:
    """The Secret the Argo controller mounts as the executor's API token: ``<account>.service-account-token``
    (argo-workflows util/secrets/secret_name.go TokenName; docs/service-account-secrets.md)."""
    return f"{service_account}.service-account-token"


# --- environment --------------------------------------------------------------------------------

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")


def env_token(text: str) -> str:
    """``secretAccessKey`` -> ``SECRET_ACCESS_KEY``; ``my-conn`` -> ``MY_CONN``."""
    return _NOT_ALNUM.sub("_", _CAMEL.sub("_", text).upper())


# The value of log-input/-output's HTTP Authorization header, from BatchSettings feedback.authSecret.
ENV_FEEDBACK_AUTHORIZATION = "ODAHU_FEEDBACK_AUTHORIZATION"


def credential_env(connection: str, field: str) -> str:
    """The env var of configure-rclone that carries one credential field of one connection.

    Connection names are DNS labels (no ``_``) and every character maps to one character, so
    distinct connections get distinct names; ``__`` separates the connection from the field.
    """
    return f"ODAHU_CRED_{env_token(connection)}__{env_token(field)}"


# --- rclone -------------------------------------------------------------------------------------


def rclone_location(connection: str, path: str) -> str:
    """configure-rclone writes an alias remote named after each connection (over a backend remote
    ``<connection>_store``) that points at its bucket or root, so a location is ``<connection>:<path>``."""
    return f"{connection}:{path}"


# --- webhook --------------------------------------------------------------------------------------

OVERLAY_PREFIX = "odahu"
OVERLAY_KEYS: dict[str, str] = {param: param.replace("-", "_") for param in RUN_PARAMS}


def overlay_key(param: str) -> str:
    """The CEL overlay key that carries ``param``; bindings read it as ``$(extensions.<key>)``."""
    return f"{OVERLAY_PREFIX}.{OVERLAY_KEYS[param]}"


def webhook_secret_name(service: str) -> str:
    """The Secret that authenticates a service's webhook calls unless the spec names another."""
    return f"{service}-webhook"


def shard_count_overlay_key() -> str:
    """The CEL overlay key of a sharded service's shard count (its Trigger binds it itself)."""
    return f"{OVERLAY_PREFIX}.{PARAM_SHARD_COUNT.replace('-', '_')}"


# --- the output tree ------------------------------------------------------------------------------

CLUSTER_DIR = "_cluster"
KUSTOMIZATION = "kustomization.yaml"


def document_path(kind: str, name: str, namespace: str | None) -> str:
    """``<namespace>/<kind>/<name>.yaml``; cluster-scoped objects under ``_cluster/``."""
    return f"{namespace or CLUSTER_DIR}/{kind.lower()}/{name}.yaml"
