"""Pydantic rules: v1 APIs left in a Pydantic v2 project."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import ClassVar

from fastapi_review.index.nodes import FUNCTION_NODES, walk
from fastapi_review.index.project import ProjectIndex
from fastapi_review.index.symbols import dotted
from fastapi_review.models import Finding
from fastapi_review.rules.base import Context, Example, Rule

# v1 method -> its v2 replacement
V1_METHODS = {
    "dict": "model_dump()",
    "json": "model_dump_json()",
    "parse_obj": "model_validate()",
    "parse_raw": "model_validate_json()",
    "parse_file": "model_validate_json()",
    "from_orm": "model_validate(..., from_attributes=True)",
    "schema": "model_json_schema()",
    "schema_json": "model_json_schema()",
    "construct": "model_construct()",
    "update_forward_refs": "model_rebuild()",
}
V1_DECORATORS = {"validator": "field_validator", "root_validator": "model_validator"}
_V1_METHOD_ENDS = tuple(f".{m}" for m in V1_METHODS)  # how a target naming one ends
V2_NAMES = {
    "field_validator",
    "model_validator",
    "ConfigDict",
    "computed_field",
    "TypeAdapter",
    "field_serializer",
    "model_serializer",
}
V2_METHODS = {"model_dump", "model_validate", "model_dump_json", "model_validate_json"}
# names that Pydantic 2 moved or removed: importing them is v1 code (BaseSettings fails)
V1_IMPORTS = {
    "pydantic.BaseSettings": "`from pydantic_settings import BaseSettings`",
    "pydantic.parse_obj_as": "`TypeAdapter(T).validate_python()`",
    "pydantic.parse_raw_as": "`TypeAdapter(T).validate_json()`",
    "pydantic.generics.GenericModel": "`BaseModel` with `Generic[T]`",
}


_BOUND = re.compile(r"(>=|==|~=|\^|~|>)\s*v?(\d+)(?:\.(\d+))?")


def declared_version(text: str, package: str) -> tuple[tuple[int, int], int] | None:
    """Lower bound (major, minor) a pyproject declares for a package, and its line.

    Reads PEP 508 strings (`"fastapi>=0.110"`) and Poetry tables (`fastapi = "^0.110"`,
    `sqlalchemy = {version = "^2.0", extras = [...]}`); None when the package is not declared
    or has no lower bound.
    """
    name = re.escape(package)
    pep508 = re.compile(rf"""["']{name}(?![\w.-])(?:\[[^\]]*\])?\s*([^"';]*)""", re.IGNORECASE)
    poetry = re.compile(rf"""^\s*["']?{name}["']?\s*=\s*(.*)$""", re.IGNORECASE)
    for no, line in enumerate(text.splitlines(), start=1):
        specs = [m.group(1) for m in pep508.finditer(line)]
        pm = poetry.match(line)
        if pm is not None:
            specs.append(pm.group(1))
        for spec in specs:
            bound = _BOUND.search(spec)
            if bound is not None:
                return (int(bound.group(2)), int(bound.group(3) or 0)), no
    return None


def pydantic_major(index: ProjectIndex) -> int | None:
    """The Pydantic major version the project declares (pyproject), or None when unknown."""
    found = declared_version(index.extra_files.get("pyproject.toml", ""), "pydantic")
    return found[0][0] if found is not None else None


def uses_pydantic_v2(index: ProjectIndex) -> bool:
    """True when pyproject asks for Pydantic 2, or v2-only APIs appear in the source."""
    major = pydantic_major(index)
    if major is not None:
        return major >= 2
    for m in index.source_modules:
        for qname in m.imports.values():
            if qname.startswith("pydantic_settings") or (
                qname.startswith("pydantic.") and qname.rsplit(".", 1)[-1] in V2_NAMES
            ):
                return True
        for fn in m.functions:
            if any((c.target or "").rsplit(".", 1)[-1] in V2_METHODS for c in fn.calls):
                return True
    return False


class PydanticV1Api(Rule):
    id = "PYD001"
    name = "pydantic-v1-api"
    category = "pydantic.v1-api"
    what = """
        Pydantic v1 APIs in a project that depends on Pydantic 2: `@validator` /
        `@root_validator`, an inner `class Config` (`orm_mode`), and `.dict()`, `.json()`,
        `.parse_obj()`, `.from_orm()`, ... called on a project Pydantic model or an instance
        of one; names Pydantic 2 moved or removed imported from `pydantic`
        (`BaseSettings`, `parse_obj_as`, `GenericModel`). A `.dict()` on an ORM object, a plain dict or an unknown object is not reported.
    """
    why = """
        The v1 API is deprecated in Pydantic 2: every call warns, behaves subtly differently
        (`.dict()` ignores v2 serializers and aliases settings), and is removed in Pydantic 3.
    """
    fix = """
        Use the v2 API: `model_dump()`, `model_dump_json()`, `model_validate()`,
        `@field_validator` / `@model_validator`, `model_config = ConfigDict(from_attributes=True)`.
    """
    bad: ClassVar[list[Example]] = [
        {
            "pyproject.toml": """
                [project]
                name = "svc"
                dependencies = ["pydantic>=2.5"]
            """,
            "app/schemas.py": """
                from pydantic import BaseModel, validator

                class Item(BaseModel):
                    name: str

                    @validator("name")  # expect
                    def strip(cls, v: str) -> str:
                        return v.strip()

                    class Config:  # expect
                        orm_mode = True
            """,
            "app/crud.py": """
                from app.schemas import Item

                def to_row(item: Item) -> dict:
                    return item.dict()  # expect

                def load(data: dict) -> Item:
                    return Item.parse_obj(data)  # expect
            """,
            "app/config.py": """
                from pydantic import BaseSettings, Field  # expect

                class Settings(BaseSettings):
                    database_url: str = Field(...)
            """,
        }
    ]
    good: ClassVar[list[Example]] = [
        {
            "pyproject.toml": """
                [project]
                name = "svc"
                dependencies = ["pydantic>=2.5"]
            """,
            "app/schemas.py": """
                from pydantic import BaseModel, ConfigDict, field_validator

                class Item(BaseModel):
                    model_config = ConfigDict(from_attributes=True)
                    name: str

                    @field_validator("name")
                    @classmethod
                    def strip(cls, v: str) -> str:
                        return v.strip()
            """,
            "app/crud.py": """
                from app.schemas import Item
                from app.models import Row

                def to_row(item: Item) -> dict:
                    return item.model_dump()

                def from_row(row: Row, extra: dict) -> dict:
                    return {**row.dict(), **extra.copy()}
            """,
            "app/models.py": """
                class Row:
                    def dict(self) -> dict:
                        return {}
            """,
        },
        {
            "pyproject.toml": """
                [project]
                name = "legacy"
                dependencies = ["pydantic>=1.10,<2"]
            """,
            "app/schemas.py": """
                from pydantic import BaseModel, validator

                class Item(BaseModel):
                    name: str

                    @validator("name")
                    def strip(cls, v: str) -> str:
                        return v.strip()
            """,
        },
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        if not uses_pydantic_v2(index):
            return
        models = set(index.pydantic_models) | set(index.settings)
        # decorators and inner Config classes
        for model_fq in sorted(models):
            cls = index.classes.get(model_fq)
            if cls is None or index.modules[cls.path].is_test:
                continue
            if any(b.startswith("pydantic.v1") for b in cls.bases):
                continue  # the explicit v1 compatibility layer is a deliberate choice
            module = index.modules[cls.path]
            for stmt in cls.node.body:
                if isinstance(stmt, ast.ClassDef) and stmt.name == "Config":
                    orm = any(
                        isinstance(s, ast.Assign)
                        and any(isinstance(t, ast.Name) and t.id == "orm_mode" for t in s.targets)
                        for s in stmt.body
                    )
                    what = "`class Config` with `orm_mode`" if orm else "`class Config`"
                    yield self.finding(
                        ctx,
                        cls.path,
                        stmt.lineno,
                        f"{cls.name} uses the Pydantic v1 {what}; use `model_config = ConfigDict(...)`",
                    )
                if not isinstance(stmt, FUNCTION_NODES):
                    continue
                for dec in stmt.decorator_list:
                    target = dec.func if isinstance(dec, ast.Call) else dec
                    text = dotted(target) or ""
                    head, _, rest = text.partition(".")
                    qname = module.imports.get(head, head) + (f".{rest}" if rest else "")
                    last = qname.rsplit(".", 1)[-1]
                    if (
                        last in V1_DECORATORS
                        and qname.startswith("pydantic")
                        and not qname.startswith("pydantic.v1")
                    ):
                        yield self.finding(
                            ctx,
                            cls.path,
                            dec.lineno,
                            f"{cls.name}.{stmt.name} uses the Pydantic v1 `@{last}`; "
                            f"use `@{V1_DECORATORS[last]}`",
                        )
        # v1-only names imported from pydantic
        for module in index.source_modules:
            for node in walk(module.tree, ast.ImportFrom):
                if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
                    continue
                for alias in node.names:
                    replacement = V1_IMPORTS.get(f"{node.module}.{alias.name}")
                    if replacement is not None:
                        yield self.finding(
                            ctx,
                            module.path,
                            node.lineno,
                            f"`{alias.name}` is imported from `{node.module}`, the Pydantic v1 "
                            f"location; use {replacement}",
                        )
        # v1 methods on project models and their instances
        for module in index.source_modules:
            for fn in module.functions:
                for call in fn.calls:
                    named = call.target
                    if not named or not named.endswith(_V1_METHOD_ENDS):
                        continue  # (the usual answer, found without splitting the name)
                    owner, _, method = named.rpartition(".")
                    if method not in V1_METHODS or not owner:
                        continue
                    cls_info = index.class_(owner.removesuffix("()"))
                    if cls_info is None or cls_info.fqname not in models:
                        continue
                    yield self.finding(
                        ctx,
                        module.path,
                        call.line,
                        f"`{call.text}()` is the Pydantic v1 API on {cls_info.name}; "
                        f"use `{V1_METHODS[method]}`",
                    )
