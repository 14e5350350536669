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
# rclone retries a store that refuses every connection for hours (its S3 pacer spaces the retries by up to
# 2 s, shared by all transfers). A call that fails and moves nothing for this long is given up.
STALL_SECONDS = 300.0
# Counters of rclone's JSON stats that move while a call gets anything done (listing included).
PROGRESS = ("bytes", "checks", "transfers", "deletes", "deletedDirs", "renames", "listed", "serverSideCopies",
            "serverSideMoves")  # fmt: skip


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


def walk_files(root: str, dir_links: bool = False) -> List[str]:
    """Every file below ``root`` as a sorted list of '/'-separated relative paths (missing root: empty).

    Symlinks to folders are never entered; ``dir_links`` lists them too, as entries of their own.
    """
    found: List[str] = []
    if not os.path.isdir(root):
        return found
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel = os.path.relpath(dirpath, root)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        found.extend(prefix + name for name in filenames)
        if dir_links:
            found.extend(prefix + name for name in dirnames if os.path.islink(os.path.join(dirpath, name)))
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


LSJSON = ["lsjson", "-R", "--files-only", "--no-mimetype", "--no-modtime"]
# rclone names a control character or DEL by its look-alike (U+2400.., U+2421) and quotes a real look-alike
# with U+201B; a file on disk has the raw character. Names from both sides are compared folded.
FOLD: Dict[int, Optional[int]] = {0x2400 + c: c for c in range(32)}
FOLD.update({0x2421: 0x7F, 0x201B: None})


def fold(name: str) -> str:
    return name.translate(FOLD)


def listed(step: str, listing: str) -> Dict[str, int]:
    """Every object of an ``rclone lsjson`` listing (LSJSON) with its size, read line by line."""
    found: Dict[str, int] = {}
    for line in listing.split("\n"):  # not splitlines(): U+0085 in keys
        line = line.strip().rstrip(",")
        if line and line not in ("[", "]", "[]"):
            try:
                entry = json.loads(line)
                found[str(entry["Path"])] = int(entry.get("Size", -1))
            except (ValueError, KeyError, TypeError):
                raise Fail(f"{step}: unexpected rclone lsjson line: {line[:200]}") from None
    return found


class Rclone:
    """Runs rclone with the shared robust flags, inside an overall deadline."""

    def __init__(
        self, binary: Optional[str], config: Optional[str], timeout: float, stall: float = STALL_SECONDS
    ) -> None:
        self.binary = binary or os.environ.get("ODAHU_RCLONE") or "rclone"
        self.config = config or os.environ.get("RCLONE_CONFIG") or None
        self.deadline = time.monotonic() + timeout
        self.stall = stall

    def run(self, step: str, args: List[str], ok_codes: Sequence[int] = (0,), quiet: bool = True) -> str:
        """Run ``rclone ARGS``; return stdout. A failure raises Fail naming the step and rclone's error."""
        cmd = [self.binary]
        if self.config:
            cmd += ["--config", self.config]
        cmd += args + RCLONE_FLAGS + (["--quiet"] if quiet else [])
        # JSON logs: error lines keep their parts, and stats lines (at ERROR, so --quiet shows them) tell
        # whether the call still gets anything done.
        interval = max(1.0, min(10.0, self.stall / 4))
        cmd += ["--use-json-log", "--stats", f"{interval:g}s", "--stats-log-level", "ERROR"]
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Fail(f"{step}: out of time before it started")
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        except FileNotFoundError:
            raise Fail(f"{step}: rclone binary {self.binary!r} not found") from None
        expired = threading.Event()

        def stop() -> None:
            expired.set()
            proc.kill()

        # rclone's errors reach the step's log as they happen (a stalled upload that retries shows why),
        # redacted; the last one also names the failure. A call that may fail on purpose (a probe for an
        # object that need not exist) keeps them to itself.
        show = tuple(ok_codes) == (0,)
        log = _Log(step if show else None, self.stall, proc.kill)
        pump = threading.Thread(target=log.read, args=(proc.stderr,), daemon=True)
        pump.start()

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
        if log.stalled:
            raise Fail(
                f"{step}: rclone got nothing done for {self.stall:g} s while it kept failing, given up: "
                f"{last_error(''.join(log.lines))}"
            )
        if proc.returncode not in ok_codes:
            raise Fail(f"{step}: rclone exited {proc.returncode}: {last_error(''.join(log.lines))}")
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


class _Log:
    """rclone's stderr as it comes: other lines kept (and shown, redacted), stats lines watched.

    A stats line whose progress counters have not moved for ``stall`` seconds while rclone counts errors
    calls ``stop`` (once) and sets ``stalled``.
    """

    def __init__(self, step: Optional[str], stall: float, stop: Callable[[], None]) -> None:
        self.step, self.stall, self.stop = step, stall, stop
        self.lines: List[str] = []
        self.stalled = False
        self._progress = -1.0
        self._since = time.monotonic()

    def read(self, stream: Optional[IO[str]]) -> None:
        if stream is None:
            return
        for raw in stream:
            line = self._line(raw)
            if line is None:
                continue
            self.lines.append(line)
            text = line.strip()
            if self.step is not None and text and "Config file" not in text:
                print(f"{self.step}: rclone: {redact(text)}", file=sys.stderr, flush=True)

    def _line(self, raw: str) -> Optional[str]:
        """The line as rclone's text log words it; None for a stats line."""
        try:
            entry = json.loads(raw) if raw.startswith("{") else None
        except ValueError:
            entry = None
        if not isinstance(entry, dict):
            return raw
        stats = entry.get("stats")
        if isinstance(stats, dict):
            self._watch(stats)
            return None
        level, what, msg = str(entry.get("level", "")).upper(), entry.get("object"), entry.get("msg", "")
        return f"{level} : {what}: {msg}\n" if what else f"{level} : {msg}\n"

    def _watch(self, stats: Dict[str, object]) -> None:
        now = time.monotonic()
        progress = sum(float(v) for v in (stats.get(k) for k in PROGRESS) if isinstance(v, (int, float)))
        if progress != self._progress:
            self._progress, self._since = progress, now
        elif stats.get("errors") and now - self._since >= self.stall and not self.stalled:
            self.stalled = True
            self.stop()


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
