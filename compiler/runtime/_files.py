"""validate.py's file operations: read a whole file, link or move one into a folder, count the cores."""

from __future__ import annotations

import math
import os
import shutil
from typing import Set


def _folder_of(dst: str, made: Set[str]) -> None:
    """Make dst's folder once per run (``made`` remembers the ones already there)."""
    folder = os.path.dirname(dst)
    if folder not in made:
        os.makedirs(folder, exist_ok=True)
        made.add(folder)


def link(src: str, dst: str, made: Set[str]) -> None:
    """Put the file unchanged at dst: a hard link when the file system allows it, else a copy."""
    _folder_of(dst, made)
    try:
        os.link(src, dst)
    except FileExistsError:
        os.unlink(dst)
        link(src, dst, made)
    except OSError:
        shutil.copyfile(src, dst)


def read_bytes(path: str) -> bytes:
    """The whole file (os.read: cheaper than a buffered file object for many small files)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        parts = [os.read(fd, size + 1)]
        if len(parts[0]) != size:  # a short read or a grown file: read on to the end
            while parts[-1]:
                parts.append(os.read(fd, 1 << 20))
    finally:
        os.close(fd)
    return b"".join(parts)


def move(src: str, dst: str, made: Set[str]) -> None:
    """Move the file to dst: a rename, else (another volume) a copy that is complete before the unlink."""
    _folder_of(dst, made)
    try:
        os.replace(src, dst)
    except OSError:
        shutil.copyfile(src, dst + ".part")
        os.replace(dst + ".part", dst)
        os.unlink(src)


def cores() -> int:
    """CPUs this process may use: affinity, capped by the cgroup CPU quota (the pod's limit)."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    for quota_file, period_file in (
        ("/sys/fs/cgroup/cpu.max", None),
        ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us"),
    ):
        try:
            with open(quota_file) as fh:
                fields = fh.read().split()
            if period_file:
                with open(period_file) as fh:
                    fields.append(fh.read().strip())
            if fields[0] not in ("max", "-1"):
                return max(1, min(count, math.ceil(int(fields[0]) / int(fields[1]))))
        except (OSError, ValueError, IndexError):
            continue
    return max(1, count)
