"""``odahu-batch import``: ODAHU exports (made with ODAHU's SDK models, as ``odahuflowctl`` prints them) into
specs that validate and compile, with the credentials only in Secrets outside the spec tree."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from odahuflow.sdk.models import (
    Connection,
    ConnectionReference,
    ConnectionSpec,
    InferenceJob,
    InferenceJobSpec,
)

from compiler import naming as n
from compiler.cli import main
from compiler.front.odahu_import import import_documents
from compiler.localrun.jobs import taskrun_of_job, webhook_job, write_job
from compiler.localrun.secrets import SecretStore
from compiler.pipeline import generate_documents

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "odahu-examples" / "batch-inference" / "manifests"
KEY_ID, KEY_SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def conn_get(decrypted: bool = True) -> list[dict[str, Any]]:
    """``odahuflowctl conn get -o json`` (format_output: ``json.dumps([m.to_dict() ...])``)."""
    secret = (b64(KEY_ID), b64(KEY_SECRET)) if decrypted else ("*****", "*****")
    spec = ConnectionSpec(
        type="s3", uri="s3://bucket/output", region="eu-central-1", key_id=secret[0], key_secret=secret[1]
    )
    git = ConnectionSpec(type="git", uri="git@github.com:odahu/odahu-examples.git", reference="1.5.0")
    return [
        Connection(id="models-output", spec=spec).to_dict(),
        Connection(id="examples", spec=git).to_dict(),
    ]


def export(tmp_path: Path, decrypted: bool = True) -> Path:
    path = tmp_path / "export" / "connections.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(conn_get(decrypted)))
    return path


def test_credentials_become_a_secret_reference_and_a_secret() -> None:
    result = import_documents(conn_get())
    (connection,) = result.documents
    assert connection["spec"] == {
        "region": "eu-central-1",
        "type": "s3",
        "uri": "s3://bucket/output",
        "credentials": {"secretRef": {"name": "models-output-credentials"}},
    }
    (secret,) = result.secrets
    assert dict(secret.data) == {"accessKeyID": b64(KEY_ID), "secretAccessKey": b64(KEY_SECRET)}
    assert result.notes == ("skipped Connection examples: type 'git' is not object storage",)


def test_a_masked_export_leaves_the_values_to_fill_in() -> None:
    (secret,) = import_documents(conn_get(decrypted=False)).secrets
    assert not secret.complete
    assert dict(secret.data) == {"accessKeyID": None, "secretAccessKey": None}


def test_a_role_is_workload_identity() -> None:
    doc = Connection(
        id="s3", spec=ConnectionSpec(type="s3", uri="s3://b", role="arn:aws:iam::1:role/r")
    ).to_dict()
    result = import_documents([doc])
    assert result.documents[0]["spec"]["credentials"] == {"workloadIdentity": True}
    assert result.secrets == ()


def test_import_writes_specs_that_validate_and_secrets_outside_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    specs, secrets = tmp_path / "repo" / "specs", tmp_path / "secrets"
    args = ["import", str(export(tmp_path)), str(EXAMPLE), "--out", str(specs), "--secrets-out", str(secrets)]
    assert main(args) == 0
    out = capsys.readouterr()
    written = (specs / "odahu-import.yaml").read_text() + out.out + out.err
    for value in (KEY_ID, KEY_SECRET, b64(KEY_ID), b64(KEY_SECRET)):
        assert value not in written
    assert main(["compile", str(specs), "--out", str(tmp_path / "deploy")]) == 0
    manifest = secrets / "models-output-credentials.yaml"
    assert stat.S_IMODE(manifest.stat().st_mode) == 0o600
    # The Secret manifest is what a run reads (odahu-batch run --secrets-file), with ODAHU's values.
    store = SecretStore.from_sources([manifest])
    assert store.get("models-output-credentials", "secretAccessKey") == KEY_SECRET


def test_secrets_inside_the_spec_tree_are_refused_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    specs = tmp_path / "specs"
    assert (
        main(["import", str(export(tmp_path)), "--out", str(specs), "--secrets-out", str(specs / "s")]) == 1
    )
    assert "secrets must stay out of Git" in capsys.readouterr().err
    assert not specs.exists()
    assert main(["import", str(export(tmp_path)), "--out", str(specs)]) == 1
    assert not specs.exists()


def test_commands_format(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    args = ["import", str(export(tmp_path)), "--out", str(tmp_path / "specs"), "--secrets-out", str(secrets)]
    assert main([*args, "--secrets-format", "commands"]) == 0
    script = secrets / "create-secrets.sh"
    assert stat.S_IMODE(script.stat().st_mode) == 0o700
    assert (
        "kubectl create secret generic models-output-credentials --namespace odahu-batch "
        f"--from-literal=accessKeyID={KEY_ID} --from-literal=secretAccessKey={KEY_SECRET}"
    ) in script.read_text()


def taskrun(paths: list[Path], job: str) -> tuple[str, dict[str, str]]:
    result = generate_documents(paths, for_cluster=True)
    assert result.generated is not None, result.diagnostics
    docs = result.generated.objects
    name = taskrun_of_job(docs, job)
    (run,) = [d for d in docs if d["kind"] == "TaskRun" and d["metadata"]["name"] == name]
    return name, {p["name"]: p["value"] for p in run["spec"]["params"]}


def test_an_sdk_job_body_starts_the_same_run_as_the_committed_job(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    service = EXAMPLE / "inferenceservice.yaml"
    secrets = str(tmp_path / "secrets")
    args = ["import", str(export(tmp_path)), str(service), "--out", str(specs), "--secrets-out", secrets]
    assert main(args) == 0
    committed_file = EXAMPLE / "inferencejob.yaml"
    spec = InferenceJobSpec(
        inference_service_id="test-batch-service",
        data_source=ConnectionReference(connection="models-output", path="test-data/batch_job_data/input"),
        output_destination=ConnectionReference(connection="models-output", path="test-data/output"),
    )
    body = webhook_job(json.dumps(InferenceJob(spec=spec).to_dict()), "body.json")
    # The body names the job the example's inferencejob.yaml names: the same id, the same TaskRun.
    committed = taskrun([specs, committed_file], str(body["id"]))
    from_body = taskrun([specs, write_job(body, tmp_path / "jobs")], str(body["id"]))
    assert from_body == committed
    assert committed[1][n.PARAM_DATA_PATH] == "test-data/batch_job_data/input"
