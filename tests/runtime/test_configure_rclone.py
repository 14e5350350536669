"""configure_rclone: a backend and an alias remote per connection; secrets from env vars, never printed."""

from __future__ import annotations

import configparser
import json
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .conftest import clean_env, rclone_binary, run_program

SECRET = "s3cr3t-VALUE-never-printed"
SA_JSON = json.dumps({"type": "service_account", "private_key": SECRET})


def _configure(tmp: Path, conns: list[dict[str, Any]], env: dict[str, str]) -> tuple[int, str, str, Path]:
    config = tmp / "conf" / "rclone.conf"
    result = run_program(
        "configure_rclone", ["--config", str(config)], env={"ODAHU_CONNECTIONS": json.dumps(conns), **env}
    )
    assert SECRET not in result.stdout + result.stderr
    return result.returncode, result.stdout, result.stderr, config


def _sections(config: Path) -> dict[str, dict[str, str]]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(config.read_text())
    return {name: dict(parser[name]) for name in parser.sections()}


def test_all_backends(tmp_path: Path) -> None:
    conns: list[dict[str, Any]] = [
        {"name": "aws", "type": "s3", "bucket": "b1", "region": "eu-west-1", "auth": "secret",
         "credentialEnv": {"accessKeyID": "AK", "secretAccessKey": "SK", "sessionToken": "ST"}},
        {"name": "minio", "type": "s3", "bucket": "b2", "endpoint": "http://127.0.0.1:9000",
         "pathStyle": True, "auth": "secret", "credentialEnv": {"accessKeyID": "AK", "secretAccessKey": "SK"},
         },
        {"name": "irsa", "type": "s3", "bucket": "b3", "auth": "workloadIdentity", "credentialEnv": {}},
        {"name": "gcs", "type": "gcs", "bucket": "g1", "project": "123", "region": "EU", "auth": "secret",
         "credentialEnv": {"serviceAccountJSON": "SA"}},
        {"name": "gwi", "type": "gcs", "bucket": "g2", "auth": "workloadIdentity"},
        {"name": "gemu", "type": "gcs", "bucket": "g3", "auth": "anonymous", "endpoint": "http://127.0.0.1:4443"},
        {"name": "azk", "type": "azureblob", "bucket": "c1", "account": "acct", "auth": "secret",
         "credentialEnv": {"accountKey": "AZK"}},
        {"name": "azs", "type": "azureblob", "bucket": "c2", "auth": "secret",
         "credentialEnv": {"sasURL": "SAS"}, "endpoint": "http://127.0.0.1:10000/devstoreaccount1"},
        {"name": "azw", "type": "azureblob", "bucket": "c3", "account": "acct", "auth": "workloadIdentity"},
        {"name": "disk", "type": "local", "root": "/data/root", "auth": "none"},
    ]  # fmt: skip
    env = {
        "AK": "AKIA" + SECRET,
        "SK": SECRET,
        "ST": "tok" + SECRET,
        "SA": SA_JSON,
        "AZK": SECRET,
        "SAS": SECRET,
    }
    code, out, err, config = _configure(tmp_path, conns, env)
    assert code == 0, err
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    sections = _sections(config)
    assert sections["aws_store"] == {
        "type": "s3", "provider": "AWS", "env_auth": "false", "access_key_id": "AKIA" + SECRET,
        "secret_access_key": SECRET, "session_token": "tok" + SECRET, "region": "eu-west-1",
        "bucket_acl": "private", "no_check_bucket": "true",
    }  # fmt: skip
    assert sections["aws"] == {"type": "alias", "remote": "aws_store:b1"}
    assert sections["minio_store"]["provider"] == "Other"
    assert sections["minio_store"]["force_path_style"] == "true"
    assert sections["minio_store"]["endpoint"] == "http://127.0.0.1:9000"
    assert sections["irsa_store"]["env_auth"] == "true"
    assert "access_key_id" not in sections["irsa_store"]
    sa_file = Path(sections["gcs_store"]["service_account_file"])
    assert sa_file == config.parent / "gcs-gcs-sa.json"
    assert sa_file.read_text() == SA_JSON
    assert stat.S_IMODE(sa_file.stat().st_mode) == 0o600
    assert sections["gcs_store"]["type"] == "google cloud storage"
    assert sections["gcs_store"]["project_number"] == "123"
    assert sections["gcs_store"]["location"] == "EU"
    assert sections["gcs_store"]["bucket_policy_only"] == "true"
    assert sections["gwi_store"]["env_auth"] == "true"
    assert sections["gemu_store"]["anonymous"] == "true"
    assert sections["gemu_store"]["endpoint"] == "http://127.0.0.1:4443"
    assert sections["azk_store"] == {"type": "azureblob", "account": "acct", "key": SECRET}
    assert sections["azs_store"]["sas_url"] == SECRET
    assert sections["azs_store"]["endpoint"] == "http://127.0.0.1:10000/devstoreaccount1"
    assert sections["azw_store"]["env_auth"] == "true"
    assert sections["disk"] == {"type": "alias", "remote": "/data/root"}
    assert sections["disk_store"] == {"type": "local"}
    assert out.count("remote ") == 2 * len(conns)


def test_missing_secret_names_the_env_var_only(tmp_path: Path) -> None:
    conns = [{"name": "aws", "type": "s3", "bucket": "b", "auth": "secret",
              "credentialEnv": {"accessKeyID": "AK", "secretAccessKey": "MISSING_SK"}}]  # fmt: skip
    code, _, err, config = _configure(tmp_path, conns, {"AK": SECRET})
    assert code == 1
    assert "'aws'" in err
    assert "MISSING_SK" in err
    assert "Traceback" not in err
    assert not config.exists()


def test_azure_needs_exactly_one_credential(tmp_path: Path) -> None:
    conns = [{"name": "az", "type": "azureblob", "bucket": "c", "auth": "secret",
              "credentialEnv": {"accountKey": "K", "sasURL": "S"}}]  # fmt: skip
    code, _, err, _ = _configure(tmp_path, conns, {"K": SECRET, "S": SECRET})
    assert code == 1
    assert "exactly one of accountKey / sasURL" in err


def test_newline_in_a_value_is_refused(tmp_path: Path) -> None:
    conns = [{"name": "aws", "type": "s3", "bucket": "b", "auth": "secret",
              "credentialEnv": {"accessKeyID": "AK", "secretAccessKey": "SK"}}]  # fmt: skip
    code, _, err, _ = _configure(tmp_path, conns, {"AK": "x", "SK": SECRET + "\n[evil]\ntype = local"})
    assert code == 1
    assert "line break" in err
    bad_bucket = [{"name": "d", "type": "s3", "bucket": "b\n[evil]", "auth": "anonymous"}]
    assert _configure(tmp_path, bad_bucket, {})[0] == 1


def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    cases: list[tuple[list[dict[str, Any]], str]] = [
        ([{"name": "x y", "type": "local", "root": "/r"}], "not a valid remote name"),
        ([{"name": "a", "type": "ftp", "bucket": "b"}], "unknown type"),
        ([{"name": "a", "type": "s3"}], "needs a bucket"),
        (
            [{"name": "a", "type": "local", "root": "/r"}, {"name": "a", "type": "local", "root": "/r"}],
            "twice",
        ),
    ]
    for conns, message in cases:
        code, _, err, _ = _configure(tmp_path, conns, {})
        assert code == 1
        assert message in err
    result = run_program("configure_rclone", ["--config", str(tmp_path / "c")])
    assert result.returncode == 1
    assert "ODAHU_CONNECTIONS" in result.stderr


def test_rclone_uses_the_local_connection(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "in").mkdir(parents=True)
    (root / "in" / "a.json").write_text("{}")
    code, _, err, config = _configure(tmp_path, [{"name": "data", "type": "local", "root": str(root)}], {})
    assert code == 0, err
    listing = subprocess.run(
        [rclone_binary(), "--config", str(config), "lsjson", "data:in"],
        capture_output=True, text=True, env=clean_env(), check=True,
    )  # fmt: skip
    assert [entry["Name"] for entry in json.loads(listing.stdout)] == ["a.json"]


def test_a_connection_named_like_a_backend_remote_keeps_its_own_data(tmp_path: Path) -> None:
    """``feature`` and ``feature-store`` side by side: before, the second was refused at run time (its name
    was the first one's backend remote), after compiling fine."""
    conns = []
    for name in ("feature", "feature-store"):
        (tmp_path / name / "in").mkdir(parents=True)
        (tmp_path / name / "in" / f"{name}.json").write_text("{}")
        conns.append({"name": name, "type": "local", "root": str(tmp_path / name), "auth": "none"})
    code, _, err, config = _configure(tmp_path, conns, {})
    assert code == 0, err
    for name in ("feature", "feature-store"):
        listing = subprocess.run(
            [rclone_binary(), "--config", str(config), "lsjson", f"{name}:in"],
            capture_output=True, text=True, env=clean_env(), check=True,
        )  # fmt: skip
        assert [entry["Name"] for entry in json.loads(listing.stdout)] == [f"{name}.json"]


# --- the Task's step, as compiled: the connection rule of compiler/front/access.py ----------------------


def _compiled_step(tmp_path: Path) -> dict[str, Any]:
    """configure-rclone of the table project's Task (tests/support/access_table.py)."""
    from compiler.pipeline import generate_documents
    from tests.support.access_table import SERVICE, documents

    specs = tmp_path / "specs.yaml"
    specs.write_text("---\n".join(json.dumps(d) + "\n" for d in documents()))
    result = generate_documents([specs], for_cluster=False)
    assert result.generated is not None, result.diagnostics
    (task,) = [
        o for o in result.generated.objects if o.get("kind") == "Task" and o["metadata"]["name"] == SERVICE
    ]
    steps: list[dict[str, Any]] = task["spec"]["steps"]
    (step,) = [s for s in steps if s["name"] == "configure-rclone"]
    return step


def _run_step(tmp_path: Path, step: dict[str, Any], params: dict[str, str], secrets: dict[str, str]) -> Any:
    """The step with its params substituted; ``secrets``: Secret name -> value of each of its keys
    (a Secret left out is missing: its optional refs leave the env var unset, as Kubernetes does)."""
    args = [a.replace("$(params.", "").rstrip(")") if a.startswith("$(params.") else a for a in step["args"]]
    args = [params.get(a, a) for a in args]
    env = {}
    for var in step["env"]:
        ref = var.get("valueFrom", {}).get("secretKeyRef")
        if ref is None:
            env[var["name"]] = var["value"]
        elif ref["name"] in secrets:
            env[var["name"]] = secrets[ref["name"]]
    config = tmp_path / "conf" / "rclone.conf"
    args[args.index("--config") + 1] = str(config)
    return run_program("configure_rclone", args, env=env), config


def _table() -> list[Any]:
    from tests.support.access_table import CASE_IDS, CASES

    return [pytest.param(case, id=name) for case, name in zip(CASES, CASE_IDS, strict=True)]


@pytest.mark.parametrize("case", _table())
def test_the_task_refuses_a_connection_its_service_does_not_allow(tmp_path: Path, case: Any) -> None:
    step = _compiled_step(tmp_path)
    data, output = case.location("dataSource")[0], case.location("outputDestination")[0]
    secrets = {f"{name}-creds": SECRET for name in ("data", "extra", "models", "other", "results", "shared")}
    result, config = _run_step(
        tmp_path, step, {"data-connection": data, "output-connection": output}, secrets
    )
    assert SECRET not in result.stdout + result.stderr
    if case.allowed:
        assert result.returncode == 0, result.stderr
        assert set(_sections(config)) == {f"{c}{s}" for c in {data, output, "models"} for s in ("", "_store")}
    else:
        assert result.returncode == 1
        assert "may not" in result.stderr
        assert not config.exists()  # stopped before writing anything, long before storage


def test_the_task_holds_only_its_services_connections_and_unused_secrets_never_block(tmp_path: Path) -> None:
    step = _compiled_step(tmp_path)
    refs = {v["valueFrom"]["secretKeyRef"]["name"] for v in step["env"] if "valueFrom" in v}
    # never 'other-creds': the project's other team's connection
    assert refs == {"data-creds", "extra-creds", "models-creds", "results-creds", "shared-creds"}
    only_used = {"data-creds": SECRET, "results-creds": SECRET, "models-creds": SECRET}
    params = {"data-connection": "data", "output-connection": "results"}
    result, config = _run_step(tmp_path, step, params, only_used)
    assert result.returncode == 0, result.stderr
    assert set(_sections(config)) == {
        "data",
        "data_store",
        "models",
        "models_store",
        "results",
        "results_store",
    }


def test_without_the_runs_connections_every_listed_connection_is_configured(tmp_path: Path) -> None:
    conns: list[dict[str, Any]] = [
        {"name": "a", "type": "local", "root": "/a", "auth": "none", "roles": ["data"]},
        {"name": "b", "type": "local", "root": "/b", "auth": "none"},
    ]
    code, _, err, config = _configure(tmp_path, conns, {})
    assert code == 0, err
    assert set(_sections(config)) == {"a", "a_store", "b", "b_store"}
