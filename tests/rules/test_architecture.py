"""Architecture rules on hand-written fixtures."""

from __future__ import annotations

from fastapi_review.config import Config, Thresholds
from fastapi_review.rules.architecture import Complexity, LayerViolation, complexity
from fastapi_review.rules.examples import example_files, run_example


def at(files: dict[str, str], path: str, needle: str) -> int:
    text = example_files(files)[path]
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


ROUTER = """
from fastapi import APIRouter
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Item

router = APIRouter()


@router.get("/items/{item_id}")
async def get_item(item_id: int, db: AsyncSession) -> dict[str, int]:
    item = await db.get(Item, item_id)
    return {"id": item.id}


@router.get("/items")
async def list_items(session) -> list[int]:
    rows = await session.execute(select(Item))
    return [r.id for r in rows.scalars()]


@router.get("/readyz")
async def probe(session: AsyncSession) -> dict[str, str]:
    await session.execute(text("SELECT 1"))
    return {"db": "up"}


def render(cache) -> int:
    return cache.get("x")
"""


SERVICE = "async def count_items(session) -> int:\n    return 0\n"


def test_router_queries_reported_at_the_query() -> None:
    files = {
        "app/api/items.py": ROUTER,
        "app/models.py": "class Item:\n    id: int\n",
        "app/services/items.py": SERVICE,
    }
    found = sorted((f.path, f.line) for f in run_example(LayerViolation, files))
    assert found == [
        ("app/api/items.py", at(files, "app/api/items.py", "await db.get(")),
        ("app/api/items.py", at(files, "app/api/items.py", "await session.execute(select")),
    ]


CRUD_ROUTER = """
from fastapi import APIRouter
from sqlmodel import Session, select

from app.models import Item

router = APIRouter()


@router.put("/items/{item_id}")
def update_item(session: Session, item_id: int, title: str) -> Item:
    item = session.get(Item, item_id)
    item.title = title
    session.add(item)
    session.commit()
    session.refresh(item)
    return item
"""


def test_one_finding_per_router_function_at_its_first_query() -> None:
    files = {"app/api/routes/items.py": CRUD_ROUTER, "app/models.py": "class Item:\n    id: int\n"}
    found = run_example(LayerViolation, files)
    assert [(f.path, f.line) for f in found] == [
        ("app/api/routes/items.py", at(files, "app/api/routes/items.py", "session.get(")),
    ]
    assert "session.get(...)` and 2 more database call(s)" in found[0].message


def test_one_finding_when_the_project_has_no_service_layer() -> None:
    files = {"app/api/items.py": ROUTER, "app/models.py": "class Item:\n    id: int\n"}
    found = run_example(LayerViolation, files)
    assert [(f.path, f.line) for f in found] == [
        ("app/api/items.py", at(files, "app/api/items.py", "await db.get(")),
    ]
    assert found[0].message.startswith("The project has no service or repository layer: 2 router")


def test_services_and_repositories_imports() -> None:
    files = {
        "app/api/items.py": ROUTER,
        "app/models.py": "class Item:\n    id: int\n",
        "app/services/items.py": (
            "from fastapi.concurrency import run_in_threadpool\n"
            "from fastapi import status\n"
            "from app.schemas.api import ItemOut\n"
        ),
        "app/schemas/api.py": "class ItemOut:\n    pass\n",
        "app/repositories/items.py": "from app.api import items\n",
    }
    found = sorted(
        (f.path, f.line)
        for f in run_example(LayerViolation, files)
        if not f.path or not f.path.startswith("app/api")
    )
    assert found == [("app/repositories/items.py", 1), ("app/services/items.py", 2)]


def test_complexity_thresholds() -> None:
    src = "def f(a: int) -> int:\n" + "".join(
        f"    if a == {i} or a < -{i}:\n        return {i}\n" for i in range(4)
    )
    src += "    return 0\n"
    files = {"app/logic.py": src}
    config = Config(thresholds=Thresholds(max_complexity=8, max_function_lines=100))
    found = run_example(Complexity, files, config=config)
    assert [(f.line, f.severity.value) for f in found] == [(1, "LOW")]
    assert "complexity 9" in found[0].message
    assert run_example(Complexity, files) == []


def test_complexity_counts_branches() -> None:
    import ast

    tree = ast.parse("def g(x):\n    for y in x:\n        if y and x:\n            pass\n")
    fn = tree.body[0]
    assert isinstance(fn, ast.FunctionDef)
    assert complexity(fn) == 4


def test_service_raising_http_exception_reported_at_the_raise() -> None:
    service = (
        "from fastapi import HTTPException, status\n"
        "\n"
        "\n"
        "def close(open_count: int) -> None:\n"
        "    if open_count:\n"
        "        raise HTTPException(status.HTTP_409_CONFLICT, 'still open')\n"
    )
    files = {"app/api/items.py": ROUTER, "app/models.py": "class Item:\n    id: int\n"}
    files["app/services/items.py"] = service
    found = [f for f in run_example(LayerViolation, files) if f.path == "app/services/items.py"]
    assert [f.line for f in found] == [6]
    assert "imported at line 1" in found[0].message


def test_route_module_under_a_services_folder_is_a_router() -> None:
    routes = (
        "from fastapi import APIRouter, HTTPException\n"
        "\n"
        "router = APIRouter()\n"
        "\n"
        "\n"
        "@router.get('/items/{item_id}')\n"
        "async def get_item(item_id: int) -> dict[str, int]:\n"
        "    if item_id < 0:\n"
        "        raise HTTPException(404)\n"
        "    return {'id': item_id}\n"
    )
    files = {"services/catalog/app/api/routes/items.py": routes}
    assert run_example(LayerViolation, files) == []


def test_complexity_bound_is_the_whole_subtree_score() -> None:
    """The bound read by bisection is the score of every branch, boolean operation and
    comprehension under the function, nested functions included: at least its complexity,
    exactly the sum over those nodes."""
    import ast
    import textwrap

    from fastapi_review.index.nodes import flatten, walk
    from fastapi_review.index.symbols import Module
    from fastapi_review.rules.architecture import _ComplexityBound

    src = textwrap.dedent(
        """
        x = [a for a in range(3) if a if a > 1]

        def outer(v):
            def inner(w):
                return w if w and v or not w else None
            while v:
                try:
                    v = [i for i in v if i]
                except ValueError:
                    assert v, "no"
            match v:
                case 1:
                    pass
                case _:
                    pass
            return inner

        async def plain():
            return 1
        """
    )
    tree = ast.parse(src)
    flatten(tree)
    bound = _ComplexityBound(Module("m.py", "m", tree, src.splitlines(), is_test=False))
    fns = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    for fn in fns:
        by_walk = 1
        for node in walk(fn):
            if isinstance(node, ast.BoolOp):
                by_walk += len(node.values) - 1
            elif isinstance(node, ast.comprehension):
                by_walk += 1 + len(node.ifs)
            elif isinstance(
                node,
                ast.If
                | ast.For
                | ast.AsyncFor
                | ast.While
                | ast.IfExp
                | ast.ExceptHandler
                | ast.match_case
                | ast.Assert,
            ):
                by_walk += 1
        assert bound.of(fn) == by_walk >= complexity(fn)
    assert [bound.of(fn) for fn in fns] == [11, 1, 4]  # outer, plain, inner
