"""The GitOps kit in docs/: the Argo CD Config Management Plugin, the Application, the pre-commit hooks.

The plugin's ``generate`` command is run as Argo CD's cmp-server runs it (the command and its args, no
shell, in the Application's source folder), and its stream is compared with the committed tree. The
pre-commit hook is run by ``pre-commit try-repo`` on a project of its own, as a user would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.rclone import missing_binary

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
BUILD = ROOT / "build"
ARGOCD = ROOT / "docs" / "argocd"


def _env() -> dict[str, str]:
    bindir = str(Path(sys.executable).parent)
    return {**os.environ, "PYTHONPATH": str(ROOT), "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _committed_documents() -> list[Any]:
    listed = _load(BUILD / "kustomization.yaml")["resources"]
    return [_load(BUILD / rel) for rel in listed]


def test_plugin_generates_the_committed_tree() -> None:
    plugin = _load(ARGOCD / "plugin.yaml")
    assert (plugin["apiVersion"], plugin["kind"]) == ("argoproj.io/v1alpha1", "ConfigManagementPlugin")
    generate = plugin["spec"]["generate"]
    done = subprocess.run(
        [*generate["command"], *generate.get("args", [])],
        cwd=EXAMPLES,  # build/ is compiled from examples/: the Application's source path
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    streamed = [d for d in yaml.safe_load_all(done.stdout) if d is not None]
    assert streamed == _committed_documents()


def test_plugin_discovers_spec_folders_only(tmp_path: Path) -> None:
    find = _load(ARGOCD / "plugin.yaml")["spec"]["discover"]["find"]["command"]
    hit = subprocess.run(find, cwd=EXAMPLES / "s3", capture_output=True, text=True, timeout=60, check=False)
    assert hit.stdout.strip(), "a spec folder must be discovered"
    (tmp_path / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", encoding="utf-8"
    )
    miss = subprocess.run(find, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert miss.stdout == ""  # Argo CD: no output means the plugin does not apply


def test_kustomize_builds_the_tree_the_application_syncs() -> None:
    app = _load(ARGOCD / "application.yaml")
    assert app["spec"]["source"]["path"] == "deploy"
    namespaces = {d["metadata"].get("namespace") for d in _committed_documents()} - {None}
    assert namespaces == {app["spec"]["destination"]["namespace"]}
    done = subprocess.run(
        ["kubectl", "kustomize", str(BUILD)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    key = lambda d: (d["kind"], d["metadata"].get("namespace") or "", d["metadata"]["name"])  # noqa: E731
    built = sorted((d for d in yaml.safe_load_all(done.stdout) if d), key=key)
    assert built == sorted(_committed_documents(), key=key)


def test_plugin_application_names_the_plugin() -> None:
    plugin = _load(ARGOCD / "plugin.yaml")
    app = _load(ARGOCD / "application-plugin.yaml")
    name = f"{plugin['metadata']['name']}-{plugin['spec']['version']}"
    assert app["spec"]["source"]["plugin"]["name"] == name


def _project(tmp_path: Path) -> Path:
    """A user's repository: specs/ and the deploy/ tree compiled from them, committed."""
    repo = tmp_path / "project"
    shutil.copytree(EXAMPLES / "s3", repo / "specs")
    env = _env()
    cli = [sys.executable, "-m", "compiler.cli"]
    subprocess.run([*cli, "compile", "specs", "--out", "deploy"], cwd=repo, env=env, check=True, timeout=120)
    git = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True, timeout=60)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True, timeout=60)
    subprocess.run([*git, "commit", "-qm", "specs"], cwd=repo, check=True, timeout=60)
    return repo


def test_hook_command_passes_on_a_current_tree(tmp_path: Path) -> None:
    repo = _project(tmp_path)
    [hook] = [h for h in _load(ROOT / ".pre-commit-hooks.yaml") if h["id"] == "odahu-batch-check"]
    command = [*hook["entry"].split(), *hook["args"]]
    done = subprocess.run(
        command, cwd=repo, env=_env(), capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "deploy/: " in done.stdout or "deploy: " in done.stdout


def test_precommit_try_repo_fails_a_stale_tree(tmp_path: Path) -> None:
    precommit = shutil.which("pre-commit", path=str(Path(sys.executable).parent))
    if precommit is None:
        missing_binary("pre-commit", "pip install pre-commit (a test extra)")
    assert precommit is not None
    repo = _project(tmp_path)
    task = repo / "deploy" / "odahu-batch" / "task" / "s3-multiplier.yaml"
    task.write_text(task.read_text(encoding="utf-8") + "# edited by hand\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the hook runs its own install
    env["PRE_COMMIT_HOME"] = str(tmp_path / "pre-commit-home")
    done = subprocess.run(
        [precommit, "try-repo", str(ROOT), "--all-files"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "odahu-batch compile --check" in out
    assert "Failed" in out
    assert "deploy/odahu-batch/task/s3-multiplier.yaml" in out
    assert "odahu-batch validate" in out  # the second hook passes on the unchanged specs
