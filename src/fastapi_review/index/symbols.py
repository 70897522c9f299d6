"""Modules, imports, functions with their calls, classes: the symbol layer of the index."""

from __future__ import annotations

import ast
import typing
from bisect import bisect_left
from dataclasses import dataclass, field
from operator import itemgetter

from fastapi_review.index.nodes import (
    ASSIGN_NODES,
    DEF_NODES,
    FUNCTION_NODES,
    NAME_OR_ATTRIBUTE,
    SPAN_ATTR,
    Flat,
    concrete_kinds,
    flatten,
    has_span,
    span_of,
    span_start,
    walk,
)

OFFLOADERS = {
    "asyncio.to_thread",
    "anyio.to_thread.run_sync",
    "starlette.concurrency.run_in_threadpool",
    "fastapi.concurrency.run_in_threadpool",
    "run_in_threadpool",
    "asyncer.asyncify",
}
OFFLOAD_METHODS = {"run_in_executor", "to_thread", "run_sync", "run_in_threadpool"}

FuncNode = ast.FunctionDef | ast.AsyncFunctionDef
DefNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
_DEF_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


# unions `isinstance` tests, built once (see `index.nodes.FUNCTION_NODES`)
_IF_TRY = ast.If | ast.Try


@dataclass(slots=True)
class Call:
    """One call site inside a function."""

    node: ast.Call
    target: str | None  # resolved dotted name, e.g. "requests.get" or "app.svc.Pricing.quote"
    line: int
    awaited: bool
    offloaded: bool
    # the callee's last name as written (`f` of `f(...)`, `attr` of `x.attr(...)`, else
    # None) and whether it is a method (`x.attr`): read when the module was scanned, so
    # that passes over every call test names without going back to the (cold) nodes
    name: str | None = None
    method: bool = False

    @property
    def text(self) -> str:
        """The callee as written, e.g. "self.client.get": spelled when asked (rules test
        `name` and `method` instead; a review of the benchmark tree spells 530 of 62,000
        calls), and kept on the callee's node when it is a dotted name."""
        func = self.node.func
        return dotted(func) or call_chain_text(func)


@dataclass
class Function:
    module: str  # module dotted name
    path: str  # file path
    qualname: str  # "Class.method", "func", "outer.inner"
    node: FuncNode
    class_name: str | None
    calls: list[Call] = field(default_factory=list)
    local_types: dict[str, str] = field(default_factory=dict)
    # the statements (and except clauses) of its own body of the kinds in OWN_STATEMENTS,
    # not in a nested def or class, in source order (`CallGraph.own_nodes` reads them)
    statements: list[ast.AST] = field(default_factory=list, repr=False, compare=False)
    # their node classes (`own_nodes` answers a kind not among them at once)
    statement_kinds: set[type[ast.AST]] = field(default_factory=set, repr=False, compare=False)
    # worked out once from the fields above (rules read them again and again)
    name: str = field(init=False, repr=False, compare=False)
    fqname: str = field(init=False, repr=False, compare=False)  # "app.svc.Pricing.quote"
    is_async: bool = field(init=False, repr=False, compare=False)
    line: int = field(init=False, repr=False, compare=False)
    _by_node: dict[int, Call] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.name = self.node.name
        self.fqname = f"{self.module}.{self.qualname}"
        self.is_async = isinstance(self.node, ast.AsyncFunctionDef)
        self.line = self.node.lineno

    def call_at(self, node: ast.AST) -> Call | None:
        """The scanner's record of the call `node` among this function's own calls (a
        table made on first use: rules look calls up by node again and again)."""
        table = self._by_node
        if table is None:
            table = self._by_node = {id(c.node): c for c in self.calls}
        return table.get(id(node))


@dataclass
class ClassInfo:
    module: str
    path: str
    name: str
    node: ast.ClassDef
    bases: list[str]  # resolved dotted names (or the text when unresolved)
    methods: dict[str, Function] = field(default_factory=dict)
    # attribute -> resolved type name (from annotations and self.x = Cls(...))
    attr_types: dict[str, str] = field(default_factory=dict)
    # class-level constant strings (Topics.ORDER_CREATED = "orders.created")
    constants: dict[str, str] = field(default_factory=dict)
    fqname: str = field(init=False, repr=False, compare=False)  # worked out once

    def __post_init__(self) -> None:
        self.fqname = f"{self.module}.{self.name}"

    @property
    def line(self) -> int:
        return self.node.lineno


@dataclass
class Module:
    path: str
    name: str
    tree: ast.Module
    lines: list[str]
    is_test: bool
    is_package: bool = False
    imports: dict[str, str] = field(default_factory=dict)  # local name -> qualified name
    import_lines: dict[str, int] = field(default_factory=dict)  # qualified module -> first line
    constants: dict[str, str] = field(default_factory=dict)
    assigned_calls: dict[str, str] = field(default_factory=dict)  # x = Cls(...) at module level
    functions: list[Function] = field(default_factory=list)
    classes: list[ClassInfo] = field(default_factory=list)
    _nested: dict[int, list[DefNode]] | None = field(default=None, repr=False, compare=False)
    _calls_by_name: dict[str | None, list[ast.Call]] | None = field(
        default=None, repr=False, compare=False
    )

    @property
    def flat(self) -> Flat:
        """Every node of the module, flattened once (see `index.nodes`)."""
        return flatten(self.tree)

    def nodes(self, *types: type[ast.AST]) -> list[ast.AST]:
        """Every node of these types in the module, in source order (all nodes if none)."""
        flat = self.flat
        if not types:
            return list(flat.nodes)
        if len(types) == 1:
            return flat.of_type(types[0], 0, len(flat.nodes))
        return flat.of_types(types, 0, len(flat.nodes))

    def calls_named(self, names: typing.Iterable[str]) -> list[ast.Call]:
        """The calls anywhere in the module whose callee's last name is one of `names`
        (`f` of `f(...)`, `attr` of `x.attr(...)`), in source order: what a rule looking
        for particular calls reads instead of every call. The calls are sorted by that name
        once per module."""
        table = self._call_table()
        found = [table[n] for n in set(names) if n in table]
        if not found:
            return []
        if len(found) == 1:
            return list(found[0])
        return sorted((c for calls in found for c in calls), key=span_start)

    def call_names(self) -> list[str]:
        """The last names of the callees of the module's calls (see `calls_named`)."""
        return [n for n in self._call_table() if n is not None]

    def _call_table(self) -> dict[str | None, list[ast.Call]]:
        table = self._calls_by_name
        if table is None:
            table = self._calls_by_name = {}
            for call in walk(self.tree, ast.Call):
                key = callee_name(call.func)
                got = table.get(key)
                if got is None:
                    table[key] = [call]
                else:
                    got.append(call)
        return table

    def nested_defs(
        self, owner: ast.AST
    ) -> list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef]:
        """The functions and classes defined directly inside `owner` (not inside a nested def)."""
        if self._nested is None:
            flat = self.flat
            nested: dict[int, list[DefNode]] = {}
            # depth first: the open defs that contain the next one are on the stack
            stack: list[tuple[int, ast.AST]] = [(len(flat.nodes), self.tree)]
            for node in flat.of_types(_DEF_TYPES, 0, len(flat.nodes)):
                start, end = span_of(node)
                while stack and stack[-1][0] <= start:
                    stack.pop()
                nested.setdefault(id(stack[-1][1]), []).append(typing.cast(DefNode, node))
                stack.append((end, node))
            self._nested = nested
        return self._nested.get(id(owner), [])

    def line_text(self, line: int) -> str:
        if 1 <= line <= len(self.lines):
            return self.lines[line - 1].strip()
        return ""

    @property
    def package(self) -> str:
        return self.name if self.is_package else self.name.rpartition(".")[0]


def callee_name(func: ast.expr) -> str | None:
    """A callee's last name as written: `f` of `f(...)`, `attr` of `x.attr(...)`; None for
    any other callee (`f()(...)`, `x[0](...)`)."""
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def module_name(path: str) -> tuple[str, bool]:
    parts = path[:-3].split("/")
    if parts and parts[0] == "src" and len(parts) > 1:
        parts = parts[1:]
    is_pkg = parts[-1] == "__init__"
    if is_pkg:
        parts = parts[:-1]
    return ".".join(parts) or "__init__", is_pkg


def is_test_path(path: str) -> bool:
    parts = path.split("/")
    base = parts[-1]
    return (
        base.startswith("test_")
        or base.endswith("_test.py")
        or base == "conftest.py"
        or any(p in {"tests", "test"} for p in parts[:-1])
    )


def dotted(expr: ast.expr) -> str | None:
    """`a.b.c` as text, or None for anything that is not a name chain (kept on the node)."""
    if isinstance(expr, ast.Name):
        return expr.id
    if not isinstance(expr, ast.Attribute):
        return None
    known = expr.__dict__.get("_fr_dotted", _UNKNOWN)
    if known is not _UNKNOWN:
        return typing.cast(str | None, known)
    top = expr
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    text = None
    if isinstance(expr, ast.Name):
        parts.append(expr.id)
        text = ".".join(reversed(parts))
    top.__dict__["_fr_dotted"] = text
    return text


_UNKNOWN = object()


def unparse(node: ast.AST) -> str:
    """`ast.unparse(node)`, kept on the node (several rules spell the same annotation or
    default); the shapes of type annotations are spelled at once (`_type_text`)."""
    text = node.__dict__.get("_fr_text")
    if text is None:
        text = _type_text(node)
        if text is None:
            text = ast.unparse(node)
        node.__dict__["_fr_text"] = text
    return typing.cast(str, text)


def _type_text(node: ast.AST) -> str | None:
    """`ast.unparse`'s text of a name chain, `None`, an int or bool literal, a subscript of
    a name chain (`dict[str, X]`, `Callable[[int], str]`), a call of a name chain
    (`Depends(get_session)`) or a union `X | None` made of those; None for any other shape
    (left to `ast.unparse`)."""
    if isinstance(node, NAME_OR_ATTRIBUTE):
        return dotted(node)
    if isinstance(node, ast.Constant):
        value = node.value
        if value is None:
            return "None"
        return repr(value) if type(value) is int or type(value) is bool else None
    if isinstance(node, ast.Call):  # `Depends(get_session)`, `Query(None, ge=1)`
        head = dotted(node.func)
        if head is None:
            return None
        parts: list[str] = []
        for arg in node.args:
            text = _type_text(arg)  # (a starred argument is no such shape)
            if text is None:
                return None
            parts.append(text)
        for keyword in node.keywords:
            text = _type_text(keyword.value) if keyword.arg is not None else None
            if text is None:
                return None
            parts.append(f"{keyword.arg}={text}")
        return f"{head}({', '.join(parts)})"
    if isinstance(node, ast.Subscript):
        if not isinstance(node.value, NAME_OR_ATTRIBUTE):
            return None
        index = node.slice
        if isinstance(index, ast.Tuple):
            if len(index.elts) < 2:
                return None  # `X[()]`, `X[a,]`
            return _joined(dotted(node.value), index.elts, "[", "]")
        return _joined(dotted(node.value), [index], "[", "]")
    if isinstance(node, ast.List):
        return _joined("", node.elts, "[", "]")
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        if isinstance(node.right, ast.BinOp):
            return None  # `a | (b | c)`: parentheses
        left, right = _type_text(node.left), _type_text(node.right)
        return None if left is None or right is None else f"{left} | {right}"
    return None


def _joined(head: str | None, items: list[ast.expr], opening: str, closing: str) -> str | None:
    if head is None:
        return None
    parts: list[str] = []
    for item in items:
        text = _type_text(item)
        if text is None:
            return None
        parts.append(text)
    return f"{head}{opening}{', '.join(parts)}{closing}"


def strip_annotation(ann: ast.expr | None) -> ast.expr | None:
    """The type an annotation names: `"X"`, `X | None`, `Optional[X]`, `Annotated[X, ...]` -> X.

    None when a string annotation does not parse or nothing but None is left.
    """
    for _ in range(16):  # nested wrappers, bounded
        if isinstance(ann, ast.Constant) and isinstance(ann.value, str):
            try:
                ann = ast.parse(ann.value, mode="eval").body
            except SyntaxError:
                return None
        elif isinstance(ann, ast.BinOp) and isinstance(ann.op, ast.BitOr):
            ann = next(
                (
                    side
                    for side in (ann.left, ann.right)
                    if not (isinstance(side, ast.Constant) and side.value is None)
                ),
                None,
            )
        elif isinstance(ann, ast.Subscript) and (dotted(ann.value) or "").rsplit(".", 1)[-1] in {
            "Annotated",
            "Optional",
        }:
            ann = ann.slice.elts[0] if isinstance(ann.slice, ast.Tuple) else ann.slice
        else:
            return ann
    return ann


def call_chain_text(expr: ast.expr) -> str:
    """A readable form of a callee, tolerant of calls inside the chain: `a().b.c`."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return f"{call_chain_text(expr.value)}.{expr.attr}"
    if isinstance(expr, ast.Call):
        return f"{call_chain_text(expr.func)}()"
    if isinstance(expr, ast.Await):
        return call_chain_text(expr.value)
    return "<expr>"


def _resolve_relative(module: Module, level: int, name: str | None) -> str:
    base = module.package
    for _ in range(level - 1):
        base = base.rpartition(".")[0]
    if name:
        return f"{base}.{name}" if base else name
    return base


def collect_imports(module: Module) -> None:
    for node in module.nodes(ast.Import, ast.ImportFrom):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    module.imports[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    module.imports.setdefault(top, top)
                module.import_lines.setdefault(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            src = (
                _resolve_relative(module, node.level, node.module)
                if node.level
                else (node.module or "")
            )
            module.import_lines.setdefault(src, node.lineno)
            for alias in node.names:
                if alias.name == "*":
                    continue
                module.imports[alias.asname or alias.name] = f"{src}.{alias.name}"


def collect_constants(module: Module) -> None:
    for node in module.tree.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        for t in targets:
            if not isinstance(t, ast.Name) or value is None:
                continue
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                module.constants[t.id] = value.value
            elif isinstance(value, ast.Call):
                target = dotted(value.func)
                if target:
                    module.assigned_calls[t.id] = target


# statement kinds (and except clauses) the scanner keeps per function: rules ask for them
# in every function (`CallGraph.own_nodes`); none can stand inside a lambda, so the
# function's own ones are those outside nested defs and classes
OWN_STATEMENTS = (
    ast.Return,
    ast.Assign,
    ast.AnnAssign,
    ast.AugAssign,
    ast.Expr,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.With,
    ast.AsyncWith,
    ast.ExceptHandler,
)
_SCANNED = (ast.Await, ast.Call, *OWN_STATEMENTS)
_SCANNED_KINDS = list(concrete_kinds(_SCANNED))


class _FunctionScanner:
    """Collects the calls of one function body, not descending into nested defs/classes.

    One pass over the body's nodes of the scanned kinds, in source order (a node before
    its children), from the module's flattened tree.
    """

    def __init__(self, index_resolver: Resolver, fn: Function, cls: ClassInfo | None) -> None:
        self.r = index_resolver
        self.fn = fn
        self.cls = cls

    def scan(self, body_nodes: list[typing.Any]) -> None:
        """Scan `body_nodes`: the nodes of the scanned kinds in the function's body, not in
        a nested def or class, in source order (see `_scanned_by_function`)."""
        node = self.fn.node
        for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]:
            if arg.annotation is not None:
                t = self.r.annotation_type(arg.annotation)
                if t:
                    self.fn.local_types[arg.arg] = t
        awaited: set[int] = set()
        offload: list[tuple[int, int]] = []  # argument spans of the enclosing offloader calls
        fn, r, cls = self.fn, self.r, self.cls
        calls, local_types, statements = fn.calls, fn.local_types, fn.statements
        Call_, Await_, Assign_, AnnAssign_ = ast.Call, ast.Await, ast.Assign, ast.AnnAssign
        With_, AsyncWith_ = ast.With, ast.AsyncWith
        Attribute_ = ast.Attribute
        for sub in body_nodes:
            kind = type(sub)
            if kind is Call_:
                call: ast.Call = sub
                _, pos, end = call.__dict__[SPAN_ATTR]  # a call has children (its callee)
                if offload:
                    while offload and offload[-1][1] <= pos:
                        offload.pop()
                    offloaded = any(a <= pos for a, _ in offload)
                else:
                    offloaded = False
                func = call.func
                target = r.callee(func, fn, cls)
                func_kind = type(func)
                name = callee_name(func)
                calls.append(
                    Call(
                        call,
                        target,
                        call.lineno,
                        id(call) in awaited,
                        offloaded,
                        name,
                        func_kind is Attribute_,
                    )
                )
                if target in OFFLOADERS or (func_kind is Attribute_ and name in OFFLOAD_METHODS):
                    func_end = span_of(func)[1] if has_span(func) else pos + 2
                    offload.append((func_end, end))
                continue
            if kind is Await_:
                value = sub.value
                if type(value) is Call_:
                    awaited.add(id(value))
                continue
            statements.append(sub)
            if kind is Assign_:
                assign: ast.Assign = sub
                for target_expr in assign.targets:
                    self._bind(target_expr, assign.value)
            elif kind is AnnAssign_:
                ann_assign: ast.AnnAssign = sub
                if isinstance(ann_assign.target, ast.Name):
                    ann = r.annotation_type(ann_assign.annotation)
                    if ann:
                        local_types[ann_assign.target.id] = ann
                    elif ann_assign.value is not None:
                        self._bind(ann_assign.target, ann_assign.value)
            elif kind is With_ or kind is AsyncWith_:
                for item in sub.items:
                    if item.optional_vars is not None:
                        self._bind(item.optional_vars, item.context_expr)
        fn.statement_kinds = set(map(type, statements))

    def _bind(self, target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, ast.Name):
            t = self.r.expr_type(value, self.fn, self.cls)
            if t:
                self.fn.local_types[target.id] = t
            elif target.id in self.fn.local_types:
                del self.fn.local_types[target.id]


_ANNOTATION_TYPE = "_fr_annotation_type"


class Resolver:
    """Resolves names in one module to dotted, project-wide names."""

    def __init__(self, module: Module, classes_by_name: dict[str, ClassInfo]) -> None:
        self.module = module
        self.classes = classes_by_name  # fq class name -> info (filled lazily across modules)
        self.local_defs: set[str] = {n.name for n in module.tree.body if isinstance(n, DEF_NODES)}

    def name(self, ident: str) -> str:
        if ident in self.module.imports:
            return self.module.imports[ident]
        if ident in self.local_defs or ident in self.module.assigned_calls:
            return f"{self.module.name}.{ident}"
        return ident

    def dotted(self, expr: ast.expr) -> str | None:
        text = dotted(expr)
        if text is None:
            return None
        head, _, rest = text.partition(".")
        base = self.name(head)
        return f"{base}.{rest}" if rest else base

    def annotation_type(self, ann: ast.expr) -> str | None:
        """Annotated[X, Depends(...)] -> X ; Optional[X] / X | None -> X ; "X" -> X (kept
        on the annotation, which only its own module's resolver reads: a method's
        parameters are read for its class and for its body)."""
        kept = ann.__dict__
        if _ANNOTATION_TYPE in kept:
            return typing.cast(str | None, kept[_ANNOTATION_TYPE])
        bare = strip_annotation(ann)
        got = None if bare is None or isinstance(bare, ast.Subscript) else self.dotted(bare)
        kept[_ANNOTATION_TYPE] = got
        return got

    def expr_type(self, value: ast.expr, fn: Function | None, cls: ClassInfo | None) -> str | None:
        """The type a value has when it is a constructor call or a known-typed name."""
        if isinstance(value, ast.Await):
            return None
        if isinstance(value, ast.Call):
            target = self.callee(value.func, fn, cls)
            if target is None:
                return None
            last = target.rsplit(".", 1)[-1]
            if last[:1].isupper():
                return target
            # factory functions with a known return type are resolved by the call graph later
            return f"{target}()"
        if isinstance(value, ast.Name) and fn is not None:
            return fn.local_types.get(value.id)
        return None

    def callee(self, func: ast.expr, fn: Function | None, cls: ClassInfo | None) -> str | None:
        if isinstance(func, ast.Name):
            if fn is not None and func.id in fn.local_types:
                return fn.local_types[func.id]
            return self.name(func.id)
        if isinstance(func, ast.Attribute):
            base = func.value
            if isinstance(base, ast.Name):
                if base.id in {"self", "cls"} and cls is not None:
                    if func.attr in cls.methods or not cls.attr_types.get(func.attr):
                        return f"{cls.fqname}.{func.attr}"
                    return f"{cls.fqname}.{func.attr}"
                if fn is not None and base.id in fn.local_types:
                    return f"{fn.local_types[base.id]}.{func.attr}"
                return f"{self.name(base.id)}.{func.attr}"
            if (
                isinstance(base, ast.Attribute)
                and isinstance(base.value, ast.Name)
                and base.value.id in {"self", "cls"}
                and cls is not None
            ):
                t = cls.attr_types.get(base.attr)
                if t:
                    return f"{t}.{func.attr}"
                return f"{cls.fqname}.{base.attr}.{func.attr}"
            if isinstance(base, ast.Call):
                inner = self.callee(base.func, fn, cls)
                return f"{inner}().{func.attr}" if inner else None
            inner_text = self.dotted(base)
            if inner_text:
                return f"{inner_text}.{func.attr}"
        return None


def collect_definitions(
    module: Module, classes_by_name: dict[str, ClassInfo], resolver: Resolver | None = None
) -> None:
    """Functions (with calls) and classes of one module (`resolver`: the module's own, if
    made already)."""
    if resolver is None:
        resolver = Resolver(module, classes_by_name)

    def add_class(node: ast.ClassDef, prefix: str) -> None:
        bases = [resolver.dotted(b) or unparse(b) for b in node.bases]
        info = ClassInfo(module.name, module.path, f"{prefix}{node.name}", node, bases)
        module.classes.append(info)
        classes_by_name[info.fqname] = info
        for stmt in node.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                t = resolver.annotation_type(stmt.annotation)
                if t:
                    info.attr_types[stmt.target.id] = t
                if isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
                    info.constants[stmt.target.id] = stmt.value.value
            elif isinstance(stmt, ast.Assign):
                for tgt in stmt.targets:
                    if (
                        isinstance(tgt, ast.Name)
                        and isinstance(stmt.value, ast.Constant)
                        and isinstance(stmt.value.value, str)
                    ):
                        info.constants[tgt.id] = stmt.value.value
        # self.x = Cls(...) / self.x = typed_param in any method
        for stmt in node.body:
            if isinstance(stmt, FUNCTION_NODES):
                params: dict[str, str] = {}
                for arg in [*stmt.args.args, *stmt.args.kwonlyargs]:
                    if arg.annotation is not None:
                        t = resolver.annotation_type(arg.annotation)
                        if t:
                            params[arg.arg] = t
                for sub in walk(stmt, ASSIGN_NODES):
                    tgt_val: tuple[ast.expr, ast.expr | None, ast.expr | None] | None = None
                    if isinstance(sub, ast.Assign) and len(sub.targets) == 1:
                        tgt_val = (sub.targets[0], sub.value, None)
                    elif isinstance(sub, ast.AnnAssign):
                        tgt_val = (sub.target, sub.value, sub.annotation)
                    if tgt_val is None:
                        continue
                    tgt, val, ann = tgt_val
                    if not (
                        isinstance(tgt, ast.Attribute)
                        and isinstance(tgt.value, ast.Name)
                        and tgt.value.id == "self"
                    ):
                        continue
                    t = resolver.annotation_type(ann) if ann is not None else None
                    if t is None and isinstance(val, ast.Call):
                        t = resolver.callee(val.func, None, None)
                    if t is None and isinstance(val, ast.Name):
                        t = params.get(val.id)
                    if t:
                        info.attr_types.setdefault(tgt.attr, t)
        for stmt in node.body:
            if isinstance(stmt, FUNCTION_NODES):
                add_function(stmt, f"{prefix}{node.name}.", info)
            elif isinstance(stmt, ast.ClassDef):
                add_class(stmt, f"{prefix}{node.name}.")

    def add_function(node: FuncNode, prefix: str, cls: ClassInfo | None) -> None:
        fn = Function(
            module.name, module.path, f"{prefix}{node.name}", node, cls.name if cls else None
        )
        module.functions.append(fn)
        if cls is not None:
            cls.methods[node.name] = fn
        # nested defs become their own functions
        for child in module.nested_defs(node):
            if isinstance(child, ast.ClassDef):
                add_class(child, f"{prefix}{node.name}.")
            else:
                add_function(child, f"{prefix}{node.name}.", cls)

    for stmt in module.tree.body:
        if isinstance(stmt, ast.ClassDef):
            add_class(stmt, "")
        elif isinstance(stmt, FUNCTION_NODES):
            add_function(stmt, "", None)
        elif isinstance(stmt, _IF_TRY):
            for sub in walk(stmt, FUNCTION_NODES):
                if isinstance(sub, FUNCTION_NODES) and sub.col_offset == 4:
                    add_function(sub, "", None)

    # calls are scanned after all classes of the module are known
    by_name = {c.name: c for c in module.classes}
    bodies = _scanned_by_function(module)
    for fn in module.functions:
        cls = by_name.get(fn.qualname.rsplit(".", 1)[0]) if fn.class_name else None
        _FunctionScanner(resolver, fn, cls).scan(bodies.get(id(fn.node), []))


def _scanned_by_function(module: Module) -> dict[int, list[ast.AST]]:
    """The nodes of the scanned kinds in each function's body (by id of the def node), not
    in a nested def or class: the module's nodes of those kinds in source order once, then
    for every function the slices of its body's stretches outside nested defs and classes
    (`Flat.own_segments`), found by bisection."""
    flat = module.flat
    pairs: list[tuple[int, ast.AST]] = []
    for kind, lo, hi in flat._cuts(_SCANNED_KINDS, 0, len(flat.nodes))[0]:
        pairs.extend(zip(flat.positions[kind][lo:hi], flat.by_type[kind][lo:hi], strict=True))
    pairs.sort(key=itemgetter(0))  # one sorted run per kind: merged, not sorted from scratch
    positions = list(map(itemgetter(0), pairs))
    nodes = list(map(itemgetter(1), pairs))
    out: dict[int, list[ast.AST]] = {}
    for fn in module.functions:
        body = fn.node.body
        got = out[id(fn.node)] = []
        for lo, hi, _ in flat.own_segments(span_of(body[0])[0], span_of(body[-1])[1], _DEF_TYPES):
            got.extend(nodes[bisect_left(positions, lo) : bisect_left(positions, hi)])
    return out
