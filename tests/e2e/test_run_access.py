"""What a webhook call may name, run locally against moto S3 from the shared table
(tests/support/access_table.py): a refused body changes nothing in any bucket; an allowed one lands
where it says. Judged by the buckets, never by the run folder.

The table's ``other`` bucket is another team's: its folder ``private/`` holds valid requests and a file
that fails validation, so a run reading it with ``maxRejected > 0`` would copy it into the caller's
output under ``_rejected/input/``, and a run uploading to ``other:/private/`` would sync over it.
"""

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
    local_store,
    odahu_run,
    s3_store,
    service,
    write_specs,
)
from tests.support.access_table import (
    CASE_IDS,
    CASES,
    CONNECTIONS,
    MODEL_PATH,
    REQUEST_ID,
    Case,
    documents,
    s3_connection,
)
from tests.support.servers import MotoS3Server

pytestmark = pytest.mark.e2e


def _stores(tmp_path: Path, server: MotoS3Server) -> dict[str, Store]:
    stores = {name: s3_store(server, name) for name in CONNECTIONS}
    for name in ("data", "extra", "shared"):
        stores[name].upload(input_folder(), "input")
    stores["models"].upload(EXAMPLE / "model", MODEL_PATH)
    private = tmp_path / "team-b"
    private.mkdir()
    for source in sorted(input_folder().glob("*.json")):
        (private / source.name).write_bytes(source.read_bytes())
    (private / "not-a-request.json").write_text('{"their": "raw data"}')
    stores["other"].upload(private, "private")
    return stores


def _specs(folder: Path, stores: dict[str, Store], *, plain: bool = False) -> Path:
    """The table's project; ``plain``: without allowedConnections and readOnly (the service's defaults)."""
    folder.mkdir()
    docs = documents(lambda name: stores[name].connection, {"validation": {"maxRejected": 100}})
    for item in docs if plain else ():
        item["spec"].pop("readOnly", None)
        item["spec"].pop("triggers", None)
    (folder / "specs.yaml").write_text("---\n".join(json.dumps(d) + "\n" for d in docs))
    return folder


ATTACKS = [pytest.param(c, id=i) for c, i in zip(CASES, CASE_IDS, strict=True) if "another team" in c.name]


@pytest.mark.parametrize("case", ATTACKS)
def test_the_attacks_fail_on_a_service_that_allows_nothing_more(
    tmp_path: Path, s3_server: MotoS3Server, case: Case
) -> None:
    """The issue's two attacks on a project that uses none of the new fields: before the rule, the
    first synced over the other team's folder, the second copied its raw file under _rejected/."""
    _check(tmp_path, s3_server, case, plain=True)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_a_webhook_body_runs_only_with_connections_its_service_allows(
    tmp_path: Path, s3_server: MotoS3Server, case: Case
) -> None:
    _check(tmp_path, s3_server, case, plain=False)


def _check(tmp_path: Path, s3_server: MotoS3Server, case: Case, *, plain: bool) -> None:
    stores = _stores(tmp_path, s3_server)
    before = {name: store.tree("") for name, store in stores.items()}
    secrets = {k: v for store in stores.values() for k, v in store.secrets.items()}
    result = odahu_run(
        tmp_path,
        _specs(tmp_path / "specs", stores, plain=plain),
        job_name=None,
        app=app_folder(tmp_path),
        secrets=secrets,
        stdin=json.dumps({"spec": case.spec()}),
        extra=["--webhook-body", "-"],
    )
    after = {name: store.tree("") for name, store in stores.items()}
    assert after["other"] == before["other"]  # the other team's files, untouched, whatever the case
    if not case.allowed:
        assert result.code == 1, result.text
        assert f"error[{case.code}]" in result.err
        assert "Traceback" not in result.text
        assert after == before  # refused before anything touched storage
        return
    assert result.code == 0, result.text
    connection, path = case.location("outputDestination")
    folder = f"{path}/{REQUEST_ID}".lstrip("/")
    assert json_files(stores[connection].tree(folder)) == expected_outputs()
    assert "_SUCCESS" in stores[connection].files(folder)
    rejected = [f for f in stores[connection].files(folder) if f.startswith("_rejected/")]
    assert [f for f in rejected if not f.endswith("/_report.json")] == []  # nobody's raw files


def test_an_unrelated_connections_missing_secret_never_blocks_a_run(tmp_path: Path) -> None:
    """Before, every Task configured every connection, so the Secret of a connection this run never
    uses, missing here, failed it at configure-rclone."""
    store = local_store(tmp_path / "store")
    store.upload(input_folder(), "input")
    store.upload(EXAMPLE / "model", "models/multiplier")
    unrelated = Store("team-b", s3_connection("team-b"), "")
    specs = write_specs(tmp_path / "specs", [store, unrelated], service(), [job()])
    result = odahu_run(tmp_path, specs, app=app_folder(tmp_path))  # no Secret at all
    assert result.code == 0, result.text
    assert json_files(store.tree("output/req-1")) == expected_outputs()
