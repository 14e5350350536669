"""feedback.py against real sinks on 127.0.0.1: fluentd forward (decoded with msgpack), HTTP, rclone, none."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import msgpack
import pytest

from compiler.runtime._msgpack import EventTime, Truncated, pack, unpack

from .conftest import run_program


class ForwardServer:
    """A minimal fluentd in_forward: collects decoded messages; with ack=True answers each chunk."""

    def __init__(self, ack: bool = False) -> None:
        self.ack = ack
        self.messages: list[Any] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                unpacker = msgpack.Unpacker(raw=False)
                while True:
                    data = conn.recv(65536)
                    if not data:
                        break
                    unpacker.feed(data)
                    for message in unpacker:
                        self.messages.append(message)
                        if self.ack:
                            conn.sendall(msgpack.packb({"ack": message[2]["chunk"]}))

    def __enter__(self) -> ForwardServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


class HttpSink:
    """An HTTP server that records POST bodies and answers with the next status of ``statuses`` (then 200)."""

    def __init__(self, statuses: tuple[int, ...] = ()) -> None:
        self.bodies: list[tuple[str, bytes]] = []
        self.authorization: list[str | None] = []
        self.statuses = list(statuses)
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = sink.statuses.pop(0) if sink.statuses else 200
                if status == 200:
                    sink.bodies.append((self.headers["Content-Type"], body))
                    sink.authorization.append(self.headers.get("Authorization"))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/feedback"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    def __enter__(self) -> HttpSink:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    (src / "b.json").write_text('{"inputs": []}')
    (src / "sub" / "a.json").write_text('{"inputs": ["ü"]}')
    (src / "skip.txt").write_text("not logged")
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"name": "multiplier", "version": "1"}))
    return src


def _feedback(src: Path, kind: str, sink: str, *extra: str, env: dict[str, str] | None = None) -> Any:
    args = [kind, str(src), "--sink", sink, "--model-meta", str(src.parent / "meta.json"), *extra]
    return run_program("feedback", args, env=env, timeout=60)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize("ack", [False, True])
def test_fluentd_forward_mode(files: Path, ack: bool) -> None:
    with ForwardServer(ack=ack) as server:
        url = f"fluentd://127.0.0.1:{server.port}" + ("?ack=true" if ack else "")
        result = _feedback(files, "request", url, "--request-id", "rid-1", "--shard", "3")
        assert result.returncode == 0, result.stderr
        deadline = time.monotonic() + 5
        while not server.messages and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(server.messages) == 1
    message = server.messages[0]
    assert message[0] == "request_response"
    assert len(message) == (3 if ack else 2)
    entries = message[1]
    assert [isinstance(t, int) for t, _ in entries] == [True, True]
    assert [record for _, record in entries] == [
        {"request_id": "rid-1", "model_name": "multiplier", "model_version": "1",
         "request_content": '{"inputs": []}', "file": "b.json", "shard": "3"},
        {"request_id": "rid-1", "model_name": "multiplier", "model_version": "1",
         "request_content": '{"inputs": ["ü"]}', "file": "sub/a.json", "shard": "3"},
    ]  # fmt: skip
    assert "sent 2 records" in result.stdout


def test_http_sink_batches_and_retries(files: Path) -> None:
    for i in range(5):
        (files / f"x{i}.json").write_text("{}")
    with HttpSink(statuses=(503,)) as sink:
        env = {"ODAHU_RUN_UID": "uid-from-taskrun"}
        result = _feedback(files, "response", sink.url, "--batch-size", "3", "--request-id", "", env=env)
    assert result.returncode == 0, result.stderr
    assert [ctype for ctype, _ in sink.bodies] == ["application/x-ndjson"] * 3
    lines = [json.loads(line) for _, body in sink.bodies for line in body.decode().splitlines()]
    assert len(lines) == 7
    assert {line["tag"] for line in lines} == {"response_body"}
    assert all(isinstance(line["time"], int) for line in lines)
    assert lines[0]["record"]["request_id"] == "uid-from-taskrun"
    assert lines[0]["record"]["response_content"] == '{"inputs": []}'
    assert [line["record"]["file"] for line in lines][-1] == "x4.json"


def test_http_client_error_is_not_retried(files: Path) -> None:
    with HttpSink(statuses=(400, 400, 400)) as sink:
        result = _feedback(files, "request", sink.url, "--request-id", "r", "--retries", "5")
    assert result.returncode == 1
    assert "HTTP 400" in result.stderr
    assert sink.statuses == [400, 400], "a 4xx answer is final"


@pytest.mark.parametrize("scheme", ["fluentd", "http"])
def test_unreachable_sink_fails_in_bounded_time(files: Path, scheme: str) -> None:
    url = f"{scheme}://127.0.0.1:{_free_port()}/x"
    start = time.monotonic()
    result = _feedback(files, "request", url, "--request-id", "r", "--timeout", "3", "--retries", "10")
    assert time.monotonic() - start < 20
    assert result.returncode == 1
    assert "unreachable after 0 records" in result.stderr
    assert "Traceback" not in result.stderr
    warned = _feedback(
        files, "request", url, "--request-id", "r", "--timeout", "2", "--on-unreachable", "warn"
    )
    assert warned.returncode == 0
    assert "warning" in warned.stderr


def test_rclone_sink(files: Path, local_remote: dict[str, str]) -> None:
    extra = [
        "--request-id",
        "rid",
        "--shard",
        "0",
        "--rclone",
        local_remote["rclone"],
        "--config",
        local_remote["config"],
    ]
    result = _feedback(files, "request", "rclone:data:feedback/in", *extra)
    assert result.returncode == 0, result.stderr
    uploaded = Path(local_remote["store"]) / "feedback" / "in" / "rid-request_response-0.jsonl"
    lines = [json.loads(line) for line in uploaded.read_text().splitlines()]
    assert [line["record"]["file"] for line in lines] == ["b.json", "sub/a.json"]
    assert lines[1]["record"]["request_content"] == '{"inputs": ["ü"]}'


def test_rclone_sink_failure_follows_the_policy(files: Path, tmp_path: Path) -> None:
    extra = ["--request-id", "rid", "--rclone", str(tmp_path / "no-rclone")]
    assert _feedback(files, "request", "rclone:data:x", *extra).returncode == 1
    assert _feedback(files, "request", "rclone:data:x", *extra, "--on-unreachable", "warn").returncode == 0


def test_none_sink_and_missing_request_id(files: Path) -> None:
    result = _feedback(files, "request", "none")
    assert result.returncode == 0
    assert "nothing sent" in result.stdout
    no_id = _feedback(files, "request", "http://127.0.0.1:1/", env={"ODAHU_RUN_UID": ""})
    assert no_id.returncode == 1
    assert "no request id" in no_id.stderr
    bad = _feedback(files, "request", "kafka://x", "--request-id", "r")
    assert bad.returncode == 1
    assert "unknown sink" in bad.stderr


@pytest.mark.parametrize(
    "value",
    [None, True, False, 0, 127, 128, 255, 256, 65535, 65536, 2**32, 2**64 - 1, -1, -32, -33, -128, -129,
     -(2**15) - 1, -(2**31) - 1, -(2**63), 1.5, "", "a" * 31, "a" * 32, "é" * 200, "a" * 70000, b"x" * 300,
     [1] * 15, [1] * 16, [1] * 70000, {str(i): i for i in range(15)}, {str(i): [i] for i in range(16)},
     {"tag": ["x", [[1, {"k": None}]]]}],
)  # fmt: skip
def test_msgpack_matches_the_library(value: Any) -> None:
    encoded = pack(value)
    assert encoded == msgpack.packb(value, use_bin_type=True)
    assert unpack(encoded) == value


def test_msgpack_event_time_and_truncation() -> None:
    decoded = msgpack.unpackb(pack(EventTime(1700000000, 5)), ext_hook=lambda code, data: (code, data))
    assert decoded == (0, (1700000000).to_bytes(4, "big") + (5).to_bytes(4, "big"))
    with pytest.raises(Truncated):
        unpack(pack({"ack": "abc"})[:-1])
    with pytest.raises(ValueError, match="too large"):
        pack(2**64)


def test_http_sink_authorization_from_the_env_and_the_url_redacted_in_the_log(files: Path) -> None:
    """The header comes from the secretKeyRef env var; a token in the URL's query never reaches the log."""
    with HttpSink() as sink:
        url = sink.url + "?token=S3CRET-QUERY&x=1"
        env = {"ODAHU_FEEDBACK_AUTHORIZATION": "Bearer S3CRET-HEADER"}
        result = _feedback(files, "request", url, "--request-id", "r", env=env)
    assert result.returncode == 0, result.stderr
    assert sink.authorization == ["Bearer S3CRET-HEADER"]
    assert f"sent 2 records to {sink.url}?<redacted>" in result.stdout
    assert "S3CRET" not in result.stdout + result.stderr
    port = _free_port()
    dead = f"http://u:S3CRET@127.0.0.1:{port}/x?sig=S3CRET"
    failed = _feedback(
        files,
        "request",
        dead,
        "--request-id",
        "r",
        "--retries",
        "0",
        "--timeout",
        "5",
        "--on-unreachable",
        "warn",
    )
    assert failed.returncode == 0
    assert f"sink http://127.0.0.1:{port}/x?<redacted> unreachable" in failed.stderr
    assert "S3CRET" not in failed.stdout + failed.stderr
