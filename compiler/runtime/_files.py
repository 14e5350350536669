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
        shutil.copyfile(src, dst, follow_symlinks=False)  # a rejected symlink is kept as one, never read


# Parsing holds up to ~34 bytes of Python objects per byte of file (arrays of one element; FP32 data 6-16x,
# bench/README.md, bench_memory.py): past this size a file is refused unread, so a checking process
# stays under ~300 MB whatever the file holds, and the default 1 GiB helper limit fits three of them.
MAX_FILE_BYTES = 8 << 20


class TooBig(OSError):
    """The file is larger than the per-file limit; ``size`` is what it holds (or at least holds)."""

    def __init__(self, size: int) -> None:
        super().__init__(f"{size} bytes")
        self.size = size


def read_bytes(path: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The whole file, or TooBig before reading it when it passes ``limit`` bytes; a symlink is not followed.

    os.read: cheaper than a buffered file object for many small files. A file that grows while read is cut
    at ``limit + 1`` bytes and refused as well.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            raise TooBig(size)
        parts = [os.read(fd, size + 1)]
        got = len(parts[0])
        if got != size:  # a short read or a grown file: read on to the end, never past the limit
            while parts[-1] and got <= limit:
                parts.append(os.read(fd, min(1 << 20, limit + 1 - got)))
                got += len(parts[-1])
        if got > limit:
            raise TooBig(got)
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
