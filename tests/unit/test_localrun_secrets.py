"""Secret values for secretKeyRef: flags, files, Kubernetes' optional rule, masking."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from compiler.localrun.errors import LocalRunError
from compiler.localrun.secrets import MASK, Masker, SecretStore


def test_flags(tmp_path: Path) -> None:
    store = SecretStore.from_sources(flags=["s3-creds/accessKeyID=AK", "s3-creds/secret=a=b=c"])
    assert store.get("s3-creds", "accessKeyID") == "AK"
    assert store.get("s3-creds", "secret") == "a=b=c"
    assert store.get("s3-creds", "nope") is None
    assert store.get("nope", "x") is None


@pytest.mark.parametrize("flag", ["novalue", "name=value", "/key=v", "name/=v"])
def test_bad_flag_never_echoes_the_value(flag: str) -> None:
    with pytest.raises(LocalRunError) as info:
        SecretStore.from_sources(flags=[flag])
    assert "NAME/KEY=VALUE" in str(info.value)
    if "=" in flag:
        assert flag.split("=", 1)[1] not in str(info.value)


def test_manifests_with_data_and_string_data(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yaml"
    encoded = base64.b64encode(b"from-data").decode()
    path.write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: one}\n"
        f"data: {{a: {encoded}, b: {encoded}}}\nstringData: {{b: from-string-data}}\n"
        "---\napiVersion: v1\nkind: List\nitems:\n"
        "- {apiVersion: v1, kind: Secret, metadata: {name: two}, stringData: {k: v2}}\n"
    )
    store = SecretStore.from_sources(files=[path])
    assert store.get("one", "a") == "from-data"
    assert store.get("one", "b") == "from-string-data"
    assert store.get("two", "k") == "v2"


def test_simple_mapping_json_and_flags_win(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"gcs": {"serviceAccountKey": {"type": "service_account"}, "n": 5}}))
    store = SecretStore.from_sources(files=[path], flags=["gcs/n=6"])
    assert json.loads(store.get("gcs", "serviceAccountKey") or "") == {"type": "service_account"}
    assert store.get("gcs", "n") == "6"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("kind: ConfigMap\napiVersion: v1\nmetadata: {name: x}\n", "not a Secret"),
        ("kind: Secret\napiVersion: v1\ndata: {a: b}\n", "metadata.name"),
        ("kind: Secret\napiVersion: v1\nmetadata: {name: x}\ndata: {a: '!!!'}\n", "base64"),
        ("name: value\n", "must map keys to values"),
        ("[1, 2]\n", "expected a mapping"),
        ("a: [\n", "not valid YAML"),
    ],
)
def test_bad_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(content)
    with pytest.raises(LocalRunError, match=message):
        SecretStore.from_sources(files=[path])


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LocalRunError, match="cannot read"):
        SecretStore.from_sources(files=[tmp_path / "nope.yaml"])


def test_masking() -> None:
    key = '{\n  "type": "service_account",\n  "private_key": "-----BEGIN KEY-----abc"\n}'
    mask = Masker(["hunter22", "hunter22-longer", "x", key])
    assert mask("pw=hunter22-longer and hunter22") == f"pw={MASK} and {MASK}"
    assert mask("x marks the spot") == "x marks the spot"
    assert mask(f"loaded {key}") == f"loaded {MASK}"
    assert "BEGIN KEY" not in mask('error near "private_key": "-----BEGIN KEY-----abc"')
