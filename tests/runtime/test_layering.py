"""compiler/runtime/ stays standard-library only, runs as plain files, and stays small."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import RUNTIME, run_program

PROGRAMS = ["configure_rclone", "sync_model", "validate", "feedback", "sync_output"]
MODULES = sorted(RUNTIME.glob("*.py"))
SIBLINGS = {path.stem for path in MODULES}


def _imports(path: Path) -> list[tuple[str, int]]:
    """(module, level) of every import statement in the file."""
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((alias.name, 0) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.append((node.module or "", node.level))
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_imports_only_the_standard_library_and_siblings(path: Path) -> None:
    for module, level in _imports(path):
        top = module.split(".")[0]
        if level:
            assert level == 1, f"{path.name}: relative import of {module!r}"
            assert top in SIBLINGS | {""}, f"{path.name}: relative import of {module!r}"
        elif top == "__future__":
            continue
        else:
            assert top in sys.stdlib_module_names or top in SIBLINGS, f"{path.name}: imports {module!r}"
            assert top != "compiler", f"{path.name}: imports the compiler"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_parses_as_python_3_9(path: Path) -> None:
    ast.parse(path.read_text(), filename=str(path), feature_version=(3, 9))
    assert path.name == "__init__.py" or "from __future__ import annotations" in path.read_text()


def test_sizes_stay_modest() -> None:
    # All of it goes into one ConfigMap (1 MiB at most) applied server-side; 192 KB leaves the
    # namespace's runtime far below that and keeps every pod's mount small.
    total = sum(path.stat().st_size for path in MODULES)
    assert total < 192_000, f"compiler/runtime/*.py is {total} bytes; it all goes into one ConfigMap"
    for path in MODULES:
        assert len(path.read_text().splitlines()) <= 400, f"{path.name} is over 400 lines"


@pytest.mark.parametrize("program", PROGRAMS)
def test_help_as_a_flat_file(program: str, flat_runtime: Path) -> None:
    result = run_program(program, ["--help"], folder=flat_runtime)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


@pytest.mark.parametrize("program", PROGRAMS)
def test_help_as_a_module(program: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", f"compiler.runtime.{program}", "--help"],
        capture_output=True,
        text=True,
        cwd=RUNTIME.parents[1],
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


@pytest.mark.parametrize("program", PROGRAMS)
def test_usage_error_exits_2(program: str, flat_runtime: Path) -> None:
    result = run_program(program, ["--no-such-option"], folder=flat_runtime)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def _python39() -> str:
    """A working Python 3.9 (pyenv's or one on PATH), else skip."""
    candidates = [str(Path.home() / ".pyenv/versions/3.9.18/bin/python3.9"), shutil.which("python3.9") or ""]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            probe = subprocess.run([candidate, "--version"], capture_output=True, text=True, check=False)
            if probe.returncode == 0 and probe.stdout.startswith("Python 3.9"):
                return candidate
    pytest.skip("no Python 3.9 interpreter here")


def test_programs_run_on_python_3_9(flat_runtime: Path) -> None:
    python = _python39()
    for program in PROGRAMS:
        result = subprocess.run(
            [python, str(flat_runtime / f"{program}.py"), "--help"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, f"{program}: {result.stderr}"
