"""PYD001 on hand-written fixtures."""

from __future__ import annotations

from fastapi_review.rules.base import Rule
from fastapi_review.rules.examples import example_files, run_example
from fastapi_review.rules.pydantic_rules import PydanticV1Api, declared_version


def at(files: dict[str, str], path: str, needle: str) -> int:
    text = example_files(files)[path]
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def hits(rule: type[Rule], files: dict[str, str]) -> list[tuple[str | None, int | None]]:
    return sorted((f.path, f.line) for f in run_example(rule, files))


SCHEMAS = """
from pydantic import BaseModel, ConfigDict, root_validator


class Base(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Order(Base):
    sku: str

    @root_validator(pre=True)
    def fill(cls, values: dict) -> dict:
        return values
"""
SERVICE = """
from app.schemas import Order
from app.models import OrderRow


class Service:
    def __init__(self, order: Order) -> None:
        self.order = order

    def dump(self) -> dict:
        return self.order.dict()

    def row(self, row: OrderRow) -> dict:
        return row.dict()

    def parse(self, raw: str) -> Order:
        return Order.parse_raw(raw)

    def plain(self, data: dict) -> dict:
        return data.copy()
"""
MODELS = """
class OrderRow:
    def dict(self) -> dict:
        return {}
"""


def test_v1_calls_on_models_only_when_project_is_v2() -> None:
    files = {"app/schemas.py": SCHEMAS, "app/service.py": SERVICE, "app/models.py": MODELS}
    assert hits(PydanticV1Api, files) == sorted(
        [
            ("app/schemas.py", at(files, "app/schemas.py", "@root_validator")),
            ("app/service.py", at(files, "app/service.py", "self.order.dict()")),
            ("app/service.py", at(files, "app/service.py", "Order.parse_raw")),
        ]
    )


def test_v1_project_is_quiet() -> None:
    files = {
        "pyproject.toml": '[tool.poetry.dependencies]\npydantic = "^1.10"\n',
        "app/schemas.py": SCHEMAS,
        "app/service.py": SERVICE,
        "app/models.py": MODELS,
    }
    assert hits(PydanticV1Api, files) == []


def test_declared_version_forms() -> None:
    text = (
        'dependencies = ["pydantic-settings>=2.1", "pydantic[email]>=2.5,<3"]\n'
        'python = "^3.10"\n'
        'sqlalchemy = {version = "^1.4.49", extras = ["asyncio"]}\n'
    )
    assert declared_version(text, "pydantic") == ((2, 5), 1)
    assert declared_version(text, "python") == ((3, 10), 2)
    assert declared_version(text, "sqlalchemy") == ((1, 4), 3)
    assert declared_version(text, "fastapi") is None


def test_explicit_v1_compat_layer_is_quiet() -> None:
    files = {
        "app/schemas.py": (
            "from pydantic import ConfigDict\n"
            "from pydantic.v1 import BaseModel, validator\n\n\n"
            "class Legacy(BaseModel):\n    name: str\n\n"
            "    @validator('name')\n    def strip(cls, v: str) -> str:\n        return v\n\n"
            "    class Config:\n        orm_mode = True\n"
        )
    }
    assert hits(PydanticV1Api, files) == []
