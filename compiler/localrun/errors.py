"""The local runner's one user-facing exception.

``LocalRunError`` means the job cannot run as given (a missing tool, secret, bind or document); the
command prints its message and exits 1. A step that fails is not an exception: it is a result.
"""

from __future__ import annotations


class LocalRunError(Exception):
    """A problem the user can fix; the message says what is missing and how to give it."""
