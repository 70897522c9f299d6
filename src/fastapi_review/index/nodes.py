"""One walk per module: every node in source order, by type, with each subtree's span.

The index flattens each parsed module once, depth first (a node comes before its
children, children in source order). Every node that has children is tagged with its
span in that list, so the nodes under it are a slice, and the nodes of one type under
it are a slice of that type's list found by bisection: `walk(fn, ast.Call)` costs a
couple of C-level operations instead of a Python walk of the subtree. Rules and the
tracer ask `walk` instead of `ast.walk`; a node outside any indexed tree (a tree parsed
on the side, a synthesized node) falls back to a plain walk in the same order.
"""

from __future__ import annotations

import ast
import types
import typing
from bisect import bisect_left
from collections.abc import Iterable

_SPAN = "_fr_span"

NodeT = typing.TypeVar("NodeT", bound=ast.AST)


class Flat:
    """The nodes of one tree in depth-first source order, and per concrete type."""

    __slots__ = ("_subtypes", "by_type", "nodes", "positions")

    def __init__(self, tree: ast.AST) -> None:
        nodes: list[ast.AST] = []
        parents: list[int] = []
        stack: list[tuple[ast.AST, int]] = [(tree, -1)]
        pop, push = stack.pop, stack.append
        append_node, append_parent = nodes.append, parents.append
        AST, lst = ast.AST, list
        while stack:
            node, parent = pop()
            here = len(nodes)
            append_node(node)
            append_parent(parent)
            children: list[ast.AST] = []
            for name in node._fields:
                value = getattr(node, name, None)
                if isinstance(value, AST):
                    if value._fields or value.__dict__:  # not a shared Load()/Store()
                        children.append(value)
                elif type(value) is lst:
                    for item in value:
                        if isinstance(item, AST):
                            children.append(item)
            for child in reversed(children):
                push((child, here))
        ends = list(range(1, len(nodes) + 1))
        for i in range(len(nodes) - 1, 0, -1):
            p = parents[i]
            if ends[i] > ends[p]:
                ends[p] = ends[i]
        by_type: dict[type[ast.AST], list[ast.AST]] = {}
        positions: dict[type[ast.AST], list[int]] = {}
        for i, node in enumerate(nodes):
            t = type(node)
            bucket = by_type.get(t)
            if bucket is None:
                by_type[t] = [node]
                positions[t] = [i]
            else:
                bucket.append(node)
                positions[t].append(i)
            end = ends[i]
            if end > i + 1:
                setattr(node, _SPAN, (self, i, end))
        setattr(tree, _SPAN, (self, 0, len(nodes)))
        self.nodes = nodes
        self.by_type = by_type
        self.positions = positions
        self._subtypes: dict[type[ast.AST], list[type[ast.AST]]] = {}

    def concrete(self, kind: type[ast.AST]) -> list[type[ast.AST]]:
        """The node types present in this tree that are `kind` or derive from it."""
        found = self._subtypes.get(kind)
        if found is None:
            found = [t for t in self.by_type if issubclass(t, kind)]
            self._subtypes[kind] = found
        return found

    def of_type(self, kind: type[ast.AST], start: int, end: int) -> list[ast.AST]:
        kinds = self.concrete(kind)
        if len(kinds) == 1:
            return self._slice(kinds[0], start, end)
        return self._merged(kinds, start, end)

    def of_types(self, kinds: Iterable[type[ast.AST]], start: int, end: int) -> list[ast.AST]:
        concrete: list[type[ast.AST]] = []
        for kind in kinds:
            concrete.extend(t for t in self.concrete(kind) if t not in concrete)
        if len(concrete) == 1:
            return self._slice(concrete[0], start, end)
        return self._merged(concrete, start, end)

    def _slice(self, kind: type[ast.AST], start: int, end: int) -> list[ast.AST]:
        pos = self.positions.get(kind)
        if pos is None:
            return []
        return self.by_type[kind][bisect_left(pos, start) : bisect_left(pos, end)]

    def _merged(self, kinds: list[type[ast.AST]], start: int, end: int) -> list[ast.AST]:
        pairs: list[tuple[int, ast.AST]] = []
        for kind in kinds:
            pos = self.positions[kind]
            lo, hi = bisect_left(pos, start), bisect_left(pos, end)
            pairs.extend(zip(pos[lo:hi], self.by_type[kind][lo:hi], strict=True))
        pairs.sort(key=_first)
        return [node for _, node in pairs]


def _first(pair: tuple[int, ast.AST]) -> int:
    return pair[0]


def flatten(tree: ast.AST) -> Flat:
    """Flatten `tree` once (again only if it was never flattened) and tag its subtrees."""
    span = getattr(tree, _SPAN, None)
    if span is not None and span[1] == 0:
        flat: Flat = span[0]
        return flat
    return Flat(tree)


def _kinds(kind: object) -> list[type[ast.AST]]:
    if isinstance(kind, types.UnionType):
        return [k for arg in typing.get_args(kind) for k in _kinds(arg)]
    if isinstance(kind, tuple):
        return [k for arg in kind for k in _kinds(arg)]
    return [typing.cast(type[ast.AST], kind)]


@typing.overload
def walk(node: ast.AST) -> list[ast.AST]: ...
@typing.overload
def walk(node: ast.AST, kind: type[NodeT]) -> list[NodeT]: ...
@typing.overload
def walk(node: ast.AST, kind: object, *more: object) -> list[ast.AST]: ...
def walk(node: ast.AST, kind: object = None, *more: object) -> list[typing.Any]:
    """`node` and every node under it, depth first in source order; only `kind`s if given.

    `kind` may be a node class (abstract ones like `ast.stmt` included), a union
    (`ast.FunctionDef | ast.AsyncFunctionDef`) or a tuple; several may be given.
    """
    span = node.__dict__.get(_SPAN)
    if span is None:
        if not node._fields:
            return [node] if kind is None or isinstance(node, tuple(_all(kind, more))) else []
        span = (Flat(node), 0, None)
        flat, start = span[0], 0
        end = len(flat.nodes)
    else:
        flat, start, end = span
    if kind is None:
        return flat.nodes[start:end]
    if not more and isinstance(kind, type):
        return flat.of_type(kind, start, end)
    return flat.of_types(_all(kind, more), start, end)


def _all(kind: object, more: tuple[object, ...]) -> list[type[ast.AST]]:
    out = _kinds(kind)
    for extra in more:
        out.extend(_kinds(extra))
    return out


SCOPES: tuple[type[ast.AST], ...] = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.Lambda,
    ast.ClassDef,
)


def scope_walk(
    stmts: Iterable[ast.AST],
    kind: object = None,
    *,
    scopes: tuple[type[ast.AST], ...] = SCOPES,
    keep_scopes: bool = True,
) -> list[typing.Any]:
    """The nodes of `stmts` and under them, not entering nested `scopes`, in source order.

    A nested scope node itself is kept when `keep_scopes` (its body is not); the
    statements given are walked even when they are scopes themselves. With `kind`, only
    nodes of that kind (as in `walk`).
    """
    out: list[typing.Any] = []
    kinds = None if kind is None else _kinds(kind)
    for stmt in stmts:
        span = stmt.__dict__.get(_SPAN)
        if span is None:
            if stmt._fields:
                flatten(stmt)
                span = stmt.__dict__.get(_SPAN)
            if span is None:  # a leaf
                if kinds is None or isinstance(stmt, tuple(kinds)):
                    out.append(stmt)
                continue
        flat, start, end = span
        lo = start
        for inner in flat.of_types(scopes, start + 1, end):
            inner_span = inner.__dict__.get(_SPAN)
            i_start, i_end = (inner_span[1], inner_span[2]) if inner_span else (lo, lo + 1)
            if i_start < lo:  # inside a scope already skipped
                continue
            _collect(out, flat, lo, i_start, kinds)
            if keep_scopes and (kinds is None or isinstance(inner, tuple(kinds))):
                out.append(inner)
            lo = i_end
        _collect(out, flat, lo, end, kinds)
    return out


def _collect(
    out: list[typing.Any], flat: Flat, start: int, end: int, kinds: list[type[ast.AST]] | None
) -> None:
    if start >= end:
        return
    if kinds is None:
        out.extend(flat.nodes[start:end])
    else:
        out.extend(flat.of_types(kinds, start, end))
