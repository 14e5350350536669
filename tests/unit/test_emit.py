"""emit: the output folder is replaced whole, untouched when unchanged, and diffed for --check."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.diagnostics import CompileError
from compiler.emit import MARKER, emit, read_tree
from compiler.manifests.render import RenderedDoc

KUSTOMIZATION = RenderedDoc("kustomization.yaml", f"{MARKER}: x\nresources: []\n", "Kustomization", "k")


def _docs(**files: str) -> list[RenderedDoc]:
    return [KUSTOMIZATION] + [
        RenderedDoc(path.replace("__", "/") + ".yaml", text, "ConfigMap", path)
        for path, text in files.items()
    ]


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_ino, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


def test_writes_a_new_tree(tmp_path: Path) -> None:
    out = tmp_path / "build"
    result = emit(_docs(ns__a="a: 1\n", ns__b="b: 2\n"), out)
    assert result.written
    assert result.added == ("kustomization.yaml", "ns/a.yaml", "ns/b.yaml")
    assert read_tree(out)["ns/a.yaml"] == "a: 1\n"
    assert oct(out.stat().st_mode & 0o777) != oct(0o700)
    assert [p.name for p in tmp_path.iterdir()] == ["build"]  # no temporary folders left


def test_no_change_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "build"
    emit(_docs(ns__a="a: 1\n"), out)
    before = _snapshot(tmp_path)
    result = emit(_docs(ns__a="a: 1\n"), out)
    assert not result.written
    assert not result.stale
    assert _snapshot(tmp_path) == before
    assert "unchanged" in result.summary(check=False)


def test_deleted_specs_leave_no_files(tmp_path: Path) -> None:
    out = tmp_path / "build"
    emit(_docs(ns__a="a: 1\n", other__b="b: 2\n"), out)
    result = emit(_docs(ns__a="a: 2\n"), out)
    assert result.changed == ("ns/a.yaml",)
    assert result.removed == ("other/b.yaml",)
    assert sorted(read_tree(out)) == ["kustomization.yaml", "ns/a.yaml"]
    assert not (out / "other").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build"]


def test_check_writes_nothing_and_diffs(tmp_path: Path) -> None:
    out = tmp_path / "build"
    emit(_docs(ns__a="a: 1\n", ns__gone="x: 1\n"), out)
    before = _snapshot(tmp_path)
    result = emit(_docs(ns__a="a: 2\n", ns__new="n: 1\n"), out, check=True)
    assert result.stale
    assert not result.written
    assert _snapshot(tmp_path) == before
    label = out.as_posix().strip("/")
    assert f"--- a/{label}/ns/a.yaml\n+++ b/{label}/ns/a.yaml\n" in result.diff
    assert "-a: 1\n+a: 2\n" in result.diff
    assert f"--- /dev/null\n+++ b/{label}/ns/new.yaml\n" in result.diff
    assert f"--- a/{label}/ns/gone.yaml\n+++ /dev/null\n" in result.diff
    assert "out of date" in result.summary(check=True)
    clean = emit(_docs(ns__a="a: 1\n", ns__gone="x: 1\n"), out, check=True)
    assert not clean.stale
    assert clean.diff == ""


def test_check_of_a_missing_tree_is_stale(tmp_path: Path) -> None:
    result = emit(_docs(ns__a="a: 1\n"), tmp_path / "absent", check=True)
    assert result.stale
    assert not (tmp_path / "absent").exists()


def test_refuses_to_replace_a_folder_it_did_not_write(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("mine\n", encoding="utf-8")
    with pytest.raises(CompileError) as caught:
        emit(_docs(ns__a="a: 1\n"), tmp_path)
    assert caught.value.diagnostics[0].code == "E502"
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == "mine\n"
    file = tmp_path / "file"
    file.write_text("x", encoding="utf-8")
    with pytest.raises(CompileError):
        emit(_docs(ns__a="a: 1\n"), file)


def test_writes_lf_only(tmp_path: Path) -> None:
    emit(_docs(ns__a="a: 1\nb: 2\n"), tmp_path / "out")
    assert (tmp_path / "out" / "ns" / "a.yaml").read_bytes() == b"a: 1\nb: 2\n"


def test_write_errors_are_diagnostics(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(CompileError) as caught:
        emit(_docs(ns__a="a: 1\n"), blocker / "build")
    assert caught.value.diagnostics[0].code == "E502"
