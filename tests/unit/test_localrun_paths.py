"""Mount paths -> run-directory folders, and --bind."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.localrun.errors import LocalRunError
from compiler.localrun.paths import Bind, PathMap


@pytest.fixture
def paths(tmp_path: Path) -> PathMap:
    return PathMap(
        {
            "/odahu/in": tmp_path / "in",
            "/odahu/input": tmp_path / "input",
            "/odahu/model": tmp_path / "model",
            "/odahu/model/meta": tmp_path / "meta",
        }
    )


def test_whole_value_and_prefix(paths: PathMap, tmp_path: Path) -> None:
    assert paths.to_host("/odahu/in") == f"{tmp_path}/in"
    assert paths.to_host("/odahu/in/") == f"{tmp_path}/in/"
    assert paths.to_host("/odahu/in/a/b.json") == f"{tmp_path}/in/a/b.json"
    assert paths.to_host("/odahu/input/x") == f"{tmp_path}/input/x"


def test_only_at_path_boundaries(paths: PathMap) -> None:
    assert paths.to_host("/odahu/inbox") == "/odahu/inbox"
    assert paths.to_host("/x/odahu/in") == "/x/odahu/in"
    assert paths.to_host("odahu/in") == "odahu/in"
    assert paths.to_host("s3:bucket/odahu/in") == "s3:bucket/odahu/in"


def test_longest_mount_wins(paths: PathMap, tmp_path: Path) -> None:
    assert paths.to_host("/odahu/model/meta/m.yaml") == f"{tmp_path}/meta/m.yaml"
    assert paths.to_host("/odahu/model/weights.bin") == f"{tmp_path}/model/weights.bin"


def test_inside_options_and_scripts(paths: PathMap, tmp_path: Path) -> None:
    assert paths.to_host("--config=/odahu/in/rclone.conf") == f"--config={tmp_path}/in/rclone.conf"
    script = 'cp -r /odahu/in/. "/odahu/model"\nls /odahu/in:/odahu/model'
    assert paths.to_host(script) == (
        f'cp -r {tmp_path}/in/. "{tmp_path}/model"\nls {tmp_path}/in:{tmp_path}/model'
    )


def test_unmapped_strings_unchanged(paths: PathMap) -> None:
    for text in ("", "plain", "/usr/bin/python3", "https://example.com/odahu/in", "$(params.x)"):
        assert paths.to_host(text) == text


def test_root_cannot_be_mapped(tmp_path: Path) -> None:
    with pytest.raises(LocalRunError):
        PathMap({"/": tmp_path})


def test_bind_parsing(tmp_path: Path) -> None:
    bind = Bind.parse(f"{tmp_path}:/opt/app/")
    assert (bind.host, bind.image, bind.read_only) == (tmp_path.resolve(), "/opt/app", False)
    assert Bind.parse(f"{tmp_path}:/opt/app:ro").read_only
    with pytest.raises(LocalRunError, match="HOST_DIR:IMAGE_DIR"):
        Bind.parse(str(tmp_path))
    with pytest.raises(LocalRunError, match="absolute"):
        Bind.parse(f"{tmp_path}:opt")
    with pytest.raises(LocalRunError, match="does not exist"):
        Bind.parse(f"{tmp_path}/nope:/opt/app")
