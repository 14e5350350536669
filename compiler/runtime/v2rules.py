"""Predict Protocol V2 checks of one batch file (rules R1-R22, R24 of docs/reference/v2-protocol.md).

``check(raw, kind, profile)`` parses the bytes once and walks the document once; the checks over ``data``
work on whole lists at C speed (``set(map(type, ...))`` for the element types, ``struct.pack`` or
``min``/``max``/``sum`` for the ranges) and fall back to an element-by-element scan only to point at the
elements that fail. Ambiguities are decided by ``Profile`` (defaults: the note's suggestions, see README.md).
"""

from __future__ import annotations

import math
import struct
from itertools import chain
from typing import AbstractSet, Any, Dict, FrozenSet, List, Optional, Set, Tuple

try:
    from . import _v2base as base
    from ._v2base import Findings, Profile
except ImportError:  # run as a plain file next to its siblings
    import _v2base as base  # type: ignore[no-redef,import-not-found]
    from _v2base import Findings, Profile  # type: ignore[no-redef]

__all__ = ["Findings", "Profile", "check"]


def _shape(shape: Any, ptr: str, found: Findings, profile: Profile) -> Optional[List[int]]:
    if (
        type(shape) is list
        and set(map(type, shape)) <= _INT
        and (not shape or 0 <= min(shape) <= max(shape) <= base.U64)
    ):
        return shape
    if not isinstance(shape, list):
        found.error(ptr, "R12", "shape must be an array of integers")
        return None
    dims: List[int] = []
    for i, dim in enumerate(shape):
        value = base.int_value(dim, f"{ptr}/{i}", "R12", "dimension", found, profile)
        if value is None:
            return None
        if not 0 <= value <= base.U64:
            found.error(f"{ptr}/{i}", "R12", f"dimension {base.number(value)} is outside [0, 2^64-1]")
            return None
        dims.append(value)
    return dims


_structs: Dict[Tuple[int, str], struct.Struct] = {}


def _packer(count: int, code: str) -> struct.Struct:
    key = (count, code)
    packer = _structs.get(key)
    if packer is None:
        if len(_structs) > 64:
            _structs.clear()
        packer = _structs[key] = struct.Struct(f"<{count}{code}")
    return packer


_INT = frozenset([int])
_NUMBERS = frozenset([int, float])
_allowed_last: List[Any] = [None, {}]


def _allowed(dtype: str, profile: Profile) -> FrozenSet[type]:
    """The Python types a datatype's elements may have under this profile (table built once per profile)."""
    if _allowed_last[0] is not profile:
        table: Dict[str, FrozenSet[type]] = {"BOOL": frozenset([bool]), "BYTES": frozenset([str])}
        ints = frozenset([int] if profile.strict_integers else [int, float])
        table.update((name, ints) for name in base.INT_RANGES)
        floats: Set[type] = {int, float}
        floats |= {base.Token} if profile.nan_tokens else set()
        floats |= {type(None)} if profile.null_as_nan else set()
        table.update((name, frozenset(floats)) for name in base.FLOATS)
        _allowed_last[:] = [profile, table]
    result: FrozenSet[type] = _allowed_last[1][dtype]
    return result


def _in_range_fast(dtype: str, leaves: List[Any], types: AbstractSet[type]) -> bool:
    """True when every leaf (of allowed types) is surely in range; False means: scan them one by one."""
    if dtype in ("BOOL", "BYTES") or not leaves:
        return True
    if not types <= _NUMBERS:
        return False  # NaN tokens / nulls: the scan decides
    try:
        if dtype in base.INT_RANGES:
            if float in types:
                return False  # A6 floats need the scan (and a warning)
            _packer(len(leaves), base.INT_RANGES[dtype][2]).pack(*leaves)
        elif dtype in base.FLOAT_CODES:
            _packer(len(leaves), base.FLOAT_CODES[dtype]).pack(*leaves)
            # Packing takes infinity, which is what JSON's 1e400 parses to; FP32 and FP16 cannot hold it.
            return math.isfinite(sum(leaves))
        elif dtype == "FP64":
            return math.isfinite(float(sum(leaves)))
        else:
            return bool(min(leaves) > -base.BF16_LIMIT and max(leaves) < base.BF16_LIMIT)
    except (struct.error, OverflowError, TypeError):  # TypeError: sum/min/max over what is no number
        return False
    return True


def _leaf_issue(dtype: str, value: Any, profile: Profile) -> Optional[Tuple[str, str]]:
    """(rule, message) for an element that breaks its datatype's rule, ("A6", "") for a warned one."""
    kind = type(value)
    if (
        kind is dict
        or kind is base.DupDict
        or (value is None and not (profile.null_as_nan and dtype in base.FLOATS))
    ):
        return "R13", f"{base.show(value)} is not a tensor element (number, string or boolean)"
    if dtype == "BOOL":
        return None if kind is bool else ("R16", f"BOOL element {base.show(value)} is not true/false")
    if dtype == "BYTES":
        return None if kind is str else ("R20", f"BYTES element {base.show(value)} is not a string")
    if dtype in base.INT_RANGES:
        low, high, _ = base.INT_RANGES[dtype]
        rule = "R17" if dtype[0] == "U" else "R18"
        warned = kind is float and value.is_integer() and not profile.strict_integers
        if kind is not int and not warned:
            return rule, f"{dtype} element {base.show(value)} is not a JSON integer"
        if not low <= value <= high:
            return rule, f"{dtype} element {base.show(value)} is outside [{low}, {high}]"
        return ("A6", "") if warned else None
    if value is None or (kind is base.Token and profile.nan_tokens):
        return None
    if kind is not int and kind is not float:
        return "R19", f"{dtype} element {base.show(value)} is not a JSON number"
    limit = base.BF16_LIMIT if dtype == "BF16" else base.FLOAT_LIMITS[dtype]
    if not -limit < value < limit:
        return "R19", f"{dtype} element {base.show(value)} overflows {dtype}"
    return None


def _scan(
    dtype: str, leaves: List[Any], ptr: str, dims: List[int], found: Findings, profile: Profile
) -> None:
    warned = 0
    first = ""
    for i, value in enumerate(leaves):
        issue = _leaf_issue(dtype, value, profile)
        if issue is None:
            continue
        if issue[0] == "A6":
            warned += 1
            first = first or ptr + base.unravel(i, dims)
        else:
            found.error(ptr + base.unravel(i, dims), *issue)
    if warned:
        found.warn(
            first, "R17" if dtype[0] == "U" else "R18", f"{warned} integral value(s) written as floats (A6)"
        )


def _levels(
    data: List[Any], types: Set[type], ptr: str, found: Findings, profile: Profile
) -> Optional[Tuple[List[Any], Set[type], List[int]]]:
    """Flatten rectangular nesting level by level: (leaves, their types, size per level); None if ragged."""
    level, dims = data, [len(data)]
    while True:
        if list not in types:
            return level, types, dims
        if len(types) > 1:
            i = next(i for i, v in enumerate(level) if type(v) is not type(level[0]))
            found.error(ptr + base.unravel(i, dims), "R14", "arrays and scalars mixed at one nesting level")
            return None
        lengths = set(map(len, level))
        if len(lengths) > 1:
            i = next(i for i, v in enumerate(level) if len(v) != len(level[0]))
            found.error(
                ptr + base.unravel(i, dims),
                "R14",
                f"ragged: {len(level[i])} items where others have {len(level[0])}",
            )
            return None
        if len(dims) >= profile.max_depth:
            found.error(ptr, "R14", f"data nested deeper than {profile.max_depth} levels (A20)")
            return None
        dims.append(lengths.pop())
        level = list(chain.from_iterable(level))
        types = set(map(type, level))


def _data(
    dtype: Optional[str], shape: Optional[List[int]], data: Any, ptr: str, found: Findings, profile: Profile
) -> None:
    if type(data) is not list:
        found.error(ptr, "R13", "data must be an array")
        return
    types = set(map(type, data))
    if list in types:
        flat = _levels(data, types, ptr, found, profile)
        if flat is None:
            return
        leaves, types, dims = flat
    else:
        leaves, dims = data, [len(data)]
    if shape is not None:
        count, shown = math.prod(shape), base.show(shape)  # shown: 40 characters at most
        unnatural = len(dims) > 1 and dims != shape
        if unnatural and not (profile.unnatural_nesting and count == len(leaves)):
            layout = f"nesting {base.show(dims)} is neither flat nor the natural form of shape {shown}"
            found.error(ptr, "R14", layout + " (A7)")
        if count != len(leaves):
            found.error(ptr, "R15", f"{len(leaves)} elements, shape {shown} holds {base.number(count)}")
    if dtype is None:
        return
    if dtype == "FP16" and leaves:
        if not profile.fp16:
            found.error(ptr, "R19", "FP16 data as JSON numbers refused by this profile (A2)")
            return
        found.warn(ptr, "R19", "FP16 data as JSON numbers: Triton and KServe refuse it (A2)")
    if not (types <= _allowed(dtype, profile) and _in_range_fast(dtype, leaves, types)):
        _scan(dtype, leaves, ptr, dims, found, profile)


def _tensor(
    tensor: Any, ptr: str, rule: str, names: Set[str], found: Findings, profile: Profile, relaxed: bool
) -> None:
    if not isinstance(tensor, dict):
        found.error(ptr, rule, "a tensor must be an object")
        return
    name = tensor.get("name")
    if not isinstance(name, str):
        found.error(ptr + "/name", "R10", "name is required and must be a string")
    elif name in names:
        found.error(ptr + "/name", "R10", f"tensor name {name!r} appears twice (A3)")
    else:
        names.add(name)
    dtype = tensor.get("datatype")
    if not isinstance(dtype, str) or not (dtype in base.DATATYPES or (dtype == "BF16" and profile.bf16)):
        hint = " (A9: --allow-bf16)" if dtype == "BF16" else ""
        found.error(ptr + "/datatype", "R11", f"datatype {base.show(dtype)} is not a V2 datatype{hint}")
        dtype = None
    shape = None
    if "shape" not in tensor:
        found.error(ptr + "/shape", "R12", "shape is required")
    else:
        shape = _shape(tensor["shape"], ptr + "/shape", found, profile)
    outside: List[str] = []
    if "parameters" in tensor:
        params = base.parameters(tensor["parameters"], ptr + "/parameters", found, profile, relaxed)
        outside = [key for key in base.OUT_OF_FILE if key in params]
    if "data" in tensor:
        for key in outside:
            found.error(
                ptr + "/parameters/" + key,
                "R22",
                f"{key} says the contents are not in 'data', yet data is given",
            )
        _data(dtype, shape, tensor["data"], ptr + "/data", found, profile)
    elif outside:
        found.error(
            ptr, "R22", f"contents outside the JSON ({outside[0]}) cannot travel in a batch file (A11)"
        )
    else:
        found.error(ptr + "/data", "R13", "data is required")
    base.unknown(tensor, base.TENSOR_KEYS, ptr, found)


def _plain_tensor(tensor: Any, names: Set[str], profile: Profile, literals: bool = True) -> bool:
    """True for a tensor the full checks would pass without a finding; it then takes its name.

    Most tensors are plain: known keys, no parameters, a shape of integers, data in the natural nesting, all
    in range. This decides those with a few whole-list operations and builds no pointer; anything else
    (False) goes through ``_tensor``, which finds and reports whatever is wrong. ``literals`` False says
    the file holds no ``true``/``false`` (nor NaN tokens): then flat numeric data that packs as its
    datatype needs no look at each element's type (packing refuses all but numbers, and booleans and
    tokens are the only numbers it takes that the checks do not).
    """
    if type(tensor) is not dict or not tensor.keys() <= _PLAIN_KEYS or "data" not in tensor:
        return False
    name, dtype, shape, data = tensor.get("name"), tensor.get("datatype"), tensor.get("shape"), tensor["data"]
    if type(name) is not str or name in names or type(dtype) is not str or type(data) is not list:
        return False
    if dtype not in _PLAIN_DATATYPES:
        return False
    if not (type(shape) is list and set(map(type, shape)) <= _INT):
        return False
    if shape and not 0 <= min(shape) <= max(shape) <= base.U64:
        return False
    if not literals and dtype in _NUMERIC and data and _in_range_fast(dtype, data, _INT):
        leaves = data  # packed as the datatype: numbers of it only, in range, flat
    else:
        leaves, types = data, set(map(type, data))
        if list in types:
            flat = _levels(data, types, "", Findings(), profile)
            if flat is None or flat[2] != shape:
                return False
            leaves, types, _ = flat
        if not (types <= _allowed(dtype, profile) and _in_range_fast(dtype, leaves, types)):
            return False
    if math.prod(shape) != len(leaves):
        return False
    names.add(name)
    return True


_PLAIN_KEYS = base.TENSOR_KEYS - {"parameters"}
_PLAIN_DATATYPES = base.DATATYPES - {"FP16"}  # FP16 as JSON numbers is always warned (A2)
_NUMERIC = _PLAIN_DATATYPES - {"BOOL", "BYTES"}


def _tensors(
    doc: Dict[str, Any], key: str, rule: str, found: Findings, profile: Profile, relaxed: bool, literals: bool
) -> None:
    tensors = doc.get(key)
    if not isinstance(tensors, list):
        found.error("/" + key, rule, f"{key} is required and must be an array")
        return
    if not tensors:
        found.warn("/" + key, rule, f"{key} is empty (A10)")
    names: Set[str] = set()
    for i, tensor in enumerate(tensors):
        if not _plain_tensor(tensor, names, profile, literals):
            _tensor(tensor, f"/{key}/{i}", rule, names, found, profile, relaxed)


def _request(doc: Dict[str, Any], found: Findings, profile: Profile, literals: bool) -> None:
    if "id" in doc and not isinstance(doc["id"], str):
        found.error("/id", "R4", f"id {base.show(doc['id'])} is not a string (A15)")
    if "parameters" in doc:
        base.parameters(doc["parameters"], "/parameters", found, profile, False)
    _tensors(doc, "inputs", "R3", found, profile, False, literals)
    if "outputs" in doc:
        outputs = doc["outputs"]
        if not isinstance(outputs, list):
            found.error("/outputs", "R5", "outputs must be an array")
            outputs = []
        names: Set[str] = set()
        for i, out in enumerate(outputs):
            ptr = f"/outputs/{i}"
            if not isinstance(out, dict) or not isinstance(out.get("name"), str):
                found.error(ptr, "R5", "a requested output must be an object with a string name")
                continue
            if out["name"] in names:
                found.error(ptr + "/name", "R5", f"output {out['name']!r} requested twice (A3)")
            names.add(out["name"])
            if "parameters" in out:
                base.parameters(out["parameters"], ptr + "/parameters", found, profile, False)
            base.unknown(out, base.REQUESTED_OUTPUT_KEYS, ptr, found)
    base.unknown(doc, base.REQUEST_KEYS, "", found)


def _response(doc: Dict[str, Any], found: Findings, profile: Profile, literals: bool) -> None:
    relaxed = profile.relaxed_output_parameters
    if "model_name" not in doc and not profile.require_model_name:
        found.warn("/model_name", "R6", "no model_name: a strict V2 response carries the model's name (A16)")
    elif not isinstance(doc.get("model_name"), str):
        found.error("/model_name", "R6", "model_name is required and must be a string")
    if "model_version" in doc and not isinstance(doc["model_version"], str):
        found.error(
            "/model_version", "R7", f"model_version {base.show(doc['model_version'])} is not a string"
        )
    if "id" in doc and not isinstance(doc["id"], str):
        found.error("/id", "R8", f"id {base.show(doc['id'])} is not a string (A15)")
    elif "id" not in doc and profile.require_response_id:
        found.error("/id", "R8", "id is required by this profile (A8)")
    if "parameters" in doc:
        base.parameters(doc["parameters"], "/parameters", found, profile, relaxed)
    _tensors(doc, "outputs", "R9", found, profile, relaxed, literals)
    base.unknown(doc, base.RESPONSE_KEYS, "", found)


def _may_hold_booleans(raw: bytes) -> bool:
    """Whether the text holds ``true`` or ``false`` (a JSON boolean is one of these, spelled out).

    A search for each word reads the whole text (0.15 ms per 100 KB); the letters u and f are rare outside
    words, and numbers have none, so looking at each of them (memchr) answers the same, far faster. Past a
    handful of them (text-heavy files) the plain search answers.
    """
    for letter, word, offset in ((b"u", b"true", 2), (b"f", b"false", 0)):
        at = raw.find(letter)
        for _ in range(32):
            if at < 0:
                break
            if at >= offset and raw[at - offset : at - offset + len(word)] == word:
                return True
            at = raw.find(letter, at + 1)
        else:
            return b"true" in raw or b"false" in raw
    return False


def check(raw: bytes, kind: str, profile: Profile) -> Tuple[Findings, Any]:
    """Check one file's bytes as a 'request' or 'response'; return the findings and the parsed document."""
    found = Findings()
    doc = base.parse(raw, profile, found)
    if found.errors:
        return found, None
    if not isinstance(doc, dict):
        found.error("", "R2", f"the top-level value must be an object, not {type(doc).__name__}")
    else:
        # Below a few KB the per-element look costs less than the scan for the words.
        literals = profile.nan_tokens or len(raw) < 4096 or _may_hold_booleans(raw)
        (_request if kind == "request" else _response)(doc, found, profile, literals)
    return found, doc
