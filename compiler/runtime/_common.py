"""Helpers shared by the runtime programs: errors, file walks, rclone calls, model metadata.

Standard library only; imported by its siblings both as ``compiler.runtime._common`` and, when the programs
run as plain files from one folder, as ``_common``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from typing import IO, Callable, Dict, List, Optional, Sequence, Tuple

RCLONE_FLAGS = ["--retries", "3", "--low-level-retries", "3", "--contimeout", "10s", "--timeout", "30s"]


class Fail(Exception):
    """A user-visible failure: the program prints the message on one line and exits 1."""


def run_main(prog: str, main: Callable[[Optional[Sequence[str]]], int], argv: Optional[Sequence[str]]) -> int:
    """Run ``main``; an expected failure becomes one line on stderr and exit code 1, never a traceback."""
    try:
        return main(argv)
    except Fail as exc:
        print(f"{prog}: error: {one_line(str(exc))}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr, flush=True)
        return 1


def one_line(text: str, limit: int = 2000) -> str:
    flat = " | ".join(part.strip() for part in text.splitlines() if part.strip())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def log(prog: str, message: str) -> None:
    print(f"{prog}: {message}", flush=True)


def request_id(value: Optional[str]) -> str:
    """The run's request id: the flag, else the TaskRun uid from ``ODAHU_RUN_UID``."""
    rid = (value or "").strip() or os.environ.get("ODAHU_RUN_UID", "").strip()
    if not rid:
        raise Fail("no request id: --request-id is empty and ODAHU_RUN_UID is not set")
    if "/" in rid or rid in (".", "..") or any(ch in rid for ch in "\r\n\0"):
        raise Fail(f"request id {rid!r} cannot name a folder")
    return rid


def walk_files(root: str) -> List[str]:
    """Every file below ``root`` as a sorted list of '/'-separated relative paths (missing root: empty)."""
    found: List[str] = []
    if not os.path.isdir(root):
        return found
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel = os.path.relpath(dirpath, root)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        found.extend(prefix + name for name in filenames)
    found.sort()
    return found


def inside(root: str, path: str) -> bool:
    """True when ``path`` is ``root`` or below it (both already real paths: no symlink resolved here)."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def write_json(path: str, value: object, indent: Optional[int] = 1) -> None:
    """Write JSON atomically (temp file + rename), sorted keys, LF, so reruns give identical bytes."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    separators = (",", ": ") if indent is not None else (",", ":")
    # One dumps and one write: json.dump writes each token on its own, several times slower on big values.
    text = json.dumps(value, indent=indent, sort_keys=True, ensure_ascii=False, separators=separators)
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text + "\n")
    os.replace(tmp, path)


def model_meta(path: Optional[str], name: Optional[str], version: Optional[str]) -> Dict[str, str]:
    """Model name and version: from the JSON file sync_model wrote, else from the flags."""
    if path:
        try:
            with open(path, encoding="utf-8") as fh:
                meta = json.load(fh)
        except (OSError, ValueError) as exc:
            raise Fail(f"cannot read model metadata {path}: {exc}") from None
        if not isinstance(meta, dict):
            raise Fail(f"model metadata {path} is not a JSON object")
        return {"name": str(meta.get("name") or ""), "version": str(meta.get("version") or "")}
    return {"name": name or "", "version": version or ""}


class Rclone:
    """Runs rclone with the shared robust flags, inside an overall deadline."""

    def __init__(self, binary: Optional[str], config: Optional[str], timeout: float) -> None:
        self.binary = binary or os.environ.get("ODAHU_RCLONE") or "rclone"
        self.config = config or os.environ.get("RCLONE_CONFIG") or None
        self.deadline = time.monotonic() + timeout

    def run(self, step: str, args: List[str], ok_codes: Sequence[int] = (0,), quiet: bool = True) -> str:
        """Run ``rclone ARGS``; return stdout. A failure raises Fail naming the step and rclone's error."""
        cmd = [self.binary]
        if self.config:
            cmd += ["--config", self.config]
        cmd += args + RCLONE_FLAGS + (["--quiet"] if quiet else [])
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Fail(f"{step}: out of time before it started")
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        except FileNotFoundError:
            raise Fail(f"{step}: rclone binary {self.binary!r} not found") from None
        # rclone's errors reach the step's log as they happen (a stalled upload that retries shows why),
        # redacted; the last one also names the failure. A call that may fail on purpose (a probe for an
        # object that need not exist) keeps them to itself.
        errors: List[str] = []
        show = tuple(ok_codes) == (0,)
        pump = threading.Thread(
            target=_pass_on, args=(proc.stderr, step if show else None, errors), daemon=True
        )
        pump.start()
        expired = threading.Event()

        def stop() -> None:
            expired.set()
            proc.kill()

        timer = threading.Timer(left, stop)
        timer.start()
        with proc:  # closes both pipes, whatever happens
            try:
                assert proc.stdout is not None
                out = proc.stdout.read()
                proc.wait()
            finally:
                timer.cancel()
                pump.join()
        if expired.is_set():
            raise Fail(f"{step}: rclone did not finish within the time limit")
        if proc.returncode not in ok_codes:
            raise Fail(f"{step}: rclone exited {proc.returncode}: {last_error(''.join(errors))}")
        return out

    def run_all(self, calls: Sequence[Tuple[str, List[str], Sequence[int]]]) -> List[str]:
        """Independent calls ``(step, args, ok_codes)`` at once; their stdouts, in order.

        Against a remote store a call is mostly waiting for round trips, so calls that do not depend on
        each other need not wait for each other. All are waited for, then the first failure in the given
        order is raised.
        """
        outs: List[str] = [""] * len(calls)
        errors: List[Optional[BaseException]] = [None] * len(calls)

        def one(index: int) -> None:
            step, args, ok_codes = calls[index]
            try:
                outs[index] = self.run(step, args, ok_codes)
            except BaseException as exc:  # re-raised below, in the caller's thread
                errors[index] = exc

        threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(1, len(calls))]
        for thread in threads:
            thread.start()
        if calls:
            one(0)
        for thread in threads:
            thread.join()
        for error in errors:
            if error is not None:
                raise error
        return outs


def _pass_on(stream: Optional[IO[str]], step: Optional[str], lines: List[str]) -> None:
    """Keep rclone's stderr lines and print each (URL queries redacted) under the step's name, if given."""
    if stream is None:
        return
    for line in stream:
        lines.append(line)
        text = line.strip()
        if step is not None and text and "Config file" not in text:
            print(f"{step}: rclone: {redact(text)}", file=sys.stderr, flush=True)


_URL_QUERY = re.compile(r"(https?://[^\s?\"']*)\?[^\s\"']*")


def last_error(stderr: str) -> str:
    """The most telling line of rclone's stderr (its last ERROR line), URL queries (SAS tokens) redacted."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip() and "Config file" not in ln]
    found = next((ln for ln in reversed(lines) if "ERROR" in ln or "Failed" in ln or "CRITICAL" in ln), None)
    line = found or (lines[-1] if lines else "no error output")
    return redact(line)


def redact(line: str) -> str:
    """The line with every URL query (where SAS tokens travel) replaced by ``<redacted>``."""
    return _URL_QUERY.sub(r"\1?<redacted>", line)
