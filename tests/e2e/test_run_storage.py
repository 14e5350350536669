"""``odahu-batch run`` end to end: real rclone against a local folder, S3 (moto), Azure Blob (Azurite) and
GCS (gcp-storage-emulator) on 127.0.0.1, with the multiplier example's predictor on the host; each run from
the Tekton documents and from the Argo ones."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.test_run_support import (
    EXAMPLE,
    Store,
    app_folder,
    azure_store,
    expected_outputs,
    gcs_store,
    input_folder,
    job,
    json_files,
    local_store,
    model_archive,
    odahu_run,
    s3_store,
    service,
    write_specs,
)
from tests.support.servers import AzuriteServer, GcsEmulator, HttpSink, MotoS3Server
from tests.support.service_account import TOKEN_RESPONSE, ServiceAccount

pytestmark = pytest.mark.e2e

STEPS = [
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


def seed(store: Store, tmp_path: Path, model: str = "folder") -> str:
    """Upload the example's input and model; returns the service's modelPath."""
    store.upload(input_folder(), "input")
    if model == "folder":
        store.upload(EXAMPLE / "model", "models/multiplier")
        return "models/multiplier"
    archive = model_archive(tmp_path, model)
    store.upload(archive, f"models/{archive.name}")
    return f"models/{archive.name}"


def check_success(
    store: Store, result_text: str, code: int, folder: str = "output/req-1"
) -> dict[str, bytes]:
    assert code == 0, result_text
    tree = store.tree(folder)
    assert json_files(tree) == expected_outputs()
    assert tree["_SUCCESS"] == b""
    assert "_manifest.json" in tree
    return tree


def run_remote_model(tmp_path: Path, store: Store, backend: str, model: str = "folder") -> None:
    model_path = seed(store, tmp_path, model)
    svc = service(model={"remote": {"modelConnection": store.name, "modelPath": model_path}})
    specs = write_specs(tmp_path / "specs", [store], svc, [job()])
    result = odahu_run(tmp_path, specs, app=app_folder(tmp_path), secrets=store.secrets, target=backend)
    check_success(store, result.text, result.code)
    assert list(result.statuses()) == STEPS
    assert set(result.statuses().values()) == {"succeeded"}
    assert re.search(r"\nvalidate-input +succeeded ", result.out)
    assert f"run succeeded; run directory: {result.rundir()}/" in result.out
    # Secret values never reach the output (values this short are not masked inside text).
    for keys in store.secrets.values():
        for value in keys.values():
            assert len(value) < 6 or value not in result.text


def test_local_folder_remote_model_folder(tmp_path: Path, backend: str) -> None:
    run_remote_model(tmp_path, local_store(tmp_path / "store"), backend)


def test_s3_remote_model_folder(tmp_path: Path, s3_server: MotoS3Server, backend: str) -> None:
    run_remote_model(tmp_path, s3_store(s3_server), backend)


def test_azure_tar_gz_model(tmp_path: Path, azurite_server: AzuriteServer, backend: str) -> None:
    run_remote_model(tmp_path, azure_store(azurite_server), backend, model="tar.gz")


def test_azure_account_key_remote_model_folder(
    tmp_path: Path, azurite_server: AzuriteServer, backend: str
) -> None:
    store = azure_store(azurite_server, account_key=True)
    run_remote_model(tmp_path, store, backend)
    # The key reached rclone from the Secret, never a generated file or the run's logs.
    logs = "".join(p.read_text() for p in (tmp_path / "runs").rglob("logs/*.log"))
    assert "sync-model: fetched data:models/multiplier" in logs
    assert azurite_server.key not in logs


def test_gcs_zip_model(tmp_path: Path, gcs_server: GcsEmulator, backend: str) -> None:
    run_remote_model(tmp_path, gcs_store(gcs_server), backend, model="zip")


def test_gcs_service_account_key_from_a_secret(tmp_path: Path, gcs_server: GcsEmulator, backend: str) -> None:
    with HttpSink(response_body=TOKEN_RESPONSE) as tokens:
        account = ServiceAccount(f"{tokens.url}/token")
        run_remote_model(tmp_path, gcs_store(gcs_server, key_json=account.key_json()), backend)
    # rclone traded the Secret's key for its tokens: each request's JWT is signed by that key.
    assert tokens.requests
    for request in tokens.requests:
        claims = account.claims(request.body)
        assert claims["iss"] == account.email
        assert claims["aud"] == account.token_uri
        assert "devstorage" in claims["scope"]


def test_s3_zip_model(tmp_path: Path, s3_server: MotoS3Server, backend: str) -> None:
    run_remote_model(tmp_path, s3_store(s3_server), backend, model="zip")


def test_a_corrupt_model_archive_stops_the_run_before_the_predictor(
    tmp_path: Path, s3_server: MotoS3Server
) -> None:
    """A .tar.gz whose gzip CRC-32 does not match (its last member unpacked fine): refused whole, nothing
    uploaded as a result, the model folder left empty."""
    store = s3_store(s3_server)
    store.upload(input_folder(), "input")
    archive = model_archive(tmp_path, "tar.gz")
    data = archive.read_bytes()
    archive.write_bytes(data[:-8] + bytes([data[-8] ^ 0xFF]) + data[-7:])
    store.upload(archive, f"models/{archive.name}")
    svc = service(model={"remote": {"modelConnection": store.name, "modelPath": f"models/{archive.name}"}})
    specs = write_specs(tmp_path / "specs", [store], svc, [job()])
    result = odahu_run(tmp_path, specs, app=app_folder(tmp_path), secrets=store.secrets)
    assert result.code == 1
    assert result.statuses()["sync-model"] == "failed"
    assert result.statuses()["user-container"] == "skipped"
    assert "CRC check failed" in result.out
    assert store.files("output") == []
    assert list((result.rundir() / "volumes" / "odahu-model").iterdir()) == []
