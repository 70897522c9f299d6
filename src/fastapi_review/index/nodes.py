"""One walk per module: every node in source order, by type, with each subtree's span.

The index flattens each parsed module once, depth first (a node comes before its
children, children in source order). Every node that has children, and every statement,
is tagged with its span in that list, so the nodes under it are a slice, and the nodes of
one type under it are a slice of that type's list found by bisection: `walk(fn, ast.Call)`
costs a couple of C-level operations instead of a Python walk of the subtree.
`scope_walk`/`own_nodes` leave nested functions, classes and lambdas out the same way,
and `parent_of` finds the node above another. Rules and the tracer ask these instead of
`ast.walk`; a node outside any indexed tree (a tree parsed on the side, a synthesized
node) is flattened on the side when first walked. The operator and context singletons
(`Load()`, `Add()`: one object shared by every tree) are not nodes of a tree here. Names
(`ast.Name`, a third of all nodes) are listed by type only when first asked for.
"""

from __future__ import annotations

import ast
import types
import typing
from bisect import bisect_left
from collections.abc import Iterable, Iterator

SPAN_ATTR = "_fr_span"

NodeT = typing.TypeVar("NodeT", bound=ast.AST)

# node kinds that rules test with `isinstance`, as unions built once: `A | B` written in
# the call is built again at every test, which costs more than the test itself
FUNCTION_NODES = ast.FunctionDef | ast.AsyncFunctionDef
DEF_NODES = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
ASSIGN_NODES = ast.Assign | ast.AnnAssign
NAME_OR_ATTRIBUTE = ast.Name | ast.Attribute
WITH_NODES = ast.With | ast.AsyncWith
FOR_NODES = ast.For | ast.AsyncFor
LOOP_NODES = ast.For | ast.AsyncFor | ast.While
TRY_NODES = ast.Try | ast.TryStar

# fields that never hold a node of the tree: names and flags, and the operator and
# context singletons (one shared `Load()` for every name: not part of any tree)
_NOT_CHILDREN = frozenset(
    {"op", "ops", "ctx", "id", "attr", "arg", "name", "asname", "module", "level"}
    | {"type_comment", "kind", "conversion", "is_async"}
)
_child_fields: dict[type[ast.AST], tuple[str, ...]] = {}


def _fields_for(t: type[ast.AST]) -> tuple[str, ...]:
    names = tuple(f for f in t._fields if f not in _NOT_CHILDREN)
    if t is ast.Constant or t is ast.MatchSingleton:
        names = ()
    _child_fields[t] = names
    return names


_shapes: dict[type[ast.AST], tuple[tuple[str, ...], bool]] = {}

# a subtree this small is read off its nodes for names, rather than list a module's names
_SMALL = 64


def _shape(t: type[ast.AST]) -> tuple[tuple[str, ...], bool]:
    """The fields of a node class that can hold nodes, and whether it is a statement."""
    got = _shapes[t] = (_child_fields.get(t) or _fields_for(t), issubclass(t, ast.stmt))
    return got


class Flat:
    """The nodes of one tree in depth-first source order, and per concrete type."""

    __slots__ = ("by_type", "names_listed", "nodes", "positions", "segments")

    def __init__(self, tree: ast.AST) -> None:
        nodes: list[ast.AST] = []
        by_type: dict[type[ast.AST], list[ast.AST]] = {}
        positions: dict[type[ast.AST], list[int]] = {}
        # depth first: the nodes still to list under each open node are an iterator on a
        # stack; a node with children opens its own, and once that one runs out, the
        # node's span ends where the list ends then
        stack: list[tuple[Iterator[ast.AST], int]] = []
        push, pop = stack.append, stack.pop
        AST, lst, shapes, name_kind = ast.AST, list, _shapes, ast.Name
        append = nodes.append
        todo: Iterator[ast.AST] = iter((tree,))
        owner = -1  # the position of the node whose children `todo` lists
        while True:
            for node in todo:
                t = type(node)
                here = len(nodes)
                append(node)
                if t is name_kind:
                    continue  # (a leaf, listed by kind only when asked: `_list_names`)
                bucket = by_type.get(t)
                if bucket is None:
                    by_type[t] = [node]
                    positions[t] = [here]
                else:
                    bucket.append(node)
                    positions[t].append(here)
                shape = shapes.get(t)
                if shape is None:
                    shape = _shape(t)
                names, is_stmt = shape
                if not names:  # a leaf kind (a name, a constant, `pass`)
                    if is_stmt:
                        node.__dict__[SPAN_ATTR] = (self, here, here + 1)
                    continue
                fields = node.__dict__
                children: list[ast.AST] = []
                for name in names:
                    value = fields.get(name)
                    if value is None:
                        continue
                    if type(value) is lst:
                        for item in value:
                            if isinstance(item, AST):
                                children.append(item)
                    elif isinstance(value, AST):
                        children.append(value)
                if children:
                    push((todo, owner))
                    todo, owner = iter(children), here
                    break  # (its children first)
                if is_stmt:
                    fields[SPAN_ATTR] = (self, here, here + 1)
            else:  # every node under `owner` is listed
                if not stack:
                    break
                nodes[owner].__dict__[SPAN_ATTR] = (self, owner, len(nodes))
                todo, owner = pop()
        tree.__dict__[SPAN_ATTR] = (self, 0, len(nodes))
        self.nodes = nodes
        self.by_type = by_type
        self.positions = positions
        self.names_listed = False
        self.segments: dict[
            tuple[int, int, tuple[type[ast.AST], ...]], list[tuple[int, int, ast.AST | None]]
        ] = {}

    def own_segments(
        self, start: int, end: int, scopes: tuple[type[ast.AST], ...]
    ) -> list[tuple[int, int, ast.AST | None]]:
        """The stretches of [start, end) outside the nested `scopes`, each with the scope
        node that ends it (None for the last); kept per range, as functions are walked
        again and again."""
        key = (start, end, scopes)
        got = self.segments.get(key)
        if got is None:
            got = []
            lo = start
            for inner in self.of_types(scopes, start, end):
                i_start, i_end = span_of(inner)
                if i_start < lo:  # inside a scope already left out
                    continue
                got.append((lo, i_start, inner))
                lo = i_end
            got.append((lo, end, None))
            self.segments[key] = got
        return got

    def _list_names(self) -> bool:
        """List the `ast.Name` nodes by kind, once: flattening leaves them out of the lists
        by kind, as they are a third of all nodes and seldom asked for by kind (on the
        2,000-module benchmark, in half the modules). False if listed already."""
        if self.names_listed:
            return False
        self.names_listed = True
        nodes, name_kind = self.nodes, ast.Name
        found = [i for i, n in enumerate(nodes) if type(n) is name_kind]
        if found:
            self.positions[name_kind] = found
            self.by_type[name_kind] = [nodes[i] for i in found]
        return True

    def of_type(self, kind: type[ast.AST], start: int, end: int) -> list[ast.AST]:
        kinds = _concrete(kind)
        if len(kinds) == 1:
            pos = self.positions.get(kind)
            if pos is None:
                if kind is not ast.Name:
                    return []
                if end - start <= _SMALL:  # (a small subtree: its names, read off at once)
                    return [n for n in self.nodes[start:end] if type(n) is kind]
                if not self._list_names():
                    return []
                return self.of_type(kind, start, end)
            return self.by_type[kind][bisect_left(pos, start) : bisect_left(pos, end)]
        return self._merged(kinds, start, end)

    def of_types(self, kinds: Iterable[type[ast.AST]], start: int, end: int) -> list[ast.AST]:
        return self._merged(_concrete_of(kinds), start, end)

    def _merged(self, kinds: list[type[ast.AST]], start: int, end: int) -> list[ast.AST]:
        if end - start <= _SMALL and not self.names_listed and ast.Name in kinds:
            wanted = set(kinds)  # (a small subtree: read off at once, names not listed)
            return [n for n in self.nodes[start:end] if type(n) in wanted]
        cuts, found = self._cuts(kinds, start, end)
        return self._from_cuts(cuts, found, start, end)

    def _cuts(
        self, kinds: list[type[ast.AST]], start: int, end: int
    ) -> tuple[list[tuple[type[ast.AST], int, int]], int]:
        """Where each of `kinds` starts and ends in its own list, within [start, end)."""
        cuts: list[tuple[type[ast.AST], int, int]] = []
        found = 0
        positions = self.positions
        for kind in kinds:
            pos = positions.get(kind)
            if pos is None:
                if kind is not ast.Name or not self._list_names():
                    continue
                pos = positions.get(kind)
                if pos is None:
                    continue
            lo, hi = bisect_left(pos, start), bisect_left(pos, end)
            if hi > lo:
                cuts.append((kind, lo, hi))
                found += hi - lo
        return cuts, found

    def _from_cuts(
        self, cuts: list[tuple[type[ast.AST], int, int]], found: int, start: int, end: int
    ) -> list[ast.AST]:
        if not cuts:
            return []
        if len(cuts) == 1:
            kind, lo, hi = cuts[0]
            return self.by_type[kind][lo:hi]
        if found * 6 > end - start:  # dense: filter the slice
            wanted = {kind for kind, _, _ in cuts}
            return [n for n in self.nodes[start:end] if type(n) in wanted]
        pairs: list[tuple[int, ast.AST]] = []
        for kind, lo, hi in cuts:
            pairs.extend(zip(self.positions[kind][lo:hi], self.by_type[kind][lo:hi], strict=True))
        pairs.sort(key=_first)
        return [node for _, node in pairs]


def _concrete_of(kinds: Iterable[type[ast.AST]]) -> list[type[ast.AST]]:
    """The concrete node classes of several kinds (abstract ones expanded), once per tuple."""
    key = kinds if isinstance(kinds, tuple) else tuple(kinds)
    concrete = _concrete_many.get(key)
    if concrete is None:
        concrete = []
        for kind in key:
            concrete.extend(t for t in _concrete(kind) if t not in concrete)
        _concrete_many[key] = concrete
    return concrete


_concrete_cache: dict[type[ast.AST], list[type[ast.AST]]] = {}
_concrete_many: dict[tuple[type[ast.AST], ...], list[type[ast.AST]]] = {}


def _concrete(kind: type[ast.AST]) -> list[type[ast.AST]]:
    """`kind` itself, or the node classes derived from it when it is abstract (`ast.stmt`)."""
    got = _concrete_cache.get(kind)
    if got is None:
        subs = kind.__subclasses__()
        if not subs:
            got = [kind]
        else:
            got = [kind] if kind._fields or kind.__module__ != "ast" else []
            for sub in subs:
                got.extend(t for t in _concrete(sub) if t not in got)
        _concrete_cache[kind] = got
    return got


def _first(pair: tuple[int, ast.AST]) -> int:
    return pair[0]


def flatten(tree: ast.AST) -> Flat:
    """Flatten `tree` once (again only if it was never flattened) and tag its subtrees."""
    span = getattr(tree, SPAN_ATTR, None)
    if span is not None and span[1] == 0:
        flat: Flat = span[0]
        return flat
    return Flat(tree)


def _side_span(node: ast.AST) -> tuple[Flat, int, int] | None:
    """The span of a node outside every flattened tree, flattening it on the side; None
    for a leaf (a leaf of a flattened tree has no span either, and needs none)."""
    if not children(node):
        return None
    flat = Flat(node)
    return flat, 0, len(flat.nodes)


def has_span(node: ast.AST) -> bool:
    return SPAN_ATTR in node.__dict__


def parent_of(node: ast.AST) -> ast.AST | None:
    """The node directly above `node` in its flattened tree (None for a root, or a node
    without a span): the nearest node before it whose span still covers it."""
    span = node.__dict__.get(SPAN_ATTR)
    if span is None:
        return None
    flat, start, _ = span
    nodes: list[ast.AST] = flat.nodes
    for i in range(start - 1, -1, -1):
        outer = nodes[i].__dict__.get(SPAN_ATTR)
        if outer is not None and outer[0] is flat and outer[2] > start:
            return nodes[i]
    return None


def span_start(node: ast.AST) -> int:
    """Where `node` lies in its tree's flat list (a node with children, or a statement):
    the key of source order."""
    return typing.cast(int, node.__dict__[SPAN_ATTR][1])


def span_of(node: ast.AST) -> tuple[int, int]:
    """Where `node` and its subtree lie in its tree's flat list (`node` must have children)."""
    _, start, end = node.__dict__[SPAN_ATTR]
    return start, end


_kinds_cache: dict[object, tuple[type[ast.AST], ...]] = {}


def _kinds(kind: object) -> tuple[type[ast.AST], ...]:
    got = _kinds_cache.get(kind)
    if got is None:
        got = _kinds_cache[kind] = tuple(_expand(kind))
    return got


def _expand(kind: object) -> list[type[ast.AST]]:
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
    span = node.__dict__.get(SPAN_ATTR) or _side_span(node)
    if span is None:  # a leaf
        return [node] if kind is None or isinstance(node, tuple(_all(kind, more))) else []
    flat, start, end = span
    if kind is None:
        return flat.nodes[start:end]
    if not more and isinstance(kind, type):
        return flat.of_type(kind, start, end)
    return flat.of_types(_all(kind, more), start, end)


_concrete_sets: dict[object, frozenset[type[ast.AST]]] = {}


def concrete_kinds(kind: object) -> frozenset[type[ast.AST]]:
    """The concrete node classes `kind` stands for (a class, abstract ones expanded, a
    union or a tuple, as in `walk`), worked out once per kind."""
    got = _concrete_sets.get(kind)
    if got is None:
        got = _concrete_sets[kind] = frozenset(_concrete_of(_kinds(kind)))
    return got


def count(node: ast.AST, kind: object, *more: object) -> int:
    """`len(walk(node, kind, *more))`, by bisection, without listing the nodes."""
    span = node.__dict__.get(SPAN_ATTR) or _side_span(node)
    if span is None:
        return len(walk(node, kind, *more))
    flat, start, end = span
    return flat._cuts(_concrete_of(_all(kind, more)), start, end)[1]


def _all(kind: object, more: tuple[object, ...]) -> list[type[ast.AST]]:
    out = list(_kinds(kind))
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

    A nested scope node itself is kept when `keep_scopes` (its body is not), also when
    it is one of `stmts`. With `kind`, only nodes of that kind (as in `walk`).
    """
    out: list[typing.Any] = []
    kinds = None if kind is None else _kinds(kind)
    concrete = None if kinds is None else _concrete_of(kinds)
    if concrete is not None and type(stmts) is list and stmts:
        # statements of one tree in source order lie in [first start, last end): when
        # none of `kinds` is there, the answer is empty (the usual one, found at once)
        first = stmts[0].__dict__.get(SPAN_ATTR)
        last = stmts[-1].__dict__.get(SPAN_ATTR)
        if (
            first is not None
            and last is not None
            and first[0] is last[0]
            and first[1] <= last[1]
            and not first[0]._cuts(concrete, first[1], last[2])[1]
        ):
            return out
    ranges: list[list[typing.Any]] = []  # [flat, start, end, leaf or None]
    for stmt in stmts:
        span = stmt.__dict__.get(SPAN_ATTR) or _side_span(stmt)
        if span is None:  # a leaf: no span, nothing under it
            ranges.append([None, 0, 0, stmt])
        elif ranges and ranges[-1][0] is span[0] and ranges[-1][2] == span[1]:
            ranges[-1][2] = span[2]  # the next sibling: one range
        else:
            ranges.append([span[0], span[1], span[2], None])
    for flat, start, end, leaf in ranges:
        if flat is None:
            if kinds is None or isinstance(leaf, kinds):
                out.append(leaf)
            continue
        if concrete is not None:
            cuts, found = flat._cuts(concrete, start, end)
            if not cuts:
                continue  # none of `kinds` in the range, nested scopes included
            segments = flat.own_segments(start, end, scopes)
            if len(segments) == 1:  # no nested scope in the range: all of them count
                out.extend(flat._from_cuts(cuts, found, start, end))
                continue
        else:
            segments = flat.own_segments(start, end, scopes)
        for lo, hi, inner in segments:
            _collect(out, flat, lo, hi, kinds)
            if inner is not None and keep_scopes and (kinds is None or isinstance(inner, kinds)):
                out.append(inner)
    return out


def _collect(
    out: list[typing.Any],
    flat: Flat,
    start: int,
    end: int,
    kinds: tuple[type[ast.AST], ...] | None,
) -> None:
    if start >= end:
        return
    if kinds is None:
        out.extend(flat.nodes[start:end])
    else:
        out.extend(flat.of_types(kinds, start, end))


def children(node: ast.AST) -> list[ast.AST]:
    """The direct children of `node`, in source order (`ast.iter_child_nodes`, faster)."""
    names = _child_fields.get(type(node))
    if names is None:
        names = _fields_for(type(node))
    out: list[ast.AST] = []
    for name in names:
        value = getattr(node, name, None)
        if type(value) is list:
            for item in value:
                if isinstance(item, ast.AST):
                    out.append(item)
        elif isinstance(value, ast.AST):
            out.append(value)
    return out


def own_nodes(node: ast.AST, kind: object = None) -> list[typing.Any]:
    """The nodes under `node` (not itself) that belong to its scope: nested functions,
    classes and lambdas are left out with everything under them."""
    return scope_walk(children(node), kind, keep_scopes=False)
