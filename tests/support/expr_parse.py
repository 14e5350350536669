"""The lexer and parser of the expr evaluator (tests/support/expr.py), from expr-lang/expr v1.17.8:
``parser/lexer/state.go``, ``parser/lexer/utils.go`` ``unescape``, ``parser/parser.go``,
``parser/operator/operator.go``. The tree is nested tuples ``(kind, ...)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any


class ExprError(Exception):
    """An error of ``expr.Run``."""


class CompileError(ExprError):
    """An error of ``expr.Compile`` (parse or check)."""


BINARY = {"or": 10, "||": 10, "and": 15, "&&": 15, "==": 20, "!=": 20, "<": 20, ">": 20, ">=": 20,
          "<=": 20, "in": 20, "matches": 20, "..": 25, "+": 30, "-": 30, "*": 60, "/": 60, "%": 60,
          "??": 500}  # fmt: skip
UNARY = {"not": 50, "!": 50, "-": 90, "+": 90}
WORDS = {"or", "and", "not", "in", "matches"}
BUILTINS = {"type": 1, "keys": 1, "len": 1, "int": 1, "string": 1, "all": 2}
_TOKEN = re.compile(
    r"""\s*(?:(?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')"""
    r"""|(?P<id>[A-Za-z_$][A-Za-z0-9_]*)|(?P<op>\?\.|\?\?|\.\.|==|!=|<=|>=|&&|\|\||[-+*/%<>!?:,.#()\[\]{}]))"""
)
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
            "\\": "\\", "'": "'", '"': '"', "`": "`", "?": "?"}  # fmt: skip


def unescape(quoted: str) -> str:
    """``parser/lexer/utils.go`` ``unescape``: Go's escapes, ``\\xHH``, ``\\uHHHH``, ``\\UHHHHHHHH``."""
    body, out, i = quoted[1:-1], [], 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        code = body[i + 1]
        if code in _ESCAPES:
            out.append(_ESCAPES[code])
            i += 2
            continue
        width = {"x": 2, "X": 2, "u": 4, "U": 8}.get(code)
        if width is None or not re.fullmatch(r"[0-9a-fA-F]+", body[i + 2 : i + 2 + width] or "-"):
            raise CompileError(f"unable to unescape string {quoted}")
        out.append(chr(int(body[i + 2 : i + 2 + width], 16)))
        i += 2 + width
    return "".join(out)


def tokens(source: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    at = 0
    while source[at:].strip():
        match = _TOKEN.match(source, at)
        if not match:
            raise CompileError(f"unexpected token at {at}: {source[at : at + 10]!r}")
        at = match.end()
        if match["num"]:
            text = match["num"]
            out.append(("num", float(text) if "." in text or "e" in text.lower() else int(text)))
        elif match["str"]:
            out.append(("str", unescape(match["str"])))
        elif match["id"]:
            out.append(("op" if match["id"] in WORDS else "id", match["id"]))
        else:
            out.append(("op", match["op"]))
    return [*out, ("end", None)]


# --- the tree: tuples (kind, ...) ----------------------------------------------------------------


@dataclass
class _Parser:
    toks: list[tuple[str, Any]]
    at: int = 0
    depth: int = 0

    @property
    def cur(self) -> tuple[str, Any]:
        return self.toks[self.at]

    def is_op(self, *values: str) -> bool:
        return self.cur[0] == "op" and self.cur[1] in values

    def expect(self, value: str) -> None:
        if not self.is_op(value):
            raise CompileError(f"expected {value!r}, got {self.cur[1]!r}")
        self.at += 1

    def expression(self, precedence: int = 0) -> tuple[Any, ...]:
        left = self.primary()
        previous = ""
        while self.cur[0] == "op" and self.cur[1] in (*BINARY, "not"):
            op, negate = self.cur[1], False
            if op == "not":
                following = self.toks[self.at + 1]
                if following[1] not in ("in", "matches") or BINARY[following[1]] < precedence:
                    break
                self.at, op, negate = self.at + 1, following[1], True
            if BINARY[op] < precedence:
                break
            self.at += 1
            if previous == "??" and op != "??":
                raise CompileError(f"Operator ({op}) and coalesce expressions (??) cannot be mixed")
            right = self.expression(BINARY[op] + 1)
            left = ("not", ("bin", op, left, right)) if negate else ("bin", op, left, right)
            previous = op
        if precedence == 0 and self.is_op("?"):
            self.at += 1
            yes = self.expression()
            self.expect(":")
            left = ("if", left, yes, self.expression())
        return left

    def primary(self) -> tuple[Any, ...]:
        kind, value = self.cur
        if kind == "op" and value in UNARY:
            self.at += 1
            operand = self.expression(UNARY[value])
            unary = {"!": "not", "not": "not", "-": "neg"}.get(value)
            return self.postfix((unary, operand) if unary else operand)
        if self.is_op("("):
            self.at += 1
            inner = self.expression()
            self.expect(")")
            return self.postfix(inner)
        if self.is_op("#") and self.depth:
            self.at += 1
            return self.postfix(("pointer",))
        self.at += 1
        if kind in ("num", "str"):
            return self.postfix(("lit", value))
        if kind == "id" and value in ("true", "false", "nil"):
            return ("lit", {"true": True, "false": False, "nil": None}[value])
        if kind == "id":
            return self.postfix(self.call(value) if self.is_op("(") else ("ident", value))
        if value == "[":
            return self.postfix(("array", self.items("]", self.expression)))
        if value == "{":
            return self.postfix(("map", self.items("}", self.pair)))
        raise CompileError(f"unexpected token {value!r}")

    def items(self, close: str, item: Any) -> tuple[Any, ...]:
        out = []
        while not self.is_op(close):
            out.append(item())
            if not self.is_op(close):
                self.expect(",")
        self.at += 1
        return tuple(out)

    def pair(self) -> tuple[Any, Any]:
        """``parseMapExpression``: a key is a string, number or bare name (a string), or ``(expression)``."""
        kind, value = self.cur
        if kind in ("num", "str", "id"):
            key: tuple[Any, ...] = ("lit", str(value))
            self.at += 1
        elif self.is_op("("):
            key = self.expression()
        else:
            raise CompileError(f"a map key must be a quoted string, a number, a identifier (got {value!r})")
        self.expect(":")
        return key, self.expression()

    def call(self, name: str) -> tuple[Any, ...]:
        if name not in BUILTINS:
            raise CompileError(f"unknown func {name}")
        self.expect("(")
        args = [self.expression()]
        if name == "all":
            self.expect(",")
            args.append(self.predicate())
        self.expect(")")
        if len(args) != BUILTINS[name]:
            raise CompileError(f"invalid number of arguments (expected {BUILTINS[name]}, got {len(args)})")
        return ("call", name, tuple(args))

    def predicate(self) -> tuple[Any, ...]:
        braces = self.is_op("{")
        self.at += braces
        self.depth += 1
        node = self.expression()
        self.depth -= 1
        if braces:
            self.expect("}")
        return node

    def postfix(self, node: tuple[Any, ...]) -> tuple[Any, ...]:
        chained = False
        while self.is_op(".", "?.", "["):
            optional = self.cur[1] == "?."
            chained |= optional
            bracket = self.cur[1] == "["
            self.at += 1
            if optional and self.is_op("["):
                self.at, bracket = self.at + 1, True
            if bracket:
                prop = self.expression()
                self.expect("]")
            elif self.cur[0] in ("id", "op") and re.fullmatch(r"[A-Za-z_]\w*", str(self.cur[1])):
                prop, self.at = ("lit", self.cur[1]), self.at + 1
            else:
                raise CompileError(f"expected name, got {self.cur[1]!r}")
            node = ("member", node, prop, optional)
        return ("chain", node) if chained else node


@lru_cache(maxsize=256)
def parse(source: str) -> tuple[Any, ...]:
    parser = _Parser(tokens(source))
    tree = parser.expression()
    if parser.cur[0] != "end":
        raise CompileError(f"unexpected token {parser.cur[1]!r}")
    return tree
