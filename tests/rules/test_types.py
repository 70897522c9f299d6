"""TYP001 on hand-written fixtures."""

from __future__ import annotations

from fastapi_review.rules.examples import example_files, run_example
from fastapi_review.rules.types import MissingAnnotations


def at(files: dict[str, str], path: str, needle: str) -> int:
    text = example_files(files)[path]
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


SRC = """
from fastapi import APIRouter

router = APIRouter()


@router.put("/items/{item_id}")
async def update(item_id: int, body: dict):
    return body


class Repo:
    def __init__(self, session):
        self.session = session

    @classmethod
    def build(cls, *args, **kwargs) -> "Repo":
        return cls(None)

    def _private(self, x):
        return x


class _Hidden:
    def run(self, x):
        return x


def outer() -> None:
    def inner(y):
        return y
"""


def test_one_finding_per_function_naming_what_is_missing() -> None:
    files = {"app/items.py": SRC, "tests/test_items.py": SRC, "migrations/env.py": SRC}
    found = sorted(run_example(MissingAnnotations, files), key=lambda f: f.line or 0)
    assert [(f.path, f.line) for f in found] == [
        ("app/items.py", at(files, "app/items.py", "async def update")),
        ("app/items.py", at(files, "app/items.py", "def __init__")),
        ("app/items.py", at(files, "app/items.py", "def build")),
    ]
    assert found[0].message == "`update` has no annotation for the return type"
    assert "`session`" in found[1].message and "return type" in found[1].message
    assert "`*args`, `**kwargs`" in found[2].message
    assert all(f.severity.value == "HIGH" for f in found)


def test_migrations_at_any_depth_are_not_reported() -> None:
    migration = "from alembic import op\n\n\ndef upgrade():\n    op.drop_table('x')\n"
    env = "from alembic import context\n\n\ndef run_migrations_online():\n    return None\n"
    files = {
        "app/alembic/versions/abc_init.py": migration,
        "src/svc/db/migrations/env.py": env,
        "tools/env.py": env,
        "app/util.py": "def helper(x):\n    return x\n",
    }
    found = [(f.path, f.line) for f in run_example(MissingAnnotations, files)]
    assert found == [("app/util.py", 1)]
