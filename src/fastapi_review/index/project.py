"""The project index: every file parsed once, every fact every rule reads."""

from __future__ import annotations

import ast
import os
import stat
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi_review.index.nodes import flatten, walk
from fastapi_review.index.source import SourceFile, discover, parse, read_source
from fastapi_review.index.symbols import (
    ClassInfo,
    Function,
    Module,
    Resolver,
    collect_constants,
    collect_definitions,
    collect_imports,
    dotted,
    is_test_path,
    module_name,
)
from fastapi_review.models import SkippedFile
from fastapi_review.runtime import gc_paused

T = typing.TypeVar("T")

if TYPE_CHECKING:
    from fastapi_review.index.data import OrmModel, PydanticModel, SettingsClass
    from fastapi_review.index.kafka import KafkaClient, KafkaSend
    from fastapi_review.index.routes import App, Route, Router
    from fastapi_review.index.tests import TestFunction


def contains_any(text: str, words: Iterable[str]) -> bool:
    """Whether `text` contains one of `words`: `any(w in text for w in words)` without a
    generator, which costs more than the search itself for the short texts and word lists
    the rules test tens of thousands of times per review."""
    for w in words:  # noqa: SIM110 (see above)
        if w in text:
            return True
    return False


@dataclass
class ProjectIndex:
    root: Path
    modules: dict[str, Module] = field(default_factory=dict)  # by path
    by_name: dict[str, Module] = field(default_factory=dict)  # by dotted module name
    functions: dict[str, Function] = field(default_factory=dict)  # by fq name
    classes: dict[str, ClassInfo] = field(default_factory=dict)  # by fq name
    skipped: list[SkippedFile] = field(default_factory=list)
    # non-Python files rules may read (docker-compose, alembic.ini, ...): path -> text
    extra_files: dict[str, str] = field(default_factory=dict)
    apps: list[App] = field(default_factory=list)
    routers: list[Router] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    pydantic_models: dict[str, PydanticModel] = field(default_factory=dict)
    orm_models: dict[str, OrmModel] = field(default_factory=dict)
    settings: dict[str, SettingsClass] = field(default_factory=dict)
    kafka_clients: list[KafkaClient] = field(default_factory=list)
    kafka_sends: list[KafkaSend] = field(default_factory=list)
    tests: list[TestFunction] = field(default_factory=list)
    # the string literals (under 200 characters) of the source modules, where each appears
    # (path, line) in source order; and the attribute names the source modules read
    strings: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    attributes_read: set[str] = field(default_factory=set)
    # collectors that failed (the review reports them and goes on)
    errors: list[str] = field(default_factory=list)
    # structures derived from the index on first use (call graph, ...), kept with it
    memo: dict[str, object] = field(default_factory=dict)
    # the ones asked for most, by module path (`resolver`, `lower_text`)
    _resolvers: dict[str, Resolver] = field(default_factory=dict, repr=False, compare=False)
    _lower_texts: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    _lookup_memo: tuple[int, int, int, dict[str, Function | ClassInfo | None], set[str]] | None = (
        field(default=None, repr=False, compare=False)
    )

    # --- lookups -----------------------------------------------------------------
    @property
    def source_modules(self) -> list[Module]:
        return list(self._split()[0])

    @property
    def test_modules(self) -> list[Module]:
        return list(self._split()[1])

    def once(self, key: str, make: Callable[[], T]) -> T:
        """`make()`, worked out on first use and kept with the index under `key` (for a
        structure rules share, or one a rule asks for again and again)."""
        if key not in self.memo:
            self.memo[key] = make()
        return typing.cast(T, self.memo[key])

    def resolver(self, m: Module) -> Resolver:
        """The name resolver of a module (made once: its top-level names are read once)."""
        got = self._resolvers.get(m.path)
        if got is None or got.module is not m:
            got = self._resolvers[m.path] = Resolver(m, self.classes)
        return got

    def lower_text(self, m: Module) -> str:
        """The module's text in lower case, made once: a cheap first test (`"x" in text`)
        before walking a module's nodes, and for lower-case pattern searches."""
        got = self._lower_texts.get(m.path)
        if got is None:
            got = self._lower_texts[m.path] = "\n".join(m.lines).lower()
        return got

    def mentions(self, m: Module, *words: str) -> bool:
        """Whether the module's lower-case text contains one of `words` (lower case): a
        cheap necessary condition before looking for what spells one of them."""
        return contains_any(self.lower_text(m), words)

    def source_modules_where(self, key: str, test: Callable[[str], bool]) -> list[Module]:
        """The source modules whose lower-case text passes `test` (a cheap necessary
        condition a rule checks before walking a module), worked out once per `key`."""
        return self.once(
            f"index.source_where.{key}",
            lambda: [m for m in self.source_modules if test(self.lower_text(m))],
        )

    def _split(self) -> tuple[list[Module], list[Module]]:
        """Source and test modules, sorted out once (again if modules were added)."""
        got = self.memo.get("index.split")
        if not isinstance(got, tuple) or got[0] != len(self.modules):
            source = [m for m in self.modules.values() if not m.is_test]
            tests = [m for m in self.modules.values() if m.is_test]
            got = self.memo["index.split"] = (len(self.modules), source, tests)
        return got[1], got[2]

    def lookup(self, qname: str | None, depth: int = 0) -> Function | ClassInfo | None:
        """A project function or class by dotted name, following re-exports (the answer
        for a name that is no function or class itself is kept while the index does not
        grow: the same library names are asked for again and again)."""
        if not qname or depth > 6:
            return None
        hit = self.functions.get(qname) or self.classes.get(qname)
        if hit is not None:
            return hit
        if depth:
            return self._follow(qname, depth)
        answers, names = self._lookups()
        if qname not in answers:
            # every way below to a function or class keeps the last name, or passes
            # through an import of that name (a re-export)
            known = qname.rpartition(".")[2] in names
            answers[qname] = self._follow(qname, 0) if known else None
        return answers[qname]

    def callable_names(self) -> set[str]:
        """The last name of every project function and class, and every imported name:
        a dotted name ending otherwise is no project function or class (see `lookup`)."""
        return self._lookups()[1]

    def _lookups(self) -> tuple[dict[str, Function | ClassInfo | None], set[str]]:
        """Kept answers of `lookup` and the callable names, made again when the index grew."""
        memo = self._lookup_memo
        if (
            memo is None
            or memo[0] != len(self.modules)
            or memo[1] != len(self.functions)
            or memo[2] != len(self.classes)
        ):
            names = {f.name for f in self.functions.values()}
            names.update(c.name for c in self.classes.values())
            for m in self.modules.values():
                names.update(m.imports)
            memo = self._lookup_memo = (
                len(self.modules),
                len(self.functions),
                len(self.classes),
                {},
                names,
            )
        return memo[3], memo[4]

    def _follow(self, qname: str, depth: int) -> Function | ClassInfo | None:
        """`lookup` past the direct hit: re-exports, re-exported classes, base classes."""
        mod, _, attr = qname.rpartition(".")
        # package.__init__ re-export: pkg.name -> whatever pkg imports as name
        m = self.by_name.get(mod)
        if m is not None and attr in m.imports and m.imports[attr] != qname:
            return self.lookup(m.imports[attr], depth + 1)
        # a method reached through a re-exported class: pkg.Cls.meth
        outer, _, _meth = mod.rpartition(".")
        if outer:
            m2 = self.by_name.get(outer)
            cls_name = mod.rsplit(".", 1)[-1]
            if m2 is not None and cls_name in m2.imports:
                return self.lookup(f"{m2.imports[cls_name]}.{attr}", depth + 1)
        # a method inherited from a project base class
        cls = self.classes.get(mod)
        if cls is not None:
            for base in cls.bases:
                hit = self.lookup(f"{base}.{attr}", depth + 1)
                if hit is not None:
                    return hit
        return None

    def function(self, qname: str | None) -> Function | None:
        hit = self.lookup(qname)
        if isinstance(hit, Function):
            return hit
        if isinstance(hit, ClassInfo):
            # calling a class runs its __init__
            return hit.methods.get("__init__")
        return None

    def class_(self, qname: str | None) -> ClassInfo | None:
        hit = self.lookup(qname)
        return hit if isinstance(hit, ClassInfo) else None

    def subclasses_of(self, *bases: str) -> list[ClassInfo]:
        """Project classes deriving (transitively, within the project) from any of `bases`.

        `bases` are dotted names or bare class names (matched on the last part).
        """
        wanted = set(bases)
        memo: dict[str, bool] = {}

        def derives(cls: ClassInfo, seen: frozenset[str]) -> bool:
            if cls.fqname in memo:
                return memo[cls.fqname]
            result = False
            for b in cls.bases:
                last = b.rsplit(".", 1)[-1]
                if b in wanted or last in wanted:
                    result = True
                    break
                parent = self.class_(b)
                if (
                    parent is not None
                    and parent.fqname not in seen
                    and derives(parent, seen | {cls.fqname})
                ):
                    result = True
                    break
            memo[cls.fqname] = result
            return result

        return [c for c in self.classes.values() if derives(c, frozenset())]

    def enclosing_function(self, path: str, line: int) -> Function | None:
        best: Function | None = None
        for fn in self.modules[path].functions if path in self.modules else []:
            end = fn.node.end_lineno or fn.node.lineno
            if fn.node.lineno <= line <= end and (
                best is None or fn.node.lineno >= best.node.lineno
            ):
                best = fn
        return best

    # --- values ------------------------------------------------------------------
    def string_value(self, module: Module, expr: ast.expr | None, depth: int = 0) -> str | None:
        """The string an expression stands for, when it can be known statically.

        Literals, module constants (imported too), class constants, settings defaults
        (`settings.orders_topic`, `get_settings().kafka.topic`), and f-strings of those.
        """
        if expr is None or depth > 8:
            return None
        if isinstance(expr, ast.Constant):
            return expr.value if isinstance(expr.value, str) else None
        if isinstance(expr, ast.JoinedStr):
            parts: list[str] = []
            for v in expr.values:
                if isinstance(v, ast.Constant) and isinstance(v.value, str):
                    parts.append(v.value)
                elif isinstance(v, ast.FormattedValue):
                    inner = self.string_value(module, v.value, depth + 1)
                    if inner is None:
                        return None
                    parts.append(inner)
            return "".join(parts)
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            left = self.string_value(module, expr.left, depth + 1)
            right = self.string_value(module, expr.right, depth + 1)
            return left + right if left is not None and right is not None else None
        if isinstance(expr, ast.Name):
            if expr.id in module.constants:
                return module.constants[expr.id]
            qname = module.imports.get(expr.id)
            if qname:
                return self.constant(qname, depth + 1)
            return None
        if isinstance(expr, ast.Attribute):
            return self._attribute_value(module, expr, depth)
        return None

    def constant(self, qname: str, depth: int = 0) -> str | None:
        if depth > 8:
            return None
        mod, _, attr = qname.rpartition(".")
        m = self.by_name.get(mod)
        if m is not None:
            if attr in m.constants:
                return m.constants[attr]
            if attr in m.imports and m.imports[attr] != qname:
                return self.constant(m.imports[attr], depth + 1)
        cls = self.class_(mod)
        if cls is not None and attr in cls.constants:
            return cls.constants[attr]
        return None

    def _attribute_value(self, module: Module, expr: ast.Attribute, depth: int) -> str | None:
        # Class.CONST / module.CONST
        text = dotted(expr)
        if text:
            head, _, rest = text.partition(".")
            base = module.imports.get(head)
            if base is None and head in {c.name for c in module.classes}:
                base = f"{module.name}.{head}"
            if base:
                val = self.constant(f"{base}.{rest}", depth + 1)
                if val is not None:
                    return val
        # settings.x / get_settings().x / self.settings.x / settings.kafka.x
        return self.settings_default(expr.attr)

    def settings_default(self, field_name: str) -> str | None:
        """Default of a settings field of that name, if exactly one settings class has one."""
        values = {
            s.fields[field_name]
            for s in self.settings.values()
            if isinstance(s.fields.get(field_name), str)
        }
        if len(values) == 1:
            value = next(iter(values))
            return value if isinstance(value, str) else None
        return None


def build_index(
    root: Path,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    preread: dict[str, bytes] | None = None,
    found: tuple[list[str], list[SkippedFile]] | None = None,
) -> ProjectIndex:
    """Parse the project once into the index. `preread`: files' bytes already read (by
    path; taken out of the dict as they are used), so that they are not read again;
    `found`: what `discover` answered for the same root, include and exclude."""
    with gc_paused():
        return _build_index(root, include, exclude, preread or {}, found)


def _build_index(
    root: Path,
    include: list[str] | None,
    exclude: list[str] | None,
    preread: dict[str, bytes],
    found: tuple[list[str], list[SkippedFile]] | None,
) -> ProjectIndex:
    from fastapi_review.index import data, kafka, routes, tests

    index = ProjectIndex(root=root)
    paths, skipped = found if found is not None else discover(root, include or [], exclude or [])
    index.skipped.extend(skipped)
    for rel in paths:
        raw = preread.pop(rel, None)
        special = not_regular(root, rel) if raw is None else None  # (read: a regular file)
        if special is not None:
            index.skipped.append(special)
            continue
        src = read_source(root, rel, raw)
        if isinstance(src, SkippedFile):
            index.skipped.append(src)
            continue
        tree = parse(src)
        if isinstance(tree, SkippedFile):
            index.skipped.append(tree)
            continue
        m = _add_module(index, src, tree)
        # its functions, classes and calls now, while its nodes are still in the processor's
        # cache (a module's definitions depend on that module only)
        collect_definitions(m, index.classes, index.resolver(m))
        for fn in m.functions:
            index.functions[fn.fqname] = fn
        m.call_names()  # (its calls by callee name, which rules read: made while hot too)
        if not m.is_test:
            _gather_source_facts(index, m)
    _read_extra_files(index)
    for name, collect in (
        ("data models and settings", data.collect),
        ("routes", routes.collect),
        ("Kafka clients", kafka.collect),
        ("tests", tests.collect),
    ):
        try:
            collect(index)
        except Exception as exc:  # one collector's defect must not sink the review
            index.errors.append(f"index: {name} not collected: {exc.__class__.__name__}: {exc}")
    return index


def not_regular(root: Path, rel: str) -> SkippedFile | None:
    """A FIFO, socket or device named *.py: reading it could block forever, so skip it."""
    try:
        mode = os.stat(os.path.join(root, rel)).st_mode
    except OSError as exc:
        return SkippedFile(path=rel, reason=f"not readable: {exc.strerror or exc}")
    if stat.S_ISREG(mode):
        return None
    kind = "named pipe (FIFO)" if stat.S_ISFIFO(mode) else "not a regular file"
    return SkippedFile(path=rel, reason=f"{kind}: not read")


def _add_module(index: ProjectIndex, src: SourceFile, tree: ast.Module) -> Module:
    name, is_pkg = module_name(src.path)
    m = Module(
        path=src.path,
        name=name,
        tree=tree,
        lines=src.text.splitlines(),
        is_test=is_test_path(src.path),
        is_package=is_pkg,
    )
    flatten(tree)  # one walk; every later walk of this tree is a slice of it
    collect_imports(m)
    collect_constants(m)
    index.modules[src.path] = m
    index.by_name.setdefault(name, m)
    return m


def _gather_source_facts(index: ProjectIndex, m: Module) -> None:
    """A source module's string literals and attribute reads, into the index's tables:
    gathered right after it is parsed, as a later pass over every module's nodes would
    find them out of the processor's cache (three times slower)."""
    strings, path = index.strings, m.path
    for node in walk(m.tree, ast.Constant):
        text = node.value
        if type(text) is str and len(text) < 200:
            sites = strings.get(text)
            if sites is None:
                strings[text] = [(path, node.lineno)]
            else:
                sites.append((path, node.lineno))
    load = ast.Load
    index.attributes_read.update(
        [n.attr for n in walk(m.tree, ast.Attribute) if type(n.ctx) is load]
    )


EXTRA_FILE_NAMES = (
    "docker-compose.yml",
    "docker-compose.yaml",
    "compose.yml",
    "compose.yaml",
    "alembic.ini",
    "pyproject.toml",
    ".pre-commit-config.yaml",
    "Dockerfile",
    ".env.example",
    "setup.cfg",
    "pytest.ini",
)


def _read_extra_files(index: ProjectIndex) -> None:
    for name in EXTRA_FILE_NAMES:
        p = index.root / name
        if p.is_file():
            try:
                index.extra_files[name] = p.read_text("utf-8", errors="replace")
            except OSError:
                continue
