"""Safe unpacking of model archives (.tar, .tar.gz/.tgz and other tarfile compressions, .zip).

Refused, with the member and the rule named: absolute paths, ``..`` components, symlinks or hard links whose
target leaves the destination, device / fifo / other special members, more members than ``max_members``,
more unpacked bytes than ``max_bytes`` (declared sizes are checked first, real bytes are counted while
writing, so a lying zip header cannot get past). Every write resolves the real path of its parent, opens with
O_NOFOLLOW, and a final pass checks every created link, so nothing lands or points outside ``dest``.

An archive is checked whole, not only as far as its last member: a tar must end with its end-of-archive
marker (two zero blocks; a tar cut at a member boundary has none), only zero padding may follow it, and a
compressed tar is read to the end of its stream, so gzip's CRC-32 and length (ISIZE) are verified and bytes
after the gzip member are refused. Tar metadata headers (pax, GNU long name / long link) are counted against
``max_bytes`` (and ``MAX_META_TOTAL`` in all) and limited to ``MAX_META_BYTES`` each before tarfile reads
them into memory. Encrypted zip
members and compression methods zipfile cannot read are refused by name. On any refusal or failure the
destination's contents are removed.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import zipfile
from typing import IO, Callable, Iterator, List, Optional, Tuple

try:
    from . import _common as common
except ImportError:  # run as a plain file next to its siblings
    import _common as common  # type: ignore[no-redef,import-not-found]

CHUNK = 1 << 20
# A pax or GNU long-name header is read whole into memory, and tarfile keeps every member's (its members
# list): real ones hold a path and a few attributes, a hundred bytes or so per member.
MAX_META_BYTES = 1 << 20
MAX_META_TOTAL = 64 << 20
_META_TYPES = frozenset(
    [
        tarfile.XHDTYPE,
        tarfile.XGLTYPE,
        tarfile.SOLARIS_XHDTYPE,
        tarfile.GNUTYPE_LONGNAME,
        tarfile.GNUTYPE_LONGLINK,
    ]
)
_ZIP_METHODS = frozenset([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip", ".tar.bz2", ".tar.xz")


class UnsafeArchive(Exception):
    """The archive breaks a safety rule; the message names the member and the rule."""


# A member as both formats present it: (name, kind, size, link target, mode bits, opener).
Member = Tuple[str, str, int, str, int, Callable[[], IO[bytes]]]


def archive_kind(path: str) -> Optional[str]:
    """'tar' or 'zip' from the file's magic bytes (gzip/bz2/xz are taken as compressed tar), else None."""
    with open(path, "rb") as fh:
        head = fh.read(512)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head[:2] == b"\x1f\x8b" or head[:3] == b"BZh" or head[:6] == b"\xfd7zXZ\x00":
        return "tar"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    return None


def is_archive_name(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_SUFFIXES)


class _CappedTarInfo(tarfile.TarInfo):
    """A tar header that counts a metadata header's size against the caps before tarfile reads its data.

    tarfile reads a pax or GNU long-name header's whole data in ``_proc_member`` (CPython Lib/tarfile.py,
    ``_proc_pax`` / ``_proc_gnulong``: ``tarfile.fileobj.read(self._block(self.size))``), so its declared
    size is checked here, first. ``odahu_budget`` on the TarFile: the metadata bytes it may still hold,
    ``first_budget`` before the first one (set per archive: tarfile reads the first header while opening).
    """

    first_budget = MAX_META_BYTES

    def _proc_member(self, archive: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type in _META_TYPES:
            budget: int = getattr(archive, "odahu_budget", self.first_budget)
            limit = min(MAX_META_BYTES, budget)
            if self.size > limit:
                what = "GNU long name" if self.type in _GNU_LONG else "pax"
                raise UnsafeArchive(f"a {what} header of {self.size} bytes passes the limit of {limit} bytes")
            archive.odahu_budget = budget - self.size  # type: ignore[attr-defined]
        member: tarfile.TarInfo = super()._proc_member(archive)  # type: ignore[misc]
        return member


_GNU_LONG = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK)


def _check_tar_end(tf: tarfile.TarFile, max_bytes: int) -> None:
    """The end-of-archive marker, then only zero padding, read to the end of the (decompressed) stream.

    tarfile stops quietly at the end of the data or at a header it cannot read, as at the marker. Reading a
    compressed tar to its end makes gzip check the member's CRC-32 and ISIZE (CPython Lib/gzip.py
    ``_read_eof``) and refuse bytes after it that start no gzip member (``_read_gzip_header``); bz2 and xz
    verify their own checksums.
    """
    fh = tf.fileobj
    assert fh is not None
    fh.seek(tf.offset)
    marker = fh.read(2 * tarfile.BLOCKSIZE)
    if len(marker) < 2 * tarfile.BLOCKSIZE or marker.strip(b"\0"):
        raise UnsafeArchive(f"no end-of-archive marker at byte {tf.offset}: the tar is cut short or broken")
    padding = 0
    while True:
        chunk = fh.read(CHUNK)
        if not chunk:
            return
        padding += len(chunk)
        if chunk.strip(b"\0"):
            raise UnsafeArchive("data after the tar's end-of-archive marker")
        if padding > max_bytes:
            raise UnsafeArchive(f"more than {max_bytes} bytes of padding after the end-of-archive marker")


def _tar_members(tf: tarfile.TarFile) -> Iterator[Member]:
    for info in tf:  # streaming: a million-member bomb is refused before it is all read
        if info.isdir():
            kind = "dir"
        elif info.isreg():
            kind = "file"
        elif info.issym():
            kind = "symlink"
        elif info.islnk():
            kind = "hardlink"
        else:
            kind = "special"

        def opener(info: tarfile.TarInfo = info) -> IO[bytes]:
            handle = tf.extractfile(info)
            if handle is None:
                raise UnsafeArchive(f"member {info.name!r}: cannot read its contents")
            return handle

        yield info.name, kind, info.size, info.linkname, info.mode, opener


def _zip_members(zf: zipfile.ZipFile, max_bytes: int, max_members: int) -> Iterator[Member]:
    infos = zf.infolist()
    for info in infos:  # zipfile would fail on these only once their file exists
        if info.flag_bits & 0x1:
            raise UnsafeArchive(
                f"member {info.filename!r}: encrypted (password-protected) members are not supported"
            )
        if info.compress_type not in _ZIP_METHODS:
            raise UnsafeArchive(
                f"member {info.filename!r}: compression method {info.compress_type} is not supported"
                " (stored, deflate, bzip2 and lzma are)"
            )
    if len(infos) > max_members:
        raise UnsafeArchive(f"archive has {len(infos)} members, more than the limit {max_members}")
    declared = sum(info.file_size for info in infos)
    if declared > max_bytes:
        raise UnsafeArchive(f"archive declares {declared} unpacked bytes, more than the limit {max_bytes}")
    for info in infos:
        mode = info.external_attr >> 16  # Unix mode when the zip was made on Unix, else 0
        if info.is_dir():
            kind = "dir"
        elif stat.S_ISLNK(mode):
            kind = "symlink"
        elif stat.S_IFMT(mode) and not stat.S_ISREG(mode):
            kind = "special"
        else:
            kind = "file"
        link = ""
        if kind == "symlink":
            if info.file_size > 4096:
                raise UnsafeArchive(f"member {info.filename!r}: symlink target longer than 4096 bytes")
            link = zf.read(info).decode("utf-8", "replace")

        def opener(info: zipfile.ZipInfo = info) -> IO[bytes]:
            return zf.open(info)

        yield info.filename, kind, info.file_size, link, mode, opener


def _clean_name(name: str) -> str:
    """The member's relative path, or UnsafeArchive for absolute paths and '..'."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchive(f"member {name!r}: absolute path")
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchive(f"member {name!r}: path contains '..'")
    return "/".join(parts)


def _parent_ok(root: str, rel: str) -> str:
    """Create the member's parent folders and check their real path stays inside root; return the target."""
    target = os.path.join(root, *rel.split("/"))
    parent = os.path.dirname(target)
    if not common.inside(root, os.path.realpath(parent)):
        raise UnsafeArchive(f"member {rel!r}: its folder resolves outside the destination")
    os.makedirs(parent, exist_ok=True)
    if not common.inside(root, os.path.realpath(parent)):
        raise UnsafeArchive(f"member {rel!r}: its folder resolves outside the destination")
    return target


def _remove_existing(path: str) -> None:
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)


def _extract(members: Iterator[Member], root: str, max_bytes: int, max_members: int) -> int:
    count = 0
    total = 0
    links: List[str] = []
    for name, kind, size, linkname, mode, opener in members:
        count += 1
        if count > max_members:
            raise UnsafeArchive(f"member {name!r}: more than {max_members} members")
        rel = _clean_name(name)
        if not rel:
            continue
        if kind == "special":
            raise UnsafeArchive(f"member {name!r}: device, fifo or other special file")
        if kind == "dir":
            _parent_ok(root, rel + "/x")
            continue
        target = _parent_ok(root, rel)
        if kind == "symlink":
            if linkname.startswith("/") or not linkname:
                raise UnsafeArchive(f"member {name!r}: symlink to an absolute path {linkname!r}")
            dest = os.path.realpath(os.path.join(os.path.dirname(target), linkname))
            if not common.inside(root, dest):
                raise UnsafeArchive(f"member {name!r}: symlink target {linkname!r} leaves the destination")
            _remove_existing(target)
            os.symlink(linkname, target)
            links.append(target)
        elif kind == "hardlink":
            try:
                source = os.path.realpath(os.path.join(root, *_clean_name(linkname).split("/")))
            except UnsafeArchive:
                source = ""
            if not common.inside(root, source) or not os.path.isfile(source):
                raise UnsafeArchive(f"member {name!r}: hard link target {linkname!r} leaves the destination")
            _remove_existing(target)
            os.link(source, target)
        else:
            if total + size > max_bytes:
                raise UnsafeArchive(f"member {name!r}: unpacked size passes the limit {max_bytes} bytes")
            total = _write_file(name, opener, target, total, max_bytes)
            if mode & 0o100:  # keep "executable", drop setuid/setgid/sticky and group/other write
                os.chmod(target, 0o755)
    for link in links:  # a later member may have changed what an earlier link resolves to
        if not common.inside(root, os.path.realpath(link)):
            raise UnsafeArchive(f"link {os.path.relpath(link, root)!r} resolves outside the destination")
    return count


def _write_file(name: str, opener: Callable[[], IO[bytes]], target: str, total: int, max_bytes: int) -> int:
    _remove_existing(target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with (
        opener() as src,
        os.fdopen(os.open(target, flags, 0o644), "wb") as out,
    ):  # opened first: no 0-byte file
        while True:
            chunk = src.read(CHUNK)
            if not chunk:
                break
            total += len(chunk)
            if total > max_bytes:
                raise UnsafeArchive(f"member {name!r}: unpacked size passes the limit {max_bytes} bytes")
            out.write(chunk)
    return total


def clear_dir(path: str) -> None:
    """Remove everything inside ``path`` (the folder itself may be a mount point and stays)."""
    if not os.path.isdir(path):
        return
    for entry in os.listdir(path):
        full = os.path.join(path, entry)
        if os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full)
        else:
            os.unlink(full)


def safe_extract(archive: str, dest: str, max_bytes: int, max_members: int) -> int:
    """Unpack ``archive`` into ``dest``; return the member count. UnsafeArchive (dest emptied) on refusal."""
    kind = archive_kind(archive)
    os.makedirs(dest, exist_ok=True)
    root = os.path.realpath(dest)
    try:
        if kind == "zip":
            with zipfile.ZipFile(archive) as zf:
                return _extract(_zip_members(zf, max_bytes, max_members), root, max_bytes, max_members)
        if kind == "tar" or tarfile.is_tarfile(archive):
            budget = min(max_bytes, MAX_META_TOTAL)
            capped = type("CappedTarInfo", (_CappedTarInfo,), {"first_budget": budget})
            with tarfile.open(archive, "r:*", tarinfo=capped) as tf:
                count = _extract(_tar_members(tf), root, max_bytes, max_members)
                _check_tar_end(tf, max_bytes)
                return count
        raise UnsafeArchive(f"{os.path.basename(archive)!r} is neither a tar nor a zip archive")
    except UnsafeArchive:
        clear_dir(root)
        raise
    except Exception as exc:  # a broken archive (and whatever else stops the unpack) leaves dest empty
        clear_dir(root)
        raise UnsafeArchive(f"{os.path.basename(archive)!r}: broken archive: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
