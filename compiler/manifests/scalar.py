"""One scalar as canonical YAML: plain when that is unambiguous, else JSON-style double quotes.

Plain is used only when every YAML 1.1 and 1.2 reader takes the text back as the same string, so
look-alikes of booleans (``yes``, ``on``, ``y``), nulls (``~``), numbers (``1e3``, ``0o17``,
``1:20``) and dates are quoted. Multi-line text becomes a literal block (``|``) when the caller
gives the block's indentation and the text survives the round trip, else a quoted string.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

import yaml

_RESOLVER = yaml.resolver.Resolver()
_STR_TAG = "tag:yaml.org,2002:str"
# Plain scalars start with a letter, digit or one of these, and hold no ": " or " #".
_PLAIN_START = re.compile(r"[A-Za-z0-9_/.$(~]|-\S")
_PLAIN_BODY = re.compile(r"[\x21-\x7e ]*")
_EXTRA_AMBIGUOUS = re.compile(
    r"""[yYnN]
    |[-+]?(0o[0-7_]+|0x[0-9a-fA-F_]+|0b[01_]+)
    |[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?
    |[-+]?\.(inf|Inf|INF|nan|NaN|NAN)
    |<<|=""",
    re.VERBOSE,
)
# Characters YAML cannot hold unescaped, or reads as line breaks (NEL, LS, PS) or a BOM.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def quoted(text: str) -> str:
    """A JSON string literal is a valid YAML double-quoted scalar once non-printables are escaped."""
    return _UNSAFE.sub(_escape, json.dumps(text, ensure_ascii=False))


@lru_cache(maxsize=65536)
def plain_ok(text: str) -> bool:
    if not text or text != text.strip() or not _PLAIN_START.match(text):
        return False
    if not _PLAIN_BODY.fullmatch(text) or ": " in text or " #" in text or text.endswith(":"):
        return False
    if _EXTRA_AMBIGUOUS.fullmatch(text):
        return False
    tag = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return bool(tag == _STR_TAG)


def _block(text: str, indent: int) -> str | None:
    """``|`` literal block, or None when the text would not read back identically."""
    if _UNSAFE.search(text) or "\r" in text or "\x85" in text or text[:1] in (" ", "\t"):
        return None
    body = text[:-1] if text.endswith("\n") else text
    lines = body.split("\n")
    if any(line != line.rstrip(" \t") for line in lines) or lines[0] == "":
        return None
    chomp = "-" if not text.endswith("\n") else ("+" if text.endswith("\n\n") else "")
    pad = " " * indent
    return f"|{chomp}\n" + "\n".join(pad + line if line else "" for line in lines)


def scalar(value: object, indent: int | None = None) -> str:
    """The YAML text of one scalar. ``indent``: where a literal block's lines start."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise TypeError(f"not a YAML scalar: {type(value).__name__}")
    if "\n" in value:
        block = _block(value, indent) if indent is not None else None
        return block if block is not None else quoted(value)
    return value if plain_ok(value) else quoted(value)
