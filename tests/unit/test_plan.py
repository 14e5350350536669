"""plan: the steps, values and names of every generated object, before any YAML."""

from __future__ import annotations

import json

import pytest

from compiler import naming as n
from compiler.diagnostics import CompileError
from compiler.plan.model import EnvVar, Join, ParamRef, Plan, Resources, RunPlan, Step
from compiler.plan.planner import plan
from compiler.plan.quantity import canonical_quantity
from compiler.runtime_bundle import RuntimeBundle
from compiler.tekton.cel import interceptors
from compiler.tekton.render import render
from tests.support import webhooks
from tests.unit.compile_fixtures import (
    BAKED,
    BUNDLE,
    CONNECTIONS,
    HEAD,
    JOBS,
    MULTIPLIER,
    SAMPLE,
    project_from,
    sample_project,
)

ODAHU_STEPS = [
    "configure-rclone",
    "sync-data",
    "sync-model",
    "validate-input",
    "log-input",
    "user-container",
    "validate-output",
    "log-output",
    "sync-output",
]


@pytest.fixture(scope="module")
def planned() -> Plan:
    return plan(sample_project(), BUNDLE)


def _run(p: Plan, service: str) -> RunPlan:
    return next(r for r in p.runs if r.service == service)


def _step(run: RunPlan, name: str) -> Step:
    return next(s for s in run.steps if s.name == name)


def _env(step: Step) -> dict[str, EnvVar]:
    return {e.name: e for e in step.env}


def test_steps_are_odahus_in_order(planned: Plan) -> None:
    assert [s.name for s in _run(planned, "multiplier").steps] == ODAHU_STEPS
    baked = [s.name for s in _run(planned, "baked").steps]
    assert baked == [s for s in ODAHU_STEPS if s != "sync-model"]


def test_user_step_env_mounts_and_resources(planned: Plan) -> None:
    user = _step(_run(planned, "multiplier"), "user-container")
    env = _env(user)
    for new, legacy, value in (
        ("ODAHU_MODEL", "ODAHU_MODEL_PATH", "/odahu/model"),
        ("ODAHU_MODEL_INPUT", "ODAHU_INPUT_PATH", "/odahu/input"),
        ("ODAHU_MODEL_OUTPUT", "ODAHU_OUTPUT_PATH", "/odahu/raw-output"),
    ):
        assert env[new].value == env[legacy].value == value
    mounts = {m.volume: m.read_only for m in user.mounts}
    assert mounts == {"odahu-input": True, "odahu-model": True, "odahu-raw-output": False}
    assert user.resources == Resources(
        requests=(("cpu", "500m"), ("memory", "1Gi")),
        limits=(("memory", "2Gi"), ("nvidia.com/gpu", "1")),
    )
    assert user.restricted
    assert user.run_as_user == 65532
    assert (user.image, user.command, user.args) == (
        "registry.example.com/predictor:1.0",
        ("python3",),
        ("/app/predict.py",),
    )


def test_baked_model_path_reaches_the_user_step(planned: Plan) -> None:
    user = _step(_run(planned, "baked"), "user-container")
    assert _env(user)["ODAHU_MODEL"].value == "/opt/model"
    assert "odahu-model" not in {m.volume for m in user.mounts}
    log = _step(_run(planned, "baked"), "log-input")
    assert log.args[-4:] == ("--model-name", "baked", "--model-version", "2")


def test_nothing_with_credentials_reaches_the_user_step(planned: Plan) -> None:
    for run in planned.runs:
        user = _step(run, "user-container")
        assert {m.volume for m in user.mounts}.isdisjoint({"odahu-config", "odahu-runtime", "odahu-rejected"})
        assert all(e.secret is None for e in user.env)


def test_helpers_reserve_once_per_pod_and_never_a_gpu(planned: Plan) -> None:
    """A pod requests the sum of its steps' requests (tektoncd/pipeline docs/compute-resources.md):
    the first helper reserves the helpers' share, the others request zero."""
    for run in planned.runs:
        helpers = [s for s in run.steps if s.role == "helper"]
        assert helpers[0].resources.requests == (("cpu", "100m"), ("memory", "256Mi"))
        for step in helpers:
            if step is not helpers[0]:
                assert step.resources.requests == (("cpu", "0"), ("memory", "0"))
            assert step.resources.limits == (("cpu", "1"), ("memory", "1Gi"))
            assert step.restricted
            assert step.run_as_user == 65532


def test_credentials_only_through_secret_key_refs(planned: Plan) -> None:
    configure = _step(_run(planned, "multiplier"), "configure-rclone")
    secrets = {e.name: e.secret for e in configure.env if e.secret is not None}
    assert {name: (s.name, s.key, s.optional) for name, s in secrets.items()} == {
        "ODAHU_CRED_BLOBS__SAS_URL": ("blob-creds", "sas", True),
        "ODAHU_CRED_DATA__ACCESS_KEY_ID": ("odahu-data-creds", "accessKeyID", True),
        "ODAHU_CRED_DATA__SECRET_ACCESS_KEY": ("odahu-data-creds", "secretAccessKey", True),
    }
    connections = json.loads(str(_env(configure)["ODAHU_CONNECTIONS"].value))
    assert connections == [
        {
            "account": "odahuacct",
            "auth": "secret",
            "bucket": "results",
            "credentialEnv": {"sasURL": "ODAHU_CRED_BLOBS__SAS_URL"},
            "name": "blobs",
            "roles": ["data", "output"],
            "type": "azureblob",
        },
        {
            "auth": "secret",
            "bucket": "odahu-data",
            "credentialEnv": {
                "accessKeyID": "ODAHU_CRED_DATA__ACCESS_KEY_ID",
                "secretAccessKey": "ODAHU_CRED_DATA__SECRET_ACCESS_KEY",
            },
            "name": "data",
            "region": "eu-west-1",
            "roles": ["data", "output"],
            "type": "s3",
        },
        {
            "auth": "workloadIdentity",
            "bucket": "odahu-models",
            "credentialEnv": {},
            "name": "models",
            "roles": ["model"],
            "type": "gcs",
        },
    ]


def test_gcs_key_and_local_roots() -> None:
    text = f"""\
{HEAD}kind: Connection
metadata: {{name: gcs}}
spec:
  type: gcs
  uri: gs://b/p
  credentials: {{secretRef: {{name: gcs-creds, keys: {{serviceAccountKey: key.json}}}}}}
---
{HEAD}kind: Connection
metadata: {{name: here}}
spec: {{type: local, uri: file:///srv/data}}
---
{HEAD}kind: InferenceService
metadata: {{name: svc}}
spec:
  image: img
  command: [run]
  modelRegistry: {{remote: {{modelConnection: gcs}}}}
  dataSource: {{connection: here, path: in}}
  outputDestination: {{connection: gcs}}
"""
    project = project_from(text, for_cluster=False)
    configure = _step(plan(project, BUNDLE).runs[0], "configure-rclone")
    env = _env(configure)
    connections = {c["name"]: c for c in json.loads(str(env["ODAHU_CONNECTIONS"].value))}
    assert connections["gcs"]["credentialEnv"] == {
        "serviceAccountJSON": "ODAHU_CRED_GCS__SERVICE_ACCOUNT_JSON"
    }
    assert connections["here"] == {
        "auth": "none",
        "credentialEnv": {},
        "name": "here",
        "roles": ["data"],
        "root": "/srv/data",
        "type": "local",
    }
    secret = env["ODAHU_CRED_GCS__SERVICE_ACCOUNT_JSON"].secret
    assert secret is not None
    assert (secret.name, secret.key) == ("gcs-creds", "key.json")
    params = {p.name: p.default for p in plan(project, BUNDLE).runs[0].params}
    # a reference's path replaces the connection's own; none given: the connection's own path
    assert params == {
        "request-id": "",
        "data-connection": "here",
        "data-path": "in",
        "output-connection": "gcs",
        "output-path": "p",
        "replace-output": "false",
    }
    sync_model = _step(plan(project, BUNDLE).runs[0], "sync-model")
    assert sync_model.args[:2] == ("--source", "gcs:p")


def test_run_time_values_never_inside_a_shell_string(planned: Plan) -> None:
    for run in planned.runs:
        for step in run.steps:
            for item in (*step.command, *step.args):
                if isinstance(item, str):
                    assert "$(" not in item or "$(command -v rclone)" in item, (step.name, item)
    sync = _step(_run(planned, "multiplier"), "sync-data")
    assert sync.command == ("sh", "-c")
    env = _env(sync)
    assert env["ODAHU_SOURCE_CONNECTION"].value == ParamRef("data-connection")
    assert env["ODAHU_SOURCE_PATH"].value == ParamRef("data-path")
    assert env["ODAHU_DEST"].value == "/odahu/input"
    output = _step(_run(planned, "multiplier"), "sync-output")
    dest = output.args[output.args.index("--dest") + 1]
    assert dest == Join((ParamRef("output-connection"), ":", ParamRef("output-path")))


def test_mount_paths_reach_programs_whole(planned: Plan) -> None:
    roots = tuple(n.MOUNT_PATHS.values())
    for run in planned.runs:
        for step in run.steps:
            values = [*step.args, *(e.value for e in step.env)]
            for value in values:
                if isinstance(value, str) and "/odahu/" in value and "\n" not in value:
                    assert value.startswith(roots), (step.name, value)


def test_params_and_results(planned: Plan) -> None:
    run = _run(planned, "multiplier")
    assert [(p.name, p.default) for p in run.params] == [
        ("request-id", ""),
        ("data-connection", "data"),
        ("data-path", "batch/input"),
        ("output-connection", "data"),
        ("output-path", "batch/output"),
        ("replace-output", "false"),
    ]
    baked = {p.name: p.default for p in _run(planned, "baked").params}
    assert baked["output-connection"] is None  # no default: every run must name one
    assert [r.name for r in run.results] == ["input-summary", "output-summary"]


def test_runtime_configmap_is_content_hashed_and_mounted_read_only(planned: Plan) -> None:
    (cm,) = planned.runtime
    assert cm.meta.name == f"odahu-batch-runtime-{BUNDLE.digest}"
    assert cm.files == BUNDLE.files
    run = _run(planned, "multiplier")
    volume = next(v for v in run.volumes if v.name == "odahu-runtime")
    assert volume.config_map == cm.meta.name
    other = plan(sample_project(), RuntimeBundle((("validate.py", "changed\n"),)))
    assert other.runtime[0].meta.name != cm.meta.name
    assert {d.code for d in other.diagnostics} == {"W401"}


def test_job_runs(planned: Plan) -> None:
    jobs = {j.job: j for j in planned.jobs}
    nightly, backfill, baked = jobs["nightly"], jobs["backfill"], jobs["baked-once"]
    assert nightly.meta.name.startswith("nightly-")
    assert len(nightly.meta.name) == len("nightly-") + 8
    params = dict(nightly.run.params)
    assert params["request-id"] == nightly.meta.name
    assert dict(backfill.run.params)["request-id"] == "backfill-2026-11"
    assert dict(backfill.run.params)["data-connection"] == "blobs"
    assert dict(baked.run.params)["output-path"] == "batch"  # the connection's own path
    assert nightly.run.timeout == "1h30m0s"
    assert nightly.run.node_selector == (("pool", "gpu"),)
    assert nightly.run.user_resources is None
    assert backfill.run.user_resources == Resources(
        requests=(("cpu", "500m"), ("memory", "1Gi")),
        limits=(("cpu", "4"), ("memory", "2Gi"), ("nvidia.com/gpu", "2")),
    )
    assert dict(nightly.meta.annotations)["argocd.argoproj.io/sync-options"] == (
        "Prune=false,SkipDryRunOnMissingResource=true"
    )
    # the engine's own managed-by label is the backend's to add (tests/unit/test_tekton_mapping.py)
    assert "app.kubernetes.io/managed-by" not in dict(nightly.meta.labels)


def _names(text: str) -> dict[str, str]:
    return {j.job: j.meta.name for j in plan(project_from(text), BUNDLE).jobs}


def test_run_names_change_with_the_job_and_only_then() -> None:
    base = _names(SAMPLE)
    assert base == _names(SAMPLE)
    changed = _names(SAMPLE.replace("requestId: backfill-2026-11", "requestId: backfill-2026-12"))
    assert changed["backfill"] != base["backfill"]
    assert changed["nightly"] == base["nightly"]
    # a change to the service is a change to what its jobs do
    service = _names(SAMPLE.replace("timeout: 90m", "timeout: 2h"))
    assert service["nightly"] != base["nightly"]
    assert service["baked-once"] == base["baked-once"]
    # spelling a value differently is no change
    respelled = _names(SAMPLE.replace('cpu: "0.5"', "cpu: 500m"))
    assert respelled == base
    # new step programs re-run nothing
    assert {j.job: j.meta.name for j in plan(sample_project(), RuntimeBundle(())).jobs} == base


def test_webhooks(planned: Plan) -> None:
    (trigger,) = planned.triggers  # baked has the webhook off
    assert trigger.service == "multiplier"
    assert dict(trigger.trigger.labels)[n.LABEL_WEBHOOK] == "true"
    github, cel = interceptors(trigger.rules)
    assert (github.ref, github.secret_name, github.secret_key) == ("github", "webhook-hmac", "token")
    assert cel.ref == "cel"
    assert cel.filter is not None
    assert "body.spec.inferenceServiceId == 'multiplier'" in cel.filter
    # only the service's own connections and the one it allows (not the model's): compiler.front.access
    assert "body.spec.dataSource.connection in ['blobs', 'data']" in cel.filter
    assert "body.spec.outputDestination.connection in ['blobs', 'data']" in cel.filter
    assert "!(has(body.spec.resources) && type(body.spec.resources) != null_type)" in cel.filter
    overlays = dict(cel.overlays)
    assert set(overlays) == {f"odahu.{k}" for k in ("request_id", "data_connection", "data_path",
                                                    "output_connection", "output_path")}  # fmt: skip
    assert "{'blobs': 'batch', 'data': 'batch'}" in overlays["odahu.data_path"]
    assert dict(trigger.run.params)["data-path"].__class__.__name__ == "TriggerParamRef"
    (hooks,) = planned.webhooks
    assert hooks.listener.name == "odahu-batch"
    # a single-run service's listener creates runs, never sharded ones, and reads no Secret
    assert hooks.needs == ("read-triggers", "read-config", "create-runs", "report-events")
    assert hooks.cluster_role_binding.role == planned.cluster_roles[0].meta.name


def test_no_webhook_no_listener() -> None:
    text = "---\n".join((CONNECTIONS, BAKED, JOBS.split("---\n")[2]))
    planned = plan(project_from(text), BUNDLE)
    assert planned.triggers == ()
    assert planned.webhooks == ()
    assert planned.cluster_roles == ()


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("0.5", "500m"), ("1000m", "1"), ("2000", "2k"), ("1024Mi", "1Gi"), ("1.5Gi", "1536Mi"),
     ("1.5Ki", "1536"),
     ("100m", "100m"), ("0", "0"), ("1e3", "1e3"), ("0.0005", "500u"), ("512", "512"), ("10G", "10G")],
)  # fmt: skip
def test_quantities_are_written_as_the_api_server_does(text: str, canonical: str) -> None:
    assert canonical_quantity(text) == canonical


TEAM_B = f"""\
{HEAD}kind: InferenceService
metadata: {{name: other, namespace: team-b}}
spec:
  image: img
  command: [run]
  modelRegistry: {{remote: {{modelConnection: models}}}}
  dataSource: {{connection: data}}
  outputDestination: {{connection: data}}
"""


def test_every_namespace_gets_its_own_programs_and_listener() -> None:
    planned = plan(sample_project(TEAM_B), BUNDLE)
    assert [c.meta.namespace for c in planned.runtime] == ["odahu-batch", "team-b"]
    assert [w.namespace for w in planned.webhooks] == ["odahu-batch", "team-b"]
    assert [w.cluster_role_binding.meta.name for w in planned.webhooks] == [
        "odahu-batch-eventlistener-odahu-batch",
        "odahu-batch-eventlistener-team-b",
    ]
    assert len(planned.cluster_roles) == 1
    assert _run(planned, "other").meta.namespace == "team-b"


def test_a_job_outside_its_services_namespace_is_an_error() -> None:
    job = (
        f"{HEAD}kind: InferenceJob\nmetadata: {{name: stray, namespace: team-c}}\n"
        "spec: {inferenceServiceId: other}\n"
    )
    with pytest.raises(CompileError) as caught:
        plan(sample_project(TEAM_B + "---\n" + job), BUNDLE)
    (diag,) = caught.value.diagnostics
    assert diag.code == "E407"
    assert "team-c" in diag.message
    assert diag.location.line > 1


def test_a_job_that_would_keep_its_services_gpu_is_an_error() -> None:
    """TaskRun stepSpecs merge into the step (tektoncd/pipeline pkg/apis/pipeline/v1/merge.go): a job
    that leaves out the service's GPU would still get it, so it is refused (E409)."""
    job = (
        f"{HEAD}kind: InferenceJob\nmetadata: {{name: cpu-only}}\n"
        "spec: {inferenceServiceId: multiplier,\n"
        "  resources: {requests: {cpu: '1', memory: 1Gi}, limits: {memory: 2Gi}}}\n"
    )
    with pytest.raises(CompileError) as caught:
        plan(sample_project(job), BUNDLE)
    (diag,) = caught.value.diagnostics
    assert diag.code == "E409"
    assert diag.field == "spec.resources"
    assert "limits.nvidia.com/gpu" in diag.message
    assert "cpu-only" in diag.message
    assert diag.location.line > 1
    dropped = job.replace("limits: {memory: 2Gi}", "limits: {memory: 2Gi, gpu: 0}")
    planned = plan(sample_project(dropped), BUNDLE)
    run = next(j for j in planned.jobs if j.job == "cpu-only").run
    assert run.user_resources is not None
    assert ("nvidia.com/gpu", "0") in run.user_resources.limits


WEBHOOK_BODIES = [
    ({"inferenceServiceId": "multiplier"}, ("", "data", "batch/input", "data", "batch/output")),
    (
        {"inferenceServiceId": "multiplier", "requestId": "r-1", "dataSource": {"connection": "blobs"}},
        ("r-1", "blobs", "batch", "data", "batch/output"),
    ),
    (
        {
            "inferenceServiceId": "multiplier",
            "dataSource": {"path": "x/y"},
            "outputDestination": {"path": ""},
        },
        ("", "data", "x/y", "data", "batch"),  # an empty path is the connection's own path (ODAHU)
    ),
    (
        {"inferenceServiceId": "multiplier", "parallelism": 1},
        ("", "data", "batch/input", "data", "batch/output"),
    ),
    (
        {"inferenceServiceId": "multiplier", "parallelism": 1.0},
        ("", "data", "batch/input", "data", "batch/output"),
    ),
    ({"inferenceServiceId": "multiplier", "parallelism": 2}, None),  # one TaskRun cannot honour it
    ({"inferenceServiceId": "multiplier", "parallelism": "1"}, None),
    ({"inferenceServiceId": "other"}, None),
    ({"inferenceServiceId": "multiplier", "dataSource": {"connection": "elsewhere"}}, None),
    ({"inferenceServiceId": "multiplier", "dataSource": {"path": "a/../b"}}, None),
    ({"inferenceServiceId": "multiplier", "requestId": 'x"; rm -rf'}, None),
    ({"inferenceServiceId": "multiplier", "requestId": 5}, None),
    ({"inferenceServiceId": "multiplier", "resources": {}}, None),
    ({"inferenceServiceId": "multiplier", "nodeSelector": {"a": "b"}}, None),
    ({"inferenceServiceId": "multiplier", "replaceOutput": True}, None),  # only a committed job may
    ({"inferenceServiceId": "multiplier", "dataSource": "data"}, None),
    ({"inferenceServiceId": "multiplier", "dataSource": {"connection": "data", "bucket": "x"}}, None),
]


@pytest.mark.parametrize("backend", sorted(webhooks.BACKENDS))
@pytest.mark.parametrize(("spec", "expected"), WEBHOOK_BODIES)
def test_the_webhook_filter_and_defaults(
    planned: Plan, spec: dict[str, object], expected: object, backend: str
) -> None:
    """Each backend's compiled rules, run as its engine runs them: Triggers' CEL (cel-python) and Argo
    Server's expr (tests/support/expr.py), accept the same bodies with the same run params."""
    pytest.importorskip("celpy")
    params = webhooks.BACKENDS[backend](planned.triggers[0].rules, {"spec": spec})
    if expected is None:
        assert params is None
        return
    assert params is not None
    assert tuple(params[p] for p in n.RUN_PARAMS) == expected


@pytest.mark.parametrize(
    ("endpoint", "account"),
    [
        ("https://odahubatch.blob.core.windows.net", "odahubatch"),
        ("http://127.0.0.1:10000/devstoreaccount1", "devstoreaccount1"),
        ("http://127.0.0.1:10000", None),
        (None, None),
    ],
)
def test_azure_short_form_takes_the_account_from_the_endpoint(
    endpoint: str | None, account: str | None
) -> None:
    from compiler.plan.connections import azure_account_from_endpoint

    assert azure_account_from_endpoint("azureblob", endpoint) == account
    assert azure_account_from_endpoint("s3", endpoint) is None


def test_an_http_sinks_authorization_reaches_only_the_logging_steps() -> None:
    """feedback.authSecret: a secretKeyRef of log-input/-output only; the sink URL in the args holds none."""
    settings = "spec:\n  feedback:\n    sink: https://logs.example.com/ingest\n"
    settings += "    authSecret: {name: feedback-sink, key: authorization}\n"
    text = SAMPLE.replace("spec:\n  tolerations:", settings.rstrip("\n") + "\n  tolerations:", 1)
    assert "authSecret" in text
    run = _run(plan(project_from(text), BUNDLE), "multiplier")
    for step in run.steps:
        env = _env(step).get(n.ENV_FEEDBACK_AUTHORIZATION)
        if step.name in ("log-input", "log-output"):
            assert env is not None
            assert env.secret is not None
            assert env.value is None
            assert (env.secret.name, env.secret.key, env.secret.optional) == (
                "feedback-sink",
                "authorization",
                False,
            )
            assert "https://logs.example.com/ingest" in step.args
        else:
            assert env is None, step.name


def test_validation_max_file_bytes_reaches_both_checks(planned: Plan) -> None:
    run = _run(planned, "multiplier")
    for name in ("validate-input", "validate-output"):
        args = list(_step(run, name).args)
        assert args[args.index("--max-file-bytes") + 1] == str(8 << 20)


@pytest.mark.parametrize(
    ("service_strict", "project_strict", "odahu_style"),
    [(None, False, True), (True, False, False), (None, True, False), (False, True, True)],
)
def test_responses_as_odahu_predictors_write_them_unless_strict(
    service_strict: bool | None, project_strict: bool, odahu_style: bool
) -> None:
    from tests.unit.compile_fixtures import CONNECTIONS, MULTIPLIER, project_from

    service = MULTIPLIER
    if service_strict is not None:
        service += f"  strictResponses: {str(service_strict).lower()}\n"
    strict = str(project_strict).lower()
    settings = f"{HEAD}kind: BatchSettings\nmetadata: {{name: s}}\n"
    settings += f"spec:\n  validation: {{strictResponses: {strict}}}\n"
    project = project_from("---\n".join((CONNECTIONS, service, settings)))
    step = _step(plan(project, BUNDLE).runs[0], "validate-output")
    args = [str(a) for a in step.args]
    assert ("--odahu-responses" in args) is odahu_style
    if odahu_style:
        assert args[args.index("--odahu-responses") + 1 :][:2] == ["--model-meta", "/odahu/config/model.json"]


def test_the_runs_service_account_is_emitted_per_namespace_with_its_settings() -> None:
    settings = SAMPLE.replace(
        "spec:\n  tolerations:",
        "spec:\n  serviceAccountAnnotations: {eks.amazonaws.com/role-arn: 'arn:aws:iam::1:role/batch'}\n"
        "  imagePullSecrets: [registry-pull]\n  tolerations:",
    )
    assert settings != SAMPLE
    planned = plan(project_from(settings), BUNDLE)
    (account,) = planned.accounts
    assert account.meta.name == "odahu-batch-runner"
    assert account.meta.namespace == "odahu-batch"
    assert ("eks.amazonaws.com/role-arn", "arn:aws:iam::1:role/batch") in account.meta.annotations
    assert ("argocd.argoproj.io/sync-wave", "0") in account.meta.annotations  # before the runs (wave 1)
    assert account.image_pull_secrets == ("registry-pull",)
    text = next(
        d.text for d in render(planned) if d.path == "odahu-batch/serviceaccount/odahu-batch-runner.yaml"
    )
    assert "imagePullSecrets:\n  - name: registry-pull\n" in text


def test_declaring_a_connection_read_only_reruns_no_job() -> None:
    """readOnly guards what a run may name; it is not part of what a committed run does."""
    read_only = CONNECTIONS.replace(
        "  uri: gs://odahu-models/registry\n", "  uri: gs://odahu-models/registry\n  readOnly: true\n"
    )
    assert read_only != CONNECTIONS
    names = [
        [run.meta.name for run in plan(project_from(text), BUNDLE).jobs]
        for text in ("---\n".join((c, MULTIPLIER, BAKED, JOBS)) for c in (CONNECTIONS, read_only))
    ]
    assert names[0] == names[1]


def test_only_a_job_that_says_so_may_replace_another_jobs_output() -> None:
    text = SAMPLE.replace("requestId: backfill-2026-11", "requestId: backfill-2026-11\n  replaceOutput: true")
    assert text != SAMPLE
    jobs = {j.job: dict(j.run.params) for j in plan(project_from(text), BUNDLE).jobs}
    assert jobs["backfill"]["replace-output"] == "true"
    assert "replace-output" not in jobs["nightly"]  # the Task's default, false
    (trigger,) = plan(project_from(text), BUNDLE).triggers
    assert "replace-output" not in {p.name for p in trigger.params}, "a webhook call can never set it"
    sync = next(s for s in _run(plan(project_from(text), BUNDLE), "multiplier").steps
                if s.name == "sync-output")  # fmt: skip
    assert "--replace-output" in sync.args
