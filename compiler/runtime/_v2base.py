"""Parsing of V2 batch files (rule R1) and the vocabulary the checks share: limits, Profile, Findings."""

from __future__ import annotations

import json
import math
import re
from typing import Any, Dict, FrozenSet, Iterator, List, NamedTuple, Optional, Set, Tuple

MAX_ISSUES = 20
U64 = (1 << 64) - 1
INT_RANGES = {
    "UINT8": (0, 255, "B"),
    "UINT16": (0, 65535, "H"),
    "UINT32": (0, 4294967295, "I"),
    "UINT64": (0, U64, "Q"),
    "INT8": (-128, 127, "b"),
    "INT16": (-32768, 32767, "h"),
    "INT32": (-(1 << 31), (1 << 31) - 1, "i"),
    "INT64": (-(1 << 63), (1 << 63) - 1, "q"),
}
# |x| must stay below the value that rounds (to nearest even) to infinity: exact integers, compared exactly.
FLOAT_LIMITS = {"FP16": 65520, "FP32": (1 << 128) - (1 << 103), "FP64": (1 << 1024) - (1 << 970)}
BF16_LIMIT = (1 << 128) - (1 << 119)
FLOAT_CODES = {"FP16": "e", "FP32": "f"}
FLOATS = frozenset(["FP16", "FP32", "FP64", "BF16"])
DATATYPES = frozenset(["BOOL", "BYTES", "FP16", "FP32", "FP64", *INT_RANGES])
REQUEST_KEYS = frozenset(["id", "parameters", "inputs", "outputs"])
RESPONSE_KEYS = frozenset(["model_name", "model_version", "id", "parameters", "outputs"])
TENSOR_KEYS = frozenset(["name", "shape", "datatype", "parameters", "data"])
REQUESTED_OUTPUT_KEYS = frozenset(["name", "parameters"])
# Triton extension parameters (R22): name -> the JSON type it must have.
EXTENSIONS = {
    "binary_data_size": "uint",
    "binary_data": "bool",
    "binary_data_output": "bool",
    "classification": "uint",
    "shared_memory_region": "str",
    "shared_memory_offset": "uint",
    "shared_memory_byte_size": "uint",
    "sequence_id": "str|uint",
    "sequence_start": "bool",
    "sequence_end": "bool",
    "priority": "uint",
    "timeout": "uint",
}
OUT_OF_FILE = ("binary_data_size", "shared_memory_region", "shared_memory_offset", "shared_memory_byte_size")
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
BOM = b"\xef\xbb\xbf"


class Profile(NamedTuple):
    """How the ambiguities of the protocol are decided (see README.md)."""

    fp16: bool = True  # A2: FP16 as JSON numbers accepted (warned)
    bf16: bool = False  # A9: BF16 is not in v0.5.1's table
    nan_tokens: bool = False  # A13: NaN/Infinity tokens in FP tensors
    null_as_nan: bool = False  # A13: null elements in FP tensors
    relaxed_output_parameters: bool = False  # A14: any value in response parameters
    unnatural_nesting: bool = False  # A7: rectangular nesting that is not the natural form
    max_depth: int = 64  # A20
    strict_integers: bool = False  # A6: 7.0 refused where an integer is due
    require_response_id: bool = False  # A8
    require_model_name: bool = True  # A16: off for ODAHU-style responses (validate --odahu-responses)


class Findings:
    """Errors and warnings of one file, each {"pointer", "rule", "message"}; the first MAX_ISSUES kept."""

    __slots__ = ("errors", "more_errors", "more_warnings", "warnings")

    def __init__(self) -> None:
        self.errors: List[Dict[str, str]] = []
        self.warnings: List[Dict[str, str]] = []
        self.more_errors = 0
        self.more_warnings = 0

    def error(self, pointer: str, rule: str, message: str) -> None:
        if len(self.errors) < MAX_ISSUES:
            self.errors.append({"pointer": pointer, "rule": rule, "message": message})
        else:
            self.more_errors += 1

    def warn(self, pointer: str, rule: str, message: str) -> None:
        if len(self.warnings) < MAX_ISSUES:
            self.warnings.append({"pointer": pointer, "rule": rule, "message": message})
        else:
            self.more_warnings += 1


class Token(float):
    """A NaN/Infinity token, kept apart from 1e400 (which overflows) for --allow-nan-tokens (A13)."""


class DupDict(Dict[str, Any]):
    """An object that had duplicate member names (A4); kept so the walk can point at it."""


class _NotJSON(ValueError):
    pass


_duplicates: List[str] = []


def _pairs(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: Set[str] = set()
        _duplicates.extend(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        return DupDict(pairs)
    return obj


def _refuse_constant(name: str) -> Any:
    raise _NotJSON(name)


def _token(name: str) -> Any:
    return Token(name)


# Built once: json.loads(text, **hooks) would build a decoder per file.
_DECODERS = {
    False: json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_refuse_constant),
    True: json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_token),
}


def int_value(value: Any, ptr: str, rule: str, what: str, found: Findings, profile: Profile) -> Optional[int]:
    """An integer given as a JSON integer, or as an exactly integral float (A6, warned); else None."""
    kind = type(value)
    if kind is int:
        return int(value)
    if kind is float and value.is_integer() and not profile.strict_integers:
        found.warn(ptr, rule, f"{what} {value!r} written as a float (A6)")
        return int(value)
    found.error(ptr, rule, f"{what} {show(value)} is not a JSON integer")
    return None


def parameters(params: Any, ptr: str, found: Findings, profile: Profile, relaxed: bool) -> Dict[str, Any]:
    if not isinstance(params, dict):
        found.error(ptr, "R21", "parameters must be an object")
        return {}
    for key, value in params.items():
        kptr = ptr + "/" + esc(key)
        kind = type(value)
        if kind not in (str, int, float, bool) and not relaxed:
            found.error(kptr, "R21", f"parameter value {show(value)} is not a string, number or boolean")
            continue
        want = EXTENSIONS.get(key)
        if key.startswith("triton_"):
            found.warn(kptr, "R22", f"parameter {key!r} uses the prefix Triton reserves")
        if want is None:
            continue
        if want == "bool" and kind is not bool:
            found.error(kptr, "R22", f"{key} must be a boolean")
        elif want == "str" and kind is not str:
            found.error(kptr, "R22", f"{key} must be a string")
        elif want.endswith("uint") and not (want.startswith("str") and kind is str):
            number = int_value(value, kptr, "R22", key, found, profile)
            if number is not None and not 0 <= number <= U64:
                found.error(kptr, "R22", f"{key} {show(number)} is outside [0, 2^64-1]")
    return params


def unknown(obj: Dict[str, Any], known: FrozenSet[str], ptr: str, found: Findings) -> None:
    if obj.keys() <= known:
        return
    for key in obj:
        if key not in known:
            found.warn(ptr + "/" + esc(key), "R24", f"unknown member {key!r} ignored")


def esc(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def show(value: Any) -> str:
    if type(value) is float and not math.isfinite(value):
        return "a number beyond the float range"
    if type(value) is int:
        return number(value)
    text = json.dumps(value) if not isinstance(value, Token) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def number(value: int) -> str:
    """An integer for a message: in full up to 40 digits, else its size (str() refuses past 4300 digits)."""
    if value.bit_length() <= 128:
        return str(value)
    return f"{'-' if value < 0 else ''}a {value.bit_length()}-bit integer"


def _walk(obj: Any, ptr: str = "") -> Iterator[Tuple[str, Any]]:
    """Every value with its pointer (used only on the rare paths that need to locate something)."""
    yield ptr, obj
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield ptr + "/" + esc(key) + "\0key", key
            yield from _walk(value, ptr + "/" + esc(key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from _walk(value, f"{ptr}/{i}")


def parse(raw: bytes, profile: Profile, found: Findings) -> Any:
    """The document, or None with an R1 error (bytes, UTF-8, BOM, syntax, tokens, duplicates, surrogates)."""
    if raw.startswith(BOM):
        found.error("", "R1", "starts with a UTF-8 byte order mark (A5)")
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        found.error("", "R1", f"invalid UTF-8 at byte {exc.start}")
        return None
    del _duplicates[:]
    try:
        doc = _DECODERS[profile.nan_tokens].decode(text)
    except _NotJSON as exc:
        found.error("", "R1", f"{exc} is not JSON (A13; --allow-nan-tokens accepts it)")
        return None
    except json.JSONDecodeError as exc:
        message = "empty file" if not text.strip() else f"{exc.msg} at line {exc.lineno} column {exc.colno}"
        found.error("", "R1", f"not one JSON text: {message}")
        return None
    except RecursionError:
        found.error("", "R1", "nesting too deep to parse (A20)")
        return None
    except ValueError as exc:  # e.g. an integer token with more digits than Python converts
        found.error("", "R1", f"not usable JSON: {exc}")
        return None
    if _duplicates:
        for ptr, value in _walk(doc):
            if type(value) is DupDict:
                names = sorted(set(_duplicates) & set(value))
                found.error(ptr, "R1", f"duplicate member name(s) {', '.join(map(repr, names))} (A4)")
    if "\\u" in text and SURROGATE_ESCAPE.search(text):
        for ptr, value in _walk(doc):
            if isinstance(value, str) and any("\ud800" <= ch <= "\udfff" for ch in value):
                found.error(ptr.replace("\0key", ""), "R1", "lone surrogate escape in a string (A19)")
    return doc


def unravel(index: int, dims: List[int]) -> str:
    parts = []
    for size in reversed(dims[1:]):
        index, rest = divmod(index, size)
        parts.append(rest)
    parts.append(index)
    return "".join(f"/{p}" for p in reversed(parts))
