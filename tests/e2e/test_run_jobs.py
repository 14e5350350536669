"""``odahu-batch run`` end to end: baked models, job overrides, webhook bodies and job files, invalid input,
failing and misbehaving predictors, and feedback records at a real HTTP sink."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.test_run_support import (
    BAKED,
    EXAMPLE,
    SERVICE,
    app_folder,
    baked_app,
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
from tests.support.servers import FluentdSink, HttpSink, MotoS3Server

pytestmark = pytest.mark.e2e


def test_baked_model_and_job_overrides(tmp_path: Path, s3_server: MotoS3Server) -> None:
    data = s3_store(s3_server)
    results = local_store(tmp_path / "results", name="results")
    data.upload(input_folder(), "input")
    data.upload(input_folder(), "other-input")
    overridden = job(
        dataSource={"connection": "data", "path": "other-input"},
        outputDestination={"connection": "results", "path": "scored"},
    )
    svc = service(model=BAKED, allowed=["results"])
    specs = write_specs(tmp_path / "specs", [data, results], svc, [overridden])
    result = odahu_run(tmp_path, specs, app=baked_app(tmp_path), secrets=data.secrets)
    assert result.code == 0, result.text
    assert "sync-model" not in result.statuses()
    assert json_files(results.tree("scored/req-1")) == expected_outputs()
    assert (tmp_path / "results" / "scored" / "req-1" / "_SUCCESS").exists()
    assert data.files("output") == []


def test_baked_model_without_bind_says_what_to_bind(tmp_path: Path) -> None:
    store = local_store(tmp_path / "store")
    store.upload(input_folder(), "input")
    specs = write_specs(tmp_path / "specs", [store], service(model=BAKED), [job()])
    result = odahu_run(tmp_path, specs)
    assert result.code == 1
    assert "the user step refers to /opt/app/predictor.py" in result.err
    assert "--bind HOST_DIR:/opt/app" in result.err


def test_webhook_body_from_stdin(tmp_path: Path, backend: str) -> None:
    store = local_store(tmp_path / "store")
    store.upload(input_folder(), "2026-11")
    store.upload(EXAMPLE / "model", "models/multiplier")
    specs = write_specs(tmp_path / "specs", [store], service())
    body = {
        "spec": {
            "inferenceServiceId": SERVICE,
            "dataSource": {"connection": "data", "path": "2026-11"},
            "outputDestination": {"connection": "data", "path": "hooked"},
            "requestId": "wh-7",
        }
    }
    result = odahu_run(
        tmp_path,
        specs,
        job_name=None,
        app=app_folder(tmp_path),
        stdin=json.dumps(body),
        extra=["--webhook-body", "-"],
        target=backend,
    )
    assert result.code == 0, result.text
    assert json_files(store.tree("hooked/wh-7")) == expected_outputs()
    written = list((tmp_path / "runs" / ".jobs").glob("*.yaml"))
    assert len(written) == 1
    assert "inferenceServiceId: multiplier" in written[0].read_text()


def test_job_file(tmp_path: Path, backend: str) -> None:
    store = local_store(tmp_path / "store")
    store.upload(input_folder(), "input")
    store.upload(EXAMPLE / "model", "models/multiplier")
    specs = write_specs(tmp_path / "specs", [store], service())
    job_file = tmp_path / "job.yaml"
    job_file.write_text(
        json.dumps({"kind": "InferenceJob", "spec": {"inferenceServiceId": SERVICE, "requestId": "file-1"}})
    )
    result = odahu_run(
        tmp_path,
        specs,
        job_name=None,
        app=app_folder(tmp_path),
        extra=["--job-file", str(job_file)],
        target=backend,
    )
    assert result.code == 0, result.text
    assert json_files(store.tree("output/file-1")) == expected_outputs()


def seed_local(tmp_path: Path, extra_inputs: dict[str, bytes]) -> Path:
    store = local_store(tmp_path / "store")
    store.upload(input_folder(), "input")
    store.upload(EXAMPLE / "model", "models/multiplier")
    for name, body in extra_inputs.items():
        (tmp_path / "store" / "input" / name).write_bytes(body)
    return tmp_path / "store"


INVALID = {
    "bad.json": b'{"inputs": [{"name": "x", "shape": [2], "datatype": "INT32", "data": [1]}]}',
    "notes.txt": b"hi",
}


def test_invalid_inputs_are_rejected_reported_and_uploaded(tmp_path: Path) -> None:
    root = seed_local(tmp_path, INVALID)
    store = local_store(root)
    settings = {"validation": {"maxRejected": 5}}
    specs = write_specs(tmp_path / "specs", [store], service(), [job()], settings=settings)
    result = odahu_run(tmp_path, specs, app=app_folder(tmp_path))
    assert result.code == 0, result.text
    assert "rejected=2" in result.out
    tree = store.tree("output/req-1")
    assert json_files(tree) == expected_outputs()
    assert tree["_rejected/input/bad.json"] == INVALID["bad.json"]
    assert tree["_rejected/input/notes.txt"] == INVALID["notes.txt"]
    report = json.loads(tree["_rejected/input/_report.json"])
    assert "bad.json" in json.dumps(report)
    assert "_SUCCESS" in tree


def test_invalid_input_fails_the_run_by_default_after_its_report_reached_storage(
    tmp_path: Path, s3_server: MotoS3Server
) -> None:
    # Before: validate-input exited 1, Tekton skipped every later step (tektoncd/pipeline v1.15.0
    # cmd/entrypoint/waiter.go ErrSkipPreviousStepFailed) and the report died with the pod's emptyDir.
    store = s3_store(s3_server)
    store.upload(input_folder(), "input")
    store.upload(EXAMPLE / "model", "models/multiplier")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "bad.json").write_bytes(INVALID["bad.json"])
    store.upload(bad, "input")
    specs = write_specs(tmp_path / "specs", [store], service(), [job()])
    result = odahu_run(tmp_path, specs, app=app_folder(tmp_path), secrets=store.secrets)
    assert result.code == 1, result.text
    assert "step sync-output failed (exit 1):" in result.out
    assert "the validation policy failed: input: 1 rejected" in result.out
    assert result.statuses()["validate-input"] == "succeeded"
    tree = store.tree("output/req-1")
    assert tree["_rejected/input/bad.json"] == INVALID["bad.json"]
    report = json.loads(tree["_rejected/input/_report.json"])
    assert report["policy"] == {"passed": False, "rule": "up to 0 rejected"}
    manifest = json.loads(tree["_manifest.json"])
    assert manifest["rejected"]["input"] == ["bad.json"]
    assert manifest["counts"]["input"]["rejected"] == 1
    assert json_files(tree) == expected_outputs(), "the valid requests were answered"
    assert "_SUCCESS" not in tree
    assert "bad.json" in store.files("input"), "the source is never touched"


FAILING = "import sys\nprint('loading the model', file=sys.stderr)\nsys.exit('predictor: model is corrupt')\n"

INVALID_RESPONSE = """\
import os, pathlib
out = pathlib.Path(os.environ["ODAHU_OUTPUT_PATH"])
for request in pathlib.Path(os.environ["ODAHU_INPUT_PATH"]).glob("*.json"):
    (out / request.name).write_text('{"model_name": "multiplier", "outputs": "not a list"}')
"""


def test_failing_predictor_fails_the_run_and_says_why(tmp_path: Path) -> None:
    root = seed_local(tmp_path, {})
    specs = write_specs(tmp_path / "specs", [local_store(root)], service(), [job()])
    result = odahu_run(tmp_path, specs, app=app_folder(tmp_path, FAILING))
    assert result.code == 1
    assert "step user-container failed (exit 1):" in result.out
    assert "predictor: model is corrupt" in result.out
    assert result.statuses()["sync-output"] == "skipped"
    assert not (root / "output").exists()


def test_invalid_response_is_caught_by_validate_output(tmp_path: Path) -> None:
    root = seed_local(tmp_path, {})
    specs = write_specs(tmp_path / "specs", [local_store(root)], service(), [job()])
    result = odahu_run(tmp_path, specs, app=app_folder(tmp_path, INVALID_RESPONSE))
    assert result.code == 1
    assert "step sync-output failed (exit 1):" in result.out
    assert "the validation policy failed: output: " in result.out, result.out
    assert "request-1.json" in store_report(root / "output" / "req-1", "output")
    assert not (root / "output" / "req-1" / "_SUCCESS").exists()


def store_report(folder: Path, kind: str) -> str:
    return (folder / "_rejected" / kind / "_report.json").read_text()


def test_feedback_records_reach_an_http_sink(tmp_path: Path, http_sink: HttpSink) -> None:
    root = seed_local(tmp_path, {})
    settings = {"feedback": {"sink": f"{http_sink.url}/feedback", "onUnreachable": "fail"}}
    specs = write_specs(tmp_path / "specs", [local_store(root)], service(), [job()], settings=settings)
    result = odahu_run(tmp_path, specs, app=app_folder(tmp_path))
    assert result.code == 0, result.text
    events = [json.loads(line) for body in http_sink.bodies for line in body.decode().splitlines()]
    by_tag: dict[str, list[dict[str, object]]] = {}
    for event in events:
        by_tag.setdefault(event["tag"], []).append(event["record"])
    assert sorted(by_tag) == ["request_response", "response_body"]
    requests = {r["request_content"]: r for r in by_tag["request_response"]}
    for path in sorted(input_folder().glob("*.json")):
        record = requests[path.read_text()]
        assert (record["request_id"], record["model_name"], record["model_version"]) == (
            "req-1",
            "multiplier",
            "1",
        )
    responses = [json.loads(str(r["response_content"])) for r in by_tag["response_body"]]
    assert sorted(responses, key=json.dumps) == sorted(expected_outputs().values(), key=json.dumps)


def test_feedback_records_reach_a_fluentd_sink(tmp_path: Path, fluentd_sink: FluentdSink) -> None:
    root = seed_local(tmp_path, {})
    settings = {"feedback": {"sink": f"fluentd://{fluentd_sink.endpoint}", "onUnreachable": "fail"}}
    specs = write_specs(tmp_path / "specs", [local_store(root)], service(), [job()], settings=settings)
    result = odahu_run(tmp_path, specs, app=app_folder(tmp_path))
    assert result.code == 0, result.text
    events = fluentd_sink.wait_for_events(4)
    tags = sorted(event.tag for event in events)
    assert tags == ["request_response", "request_response", "response_body", "response_body"]
    contents = {e.record["request_content"] for e in events if e.tag == "request_response"}
    assert contents == {p.read_text() for p in input_folder().glob("*.json")}
    assert {e.record["request_id"] for e in events} == {"req-1"}


def test_missing_credentials_say_which_secret_to_give(tmp_path: Path, s3_server: MotoS3Server) -> None:
    store = s3_store(s3_server)
    store.upload(input_folder(), "input")
    specs = write_specs(tmp_path / "specs", [store], service(model=BAKED), [job()])
    result = odahu_run(tmp_path, specs, app=baked_app(tmp_path))
    assert result.code == 1
    assert "step configure-rclone failed (exit 1):" in result.out
    assert "hint: step configure-rclone got no value for the optional Secret key(s) " in result.out
    assert "data-credentials/accessKeyID" in result.out
    assert "data-credentials/secretAccessKey" in result.out


HOSTILE = {
    # 230 dimensions of 2^64-1: the element count has over 4,300 digits (a traceback in the check, once).
    "huge-shape.json": json.dumps(
        {"inputs": [{"name": "x", "shape": [230] + [2**64 - 1] * 229, "datatype": "INT8", "data": [1]}]}
    ).encode(),
    # Valid, but over the run's maxFileBytes: refused unread.
    "too-big.json": json.dumps(
        {"inputs": [{"name": "x", "shape": [3000], "datatype": "INT32", "data": [7] * 3000}]}
    ).encode(),
}


def test_hostile_inputs_are_rejected_with_their_reason_and_kept_in_storage(
    tmp_path: Path, s3_server: MotoS3Server
) -> None:
    """Through real S3: the run finishes; storage keeps each hostile file under _rejected/ with its rule."""
    data = s3_store(s3_server)
    staged = tmp_path / "staged"
    staged.mkdir()
    for source in input_folder().iterdir():
        (staged / source.name).write_bytes(source.read_bytes())
    for name, body in HOSTILE.items():
        (staged / name).write_bytes(body)
    data.upload(staged, "input")
    data.upload(EXAMPLE / "model", "models/multiplier")
    settings = {"validation": {"maxRejected": 2, "maxFileBytes": 8192}}
    specs = write_specs(tmp_path / "specs", [data], service(), [job()], settings=settings)
    result = odahu_run(tmp_path, specs, app=app_folder(tmp_path), secrets=data.secrets)
    assert result.code == 0, result.text
    tree = data.tree("output/req-1")
    assert json_files(tree) == expected_outputs()
    assert "_SUCCESS" in tree
    for name, body in HOSTILE.items():
        assert tree[f"_rejected/input/{name}"] == body
    report = json.loads(tree["_rejected/input/_report.json"])
    rules = {entry["file"]: entry["errors"][0] for entry in report["files"]}
    assert rules["huge-shape.json"]["rule"] == "R15"
    assert "a 14664-bit integer" in rules["huge-shape.json"]["message"]
    assert rules["too-big.json"]["rule"] == "R0"
    assert (
        "larger than the per-file limit 8192 (maxFileBytes): refused unread"
        in rules["too-big.json"]["message"]
    )


# A predictor that also writes the run's results (Tekton mounts /tekton/results in every step).
FORGING = (
    "import pathlib, runpy; "
    "pathlib.Path('$(results.input-summary.path)').write_text('{\"checked\": 999, \"rejected\": 0}'); "
    "pathlib.Path('$(results.output-summary.path)').write_text('{\"checked\": 999, \"rejected\": 0}'); "
    "runpy.run_path('/opt/app/predictor.py', run_name='__main__')"
)


def test_the_counts_a_run_reports_come_from_its_own_steps(tmp_path: Path) -> None:
    # Before: validate-input and validate-output wrote the counts, the user step ran in between or after,
    # and Tekton keeps the last value a step wrote (tektoncd/pipeline v1.15.0 pkg/pod/status.go).
    root = seed_local(tmp_path, {"bad.json": INVALID["bad.json"]})
    settings = {"validation": {"maxRejected": 5}}
    svc = service(args=("-c", FORGING))
    specs = write_specs(tmp_path / "specs", [local_store(root)], svc, [job()], settings=settings)
    result = odahu_run(tmp_path, specs, app=app_folder(tmp_path))
    assert result.code == 0, result.text
    results = {key: json.loads(value) for key, value in result.summary()["results"].items()}
    assert results["input-summary"]["checked"] == len(expected_outputs()) + 1
    assert results["input-summary"]["rejected"] == 1
    assert results["output-summary"]["checked"] == len(expected_outputs())
    manifest = json.loads((root / "output" / "req-1" / "_manifest.json").read_bytes())
    assert results["input-summary"]["rejected"] == manifest["counts"]["input"]["rejected"]
