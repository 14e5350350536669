"""The executor running small hand-written Tasks of shell and Python steps."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from compiler.localrun import runner
from compiler.localrun.errors import LocalRunError
from compiler.localrun.progress import FileCount, Progress
from compiler.localrun.secrets import SecretStore
from tests.unit.test_localrun_support import documents, make_input, mount, run, step

SECRETS = SecretStore({"creds": {"token": "s3cr3t-token-value"}})


def test_job_runs_every_step_in_order(tmp_path: Path) -> None:
    source, dest = make_input(tmp_path / "src"), tmp_path / "dest"
    dest.mkdir()
    report, out = run(documents(source, dest), tmp_path, secrets=SECRETS, keep=True)
    assert report.exit_code == 0, out
    assert sorted(p.name for p in dest.iterdir()) == ["_SUCCESS", "r0.txt", "r1.txt", "r2.txt"]
    assert (dest / "r1.txt").read_text() == "RECORD 1\n"
    rundir = report.rundir
    assert rundir == tmp_path / "runs" / "upper-job-1"
    # Logs per step; the user step read the inputs the validate step wrote.
    names = ["configure", "sync", "validate", "user-container", "publish"]
    assert sorted(p.stem for p in (rundir / "logs").iterdir()) == sorted(names)
    assert "synced 3 files" in (rundir / "logs" / "sync.log").read_text()
    assert "validated for request req-42" in (rundir / "logs" / "validate.log").read_text()
    assert "configured <unset>" in (rundir / "logs" / "configure.log").read_text()
    # Results collected: the Task's result file, the summary, the table's counts.
    assert json.loads((rundir / "results" / "input-summary").read_text()) == {"files": 3, "rejected": 0}
    summary = json.loads((rundir / "summary.json").read_text())
    assert summary["status"] == "Succeeded"
    assert [s["name"] for s in summary["steps"]] == names
    assert summary["steps"][2]["results"] == {"input-summary": '{"files": 3, "rejected": 0}'}
    assert re.search(r"\nvalidate +succeeded ", out)
    assert "files=3 rejected=0" in out
    assert f"run succeeded; run directory: {rundir}/" in out
    # Volumes are folders of the run directory, kept with --keep.
    assert sorted(p.name for p in (rundir / "volumes" / "input").iterdir()) == ["r0.txt", "r1.txt", "r2.txt"]
    assert (rundir / "volumes" / "odahu-runtime" / "copy.py").is_file()


def test_cpu_seconds_per_step_count_the_children_it_waited_for(tmp_path: Path) -> None:
    burn = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\n"
    steps = [
        # The CPU is burnt by a child of the step's shell, as rclone under a helper program.
        step("burn", command=["sh", "-c", '"$0" -c "$1"; echo done', sys.executable, burn]),
        step("idle", command=["sleep", "0.4"]),
    ]
    report, out = run(documents(tmp_path, tmp_path, steps=steps), tmp_path)
    assert report.exit_code == 0, out
    summary = json.loads((report.rundir / "summary.json").read_text())
    cpu = {s["name"]: s["cpuSeconds"] for s in summary["steps"]}
    assert cpu["burn"] >= 0.4
    assert cpu["idle"] < 0.2
    assert summary["steps"][1]["durationSeconds"] >= 0.4


def test_volumes_freed_after_success_without_keep(tmp_path: Path) -> None:
    source, dest = make_input(tmp_path / "src"), tmp_path / "dest"
    dest.mkdir()
    report, _ = run(documents(source, dest), tmp_path, secrets=SECRETS)
    assert report.exit_code == 0
    assert not (report.rundir / "volumes").exists()
    assert (report.rundir / "logs" / "publish.log").exists()


def test_first_failing_step_stops_the_run(tmp_path: Path) -> None:
    docs = documents(make_input(tmp_path / "src"), tmp_path / "dest")
    steps = docs[1]["spec"]["steps"]
    steps[3]["args"] = ["-c", "echo reading model; echo 'no model at /odahu/model' >&2; exit 3"]
    report, out = run(docs, tmp_path, secrets=SECRETS)
    assert report.exit_code == 1
    summary = json.loads((report.rundir / "summary.json").read_text())
    statuses = [(s["name"], s["status"], s["exitCode"]) for s in summary["steps"]]
    assert statuses[3:] == [("user-container", "failed", 3), ("publish", "skipped", None)]
    assert "step user-container failed (exit 3):" in out
    assert "no model at /odahu/model" in out
    assert not (tmp_path / "dest").exists()
    assert not (report.rundir / "logs" / "publish.log").exists()
    # A failed run keeps its volumes for inspection.
    assert (report.rundir / "volumes" / "input" / "r0.txt").exists()


def test_on_error_continue_goes_on(tmp_path: Path) -> None:
    docs = documents(tmp_path, tmp_path, steps=[step("flaky", command=["false"], onError="continue")])
    docs[1]["spec"]["steps"].append(step("after", command=["true"]))
    report, out = run(docs, tmp_path)
    assert report.exit_code == 0, out
    assert "failed (ignored)" in out


def test_only_an_exit_code_is_ignored_by_on_error_continue(tmp_path: Path) -> None:
    """Tekton's entrypoint (tektoncd/pipeline pkg/entrypoint/entrypointer.go, Go) writes a clean post
    file for onError: continue only on an ExitError; a timeout writes the .err post file whatever
    onError says, and cmd/entrypoint/waiter.go then skips every later step
    (ErrSkipPreviousStepFailed)."""
    steps = [
        step("flaky", command=["false"], onError="continue"),
        step("slow", command=["sleep", "30"], timeout="300ms", onError="continue"),
        step("never", command=["true"]),
    ]
    report, out = run(documents(tmp_path, tmp_path, steps=steps), tmp_path)
    assert report.exit_code == 1, out
    summary = json.loads((report.rundir / "summary.json").read_text())
    assert [s["status"] for s in summary["steps"]] == ["failed (ignored)", "timed out", "skipped"]


def test_taskrun_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    script = f"sleep 60 & echo $! > {pid_file}; wait"
    docs = documents(tmp_path, tmp_path, steps=[step("slow", command=["sh", "-c", script])], timeout="1s")
    docs[1]["spec"]["steps"].append(step("never", command=["true"]))
    started = time.monotonic()
    report, out = run(docs, tmp_path)
    assert time.monotonic() - started < 15
    assert report.exit_code == 1
    assert "step slow timed out (killed after" in out
    assert "(the TaskRun's timeout of 1s)" in out
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)
    summary = json.loads((report.rundir / "summary.json").read_text())
    assert summary["steps"][1]["status"] == "skipped"


def test_step_timeout(tmp_path: Path) -> None:
    docs = documents(tmp_path, tmp_path, steps=[step("slow", command=["sleep", "30"], timeout="500ms")])
    report, out = run(docs, tmp_path)
    assert report.exit_code == 1
    assert "(its own timeout of 0.5s)" in out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose; it is reaped by whoever adopted it.
    try:
        return Path(f"/proc/{pid}/status").read_text().find("State:\tZ") < 0
    except OSError:
        return False


def test_step_results_reach_later_steps(tmp_path: Path) -> None:
    steps = [
        step(
            "count",
            command=["sh", "-c", 'printf 7 > "$0"', "$(step.results.n.path)"],
            results=[{"name": "n"}],
        ),
        step(
            "use",
            command=["sh", "-c", 'echo "got $N"'],
            env=[{"name": "N", "value": "$(steps.count.results.n)"}],
        ),
    ]
    report, out = run(documents(tmp_path, tmp_path, steps=steps), tmp_path, keep=True)
    assert report.exit_code == 0, out
    assert (report.rundir / "logs" / "use.log").read_text() == "got 7\n"
    assert (report.rundir / "steps" / "step-count" / "results" / "n").read_text() == "7"


def test_results_above_the_termination_message_limit_fail(tmp_path: Path) -> None:
    script = 'head -c 5000 /dev/zero | tr "\\0" x > "$0"'
    steps = [step("big", command=["sh", "-c", script, "$(results.output-summary.path)"])]
    report, out = run(documents(tmp_path, tmp_path, steps=steps), tmp_path)
    assert report.exit_code == 1
    assert "above Tekton's 4096-byte termination message" in out


def test_missing_secret_stops_before_any_step(tmp_path: Path) -> None:
    docs = documents(make_input(tmp_path / "src"), tmp_path / "dest")
    with pytest.raises(LocalRunError) as info:
        run(docs, tmp_path)
    message = str(info.value)
    assert "step configure: env TOKEN needs key 'token' of Secret 'creds'" in message
    assert "--secret creds/token=VALUE" in message
    assert "OPTIONAL_TOKEN" not in message
    assert not (tmp_path / "runs" / "upper-job-1" / "logs" / "configure.log").exists()


def test_secrets_never_printed(tmp_path: Path) -> None:
    docs = documents(tmp_path, tmp_path, steps=[])
    docs[1]["spec"]["steps"] = [
        step(
            "leaky",
            command=["sh", "-c", 'echo "token is $TOKEN"; exit 1'],
            env=[{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}}],
        )
    ]
    report, out = run(docs, tmp_path, secrets=SECRETS, verbose=True)
    assert report.exit_code == 1
    assert "s3cr3t-token-value" not in out
    assert "TOKEN=***" in out
    assert "token is ***" in out
    # The step itself got the value.
    assert "s3cr3t-token-value" in (report.rundir / "logs" / "leaky.log").read_text()


def test_verbose_says_what_is_ignored(tmp_path: Path) -> None:
    docs = documents(tmp_path, tmp_path, steps=[step("one", command=["true"])])
    _, out = run(docs, tmp_path, verbose=True)
    assert "podTemplate.nodeSelector is ignored locally ({'pool': 'gpu'})" in out


def test_step_specs_merge_into_the_step_as_tekton_merges_them(tmp_path: Path) -> None:
    """tektoncd/pipeline pkg/apis/pipeline/v1/merge.go MergeStepsWithSpecs: key by key."""
    user = step(
        "user-container", command=["true"], computeResources={"limits": {"cpu": "1", "memory": "1Gi"}}
    )
    docs = documents(tmp_path, tmp_path, steps=[user])
    _, out = run(docs, tmp_path, verbose=True)
    assert "step user-container gets the resources {'limits': {'cpu': '2', 'memory': '1Gi'}}" in out


def test_step_specs_naming_no_step_fail_as_on_a_cluster(tmp_path: Path) -> None:
    docs = documents(tmp_path, tmp_path, steps=[step("one", command=["true"])])
    docs[2]["spec"]["stepSpecs"] = [{"name": "user-container", "computeResources": {}}]
    with pytest.raises(
        LocalRunError, match="invalid stepSpecs: Task upper-run has no step named user-container"
    ):
        run(docs, tmp_path)


def test_host_environment_does_not_leak_into_steps(tmp_path: Path) -> None:
    environ = {**os.environ, "AWS_CA_BUNDLE": "/nope.pem", "RCLONE_CONFIG_X_TYPE": "s3", "ODAHU_X": "1"}
    docs = documents(tmp_path, tmp_path, steps=[step("env", command=["sh", "-c", "env | sort"])])
    report, _ = run(docs, tmp_path, environ=environ, keep=True)
    seen = (report.rundir / "logs" / "env.log").read_text()
    assert "AWS_CA_BUNDLE" not in seen
    assert "RCLONE_CONFIG_X_TYPE" not in seen
    assert "ODAHU_X" not in seen
    assert "PATH=" in seen


def test_helper_python_is_this_python(tmp_path: Path) -> None:
    steps = [
        step("cmd", command=["python3", "-c", "import sys; print(sys.executable)"]),
        step("abs", command=["/nonexistent/bin/python3", "-c", "print('abs ok')"]),
        step("shebang", script="#!/usr/local/bin/python3 -u\nprint('shebang ok')\n"),
    ]
    environ = {"PATH": "/nonexistent-path", "HOME": str(tmp_path)}
    report, out = run(documents(tmp_path, tmp_path, steps=steps), tmp_path, environ=environ, keep=True)
    assert report.exit_code == 0, out
    logs = report.rundir / "logs"
    assert Path((logs / "cmd.log").read_text().strip()).resolve() == Path(sys.executable).resolve()
    assert (logs / "abs.log").read_text() == "abs ok\n"
    assert (logs / "shebang.log").read_text() == "shebang ok\n"


def test_script_without_shebang_gets_tekton_preamble(tmp_path: Path) -> None:
    steps = [step("sh", script="false\necho not reached\n")]
    report, _ = run(documents(tmp_path, tmp_path, steps=steps), tmp_path)
    assert report.exit_code == 1
    assert "not reached" not in (report.rundir / "logs" / "sh.log").read_text()


def test_program_that_cannot_start(tmp_path: Path) -> None:
    steps = [step("user-container", command=["/no/such/predictor"]), step("after", command=["true"])]
    with pytest.raises(LocalRunError, match="not on this machine's PATH"):
        run(documents(tmp_path, tmp_path, steps=steps), tmp_path)


def test_rerun_starts_from_an_empty_run_directory(tmp_path: Path) -> None:
    steps = [
        step(
            "mark",
            command=["sh", "-c", "ls /odahu/config; touch /odahu/config/mark"],
            volumeMounts=[mount("config", "/odahu/config")],
        )
    ]
    docs = documents(tmp_path, tmp_path, steps=steps)
    first, _ = run(docs, tmp_path, keep=True)
    second, _ = run(docs, tmp_path, keep=True)
    assert first.rundir == second.rundir
    assert "mark" not in (second.rundir / "logs" / "mark.log").read_text()


def test_foreign_folder_is_never_deleted(tmp_path: Path) -> None:
    (tmp_path / "runs" / "upper-job-1").mkdir(parents=True)
    (tmp_path / "runs" / "upper-job-1" / "precious").write_text("keep me")
    with pytest.raises(LocalRunError, match="not a run directory"):
        run(documents(tmp_path, tmp_path, steps=[step("x", command=["true"])]), tmp_path)
    assert (tmp_path / "runs" / "upper-job-1" / "precious").exists()


def test_missing_configmap_is_reported(tmp_path: Path) -> None:
    docs: list[dict[str, Any]] = documents(tmp_path, tmp_path, steps=[step("x", command=["true"])])
    docs = docs[1:]
    with pytest.raises(LocalRunError, match="missing ConfigMap 'odahu-batch-runtime-0123abcd'"):
        run(docs, tmp_path)


class _CtrlC(Progress):
    """Presses Ctrl-C while the first step runs."""

    def update(self, elapsed: float, files: FileCount | None) -> None:
        if elapsed > 0.3:
            raise KeyboardInterrupt


def test_ctrl_c_stops_the_step_and_exits_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "Progress", _CtrlC)
    pid_file = tmp_path / "child.pid"
    steps = [step("slow", command=["sh", "-c", f"sleep 60 & echo $! > {pid_file}; wait"])]
    steps.append(step("never", command=["true"]))
    started = time.monotonic()
    report, out = run(documents(tmp_path, tmp_path, steps=steps), tmp_path)
    assert time.monotonic() - started < 15
    assert report.exit_code == 130
    assert "interrupted" in out
    summary = json.loads((report.rundir / "summary.json").read_text())
    assert [s["status"] for s in summary["steps"]] == ["interrupted", "skipped"]
    deadline = time.monotonic() + 5
    while _alive(int(pid_file.read_text())) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(int(pid_file.read_text()))


SIGTERM_RUN = """
import sys
from pathlib import Path
from tests.unit.test_localrun_support import documents, run, step
tmp = Path(sys.argv[1])
steps = [step("slow", command=["sh", "-c", f"sleep 60 & echo $! > {tmp}/child.pid; wait"])]
report, out = run(documents(tmp, tmp, steps=steps), tmp)
print(out)
sys.exit(report.exit_code)
"""


def test_sigterm_stops_the_step_too(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    proc = subprocess.Popen(
        [sys.executable, "-c", SIGTERM_RUN, str(tmp_path)], env=env, stdout=subprocess.PIPE, text=True
    )
    pid_file = tmp_path / "child.pid"
    deadline = time.monotonic() + 30
    while not (pid_file.exists() and pid_file.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pid_file.exists(), "the step did not start"
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 130, out
    assert "interrupted" in out
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


# The signal lands right after the fork, before the executor holds the step's process: under load
# this is where SIGTERM used to turn into an uncaught KeyboardInterrupt (the runner died of SIGINT).
SIGTERM_WHILE_STARTING = """
import os, signal, subprocess, sys
from pathlib import Path
from tests.unit.test_localrun_support import documents, run, step
tmp = Path(sys.argv[1])
real = subprocess.Popen
class Popen(real):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "sleep 60" in " ".join(map(str, args[0])):
            os.kill(os.getpid(), signal.SIGTERM)
subprocess.Popen = Popen
steps = [step("slow", command=["sh", "-c", f"sleep 60 & echo $! > {tmp}/child.pid; wait"])]
report, out = run(documents(tmp, tmp, steps=steps), tmp)
print(out)
sys.exit(report.exit_code)
"""


def test_sigterm_while_the_step_starts_stops_it(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    done = subprocess.run(
        [sys.executable, "-c", SIGTERM_WHILE_STARTING, str(tmp_path)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 130, done.stdout
    assert "interrupted" in done.stdout
    pid_file = tmp_path / "child.pid"
    deadline = time.monotonic() + 5
    while not (pid_file.exists() and pid_file.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int(pid_file.read_text())
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_failed_step_names_the_optional_secrets_it_did_not_get(tmp_path: Path) -> None:
    ref = {"secretKeyRef": {"name": "data-credentials", "key": "accessKeyID", "optional": True}}
    steps = [
        step(
            "configure-rclone",
            command=["sh", "-c", 'test -n "${KEY:-}" || { echo "KEY is missing or empty" >&2; exit 1; }'],
            env=[{"name": "KEY", "valueFrom": ref}],
        )
    ]
    report, out = run(documents(tmp_path, tmp_path, steps=steps), tmp_path)
    assert report.exit_code == 1
    assert "KEY is missing or empty" in out
    assert (
        "hint: step configure-rclone got no value for the optional Secret key(s) "
        "data-credentials/accessKeyID (env KEY); "
        "give them with --secret NAME/KEY=VALUE or --secrets-file FILE"
    ) in out
    report, out = run(
        documents(tmp_path, tmp_path, steps=steps),
        tmp_path,
        secrets=SecretStore({"data-credentials": {"accessKeyID": "AKIA-x"}}),
    )
    assert report.exit_code == 0, out


def test_rerun_keeps_the_previous_runs_logs(tmp_path: Path) -> None:
    steps = [step("say", command=[sys.executable, "-c", "import os; print('run of pid', os.getpid())"])]
    docs = documents(tmp_path, tmp_path, steps=steps)
    first, _ = run(docs, tmp_path, keep=True)
    first_log = (first.rundir / "logs" / "say.log").read_text()
    second, _ = run(docs, tmp_path, keep=True)
    assert (second.rundir / "history" / "1" / "logs" / "say.log").read_text() == first_log
    assert json.loads((second.rundir / "history" / "1" / "summary.json").read_text())["status"] == "Succeeded"
    assert (second.rundir / "logs" / "say.log").read_text() != first_log


def test_history_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from compiler.localrun import rundir

    monkeypatch.setattr(rundir, "KEEP_RUNS", 2)
    docs = documents(tmp_path, tmp_path, steps=[step("x", command=["true"])])
    for _ in range(4):
        report, _ = run(docs, tmp_path, keep=True)
    assert sorted(p.name for p in (report.rundir / "history").iterdir()) == ["2", "3"]
