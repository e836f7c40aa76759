"""The small formula language of the catalogue, compiled to Ibis expressions.

A formula is a Python expression over the columns of a fact table and the metric's params:

    answered and wait <= threshold[channel]
    100 if score >= 9 else (-100 if score <= 6 else 0)
    channel in ('phone', 'chat') and outcome != 'phantom'

It is parsed with `ast` and only the constructs below are accepted, so a catalogue file can
never run code. Missing values follow Python rather than SQL where the two differ: a
comparison with a missing value is false, except `!=` and `not in`, which are true; `x is
None` tests for a missing value; `and`, `or` and `not` see a missing flag as false. That way
`count where not answered` counts the contacts with no answer recorded, as a reader expects.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir

from cxhub.domain.errors import CxhubError


class FormulaError(CxhubError):
    pass


_FUNCTIONS = ("coalesce", "least", "greatest", "abs")
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: lambda a, b: a == b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
}
_ARITHMETIC: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}


@dataclass(frozen=True)
class Formula:
    text: str
    tree: ast.expr
    columns: frozenset[str]  # fact columns it reads
    params: frozenset[str]  # params it reads

    def __str__(self) -> str:
        return self.text


def parse(text: str, *, params: Mapping[str, Any], columns: frozenset[str] | set[str],
          where: str) -> Formula:
    """Check a formula against the known columns and params; `where` names it in errors."""
    try:
        tree = ast.parse(str(text).strip(), mode="eval").body
    except SyntaxError as exc:
        raise FormulaError(f"{where}: {text!r} is not a valid formula ({exc.msg})") from None
    used_columns: set[str] = set()
    used_params: set[str] = set()
    for node in ast.walk(tree):
        _check_node(node, where, text)
        if isinstance(node, ast.Name) and node.id not in _FUNCTIONS:
            if node.id in params:
                used_params.add(node.id)
            elif node.id in columns:
                used_columns.add(node.id)
            else:
                known = ", ".join(sorted(columns))
                raise FormulaError(
                    f"{where}: {node.id!r} in {text!r} is neither a column nor a param; "
                    f"columns: {known}; params: {', '.join(sorted(params)) or 'none'}")
    return Formula(str(text), tree, frozenset(used_columns), frozenset(used_params))


_ALLOWED = (ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.BinOp, ast.Compare,
            ast.Name, ast.Load, ast.Constant, ast.IfExp, ast.Subscript, ast.Call, ast.Tuple,
            ast.List, ast.In, ast.NotIn, ast.Is, ast.IsNot, ast.NotEq, *_COMPARE, *_ARITHMETIC)


def _check_node(node: ast.AST, where: str, text: str) -> None:
    if not isinstance(node, _ALLOWED):
        raise FormulaError(f"{where}: {type(node).__name__} is not allowed in {text!r}")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS or node.keywords:
            raise FormulaError(
                f"{where}: only {', '.join(_FUNCTIONS)} may be called in {text!r}")
    if isinstance(node, ast.Compare):
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.Is | ast.IsNot) and not (
                    isinstance(right, ast.Constant) and right.value is None):
                raise FormulaError(f"{where}: `is` only compares with None in {text!r}")
    if isinstance(node, ast.Subscript) and not isinstance(node.value, ast.Name):
        raise FormulaError(f"{where}: only a param table may be indexed in {text!r}")


def to_ibis(formula: Formula, table: ir.Table, params: Mapping[str, Any]) -> ir.Value:
    """The formula as an Ibis expression over `table` (a fact table with the needed columns)."""
    return _Compiler(table, params).visit(formula.tree)


class _Compiler:
    def __init__(self, table: ir.Table, params: Mapping[str, Any]) -> None:
        self.table = table
        self.params = params

    def visit(self, node: ast.expr) -> Any:
        method = getattr(self, f"_{type(node).__name__.lower()}")
        return method(node)

    def _flag(self, node: ast.expr) -> Any:
        value = self.visit(node)
        return value.fill_null(False) if isinstance(value, ir.BooleanValue) else value

    def _name(self, node: ast.Name) -> Any:
        if node.id in self.params:
            return self.params[node.id]
        return self.table[node.id]

    def _constant(self, node: ast.Constant) -> Any:
        return node.value

    def _tuple(self, node: ast.Tuple | ast.List) -> list[Any]:
        return [self.visit(e) for e in node.elts]

    _list = _tuple

    def _boolop(self, node: ast.BoolOp) -> Any:
        values = [self._flag(v) for v in node.values]
        out = values[0]
        for v in values[1:]:
            out = (out & v) if isinstance(node.op, ast.And) else (out | v)
        return out

    def _unaryop(self, node: ast.UnaryOp) -> Any:
        if isinstance(node.op, ast.Not):
            return ~self._flag(node.operand)
        return -self.visit(node.operand)

    def _binop(self, node: ast.BinOp) -> Any:
        return _ARITHMETIC[type(node.op)](self.visit(node.left), self.visit(node.right))

    def _ifexp(self, node: ast.IfExp) -> Any:
        return ibis.ifelse(self._flag(node.test), self.visit(node.body), self.visit(node.orelse))

    def _call(self, node: ast.Call) -> Any:
        args = [self.visit(a) for a in node.args]
        name = node.func.id  # type: ignore[attr-defined]
        if name == "abs":
            return args[0].abs()
        return getattr(ibis, name)(*args)

    def _subscript(self, node: ast.Subscript) -> Any:
        table = self.params[node.value.id]  # type: ignore[attr-defined]
        key = self.visit(node.slice)
        if not isinstance(table, Mapping):
            raise FormulaError(f"param {node.value.id!r} is not a table")  # type: ignore[attr-defined]
        default = table.get("default")
        cases = [(key == k, v) for k, v in table.items() if k != "default"]
        return ibis.cases(*cases, else_=default)

    def _compare(self, node: ast.Compare) -> Any:
        left = self.visit(node.left)
        parts = []
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.visit(right_node)
            parts.append(self._one_comparison(op, left, right))
            left = right
        out = parts[0]
        for p in parts[1:]:
            out = out & p
        return out

    @staticmethod
    def _one_comparison(op: ast.cmpop, left: Any, right: Any) -> Any:
        if not isinstance(left, ir.Value):
            left = ibis.literal(left)
        if isinstance(op, ast.Is):
            return left.isnull()
        if isinstance(op, ast.IsNot):
            return left.notnull()
        if isinstance(op, ast.In):
            return left.isin(right).fill_null(False)
        if isinstance(op, ast.NotIn):
            return (~left.isin(right)).fill_null(True)
        if isinstance(op, ast.NotEq):
            return (left != right).fill_null(True)
        return _COMPARE[type(op)](left, right).fill_null(False)
