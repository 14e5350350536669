"""The subset of MessagePack that fluentd's forward protocol needs, in the standard library.

``pack`` encodes None, bool, int (-2^63 .. 2^64-1), float (as float 64), str, bytes, list/tuple, dict and
``EventTime`` (extension type 0); ``unpack`` decodes the same families (used for fluentd's ack replies).
"""

from __future__ import annotations

import struct
from typing import Any, Dict, List, NamedTuple, Tuple


class Truncated(ValueError):
    """The bytes end inside a value: more may be on the way."""


class EventTime(NamedTuple):
    seconds: int
    nanoseconds: int


def _header(out: bytearray, size: int, fix: int, fix_limit: int, c8: int, c16: int, c32: int) -> None:
    """A length prefix: the fix form, else 8/16/32-bit (c8 == 0: the family has no 8-bit form)."""
    if size < fix_limit:
        out.append(fix | size)
    elif c8 and size < 0x100:
        out += struct.pack(">BB", c8, size)
    elif size < 0x10000:
        out += struct.pack(">BH", c16, size)
    else:
        out += struct.pack(">BI", c32, size)


def _int(out: bytearray, value: int) -> None:
    if -32 <= value < 0x80:
        out += struct.pack(">b" if value < 0 else ">B", value)
    elif value >= 0:
        for code, fmt, limit in ((0xCC, ">BB", 8), (0xCD, ">BH", 16), (0xCE, ">BI", 32), (0xCF, ">BQ", 64)):
            if value < 1 << limit:
                out += struct.pack(fmt, code, value)
                return
        raise ValueError(f"integer {value} too large for msgpack")
    else:
        for code, fmt, limit in ((0xD0, ">Bb", 7), (0xD1, ">Bh", 15), (0xD2, ">Bi", 31), (0xD3, ">Bq", 63)):
            if value >= -(1 << limit):
                out += struct.pack(fmt, code, value)
                return
        raise ValueError(f"integer {value} too small for msgpack")


def _pack(out: bytearray, obj: Any) -> None:
    if obj is None:
        out.append(0xC0)
    elif obj is True or obj is False:
        out.append(0xC3 if obj else 0xC2)
    elif isinstance(obj, EventTime):
        out += struct.pack(">BbII", 0xD7, 0, obj.seconds, obj.nanoseconds)
    elif isinstance(obj, int):
        _int(out, obj)
    elif isinstance(obj, float):
        out += struct.pack(">Bd", 0xCB, obj)
    elif isinstance(obj, str):
        data = obj.encode("utf-8", "surrogatepass")
        _header(out, len(data), 0xA0, 32, 0xD9, 0xDA, 0xDB)
        out += data
    elif isinstance(obj, (bytes, bytearray)):
        _header(out, len(obj), 0, 0, 0xC4, 0xC5, 0xC6)
        out += obj
    elif isinstance(obj, (list, tuple)):
        _header(out, len(obj), 0x90, 16, 0, 0xDC, 0xDD)
        for item in obj:
            _pack(out, item)
    elif isinstance(obj, dict):
        _header(out, len(obj), 0x80, 16, 0, 0xDE, 0xDF)
        for key, value in obj.items():
            _pack(out, key)
            _pack(out, value)
    else:
        raise TypeError(f"cannot msgpack a {type(obj).__name__}")


def pack(obj: Any) -> bytes:
    out = bytearray()
    _pack(out, obj)
    return bytes(out)


_FIXED: Dict[int, Tuple[str, int]] = {
    0xCA: (">f", 4), 0xCB: (">d", 8), 0xCC: (">B", 1), 0xCD: (">H", 2), 0xCE: (">I", 4), 0xCF: (">Q", 8),
    0xD0: (">b", 1), 0xD1: (">h", 2), 0xD2: (">i", 4), 0xD3: (">q", 8),
}  # fmt: skip
_SIZED = {0xD9: (">B", 1, "str"), 0xDA: (">H", 2, "str"), 0xDB: (">I", 4, "str"), 0xC4: (">B", 1, "bin"),
          0xC5: (">H", 2, "bin"), 0xC6: (">I", 4, "bin"), 0xDC: (">H", 2, "array"), 0xDD: (">I", 4, "array"),
          0xDE: (">H", 2, "map"), 0xDF: (">I", 4, "map")}  # fmt: skip


def _unpack(data: bytes, pos: int) -> Tuple[Any, int]:
    code = data[pos]
    pos += 1
    if code < 0x80 or code >= 0xE0:
        return (code if code < 0x80 else code - 0x100), pos
    if code in (0xC0, 0xC2, 0xC3):
        return {0xC0: None, 0xC2: False, 0xC3: True}[code], pos
    if code in _FIXED:
        fmt, size = _FIXED[code]
        return struct.unpack_from(fmt, data, pos)[0], pos + size
    if 0xA0 <= code < 0xC0:
        kind, size = "str", code & 0x1F
    elif 0x90 <= code < 0xA0:
        kind, size = "array", code & 0x0F
    elif 0x80 <= code < 0x90:
        kind, size = "map", code & 0x0F
    elif code in _SIZED:
        fmt, width, kind = _SIZED[code]
        size = struct.unpack_from(fmt, data, pos)[0]
        pos += width
    else:
        raise ValueError(f"unsupported msgpack type 0x{code:02x}")
    if kind in ("str", "bin"):
        if pos + size > len(data):
            raise Truncated("truncated msgpack data")
        chunk = data[pos : pos + size]
        return (chunk.decode("utf-8") if kind == "str" else chunk), pos + size
    if kind == "array":
        items: List[Any] = []
        for _ in range(size):
            item, pos = _unpack(data, pos)
            items.append(item)
        return items, pos
    mapping: Dict[Any, Any] = {}
    for _ in range(size):
        key, pos = _unpack(data, pos)
        mapping[key], pos = _unpack(data, pos)
    return mapping, pos


def unpack(data: bytes) -> Any:
    """Decode one complete msgpack value (Truncated: the bytes stop early; ValueError: unsupported)."""
    try:
        value, end = _unpack(data, 0)
    except (IndexError, struct.error):
        raise Truncated("truncated msgpack data") from None
    if end != len(data):
        raise ValueError("extra bytes after the msgpack value")
    return value
