"""The steps of one InferenceService's run, in ODAHU's order and with ODAHU's names.

Helper steps run the programs of the runtime ConfigMap (python image) or rclone (rclone image)
with small explicit requests, unprivileged, and never a GPU. Only the user step gets the
service's resources, and only the input, model and output folders: nothing that holds credentials.
Run-time values reach programs only as whole ``args`` elements or ``env`` values, never inside a
shell string.
"""

from __future__ import annotations

from dataclasses import replace

from compiler import naming as n
from compiler.front.project import Service
from compiler.front.spec import BatchSettingsSpec, ResourceRequirements
from compiler.plan.connections import Connections
from compiler.plan.model import (
    EnvVar,
    Join,
    Mount,
    ParamRef,
    Resources,
    ResultPathRef,
    RunUidRef,
    SecretKeyRef,
    Step,
    Value,
)
from compiler.plan.quantity import canonical_quantity
from compiler.units import parse_duration

HELPER_UID = 65532
RUNTIME = n.MOUNT_PATHS[n.VOLUME_RUNTIME]
CONFIG = n.MOUNT_PATHS[n.VOLUME_CONFIG]
RCLONE_CONF = f"{CONFIG}/rclone.conf"
RCLONE_BIN_DIR = f"{CONFIG}/bin"
RCLONE_BIN = f"{RCLONE_BIN_DIR}/rclone"
MODEL_META = f"{CONFIG}/model.json"
# The valid requests' ids and requested outputs, from validate-input to validate-output (no second parse).
REQUEST_FACTS = f"{CONFIG}/request-facts.json"
REJECTED = n.MOUNT_PATHS[n.VOLUME_REJECTED]

# No run-time value is ever part of this text: the connection and path arrive as env values.
SYNC_DATA_SCRIPT = """\
set -eu
case "$ODAHU_SOURCE_CONNECTION" in
  ''|*[!a-z0-9-]*) echo "sync-data: invalid connection name: $ODAHU_SOURCE_CONNECTION" >&2; exit 2 ;;
esac
mkdir -p "$ODAHU_BIN_DIR"
cp "$(command -v rclone)" "$ODAHU_BIN_DIR/rclone"
exec rclone sync "$ODAHU_SOURCE_CONNECTION:$ODAHU_SOURCE_PATH" "$ODAHU_DEST" \\
  --config "$RCLONE_CONFIG" --retries 3 --low-level-retries 5 --contimeout 10s --timeout 60s \\
  --stats-one-line --stats 10s -v
"""

# A shard's Task (a sharded service's) reads only its shard's objects: the list shard.py plan wrote.
SHARDED_SYNC_DATA_SCRIPT = """\
set -eu
case "$ODAHU_SOURCE_CONNECTION" in
  ''|*[!a-z0-9-]*) echo "sync-data: invalid connection name: $ODAHU_SOURCE_CONNECTION" >&2; exit 2 ;;
esac
mkdir -p "$ODAHU_BIN_DIR"
cp "$(command -v rclone)" "$ODAHU_BIN_DIR/rclone"
if [ -z "$ODAHU_SHARD" ]; then
  exec rclone sync "$ODAHU_SOURCE_CONNECTION:$ODAHU_SOURCE_PATH" "$ODAHU_DEST" \\
    --config "$RCLONE_CONFIG" --retries 3 --low-level-retries 5 --contimeout 10s --timeout 60s \\
    --stats-one-line --stats 10s -v
fi
case "$ODAHU_SHARD" in
  *[!0-9]*) echo "sync-data: invalid shard index: $ODAHU_SHARD" >&2; exit 2 ;;
esac
case "$ODAHU_SHARD_REQUEST_ID" in
  ''|*/*|.|..) echo "sync-data: a shard needs a plain request id: $ODAHU_SHARD_REQUEST_ID" >&2; exit 2 ;;
esac
rclone copyto "${ODAHU_SHARD_DEST%/}/$ODAHU_SHARD_REQUEST_ID/_shards/$ODAHU_SHARD/files.txt" "$ODAHU_FILES" \\
  --config "$RCLONE_CONFIG" --retries 3 --low-level-retries 5 --contimeout 10s --timeout 60s
exec rclone copy --files-from-raw "$ODAHU_FILES" "$ODAHU_SOURCE_CONNECTION:$ODAHU_SOURCE_PATH" \\
  "$ODAHU_DEST" --config "$RCLONE_CONFIG" --retries 3 --low-level-retries 5 --contimeout 10s --timeout 60s \\
  --stats-one-line --stats 10s -v
"""
SHARD_FILES = f"{CONFIG}/files.txt"


def _mount(volume: str, *, ro: bool) -> Mount:
    return Mount(volume, n.MOUNT_PATHS[volume], ro)


def _path(volume: str) -> str:
    return n.MOUNT_PATHS[volume]


def helper_uid(settings: BatchSettingsSpec) -> int | None:
    """The fixed uid of restricted steps; none under OpenShift's restricted-v2, whose SCC assigns
    one from the namespace's range and refuses a uid outside it."""
    return HELPER_UID if settings.podSecurity == "restricted" else None


def helper_resources(settings: BatchSettingsSpec, *, reserve: bool = True) -> Resources:
    """A helper's resources. The CPU limit is the helper's own (validate.py sizes its worker pool by
    the cgroup quota it sets, not by the node's cores); only a reserving helper requests anything."""
    h = settings.helperResources
    requests = (canonical_quantity(h.cpu), canonical_quantity(h.memory)) if reserve else ("0", "0")
    return Resources(
        requests=(("cpu", requests[0]), ("memory", requests[1])),
        limits=(("cpu", canonical_quantity(h.cpuLimit)), ("memory", canonical_quantity(h.memoryLimit))),
    )


def sized(steps: tuple[Step, ...], settings: BatchSettingsSpec) -> tuple[Step, ...]:
    """Steps that reserve what the pod needs, once.

    A pod requests the sum of its steps' requests (tektoncd/pipeline docs/compute-resources.md),
    yet steps run one at a time: the first helper reserves the helpers' share and the others
    request nothing beyond it (explicit zeros: omitted requests would default to the limits).
    """
    first = next((i for i, s in enumerate(steps) if s.role == "helper"), None)
    idle = helper_resources(settings, reserve=False)
    return tuple(
        replace(s, resources=idle) if s.role == "helper" and i != first else s for i, s in enumerate(steps)
    )


def user_resources(resources: ResourceRequirements | None, gpu_name: str) -> Resources:
    """The service's (or a job's) resources; ``gpu`` becomes the cluster's GPU resource name.

    Kubernetes requires extended resources in limits; a GPU only requested goes into both.
    """
    if resources is None:
        return Resources()

    def listing(values: object) -> dict[str, str]:
        out: dict[str, str] = {}
        for key in ("cpu", "memory", "gpu"):
            quantity = getattr(values, key, None) if values is not None else None
            if quantity is not None:
                out[gpu_name if key == "gpu" else key] = canonical_quantity(quantity)
        return out

    requests, limits = listing(resources.requests), listing(resources.limits)
    if gpu_name in requests and gpu_name not in limits:
        limits[gpu_name] = requests[gpu_name]
    return Resources(tuple(sorted(requests.items())), tuple(sorted(limits.items())))


def dropped_resources(service: Resources, job: Resources) -> tuple[str, ...]:
    """What a job leaves out of the service's predictor resources, as ``limits.<name>`` paths.

    The plan's contract for a run's resources (``RunSpec.user_resources``): they are merged into the
    user step's key by key, not substituted, so whatever the job omits, the service's value stays
    (each backend says how it honours that).
    """
    kept = {f"requests.{k}" for k, _ in service.requests} | {f"limits.{k}" for k, _ in service.limits}
    given = {f"requests.{k}" for k, _ in job.requests} | {f"limits.{k}" for k, _ in job.limits}
    return tuple(sorted(kept - given))


class _Steps:
    """Builds the step list of one service; one method per step keeps each recipe readable."""

    def __init__(
        self, settings: BatchSettingsSpec, connections: Connections, service: Service, sharded: bool = False
    ) -> None:
        self.sharded = sharded  # a shard of a Pipeline may run it: the shard-index param is honoured
        self.connections = connections
        self.service = service
        self.settings = settings
        self.remote = service.spec.modelRegistry.remote
        self.local = service.spec.modelRegistry.local
        self.base_env = (EnvVar("PYTHONDONTWRITEBYTECODE", "1"), EnvVar("HOME", "/tmp"))
        self.resources = helper_resources(self.settings)
        feedback = self.settings.feedback
        self.feedback_uses_rclone = feedback.sink.startswith("rclone:")

    def helper(
        self,
        name: str,
        program: str,
        args: tuple[Value, ...],
        mounts: tuple[Mount, ...],
        env: tuple[EnvVar, ...] = (),
    ) -> Step:
        return Step(
            name=name,
            role="helper",
            image=self.settings.images.python,
            command=("python3", f"{RUNTIME}/{program}"),
            args=args,
            env=self.base_env + env,
            mounts=(_mount(n.VOLUME_RUNTIME, ro=True), *mounts),
            resources=self.resources,
            restricted=True,
            run_as_user=helper_uid(self.settings),
        )

    def model_args(self) -> tuple[str, ...]:
        if self.local is not None:
            return ("--model-name", self.local.meta.name, "--model-version", self.local.meta.version)
        return ("--model-meta", MODEL_META)

    def request_id(self) -> tuple[Value, ...]:
        return ("--request-id", ParamRef(n.PARAM_REQUEST_ID))

    def shard(self) -> tuple[Value, ...]:
        """``--shard <index>`` in a sharded service's Task; an empty index is a single run."""
        return ("--shard", ParamRef(n.PARAM_SHARD_INDEX)) if self.sharded else ()

    def run_uid_env(self) -> tuple[EnvVar, ...]:
        # The programs fall back to the run's uid when the request id is empty (webhook runs).
        return (EnvVar("ODAHU_RUN_UID", RunUidRef()),)

    def configure_rclone(self, data: bool = True) -> Step:
        """Step 1: configures the run's own connections, refusing a data or output connection the
        service does not allow before anything touches storage; ``data``: the run reads input."""
        checked: tuple[tuple[str, str], ...] = ((n.PARAM_DATA_CONNECTION, "--data-connection"),)
        checked = (checked if data else ()) + ((n.PARAM_OUTPUT_CONNECTION, "--output-connection"),)
        args: tuple[Value, ...] = ("--config", RCLONE_CONF)
        for param, flag in checked:
            args += (flag, ParamRef(param))
        return self.helper(
            n.STEP_CONFIGURE_RCLONE,
            "configure_rclone.py",
            args,
            (_mount(n.VOLUME_CONFIG, ro=False),),
            self.connections.env(self.service),
        )

    def sync_data(self) -> Step:
        env: tuple[EnvVar, ...] = (
            EnvVar("ODAHU_SOURCE_CONNECTION", ParamRef(n.PARAM_DATA_CONNECTION)),
            EnvVar("ODAHU_SOURCE_PATH", ParamRef(n.PARAM_DATA_PATH)),
            EnvVar("ODAHU_DEST", _path(n.VOLUME_INPUT)),
            EnvVar("ODAHU_BIN_DIR", RCLONE_BIN_DIR),
            EnvVar("RCLONE_CONFIG", RCLONE_CONF),
        )
        if self.sharded:
            destination = Join((ParamRef(n.PARAM_OUTPUT_CONNECTION), ":", ParamRef(n.PARAM_OUTPUT_PATH)))
            env += (
                EnvVar("ODAHU_SHARD", ParamRef(n.PARAM_SHARD_INDEX)),
                EnvVar("ODAHU_SHARD_DEST", destination),
                EnvVar("ODAHU_SHARD_REQUEST_ID", ParamRef(n.PARAM_REQUEST_ID)),
                EnvVar("ODAHU_FILES", SHARD_FILES),
            )
        return Step(
            name=n.STEP_SYNC_DATA,
            role="helper",
            image=self.settings.images.rclone,
            command=("sh", "-c"),
            args=(SHARDED_SYNC_DATA_SCRIPT if self.sharded else SYNC_DATA_SCRIPT, n.STEP_SYNC_DATA),
            env=self.base_env + env,
            mounts=(_mount(n.VOLUME_CONFIG, ro=False), _mount(n.VOLUME_INPUT, ro=False)),
            resources=self.resources,
            restricted=True,
            run_as_user=helper_uid(self.settings),
        )

    def sync_model(self) -> Step:
        found = model_location(self.connections, self.service)
        assert found is not None
        conn, path = found
        return self.helper(
            n.STEP_SYNC_MODEL,
            "sync_model.py",
            (
                "--source", n.rclone_location(conn, path),
                "--staging", _path(n.VOLUME_MODEL_SRC),
                "--dest", _path(n.VOLUME_MODEL),
                "--meta", MODEL_META,
                "--rclone", RCLONE_BIN,
                "--config", RCLONE_CONF,
            ),
            (
                _mount(n.VOLUME_CONFIG, ro=False),
                _mount(n.VOLUME_MODEL_SRC, ro=False),
                _mount(n.VOLUME_MODEL, ro=False),
            ),
        )  # fmt: skip

    def policy_args(self, *, response: bool) -> tuple[str, ...]:
        policy = self.settings.validation
        args: list[str] = [
            "--max-rejected",
            str(policy.maxRejected),
            "--max-file-bytes",
            str(policy.maxFileBytes),
        ]
        if policy.maxRejectedFraction is not None:
            args += ["--max-rejected-fraction", repr(float(policy.maxRejectedFraction))]
        if response and policy.requireOnePerRequest:
            args.append("--require-one-per-request")
        if response and policy.requireMatchingIds:
            args.append("--require-matching-ids")
        strict = self.service.spec.strictResponses
        if response and not (policy.strictResponses if strict is None else strict):
            args += ("--odahu-responses", *self.model_args())
        return tuple(args)

    # The validators only record their verdict (--record-verdict): a step that exits non-zero makes the
    # engine skip every later step (tektoncd/pipeline v1.15.0 cmd/entrypoint/waiter.go returns
    # ErrSkipPreviousStepFailed once an earlier step's .err post file exists), and the rejected files and
    # reports would die with the pod before sync-output uploads them. sync-output applies the verdict last.
    # The input is checked in place (--valid is the folder checked): valid files cost no directory operation,
    # and rejected ones are moved out before the predictor sees the folder. Every file there is the helpers'
    # own. The output is not: the predictor may run as another user and own the folders it made, so a helper
    # could not move a rejected file out of them; validate-output links (else copies) into a fresh folder.
    def validate_input(self) -> Step:
        return self.helper(
            n.STEP_VALIDATE_INPUT,
            "validate.py",
            (
                "request", _path(n.VOLUME_INPUT),
                "--valid", _path(n.VOLUME_INPUT),
                "--rejected", f"{REJECTED}/input",
                "--record-verdict",
                "--facts", REQUEST_FACTS,
                *self.policy_args(response=False),
            ),
            (
                _mount(n.VOLUME_CONFIG, ro=False),
                _mount(n.VOLUME_INPUT, ro=False),
                _mount(n.VOLUME_REJECTED, ro=False),
            ),
        )  # fmt: skip

    def log(self, name: str, kind: str, folder: str) -> Step:
        feedback = self.settings.feedback
        args: tuple[Value, ...] = (
            kind, _path(folder),
            "--sink", feedback.sink,
            "--on-unreachable", feedback.onUnreachable,
            "--timeout", str(parse_duration(feedback.timeout) // 1_000_000_000),
            *self.request_id(),
            *self.shard(),
            *self.model_args(),
        )  # fmt: skip
        mounts = [_mount(folder, ro=True)]
        if self.feedback_uses_rclone:
            args += ("--rclone", RCLONE_BIN, "--config", RCLONE_CONF)
        if self.feedback_uses_rclone or self.remote is not None:
            mounts.append(_mount(n.VOLUME_CONFIG, ro=True))
        env = self.run_uid_env()
        auth = feedback.authSecret
        if auth is not None:  # only the logging steps see it; a missing key stops the pod (optional=False)
            env += (
                EnvVar(
                    n.ENV_FEEDBACK_AUTHORIZATION, secret=SecretKeyRef(auth.name, auth.key, optional=False)
                ),
            )
        return self.helper(name, "feedback.py", args, tuple(mounts), env)

    def user(self) -> Step:
        spec = self.service.spec
        model = _path(n.VOLUME_MODEL) if self.local is None else self.local.modelPath
        data_in, data_out = _path(n.VOLUME_INPUT), _path(n.VOLUME_RAW_OUTPUT)
        env = (
            EnvVar("ODAHU_MODEL", model),
            EnvVar("ODAHU_MODEL_INPUT", data_in),
            EnvVar("ODAHU_MODEL_OUTPUT", data_out),
            # ODAHU's code set these names; its example predictor reads them.
            EnvVar("ODAHU_MODEL_PATH", model),
            EnvVar("ODAHU_INPUT_PATH", data_in),
            EnvVar("ODAHU_OUTPUT_PATH", data_out),
            EnvVar("ODAHU_REQUEST_ID", ParamRef(n.PARAM_REQUEST_ID)),
        )
        mounts = [_mount(n.VOLUME_INPUT, ro=True)]
        if self.remote is not None:
            mounts.append(_mount(n.VOLUME_MODEL, ro=True))
        mounts.append(_mount(n.VOLUME_RAW_OUTPUT, ro=False))
        restricted = spec.userSecurity == "restricted"
        return Step(
            name=n.STEP_USER,
            role="user",
            image=spec.image,
            command=tuple(spec.command),
            args=tuple(spec.args),
            env=env,
            mounts=tuple(mounts),
            resources=user_resources(spec.resources, self.settings.gpuResourceName),
            restricted=restricted,
            run_as_user=helper_uid(self.settings) if restricted else None,
        )

    def validate_output(self) -> Step:
        return self.helper(
            n.STEP_VALIDATE_OUTPUT,
            "validate.py",
            (
                "response", _path(n.VOLUME_RAW_OUTPUT),
                "--valid", _path(n.VOLUME_OUTPUT),
                "--rejected", f"{REJECTED}/output",
                "--requests", _path(n.VOLUME_INPUT),
                "--request-facts", REQUEST_FACTS,
                "--record-verdict",
                *self.policy_args(response=True),
            ),
            (
                _mount(n.VOLUME_CONFIG, ro=True),
                _mount(n.VOLUME_RAW_OUTPUT, ro=True),
                _mount(n.VOLUME_INPUT, ro=True),
                _mount(n.VOLUME_OUTPUT, ro=False),
                _mount(n.VOLUME_REJECTED, ro=False),
            ),
        )  # fmt: skip

    def sync_output(self) -> Step:
        destination = Join((ParamRef(n.PARAM_OUTPUT_CONNECTION), ":", ParamRef(n.PARAM_OUTPUT_PATH)))
        return self.helper(
            n.STEP_SYNC_OUTPUT,
            "sync_output.py",
            (
                "--output", _path(n.VOLUME_OUTPUT),
                "--rejected", REJECTED,
                "--inputs", _path(n.VOLUME_INPUT),
                "--dest", destination,
                "--source", Join((ParamRef(n.PARAM_DATA_CONNECTION), ":", ParamRef(n.PARAM_DATA_PATH))),
                "--replace-output", ParamRef(n.PARAM_REPLACE_OUTPUT),
                "--input-summary", ResultPathRef(n.RESULT_INPUT_SUMMARY),
                "--output-summary", ResultPathRef(n.RESULT_OUTPUT_SUMMARY),
                *self.request_id(),
                *self.model_args(),
                "--image", self.service.spec.image,
                "--service", self.service.name,
                "--rclone", RCLONE_BIN,
                "--config", RCLONE_CONF,
                *self.shard(),
            ),
            (
                _mount(n.VOLUME_OUTPUT, ro=True),
                _mount(n.VOLUME_REJECTED, ro=True),
                _mount(n.VOLUME_INPUT, ro=True),
                _mount(n.VOLUME_CONFIG, ro=True),
            ),
            self.run_uid_env(),
        )  # fmt: skip

    def all(self) -> tuple[Step, ...]:
        steps = [self.configure_rclone(), self.sync_data()]
        if self.remote is not None:
            steps.append(self.sync_model())
        steps += [
            self.validate_input(),
            self.log(n.STEP_LOG_INPUT, "request", n.VOLUME_INPUT),
            self.user(),
            self.validate_output(),
            self.log(n.STEP_LOG_OUTPUT, "response", n.VOLUME_OUTPUT),
            self.sync_output(),
        ]
        return sized(tuple(steps), self.settings)


def model_location(connections: Connections, service: Service) -> tuple[str, str] | None:
    """(connection, path) of a remote model; None for a model baked into the image."""
    remote = service.spec.modelRegistry.remote
    if remote is None:
        return None
    return connections.model_location(remote.modelConnection, remote.modelPath)


def service_steps(
    settings: BatchSettingsSpec, connections: Connections, service: Service, sharded: bool = False
) -> tuple[Step, ...]:
    return _Steps(settings, connections, service, sharded).all()
