"""Type rules: public functions without annotations."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import ClassVar

from fastapi_review.index.symbols import Function, Module
from fastapi_review.models import Finding
from fastapi_review.rules.base import Context, Example, Rule

MIGRATION_SEGMENTS = {"migrations", "alembic"}
# the logging calls every logger has (`logger.info(...)`), shared by the rules that look
# for log statements; each adds its own (structlog's `ainfo`, `msg`, ...)
LOG_LEVELS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "log"}
)


_ALEMBIC_MODULES = frozenset({"alembic.op", "alembic.context"})


def is_alembic_script(module: Module) -> bool:
    """A module that imports `alembic.op` or `alembic.context`: a one-shot migration
    script, not the service."""
    return not _ALEMBIC_MODULES.isdisjoint(module.imports.values())


def is_migration(module: Module) -> bool:
    """An Alembic environment or revision script: under a `migrations/` or `alembic/`
    directory at any depth (`app/alembic/versions/...`), or importing `alembic` itself."""
    if MIGRATION_SEGMENTS & set(module.path.split("/")[:-1]):
        return True
    if "alembic" not in "\n".join(module.imports.values()):
        return False  # (the usual answer, found without a generator)
    return any(
        target == "alembic" or target.startswith("alembic.") for target in module.imports.values()
    )


def _is_public(module: Module, fn: Function) -> bool:
    """Module-level functions and methods of module-level classes, not private, not nested."""
    parts = fn.qualname.split(".")
    if len(parts) == 1:
        return not fn.name.startswith("_")
    if len(parts) != 2 or fn.class_name is None or parts[0] != fn.class_name:
        return False  # nested function (or method of a nested class)
    if fn.class_name.startswith("_"):
        return False
    if fn.name == "__init__":
        return True
    return not fn.name.startswith("_")


def missing_annotations(fn: Function) -> tuple[list[str], bool]:
    """(parameters without annotation, return annotation missing) of one function."""
    node = fn.node
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    is_method = fn.class_name is not None and not any(
        isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list
    )
    if is_method and positional:
        positional = positional[1:]  # self / cls
    params = [a.arg for a in [*positional, *args.kwonlyargs] if a.annotation is None]
    if args.vararg is not None and args.vararg.annotation is None:
        params.append(f"*{args.vararg.arg}")
    if args.kwarg is not None and args.kwarg.annotation is None:
        params.append(f"**{args.kwarg.arg}")
    # mypy accepts an __init__ without `-> None` when one parameter is annotated
    init_ok = fn.name == "__init__" and (
        len(params) < len(positional) + len(args.kwonlyargs) or not positional
    )
    return params, node.returns is None and not init_ok


class MissingAnnotations(Rule):
    id = "TYP001"
    name = "public-function-without-annotations"
    category = "types.missing-annotations"
    what = """
        A public function or method in the application source (not tests, not generated
        migrations) with a parameter or the return type not annotated. One finding per
        function, at its `def` line, naming what is missing. Nested and private (`_name`)
        functions are not reported.
    """
    why = """
        Unannotated functions are skipped by mypy (`Any` everywhere), so wrong types pass
        silently; FastAPI also uses return annotations for response models.
    """
    fix = "Annotate every parameter and the return type (`-> None` when nothing is returned)."
    bad: ClassVar[list[Example]] = [
        """
        def total(prices, discount: float = 0.0):  # expect
            return sum(prices) - discount

        class Service:
            async def place(self, order) -> None:  # expect
                return None
        """
    ]
    good: ClassVar[list[Example]] = [
        """
        from collections.abc import Iterable

        def total(prices: Iterable[float], discount: float = 0.0) -> float:
            return sum(prices) - discount

        def _helper(x):
            return x

        class Service:
            def __init__(self, repo: object):
                self.repo = repo

            @staticmethod
            def name(value: str) -> str:
                def inner(y):
                    return y
                return inner(value)
        """,
        {
            "tests/test_total.py": """
                def test_total(client):
                    assert client
            """,
            "app/alembic/versions/e2412789c190_init.py": """
                from alembic import op

                def upgrade():
                    op.create_table("item")

                def downgrade():
                    op.drop_table("item")
            """,
            "db/env.py": """
                from alembic import context

                def run_migrations_online():
                    context.run_migrations()
            """,
        },
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        for module in ctx.index.source_modules:
            if is_migration(module):
                continue
            for fn in module.functions:
                if not _is_public(module, fn):
                    continue
                params, no_return = missing_annotations(fn)
                if not params and not no_return:
                    continue
                missing: list[str] = []
                if params:
                    missing.append("parameters " + ", ".join(f"`{p}`" for p in params))
                if no_return:
                    missing.append("the return type")
                yield self.finding(
                    ctx,
                    module.path,
                    fn.line,
                    f"`{fn.qualname}` has no annotation for {' and '.join(missing)}",
                )
