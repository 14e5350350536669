"""A small evaluator of expr-lang/expr (v1.17.8, the version argo-workflows v4.1.2 pins), for tests.

No Go toolchain can fetch modules here, so the Argo webhook's expressions (compiler/argo/expr.py) are run
by this evaluator of the subset they use, written from the expr source (paths in expr-lang/expr v1.17.8):
- lexer and parser (tests/support/expr_parse.py: ``parser/lexer/state.go``, ``parser/lexer/utils.go``
  ``unescape``,
  ``parser/parser.go``, ``parser/operator/operator.go``): precedences, left associativity, ``not in`` /
  ``not matches``, ``?:`` parsed after the binary operators, ``??`` that cannot be mixed with another
  operator without parentheses, ``?.`` chains, predicates with ``#`` (braces optional);
- the checker's errors the webhook can meet (``checker/checker.go``): an unknown name (the environment is
  strict), a field of an environment value that has none (``memberNode``: ``type nil has no field``, an
  array indexed by a string), an invalid constant regular expression;
- the optimizer's ``in`` over a constant string array, a ``map[string]struct{}`` lookup
  (``optimizer/in_array.go``): nil looks up "", any other non-string is an error;
- the VM (``vm/vm.go``, ``vm/runtime/runtime.go``): ``Fetch`` (missing map key: nil; a field of nil, of a
  string or a number: an error), ``Equal`` (different types: false; numbers by value), ``Less`` and
  friends (numbers or strings, else an error), ``In``, ``&&``/``||``/``?:``/``!`` that need booleans,
  ``matches`` (nil: false; a non-string: an error); builtins ``type``, ``keys``, ``all``, ``len``, ``int``,
  ``string`` (``builtin/builtin.go``, ``builtin/lib.go``).
Values are Python's JSON values: dict, list, str, float, int (expr's int), bool, None.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from tests.support.expr_parse import CompileError, ExprError, parse

__all__ = ["CompileError", "ExprError", "compile_and_run", "parse"]


# --- the checker: the errors of expr.Compile the webhook's expressions can meet -------------------


def go_type(value: Any) -> str:
    """The Go type of a JSON value as ``fmt`` prints ``%T`` (encoding/json into ``interface{}``)."""
    if value is None:
        return "<nil>"
    names = {bool: "bool", int: "int", float: "float64", str: "string", list: "[]interface {}"}
    return names.get(type(value), "map[string]interface {}")


def _field_error(value: Any, prop: tuple[Any, ...]) -> str | None:
    """``memberNode`` on an environment value of known type: why ``value.<prop>`` does not compile."""
    literal = prop[0] == "lit" and isinstance(prop[1], str)
    if isinstance(value, dict) or not literal:
        return None
    if value is None:
        return f"type nil has no field {prop[1]}"
    if isinstance(value, list):
        return "array elements can only be selected using an integer (got string)"
    return f"type {go_type(value)} has no field {prop[1]}"


def check(tree: tuple[Any, ...], env: Mapping[str, Any]) -> None:
    """Raise CompileError where ``checker/checker.go`` rejects ``tree`` over ``env`` (a strict map env)."""
    kind = tree[0]
    if kind == "ident" and tree[1] not in env:
        raise CompileError(f"unknown name {tree[1]}")
    if kind == "member" and tree[1][0] == "ident" and tree[1][1] in env:
        problem = _field_error(env[tree[1][1]], tree[2])
        if problem:
            raise CompileError(problem)
    if kind == "bin" and tree[1] == "matches" and tree[3][0] == "lit":
        try:
            go_regexp(tree[3][1])
        except re.error as exc:
            raise CompileError(f"error parsing regexp: {exc}") from None
    for child in tree[1:]:
        if isinstance(child, tuple) and child and isinstance(child[0], str):
            check(child, env)
        elif isinstance(child, tuple):
            for item in child:
                if isinstance(item, tuple) and item and isinstance(item[0], str):
                    check(item, env)
                elif isinstance(item, tuple):  # a map literal's (key, value)
                    for part in item:
                        check(part, env)


@lru_cache(maxsize=64)
def go_regexp(pattern: str) -> re.Pattern[str]:
    """Go's RE2 in Python's re for the patterns the webhook uses: ``$`` is the end of the text only
    (RE2 without the ``m`` flag), as Python's ``\\Z``, never before a final newline."""
    return re.compile(re.sub(r"(?<!\\)\$", r"\\Z", pattern))


# --- the VM ---------------------------------------------------------------------------------------


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def equal(a: Any, b: Any) -> bool:
    """``runtime.Equal``: numbers by value, else same type and ``reflect.DeepEqual``."""
    if _number(a) and _number(b):
        return bool(a == b)
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    return bool(a == b)


def compare(op: str, a: Any, b: Any) -> bool:
    """``runtime.Less`` and friends: numbers or strings, else an error."""
    if not ((_number(a) and _number(b)) or (isinstance(a, str) and isinstance(b, str))):
        raise ExprError(f"invalid operation: {op} (mismatched types {go_type(a)} and {go_type(b)})")
    return bool({"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op])


def fetch(base: Any, key: Any) -> Any:
    """``runtime.Fetch``."""
    if base is None:
        raise ExprError(f"cannot fetch {key} from {go_type(base)}")
    if isinstance(base, dict):
        if key is not None and not isinstance(key, str):
            raise ExprError(f"reflect: value of type {go_type(key)} is not assignable to type string")
        return base.get(key if key is not None else "")
    if isinstance(base, (list, str)):
        if not _number(key):
            raise ExprError(f"invalid operation: int({go_type(key)})")
        index = int(key) + (len(base) if key < 0 else 0)
        if not 0 <= index < len(base):
            raise ExprError(f"index out of range: {index} (array length is {len(base)})")
        return base[index]
    raise ExprError(f"cannot fetch {key} from {go_type(base)}")


def contains(needle: Any, haystack: Any, constant_strings: bool) -> bool:
    """``in``; over a constant string array, the optimizer's ``map[string]struct{}`` lookup."""
    if constant_strings:
        if needle is not None and not isinstance(needle, str):
            raise ExprError(f"reflect: value of type {go_type(needle)} is not assignable to type string")
        return (needle or "") in haystack
    if haystack is None:
        return False
    if isinstance(haystack, list):
        return any(equal(item, needle) for item in haystack)
    if isinstance(haystack, dict):
        return fetch(haystack, needle) is not None or (needle or "") in haystack
    raise ExprError(f'operator "in" not defined on {go_type(haystack)}')


def _bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise ExprError(f"interface conversion: interface {{}} is {go_type(value)}, not bool ({what})")
    return value


class _NilChain(Exception):
    """An optional member of nil: the whole ``?.`` chain is nil (``ast.ChainNode``)."""


@dataclass
class _Run:
    env: Mapping[str, Any]
    pointer: list[Any]

    def eval(self, node: tuple[Any, ...]) -> Any:
        return getattr(self, f"_{node[0]}")(*node[1:])

    def _lit(self, value: Any) -> Any:
        return value

    def _ident(self, name: str) -> Any:
        return self.env.get(name)  # run over another env than the checked one: a missing name is nil

    def _pointer(self) -> Any:
        return self.pointer[-1]

    def _array(self, items: tuple[Any, ...]) -> Any:
        return [self.eval(i) for i in items]

    def _map(self, pairs: tuple[Any, ...]) -> Any:
        return {self.eval(k): self.eval(v) for k, v in pairs}

    def _chain(self, node: tuple[Any, ...]) -> Any:
        try:
            return self.eval(node)
        except _NilChain:
            return None

    def _member(self, base: tuple[Any, ...], prop: tuple[Any, ...], optional: bool) -> Any:
        value = self.eval(base)
        if optional and value is None:
            raise _NilChain
        return fetch(value, self.eval(prop))

    def _not(self, operand: tuple[Any, ...]) -> Any:
        return not _bool(self.eval(operand), "!")

    def _if(self, cond: tuple[Any, ...], yes: tuple[Any, ...], no: tuple[Any, ...]) -> Any:
        return self.eval(yes) if _bool(self.eval(cond), "?:") else self.eval(no)

    def _bin(self, op: str, left: tuple[Any, ...], right: tuple[Any, ...]) -> Any:
        a = self.eval(left)
        if op in ("&&", "and"):
            return self.eval(right) if _bool(a, op) else False
        if op in ("||", "or"):
            return True if _bool(a, op) else self.eval(right)
        if op == "??":
            return self.eval(right) if a is None else a
        b = self.eval(right)
        if op in ("==", "!="):
            return equal(a, b) is (op == "==")
        if op in ("<", ">", "<=", ">="):
            return compare(op, a, b)
        if op == "in":
            strings = (
                right[0] == "array"
                and bool(right[1])
                and all(i[0] == "lit" and isinstance(i[1], str) for i in right[1])
            )
            return contains(a, b, strings)
        if op == "matches":
            if a is None or b is None:
                return False
            if not isinstance(a, str):
                raise ExprError(f"interface conversion: interface {{}} is {go_type(a)}, not []uint8")
            return go_regexp(b).search(a) is not None
        return _arithmetic(op, a, b)

    def _call(self, name: str, args: tuple[Any, ...]) -> Any:
        if name == "all":
            items = self.eval(args[0])
            if not isinstance(items, list):
                raise ExprError(f"cannot iterate {go_type(items)}")
            for item in items:
                self.pointer.append(item)
                try:
                    if not _bool(self.eval(args[1]), "all"):
                        return False
                finally:
                    self.pointer.pop()
            return True
        return BUILTIN_FUNCS[name](self.eval(args[0]))

    def _neg(self, operand: tuple[Any, ...]) -> Any:
        value = self.eval(operand)
        if not _number(value):
            raise ExprError(f"invalid operation: - {go_type(value)}")
        return -value


def _arithmetic(op: str, a: Any, b: Any) -> Any:
    if op == "+" and isinstance(a, str) and isinstance(b, str):
        return a + b
    if op == ".." and isinstance(a, int) and isinstance(b, int):
        return list(range(a, b + 1))
    if not (_number(a) and _number(b)) or op == "..":
        raise ExprError(f"invalid operation: {op} (mismatched types {go_type(a)} and {go_type(b)})")
    if op == "/":
        return float(a) / float(b)
    if op == "%":
        return int(math.fmod(a, b))
    return {"+": a + b, "-": a - b, "*": a * b}[op]


def expr_type(value: Any) -> str:
    """``builtin/lib.go`` ``Type``."""
    if value is None:
        return "nil"
    return {bool: "bool", int: "int", float: "float", str: "string", list: "array"}.get(type(value), "map")


def expr_keys(value: Any) -> list[str]:
    if not isinstance(value, dict):
        raise ExprError(f"cannot get keys from {expr_type(value)}")
    return list(value)


def expr_len(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode())  # Go's len of a string: bytes
    if isinstance(value, (list, dict)):
        return len(value)
    raise ExprError(f"invalid argument for len (type {go_type(value)})")


def expr_int(value: Any) -> int:
    if _number(value):
        return int(value)  # Go's conversion truncates toward zero
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value):
        return int(value)
    raise ExprError(f"invalid operation: int({value if isinstance(value, str) else go_type(value)})")


def go_format(value: Any) -> str:
    """``fmt.Sprintf("%v", value)`` of a JSON value's Go form (``builtin/lib.go`` ``String``)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value)
    return str(value)


def go_float(value: float) -> str:
    """``fmt``'s ``%v`` of a float64: ``strconv`` ``'g'`` with the shortest digits, ``e`` notation when the
    exponent is below -4 or at least 6 (``formatDigits``: "if precision was the shortest possible, use
    precision 6 for this decision")."""
    if math.isinf(value) or math.isnan(value):
        return {math.inf: "+Inf", -math.inf: "-Inf"}.get(value, "NaN")
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    point = len(digits) + int(exponent)  # digits before the decimal point
    prefix = "-" if sign else ""
    if point - 1 < -4 or point - 1 >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{point - 1:+03d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{text}"
    if point >= len(text):
        return prefix + text + "0" * (point - len(text))
    return f"{prefix}{text[:point]}.{text[point:]}"


BUILTIN_FUNCS = {"type": expr_type, "keys": expr_keys, "len": expr_len, "int": expr_int, "string": go_format}


def compile_and_run(source: str, env: Mapping[str, Any], run_env: Mapping[str, Any] | None = None) -> Any:
    """``expr.Compile(source, expr.Env(env))`` then ``expr.Run`` over ``run_env`` (default: ``env``):
    CompileError or ExprError on failure."""
    tree = parse(source)
    check(tree, env)
    try:
        return _Run(env if run_env is None else run_env, []).eval(tree)
    except RecursionError as exc:  # pragma: no cover - deeper than any expression the webhook emits
        raise ExprError(str(exc)) from None
