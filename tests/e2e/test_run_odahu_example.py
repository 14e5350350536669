"""ODAHU's published batch-inference example, unchanged, on an S3 server laid out as ODAHU's e2e lays it.

The example's files are copied in ``tests/data/odahu-examples/batch-inference`` (see PROVENANCE.md there).
ODAHU's e2e setup (odahu/odahu-flow 1.6.1, packages/tests/e2e/robot/tests/api/resources/batch/setup/
batch_setup_cleanup.sh) uploads ``input`` to ``<bucket>/test-data/batch_job_data/input`` and ``model`` and
``model.tar.gz`` under ``<bucket>/output/test-data/batch_job_data/``: the ``models-output`` connection points
at ``<bucket>/output``, the model paths are relative to it and the job's data paths replace it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler.cli import main
from tests.e2e.test_run_support import Store, odahu_run, s3_store
from tests.support.servers import MotoS3Server

pytestmark = pytest.mark.e2e

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "odahu-examples" / "batch-inference"
MANIFESTS = EXAMPLE / "manifests"


def lay_out(store: Store) -> None:
    """What batch_setup_cleanup.sh's ``copy_to_cluster_bucket`` calls put in the bucket."""
    store.upload(EXAMPLE / "input", "test-data/batch_job_data/input")
    store.upload(EXAMPLE / "model", "output/test-data/batch_job_data/model")
    store.upload(EXAMPLE / "model.tar.gz", "output/test-data/batch_job_data/model.tar.gz")


def spec_folder(tmp_path: Path, store: Store, variant: str) -> Path:
    """ODAHU's ``models-output`` connection in ODAHU's API shape (its keys in a Secret), and the service's
    manifest, byte for byte."""
    folder = tmp_path / "specs"
    folder.mkdir()
    spec = {**store.connection, "uri": store.connection["uri"] + "/output"}
    (folder / "connection.yaml").write_text(
        json.dumps({"kind": "Connection", "id": "models-output", "spec": spec})
    )
    service = MANIFESTS / f"inferenceservice{variant}.yaml"
    (folder / service.name).write_bytes(service.read_bytes())
    return folder


@pytest.mark.parametrize("variant", ["", "-packed"])
def test_odahu_example_runs_unchanged(
    tmp_path: Path, s3_server: MotoS3Server, variant: str, backend: str
) -> None:
    store = s3_store(s3_server, name="models-output")
    lay_out(store)
    job_file = MANIFESTS / f"inferencejob{variant}.yaml"
    specs = spec_folder(tmp_path, store, variant)
    # The manifests validate and compile for a cluster as they are.
    assert main(["validate", str(specs), str(job_file)]) == 0
    deploy = str(tmp_path / "deploy")
    assert main(["compile", str(specs), str(job_file), "--out", deploy, "--target", backend]) == 0
    result = odahu_run(
        tmp_path,
        specs,
        job_name=None,
        app=EXAMPLE / "predictor",
        secrets=store.secrets,
        extra=["--job-file", str(job_file)],
        target=backend,
    )
    assert result.code == 0, result.text
    # The job has no requestId: the run's own id names the one request folder.
    runs = {name.split("/", 1)[0] for name in store.files(f"test-data/output{variant}")}
    assert len(runs) == 1, runs
    tree = store.tree(f"test-data/output{variant}/{runs.pop()}")
    expected = json.loads((EXAMPLE / "output" / "response0.json").read_text())
    produced = json.loads(tree["response0.json"])
    # The example's expected output, plus what a strict V2 response carries, filled from the model's metadata.
    assert produced == {"model_name": "multiplier", "model_version": "1", **expected}
    assert not [name for name in tree if name.startswith("_rejected/output/") and name.endswith("0.json")]
    assert tree["_SUCCESS"] == b""
    report = json.loads(tree["_rejected/output/_report.json"])
    assert report["rejected"] == 0
    assert report["missing"] == []
    warned = {w["message"] for entry in report["warnings"] for w in entry["warnings"]}
    assert "filled model_name 'multiplier', model_version '1' from the model" in warned
    assert "paired with request request.json by id 'custom'" in warned
