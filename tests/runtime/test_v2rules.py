"""One case per rule of docs/reference/v2-protocol.md: valid at the edge, invalid just past it; and the
ambiguities."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.runtime import v2rules
from compiler.runtime.v2rules import Profile, check

Doc = Any  # bytes, or a value json.dumps turns into the file


def t(dtype: str, shape: Any, data: Any = None, **extra: Any) -> dict[str, Any]:
    tensor: dict[str, Any] = {"name": extra.pop("name", "x"), "shape": shape, "datatype": dtype}
    if data is not None:
        tensor["data"] = data
    tensor.update(extra)
    return tensor


def req(*tensors: Any, **top: Any) -> dict[str, Any]:
    return {"inputs": list(tensors), **top}


def resp(*tensors: Any, **top: Any) -> dict[str, Any]:
    return {"model_name": "m", "id": "1", "outputs": list(tensors), **top}


def run(doc: Doc, kind: str = "request", profile: Profile | None = None) -> tuple[list[str], list[str]]:
    raw = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    found, _ = check(raw, kind, profile or Profile())
    return [e["rule"] for e in found.errors], [w["rule"] for w in found.warnings]


def rules(doc: Doc, kind: str = "request", profile: Profile | None = None) -> list[str]:
    return sorted(set(run(doc, kind, profile)[0]))


def raw_tensor(dtype: str, data_text: str, shape: str = "[1]") -> bytes:
    return f'{{"inputs":[{{"name":"x","shape":{shape},"datatype":"{dtype}","data":{data_text}}}]}}'.encode()


OK = req(t("FP32", [2], [1.0, 2]))
X = t("FP32", [1], [1.0])


def top_params(**params: Any) -> dict[str, Any]:
    return req(X, parameters=params)


def out_params(**params: Any) -> dict[str, Any]:
    return req(X, outputs=[{"name": "y", "parameters": params}])


def in_params(data: Any = (1.0,), **params: Any) -> dict[str, Any]:
    return req(t("FP32", [1], list(data) if data is not None else None, parameters=params))


FP32_MAX = 3.4028234663852886e38
FP32_LIMIT = 3.4028235677973366e38

DATATYPES = [
    "BOOL",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "FP16",
    "FP32",
    "FP64",
    "BYTES",
]
DEEP64 = json.loads("[" * 64 + "1" + "]" * 64)
CASES: list[tuple[str, Doc, str, list[str]]] = [
    # R1 one JSON text in UTF-8
    ("R1 valid, trailing whitespace", json.dumps(OK).encode() + b"\n \t\r\n", "request", []),
    ("R1 empty file", b"", "request", ["R1"]),
    ("R1 syntax error", b'{"inputs": [}', "request", ["R1"]),
    ("R1 JSON lines", json.dumps(OK).encode() + b"\n" + json.dumps(OK).encode(), "request", ["R1"]),
    ("R1 binary tail (A11)", json.dumps(OK).encode() + b"\x00\x01\x02\x03", "request", ["R1"]),
    ("R1 invalid UTF-8", b'{"id": "\xff", "inputs": []}', "request", ["R1"]),
    ("R1 UTF-8 encoded surrogate", b'{"id": "\xed\xa0\x80", "inputs": []}', "request", ["R1"]),
    ("R1 BOM (A5)", b"\xef\xbb\xbf" + json.dumps(OK).encode(), "request", ["R1"]),
    ("R1 NaN token (A13)", raw_tensor("FP32", "[NaN]"), "request", ["R1"]),
    ("R1 Infinity token", raw_tensor("FP32", "[Infinity]"), "request", ["R1"]),
    ("R1 -Infinity token", raw_tensor("FP32", "[-Infinity]"), "request", ["R1"]),
    ("R1 duplicate top member (A4)", b'{"inputs": [], "inputs": []}', "request", ["R1"]),
    ("R1 duplicate nested member", raw_tensor("FP32", '[1], "data": [2]'), "request", ["R1"]),
    ("R1 lone surrogate (A19)", b'{"id": "\\ud800", "inputs": []}', "request", ["R1"]),
    ("R1 lone surrogate in a key", b'{"\\udc00": 1, "inputs": []}', "request", ["R1"]),
    ("R1 surrogate pair is fine", b'{"id": "\\ud83d\\ude00", "inputs": []}', "request", []),
    ("R1 escaped backslash-u is fine", b'{"id": "\\\\ud800", "inputs": []}', "request", []),
    ("R1 too deep to parse (A20)", b'{"inputs": ' + b"[" * 100000 + b"]" * 100000 + b"}", "request", ["R1"]),
    # R2 top-level object
    ("R2 array", b"[]", "request", ["R2"]),
    ("R2 string", b'"x"', "request", ["R2"]),
    ("R2 number", b"1", "request", ["R2"]),
    ("R2 null", b"null", "request", ["R2"]),
    # R3 inputs
    ("R3 missing", {}, "request", ["R3"]),
    ("R3 not an array", {"inputs": {}}, "request", ["R3"]),
    ("R3 item not an object", {"inputs": [1]}, "request", ["R3"]),
    # R4 request id
    ("R4 empty string id", req(X, id=""), "request", []),
    ("R4 number id", req(X, id=1), "request", ["R4"]),
    ("R4 null id (A15)", req(X, id=None), "request", ["R4"]),
    # R5 requested outputs
    ("R5 valid", out_params(binary_data=False), "request", []),
    ("R5 not an array", req(X, outputs={}), "request", ["R5"]),
    ("R5 no name", req(X, outputs=[{}]), "request", ["R5"]),
    ("R5 name not a string", req(X, outputs=[{"name": 1}]), "request", ["R5"]),
    ("R5 twice (A3)", req(X, outputs=[{"name": "y"}, {"name": "y"}]), "request", ["R5"]),
    # R6-R9 response
    ("R6 missing model_name (A16)", {"outputs": []}, "response", ["R6"]),
    ("R6 model_name not a string", resp(model_name=1), "response", ["R6"]),
    ("R7 model_version string", resp(model_version="1"), "response", []),
    ("R7 model_version number", resp(model_version=1), "response", ["R7"]),
    ("R8 id missing is fine (A8)", {"model_name": "m", "outputs": []}, "response", []),
    ("R8 id number", resp(id=5), "response", ["R8"]),
    ("R8 id null (A15)", resp(id=None), "response", ["R8"]),
    ("R9 outputs missing", {"model_name": "m"}, "response", ["R9"]),
    ("R9 outputs not an array", {"model_name": "m", "outputs": "x"}, "response", ["R9"]),
    ("R9 output not an object", {"model_name": "m", "outputs": [[]]}, "response", ["R9"]),
    ("R9 response outputs checked like inputs", resp(t("INT8", [1], [128])), "response", ["R18"]),
    # R10 name
    ("R10 missing", {"inputs": [{"shape": [1], "datatype": "FP32", "data": [1]}]}, "request", ["R10"]),
    ("R10 not a string", req(t("FP32", [1], [1], name=1)), "request", ["R10"]),
    ("R10 twice (A3)", req(t("FP32", [1], [1]), t("FP32", [1], [1])), "request", ["R10"]),
    # R11 datatype
    *[(f"R11 {d}", req(t(d, [0], [])), "request", []) for d in DATATYPES],
    ("R11 lower case", req(t("fp32", [1], [1.0])), "request", ["R11"]),
    ("R11 FLOAT32", req(t("FLOAT32", [1], [1.0])), "request", ["R11"]),
    ("R11 STRING", req(t("STRING", [1], ["a"])), "request", ["R11"]),
    ("R11 BF16 (A9)", req(t("BF16", [1], [1.0])), "request", ["R11"]),
    ("R11 missing", {"inputs": [{"name": "x", "shape": [1], "data": [1]}]}, "request", ["R11"]),
    # R12 shape
    ("R12 missing", {"inputs": [{"name": "x", "datatype": "FP32", "data": [1]}]}, "request", ["R12"]),
    ("R12 not an array", req(t("FP32", 1, [1.0])), "request", ["R12"]),
    ("R12 -1", req(t("FP32", [-1], [1.0])), "request", ["R12"]),
    ("R12 2^64-1 is a valid dimension", req(t("FP32", [2**64 - 1], [1.0])), "request", ["R15"]),
    ("R12 2^64", req(t("FP32", [2**64], [1.0])), "request", ["R12"]),
    ("R12 fraction", req(t("FP32", [1.5], [1.0])), "request", ["R12"]),
    ("R12 boolean", req(t("FP32", [True], [1.0])), "request", ["R12"]),
    ("R12 string", req(t("FP32", ["1"], [1.0])), "request", ["R12"]),
    # R13 data
    ("R13 missing", req(t("FP32", [1])), "request", ["R13"]),
    ("R13 scalar", req(t("FP32", [1], 1.0)), "request", ["R13"]),
    ("R13 null element", req(t("FP32", [1], [None])), "request", ["R13"]),
    ("R13 object element", req(t("FP32", [1], [{}])), "request", ["R13"]),
    ("R13 null in BYTES", req(t("BYTES", [1], [None])), "request", ["R13"]),
    # R14 layout
    ("R14 natural nesting", req(t("FP32", [2, 2], [[1, 2], [3, 4]])), "request", []),
    ("R14 flat for rank 2", req(t("FP32", [2, 2], [1, 2, 3, 4])), "request", []),
    ("R14 natural rank 3", req(t("INT8", [2, 1, 2], [[[1, 2]], [[3, 4]]])), "request", []),
    ("R14 ragged", req(t("FP32", [2, 2], [[1, 2], [3]])), "request", ["R14"]),
    ("R14 mixed", req(t("FP32", [2, 2], [[1, 2], 3, 4])), "request", ["R14"]),
    ("R14 unnatural (A7)", req(t("FP32", [4], [[1, 2], [3, 4]])), "request", ["R14"]),
    ("R14 transposed (A7)", req(t("FP32", [2, 3], [[1, 2], [3, 4], [5, 6]])), "request", ["R14"]),
    ("R14 empty flat", req(t("FP32", [2, 0], [])), "request", []),
    ("R14 empty natural", req(t("FP32", [2, 0], [[], []])), "request", []),
    ("R14 depth 64", req(t("FP32", [1] * 64, DEEP64)), "request", []),
    ("R14 depth 65 (A20)", req(t("FP32", [1] * 65, [DEEP64])), "request", ["R14"]),
    # R15 element count
    ("R15 short", req(t("FP32", [3], [1, 2])), "request", ["R15"]),
    ("R15 long", req(t("FP32", [1], [1, 2])), "request", ["R15"]),
    ("R15 zero dim with an element", req(t("FP32", [0], [1.0])), "request", ["R15"]),
    ("R15 rank 0 holds one (A1)", req(t("FP32", [], [5.0])), "request", []),
    ("R15 rank 0 empty", req(t("FP32", [], [])), "request", ["R15"]),
    ("R15 spec's BOOL example (A17)", req(t("BOOL", [3], [True])), "request", ["R15"]),
    # R16 BOOL
    ("R16 true/false", req(t("BOOL", [2], [True, False])), "request", []),
    ("R16 1", req(t("BOOL", [1], [1])), "request", ["R16"]),
    ("R16 0", req(t("BOOL", [1], [0])), "request", ["R16"]),
    ("R16 'true'", req(t("BOOL", [1], ["true"])), "request", ["R16"]),
    # R17 unsigned
    ("R17 UINT8 0..255", req(t("UINT8", [2], [0, 255])), "request", []),
    ("R17 UINT8 256", req(t("UINT8", [1], [256])), "request", ["R17"]),
    ("R17 UINT8 -1", req(t("UINT8", [1], [-1])), "request", ["R17"]),
    ("R17 UINT16 65535", req(t("UINT16", [1], [65535])), "request", []),
    ("R17 UINT16 65536", req(t("UINT16", [1], [65536])), "request", ["R17"]),
    ("R17 UINT32 2^32-1", req(t("UINT32", [1], [2**32 - 1])), "request", []),
    ("R17 UINT32 2^32", req(t("UINT32", [1], [2**32])), "request", ["R17"]),
    ("R17 UINT64 2^64-1", req(t("UINT64", [1], [2**64 - 1])), "request", []),
    ("R17 UINT64 2^64", req(t("UINT64", [1], [2**64])), "request", ["R17"]),
    ("R17 fraction", req(t("UINT8", [1], [1.5])), "request", ["R17"]),
    ("R17 boolean", req(t("UINT8", [1], [True])), "request", ["R17"]),
    ("R17 string", req(t("UINT8", [1], ["1"])), "request", ["R17"]),
    # R18 signed
    ("R18 INT8 edges", req(t("INT8", [2], [-128, 127])), "request", []),
    ("R18 INT8 -129", req(t("INT8", [1], [-129])), "request", ["R18"]),
    ("R18 INT8 128", req(t("INT8", [1], [128])), "request", ["R18"]),
    ("R18 INT16 edges", req(t("INT16", [2], [-32768, 32767])), "request", []),
    ("R18 INT16 32768", req(t("INT16", [1], [32768])), "request", ["R18"]),
    ("R18 INT16 -32769", req(t("INT16", [1], [-32769])), "request", ["R18"]),
    ("R18 INT32 edges", req(t("INT32", [2], [-(2**31), 2**31 - 1])), "request", []),
    ("R18 INT32 2^31", req(t("INT32", [1], [2**31])), "request", ["R18"]),
    ("R18 INT64 edges", req(t("INT64", [2], [-(2**63), 2**63 - 1])), "request", []),
    ("R18 INT64 2^63", req(t("INT64", [1], [2**63])), "request", ["R18"]),
    ("R18 INT64 -2^63-1", req(t("INT64", [1], [-(2**63) - 1])), "request", ["R18"]),
    ("R18 fraction", req(t("INT32", [1], [1.5])), "request", ["R18"]),
    # R19 floating point
    ("R19 FP16 max and rounding edge", req(t("FP16", [3], [65504, -65504.0, 65519.99])), "request", []),
    ("R19 FP16 65520", req(t("FP16", [1], [65520])), "request", ["R19"]),
    ("R19 FP16 -65520.0", req(t("FP16", [1], [-65520.0])), "request", ["R19"]),
    ("R19 FP32 max", req(t("FP32", [2], [FP32_MAX, math.nextafter(FP32_LIMIT, 0)])), "request", []),
    ("R19 FP32 past the rounding edge", req(t("FP32", [1], [FP32_LIMIT])), "request", ["R19"]),
    ("R19 FP32 negative", req(t("FP32", [1], [-FP32_LIMIT])), "request", ["R19"]),
    ("R19 FP32 huge integer token", req(t("FP32", [1], [2**128])), "request", ["R19"]),
    ("R19 FP32 tiny underflows fine", req(t("FP32", [1], [1e-300])), "request", []),
    ("R19 FP64 max", req(t("FP64", [1], [1.7976931348623157e308])), "request", []),
    ("R19 FP64 1e400", raw_tensor("FP64", "[1e400]"), "request", ["R19"]),
    ("R19 FP64 -1e400", raw_tensor("FP64", "[0.5, -1e400]", "[2]"), "request", ["R19"]),
    ("R19 FP32 1e400", raw_tensor("FP32", "[0.5, 1e400]", "[2]"), "request", ["R19"]),
    (
        "R19 FP32 -1e400 in a file with a boolean",
        raw_tensor("FP32", "[-1e400]").replace(b'{"inputs"', b'{"parameters":{"p":true},"inputs"'),
        "request",
        ["R19"],
    ),
    ("R19 FP16 1e400", raw_tensor("FP16", "[1e400]"), "request", ["R19"]),
    ("R19 FP64 400-digit integer", raw_tensor("FP64", "[" + "9" * 400 + "]"), "request", ["R19"]),
    ("R19 FP64 integer below the edge", req(t("FP64", [1], [2**1024 - 2**970 - 1])), "request", []),
    ("R19 FP64 integer at the edge", req(t("FP64", [1], [2**1024 - 2**970])), "request", ["R19"]),
    ("R19 string", req(t("FP32", [1], ["1.0"])), "request", ["R19"]),
    ("R19 boolean", req(t("FP64", [1], [True])), "request", ["R19"]),
    # R20 BYTES
    ("R20 strings", req(t("BYTES", [2], ["abc", ""])), "request", []),
    ("R20 number", req(t("BYTES", [1], [1])), "request", ["R20"]),
    ("R20 boolean", req(t("BYTES", [1], [True])), "request", ["R20"]),
    # R21 parameters, at every place they may appear
    ("R21 scalar values", in_params(a=1, b="x", c=True, d=1.5), "request", []),
    ("R21 request not an object", req(X, parameters=[]), "request", ["R21"]),
    ("R21 request null value", top_params(a=None), "request", ["R21"]),
    ("R21 input object value", in_params(a={}), "request", ["R21"]),
    ("R21 requested output array value", out_params(a=[1]), "request", ["R21"]),
    ("R21 response object value (A14)", resp(parameters={"headers": {}}), "response", ["R21"]),
    (
        "R21 response output null value",
        resp(t("FP32", [1], [1.0], parameters={"a": None})),
        "response",
        ["R21"],
    ),
    # R22 Triton extension parameters
    ("R22 data with binary_data_size", in_params(binary_data_size=4), "request", ["R22"]),
    ("R22 binary_data_size, no data (A11)", in_params(None, binary_data_size=4), "request", ["R22"]),
    ("R22 binary_data_size negative", in_params(binary_data_size=-1), "request", ["R22"]),
    ("R22 shared memory, no data", in_params(None, shared_memory_region="r"), "request", ["R22"]),
    ("R22 binary_data not a boolean", out_params(binary_data="yes"), "request", ["R22"]),
    ("R22 classification", out_params(classification=3), "request", []),
    ("R22 classification fraction", out_params(classification=1.5), "request", ["R22"]),
    ("R22 sequence_id string or uint", top_params(sequence_id="s", priority=0), "request", []),
    ("R22 sequence_id uint", top_params(sequence_id=2**64 - 1), "request", []),
    ("R22 sequence_id negative", top_params(sequence_id=-1), "request", ["R22"]),
    ("R22 sequence_start not a boolean", top_params(sequence_start=1), "request", ["R22"]),
    ("R22 timeout past uint64", top_params(timeout=2**64), "request", ["R22"]),
    ("R22 binary_data_output boolean", top_params(binary_data_output=True), "request", []),
]


@pytest.mark.parametrize(("doc", "kind", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule(doc: Doc, kind: str, expected: list[str]) -> None:
    assert rules(doc, kind) == expected


def test_every_rule_has_cases() -> None:
    named = {case[0].split()[0] for case in CASES}
    assert {f"R{i}" for i in range(1, 23)} <= named


def test_pointers_name_the_element() -> None:
    found, _ = check(json.dumps(req(t("INT8", [2, 2], [[1, 2], [3, 400]]))).encode(), "request", Profile())
    assert found.errors == [
        {"pointer": "/inputs/0/data/1/1", "rule": "R18", "message": "INT8 element 400 is outside [-128, 127]"}
    ]


def test_pointer_in_a_big_flat_tensor_and_escaped_keys() -> None:
    data = [0.5] * 100_000
    data[77_777] = 1e39
    doc = req(t("FP32", [100_000], data), parameters={"a/b~c": None})
    found, _ = check(json.dumps(doc).encode(), "request", Profile())
    assert [e["pointer"] for e in found.errors] == ["/parameters/a~1b~0c", "/inputs/0/data/77777"]


def test_a_deep_unnatural_nesting_is_shown_short() -> None:
    """Found by the fuzz test: 179 levels of [...] around a shape [] printed every level (602 characters)."""
    data: Any = [0]
    for _ in range(179):
        data = [data]
    found, _ = check(json.dumps(req(t("INT8", [], data))).encode(), "request", Profile(max_depth=10_000))
    (error,) = [e for e in found.errors if e["rule"] == "R14"]
    assert error["message"].startswith("nesting [1, 1, 1,")
    assert "..." in error["message"]
    assert len(error["message"]) < 120


def test_errors_are_capped_with_a_count() -> None:
    found, _ = check(json.dumps(req(t("UINT8", [100], [-1] * 100))).encode(), "request", Profile())
    assert len(found.errors) == 20
    assert found.more_errors == 80


def test_unknown_members_warn_only_r24() -> None:
    doc = req(t("FP32", [1], [1.0], dtyp="FP32"), model_name="triton puts it in requests")
    assert run(doc) == ([], ["R24", "R24"])


def test_triton_reserved_prefix_warns() -> None:
    assert run(req(t("FP32", [1], [1.0], parameters={"triton_x": 1}))) == ([], ["R22"])


def test_empty_inputs_warn_a10() -> None:
    assert run({"inputs": []}) == ([], ["R3"])
    assert run({"model_name": "m", "outputs": []}, "response") == ([], ["R9"])


def test_a6_integral_floats_warn_or_fail_when_strict() -> None:
    doc = req(t("INT32", [2.0], [7.0, 8]))
    assert run(doc) == ([], ["R12", "R18"])
    assert rules(doc, profile=Profile(strict_integers=True)) == ["R12", "R18"]
    assert rules(req(t("INT32", [2], [7.0, 8])), profile=Profile(strict_integers=True)) == ["R18"]


def test_a2_fp16_warns_or_is_refused() -> None:
    doc = req(t("FP16", [1], [1.5]))
    assert run(doc) == ([], ["R19"])
    assert rules(doc, profile=Profile(fp16=False)) == ["R19"]


def test_a7_unnatural_nesting_allowed_by_option_when_the_count_matches() -> None:
    profile = Profile(unnatural_nesting=True)
    assert rules(req(t("FP32", [4], [[1, 2], [3, 4]])), profile=profile) == []
    assert rules(req(t("FP32", [5], [[1, 2], [3, 4]])), profile=profile) == ["R14", "R15"]
    assert rules(req(t("FP32", [4], [[1, 2], [3]])), profile=profile) == ["R14"]


def test_a8_response_id_required_by_option() -> None:
    assert rules({"model_name": "m", "outputs": []}, "response", Profile(require_response_id=True)) == ["R8"]


def test_a9_bf16_by_option() -> None:
    profile = Profile(bf16=True)
    assert rules(req(t("BF16", [1], [3.3895313892515355e38])), profile=profile) == []
    assert rules(req(t("BF16", [1], [2.0**128 - 2.0**119])), profile=profile) == ["R19"]
    assert rules(req(t("BF16", [1], [math.nextafter(2.0**128 - 2.0**119, 0)])), profile=profile) == []


def test_a13_nan_tokens_and_nulls_by_option() -> None:
    tokens = Profile(nan_tokens=True)
    assert rules(raw_tensor("FP32", "[NaN, Infinity, -Infinity]", "[3]"), "request", tokens) == []
    assert rules(raw_tensor("FP64", "[1e400]"), "request", tokens) == ["R19"]
    assert rules(raw_tensor("INT8", "[NaN]"), "request", tokens) == ["R18"]
    nulls = Profile(null_as_nan=True)
    assert rules(req(t("FP32", [2], [None, 1.0])), profile=nulls) == []
    assert rules(req(t("BOOL", [1], [None])), profile=nulls) == ["R13"]


def test_a14_relaxed_output_parameters() -> None:
    doc = resp(t("FP32", [1], [1.0], parameters={"a": None}), parameters={"headers": {"x": "y"}})
    assert rules(doc, "response", Profile(relaxed_output_parameters=True)) == []
    assert rules(top_params(a=None), "request", Profile(relaxed_output_parameters=True)) == ["R21"]


def test_max_depth_option() -> None:
    doc = req(t("FP32", [1, 1, 1], [[[1.0]]]))
    assert rules(doc, profile=Profile(max_depth=2)) == ["R14"]
    assert rules(doc, profile=Profile(max_depth=3)) == []


# --- the plain-tensor fast path decides exactly as the full checks --------------------------------------

_scalars = st.one_of(
    st.integers(-(2**65), 2**65),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from([0.5, 7.0, -1.0, 1e39, 255, 256, -129, 2**63, 2**64]),
    st.booleans(),
    st.text(max_size=3),
    st.none(),
)
_data = st.recursive(
    st.lists(_scalars, max_size=6), lambda inner: st.lists(inner, min_size=0, max_size=3), max_leaves=12
)
_shapes = st.one_of(
    st.lists(st.integers(-1, 4), max_size=3),
    st.just([2, 2]),
    st.lists(st.sampled_from([1, 2.0, "2", True, 2**65]), max_size=2),
    st.sampled_from([None, 3, "x"]),
)
_DATATYPES = st.sampled_from(
    ["BOOL", "BYTES", "INT8", "UINT8", "INT64", "UINT64", "FP16", "FP32", "FP64", "BF16", "X"]
)


@st.composite
def _shaped(draw: st.DrawFn) -> dict[str, Any]:
    """A tensor whose data has its shape's natural nesting (or is flat): mostly plain, or nearly."""
    shape = draw(st.lists(st.integers(0, 3), max_size=3))
    values = draw(
        st.lists(
            st.one_of(st.integers(-3, 300), _scalars), min_size=math.prod(shape), max_size=math.prod(shape)
        )
    )
    data: Any = values
    if draw(st.booleans()):
        for size in reversed(shape[1:]):
            data = [data[i : i + size] for i in range(0, len(data), size)] if size else [[] for _ in range(0)]
    return {
        "name": draw(st.sampled_from(["x", "y"])),
        "shape": shape,
        "datatype": draw(_DATATYPES),
        "data": data,
    }


_tensors = st.fixed_dictionaries(
    {"name": st.sampled_from(["x", "y", 3]), "shape": _shapes, "datatype": _DATATYPES, "data": _data},
    optional={"parameters": st.sampled_from([{}, {"binary_data_size": 4}, []]), "extra": st.just(1)},
)


@settings(max_examples=400, deadline=None)
@given(
    tensors=st.lists(st.one_of(_tensors, _shaped()), min_size=1, max_size=3),
    kind=st.sampled_from(["request", "response"]),
    strict=st.booleans(),
)
def test_the_fast_path_finds_what_the_full_checks_find(
    tensors: list[dict[str, Any]], kind: str, strict: bool
) -> None:
    key = "inputs" if kind == "request" else "outputs"
    raw = json.dumps({"model_name": "m", key: tensors}).encode()
    profile = Profile(strict_integers=strict)
    fast, _ = check(raw, kind, profile)
    saved = v2rules._plain_tensor
    v2rules._plain_tensor = lambda *args: False
    try:
        full, _ = check(raw, kind, profile)
    finally:
        v2rules._plain_tensor = saved
    assert (fast.errors, fast.warnings) == (full.errors, full.warnings)


def test_plain_tensors_take_the_fast_path() -> None:
    names: set[str] = set()
    plain = {"name": "x", "shape": [2, 2], "datatype": "INT8", "data": [[1, 2], [3, 4]]}
    assert v2rules._plain_tensor(plain, names, Profile())
    assert names == {"x"}
    assert not v2rules._plain_tensor(plain, names, Profile()), "a second x is for the full checks (A3)"
    assert not v2rules._plain_tensor({**plain, "datatype": "FP16"}, set(), Profile())
    assert not v2rules._plain_tensor({**plain, "data": [1, 2, 3, 4], "shape": [3]}, set(), Profile())


def test_without_boolean_literals_packing_decides_flat_numbers() -> None:
    def plain(data: list[Any], dtype: str = "INT32") -> bool:
        tensor = {"name": "x", "shape": [len(data)], "datatype": dtype, "data": data}
        return v2rules._plain_tensor(tensor, set(), Profile(), literals=False)

    assert plain([1, 2, 3])
    assert plain([0.5, 2, -3e38], "FP32")
    assert plain([1e308, -1e308], "FP64")
    assert not plain([1, 2.0, 3]), "an integral float in an INT tensor is warned (A6): the full checks"
    assert not plain([1, 2**31]), "out of range"
    assert not plain([1, "2"], "FP64")
    assert not plain([[1], [2]], "FP32"), "nested: the shape decides, in the full checks"
    assert not plain([1e400], "FP32"), "infinity overflows FP32"


@pytest.mark.parametrize(
    ("text", "holds"),
    [
        ('{"inputs": [{"name": "x", "data": [1, 2]}], "outputs": []}', False),
        ('{"inputs": [{"data": [true]}]}', True),
        ('{"inputs": [{"data": [0,false]}]}', True),
        ("true", True),
        ("false", True),
        ('{"id": "u f uu ff"}', False),
        ('{"id": "' + "u" * 100 + '", "p": true}', True),  # past the letters looked at one by one
        ('{"id": "' + "fu" * 100 + '"}', False),
    ],
)
def test_boolean_literals_are_found_by_their_rare_letters(text: str, holds: bool) -> None:
    assert v2rules._may_hold_booleans(text.encode()) is holds
