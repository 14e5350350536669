"""Container paths -> folders of the run directory, by prefix.

A step sees its volumes at their ``mountPath``; run on the host, the same strings must name folders of
the run directory. The compiled Task writes a path only as a whole arg or env value, or as a string that
starts with a mount path (``/odahu/config/rclone.conf``), so rewriting a mount path where it starts a path
is enough. A mount path is replaced only at a path boundary: ``/odahu/in`` maps ``/odahu/in`` and
``/odahu/in/a.json``, never ``/odahu/input`` nor ``/x/odahu/in``. Nested mounts are fine: the longest
mount path that matches wins. Also found after ``=`` or ``:`` (``--config=/odahu/...``) and in scripts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from compiler.localrun.errors import LocalRunError


@dataclass(frozen=True)
class PathMap:
    """``mount path -> host folder`` pairs, applied to every string a step gets."""

    mounts: Mapping[str, Path]

    def __post_init__(self) -> None:
        for mount in self.mounts:
            if not mount.startswith("/") or mount.rstrip("/") == "":
                raise LocalRunError(f"cannot map container path {mount!r}: expected an absolute path below /")

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        if not self.mounts:
            return None
        prefixes = sorted((m.rstrip("/") for m in self.mounts), key=len, reverse=True)
        alternatives = "|".join(re.escape(p) for p in prefixes)
        # Not inside a longer path or word before it; a path boundary after it.
        return re.compile(rf"(?<![\w.\-/])({alternatives})(?=/|$|[\s\"';:,=)])")

    def to_host(self, text: str) -> str:
        """``text`` with every mount path at a path boundary replaced by its host folder."""
        pattern = self._pattern
        if pattern is None or "/" not in text:
            return text
        return pattern.sub(lambda match: self._table[match.group(1)], text)

    @cached_property
    def _table(self) -> dict[str, str]:
        return {m.rstrip("/"): str(host) for m, host in self.mounts.items()}


@dataclass(frozen=True)
class Bind:
    """``--bind HOST_DIR:IMAGE_DIR[:ro]``: a folder of the user's image, taken from the host."""

    host: Path
    image: str
    read_only: bool = False

    @classmethod
    def parse(cls, text: str) -> Bind:
        parts = text.split(":")
        read_only = False
        if len(parts) == 3 and parts[2] in ("ro", "rw"):
            read_only = parts.pop() == "ro"
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise LocalRunError(
                f"--bind {text!r}: expected HOST_DIR:IMAGE_DIR (optionally :ro), like docker -v"
            )
        host, image = Path(parts[0]).expanduser().resolve(), parts[1]
        if not image.startswith("/"):
            raise LocalRunError(f"--bind {text!r}: the image path {image!r} must be absolute")
        if not host.exists():
            raise LocalRunError(f"--bind {text!r}: {host} does not exist")
        return cls(host, image.rstrip("/") or "/", read_only)


def bind_map(binds: Iterable[Bind]) -> dict[str, Path]:
    return {b.image: b.host for b in binds}
