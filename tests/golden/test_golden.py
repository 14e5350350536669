"""Golden trees: every example compiled for each backend, compared file by file with
tests/golden/snapshots/<backend>/<example>.

Update after an intended change with ``pytest tests/golden --snapshot-update`` and read the diff
before committing it. The trees ship stand-in step programs, so a change to compiler/runtime does
not touch them; ``test_examples_compile_with_the_shipped_programs`` covers the real ones.
Every tree is also built with ``kubectl kustomize`` and checked against its engine's schemas (Tekton, or
Argo Workflows v4.1.2, closed), the Kubernetes 1.32 schemas, its engine's admission rules and, for Argo, the
apiserver's defaulting fixed point (``tests/support/manifests.check_tree``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from compiler.backend import TARGETS, Target
from compiler.emit import read_tree
from compiler.pipeline import compile
from compiler.runtime_bundle import PROGRAMS, RuntimeBundle
from tests.support.manifests import check_tree, scan_for_secrets
from tests.support.servers import AZURITE_KEY

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
NAMES = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir())
STAND_IN = RuntimeBundle(tuple((name, f"# {name}: the step program\n") for name in PROGRAMS))


def _nested(tree: dict[str, str]) -> dict[str, Any]:
    """``a/b.yaml`` -> ``{"a": {"b.yaml": ...}}``, the shape ``assert_match_dir`` compares."""
    root: dict[str, Any] = {}
    for path, text in tree.items():
        *folders, name = path.split("/")
        node = root
        for folder in folders:
            node = node.setdefault(folder, {})
        node[name] = text
    return root


def test_every_example_is_covered() -> None:
    assert set(NAMES) >= {"multiplier", "s3", "gcs", "azure", "tarball-model", "baked-model", "odahu-api"}


@pytest.mark.parametrize("backend", TARGETS)
@pytest.mark.parametrize("example", NAMES)
def test_golden_tree(example: str, backend: Target, tmp_path: Path, snapshot: Any) -> None:
    out = tmp_path / "build"
    result = compile([EXAMPLES / example], out, bundle=STAND_IN, target=backend)
    assert result.ok, result.diagnostics
    assert [d for d in result.diagnostics if d.code.startswith("W4")] == []
    snapshot.snapshot_dir = Path(__file__).parent / "snapshots" / backend
    snapshot.assert_match_dir(_nested(read_tree(out)), example)
    assert check_tree(out) == []
    assert scan_for_secrets(out, (AZURITE_KEY,)) == []


@pytest.mark.parametrize("backend", TARGETS)
def test_examples_compile_with_the_shipped_programs(backend: Target, tmp_path: Path) -> None:
    """What the README promises: ``odahu-batch compile examples/ --out build/`` passes every check."""
    out = tmp_path / "build"
    result = compile([EXAMPLES], out, target=backend)
    assert result.ok, result.diagnostics
    assert check_tree(out) == []
    again = compile([EXAMPLES], out, check=True, target=backend)
    assert again.emitted is not None
    assert not again.emitted.stale
