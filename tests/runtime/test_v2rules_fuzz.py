"""No file can crash the checks: 10,000 generated V2-ish documents, each answered with findings, never raised.

The documents are built as text, not with json.dumps, so they can hold what a hostile file holds: integers
past Python's 4300-digit conversion limit, shapes of 2^64-1 dimensions, nesting thousands of levels deep,
NaN/Infinity tokens, lone surrogates, BOMs, invalid UTF-8 and trailing bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.runtime import _files, validate
from compiler.runtime.v2rules import Profile, check

# 10,000 examples in about 30 s; no deadline (the machine is shared), the data kept small so it stays fast.
FUZZ = settings(
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Raw(str):
    """Text put into the document as is (a number JSON allows but Python may refuse, a deep nest)."""


U64 = (1 << 64) - 1
HUGE_NUMBERS = st.sampled_from(
    [
        "9" * 4301,
        "-" + "9" * 5000,
        "1" + "0" * 4299,
        "1e400",
        "-1e400",
        "1e-400",
        "-0",
        "0.0e0",
        "123456789012345678901234567890.5e300",
        "NaN",
        "Infinity",
        "-Infinity",
        str(U64),
        str(U64 + 1),
        str(1 << 1000),
    ]
).map(Raw)
ODD_TEXT = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["", "\u202e", "\ufeff", "\U0001d518", "a/b~c", "\x00", "\\u", "true", "🙂" * 50]),
    st.sampled_from(['"\\ud800"', '"\\udfff x"', '"\\u0000"', '"\\uDBFF\\uDFFF"']).map(Raw),
)
LEAVES = st.one_of(
    st.integers(min_value=-(1 << 70), max_value=1 << 70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    ODD_TEXT,
    HUGE_NUMBERS,
)
DATA = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=10,
)
DEEP = st.tuples(st.integers(min_value=1, max_value=3000), DATA).map(
    lambda pair: Raw("[" * pair[0] + _emit(pair[1]) + "]" * pair[0])
)
SHAPES = st.one_of(
    st.lists(st.integers(min_value=-3, max_value=6), max_size=5),
    st.tuples(st.integers(min_value=0, max_value=300), st.sampled_from([0, 1, U64, U64 + 1, -1])).map(
        lambda pair: [230] + [pair[1]] * pair[0]
    ),
    st.lists(st.one_of(HUGE_NUMBERS, st.floats(), st.booleans(), ODD_TEXT), max_size=4),
    DATA,
)
DATATYPES = st.sampled_from(
    ["BOOL", "UINT8", "UINT64", "INT8", "INT64", "FP16", "FP32", "FP64", "BF16", "BYTES", "fp32", "", "X" * 9]
)
PARAMS = st.dictionaries(
    st.sampled_from(["binary_data_size", "priority", "sequence_id", "triton_x", "x", "timeout"]),
    st.one_of(LEAVES, DATA),
    max_size=3,
)
TENSOR = st.fixed_dictionaries(
    {},
    optional={
        "name": st.one_of(ODD_TEXT, LEAVES),
        "datatype": st.one_of(DATATYPES, LEAVES),
        "shape": SHAPES,
        "data": st.one_of(DATA, DEEP, st.lists(LEAVES, max_size=20)),
        "parameters": st.one_of(PARAMS, LEAVES),
        "extra": DATA,
    },
)
REQUESTED = st.dictionaries(st.sampled_from(["name", "parameters", "x"]), DATA, max_size=2)
DOCUMENT = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(ODD_TEXT, LEAVES),
        "model_name": st.one_of(ODD_TEXT, LEAVES),
        "model_version": st.one_of(ODD_TEXT, LEAVES),
        "parameters": st.one_of(PARAMS, LEAVES),
        "inputs": st.one_of(st.lists(TENSOR, max_size=3), DATA),
        "outputs": st.one_of(st.lists(TENSOR, max_size=3), st.lists(REQUESTED, max_size=2), DATA),
    },
)
TOP = st.one_of(DOCUMENT, DOCUMENT, DOCUMENT, DATA, DEEP)
# What can happen to the bytes of a file on its way: cut, trailing junk, a BOM, a byte that is not UTF-8.
DAMAGE = st.sampled_from(["", "cut", "trail", "bom", "latin1", "dup"])
PROFILES = st.builds(
    Profile,
    fp16=st.booleans(),
    bf16=st.booleans(),
    nan_tokens=st.booleans(),
    null_as_nan=st.booleans(),
    relaxed_output_parameters=st.booleans(),
    unnatural_nesting=st.booleans(),
    max_depth=st.sampled_from([1, 64, 10_000]),
    strict_integers=st.booleans(),
    require_response_id=st.booleans(),
)


def _emit(value: Any) -> str:
    """JSON text of ``value``; a Raw is written as is, everything else as json.dumps would."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, list):
        return "[" + ",".join(map(_emit, value)) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(k) + ":" + _emit(v) for k, v in value.items()) + "}"
    return json.dumps(value)


def _damaged(text: str, damage: str) -> bytes:
    raw = text.encode("utf-8", "surrogatepass")
    if damage == "cut":
        return raw[: len(raw) // 2]
    if damage == "trail":
        return raw + b" {}\x00"
    if damage == "bom":
        return b"\xef\xbb\xbf" + raw
    if damage == "latin1":
        return raw[:1] + b"\xe9" + raw[1:]
    if damage == "dup" and raw.startswith(b"{") and len(raw) > 2:
        return b'{"inputs":[],"inputs":1,' + raw[1:]
    return raw


@FUZZ
@given(doc=TOP, damage=DAMAGE, profile=PROFILES, kind=st.sampled_from(["request", "response"]))
def test_no_document_makes_the_checks_raise(doc: Any, damage: str, profile: Profile, kind: str) -> None:
    raw = _damaged(_emit(doc), damage)
    found, _ = check(raw, kind, profile)
    for issue in found.errors + found.warnings:
        assert set(issue) == {"pointer", "rule", "message"}
        assert all(isinstance(text, str) for text in issue.values())
        assert len(issue["message"]) < 600  # a message names the value, it never carries the file
    if damage in ("cut", "bom", "latin1"):
        assert found.errors  # a damaged file is never valid


def test_a_file_that_makes_the_checks_fail_is_that_files_rejection(tmp_path: Path, monkeypatch: Any) -> None:
    """Whatever escapes the rules (a bug, MemoryError) rejects the one file with rule R0, the pass goes on."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.json").write_bytes(b'{"inputs": []}')
    (src / "b.json").write_bytes(b'{"inputs": []}')

    def exhausted(path: str, limit: int = 0) -> bytes:
        if path.endswith("a.json"):
            raise MemoryError
        return b'{"inputs": []}'

    monkeypatch.setattr(_files, "read_bytes", exhausted)
    job = validate.Job("request", str(src), str(src), str(tmp_path / "rejected"), Profile(), None, False)
    rel, ok, entry, _ = validate.check_one(job, "a.json")
    assert (rel, ok) == ("a.json", False)
    assert entry == {
        "errors": [{"pointer": "", "rule": "R0", "message": "the checks could not finish: MemoryError"}]
    }
    assert validate.check_one(job, "b.json")[1] is True
