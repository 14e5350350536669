"""Waiting for a step's process and reaping it with its CPU seconds.

The CPU seconds of one step are the process's own plus those of the children it waited for (rclone
under a Python step, the predictor under its shell). ``getrusage(RUSAGE_CHILDREN)`` cannot give them
per step, because a sharded run reaps several TaskRuns' steps in one process. ``wait4`` on the step's
pid can; a pidfd tells without polling when it is ready. Where pidfds are missing (not Linux, an old
kernel) the wait falls back to ``Popen.wait`` and the CPU seconds are unknown.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess


class Reaper:
    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.cpu_seconds: float | None = None
        self._poll: select.poll | None = None
        self._fd: int | None = None
        with contextlib.suppress(AttributeError, OSError):
            self._fd = os.pidfd_open(proc.pid)
            self._poll = select.poll()
            self._poll.register(self._fd, select.POLLIN)

    def wait(self, timeout: float) -> int | None:
        """The exit code once the process has ended within ``timeout`` seconds, else None."""
        if self._poll is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                return self.proc.wait(timeout=timeout)
            return None
        if not self._poll.poll(max(0, int(timeout * 1000))):
            return None
        pid, status, usage = os.wait4(self.proc.pid, 0)
        if pid == self.proc.pid:
            self.proc.returncode = os.waitstatus_to_exitcode(status)
            self.cpu_seconds = usage.ru_utime + usage.ru_stime
        self.close()
        return self.proc.wait()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd, self._poll = None, None
