"""log-input / log-output: send one feedback record per file to the configured sink (ODAHU's tags and fields).

Usage: feedback.py request|response SRC_DIR --request-id ID --sink URL [--model-meta FILE | --model-name N
       --model-version V] [--on-unreachable fail|warn] [--batch-size N] [--timeout S] [--retries N]
       [--shard ID] [--rclone PATH] [--config FILE]

Records: tag ``request_response`` (requests) or ``response_body`` (responses); fields ``request_id``,
``model_name``, ``model_version``, ``request_content`` / ``response_content`` (the file's text), ``file``
and ``shard``. Sinks: ``fluentd://host:port[?ack=true]`` (forward protocol, Forward mode, msgpack),
``http(s)://...`` (POST of JSON lines per batch), ``rclone:CONN:PATH`` (a JSON-lines file uploaded as
``PATH/<request-id>-<tag>[-<shard>].jsonl``) and ``none``. Batches of --batch-size records or 1 MB; retries
with exponential backoff inside --timeout seconds overall; an unreachable sink fails the step or, with
--on-unreachable warn, is reported and skipped.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple
from urllib.parse import parse_qs, urlsplit

try:
    from . import _common as common
    from ._msgpack import Truncated, pack, unpack
except ImportError:  # run as a plain file next to its siblings
    import _common as common  # type: ignore[no-redef,import-not-found]
    from _msgpack import Truncated, pack, unpack  # type: ignore[no-redef,import-not-found]

TAGS = {"request": ("request_response", "request_content"), "response": ("response_body", "response_content")}
MAX_BATCH_BYTES = 1 << 20
AUTHORIZATION_ENV = "ODAHU_FEEDBACK_AUTHORIZATION"  # naming.ENV_FEEDBACK_AUTHORIZATION
Record = Dict[str, Any]


class SinkError(Exception):
    """The sink could not take a batch; ``retry`` says whether trying again can help."""

    def __init__(self, message: str, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


def records(args: argparse.Namespace, meta: Dict[str, str], rid: str) -> Iterator[Tuple[Record, int]]:
    """(record, approximate size) per .json file, sorted by relative path."""
    field = TAGS[args.kind][1]
    for rel in common.walk_files(args.src):
        if not rel.endswith(".json"):
            continue
        with open(os.path.join(args.src, rel), encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        record: Record = {"request_id": rid, "model_name": meta["name"], "model_version": meta["version"]}
        record[field] = text
        record["file"] = rel
        if args.shard:
            record["shard"] = args.shard
        yield record, len(text) + 200


def batches(items: Iterator[Tuple[Record, int]], size: int) -> Iterator[List[Record]]:
    batch: List[Record] = []
    weight = 0
    for record, nbytes in items:
        if batch and (len(batch) >= size or weight + nbytes > MAX_BATCH_BYTES):
            yield batch
            batch, weight = [], 0
        batch.append(record)
        weight += nbytes
    if batch:
        yield batch


class Sender:
    """Delivers batches with retries and exponential backoff, all inside one deadline."""

    def __init__(self, send: Callable[[List[Record], float], None], retries: int, timeout: float) -> None:
        self.send = send
        self.retries = retries
        self.deadline = time.monotonic() + timeout

    def deliver(self, batch: List[Record]) -> None:
        delay = 0.2
        for attempt in range(self.retries + 1):
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise SinkError("out of time", retry=False)
            try:
                self.send(batch, min(left, 30.0))
                return
            except SinkError as exc:
                if not exc.retry or attempt == self.retries:
                    raise
            except (OSError, ValueError) as exc:  # connection refused/reset, timeouts, bad replies
                if attempt == self.retries:
                    raise SinkError(str(exc) or type(exc).__name__) from None
            time.sleep(max(0.0, min(delay, self.deadline - time.monotonic())))
            delay = min(delay * 2, 10.0)


def fluentd_sender(url: str, tag: str) -> Callable[[List[Record], float], None]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 24224
    ack = parse_qs(parts.query).get("ack", ["false"])[0].lower() in ("1", "true", "yes")

    def send(batch: List[Record], timeout: float) -> None:
        now = int(time.time())
        entries = [[now, record] for record in batch]
        chunk = base64.b64encode(os.urandom(16)).decode("ascii")
        message = [tag, entries, {"chunk": chunk}] if ack else [tag, entries]
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.sendall(pack(message))
            if ack:
                reply = _read_reply(conn)
                if not isinstance(reply, dict) or reply.get("ack") != chunk:
                    raise SinkError("fluentd did not acknowledge the chunk")

    return send


def _read_reply(conn: socket.socket) -> Any:
    data = b""
    while True:
        part = conn.recv(4096)
        if not part:
            raise SinkError("fluentd closed the connection without an ack")
        data += part
        try:
            return unpack(data)
        except Truncated:  # not all of it yet
            continue


def json_line(tag: str, now: int, record: Record) -> str:
    """One record as the HTTP and rclone sinks write it."""
    return json.dumps({"tag": tag, "time": now, "record": record}, ensure_ascii=False)


def http_sender(url: str, tag: str) -> Callable[[List[Record], float], None]:
    # BatchSettings feedback.authSecret, as the Task's secretKeyRef env var: never an argument, never logged.
    authorization = os.environ.get(AUTHORIZATION_ENV, "")

    def send(batch: List[Record], timeout: float) -> None:
        now = int(time.time())
        lines = [json_line(tag, now, record) for record in batch]
        body = ("\n".join(lines) + "\n").encode("utf-8")
        request = urllib.request.Request(url, data=body, method="POST")
        request.add_header("Content-Type", "application/x-ndjson")
        if authorization:
            request.add_header("Authorization", authorization)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as reply:
                reply.read()
        except urllib.error.HTTPError as exc:
            raise SinkError(
                f"HTTP {exc.code} {exc.reason}", retry=exc.code >= 500 or exc.code == 429
            ) from None
        except urllib.error.URLError as exc:
            raise SinkError(f"{exc.reason}") from None
        except http.client.HTTPException as exc:
            raise SinkError(f"bad HTTP reply: {type(exc).__name__}") from None

    return send


def rclone_upload(
    args: argparse.Namespace, target: str, tag: str, rid: str, items: Iterator[List[Record]]
) -> int:
    """Write every record into one JSON-lines file and upload it; return the record count."""
    name = f"{rid}-{tag}" + (f"-{args.shard}" if args.shard else "") + ".jsonl"
    count = 0
    now = int(time.time())
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, name)
        with open(path, "w", encoding="utf-8") as fh:
            for batch in items:
                for record in batch:
                    fh.write(json_line(tag, now, record) + "\n")
                    count += 1
        rclone = common.Rclone(args.rclone, args.config, args.timeout)
        rclone.run(f"upload to {target}", ["copyto", path, target.rstrip("/") + "/" + name])
    return count


def run(args: argparse.Namespace) -> Tuple[int, Optional[str]]:
    """Send everything; return (records sent, failure message or None)."""
    rid = common.request_id(args.request_id)
    meta = common.model_meta(args.model_meta, args.model_name, args.model_version)
    tag = TAGS[args.kind][0]
    items = batches(records(args, meta, rid), args.batch_size)
    sink = args.sink
    if sink.startswith("rclone:"):
        try:
            return rclone_upload(args, sink[len("rclone:") :], tag, rid, items), None
        except common.Fail as exc:
            return 0, str(exc)
    if sink.startswith("fluentd://"):
        send = fluentd_sender(sink, tag)
    elif sink.startswith(("http://", "https://")):
        send = http_sender(sink, tag)
    else:
        raise common.Fail(
            f"unknown sink {_redact(sink)!r} (fluentd://, http(s)://, rclone:CONN:PATH or none)"
        )
    sender = Sender(send, args.retries, args.timeout)
    sent = 0
    for batch in items:
        try:
            sender.deliver(batch)
        except SinkError as exc:
            return sent, f"sink {_redact(sink)} unreachable after {sent} records: {exc}"
        sent += len(batch)
    return sent, None


def _redact(url: str) -> str:
    """The sink URL as logs show it: no user:password, the query (where tokens travel) as ``<redacted>``."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=netloc, query="<redacted>" if parts.query else "", fragment="").geturl()


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="feedback", description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("kind", choices=("request", "response"), help="what the files are")
    add("src", metavar="SRC_DIR", help="folder of the files to log")
    add("--request-id", default="", help="request id (default: $ODAHU_RUN_UID)")
    add("--model-meta", help="model metadata JSON written by sync_model")
    add("--model-name", help="model name (without --model-meta)")
    add("--model-version", help="model version (without --model-meta)")
    add(
        "--sink",
        required=True,
        help="fluentd://host:port[?ack=true], http(s)://..., rclone:CONN:PATH or none",
    )
    add("--on-unreachable", choices=("fail", "warn"), default="fail", help="when the sink cannot be reached")
    add("--batch-size", type=int, default=100, help="records per batch (and at most 1 MB)")
    add("--timeout", type=float, default=120.0, help="overall time limit, seconds (default 120)")
    add("--retries", type=int, default=5, help="retries per batch (default 5)")
    add("--shard", help="shard id, added to every record")
    add("--rclone", help="rclone binary for rclone: sinks (default: $ODAHU_RCLONE or rclone)")
    add("--config", help="rclone config for rclone: sinks (default: $RCLONE_CONFIG)")
    args = parser.parse_args(argv)
    prog = "log-input" if args.kind == "request" else "log-output"
    if args.sink == "none":
        common.log(prog, "feedback sink is 'none': nothing sent")
        return 0
    if not os.path.isdir(args.src):
        raise common.Fail(f"folder {args.src} does not exist")
    sent, failure = run(args)
    if failure is None:
        common.log(prog, f"sent {sent} records to {_redact(args.sink)}")
        return 0
    if args.on_unreachable == "warn":
        print(f"{prog}: warning: {failure}; going on (--on-unreachable warn)", file=sys.stderr, flush=True)
        return 0
    raise common.Fail(failure)


if __name__ == "__main__":
    sys.exit(common.run_main("feedback", main, None))
