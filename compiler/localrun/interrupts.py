"""Interrupts (Ctrl-C, SIGTERM, SIGHUP) that never leave a step running unseen.

A Python signal handler raises ``KeyboardInterrupt`` wherever the main thread happens to be. While
the executor starts a step, between the fork and the moment it holds the process, such an
exception escapes with the step still running, and the runner itself dies of it (by SIGINT, not
with exit 130). So while a step runs in the main thread, an interrupt only sets the executor's
cancel event, which its wait loop checks: the step is stopped, the run ends as interrupted.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class _State:
    cancel: threading.Event | None = None  # set: interrupts go to this event instead of raising


_STATE = _State()


def interrupt(signum: int, frame: FrameType | None) -> None:
    if _STATE.cancel is not None:
        _STATE.cancel.set()
        return
    raise KeyboardInterrupt


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """Install ``interrupt`` for SIGINT, SIGTERM and SIGHUP (main thread only), restoring them after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, interrupt) for sig in SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def deferred_to(cancel: threading.Event) -> Iterator[None]:
    """While inside, an interrupt of the main thread sets ``cancel`` instead of raising."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before, _STATE.cancel = _STATE.cancel, cancel
    try:
        yield
    finally:
        _STATE.cancel = before
