#!/usr/bin/env python3
"""Generate a synthetic FastAPI code base of a given size (for the static-phase benchmark).

The tree looks like a set of real services: each service is a package with routers,
services, repositories, SQLAlchemy models, Pydantic schemas, Kafka producers and consumers,
settings, a `main.py`, and tests, plus one `tech-design.md` listing every endpoint and topic.
A seeded random generator varies the code and seeds a few common defects (blocking calls
in async code, swallowed exceptions, hard-coded secrets) so the rules have work to do.

    python scripts/gen_synthetic.py OUT_DIR [--modules 2000] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import textwrap
from dataclasses import dataclass
from pathlib import Path

# modules written per entity: route, service, repository, model, schema, events, test
PER_ENTITY = 7
ENTITIES_PER_SERVICE = 12
WORDS = [
    "order",
    "invoice",
    "payment",
    "ticket",
    "cart",
    "item",
    "customer",
    "shipment",
    "parcel",
    "refund",
    "coupon",
    "review",
    "account",
    "profile",
    "device",
    "session",
    "report",
    "export",
    "plan",
    "subscription",
    "seat",
    "venue",
    "event",
    "booking",
    "message",
    "channel",
    "webhook",
    "batch",
    "job",
    "task",
    "note",
    "comment",
    "rating",
    "address",
    "carrier",
    "stock",
]


@dataclass(frozen=True)
class Entity:
    service: str  # python package of the service
    name: str  # snake_case singular
    cls: str  # CamelCase
    plural: str
    fields: tuple[tuple[str, str], ...]  # (name, python type)


def _camel(name: str) -> str:
    return "".join(p.capitalize() for p in name.split("_"))


def _fields(rng: random.Random) -> tuple[tuple[str, str], ...]:
    pool = [
        ("title", "str"),
        ("description", "str | None"),
        ("amount_minor", "int"),
        ("currency", "str"),
        ("quantity", "int"),
        ("status", "str"),
        ("owner_id", "int"),
        ("reference", "str"),
        ("priority", "int"),
        ("active", "bool"),
        ("score", "float"),
        ("external_id", "str | None"),
    ]
    return tuple(rng.sample(pool, rng.randint(4, 8)))


def _sa_type(py: str) -> str:
    return {
        "str": "String(200)",
        "str | None": "String(200)",
        "int": "Integer",
        "float": "Float",
        "bool": "Boolean",
    }[py]


def helpers(e: Entity, rng: random.Random, kind: str) -> str:
    """Plain domain helpers (validation, mapping, totals) so modules have realistic length."""
    out: list[str] = []
    for k in range(rng.randint(2, 4)):
        fname, _ftype = e.fields[k % len(e.fields)]
        limit = rng.randint(3, 500)
        out.append(
            textwrap.dedent(
                f"""\
                def {kind}_{e.name}_{fname}_rule_{k}(values: list[dict[str, object]], limit: int = {limit}) -> dict[str, int]:
                    \"\"\"Summarise `{fname}` over a batch of {e.plural} ({kind} rule {k}).\"\"\"
                    counts: dict[str, int] = {{}}
                    seen = 0
                    for value in values:
                        raw = value.get("{fname}")
                        if raw is None:
                            counts["missing"] = counts.get("missing", 0) + 1
                            continue
                        key = str(raw).strip().lower()[:32]
                        if not key:
                            counts["blank"] = counts.get("blank", 0) + 1
                        elif len(key) > limit:
                            counts["too_long"] = counts.get("too_long", 0) + 1
                        else:
                            counts[key] = counts.get(key, 0) + 1
                        seen += 1
                        if seen >= limit:
                            break
                    return counts
                """
            )
        )
    return "\n\n".join(out)


def model_module(e: Entity, rng: random.Random) -> str:
    cols = "\n".join(
        f"    {n}: Mapped[{t}] = mapped_column({_sa_type(t)}"
        + (", nullable=True" if "None" in t else "")
        + (", index=True" if i == 0 else "")
        + ")"
        for i, (n, t) in enumerate(e.fields)
    )
    helpers = "\n\n".join(
        textwrap.dedent(
            f"""\
            def {e.name}_{n}_label(row: {e.cls}) -> str:
                value = row.{n}
                if value is None:
                    return "-"
                return f"{n}={{value}}\""""
        )
        for n, _ in e.fields[:3]
    )
    return f'''"""ORM model of {e.plural}."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from {e.service}.models.base import Base


class {e.cls}(Base):
    __tablename__ = "{e.plural}"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
{cols}
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("{e.plural}.id"), nullable=True)
    children: Mapped[list[{e.cls}]] = relationship("{e.cls}", lazy="selectin")

    def __repr__(self) -> str:
        return f"<{e.cls} id={{self.id}}>"


{helpers}
'''


def schema_module(e: Entity, rng: random.Random) -> str:
    def field(n: str, t: str) -> str:
        if t == "str":
            return f"    {n}: str = Field(min_length=1, max_length=200)"
        if t == "int":
            return f"    {n}: int = Field(ge=0)"
        return f"    {n}: {t}" + (" = None" if "None" in t else "")

    body = "\n".join(field(n, t) for n, t in e.fields)
    opt = "\n".join(
        f"    {n}: {t} | None = None".replace("None | None", "None") for n, t in e.fields
    )
    validator = ""
    if any(n == "currency" for n, _ in e.fields):
        validator = (
            textwrap.dedent(
                """

                @field_validator("currency")
                @classmethod
                def _upper(cls, value: str) -> str:
                    if len(value) != 3:
                        raise ValueError("currency must be an ISO 4217 code")
                    return value.upper()
            """
            )
            .replace("\n", "\n    ")
            .rstrip()
            + "\n"
        )
    return f'''"""API schemas of {e.plural}."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator


class {e.cls}Create(BaseModel):
{body}
{validator}

class {e.cls}Update(BaseModel):
{opt}


class {e.cls}Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
{body}
    created_at: datetime
    updated_at: datetime


class {e.cls}Page(BaseModel):
    items: list[{e.cls}Out]
    total: int
    limit: int
    offset: int
'''


def repository_module(e: Entity, rng: random.Random) -> str:
    first = e.fields[0][0]
    return f'''"""Database access for {e.plural}."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from {e.service}.models.{e.name} import {e.cls}


class {e.cls}Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, {e.name}_id: int) -> {e.cls} | None:
        return await self.session.get({e.cls}, {e.name}_id)

    async def list(self, limit: int, offset: int) -> list[{e.cls}]:
        stmt = select({e.cls}).order_by({e.cls}.id).limit(limit).offset(offset)
        result = await self.session.execute(stmt)
        return list(result.scalars().all())

    async def count(self) -> int:
        result = await self.session.execute(select(func.count()).select_from({e.cls}))
        return int(result.scalar_one())

    async def find_by_{first}(self, value: object) -> list[{e.cls}]:
        stmt = select({e.cls}).where({e.cls}.{first} == value)
        result = await self.session.execute(stmt)
        return list(result.scalars().all())

    async def add(self, row: {e.cls}) -> {e.cls}:
        self.session.add(row)
        await self.session.flush()
        await self.session.refresh(row)
        return row

    async def delete(self, row: {e.cls}) -> None:
        await self.session.delete(row)
        await self.session.flush()
'''


def service_module(e: Entity, rng: random.Random) -> str:
    blocking = rng.random() < 0.08
    swallow = rng.random() < 0.1
    extra = ""
    if blocking:
        extra += textwrap.dedent(
            f"""

            async def refresh_{e.name}_rates(url: str) -> dict[str, float]:
                response = requests.get(url, timeout=5)
                return dict(response.json())
            """
        )
    if swallow:
        extra += textwrap.dedent(
            f"""

            async def try_notify_{e.name}(service: {e.cls}Service, {e.name}_id: int) -> None:
                try:
                    await service.get({e.name}_id)
                except Exception:
                    pass
            """
        )
    imports = "import requests\n" if blocking else ""
    assigns = "\n".join(f"        {n}=body.{n}," for n, _ in e.fields)
    updates = "\n".join(
        f"        if body.{n} is not None:\n            row.{n} = body.{n}" for n, _ in e.fields
    )
    return f'''"""Business rules for {e.plural}."""

from __future__ import annotations

import logging

{imports}from fastapi import HTTPException, status
from sqlalchemy.ext.asyncio import AsyncSession

from {e.service}.kafka.{e.name}_events import publish_{e.name}_created, publish_{e.name}_deleted
from {e.service}.models.{e.name} import {e.cls}
from {e.service}.repositories.{e.name} import {e.cls}Repository
from {e.service}.schemas.{e.name} import {e.cls}Create, {e.cls}Page, {e.cls}Update

logger = logging.getLogger(__name__)


class {e.cls}NotFound(Exception):
    pass


class {e.cls}Service:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = {e.cls}Repository(session)

    async def get(self, {e.name}_id: int) -> {e.cls}:
        row = await self.repo.get({e.name}_id)
        if row is None:
            raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="{e.name} not found")
        return row

    async def page(self, limit: int, offset: int) -> {e.cls}Page:
        rows = await self.repo.list(limit, offset)
        total = await self.repo.count()
        return {e.cls}Page(items=rows, total=total, limit=limit, offset=offset)  # type: ignore[arg-type]

    async def create(self, body: {e.cls}Create) -> {e.cls}:
        row = {e.cls}(
{assigns}
        )
        row = await self.repo.add(row)
        await self.session.commit()
        await publish_{e.name}_created(row.id)
        logger.info("{e.name} created", extra={{"id": row.id}})
        return row

    async def update(self, {e.name}_id: int, body: {e.cls}Update) -> {e.cls}:
        row = await self.get({e.name}_id)
{updates}
        await self.session.commit()
        return row

    async def delete(self, {e.name}_id: int) -> None:
        row = await self.get({e.name}_id)
        await self.repo.delete(row)
        await self.session.commit()
        await publish_{e.name}_deleted(row.id)
{extra}'''


def route_module(e: Entity, rng: random.Random) -> str:
    return f'''"""HTTP endpoints of {e.plural}."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from {e.service}.core.db import get_session
from {e.service}.schemas.{e.name} import {e.cls}Create, {e.cls}Out, {e.cls}Page, {e.cls}Update
from {e.service}.services.{e.name} import {e.cls}Service

router = APIRouter(prefix="/{e.plural}", tags=["{e.plural}"])


def get_service(session: AsyncSession = Depends(get_session)) -> {e.cls}Service:
    return {e.cls}Service(session)


@router.post("", response_model={e.cls}Out, status_code=status.HTTP_201_CREATED)
async def create_{e.name}(
    body: {e.cls}Create, service: {e.cls}Service = Depends(get_service)
) -> {e.cls}Out:
    """Create one {e.name}."""
    return {e.cls}Out.model_validate(await service.create(body))


@router.get("", response_model={e.cls}Page)
async def list_{e.plural}(
    limit: int = Query(20, ge=1, le=100),
    offset: int = Query(0, ge=0),
    service: {e.cls}Service = Depends(get_service),
) -> {e.cls}Page:
    """List {e.plural}, oldest first."""
    return await service.page(limit, offset)


@router.get("/{{{e.name}_id}}", response_model={e.cls}Out)
async def get_{e.name}({e.name}_id: int, service: {e.cls}Service = Depends(get_service)) -> {e.cls}Out:
    """Read one {e.name}."""
    return {e.cls}Out.model_validate(await service.get({e.name}_id))


@router.patch("/{{{e.name}_id}}", response_model={e.cls}Out)
async def update_{e.name}(
    {e.name}_id: int, body: {e.cls}Update, service: {e.cls}Service = Depends(get_service)
) -> {e.cls}Out:
    """Change one {e.name}."""
    return {e.cls}Out.model_validate(await service.update({e.name}_id, body))


@router.delete("/{{{e.name}_id}}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_{e.name}({e.name}_id: int, service: {e.cls}Service = Depends(get_service)) -> None:
    """Delete one {e.name}."""
    await service.delete({e.name}_id)
'''


def events_module(e: Entity, rng: random.Random) -> str:
    return f'''"""Kafka events of {e.plural}."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from {e.service}.core.config import settings

logger = logging.getLogger(__name__)

{e.name.upper()}_CREATED_TOPIC = "{e.service}.{e.plural}.created"
{e.name.upper()}_DELETED_TOPIC = "{e.service}.{e.plural}.deleted"

_producer: AIOKafkaProducer | None = None


async def get_producer() -> AIOKafkaProducer:
    global _producer
    if _producer is None:
        _producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True
        )
        await _producer.start()
    return _producer


def _envelope(kind: str, {e.name}_id: int) -> bytes:
    body = {{
        "event_id": str(uuid.uuid4()),
        "type": kind,
        "{e.name}_id": {e.name}_id,
        "occurred_at": datetime.now(UTC).isoformat(),
    }}
    return json.dumps(body).encode()


async def publish_{e.name}_created({e.name}_id: int) -> None:
    producer = await get_producer()
    await producer.send_and_wait(
        {e.name.upper()}_CREATED_TOPIC, _envelope("created", {e.name}_id), key=str({e.name}_id).encode()
    )


async def publish_{e.name}_deleted({e.name}_id: int) -> None:
    producer = await get_producer()
    await producer.send_and_wait(
        {e.name.upper()}_DELETED_TOPIC, _envelope("deleted", {e.name}_id), key=str({e.name}_id).encode()
    )


async def consume_{e.name}_events() -> None:
    consumer = AIOKafkaConsumer(
        {e.name.upper()}_CREATED_TOPIC,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id="{e.service}-{e.plural}",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        async for message in consumer:
            try:
                payload = json.loads(message.value)
                logger.info("{e.name} event", extra={{"event_id": payload.get("event_id")}})
            except ValueError:
                logger.exception("bad {e.name} event")
            await consumer.commit()
    finally:
        await consumer.stop()
'''


def test_module(e: Entity, rng: random.Random) -> str:
    payload = ", ".join(
        f'"{n}": '
        + {"str": '"x"', "str | None": "None", "int": "1", "float": "1.5", "bool": "True"}[t]
        for n, t in e.fields
    )
    return f"""from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from {e.service}.main import app

client = TestClient(app)


def test_create_{e.name}_returns_201() -> None:
    response = client.post("/api/v1/{e.plural}", json={{{payload}}})
    assert response.status_code == 201
    assert response.json()["id"] > 0


def test_get_unknown_{e.name}_returns_404() -> None:
    response = client.get("/api/v1/{e.plural}/999999")
    assert response.status_code == 404


@pytest.mark.parametrize("limit", [0, 101])
def test_list_{e.plural}_rejects_bad_limit(limit: int) -> None:
    response = client.get("/api/v1/{e.plural}", params={{"limit": limit}})
    assert response.status_code == 422
"""


def service_files(service: str, entities: list[Entity], rng: random.Random) -> dict[str, str]:
    files: dict[str, str] = {}
    base = f"src/{service}"
    for pkg in (
        "",
        "api",
        "api/routes",
        "services",
        "repositories",
        "models",
        "schemas",
        "kafka",
        "core",
    ):
        files[f"{base}/{pkg}/__init__.py".replace("//", "/")] = ""
    secret = '"sk_live_51H8x3kQ2m9Zp"' if rng.random() < 0.3 else 'Field(default="", repr=False)'
    files[f"{base}/core/config.py"] = f'''from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="{service.upper()}_")

    database_url: str = "postgresql+asyncpg://localhost/{service}"
    kafka_bootstrap: str = "localhost:9092"
    api_key: str = {secret}


settings = Settings()
'''
    files[f"{base}/core/db.py"] = f"""from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from {service}.core.config import settings

engine = create_async_engine(settings.database_url, pool_pre_ping=True)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


async def get_session() -> AsyncIterator[AsyncSession]:
    async with SessionLocal() as session:
        yield session
"""
    files[f"{base}/models/base.py"] = (
        "from sqlalchemy.orm import DeclarativeBase\n\n\nclass Base(DeclarativeBase):\n    pass\n"
    )
    imports = "\n".join(
        f"from {service}.api.routes import {e.name} as {e.name}_routes" for e in entities
    )
    includes = "\n".join(
        f'app.include_router({e.name}_routes.router, prefix="/api/v1")' for e in entities
    )
    files[f"{base}/main.py"] = (
        f'from fastapi import FastAPI\n\n{imports}\n\napp = FastAPI(title="{service}")\n'
        f'{includes}\n\n\n@app.get("/health")\nasync def health() -> dict[str, str]:\n'
        f'    return {{"status": "ok"}}\n'
    )
    for e in entities:
        for folder, kind, make in (
            ("models", "model", model_module),
            ("schemas", "schema", schema_module),
            ("repositories", "repo", repository_module),
            ("services", "service", service_module),
            ("api/routes", "route", route_module),
            ("kafka", "events", events_module),
        ):
            suffix = "_events" if kind == "events" else ""
            text = make(e, rng).rstrip("\n") + "\n\n\n" + helpers(e, rng, kind)
            files[f"{base}/{folder}/{e.name}{suffix}.py"] = text
        files[f"tests/{service}/test_{e.name}.py"] = test_module(e, rng)
    files[f"tests/{service}/__init__.py"] = ""
    return files


def design(entities: list[Entity]) -> str:
    rows = []
    topics = []
    for e in entities:
        p = f"/api/v1/{e.plural}"
        rows += [
            f"| POST | `{p}` | `{e.cls}Create` | 201 `{e.cls}Out` | 422 |",
            f"| GET | `{p}` | - | 200 `{e.cls}Page` | 422 |",
            f"| GET | `{p}/{{{e.name}_id}}` | - | 200 `{e.cls}Out` | 404 |",
            f"| PATCH | `{p}/{{{e.name}_id}}` | `{e.cls}Update` | 200 `{e.cls}Out` | 404, 422 |",
            f"| DELETE | `{p}/{{{e.name}_id}}` | - | 204 | 404 |",
        ]
        topics.append(
            f"| `{e.service}.{e.plural}.created` | produced | `event_id`, `{e.name}_id` |"
        )
    return (
        "# Synthetic platform - tech design\n\n## 1. Requirements\n\n"
        "| ID | Requirement |\n|----|-------------|\n"
        "| FR-1 | Every resource can be created, listed, read, changed and deleted. |\n"
        "| FR-2 | Every change is published on Kafka. |\n\n"
        "## 2. API\n\n| Method | Path | Request | Success | Errors |\n"
        "|--------|------|---------|---------|--------|\n" + "\n".join(rows) + "\n\n"
        "## 3. Events\n\n| Topic | Direction | Payload fields |\n|-------|-----------|----|\n"
        + "\n".join(topics)
        + "\n"
    )


def generate(out: Path, modules: int = 2000, seed: int = 7) -> tuple[int, int]:
    """Write the tree; return (number of .py files, number of lines)."""
    rng = random.Random(seed)
    n_entities = max(1, round(modules / (PER_ENTITY + 11 / ENTITIES_PER_SERVICE)))
    entities: list[Entity] = []
    by_service: dict[str, list[Entity]] = {}
    for i in range(n_entities):
        service = f"svc{i // ENTITIES_PER_SERVICE:02d}"
        word = WORDS[i % len(WORDS)]
        name = f"{word}{i}" if i >= len(WORDS) else word
        e = Entity(service, name, _camel(name), f"{name}s", _fields(rng))
        entities.append(e)
        by_service.setdefault(service, []).append(e)
    files: dict[str, str] = {}
    for service, ents in by_service.items():
        files.update(service_files(service, ents, rng))
    files["tech-design.md"] = design(entities)
    files["pyproject.toml"] = (
        '[project]\nname = "synthetic-platform"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
        'dependencies = ["fastapi>=0.110", "pydantic>=2.6", "pydantic-settings>=2.1", '
        '"sqlalchemy>=2.0", "aiokafka>=0.10", "requests>=2.31"]\n'
    )
    n_py = n_lines = 0
    for rel, text in files.items():
        p = out / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        if rel.endswith(".py"):
            n_py += 1
            n_lines += text.count("\n")
    return n_py, n_lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--modules", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    n_py, n_lines = generate(args.out, args.modules, args.seed)
    print(f"wrote {n_py} Python files, {n_lines} lines to {args.out}")


if __name__ == "__main__":
    main()
