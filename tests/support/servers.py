"""Real object-storage protocol servers and sinks on 127.0.0.1, for end-to-end tests.

Every server is started by the test on a free port and stopped by its own PID (SIGTERM, then SIGKILL after a
bounded wait). Use them as context managers::

    with MotoS3Server() as s3:
        s3.create_bucket("data")
        run_rclone(["copy", src, "s3t:data/in"], env=s3.rclone_env("s3t"))

What each server gives rclone:

- ``rclone_options()``: the backend options (``type``, ``endpoint``, credentials, ...);
- ``rclone_env(remote)``: the same as ``RCLONE_CONFIG_<REMOTE>_*`` variables;
- ``rclone_config(name, bucket)``: an rclone config file in the product's layout, a ``[<name>_store]``
  backend remote plus a ``[<name>]`` alias remote (``remote = <name>_store:<bucket>``), so that locations
  are addressed as ``<name>:<path>``; ``rclone_alias_env(name, bucket)`` is the same as variables;
- ``create_bucket(name)``, ``endpoint``, ``port`` and the credentials as attributes.

For fault tests: ``kill()`` sends SIGKILL to the server's PID and ``restart()`` starts it again on the same
port. What survives a restart:

- ``AzuriteServer``: everything after ``stop()``; after ``kill()`` only what Azurite had already saved (it
  writes its metadata about every 5 s, so containers and blobs made in the last seconds are lost unless
  ``wait_saved()`` was called before the kill);
- ``GcsEmulator(in_memory=False)``: everything (the default ``in_memory=True`` loses everything);
- ``MotoS3Server``: nothing, moto keeps everything in memory: after a restart every bucket is gone, so a
  fault test re-creates the bucket and re-uploads its input.

A server whose program is not installed skips the test (fails it when ``CI`` is set): run
``bash scripts/setup.sh``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import signal
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from .rclone import (
    REPO_ROOT,
    alias_options,
    config_section,
    find_executable,
    missing_binary,
    options_to_env,
    rclone_bin,
    rclone_env,
    run_rclone,
)

__all__ = [
    "AZURITE_ACCOUNT",
    "AZURITE_KEY",
    "LOOPBACK",
    "AzuriteServer",
    "FluentdEvent",
    "FluentdSink",
    "GcsEmulator",
    "HttpSink",
    "MotoS3Server",
    "ProcessServer",
    "RcloneS3Server",
    "ReceivedRequest",
    "ServerStartError",
    "free_port",
    "rclone_bin",
    "rclone_env",
    "unique_bucket",
    "wait_until",
]

LOOPBACK = "127.0.0.1"

# Azurite's well-known development account (documented by Microsoft; not a secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

AZURITE_BIN = REPO_ROOT / ".cache" / "npm" / "node_modules" / ".bin" / "azurite-blob"

# A proxy-free opener for readiness probes: loopback traffic must never go through a proxy.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ServerStartError(RuntimeError):
    """A server did not come up in time (the message carries the tail of its log)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def _http_answers(url: str, timeout: float = 1.0) -> bool:
    """True when something answers HTTP at ``url`` (any status code counts)."""
    try:
        with _DIRECT.open(url, timeout=timeout) as response:
            response.read()
        return True
    except urllib.error.HTTPError as exc:
        exc.close()
        return True
    except (OSError, ValueError):
        return False


class _Managed:
    """Context-manager plumbing shared by every server."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class _ThreadedSink(_Managed):
    """A socketserver on 127.0.0.1 served from a thread of the test process; data survives restarts."""

    host: str
    port: int
    _server: socketserver.BaseServer | None = None
    _thread: threading.Thread | None = None

    def _make_server(self) -> socketserver.BaseServer:
        raise NotImplementedError

    def start(self) -> Self:
        if self._server is not None:
            return self
        server = self._make_server()
        address = server.server_address
        assert isinstance(address, tuple)
        self.port = int(address[1])
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    kill = stop

    def restart(self) -> Self:
        """Stop and listen again on the same port; what was collected is kept."""
        self.stop()
        return self.start()


class ProcessServer(_Managed):
    """A server program run as a child process on 127.0.0.1.

    Subclasses give the command line (``_command``), the readiness probe (``_is_ready``) and rclone's
    backend options (``rclone_options``).
    """

    #: Name used in messages.
    label = "server"
    #: How long to wait for readiness after the process was spawned.
    startup_timeout = 30.0
    #: How long SIGTERM may take before SIGKILL follows.
    stop_timeout = 10.0

    def __init__(self, *, port: int | None = None, workdir: Path | None = None) -> None:
        self._fixed_port = port is not None
        self.port: int = port if port is not None else free_port()
        self.host = LOOPBACK
        self._own_workdir = workdir is None
        self.workdir: Path = (
            Path(tempfile.mkdtemp(prefix=f"odahu-{self.label}-")) if workdir is None else Path(workdir)
        )
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path: Path = self.workdir / f"{self.label}.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None  # the open log file handed to the child

    # --- to be given by subclasses ---------------------------------------------------------------------
    def _command(self) -> list[str]:
        raise NotImplementedError

    def _child_env(self) -> dict[str, str]:
        return rclone_env()

    def _is_ready(self) -> bool:
        return _http_answers(self.endpoint + "/")

    def rclone_options(self) -> dict[str, str]:
        """rclone backend options for this server (``type`` first)."""
        raise NotImplementedError

    # --- addresses ---------------------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        """Base URL of the server, e.g. ``http://127.0.0.1:PORT``."""
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """PID of the running server process, if any."""
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # --- lifecycle -----------------------------------------------------------------------------------------
    def start(self) -> Self:
        """Start the server and wait until it answers; retries on a new port if the free one was taken."""
        if self.running:
            return self
        attempts = 1 if self._fixed_port else 3
        for attempt in range(attempts):
            try:
                self._spawn_and_wait()
                return self
            except ServerStartError:
                self._reap()
                if attempt + 1 == attempts:
                    raise
                self.port = free_port()
        raise AssertionError("unreachable")

    def _spawn_and_wait(self) -> None:
        command = self._command()
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in _reap()
        self._log.write(f"\n=== start: {' '.join(command)}\n".encode())
        self._log.flush()
        try:
            self._proc = subprocess.Popen(
                command,
                cwd=self.workdir,
                env=self._child_env(),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise ServerStartError(f"{self.label}: cannot run {command[0]}: {exc}") from exc
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise ServerStartError(
                    f"{self.label} exited with code {self._proc.returncode} while starting on port "
                    f"{self.port}\n--- log tail ({self.log_path}) ---\n{self.log_tail()}"
                )
            if self._is_ready():
                return
            time.sleep(0.1)
        raise ServerStartError(
            f"{self.label} did not answer on {self.endpoint} within {self.startup_timeout:.0f} s\n"
            f"--- log tail ({self.log_path}) ---\n{self.log_tail()}"
        )

    def _signal(self, sig: signal.Signals) -> None:
        if self._proc is not None and self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._proc.pid, sig)

    def _reap(self, timeout: float = 0.0) -> None:
        """Wait for the process (SIGKILL after ``timeout``), then close the log file."""
        if self._proc is not None:
            try:
                self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self._proc.wait(timeout=10)
            if self._proc.poll() is None:  # pragma: no cover - kill -9 did not work
                raise RuntimeError(f"{self.label} (pid {self._proc.pid}) did not exit")
            self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self, timeout: float | None = None) -> None:
        """SIGTERM to the server's PID, SIGKILL after ``timeout`` (default ``stop_timeout``) seconds."""
        self._signal(signal.SIGTERM)
        self._reap(self.stop_timeout if timeout is None else timeout)

    def kill(self) -> None:
        """SIGKILL to the server's PID (a crash, for fault tests); ``restart()`` brings it back."""
        self._signal(signal.SIGKILL)
        self._reap(5.0)

    def restart(self) -> Self:
        """Stop (if still running) and start again on the same port. See the module doc about data."""
        self.stop()
        self._fixed_port = True
        return self.start()

    def close(self) -> None:
        """Stop the server and remove its working folder if this object made it."""
        self.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:  # a failed start or a skip: leave nothing behind
            self.close()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def log_tail(self, lines: int = 40) -> str:
        """Last lines of the server's log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    # --- rclone ----------------------------------------------------------------------------------------
    def rclone_env(self, remote: str) -> dict[str, str]:
        """``RCLONE_CONFIG_<REMOTE>_*`` variables defining remote ``remote`` for this server."""
        return options_to_env(remote, self.rclone_options())

    def rclone_alias_env(self, name: str, bucket: str) -> dict[str, str]:
        """The product's layout as variables: remote ``<name>_store`` plus alias ``<name>`` on its bucket."""
        env = options_to_env(f"{name}_store", self.rclone_options())
        env.update(options_to_env(name, alias_options(f"{name}_store:{bucket}")))
        return env

    def rclone_config(self, name: str, bucket: str) -> str:
        """An rclone config file in the product's layout: ``[<name>_store]`` plus alias ``[<name>]``."""
        return (
            config_section(f"{name}_store", self.rclone_options())
            + "\n"
            + config_section(name, alias_options(f"{name}_store:{bucket}"))
        )

    def create_bucket(self, name: str) -> None:
        """Create bucket (container) ``name`` with ``rclone mkdir``."""
        run_rclone(["--retries", "1", "mkdir", f"srv:{name}"], env=self.rclone_env("srv"), timeout=30)


class MotoS3Server(ProcessServer):
    """moto's S3 server: ``moto_server -H 127.0.0.1 -p PORT``.

    Keeps everything in memory: after ``kill()``/``restart()`` all buckets and objects are gone.
    """

    label = "moto-s3"
    access_key_id = "test"
    secret_access_key = "test"
    region = "us-east-1"

    def _command(self) -> list[str]:
        exe = find_executable("moto_server")
        if exe is None:
            missing_binary("moto_server (PyPI moto[server])")
        return [str(exe), "-H", self.host, "-p", str(self.port)]

    def rclone_options(self) -> dict[str, str]:
        return {
            "type": "s3",
            "provider": "Other",
            "env_auth": "false",
            "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key,
            "region": self.region,
            "endpoint": self.endpoint,
            "force_path_style": "true",
        }


class RcloneS3Server(MotoS3Server):
    """rclone's own S3 server (``rclone serve s3``), serving a folder: each top-level folder is a bucket.

    Written in Go and multi-threaded, it is the store for measurements where moto, one Python process,
    would be the bottleneck. Objects live on disk in ``workdir/data``, so they survive ``restart()``.
    """

    label = "rclone-s3"

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    def _command(self) -> list[str]:
        self.data_dir.mkdir(exist_ok=True)
        auth = f"{self.access_key_id},{self.secret_access_key}"
        return [str(rclone_bin()), "serve", "s3", "--addr", f"{self.host}:{self.port}", "--auth-key", auth,
                "--force-path-style", "--log-level", "NOTICE", str(self.data_dir)]  # fmt: skip


class AzuriteServer(ProcessServer):
    """Azurite's Blob service (npm ``azurite``), account ``devstoreaccount1`` with the development key.

    Data lives in ``location`` (a folder under ``workdir``) and survives ``stop()``/``restart()``. After
    ``kill()`` changes from the last ~5 s are lost (Azurite saves its metadata every ~5 s and on SIGTERM):
    call ``wait_saved()`` before ``kill()`` when they must survive.
    """

    label = "azurite"
    account = AZURITE_ACCOUNT
    key = AZURITE_KEY

    @property
    def location(self) -> Path:
        return self.workdir / "data"

    @property
    def account_url(self) -> str:
        """``http://127.0.0.1:PORT/devstoreaccount1``: the blob endpoint rclone and the SDK use."""
        return f"{self.endpoint}/{self.account}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={self.account};AccountKey={self.key};"
            f"BlobEndpoint={self.account_url};"
        )

    def _command(self) -> list[str]:
        if not AZURITE_BIN.exists():
            missing_binary(f"azurite ({AZURITE_BIN})")
        if shutil.which("node") is None:
            missing_binary("node (needed by azurite)")
        self.location.mkdir(parents=True, exist_ok=True)
        return [
            str(AZURITE_BIN),
            "--blobHost",
            self.host,
            "--blobPort",
            str(self.port),
            "--location",
            str(self.location),
            "--silent",
            "--skipApiVersionCheck",
            "--loose",
        ]

    def rclone_options(self) -> dict[str, str]:
        """Account + key + endpoint (works with rclone >= 1.6x from PyPI, not with Debian's 1.60)."""
        return {
            "type": "azureblob",
            "account": self.account,
            "key": self.key,
            "endpoint": self.account_url,
        }

    def wait_saved(self, timeout: float = 6.0) -> None:
        """Return once Azurite has written to disk every change made before this call.

        Azurite saves its metadata databases every 5 s (when changed) and on SIGTERM. Call this before
        ``kill()`` when data set up just before must survive the crash. Bounded by ``timeout``.
        """
        since = time.time()
        databases = [self.location / f"__azurite_db_blob{part}__.json" for part in ("", "_extent")]

        def saved() -> bool:
            return all(db.exists() and db.stat().st_mtime > since for db in databases)

        wait_until(saved, timeout, 0.1)

    def container_sas_token(self, container: str, *, hours: float = 2.0) -> str:
        """A container SAS token (read, add, create, write, delete, list) from azure-storage-blob."""
        from azure.storage.blob import ContainerSasPermissions, generate_container_sas

        now = dt.datetime.now(dt.UTC)
        token: str = generate_container_sas(
            account_name=self.account,
            container_name=container,
            account_key=self.key,
            permission=ContainerSasPermissions(
                read=True, add=True, create=True, write=True, delete=True, list=True
            ),
            start=now - dt.timedelta(minutes=5),
            expiry=now + dt.timedelta(hours=hours),
        )
        return token

    def container_sas_url(self, container: str, *, hours: float = 2.0) -> str:
        """``http://127.0.0.1:PORT/devstoreaccount1/<container>?<sas>``; the container must exist."""
        return f"{self.account_url}/{container}?{self.container_sas_token(container, hours=hours)}"

    def rclone_sas_options(self, container: str) -> dict[str, str]:
        """Backend options using only a container SAS URL (how ODAHU configured Azure).

        Paths on such a remote still start with the container name: ``remote:<container>/<path>``.
        """
        return {"type": "azureblob", "sas_url": self.container_sas_url(container)}

    def rclone_sas_env(self, remote: str, container: str) -> dict[str, str]:
        return options_to_env(remote, self.rclone_sas_options(container))

    def rclone_sas_config(self, name: str, container: str) -> str:
        """Product layout with a SAS URL: ``[<name>_store]`` (sas_url) plus alias ``[<name>]``."""
        return (
            config_section(f"{name}_store", self.rclone_sas_options(container))
            + "\n"
            + config_section(name, alias_options(f"{name}_store:{container}"))
        )


class GcsEmulator(ProcessServer):
    """PyPI ``gcp-storage-emulator``: ``gcp-storage-emulator start --host 127.0.0.1 --port PORT``.

    With ``in_memory=True`` (the default, ``--in-memory``) data is lost on ``kill()``/``restart()``; with
    ``in_memory=False`` it is kept on disk under ``workdir`` and survives them.
    """

    label = "gcs-emulator"
    project_number = "test"

    def __init__(
        self, *, port: int | None = None, workdir: Path | None = None, in_memory: bool = True
    ) -> None:
        super().__init__(port=port, workdir=workdir)
        self.in_memory = in_memory

    def _command(self) -> list[str]:
        exe = find_executable("gcp-storage-emulator")
        if exe is None:
            missing_binary("gcp-storage-emulator (PyPI)")
        command = [str(exe), "start", "--host", self.host, "--port", str(self.port)]
        if self.in_memory:
            command.append("--in-memory")
        return command

    def _child_env(self) -> dict[str, str]:
        env = rclone_env()
        env["STORAGE_BASE"] = str(self.workdir)
        env["STORAGE_DIR"] = "storage"
        env.pop("PORT", None)
        env.pop("HOST", None)
        return env

    def rclone_options(self) -> dict[str, str]:
        return {
            "type": "googlecloudstorage",
            "anonymous": "true",
            "endpoint": self.endpoint,
            "project_number": self.project_number,
        }


# ----------------------------------------------------------------------------------------------------------
# In-process sinks
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedRequest:
    """One request an :class:`HttpSink` received, and the status it answered with."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


class _SinkHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sink: HttpSink


class _SinkHandler(BaseHTTPRequestHandler):
    server: _SinkHTTPServer
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        body = self._read_body()
        status, payload, content_type = self.server.sink._record(
            self.command, self.path, dict(self.headers.items()), body
        )
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_POST = _handle
    do_PUT = _handle

    def do_GET(self) -> None:
        payload = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class HttpSink(_ThreadedSink):
    """A real ``http.server.ThreadingHTTPServer`` on 127.0.0.1 that collects POSTed (and PUT) bodies.

    ``fail_first=N`` (or :meth:`fail_next`) makes the next N POST/PUT requests answer ``fail_status``
    (500) without counting as received, to test clients' retries. GET answers 200 (a health check).
    """

    def __init__(
        self,
        *,
        fail_first: int = 0,
        fail_status: int = 500,
        response_body: bytes = b"{}",
        response_content_type: str = "application/json",
    ) -> None:
        self.host = LOOPBACK
        self.port = 0
        self.response_body = response_body
        self.response_content_type = response_content_type
        self._lock = threading.Lock()
        self._fail_remaining = fail_first
        self._fail_status = fail_status
        self._requests: list[ReceivedRequest] = []
        self._received = threading.Condition(self._lock)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{self.host}:{self.port}"

    endpoint = url

    def fail_next(self, count: int, status: int = 500) -> None:
        """Answer the next ``count`` POST/PUT requests with ``status``."""
        with self._lock:
            self._fail_remaining = count
            self._fail_status = status

    def _record(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes, str]:
        with self._received:
            if self._fail_remaining > 0:
                self._fail_remaining -= 1
                status, payload = self._fail_status, b'{"error": "injected failure"}'
            else:
                status, payload = 200, self.response_body
            self._requests.append(ReceivedRequest(method, path, headers, body, status))
            self._received.notify_all()
        return status, payload, self.response_content_type

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Every POST/PUT request, failed ones included, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def bodies(self) -> list[bytes]:
        """Bodies of the requests that were accepted (answered 200), in arrival order."""
        with self._lock:
            return [r.body for r in self._requests if r.status == 200]

    @property
    def failed(self) -> int:
        """How many requests were answered with the injected failure status."""
        with self._lock:
            return sum(1 for r in self._requests if r.status != 200)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[bytes]:
        """Wait (bounded) until ``count`` bodies were accepted; returns them. Raises TimeoutError."""
        deadline = time.monotonic() + timeout
        with self._received:
            while True:
                accepted = [r.body for r in self._requests if r.status == 200]
                if len(accepted) >= count:
                    return accepted
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"HttpSink got {len(accepted)} of {count} bodies in {timeout} s")
                self._received.wait(remaining)

    def _make_server(self) -> socketserver.BaseServer:
        server = _SinkHTTPServer((self.host, self.port), _SinkHandler)
        server.sink = self
        return server


class _FluentdTCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    sink: FluentdSink


class _FluentdHandler(socketserver.BaseRequestHandler):
    server: _FluentdTCPServer

    def handle(self) -> None:
        sink = self.server.sink
        sock: socket.socket = self.request
        sock.settimeout(sink.connection_timeout)
        unpacker = sink._new_unpacker()
        index = sink._open_connection()
        while True:
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, OSError):
                break
            if not chunk:
                break
            sink._add_bytes(index, chunk)
            if unpacker is None:
                continue
            unpacker.feed(chunk)
            for message in unpacker:
                sink._add_message(message)
                ack = _forward_chunk_id(message)
                if ack is not None and sink.ack:
                    with contextlib.suppress(OSError):
                        sock.sendall(sink._pack({"ack": ack}))


def _forward_chunk_id(message: Any) -> Any:
    """The ``chunk`` option of a forward-protocol message, if it asks for an ack."""
    if isinstance(message, list) and message and isinstance(message[-1], dict):
        return message[-1].get("chunk")
    return None


@dataclass
class FluentdEvent:
    """One decoded event: tag, time (seconds, float for EventTime) and record."""

    tag: str
    time: float
    record: dict[str, Any] = field(default_factory=dict)


class FluentdSink(_ThreadedSink):
    """A TCP server on 127.0.0.1 collecting the raw bytes of fluentd forward-protocol messages.

    ``raw`` is every byte received (per connection in ``connections``); ``messages`` the msgpack objects
    decoded from them and ``events()`` those flattened to (tag, time, record), for the Message, Forward
    and PackedForward modes (gzip CompressedPackedForward too). When a message carries the ``chunk``
    option the sink answers ``{"ack": chunk}`` (turn off with ``ack=False``).
    """

    connection_timeout = 30.0

    def __init__(self, *, ack: bool = True) -> None:
        self.host = LOOPBACK
        self.port = 0
        self.ack = ack
        self._lock = threading.Condition()
        self._connections: list[bytearray] = []
        self._messages: list[Any] = []

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def endpoint(self) -> str:
        """``127.0.0.1:PORT`` (host:port, as fluentd clients are configured)."""
        return f"{self.host}:{self.port}"

    # --- called by the handler ---------------------------------------------------------------------
    def _new_unpacker(self) -> Any:
        try:
            import msgpack
        except ImportError:  # pragma: no cover - msgpack is a test dependency
            return None
        return msgpack.Unpacker(raw=False, ext_hook=_ext_hook, strict_map_key=False)

    def _pack(self, obj: Any) -> bytes:
        import msgpack

        packed: bytes = msgpack.packb(obj)
        return packed

    def _open_connection(self) -> int:
        with self._lock:
            self._connections.append(bytearray())
            return len(self._connections) - 1

    def _add_bytes(self, index: int, chunk: bytes) -> None:
        with self._lock:
            self._connections[index] += chunk
            self._lock.notify_all()

    def _add_message(self, message: Any) -> None:
        with self._lock:
            self._messages.append(message)
            self._lock.notify_all()

    # --- for tests ----------------------------------------------------------------------------------
    @property
    def raw(self) -> bytes:
        """All bytes received, connection after connection."""
        with self._lock:
            return b"".join(bytes(c) for c in self._connections)

    @property
    def connections(self) -> list[bytes]:
        with self._lock:
            return [bytes(c) for c in self._connections]

    @property
    def messages(self) -> list[Any]:
        """Decoded msgpack objects, in arrival order."""
        with self._lock:
            return list(self._messages)

    def events(self) -> list[FluentdEvent]:
        """Every event in the received messages, flattened."""
        events: list[FluentdEvent] = []
        for message in self.messages:
            events.extend(_events_of(message))
        return events

    def wait_for_events(self, count: int, timeout: float = 10.0) -> list[FluentdEvent]:
        """Wait (bounded) until ``count`` events arrived; returns them. Raises TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            events = self.events()
            if len(events) >= count:
                return events
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"FluentdSink got {len(events)} of {count} events in {timeout} s")
            with self._lock:
                self._lock.wait(min(remaining, 0.2))

    def _make_server(self) -> socketserver.BaseServer:
        server = _FluentdTCPServer((self.host, self.port), _FluentdHandler)
        server.sink = self
        return server


def _ext_hook(code: int, data: bytes) -> Any:
    """Decode fluentd's EventTime (ext type 0: seconds and nanoseconds, big-endian) to float seconds."""
    import msgpack

    if code == 0 and len(data) == 8:
        return int.from_bytes(data[:4], "big") + int.from_bytes(data[4:], "big") / 1e9
    return msgpack.ExtType(code, data)


def _events_of(message: Any) -> list[FluentdEvent]:
    if not isinstance(message, list) or len(message) < 2 or not isinstance(message[0], str):
        return []
    tag, second = message[0], message[1]
    if isinstance(second, int | float) and len(message) >= 3 and isinstance(message[2], dict):
        return [FluentdEvent(tag, float(second), message[2])]  # Message mode
    if isinstance(second, list):  # Forward mode
        return [
            FluentdEvent(tag, float(entry[0]), entry[1])
            for entry in second
            if isinstance(entry, list) and len(entry) == 2
        ]
    if isinstance(second, bytes | str):  # PackedForward / CompressedPackedForward
        import gzip

        import msgpack

        data = second.encode("latin-1") if isinstance(second, str) else second
        option = message[2] if len(message) > 2 and isinstance(message[2], dict) else {}
        if option.get("compressed") == "gzip":
            data = gzip.decompress(data)
        unpacker = msgpack.Unpacker(raw=False, ext_hook=_ext_hook, strict_map_key=False)
        unpacker.feed(data)
        return [FluentdEvent(tag, float(entry[0]), entry[1]) for entry in unpacker]
    return []


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds passed; returns the last result."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def unique_bucket(prefix: str = "b") -> str:
    """A bucket name unique in this session, valid for S3, Azure containers and GCS (lower-case, 3-63)."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"
