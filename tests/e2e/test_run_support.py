"""Helpers of the ``odahu-batch run`` end-to-end tests (no tests here).

A :class:`Store` is one storage location twice: as the specs name it (a Connection, plus the Secret
values it needs) and as the test itself reads and writes it (its own rclone remote). The job runs as a
user would start it: ``python -m compiler.cli run ...`` in a child process whose working directory is
the test's tmp folder, with this machine's environment (AWS_CA_BUNDLE included).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.rclone import run_rclone
from tests.support.servers import AzuriteServer, GcsEmulator, MotoS3Server, unique_bucket

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "multiplier"
API = "batch.odahu.org/v1alpha1"
SERVICE = "multiplier"
RUN_TIMEOUT = 300.0


@dataclass
class Store:
    """A storage location: the Connection the specs use and the rclone remote the test uses."""

    name: str
    connection: dict[str, Any]
    root: str  # the test's rclone location of the bucket (``srv:bucket``) or the local folder
    remote_env: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)

    def location(self, path: str) -> str:
        return f"{self.root}/{path}".rstrip("/")

    def rclone(self, args: Sequence[str | os.PathLike[str]], timeout: float = 120) -> str:
        return run_rclone(["--retries", "1", *args], env=self.remote_env, timeout=timeout).stdout

    def upload(self, local: Path, path: str) -> None:
        self.rclone(["copy" if local.is_dir() else "copyto", local, self.location(path)])

    def files(self, path: str) -> list[str]:
        """Every object under ``path`` (relative, sorted); [] when there is none."""
        listing = run_rclone(
            ["lsf", "-R", "--files-only", self.location(path)], env=self.remote_env, check=False
        )
        return sorted(line for line in listing.stdout.splitlines() if line)

    def tree(self, path: str) -> dict[str, bytes]:
        """Every object under ``path`` with its bytes."""
        with tempfile.TemporaryDirectory(prefix="odahu-e2e-") as tmp:
            self.rclone(["copy", self.location(path), tmp])
            root = Path(tmp)
            return {
                p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
            }


def local_store(folder: Path, name: str = "data") -> Store:
    folder.mkdir(parents=True, exist_ok=True)
    return Store(name, {"type": "local", "uri": str(folder)}, str(folder))


def s3_store(server: MotoS3Server, name: str = "data", bucket: str | None = None) -> Store:
    bucket = bucket or unique_bucket("s3")
    server.create_bucket(bucket)
    secret = f"{name}-credentials"
    connection = {
        "type": "s3",
        "uri": f"s3://{bucket}",
        "region": server.region,
        "endpoint": server.endpoint,
        "pathStyle": True,
        "credentials": {"secretRef": {"name": secret}},
    }
    secrets = {secret: {"accessKeyID": server.access_key_id, "secretAccessKey": server.secret_access_key}}
    return Store(name, connection, f"srv:{bucket}", server.rclone_env("srv"), secrets)


def azure_store(
    server: AzuriteServer, name: str = "data", container: str | None = None, *, account_key: bool = False
) -> Store:
    """A container read through a SAS URL from a Secret, as ODAHU configured Azure; or, with
    ``account_key``, through the account's key (Secret key ``key``), the account named by the endpoint."""
    container = container or unique_bucket("az")
    server.create_bucket(container)
    secret = f"{name}-credentials"
    connection: dict[str, Any] = {"type": "azureblob", "uri": container}
    if account_key:
        connection["endpoint"] = server.account_url
        connection["credentials"] = {"secretRef": {"name": secret, "keys": {"accountKey": "key"}}}
        secrets = {secret: {"key": server.key}}
    else:
        connection["credentials"] = {"secretRef": {"name": secret}}
        secrets = {secret: {"sasURL": server.container_sas_url(container)}}
    return Store(name, connection, f"srv:{container}", server.rclone_env("srv"), secrets)


def gcs_store(
    server: GcsEmulator, name: str = "data", bucket: str | None = None, *, key_json: str | None = None
) -> Store:
    """A bucket read anonymously (the emulator's way), or with ``key_json`` through a service-account
    key from a Secret."""
    bucket = bucket or unique_bucket("gcs")
    server.create_bucket(bucket)
    connection: dict[str, Any] = {
        "type": "gcs",
        "uri": f"gs://{bucket}",
        "endpoint": server.endpoint,
        "project": server.project_number,
        "credentials": {"anonymous": True},
    }
    secrets: dict[str, dict[str, str]] = {}
    if key_json is not None:
        secret = f"{name}-credentials"
        connection["credentials"] = {"secretRef": {"name": secret}}
        secrets = {secret: {"serviceAccountKey": key_json}}
    return Store(name, connection, f"srv:{bucket}", server.rclone_env("srv"), secrets)


def doc(kind: str, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    return {"apiVersion": API, "kind": kind, "metadata": {"name": name}, "spec": dict(spec)}


def service(
    *,
    model: Mapping[str, Any] | None = None,
    data: tuple[str, str] = ("data", "input"),
    output: tuple[str, str] = ("data", "output"),
    args: Sequence[str] = ("/opt/app/predictor.py",),
    allowed: Sequence[str] = (),
) -> dict[str, Any]:
    """``allowed``: connections its runs may use besides its own (compiler/front/access.py)."""
    return doc(
        "InferenceService",
        SERVICE,
        {
            "image": "docker.io/library/python:3.12-slim",
            "command": ["python3"],
            "args": list(args),
            "modelRegistry": model
            or {"remote": {"modelConnection": "data", "modelPath": "models/multiplier"}},
            "dataSource": {"connection": data[0], "path": data[1]},
            "outputDestination": {"connection": output[0], "path": output[1]},
            "timeout": "10m",
            **({"triggers": {"webhook": {"allowedConnections": list(allowed)}}} if allowed else {}),
        },
    )


def job(name: str = "job-1", request_id: str = "req-1", **overrides: Any) -> dict[str, Any]:
    return doc("InferenceJob", name, {"inferenceServiceId": SERVICE, "requestId": request_id, **overrides})


def write_specs(
    folder: Path,
    stores: Sequence[Store],
    svc: Mapping[str, Any],
    jobs: Sequence[Mapping[str, Any]] = (),
    settings: Mapping[str, Any] | None = None,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    docs = [doc("BatchSettings", "settings", {"allowLocalConnections": True, **(settings or {})})]
    docs += [doc("Connection", s.name, s.connection) for s in stores]
    docs += [dict(svc), *(dict(j) for j in jobs)]
    (folder / "specs.yaml").write_text("---\n".join(json.dumps(d, indent=1) + "\n" for d in docs))
    return folder


def app_folder(tmp_path: Path, predictor: str | None = None) -> Path:
    """The multiplier's app folder (bound at /opt/app), or one with another predictor."""
    app = tmp_path / "app"
    shutil.copytree(EXAMPLE / "app", app)
    if predictor is not None:
        (app / "predictor.py").write_text(predictor)
    return app


# The example's model baked into the service's image, at /opt/app/model (see baked_app).
BAKED = {"local": {"modelPath": "/opt/app/model", "meta": {"name": "multiplier", "version": "1"}}}


def baked_app(tmp_path: Path, predictor: str | None = None) -> Path:
    """The app folder with the example's model inside it, for a service with the ``BAKED`` model."""
    app = app_folder(tmp_path, predictor)
    shutil.copytree(EXAMPLE / "model", app / "model")
    return app


def model_archive(tmp_path: Path, kind: str) -> Path:
    """The example model as ``.tar.gz`` or ``.zip`` (files at the archive's top level)."""
    files = sorted(p for p in (EXAMPLE / "model").iterdir() if p.is_file())
    path = tmp_path / f"multiplier.{kind}"
    if kind == "tar.gz":
        with tarfile.open(path, "w:gz") as archive:
            for file in files:
                archive.add(file, arcname=file.name)
    else:
        with zipfile.ZipFile(path, "w") as archive:
            for file in files:
                archive.write(file, arcname=file.name)
    return path


def expected_outputs() -> dict[str, Any]:
    return {p.name: json.loads(p.read_text()) for p in sorted((EXAMPLE / "expected").glob("*.json"))}


def input_folder() -> Path:
    return EXAMPLE / "data" / "input"


def request(index: int, values: int = 4) -> bytes:
    """A valid V2 inference request with ``values`` INT32 numbers."""
    body = {
        "id": f"r-{index}",
        "inputs": [{"name": "x", "shape": [values], "datatype": "INT32", "data": list(range(values))}],
    }
    return json.dumps(body).encode()


@dataclass
class RunResult:
    code: int
    out: str
    err: str
    workdir: Path

    @property
    def text(self) -> str:
        return self.out + self.err

    def rundir(self) -> Path:
        found = [p for p in self.workdir.iterdir() if p.is_dir() and not p.name.startswith(".")]
        assert len(found) == 1, found
        return found[0]

    def children(self) -> list[dict[str, Any]]:
        """A sharded run's pods (a PipelineRun's TaskRuns, a Workflow's pods) from its summary."""
        summary = self.summary()
        rows: list[dict[str, Any]] = summary.get("taskRuns") or summary["pods"]
        return rows

    def summary(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.rundir() / "summary.json").read_text())
        return data

    def statuses(self) -> dict[str, str]:
        return {step["name"]: step["status"] for step in self.summary()["steps"]}


def command(
    tmp_path: Path,
    specs: Path,
    *,
    job_name: str | None = "job-1",
    app: Path | None = None,
    secrets: Mapping[str, Mapping[str, str]] | None = None,
    extra: Sequence[str] = (),
    target: str | None = None,
) -> list[str]:
    """``target``: the backend whose documents run (``--target``); None: the specs' own."""
    cmd = [sys.executable, "-m", "compiler.cli", "run", str(specs), "--workdir", str(tmp_path / "runs")]
    if target is not None:
        cmd += ["--target", target]
    if job_name is not None:
        cmd += ["--job", job_name]
    if app is not None:
        cmd += ["--bind", f"{app}:/opt/app"]
    if secrets:
        path = tmp_path / "secrets.json"
        path.write_text(json.dumps(secrets))
        cmd += ["--secrets-file", str(path)]
    return [*cmd, *extra]


def odahu_run(tmp_path: Path, specs: Path, *, stdin: str | None = None, **options: Any) -> RunResult:
    done = subprocess.run(
        command(tmp_path, specs, **options),
        cwd=tmp_path,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    return RunResult(done.returncode, done.stdout, done.stderr, tmp_path / "runs")


def start_run(tmp_path: Path, specs: Path, log: Path, **options: Any) -> subprocess.Popen[bytes]:
    """The run in the background, its output in ``log`` (for fault tests)."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            command(tmp_path, specs, **options),
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def finish(
    proc: subprocess.Popen[bytes], log: Path, workdir: Path, timeout: float = RUN_TIMEOUT
) -> RunResult:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)
        raise
    return RunResult(proc.returncode, log.read_text(errors="replace"), "", workdir)


def step_log_shows(workdir: Path, step: str, text: str) -> bool:
    """The step has started (its log exists) and its log contains ``text``."""
    for log in workdir.glob(f"*/logs/{step}.log"):
        with open(log, "rb") as handle:
            if text.encode() in handle.read():
                return True
    return False


def many_requests(folder: Path, count: int, values: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        (folder / f"request-{index:04d}.json").write_bytes(request(index, values))
    return folder


def json_files(tree: Mapping[str, bytes], prefix: str = "") -> dict[str, Any]:
    return {
        name[len(prefix) :]: json.loads(body)
        for name, body in tree.items()
        if name.startswith(prefix)
        and "/" not in name[len(prefix) :]
        and name.endswith(".json")
        and not name[len(prefix) :].startswith("_")
    }
