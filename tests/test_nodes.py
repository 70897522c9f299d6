"""The flattened node index (`index.nodes`): every query equals a plain walk of the tree.

Reference walks are written here recursively over `ast.iter_child_nodes`, in source
order; the operator and context singletons (`Load()`, `Add()`: one object shared by every
tree) are not nodes of any tree and are left out of both sides.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from fastapi_review.index import build_index
from fastapi_review.index.callgraph import call_graph
from fastapi_review.index.nodes import (
    SCOPES,
    children,
    concrete_kinds,
    count,
    flatten,
    own_nodes,
    parent_of,
    scope_walk,
    span_of,
    walk,
)
from fastapi_review.index.symbols import Module, dotted, unparse
from tests.test_properties import packages

SINGLETONS = (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)

SOURCE = textwrap.dedent(
    '''
    """Module docstring."""
    import asyncio
    from fastapi import APIRouter, Depends

    router = APIRouter()
    total = sum(x * 2 for x in range(10) if x % 3)


    @router.get("/items/{item_id}")
    async def read_item(item_id: int, svc=Depends(lambda: None)) -> dict[str, int]:
        def helper(v: int) -> int:
            return v + 1

        class Local:
            field: int = 0

            def method(self) -> int:
                return self.field

        try:
            value = await asyncio.to_thread(helper, item_id)
        except (ValueError, KeyError) as exc:
            raise RuntimeError(str(exc)) from exc
        else:
            pass
        finally:
            print("done")
        if (n := value) > 3 and not False:
            return {"n": n, **{k: v for k, v in {"a": 1}.items()}}
        match value:
            case 1 | 2:
                return {"small": value}
            case {"k": other}:
                return {"other": other}
            case _:
                pass
        async with asyncio.timeout(1):
            async for _ in agen():
                break
        return {"value": [i for i in range(value)][0], "f": (lambda q: q)(value)}


    async def agen():
        yield 1
        global total
        total += 1
    '''
)


def _preorder(node: ast.AST) -> Iterator[ast.AST]:
    yield node
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, SINGLETONS):
            yield from _preorder(child)


def _ref_scope(
    stmts: list[ast.AST], scopes: tuple[type[ast.AST], ...], keep: bool
) -> Iterator[ast.AST]:
    for stmt in stmts:
        if isinstance(stmt, scopes):
            if keep:
                yield stmt
            continue
        yield stmt
        yield from _ref_scope(
            [c for c in ast.iter_child_nodes(stmt) if not isinstance(c, SINGLETONS)], scopes, keep
        )


def _tree() -> ast.Module:
    tree = ast.parse(SOURCE)
    flatten(tree)
    return tree


def _inner_nodes(tree: ast.AST) -> list[ast.AST]:
    return [
        n
        for n in _preorder(tree)
        if any(not isinstance(c, SINGLETONS) for c in ast.iter_child_nodes(n))
    ]


def test_walk_is_the_subtree_in_source_order_for_every_node() -> None:
    tree = _tree()
    for node in _preorder(tree):
        assert walk(node) == list(_preorder(node))


def test_walk_by_kind_equals_filtering_the_walk() -> None:
    tree = _tree()
    kinds: list[object] = [
        ast.Call,
        ast.Name,
        ast.stmt,  # abstract: every statement class
        ast.expr,
        ast.FunctionDef | ast.AsyncFunctionDef,
        (ast.Return, ast.Yield, ast.Raise),
        (ast.Try, ast.ExceptHandler | ast.match_case),
        ast.comprehension,
        ast.Global,
    ]
    for node in _inner_nodes(tree):
        everything = list(_preorder(node))
        for kind in kinds:
            k = kind if isinstance(kind, tuple) else (kind,)
            wanted = tuple(t for part in k for t in getattr(part, "__args__", (part,)))
            assert walk(node, kind) == [n for n in everything if isinstance(n, wanted)]
    assert walk(tree, ast.Call, ast.Name) == [
        n for n in _preorder(tree) if isinstance(n, ast.Call | ast.Name)
    ]
    defs = walk(tree, ast.FunctionDef | ast.AsyncFunctionDef)
    assert [n.name for n in defs if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)] == [
        "read_item",
        "helper",
        "method",
        "agen",
    ]


def test_scope_walk_stops_at_nested_scopes() -> None:
    tree = _tree()
    fn = next(n for n in tree.body if isinstance(n, ast.AsyncFunctionDef))
    for scopes in (SCOPES, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        for keep in (True, False):
            got = scope_walk(fn.body, scopes=scopes, keep_scopes=keep)
            assert got == list(_ref_scope(list(fn.body), scopes, keep))
            calls = scope_walk(fn.body, ast.Call, scopes=scopes, keep_scopes=keep)
            assert calls == [n for n in got if isinstance(n, ast.Call)]
    # nested defs are kept as nodes, their bodies left out; the lambda's body too
    names = {n.id for n in scope_walk(fn.body, ast.Name)}
    assert "self" not in names and "q" not in names and "helper" in names
    kept = [type(n).__name__ for n in scope_walk(fn.body, ast.FunctionDef | ast.ClassDef)]
    assert kept == ["FunctionDef", "ClassDef"]


def test_own_nodes_and_children() -> None:
    tree = _tree()
    for node in _inner_nodes(tree):
        direct = [c for c in ast.iter_child_nodes(node) if not isinstance(c, SINGLETONS)]
        assert children(node) == direct
        assert own_nodes(node) == list(_ref_scope(direct, SCOPES, keep=False))


def test_spans_cover_exactly_the_subtree() -> None:
    tree = _tree()
    flat = flatten(tree)
    for node in _inner_nodes(tree):
        start, end = span_of(node)
        assert flat.nodes[start] is node
        assert flat.nodes[start:end] == list(_preorder(node))
    # every statement has a span, even one without children
    for stmt in walk(tree, ast.Pass | ast.Break):
        start, end = span_of(stmt)
        assert end == start + 1


def test_parent_of_every_node_with_a_span() -> None:
    tree = _tree()
    assert parent_of(tree) is None
    for parent in _preorder(tree):
        for child in ast.iter_child_nodes(parent):
            if isinstance(child, SINGLETONS):
                continue
            if child in _inner_nodes(child) or isinstance(child, ast.stmt):
                assert parent_of(child) is parent
    leaf = next(n for n in _preorder(tree) if isinstance(n, ast.Constant))
    assert parent_of(leaf) is None  # a leaf has no span: callers map parents themselves


def test_nodes_outside_a_flattened_tree_are_walked_on_the_side() -> None:
    expr = ast.parse("f(a, b.c)", mode="eval").body  # never flattened
    assert walk(expr) == list(_preorder(expr))
    assert [n.id for n in walk(expr, ast.Name)] == ["f", "a", "b"]
    leaf = ast.Name(id="x", ctx=ast.Load())
    assert walk(leaf) == [leaf] and walk(leaf, ast.Call) == []
    assert scope_walk([ast.Pass()]) and scope_walk([ast.Pass()], ast.Call) == []


def test_module_nodes_and_nested_defs() -> None:
    tree = _tree()
    m = Module(path="app/x.py", name="app.x", tree=tree, lines=SOURCE.splitlines(), is_test=False)
    assert m.nodes(ast.Call) == walk(tree, ast.Call)
    assert m.nodes() == walk(tree)
    fn = next(n for n in tree.body if isinstance(n, ast.AsyncFunctionDef))
    assert [d.name for d in m.nested_defs(tree)] == ["read_item", "agen"]
    assert [d.name for d in m.nested_defs(fn)] == ["helper", "Local"]
    local = m.nested_defs(fn)[1]
    assert [d.name for d in m.nested_defs(local)] == ["method"]


def _callee_name(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)


def _assert_calls_named_filter_the_walk(m: Module) -> None:
    calls = [n for n in _preorder(m.tree) if isinstance(n, ast.Call)]
    names = sorted({n for c in calls if (n := _callee_name(c)) is not None})
    assert sorted(m.call_names()) == names
    for wanted in [[], ["nothing_called_so"], *([n] for n in names), names, names[::2]]:
        assert m.calls_named(wanted) == [c for c in calls if _callee_name(c) in wanted]


def test_unparse_spells_every_expression_as_ast_unparse_does() -> None:
    """`symbols.unparse` spells annotation shapes itself: the same text as `ast.unparse`,
    for those shapes and for the ones it leaves to `ast.unparse`."""
    tree = ast.parse(
        textwrap.dedent(
            """
            a: dict[str, list[int | None]] = {}
            b: Callable[[int, str], Awaitable[None]] | None
            c: typing.Optional[mod.Cls] = None
            d: X[a,] | Y[()] | (P | Q) | R
            e: Annotated[int, Depends(get_x)] = f(x)[1:2]
            g: "Forward" = h().attr
            i: tuple[int, ...] = (1, 2)
            j: Literal["a", 'b'] = -1
            """
        )
    )
    for node in ast.walk(tree):
        if isinstance(node, ast.expr):
            assert unparse(node) == ast.unparse(node)
    second = tree.body[1]
    assert isinstance(second, ast.AnnAssign)
    assert unparse(second.annotation) == "Callable[[int, str], Awaitable[None]] | None"


def test_calls_named_are_the_calls_of_those_callee_names_in_source_order() -> None:
    tree = _tree()
    m = Module(path="app/x.py", name="app.x", tree=tree, lines=SOURCE.splitlines(), is_test=False)
    assert m.calls_named(["to_thread", "print", "str"]) == [
        c for c in walk(tree, ast.Call) if _callee_name(c) in {"to_thread", "print", "str"}
    ]
    assert [c.lineno for c in m.calls_named(["print", "timeout"])] == [28, 38]
    _assert_calls_named_filter_the_walk(m)


@settings(
    max_examples=60,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(sources=packages)
def test_generated_code_walks_like_the_reference(sources: list[str]) -> None:
    for text in sources:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        flatten(tree)
        assert walk(tree) == list(_preorder(tree))
        _assert_calls_named_filter_the_walk(Module("m.py", "m", tree, [], is_test=False))
        for expr in walk(tree, ast.expr):
            assert unparse(expr) == ast.unparse(expr)
        for node in _inner_nodes(tree):
            assert walk(node, ast.Call) == [n for n in _preorder(node) if isinstance(n, ast.Call)]
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert scope_walk(node.body) == list(_ref_scope(list(node.body), SCOPES, True))


def test_count_is_the_length_of_the_walk() -> None:
    tree = ast.parse(
        "def f(x):\n"
        "    if x and (x or not x):\n"
        "        return [y for y in x if y if not y]\n"
        "    while x:\n"
        "        x = x - 1 if x else 0\n"
    )
    flatten(tree)
    fn = tree.body[0]
    for kinds in [(ast.If,), (ast.If | ast.While, ast.IfExp), (ast.expr,), (ast.stmt, ast.BoolOp)]:
        assert count(fn, *kinds) == len(walk(fn, *kinds)) > 0
    leaf = ast.Name(id="x")
    assert count(leaf, ast.Name) == 1 and count(leaf, ast.If) == 0


def test_call_graph_own_statements_equal_the_scope_walk(tmp_path: Path) -> None:
    """`CallGraph.own_nodes` answers statement kinds from the list the scanner keeps per
    function: the same nodes, in the same order, as the walk of the function's own body."""
    (tmp_path / "app.py").write_text(SOURCE)
    (tmp_path / "calls.py").write_text(
        textwrap.dedent(
            """
            def plain(items):
                def inner():
                    return skipped()
                class Local:
                    value = skipped_too()
                total = first(second(items))
                for item in third(items):
                    fourth(item)
                return total

            def with_lambda(items):
                return sorted(items, key=lambda i: only_in_lambda(i))
            """
        )
    )
    index = build_index(tmp_path)
    graph = call_graph(index)
    kinds: list[object] = [
        ast.Call,
        ast.Return,
        (ast.Return, ast.Assign),
        ast.Assign | ast.AnnAssign | ast.AugAssign,
        ast.Expr,
        (ast.For | ast.AsyncFor, ast.While),
        ast.With | ast.AsyncWith,
        ast.ExceptHandler,
    ]
    seen: set[type[ast.AST]] = set()
    functions = [fn for m in index.modules.values() for fn in m.functions]
    assert {fn.qualname for fn in functions} >= {"read_item", "read_item.helper", "agen"}
    for fn in functions:
        own = list(_ref_scope(list(fn.node.body), SCOPES, keep=False))
        for kind in kinds:
            expected = [n for n in own if isinstance(n, concrete_types(kind))]
            assert graph.own_nodes(fn, kind) == expected
            seen.update(type(n) for n in expected)
    # the source holds each kind at least once, and none of the nested ones leaks out
    assert {ast.Return, ast.Assign, ast.AugAssign, ast.Expr, ast.ExceptHandler} <= seen
    by_name = {fn.qualname: fn for fn in functions}
    called = [dotted(n.func) for n in graph.own_nodes(by_name["plain"], ast.Call)]
    assert called == ["first", "second", "third", "fourth"]
    called = [dotted(n.func) for n in graph.own_nodes(by_name["with_lambda"], ast.Call)]
    assert called == ["sorted"]  # not the call inside the lambda
    outer = by_name["read_item"]
    assert [n.lineno for n in graph.own_nodes(outer, ast.Return)] == [30, 33, 35, 41]


def concrete_types(kind: object) -> tuple[type[ast.AST], ...]:
    return tuple(concrete_kinds(kind))


def test_names_are_found_before_and_after_the_module_lists_them() -> None:
    """Flattening leaves names out of the lists by kind: a small subtree reads them off its
    own nodes, a larger walk lists the module's names once; every answer is the same."""
    for order in ("small first", "module first"):
        tree = _tree()
        nodes = _inner_nodes(tree)
        if order == "small first":
            nodes.reverse()  # the innermost subtrees before anything lists the names
        for node in nodes:
            everything = list(_preorder(node))
            names = [n for n in everything if isinstance(n, ast.Name)]
            assert walk(node, ast.Name) == names
            assert walk(node, ast.Name | ast.Constant) == [
                n for n in everything if isinstance(n, ast.Name | ast.Constant)
            ]
            assert count(node, ast.Name) == len(names)
        assert tree.__dict__["_fr_span"][0].names_listed
