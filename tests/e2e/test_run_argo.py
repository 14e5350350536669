"""What only the Argo documents carry, end to end: the Workflow's ``activeDeadlineSeconds`` and a job's
resources as the ``podSpecPatch`` of its pod (against moto S3 on 127.0.0.1, judged in storage)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_run_storage import check_success
from tests.e2e.test_run_support import (
    EXAMPLE,
    app_folder,
    input_folder,
    job,
    odahu_run,
    s3_store,
    service,
    write_specs,
)
from tests.support.servers import MotoS3Server

pytestmark = pytest.mark.e2e

# A predictor that never finishes in time (bounded: the run's deadline stops it first).
STUCK = "import time\ntime.sleep(120)\n"


def test_the_workflows_deadline_stops_the_run(tmp_path: Path, s3_server: MotoS3Server) -> None:
    """Also: without --target, the project's ``BatchSettings.backend`` chooses the documents that run."""
    store = s3_store(s3_server)
    store.upload(input_folder(), "input")
    store.upload(EXAMPLE / "model", "models/multiplier")
    settings = {"backend": "argo"}
    specs = write_specs(tmp_path / "specs", [store], service(), [job(timeout="3s")], settings=settings)
    result = odahu_run(tmp_path, specs, app=app_folder(tmp_path, STUCK), secrets=store.secrets)
    assert result.code == 1, result.text
    assert "step user-container timed out" in result.out, result.out
    assert "the Workflow's activeDeadlineSeconds of 3s" in result.out
    assert store.files("output") == []


def test_a_jobs_resources_reach_its_user_container_as_the_pod_spec_patch(
    tmp_path: Path, s3_server: MotoS3Server
) -> None:
    store = s3_store(s3_server)
    store.upload(input_folder(), "input")
    store.upload(EXAMPLE / "model", "models/multiplier")
    resources = {"limits": {"cpu": "3", "memory": "1Gi"}}
    specs = write_specs(tmp_path / "specs", [store], service(), [job(resources=resources)])
    result = odahu_run(
        tmp_path, specs, app=app_folder(tmp_path), secrets=store.secrets, target="argo", extra=["-v"]
    )
    check_success(store, result.text, result.code)
    assert (
        "note: container user-container gets the resources {'limits': {'cpu': '3', 'memory': '1Gi'}}"
        in result.out
    ), result.out
