"""configure-rclone: write the rclone config of a run from ODAHU_CONNECTIONS and secret env vars.

Usage: configure_rclone.py --config PATH [--data-connection NAME] [--output-connection NAME]

``ODAHU_CONNECTIONS`` is a JSON list of connections (name, type s3|gcs|azureblob|local, bucket, root, region,
endpoint, pathStyle, project, account, auth secret|workloadIdentity|anonymous|none, credentialEnv, roles).
Each connection becomes two remotes: ``[<name>_store]``, the backend, and ``[<name>]``, an alias of
``<name>_store:<bucket>`` (local: of its root), so every location is ``<name>:<path in bucket>``. A
connection's name is a DNS-1123 label, which never holds ``_``: no connection (``feature-store`` included)
can collide with another's backend.
Credentials are read from the env vars named in credentialEnv and never printed.

With ``--data-connection`` / ``--output-connection`` (the run's params), the run's connections are
checked first: the data connection must have the role ``data`` and the output one ``output``, else the
run stops here, before anything touches storage. Then only the connections the run uses are configured
(those two, and those with the role ``model`` or ``feedback``), so the empty credentials of a
connection the run does not use never stop it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

try:
    from . import _common as common
except ImportError:  # run as a plain file next to its siblings
    import _common as common  # type: ignore[no-redef,import-not-found]

PROG = "configure-rclone"
BACKEND = "_store"  # the suffix of a connection's backend remote
NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$")
TYPES = ("s3", "gcs", "azureblob", "local")
AUTHS = ("secret", "workloadIdentity", "anonymous", "none")
Section = List[Tuple[str, str]]


def _opt(conn: Dict[str, Any], key: str) -> Optional[str]:
    value = conn.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise common.Fail(f"connection {conn['name']!r}: {key} must be a string")
    return value


def _secret(conn: Dict[str, Any], field: str, required: bool = True) -> Optional[str]:
    env_map = conn.get("credentialEnv") or {}
    if not isinstance(env_map, dict):
        raise common.Fail(f"connection {conn['name']!r}: credentialEnv must be an object")
    var = env_map.get(field)
    if not var:
        if required:
            raise common.Fail(f"connection {conn['name']!r}: credentialEnv.{field} names no env var")
        return None
    value = os.environ.get(str(var), "")
    if not value.strip():
        if required:
            raise common.Fail(f"connection {conn['name']!r}: env var {var} ({field}) is missing or empty")
        return None
    return value.strip() if field != "serviceAccountJSON" else value


def _s3(conn: Dict[str, Any], auth: str) -> Section:
    endpoint = _opt(conn, "endpoint")
    sec: Section = [("type", "s3"), ("provider", "Other" if endpoint else "AWS")]
    sec.append(("env_auth", "true" if auth == "workloadIdentity" else "false"))
    if auth == "secret":
        sec.append(("access_key_id", _secret(conn, "accessKeyID") or ""))
        sec.append(("secret_access_key", _secret(conn, "secretAccessKey") or ""))
        token = _secret(conn, "sessionToken", required=False)
        if token:
            sec.append(("session_token", token))
    for key, value in (("region", _opt(conn, "region")), ("endpoint", endpoint)):
        if value:
            sec.append((key, value))
    if conn.get("pathStyle"):
        sec.append(("force_path_style", "true"))
    return [*sec, ("bucket_acl", "private"), ("no_check_bucket", "true")]


def _gcs(conn: Dict[str, Any], auth: str, config_dir: str) -> Section:
    sec: Section = [("type", "google cloud storage")]
    if auth == "secret":
        text = _secret(conn, "serviceAccountJSON") or ""
        try:
            json.loads(text)
        except ValueError:
            raise common.Fail(f"connection {conn['name']!r}: serviceAccountJSON is not valid JSON") from None
        path = os.path.join(config_dir, f"{conn['name']}-gcs-sa.json")
        _write_private(path, text)
        sec.append(("service_account_file", path))
    elif auth == "workloadIdentity":
        sec.append(("env_auth", "true"))
    elif auth == "anonymous":
        sec.append(("anonymous", "true"))
    for key, field in (("project_number", "project"), ("location", "region"), ("endpoint", "endpoint")):
        value = _opt(conn, field)
        if value:
            sec.append((key, value))
    return [*sec, ("bucket_policy_only", "true")]


def _azure(conn: Dict[str, Any], auth: str) -> Section:
    sec: Section = [("type", "azureblob")]
    account = _opt(conn, "account")
    if account:
        sec.append(("account", account))
    if auth == "secret":
        key = _secret(conn, "accountKey", required=False)
        sas = _secret(conn, "sasURL", required=False)
        if bool(key) == bool(sas):
            env_map = conn.get("credentialEnv") or {}
            names = ", ".join(str(env_map.get(f)) for f in ("accountKey", "sasURL") if env_map.get(f))
            raise common.Fail(
                f"connection {conn['name']!r}: exactly one of accountKey / sasURL must be set "
                f"(env vars: {names or 'none named'})"
            )
        sec.append(("key", key) if key else ("sas_url", sas or ""))
    elif auth == "workloadIdentity":
        sec.append(("env_auth", "true"))
    endpoint = _opt(conn, "endpoint")
    if endpoint:
        sec.append(("endpoint", endpoint))
    return sec


def _remotes(conn: Dict[str, Any], config_dir: str) -> List[Tuple[str, Section]]:
    name, kind, auth = conn["name"], conn.get("type"), conn.get("auth") or "none"
    if kind not in TYPES:
        raise common.Fail(f"connection {name!r}: unknown type {kind!r} (expected one of {', '.join(TYPES)})")
    if auth not in AUTHS:
        raise common.Fail(f"connection {name!r}: unknown auth {auth!r} (expected one of {', '.join(AUTHS)})")
    if kind == "local":
        root = _opt(conn, "root")
        if not root:
            raise common.Fail(f"connection {name!r}: a local connection needs a root")
        return [(f"{name}{BACKEND}", [("type", "local")]), (name, [("type", "alias"), ("remote", root)])]
    bucket = _opt(conn, "bucket")
    if not bucket:
        raise common.Fail(f"connection {name!r}: a {kind} connection needs a bucket")
    if kind == "s3":
        store = _s3(conn, auth)
    elif kind == "gcs":
        store = _gcs(conn, auth, config_dir)
    else:
        store = _azure(conn, auth)
    return [(f"{name}{BACKEND}", store), (name, [("type", "alias"), ("remote", f"{name}{BACKEND}:{bucket}")])]


def _write_private(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


def _load_connections() -> List[Dict[str, Any]]:
    raw = os.environ.get("ODAHU_CONNECTIONS")
    if raw is None:
        raise common.Fail("env var ODAHU_CONNECTIONS is not set")
    try:
        conns = json.loads(raw)
    except ValueError as exc:
        raise common.Fail(f"ODAHU_CONNECTIONS is not valid JSON: {exc}") from None
    if not isinstance(conns, list) or not all(isinstance(c, dict) for c in conns):
        raise common.Fail("ODAHU_CONNECTIONS must be a JSON list of objects")
    seen = set()
    for conn in conns:
        name = conn.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name) or name.endswith(BACKEND):
            raise common.Fail(f"connection name {name!r} is not a valid remote name")
        if name in seen:
            raise common.Fail(f"connection {name!r} is defined twice")
        seen.add(name)
    return conns


def render(conns: List[Dict[str, Any]], config_dir: str) -> Tuple[str, List[str]]:
    """The config text and one log line per remote (no secrets)."""
    blocks: List[str] = []
    lines: List[str] = []
    for conn in conns:
        for remote, section in _remotes(conn, config_dir):
            body = []
            for key, value in section:
                if any(ch in value for ch in "\r\n\0"):
                    raise common.Fail(f"connection {conn['name']!r}: {key} contains a line break")
                body.append(f"{key} = {value}")
            blocks.append(f"[{remote}]\n" + "\n".join(body) + "\n")
            target = dict(section).get("remote") or conn.get("type")
            lines.append(
                f"remote {remote!r}: {dict(section)['type']} ({target}, auth {conn.get('auth') or 'none'})"
            )
    return "\n".join(blocks), lines


def select(conns: List[Dict[str, Any]], data: Optional[str], output: Optional[str]) -> List[Dict[str, Any]]:
    """The connections of this run, after checking that it may use them for what it asks."""
    if data is None and output is None:
        return conns
    by_name = {conn["name"]: conn for conn in conns}
    wanted = set()
    for name, role, verb in ((data, "data", "read input from"), (output, "output", "write output to")):
        if name is None:
            continue
        allowed = [c["name"] for c in conns if role in (c.get("roles") or [])]
        if name not in allowed:
            raise common.Fail(
                f"this service may not {verb} connection {name!r}; it may use: {', '.join(allowed) or 'none'}"
                " (InferenceService spec.triggers.webhook.allowedConnections; a readOnly connection is never"
                " an output)"
            )
        wanted.add(name)
    fixed = [c["name"] for c in conns if {"model", "feedback"} & set(c.get("roles") or [])]
    return [by_name[name] for name in by_name if name in wanted or name in fixed]


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="rclone config file to write (mode 0600)")
    parser.add_argument("--data-connection", help="the run's data connection: it must have the role data")
    parser.add_argument(
        "--output-connection", help="the run's output connection: it must have the role output"
    )
    args = parser.parse_args(argv)
    config_dir = os.path.dirname(os.path.abspath(args.config))
    conns = select(_load_connections(), args.data_connection, args.output_connection)
    text, lines = render(conns, config_dir)
    _write_private(args.config, text)
    for line in lines:
        common.log(PROG, line)
    common.log(PROG, f"wrote {args.config} ({len(lines)} remotes)")
    return 0


if __name__ == "__main__":
    sys.exit(common.run_main(PROG, main, None))
