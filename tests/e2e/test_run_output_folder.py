"""What a run does to the folder it writes, end to end against S3 (moto on 127.0.0.1): it never deletes
what it did not write, it never takes another job's folder unless told, and a rerun completes its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.test_run_support import (
    EXAMPLE,
    Store,
    app_folder,
    expected_outputs,
    input_folder,
    job,
    json_files,
    odahu_run,
    s3_store,
    service,
    write_specs,
)
from tests.support.servers import MotoS3Server

pytestmark = pytest.mark.e2e


def workdir(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    return folder


def seeded(server: MotoS3Server) -> Store:
    store = s3_store(server)
    store.upload(input_folder(), "input")
    store.upload(EXAMPLE / "model", "models/multiplier")
    return store


def test_another_teams_files_survive_a_run_aimed_at_them(tmp_path: Path, s3_server: MotoS3Server) -> None:
    # Before: outputDestination {path: ""} with requestId "private" made rclone sync into <bucket>/private/
    # and delete what was there.
    store = seeded(s3_server)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "ledger.csv").write_bytes(b"account,balance\n1,100\n")
    store.upload(theirs, "private")
    svc = service(output=("data", ""))
    specs = write_specs(tmp_path / "specs", [store], svc, [job(request_id="private")])
    result = odahu_run(tmp_path, specs, app=app_folder(tmp_path), secrets=store.secrets)
    assert result.code == 1, result.text
    assert "holds 1 objects that no run wrote (e.g. 'ledger.csv')" in result.out
    assert store.tree("private") == {"ledger.csv": b"account,balance\n1,100\n"}


def test_a_folder_of_another_job_is_kept_unless_the_job_may_replace_it(
    tmp_path: Path, s3_server: MotoS3Server
) -> None:
    store = seeded(s3_server)
    store.upload(input_folder(), "other-input")
    app = app_folder(tmp_path)
    first = write_specs(tmp_path / "first", [store], service(), [job()])
    assert odahu_run(workdir(tmp_path, "a"), first, app=app, secrets=store.secrets).code == 0
    before = store.tree("output/req-1")
    other = job(dataSource={"connection": "data", "path": "other-input"})
    second = write_specs(tmp_path / "second", [store], service(), [other])
    refused = odahu_run(workdir(tmp_path, "b"), second, app=app, secrets=store.secrets)
    assert refused.code == 1, refused.text
    assert "holds the work of another job" in refused.out
    assert "replaceOutput: true" in refused.out
    assert store.tree("output/req-1") == before
    allowed = job(dataSource={"connection": "data", "path": "other-input"}, replaceOutput=True)
    third = write_specs(tmp_path / "third", [store], service(), [allowed])
    replaced = odahu_run(workdir(tmp_path, "c"), third, app=app, secrets=store.secrets)
    assert replaced.code == 0, replaced.text
    tree = store.tree("output/req-1")
    assert json.loads(tree["_manifest.json"])["source"] == "data:other-input"
    assert json_files(tree) == expected_outputs()
    assert "_SUCCESS" in tree


def test_a_rerun_of_the_same_job_completes_its_folder(tmp_path: Path, s3_server: MotoS3Server) -> None:
    store = seeded(s3_server)
    specs = write_specs(tmp_path / "specs", [store], service(), [job()])
    app = app_folder(tmp_path)
    assert odahu_run(workdir(tmp_path, "a"), specs, app=app, secrets=store.secrets).code == 0
    # What a run of the same job left earlier and this one does not write goes; _SUCCESS comes back.
    stale = tmp_path / "stale"
    stale.mkdir()
    (stale / "request-999.json").write_bytes(b"{}")
    store.upload(stale, "output/req-1")
    store.rclone(["deletefile", store.location("output/req-1/_SUCCESS")])
    rerun = odahu_run(workdir(tmp_path, "b"), specs, app=app, secrets=store.secrets)
    assert rerun.code == 0, rerun.text
    tree = store.tree("output/req-1")
    assert "request-999.json" not in tree
    assert json_files(tree) == expected_outputs()
    manifest = json.loads(tree["_manifest.json"])
    listed = {entry["file"] for entry in manifest["outputs"]}
    reports = {"_rejected/input/_report.json", "_rejected/output/_report.json"}
    assert set(tree) - {"_SUCCESS", "_claim.json", "_manifest.json"} == listed | reports
