"""Test functions: what they call, which HTTP paths they request, how they assert."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi_review.index.nodes import WITH_NODES, walk
from fastapi_review.index.symbols import Function, Module, dotted, unparse

if TYPE_CHECKING:
    from fastapi_review.index.project import ProjectIndex

HTTP_VERBS = {"get", "post", "put", "patch", "delete", "head", "options", "request"}


@dataclass
class HttpCall:
    method: str
    path: str  # with f-string parts as {}
    line: int


@dataclass
class TestFunction:
    function: Function
    module: Module
    markers: list[str] = field(default_factory=list)
    http_calls: list[HttpCall] = field(default_factory=list)
    asserts: int = 0
    raises_checks: int = 0
    mock_asserts: int = 0
    fixtures: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.module.path}::{self.function.qualname.replace('.', '::')}"

    @property
    def is_async(self) -> bool:
        return self.function.is_async


def _path_text(m: Module, index: ProjectIndex, expr: ast.expr) -> str | None:
    if isinstance(expr, ast.JoinedStr):
        parts: list[str] = []
        for v in expr.values:
            if isinstance(v, ast.Constant) and isinstance(v.value, str):
                parts.append(v.value)
            elif isinstance(v, ast.FormattedValue):
                known = index.string_value(m, v.value)
                parts.append(known if known is not None else "{}")
        return "".join(parts)
    return index.string_value(m, expr)


def _markers(fn: Function, m: Module) -> list[str]:
    out: list[str] = []
    for dec in fn.node.decorator_list:
        text = dotted(dec.func if isinstance(dec, ast.Call) else dec) or ""
        if ".mark." in f".{text}":
            out.append(text.split(".mark.", 1)[-1])
    for node in m.tree.body:  # pytestmark = pytest.mark.asyncio
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            for sub in walk(node.value):
                name = dotted(sub) if isinstance(sub, ast.Attribute) else None
                if name and ".mark." in f".{name}":
                    out.append(name.split(".mark.", 1)[-1])
    return out


def _is_fixture(fn: Function) -> bool:
    for dec in fn.node.decorator_list:
        name = dotted(dec.func if isinstance(dec, ast.Call) else dec) or ""
        if name.rsplit(".", 1)[-1] in {"fixture", "yield_fixture"}:
            return True
    return False


def collect(index: ProjectIndex) -> None:
    for m in index.test_modules:
        for fn in m.functions:
            if not fn.name.startswith("test"):
                continue
            if fn.class_name and not fn.class_name.startswith("Test"):
                continue
            if m.path.rsplit("/", 1)[-1] == "conftest.py" or _is_fixture(fn):
                continue
            tf = TestFunction(function=fn, module=m, markers=_markers(fn, m))
            tf.fixtures = [a.arg for a in fn.node.args.args if a.arg not in {"self", "cls"}]
            for node in walk(fn.node, (ast.Assert, WITH_NODES)):
                if isinstance(node, ast.Assert):
                    tf.asserts += 1
                elif isinstance(node, WITH_NODES):
                    for item in node.items:
                        text = unparse(item.context_expr)
                        if re.match(r"(pytest\.)?raises\(", text):
                            tf.raises_checks += 1
            for c in fn.calls:
                func = c.node.func
                if isinstance(func, ast.Attribute) and (
                    func.attr.startswith("assert_") or func.attr.startswith("assert")
                ):
                    tf.mock_asserts += 1
                if isinstance(func, ast.Attribute) and func.attr in HTTP_VERBS and c.node.args:
                    first = c.node.args[0]
                    method = func.attr.upper()
                    if func.attr == "request" and len(c.node.args) >= 2:
                        mv = c.node.args[0]
                        method = str(mv.value).upper() if isinstance(mv, ast.Constant) else "GET"
                        first = c.node.args[1]
                    path = _path_text(m, index, first)
                    if path and path.startswith("/"):
                        tf.http_calls.append(HttpCall(method, path.split("?")[0], c.line))
            index.tests.append(tf)
