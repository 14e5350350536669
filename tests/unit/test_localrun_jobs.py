"""Choosing the job to run: by name, from a job file, from an ODAHU webhook body."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler.cli import main
from compiler.localrun.errors import LocalRunError
from compiler.localrun.jobs import job_name_in_file, taskrun_of_job, webhook_job, write_job
from compiler.naming import LABEL_JOB, derived_job_id

REPO = Path(__file__).resolve().parents[2]
MULTIPLIER_SPECS = REPO / "examples" / "multiplier" / "specs"
SPEC = {"inferenceServiceId": "multiplier", "dataSource": {"connection": "data", "path": "in/2026"}}


def test_webhook_body_becomes_an_odahu_job() -> None:
    doc = webhook_job(json.dumps({"spec": SPEC}), "body.json")
    assert doc == {"kind": "InferenceJob", "id": derived_job_id("multiplier", SPEC), "spec": SPEC}
    assert webhook_job(json.dumps({"id": "mine", "spec": SPEC}), "b")["id"] == "mine"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{", "not JSON"),
        ("[]", "expected a JSON object"),
        ('{"spec": 1}', "expected a JSON object"),
        ('{"spec": {}, "extra": 1}', "unknown key\\(s\\) extra"),
        ('{"kind": "InferenceService", "spec": {}}', "not a InferenceService"),
        ('{"spec": {"dataSource": {}}}', "inferenceServiceId is missing"),
        (
            '{"spec": {"inferenceServiceId": "s", "replaceOutput": true}}',
            "replaceOutput cannot be overridden",
        ),
    ],
)
def test_bad_webhook_bodies(body: str, message: str) -> None:
    with pytest.raises(LocalRunError, match=message):
        webhook_job(body, "body.json")


def test_written_job_reads_back(tmp_path: Path) -> None:
    doc = webhook_job(json.dumps({"spec": SPEC}), "b")
    path = write_job(doc, tmp_path / ".jobs")
    assert path.name == f"{doc['id']}.yaml"
    assert job_name_in_file(path) == doc["id"]


def test_job_names_in_files(tmp_path: Path) -> None:
    k8s = tmp_path / "k8s.yaml"
    k8s.write_text(
        "apiVersion: batch.odahu.org/v1alpha1\nkind: InferenceJob\nmetadata: {name: nightly}\nspec: {}\n"
    )
    assert job_name_in_file(k8s) == "nightly"
    odahu = tmp_path / "odahu.yaml"
    odahu.write_text(json.dumps({"kind": "InferenceJob", "spec": SPEC}))
    assert job_name_in_file(odahu) == derived_job_id("multiplier", SPEC)
    two = tmp_path / "two.yaml"
    two.write_text(f"{k8s.read_text()}---\n{k8s.read_text()}")
    with pytest.raises(LocalRunError, match="exactly one InferenceJob, found 2"):
        job_name_in_file(two)
    with pytest.raises(LocalRunError, match="cannot read"):
        job_name_in_file(tmp_path / "missing.yaml")


def test_taskrun_of_job() -> None:
    runs = [
        {"kind": "TaskRun", "metadata": {"name": "nightly-0a1b2c3d", "labels": {LABEL_JOB: "nightly"}}},
        {"kind": "TaskRun", "metadata": {"name": "weekly-0a1b2c3d", "labels": {LABEL_JOB: "weekly"}}},
        {"kind": "Task", "metadata": {"name": "nightly"}},
    ]
    assert taskrun_of_job(runs, "nightly") == "nightly-0a1b2c3d"
    assert taskrun_of_job(runs, "weekly-0a1b2c3d") == "weekly-0a1b2c3d"
    with pytest.raises(
        LocalRunError, match="no job named 'nighty' in the specs \\(jobs: nightly, weekly\\); did you mean"
    ):
        taskrun_of_job(runs, "nighty")


def test_cli_unknown_job_lists_the_jobs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", str(MULTIPLIER_SPECS), "--job", "multiplier-sampel", "--workdir", str(tmp_path)])
    assert code == 1
    err = capsys.readouterr().err
    assert "no job named 'multiplier-sampel'" in err
    assert "did you mean 'multiplier-sample'?" in err
    assert not any(tmp_path.iterdir())


def test_cli_spec_errors_are_diagnostics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"spec": {"inferenceServiceId": "multiplyer"}}))
    code = main(
        ["run", str(MULTIPLIER_SPECS), "--webhook-body", str(body), "--workdir", str(tmp_path / "runs")]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "multiplyer" in err
    assert "error" in err
    assert "in the specs" in err


def test_cli_bad_bind_and_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["run", str(MULTIPLIER_SPECS), "--job", "multiplier-sample", "--workdir", str(tmp_path)]
    assert main([*base, "--bind", "/nope:/opt/app"]) == 1
    assert "--bind '/nope:/opt/app': /nope does not exist" in capsys.readouterr().err
    assert main([*base, "--secret", "oops=hunter22"]) == 1
    err = capsys.readouterr().err
    assert "expected NAME/KEY=VALUE" in err
    assert "hunter22" not in err


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"id": "../../../victim/all", "spec": SPEC}, "is not a job name"),
        ({"id": "/etc/passwd", "spec": SPEC}, "is not a job name"),
        ({"id": "Upper", "spec": SPEC}, "is not a job name"),
        ({"id": 7, "spec": SPEC}, "is not a job name"),
        ({"id": "a" * 64, "spec": SPEC}, "is not a job name"),
        ({"spec": {**SPEC, "requestId": "$(HOME)"}}, "spec.requestId '\\$\\(HOME\\)': expected letters"),
        ({"spec": {**SPEC, "requestId": "--sink"}}, "spec.requestId '--sink'"),
        ({"spec": {**SPEC, "requestId": 5}}, "expected a string"),
    ],
)
def test_webhook_ids_are_checked_before_anything_is_written(body: dict[str, object], message: str) -> None:
    with pytest.raises(LocalRunError, match=message):
        webhook_job(json.dumps(body), "body.json")


def test_a_traversing_webhook_id_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The id names a file under <workdir>/.jobs: '../' overwrote a spec before the id was refused."""
    victim = tmp_path / "victim" / "all.yaml"
    victim.parent.mkdir()
    victim.write_text("keep: me\n")
    workdir = tmp_path / "a" / "b" / "runs"
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"id": "../../../victim/all", "spec": {"inferenceServiceId": "multiplier"}}))
    code = main(["run", str(MULTIPLIER_SPECS), "--webhook-body", str(body), "--workdir", str(workdir)])
    assert code == 1
    assert "is not a job name" in capsys.readouterr().err
    assert victim.read_text() == "keep: me\n"
    assert not (tmp_path / "a").exists(), "nothing written, not even the work dir"
    with pytest.raises(LocalRunError, match="cannot name a file"):
        write_job({"kind": "InferenceJob", "id": "../x", "spec": SPEC}, tmp_path / ".jobs")
    assert not (tmp_path / ".jobs").exists()
