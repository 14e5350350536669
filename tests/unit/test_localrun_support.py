"""Hand-written Task / TaskRun / ConfigMap documents shaped like the compiled ones, for the local runner.

The steps are small shell and Python programs: configure (Python from a ConfigMap volume, a secret in
its env), sync (``sh -c`` with env vars only), validate (a script with a Python shebang), the user step
(``command`` + ``args``) and publish (copies the output to a destination folder given as a param).
"""

from __future__ import annotations

import copy
import io
from pathlib import Path
from typing import Any

from compiler.localrun import RunOptions, RunReport, run_documents

RUNTIME_COPY = """\
import json, os, shutil, sys
src, dst, result = sys.argv[1:4]
names = sorted(os.listdir(src))
for name in names:
    shutil.copy(os.path.join(src, name), os.path.join(dst, name))
with open(result, "w") as out:
    json.dump({"files": len(names), "rejected": 0}, out)
"""

RUNTIME_CONFIGURE = """\
import hashlib, os, sys
with open(sys.argv[1], "w") as out:
    out.write("token-sha256=" + hashlib.sha256(os.environ["TOKEN"].encode()).hexdigest() + "\\n")
print("configured", os.environ.get("OPTIONAL_TOKEN", "<unset>"))
"""

SYNC_SCRIPT = (
    'set -eu\nmkdir -p "$DEST"\ncp -R "$SOURCE"/. "$DEST"/\necho "synced $(ls "$DEST" | wc -l) files"\n'
)

VALIDATE_SCRIPT = """\
#!/usr/bin/env python3
import subprocess, sys
subprocess.run([sys.executable, "/odahu/runtime/copy.py", "/odahu/raw-input", "/odahu/input",
                "$(results.input-summary.path)"], check=True)
print("validated for request $(params.request-id)")
"""

USER_SCRIPT = (
    'for f in "$ODAHU_INPUT_PATH"/*; do tr a-z A-Z < "$f" > "$ODAHU_OUTPUT_PATH/$(basename "$f")"; done'
)


def step(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "image": fields.pop("image", "docker.io/library/python:3.12-slim"), **fields}


def mount(volume: str, path: str, read_only: bool = False) -> dict[str, Any]:
    return {"name": volume, "mountPath": path, "readOnly": read_only}


def default_steps() -> list[dict[str, Any]]:
    return [
        step(
            "configure",
            command=["python3", "/odahu/runtime/configure.py", "/odahu/config/settings"],
            env=[
                {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}},
                {
                    "name": "OPTIONAL_TOKEN",
                    "valueFrom": {"secretKeyRef": {"name": "creds", "key": "other", "optional": True}},
                },
            ],
            volumeMounts=[mount("config", "/odahu/config"), mount("odahu-runtime", "/odahu/runtime", True)],
        ),
        step(
            "sync",
            image="docker.io/rclone/rclone:1.75.2",
            command=["sh", "-c", SYNC_SCRIPT, "sync"],
            env=[
                {"name": "SOURCE", "value": "$(params.source)"},
                {"name": "DEST", "value": "/odahu/raw-input"},
            ],
            volumeMounts=[mount("raw-input", "/odahu/raw-input"), mount("config", "/odahu/config", True)],
        ),
        step(
            "validate",
            script=VALIDATE_SCRIPT,
            volumeMounts=[
                mount("raw-input", "/odahu/raw-input", True),
                mount("input", "/odahu/input"),
                mount("odahu-runtime", "/odahu/runtime", True),
            ],
        ),
        step(
            "user-container",
            image="registry.example.com/upper:1",
            command=["sh"],
            args=["-c", USER_SCRIPT],
            env=[
                {"name": "ODAHU_INPUT_PATH", "value": "/odahu/input"},
                {"name": "ODAHU_OUTPUT_PATH", "value": "/odahu/output"},
            ],
            volumeMounts=[mount("input", "/odahu/input", True), mount("output", "/odahu/output")],
        ),
        step(
            "publish",
            command=[
                "sh",
                "-c",
                'cp -R /odahu/output/. "$0"/ && touch "$0/_SUCCESS"',
                "$(params.destination)",
            ],
            volumeMounts=[mount("output", "/odahu/output", True)],
        ),
    ]


def documents(
    source: Path,
    destination: Path,
    *,
    steps: list[dict[str, Any]] | None = None,
    timeout: str | None = "1h0m0s",
    extra_volumes: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    task: dict[str, Any] = {
        "apiVersion": "tekton.dev/v1",
        "kind": "Task",
        "metadata": {"name": "upper-run", "namespace": "batch"},
        "spec": {
            "params": [
                {"name": "source", "type": "string"},
                {"name": "destination", "type": "string"},
                {"name": "request-id", "type": "string", "default": "none"},
            ],
            "results": [{"name": "input-summary"}, {"name": "output-summary"}],
            "volumes": [{"name": name, "emptyDir": {}} for name in ("config", "raw-input", "input", "output")]
            + [{"name": "odahu-runtime", "configMap": {"name": "odahu-batch-runtime-0123abcd"}}]
            + (extra_volumes or []),
            "steps": default_steps() if steps is None else steps,
        },
    }
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "odahu-batch-runtime-0123abcd", "namespace": "batch"},
        "data": {"copy.py": RUNTIME_COPY, "configure.py": RUNTIME_CONFIGURE},
    }
    run_spec: dict[str, Any] = {
        "taskRef": {"name": "upper-run", "kind": "Task"},
        "params": [
            {"name": "source", "value": str(source)},
            {"name": "destination", "value": str(destination)},
            {"name": "request-id", "value": "req-42"},
        ],
        "podTemplate": {"nodeSelector": {"pool": "gpu"}},
    }
    if any(s["name"] == "user-container" for s in task["spec"]["steps"]):
        run_spec["stepSpecs"] = [{"name": "user-container", "computeResources": {"limits": {"cpu": "2"}}}]
    if timeout is not None:
        run_spec["timeout"] = timeout
    taskrun = {
        "apiVersion": "tekton.dev/v1",
        "kind": "TaskRun",
        "metadata": {"name": "upper-job-1", "namespace": "batch"},
        "spec": run_spec,
    }
    return copy.deepcopy([configmap, task, taskrun])


def make_input(folder: Path, count: int = 3) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        (folder / f"r{index}.txt").write_text(f"record {index}\n")
    return folder


def run(docs: list[dict[str, Any]], tmp_path: Path, **options: Any) -> tuple[RunReport, str]:
    out = io.StringIO()
    options.setdefault("workdir", tmp_path / "runs")
    options.setdefault("uid", "11111111-2222-3333-4444-555555555555")
    options.setdefault("tty", False)
    options.setdefault("kill_grace", 1.0)
    options.setdefault("cwd", tmp_path)
    report = run_documents(docs, RunOptions(**options), out)
    return report, out.getvalue()
