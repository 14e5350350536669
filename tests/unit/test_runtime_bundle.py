"""runtime_bundle: the step programs shipped in compiler/runtime, as ConfigMap data."""

from __future__ import annotations

from pathlib import Path

from compiler.runtime_bundle import PROGRAMS, RuntimeBundle, load_bundle


def test_reads_programs_not_tests(tmp_path: Path) -> None:
    for name in ("validate.py", "_common.py", "__init__.py", "test_validate.py", "validate_test.py",
                 "conftest.py", "README.md"):  # fmt: skip
        (tmp_path / name).write_text(f"# {name}\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "inner.py").write_text("x = 1\n", encoding="utf-8")
    bundle = load_bundle(tmp_path)
    assert bundle.names == ("_common.py", "validate.py")
    assert bundle.files[1] == ("validate.py", "# validate.py\n")


def test_digest_follows_the_content() -> None:
    one = RuntimeBundle((("a.py", "x\n"),))
    assert one.digest == RuntimeBundle((("a.py", "x\n"),)).digest
    assert one.digest != RuntimeBundle((("a.py", "y\n"),)).digest
    assert one.digest != RuntimeBundle((("b.py", "x\n"),)).digest
    assert len(one.digest) == 8


def test_missing_programs() -> None:
    assert RuntimeBundle((("validate.py", ""),)).missing() == tuple(p for p in PROGRAMS if p != "validate.py")


def test_the_shipped_bundle() -> None:
    bundle = load_bundle()
    assert bundle.names == tuple(sorted(bundle.names))
    assert "__init__.py" not in bundle.names
    assert "validate.py" in bundle.names
    assert all(text for _, text in bundle.files)
