"""Secret values for secretKeyRef: flags, files, Kubernetes' optional rule, masking."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.localrun.errors import LocalRunError
from compiler.localrun.secrets import MASK, Masker, SecretStore, flags_out_of_argv


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


# Parses --secret like `odahu-batch run`, takes the flags out of argv, then reports what `ps` would show.
FLAGS_PROBE = """
import argparse, json, os, sys
from compiler.localrun.secrets import flags_out_of_argv
parser = argparse.ArgumentParser()
parser.add_argument("--secret", action="append", default=[])
parser.add_argument("rest", nargs="*")
args = parser.parse_args()
pid = os.getpid()
flags = flags_out_of_argv(args.secret)
with open(f"/proc/{pid}/cmdline", "rb") as fh:
    cmdline = fh.read().decode().rstrip("\\0").split("\\0")
fd_env = os.environ.get("ODAHU_BATCH_SECRET_FLAGS_FD")
print(json.dumps({"pid": pid, "flags": flags, "cmdline": cmdline, "env": fd_env}))
"""


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_secret_values_leave_the_command_line_of_the_run() -> None:
    """The same process (pid) goes on with every value masked in its argv; the flags arrive whole."""
    flags = ["--secret", "creds/key=S3CRET-ONE", "x", "--secret=creds/k2=S3CRET=2"]
    argv = [sys.executable, "-c", FLAGS_PROBE, *flags]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=True)
    seen = json.loads(proc.stdout)
    assert seen["flags"] == ["creds/key=S3CRET-ONE", "creds/k2=S3CRET=2"]
    assert "S3CRET" not in "\0".join(seen["cmdline"])
    assert seen["cmdline"][-4:] == ["--secret", "creds/key=***", "x", "--secret=creds/k2=***"]
    assert seen["env"] is None, "the pipe's number is not left for the steps"
    assert "S3CRET" not in proc.stderr


def test_flags_not_from_the_command_line_are_kept_as_given() -> None:
    """Called in-process (tests, main([...])), nothing is re-executed."""
    assert flags_out_of_argv(["a/b=not-in-argv"]) == ["a/b=not-in-argv"]
    assert flags_out_of_argv([]) == []
