"""Every example compiled once per session: the documents the cluster rules are checked on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from compiler.backend import Target
from compiler.pipeline import generate_documents

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TREES = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir())


def compiled(*paths: Path) -> list[dict[str, Any]]:
    """The documents of a compiled tree (kustomization.yaml left out)."""
    return compiled_for(None, *paths)


def compiled_for(target: Target | None, *paths: Path) -> list[dict[str, Any]]:
    """The documents of a tree compiled for ``target`` (default: the project's backend)."""
    result = generate_documents(paths, for_cluster=True, target=target)
    assert result.generated is not None, result.diagnostics
    assert result.generated.ok, result.diagnostics
    return [dict(o) for o in result.generated.objects[1:]]


@pytest.fixture(scope="session")
def trees() -> dict[str, list[dict[str, Any]]]:
    """Each example alone, and all of them together (as build/ is compiled)."""
    out = {name: compiled(EXAMPLES / name) for name in TREES}
    out["examples"] = compiled(EXAMPLES)
    return out


@pytest.fixture(scope="session")
def documents(trees: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [doc for name, docs in trees.items() for doc in docs]
