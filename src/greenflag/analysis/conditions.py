"""A tiny, safe expression language over `result` for success/failure conditions (pure; never `eval`).

Grammar (Argo Rollouts' common subset)::

    expr    := or
    or      := and (("or" | "||") and)*
    and     := not (("and" | "&&") not)*
    not     := ("not" | "!") not | compare
    compare := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
    sum     := unary (("+" | "-") unary)*
    unary   := "-" unary | atom
    atom    := NUMBER | STRING | "true" | "false" | "result" postfix* | "len" "(" expr ")" | "(" expr ")"
    postfix := "[" expr "]" | "." NAME

`result[0]` on a plain number is the number itself, so `result[0] < 0.01` works whether a provider returns a
scalar or a one-element vector. Parse errors name the column (1-based).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Condition", "ConditionError", "EvaluationError", "parse_condition"]
__pure__ = True


class ConditionError(ValueError):
    """The text is not a condition in the grammar; the message names the column."""


class EvaluationError(ValueError):
    """The condition is well formed but cannot be evaluated against this result (missing key, wrong type)."""


_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
    r"|(?P<str>\"[^\"\\]*\"|'[^'\\]*')"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op><=|>=|==|!=|&&|\|\||[<>!()\[\].+-]))"
)
_KEYWORDS = {"and", "or", "not", "true", "false", "len", "result"}
_COMPARE = {"<", "<=", ">", ">=", "==", "!="}


@dataclass(frozen=True)
class _Tok:
    kind: str  # num, str, name, op, end
    text: str
    col: int


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            col = pos + len(text[pos:]) - len(text[pos:].lstrip()) + 1
            raise ConditionError(f"column {col}: unexpected character {text[col - 1]!r}")
        kind = match.lastgroup or "op"
        toks.append(_Tok(kind, match.group(kind), match.start(kind) + 1))
        pos = match.end()
    toks.append(_Tok("end", "", len(text) + 1))
    return toks


# AST nodes are tuples: ("num", v) ("str", s) ("bool", b) ("result",) ("index", node, key_node) ("attr", node, name)
# ("len", node) ("neg", node) ("arith", op, a, b) ("cmp", op, a, b) ("and", a, b) ("or", a, b) ("not", a)
Node = tuple[Any, ...]


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokenize(text)
        self.i = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def take(self, *texts: str) -> _Tok | None:
        tok = self.tok
        if tok.kind in ("op", "name") and tok.text in texts:
            self.i += 1
            return tok
        return None

    def expect(self, text: str) -> None:
        if self.take(text) is None:
            raise self.error(f"expected {text!r}")

    def error(self, what: str) -> ConditionError:
        tok = self.tok
        found = "end of condition" if tok.kind == "end" else repr(tok.text)
        return ConditionError(f"column {tok.col}: {what}, found {found}")

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise ConditionError("column 1: empty condition")
        node = self.or_()
        if self.tok.kind != "end":
            raise self.error("expected an operator (and, or, <, ==, ...)")
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.take("or", "||"):
            node = ("or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.take("and", "&&"):
            node = ("and", node, self.not_())
        return node

    def not_(self) -> Node:
        if self.take("not", "!"):
            return ("not", self.not_())
        return self.compare()

    def compare(self) -> Node:
        node = self.sum_()
        tok = self.tok
        if tok.kind == "op" and tok.text in _COMPARE:
            self.i += 1
            node = ("cmp", tok.text, node, self.sum_())
            if self.tok.kind == "op" and self.tok.text in _COMPARE:
                raise self.error("chained comparisons need 'and'")
        return node

    def sum_(self) -> Node:
        node = self.unary()
        while True:
            tok = self.take("+", "-")
            if tok is None:
                return node
            node = ("arith", tok.text, node, self.unary())

    def unary(self) -> Node:
        if self.take("-"):
            return ("neg", self.unary())
        return self.atom()

    def atom(self) -> Node:
        tok = self.tok
        if tok.kind == "num":
            self.i += 1
            return ("num", float(tok.text))
        if tok.kind == "str":
            self.i += 1
            return ("str", tok.text[1:-1])
        if self.take("true"):
            return ("bool", True)
        if self.take("false"):
            return ("bool", False)
        if self.take("("):
            node = self.or_()
            self.expect(")")
            return node
        if self.take("len"):
            self.expect("(")
            node = ("len", self.or_())
            self.expect(")")
            return node
        if self.take("result"):
            return self.postfix(("result",))
        if tok.kind == "name" and tok.text not in _KEYWORDS:
            raise ConditionError(f"column {tok.col}: unknown name {tok.text!r}; only result, len, and, or, not")
        raise self.error("expected a number, a string, result, len(...) or '('")

    def postfix(self, node: Node) -> Node:
        while True:
            if self.take("["):
                node = ("index", node, self.or_())
                self.expect("]")
            elif self.take("."):
                tok = self.tok
                if tok.kind != "name":
                    raise self.error("expected a key name after '.'")
                self.i += 1
                node = ("attr", node, tok.text)
            else:
                return node


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EvaluationError(f"{what} is {_show(value)}, not a number")
    return float(value)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _index(value: Any, key: Any) -> Any:
    if isinstance(value, list | tuple):
        if isinstance(key, bool) or not isinstance(key, float | int) or float(key) != int(key):
            raise EvaluationError(f"list index {_show(key)} is not an integer")
        i = int(key)
        if not -len(value) <= i < len(value):
            raise EvaluationError(f"index {i} out of range (result has {len(value)} values)")
        return value[i]
    if isinstance(value, dict):
        if isinstance(key, float) and key == int(key):
            key = int(key)
        for candidate in (key, str(key)):
            if candidate in value:
                return value[candidate]
        raise EvaluationError(f"no key {_show(key)} in result")
    if isinstance(value, int | float) and not isinstance(value, bool) and key in (0, 0.0, -1, -1.0):
        return value  # scalar results behave like a one-element vector
    raise EvaluationError(f"cannot index {_show(value)} with {_show(key)}")


def _compare(op: str, a: Any, b: Any) -> bool:
    if op in ("==", "!="):
        if isinstance(a, int | float) and isinstance(b, int | float):
            equal = float(a) == float(b)
        else:
            equal = a == b
        return equal if op == "==" else not equal
    x, y = _number(a, "left side"), _number(b, "right side")
    if math.isnan(x) or math.isnan(y):
        raise EvaluationError("NaN cannot be compared")
    return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]


def _eval(node: Node, result: Any) -> Any:
    kind = node[0]
    if kind in ("num", "str", "bool"):
        return node[1]
    if kind == "result":
        if result is None:
            raise EvaluationError("result is empty")
        return result
    if kind == "index":
        return _index(_eval(node[1], result), _eval(node[2], result))
    if kind == "attr":
        return _index(_eval(node[1], result), node[2])
    if kind == "len":
        value = _eval(node[1], result)
        if not isinstance(value, list | tuple | dict | str):
            raise EvaluationError(f"len() of {_show(value)}")
        return float(len(value))
    if kind == "neg":
        return -_number(_eval(node[1], result), "operand of '-'")
    if kind == "arith":
        a = _number(_eval(node[2], result), f"left side of {node[1]!r}")
        b = _number(_eval(node[3], result), f"right side of {node[1]!r}")
        return a + b if node[1] == "+" else a - b
    if kind == "cmp":
        return _compare(node[1], _eval(node[2], result), _eval(node[3], result))
    if kind == "not":
        return not _truth(_eval(node[1], result))
    if kind == "and":
        return _truth(_eval(node[1], result)) and _truth(_eval(node[2], result))
    if kind == "or":
        return _truth(_eval(node[1], result)) or _truth(_eval(node[2], result))
    raise AssertionError(kind)  # pragma: no cover


def _truth(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise EvaluationError(f"{_show(value)} is not true or false; compare it (e.g. result < 0.01)")


@dataclass(frozen=True)
class Condition:
    """A parsed condition. `evaluate(result)` returns a bool or raises EvaluationError."""

    text: str
    tree: Node

    def evaluate(self, result: Any) -> bool:
        return _truth(_eval(self.tree, result))

    def __str__(self) -> str:
        return self.text


def parse_condition(text: str) -> Condition:
    """Parse once; raises ConditionError naming the column of the first problem."""
    return Condition(text.strip(), _Parser(text).parse())
