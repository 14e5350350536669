"""safe_extract: good archives unpack; hostile ones are refused and nothing lands outside the target."""

from __future__ import annotations

import gzip
import io
import os
import stat
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from compiler.runtime import _archive
from compiler.runtime._archive import UnsafeArchive
from compiler.runtime.sync_model import safe_extract

MB = 1 << 20


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes]], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tf:  # type: ignore[call-overload]
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            tf.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def _info(name: str, kind: bytes = tarfile.REGTYPE, link: str = "", mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.mode = mode
    return info


def _zip(path: Path, members: list[tuple[str, bytes, int]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return path


@pytest.fixture
def area(tmp_path: Path) -> tuple[Path, Path]:
    """(dest, tmp_path): a target folder next to a bystander folder that must stay untouched."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret").write_text("keep")
    dest = tmp_path / "dest"
    dest.mkdir()
    return dest, tmp_path


def test_good_tar_gz_unpacks_with_links_and_modes(area: tuple[Path, Path]) -> None:
    dest, tmp = area
    archive = _tar(
        tmp / "model.tar.gz",
        [
            (_info("model", tarfile.DIRTYPE, mode=0o755), b""),
            (_info("./model/weights.bin"), b"\x00" * 100),
            (_info("model/run.sh", mode=0o755), b"#!/bin/sh\n"),
            (_info("model/latest", tarfile.SYMTYPE, "weights.bin"), b""),
            (_info("model/sub/up", tarfile.SYMTYPE, "../weights.bin"), b""),
            (_info("model/copy.bin", tarfile.LNKTYPE, "model/weights.bin"), b""),
            (_info("odahuflow.project.yaml"), b"model:\n  name: m\n"),
        ],
    )
    assert safe_extract(str(archive), str(dest), 10 * MB, 100) == 7
    assert (dest / "model/latest").read_bytes() == b"\x00" * 100
    assert (dest / "model/sub/up").resolve() == (dest / "model/weights.bin").resolve()
    assert os.stat(dest / "model/copy.bin").st_ino == os.stat(dest / "model/weights.bin").st_ino
    assert os.stat(dest / "model/run.sh").st_mode & stat.S_IXUSR
    assert (dest / "odahuflow.project.yaml").exists()


@pytest.mark.parametrize("mode", ["w", "w:gz", "w:bz2", "w:xz"])
def test_tar_compressions(area: tuple[Path, Path], mode: str) -> None:
    dest, tmp = area
    archive = _tar(tmp / "m.tar", [(_info("a/b.txt"), b"hello")], mode)
    safe_extract(str(archive), str(dest), MB, 10)
    assert (dest / "a/b.txt").read_text() == "hello"


def test_good_zip(area: tuple[Path, Path]) -> None:
    dest, tmp = area
    archive = _zip(tmp / "m.zip", [("d/", b"", 0o40755), ("d/x.txt", b"x" * 1000, 0o100644), ("y", b"y", 0)])
    assert safe_extract(str(archive), str(dest), MB, 10) == 3
    assert (dest / "d/x.txt").read_bytes() == b"x" * 1000
    assert (dest / "y").read_bytes() == b"y"


HOSTILE: list[tuple[str, Callable[[Path], Path], str]] = [
    ("zip slip", lambda t: _zip(t / "a.zip", [("ok.txt", b"1", 0), ("../outside/evil", b"x", 0)]), "'..'"),
    ("zip slip nested", lambda t: _zip(t / "a.zip", [("a/../../outside/evil", b"x", 0)]), "'..'"),
    ("tar slip", lambda t: _tar(t / "a.tgz", [(_info("../outside/evil"), b"x")]), "'..'"),
    ("absolute path", lambda t: _tar(t / "a.tgz", [(_info(str(t / "outside" / "evil")), b"x")]), "absolute"),
    ("absolute zip", lambda t: _zip(t / "a.zip", [(str(t / "outside" / "evil"), b"x", 0)]), "absolute"),
    (
        "symlink out, then a write through it",
        lambda t: _tar(
            t / "a.tgz",
            [(_info("link", tarfile.SYMTYPE, "../outside"), b""), (_info("link/evil"), b"x")],
        ),
        "leaves the destination",
    ),
    (
        "absolute symlink",
        lambda t: _tar(t / "a.tgz", [(_info("l", tarfile.SYMTYPE, "/etc"), b"")]),
        "absolute",
    ),
    (
        "symlink chain resolved late",
        lambda t: _tar(
            t / "a.tgz",
            [
                (_info("x", tarfile.SYMTYPE, "sub/b/.."), b""),
                (_info("sub", tarfile.DIRTYPE), b""),
                (_info("sub/b", tarfile.SYMTYPE, ".."), b""),
            ],
        ),
        "resolves outside",
    ),
    (
        "zip symlink out",
        lambda t: _zip(t / "a.zip", [("l", b"../outside", 0o120777)]),
        "leaves the destination",
    ),
    (
        "hard link out",
        lambda t: _tar(t / "a.tgz", [(_info("h", tarfile.LNKTYPE, "../outside/secret"), b"")]),
        "hard link",
    ),
    (
        "absolute hard link",
        lambda t: _tar(t / "a.tgz", [(_info("h", tarfile.LNKTYPE, str(t / "outside" / "secret")), b"")]),
        "hard link",
    ),
    ("char device", lambda t: _tar(t / "a.tgz", [(_info("dev", tarfile.CHRTYPE), b"")]), "device"),
    ("block device", lambda t: _tar(t / "a.tgz", [(_info("dev", tarfile.BLKTYPE), b"")]), "device"),
    ("fifo", lambda t: _tar(t / "a.tgz", [(_info("p", tarfile.FIFOTYPE), b"")]), "fifo"),
    ("zip device", lambda t: _zip(t / "a.zip", [("dev", b"", 0o020644)]), "device"),
    ("gzip bomb", lambda t: _tar(t / "a.tgz", [(_info("zeros"), b"\x00" * (4 * MB))]), "limit"),
    ("zip bomb", lambda t: _zip(t / "a.zip", [(f"z{i}", b"\x00" * MB, 0) for i in range(4)]), "limit"),
    (
        "too many tar members",
        lambda t: _tar(t / "a.tgz", [(_info(f"f{i}"), b"") for i in range(60)]),
        "members",
    ),
    ("too many zip members", lambda t: _zip(t / "a.zip", [(f"f{i}", b"", 0) for i in range(60)]), "members"),
]


@pytest.mark.parametrize(("make", "reason"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_archive_is_refused(
    area: tuple[Path, Path], make: Callable[[Path], Path], reason: str
) -> None:
    dest, tmp = area
    archive = make(tmp)
    before = _tree(tmp)
    with pytest.raises(UnsafeArchive, match=reason):
        safe_extract(str(archive), str(dest), 2 * MB, 50)
    assert list(dest.iterdir()) == [], "the target is cleaned after a refusal"
    assert _tree(tmp) == before, "nothing was written outside the target"
    assert [p.name for p in (tmp / "outside").iterdir()] == ["secret"]
    assert (tmp / "outside" / "secret").read_text() == "keep"


def _lying_zip(path: Path) -> Path:
    """A zip whose headers declare 10 bytes for a 1 MB member."""
    _zip(path, [("big", b"\x00" * MB, 0)])
    data = bytearray(path.read_bytes())
    true_size = MB.to_bytes(4, "little")
    for offset in (i for i in range(len(data) - 4) if data[i : i + 4] == true_size):
        data[offset : offset + 4] = (10).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    return path


def test_lying_zip_header_is_refused(area: tuple[Path, Path]) -> None:
    dest, tmp = area
    archive = _lying_zip(tmp / "liar.zip")
    with pytest.raises(UnsafeArchive):
        safe_extract(str(archive), str(dest), 2 * MB, 10)
    assert list(dest.iterdir()) == []


def test_counted_bytes_stop_a_member_that_outgrows_the_cap(area: tuple[Path, Path]) -> None:
    dest, tmp = area
    archive = _tar(tmp / "a.tar", [(_info("a"), b"1" * 600), (_info("b"), b"2" * 600)], "w")
    with pytest.raises(UnsafeArchive, match=r"'b'.*limit"):
        safe_extract(str(archive), str(dest), 1000, 10)


def test_not_an_archive(area: tuple[Path, Path]) -> None:
    dest, tmp = area
    (tmp / "fake.zip").write_bytes(b"not a zip at all")
    with pytest.raises(UnsafeArchive, match="neither a tar nor a zip"):
        safe_extract(str(tmp / "fake.zip"), str(dest), MB, 10)


# --- archives checked whole: each hostile archive below is built here, byte by byte where tools would refuse


def _ten_members(tmp: Path) -> tuple[bytes, list[tarfile.TarInfo]]:
    """A plain tar of ten 700-byte members ``m0``..``m9`` ('ODAHU' at byte 300 of each) and their headers."""
    members = [(_info(f"m{i}"), bytes([65 + i]) * 300 + b"ODAHU" + bytes([65 + i]) * 395) for i in range(10)]
    path = _tar(tmp / "ten.tar", members, "w")
    with tarfile.open(path) as tf:
        return path.read_bytes(), tf.getmembers()


def _stored_gzip(tar: bytes) -> bytes:
    """The tar in a gzip member of stored (uncompressed) deflate blocks: a flipped byte stays readable."""
    return gzip.compress(tar, compresslevel=0, mtime=0)


def _flip_data_byte(data: bytes) -> bytes:
    at = data.index(b"ODAHU")
    return data[:at] + b"X" + data[at + 1 :]


def _bad_crc(data: bytes) -> bytes:
    return data[:-8] + bytes([data[-8] ^ 0xFF]) + data[-7:]


def _bad_isize(data: bytes) -> bytes:
    return data[:-4] + (len(gzip.decompress(data)) + 512).to_bytes(4, "little")


def _cut_at_member(tar: bytes, members: list[tarfile.TarInfo], keep: int) -> bytes:
    """The tar cut right after member ``keep - 1``'s padded data: every member whole, no end marker."""
    last = members[keep - 1]
    return tar[: last.offset_data + -(-last.size // 512) * 512]


WHOLE = [
    ("flipped data byte in a stored gzip", lambda tar, m: _flip_data_byte(_stored_gzip(tar)), "tgz", "CRC"),
    ("gzip CRC-32 wrong", lambda tar, m: _bad_crc(_stored_gzip(tar)), "tgz", "CRC"),
    ("gzip length (ISIZE) wrong", lambda tar, m: _bad_isize(gzip.compress(tar)), "tgz", "length"),
    ("garbage after the gzip member", lambda tar, m: gzip.compress(tar) + b"GARBAGE!", "tgz", "gzip"),
    ("gzip cut short", lambda tar, m: gzip.compress(tar)[:-20], "tgz", "end-of-stream"),
    ("tar cut at a member boundary", lambda tar, m: _cut_at_member(tar, m, 6), "tar", "end-of-archive"),
    ("tar cut inside a member", lambda tar, m: _cut_at_member(tar, m, 6)[:-100], "tar", "unexpected end"),
    (
        "data after the end marker",
        lambda tar, m: tar + b"\x00" * 512 + b"MORE" + b"\x00" * 508,
        "tar",
        "after",
    ),
]


@pytest.mark.parametrize(("make", "suffix", "reason"), [w[1:] for w in WHOLE], ids=[w[0] for w in WHOLE])
def test_archive_is_checked_whole_and_a_failed_unpack_leaves_nothing(
    area: tuple[Path, Path], make: Callable[[bytes, list[tarfile.TarInfo]], bytes], suffix: str, reason: str
) -> None:
    dest, tmp = area
    tar, members = _ten_members(tmp)
    archive = tmp / f"model.{suffix}"
    archive.write_bytes(make(tar, members))
    with pytest.raises(UnsafeArchive, match=reason):
        safe_extract(str(archive), str(dest), 10 * MB, 100)
    assert list(dest.iterdir()) == [], "members unpacked before the check failed are removed"


def test_a_whole_archive_with_padding_still_unpacks(area: tuple[Path, Path]) -> None:
    """The control: the same tar, gzip'd or plain, with record padding (zeros) after the marker, unpacks."""
    dest, tmp = area
    tar, _ = _ten_members(tmp)
    for name, data in (
        ("a.tar", tar + b"\x00" * 10240),
        ("a.tgz", _stored_gzip(tar)),
        ("b.tgz", gzip.compress(tar)),
    ):
        (tmp / name).write_bytes(data)
        assert safe_extract(str(tmp / name), str(dest), 10 * MB, 100) == 10
        assert (dest / "m3").read_bytes()[300:305] == b"ODAHU"


def _pax_tar(path: Path, comment_bytes: int) -> Path:
    """A tar.gz whose one member carries a pax header of about ``comment_bytes`` (a long comment record)."""
    info = _info("weights.bin")
    info.pax_headers = {"comment": "x" * comment_bytes}
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tf:
        info.size = 3
        tf.addfile(info, io.BytesIO(b"abc"))
    return path


def _gnu_long_name_tar(path: Path, length: int) -> Path:
    info = _info("d/" * (length // 2) + "w")
    with tarfile.open(path, "w:gz", format=tarfile.GNU_FORMAT) as tf:
        info.size = 3
        tf.addfile(info, io.BytesIO(b"abc"))
    return path


def test_tar_metadata_headers_count_against_the_caps_before_they_are_read(area: tuple[Path, Path]) -> None:
    dest, tmp = area
    with pytest.raises(UnsafeArchive, match=r"a pax header of \d+ bytes passes the limit of 500000 bytes"):
        safe_extract(str(_pax_tar(tmp / "pax.tgz", 600_000)), str(dest), 500_000, 10)
    with pytest.raises(UnsafeArchive, match=r"a pax header of \d+ bytes passes the limit of 1048576 bytes"):
        safe_extract(str(_pax_tar(tmp / "pax2.tgz", 2 * MB)), str(dest), 100 * MB, 10)
    with pytest.raises(UnsafeArchive, match=r"a GNU long name header of \d+ bytes passes the limit"):
        safe_extract(str(_gnu_long_name_tar(tmp / "gnu.tgz", 600_000)), str(dest), 500_000, 10)
    assert list(dest.iterdir()) == []
    assert safe_extract(str(_pax_tar(tmp / "ok.tgz", 1000)), str(dest), MB, 10) == 1


def test_all_metadata_headers_together_stay_under_their_own_cap(
    area: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """tarfile keeps every member's pax headers: all of them count against MAX_META_TOTAL (lowered here)."""
    dest, tmp = area
    monkeypatch.setattr(_archive, "MAX_META_TOTAL", 5000)
    path = tmp / "many.tgz"
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tf:
        for i in range(10):
            info = _info(f"f{i}")
            info.pax_headers = {"comment": "x" * 900}
            tf.addfile(info, io.BytesIO(b""))
    with pytest.raises(UnsafeArchive, match="passes the limit of"):
        safe_extract(str(path), str(dest), 100 * MB, 100)
    assert list(dest.iterdir()) == []


def _patched_zip(path: Path, local: int, central: int, value: int) -> Path:
    """A one-member zip with a 2-byte field of its local header and of its central directory entry set."""
    _zip(path, [("weights.bin", b"w" * 1000, 0o644)])
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", local), (b"PK\x01\x02", central)):
        at = data.index(signature) + offset
        data[at : at + 2] = value.to_bytes(2, "little")
    path.write_bytes(bytes(data))
    return path


def test_encrypted_or_unsupported_zip_members_are_refused_by_name(area: tuple[Path, Path]) -> None:
    """Local header: flags at 6, method at 8; central directory: flags at 8, method at 10 (APPNOTE 4.3)."""
    dest, tmp = area
    encrypted = _patched_zip(tmp / "enc.zip", 6, 8, 0x1)
    with pytest.raises(UnsafeArchive, match=r"'weights\.bin': encrypted \(password-protected\) members"):
        safe_extract(str(encrypted), str(dest), MB, 10)
    assert list(dest.iterdir()) == [], "no 0-byte file is left behind"
    ppmd = _patched_zip(tmp / "ppmd.zip", 8, 10, 98)
    with pytest.raises(UnsafeArchive, match=r"'weights\.bin': compression method 98 is not supported"):
        safe_extract(str(ppmd), str(dest), MB, 10)
    assert list(dest.iterdir()) == []
