"""sync_model: fetch with rclone (a local remote), unpack archives safely, read the model's name/version."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from compiler.runtime.sync_model import parse_project_yaml

from .conftest import run_program

PROJECT = "model:\n  name: multiplier\n  version: 1\n"


def _sync(remote: dict[str, str], tmp: Path, source: str, *extra: str) -> tuple[int, str, str, Path, Path]:
    dest, meta = tmp / "model", tmp / "meta.json"
    args = ["--source", source, "--staging", str(tmp / "staging"), "--dest", str(dest), "--meta", str(meta)]
    args += ["--rclone", remote["rclone"], "--config", remote["config"], *extra]
    result = run_program("sync_model", args)
    return result.returncode, result.stdout, result.stderr, dest, meta


def test_folder_model_is_used_as_is(local_remote: dict[str, str], tmp_path: Path) -> None:
    folder = Path(local_remote["store"]) / "models" / "m1"
    (folder / "sub").mkdir(parents=True)
    (folder / "odahuflow.project.yaml").write_text(PROJECT)
    (folder / "sub" / "w.bin").write_bytes(b"\x01\x02")
    (folder / "model.zip").write_bytes(b"a zip the predictor reads itself")
    code, out, err, dest, meta = _sync(local_remote, tmp_path, "data:models/m1")
    assert code == 0, err
    assert (dest / "sub" / "w.bin").read_bytes() == b"\x01\x02"
    assert (dest / "model.zip").read_bytes() == b"a zip the predictor reads itself"
    assert json.loads(meta.read_text()) == {"name": "multiplier", "version": "1"}
    assert "multiplier" in out


def test_tar_gz_model_is_unpacked(local_remote: dict[str, str], tmp_path: Path) -> None:
    archive = Path(local_remote["store"]) / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        for name, data in (
            ("odahuflow.project.yaml", b"model:\n  name: \"m2\"\n  version: '2.0'\n"),
            ("w", b"1"),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    code, _, err, dest, meta = _sync(local_remote, tmp_path, "data:model.tar.gz")
    assert code == 0, err
    assert (dest / "w").read_bytes() == b"1"
    assert json.loads(meta.read_text()) == {"name": "m2", "version": "2.0"}


def test_zip_model_is_unpacked_and_defaults_fill_a_missing_project_file(
    local_remote: dict[str, str], tmp_path: Path
) -> None:
    with zipfile.ZipFile(Path(local_remote["store"]) / "m.zip", "w") as zf:
        zf.writestr("weights/w.bin", b"w")
    code, _, err, dest, meta = _sync(
        local_remote, tmp_path, "data:m.zip", "--default-name", "dflt", "--default-version", "7"
    )
    assert code == 0, err
    assert (dest / "weights" / "w.bin").read_bytes() == b"w"
    assert json.loads(meta.read_text()) == {"name": "dflt", "version": "7"}


def test_no_project_file_and_no_defaults_warns(local_remote: dict[str, str], tmp_path: Path) -> None:
    (Path(local_remote["store"]) / "model.pkl").write_bytes(b"pickle")
    code, _, err, dest, meta = _sync(local_remote, tmp_path, "data:model.pkl")
    assert code == 0, err
    assert (dest / "model.pkl").read_bytes() == b"pickle"
    assert json.loads(meta.read_text()) == {"name": "", "version": ""}
    assert "warning" in err


def test_hostile_archive_fails_with_the_member_and_rule(local_remote: dict[str, str], tmp_path: Path) -> None:
    with zipfile.ZipFile(Path(local_remote["store"]) / "evil.zip", "w") as zf:
        zf.writestr("../../escape.txt", b"x")
    code, _, err, dest, meta = _sync(local_remote, tmp_path, "data:evil.zip")
    assert code == 1
    assert "refused to unpack the model" in err
    assert "'../../escape.txt'" in err
    assert "Traceback" not in err
    assert not meta.exists()
    assert list(dest.iterdir()) == []
    assert not (tmp_path.parent / "escape.txt").exists()


def test_archive_over_the_cap(local_remote: dict[str, str], tmp_path: Path) -> None:
    with zipfile.ZipFile(Path(local_remote["store"]) / "big.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros", b"\x00" * 100_000)
    code, _, err, _, _ = _sync(local_remote, tmp_path, "data:big.zip", "--max-bytes", "1000")
    assert code == 1
    assert "limit 1000" in err


def test_misnamed_archive_fails(local_remote: dict[str, str], tmp_path: Path) -> None:
    (Path(local_remote["store"]) / "model.tgz").write_bytes(b"plain text")
    code, _, err, _, _ = _sync(local_remote, tmp_path, "data:model.tgz")
    assert code == 1
    assert "not one" in err


def test_missing_source_names_rclone_error(local_remote: dict[str, str], tmp_path: Path) -> None:
    code, _, err, _, _ = _sync(local_remote, tmp_path, "data:nope/none")
    assert code == 1
    assert "sync-model: stat" in err
    assert "not found" in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (PROJECT, {"name": "multiplier", "version": "1"}),
        (
            "# c\n---\nkind: x\nmodel:  # the model\n    name: 'it''s'   # quoted\n    version: \"1.0\"\n",
            {"name": "it's", "version": "1.0"},
        ),
        ("model: {name: flow, version: 3}\n", {"name": "flow", "version": "3"}),
        ("other:\n  name: no\nmodel:\n  nested:\n    name: deep\n  name: yes\n", {"name": "yes"}),
        ("model:\n  name: a#b\n  version: 1.10\n", {"name": "a#b", "version": "1.10"}),
        ("name: top\n", {}),
    ],
)  # fmt: skip
def test_project_yaml_subset(text: str, expected: dict[str, str]) -> None:
    assert parse_project_yaml(text) == expected


def test_empty_model_folder_fails(local_remote: dict[str, str], tmp_path: Path) -> None:
    (Path(local_remote["store"]) / "models" / "empty").mkdir(parents=True)
    code, _, err, _, meta = _sync(local_remote, tmp_path, "data:models/empty")
    assert code == 1
    assert "no model files at data:models/empty" in err
    assert not meta.exists()
