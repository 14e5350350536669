"""The step programs shipped in ``compiler/runtime/``, read as package data.

They reach the pod through one content-hashed ConfigMap per namespace, mounted read-only in the
helper steps: the Task stays small, the programs are reviewed as ordinary code, and a new
program set gets a new ConfigMap name, so a run always sees exactly the programs its Task was
compiled with.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from importlib.abc import Traversable

from compiler import naming

PACKAGE = "compiler.runtime"
# The programs the generated steps call; the plan warns when one of them is missing.
PROGRAMS = ("configure_rclone.py", "sync_model.py", "validate.py", "feedback.py", "sync_output.py")


def _shipped(name: str) -> bool:
    return (
        name.endswith(".py")
        and name != "__init__.py"
        and name != "conftest.py"
        and not name.startswith("test_")
        and not name.endswith("_test.py")
    )


@dataclass(frozen=True)
class RuntimeBundle:
    files: tuple[tuple[str, str], ...]  # (file name, text), sorted by name

    @cached_property
    def digest(self) -> str:
        return naming.content_hash([list(f) for f in self.files])

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.files)

    def missing(self) -> tuple[str, ...]:
        have = set(self.names)
        return tuple(p for p in PROGRAMS if p not in have)


def load_bundle(root: Traversable | None = None) -> RuntimeBundle:
    """Every ``*.py`` program of ``root`` (default: the installed ``compiler/runtime``), not its tests."""
    folder = root if root is not None else resources.files(PACKAGE)
    files = sorted(
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.is_file() and _shipped(entry.name)
    )
    return RuntimeBundle(tuple(files))
