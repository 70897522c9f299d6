"""Pydantic models, SQLAlchemy models and settings classes."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi_review.index.nodes import ASSIGN_NODES, FUNCTION_NODES
from fastapi_review.index.symbols import ClassInfo, dotted, unparse

if TYPE_CHECKING:
    from fastapi_review.index.project import ProjectIndex

PYDANTIC_BASES = ("pydantic.BaseModel", "BaseModel", "pydantic.main.BaseModel", "SQLModel")
SETTINGS_BASES = ("pydantic_settings.BaseSettings", "BaseSettings", "pydantic.BaseSettings")
ORM_BASES = ("DeclarativeBase", "declarative_base", "Base", "AsyncAttrs", "SQLModel")


@dataclass
class ModelField:
    name: str
    annotation: str
    line: int
    default: ast.expr | None = None
    # keyword arguments of Field(...) / mapped_column(...)
    options: dict[str, ast.expr] = field(default_factory=dict)


@dataclass
class PydanticModel:
    cls: ClassInfo
    fields: dict[str, ModelField] = field(default_factory=dict)
    validators: list[str] = field(default_factory=list)  # field names (or "*" for model validators)
    v1_config: bool = False  # inner `class Config` / orm_mode


@dataclass
class Column:
    attr: str
    name: str  # the column name in the table
    line: int
    annotation: str = ""
    options: dict[str, ast.expr] = field(default_factory=dict)
    foreign_key: str | None = None


@dataclass
class Relationship:
    attr: str
    target: str
    line: int
    lazy: str | None = None


@dataclass
class OrmModel:
    cls: ClassInfo
    table: str
    columns: dict[str, Column] = field(default_factory=dict)  # by column name
    relationships: dict[str, Relationship] = field(default_factory=dict)


@dataclass
class SettingsClass:
    cls: ClassInfo
    env_prefix: str | None
    fields: dict[str, object] = field(default_factory=dict)  # name -> literal default (or None)
    field_lines: dict[str, int] = field(default_factory=dict)


def _literal(expr: ast.expr | None) -> object:
    if expr is None:
        return None
    try:
        return ast.literal_eval(expr)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _field_default(value: ast.expr | None) -> tuple[ast.expr | None, dict[str, ast.expr]]:
    """For `x: int = Field(5, ge=1)` -> (5, {ge: 1}); plain defaults pass through."""
    if isinstance(value, ast.Call):
        name = (dotted(value.func) or "").rsplit(".", 1)[-1]
        if name in {"Field", "mapped_column", "Column", "Query", "Body", "Path", "Header"}:
            opts = {k.arg: k.value for k in value.keywords if k.arg}
            default = value.args[0] if value.args else opts.get("default")
            return default, opts
    return value, {}


def _class_fields(cls: ClassInfo) -> dict[str, ModelField]:
    out: dict[str, ModelField] = {}
    for stmt in cls.node.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            name = stmt.target.id
            ann = unparse(stmt.annotation)
            if name.startswith("_") or name == "model_config" or "ClassVar" in ann:
                continue
            default, opts = _field_default(stmt.value)
            out[name] = ModelField(name, ann, stmt.lineno, default, opts)
    return out


def _validators(cls: ClassInfo) -> tuple[list[str], bool]:
    names: list[str] = []
    v1 = False
    for stmt in cls.node.body:
        if isinstance(stmt, ast.ClassDef) and stmt.name == "Config":
            v1 = True
        if not isinstance(stmt, FUNCTION_NODES):
            continue
        for dec in stmt.decorator_list:
            call = dec if isinstance(dec, ast.Call) else None
            dname = (dotted(call.func if call else dec) or "").rsplit(".", 1)[-1]
            if dname in {"field_validator", "validator"} and call is not None:
                names.extend(
                    a.value
                    for a in call.args
                    if isinstance(a, ast.Constant) and isinstance(a.value, str)
                )
            elif dname in {"model_validator", "root_validator"}:
                names.append("*")
    return names, v1


def _env_prefix(cls: ClassInfo) -> str | None:
    for stmt in cls.node.body:
        if (
            isinstance(stmt, ASSIGN_NODES)
            and isinstance(stmt.value, ast.Call)
            and any(isinstance(t, ast.Name) and t.id == "model_config" for t in _targets(stmt))
        ):
            for k in stmt.value.keywords:
                if k.arg == "env_prefix":
                    v = _literal(k.value)
                    return v if isinstance(v, str) else None
        if isinstance(stmt, ast.ClassDef) and stmt.name == "Config":
            for sub in stmt.body:
                if isinstance(sub, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "env_prefix" for t in sub.targets
                ):
                    v = _literal(sub.value)
                    return v if isinstance(v, str) else None
    return None


def _targets(stmt: ast.Assign | ast.AnnAssign) -> list[ast.expr]:
    return list(stmt.targets) if isinstance(stmt, ast.Assign) else [stmt.target]


def _orm_model(cls: ClassInfo) -> OrmModel | None:
    table: str | None = None
    for stmt in cls.node.body:
        if isinstance(stmt, ASSIGN_NODES) and any(
            isinstance(t, ast.Name) and t.id == "__tablename__" for t in _targets(stmt)
        ):
            v = _literal(stmt.value)
            if isinstance(v, str):
                table = v
    if table is None:
        return None
    model = OrmModel(cls=cls, table=table)
    for stmt in cls.node.body:
        if not isinstance(stmt, ASSIGN_NODES):
            continue
        targets = [t for t in _targets(stmt) if isinstance(t, ast.Name)]
        if not targets:
            continue
        attr = targets[0].id
        if attr.startswith("__"):
            continue
        value = stmt.value
        ann = unparse(stmt.annotation) if isinstance(stmt, ast.AnnAssign) else ""
        call_name = (
            (dotted(value.func) or "").rsplit(".", 1)[-1] if isinstance(value, ast.Call) else ""
        )
        if call_name == "relationship" and isinstance(value, ast.Call):
            target = ""
            if value.args:
                t = value.args[0]
                target = (
                    t.value
                    if isinstance(t, ast.Constant) and isinstance(t.value, str)
                    else unparse(t)
                )
            elif ann:
                target = ann
            lazy = next((_literal(k.value) for k in value.keywords if k.arg == "lazy"), None)
            model.relationships[attr] = Relationship(
                attr, target, stmt.lineno, lazy if isinstance(lazy, str) else None
            )
            continue
        if (
            ann.startswith("Mapped[")
            and ("list[" in ann or "List[" in ann)
            and call_name != "mapped_column"
        ):
            model.relationships[attr] = Relationship(attr, ann, stmt.lineno)
            continue
        if call_name in {"mapped_column", "Column"} or ann.startswith("Mapped["):
            name = attr
            fk: str | None = None
            opts: dict[str, ast.expr] = {}
            if isinstance(value, ast.Call):
                opts = {k.arg: k.value for k in value.keywords if k.arg}
                for a in value.args:
                    if isinstance(a, ast.Constant) and isinstance(a.value, str):
                        name = a.value
                    if isinstance(a, ast.Call) and (dotted(a.func) or "").endswith("ForeignKey"):
                        fk_v = _literal(a.args[0]) if a.args else None
                        fk = fk_v if isinstance(fk_v, str) else None
            model.columns[name] = Column(attr, name, stmt.lineno, ann, opts, fk)
    return model


def collect(index: ProjectIndex) -> None:
    for cls in index.subclasses_of(*SETTINGS_BASES):
        s = SettingsClass(cls=cls, env_prefix=_env_prefix(cls))
        for name, f in _class_fields(cls).items():
            s.fields[name] = _literal(f.default)
            s.field_lines[name] = f.line
        index.settings[cls.fqname] = s
    for cls in index.subclasses_of(*PYDANTIC_BASES):
        if cls.fqname in index.settings:
            continue
        validators, v1 = _validators(cls)
        index.pydantic_models[cls.fqname] = PydanticModel(cls, _class_fields(cls), validators, v1)
    for cls in index.classes.values():
        if index.modules[cls.path].is_test:
            continue
        orm = _orm_model(cls)
        if orm is not None:
            index.orm_models[cls.fqname] = orm
            index.pydantic_models.pop(cls.fqname, None)
