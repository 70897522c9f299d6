"""Operations and configuration rules on hand-written fixtures."""

from __future__ import annotations

from fastapi_review.models import Severity
from fastapi_review.rules.base import Rule
from fastapi_review.rules.config_rules import NotEnvBased
from fastapi_review.rules.examples import example_files, run_example
from fastapi_review.rules.ops import (
    ComposeIncomplete,
    NoHealthCheck,
    PrintLogging,
    StackVersion,
    UnstructuredLogging,
)


def at(files: dict[str, str], path: str, needle: str) -> int:
    text = example_files(files)[path]
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def hits(rule: type[Rule], files: dict[str, str]) -> list[tuple[str | None, int | None]]:
    return sorted((f.path, f.line) for f in run_example(rule, files))


APP = """
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

app = FastAPI()
router = APIRouter(prefix="/health")


async def get_session() -> AsyncSession:
    raise NotImplementedError


@router.get("/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
async def ready(session: AsyncSession = Depends(get_session)) -> dict[str, str]:
    await session.execute("SELECT 1")
    return {"status": "ok"}


app.include_router(router)
"""


def test_readiness_that_pings_the_database_is_enough() -> None:
    assert hits(NoHealthCheck, {"app/main.py": APP}) == []


def test_readiness_without_dependency_checks() -> None:
    src = APP.replace('    await session.execute("SELECT 1")\n', "")
    src = src.replace("session: AsyncSession = Depends(get_session)", "")
    files = {"app/main.py": src}
    assert hits(NoHealthCheck, files) == [("app/main.py", at(files, "app/main.py", '"/ready"'))]


def test_only_liveness() -> None:
    start = APP.index('@router.get("/ready")')
    files = {"app/main.py": APP[:start] + "app.include_router(router)\n"}
    assert hits(NoHealthCheck, files) == [("app/main.py", at(files, "app/main.py", '"/live"'))]


def test_kubernetes_style_healthz_and_readyz() -> None:
    src = APP.replace('APIRouter(prefix="/health")', "APIRouter()")
    src = src.replace('"/live"', '"/healthz"').replace('"/ready"', '"/readyz"')
    assert hits(NoHealthCheck, {"app/main.py": src}) == []
    # /livez alone is a liveness probe, not a readiness check
    start = src.index('@router.get("/readyz")')
    files = {
        "app/main.py": src[:start].replace('"/healthz"', '"/livez"')
        + "app.include_router(router)\n"
    }
    assert hits(NoHealthCheck, files) == [("app/main.py", at(files, "app/main.py", '"/livez"'))]


def test_print_outside_main_guard() -> None:
    src = 'def run() -> None:\n    print("x")\n\n\nif __name__ == "__main__":\n    print("y")\n'
    assert hits(PrintLogging, {"app/job.py": src, "tests/test_job.py": src}) == [("app/job.py", 2)]


COMPOSE = """
services:
  api:
    build: .
    depends_on:
      postgres:
        condition: service_started
  postgres:
    image: postgres:16
    healthcheck:
      test: ["CMD-SHELL", "pg_isready"]
  kafka:
    image: bitnami/kafka:3.7
  kafka-init:
    image: bitnami/kafka:3.7
    entrypoint: ["/bin/sh", "-c"]
    command: kafka-topics.sh --create --topic orders
"""


def test_compose_conditions_and_healthchecks() -> None:
    files = {"app/main.py": APP, "docker-compose.yml": COMPOSE}
    found = sorted((f.line, f.message) for f in run_example(ComposeIncomplete, files))
    assert [line for line, _ in found] == [
        at(files, "docker-compose.yml", "depends_on"),
        at(files, "docker-compose.yml", "  kafka:"),
    ]
    assert "kafka, postgres" in found[0][1]


def test_compose_missing_services() -> None:
    compose = "services:\n  api:\n    build: .\n"
    files = {
        "app/main.py": APP,
        "docker-compose.yml": compose,
        "pyproject.toml": '[project]\ndependencies = ["asyncpg>=0.29"]\n',
    }
    messages = sorted(f.message for f in run_example(ComposeIncomplete, files))
    assert messages == [
        "docker-compose.yml has no Kafka service, but the code uses one",
        "docker-compose.yml has no PostgreSQL service, but the code uses one",
    ]


def test_stack_versions_from_requires_python_and_pep508() -> None:
    files = {
        "pyproject.toml": (
            '[project]\nrequires-python = ">=3.10"\n'
            'dependencies = ["fastapi>=0.110", "python-multipart>=0.0.9", "sqlalchemy>=1.4"]\n'
        )
    }
    found = run_example(StackVersion, files)
    assert sorted((f.path, f.line) for f in found) == [("pyproject.toml", 2), ("pyproject.toml", 3)]
    assert sorted(f.message.split()[0] for f in found) == ["python", "sqlalchemy"]


def test_config_scattered_env_reads_and_literal_targets() -> None:
    files = {
        "app/settings.py": (
            "import os\nfrom pydantic_settings import BaseSettings\n\n\n"
            "class Settings(BaseSettings):\n    url: str = 'postgresql://db/app'\n\n\n"
            "LEVEL = os.environ.get('LOG_LEVEL')\n"
        ),
        "app/db.py": (
            "import os\nfrom sqlalchemy.ext.asyncio import create_async_engine\n\n"
            "engine = create_async_engine('postgresql+asyncpg://u:p@db:5432/app')\n"
            "DEBUG = os.environ['DEBUG']\n"
        ),
        "alembic/env.py": "import os\nurl = os.getenv('DATABASE_URL')\n",
    }
    found = run_example(NotEnvBased, files)
    assert sorted((f.path, f.line) for f in found) == [("app/db.py", 4), ("app/db.py", 5)]
    assert all("u:p@" not in f.message for f in found)


def test_unstructured_logging_is_one_finding_for_the_project() -> None:
    worker = (
        "import logging\n\nlog = logging.getLogger(__name__)\n\n\n"
        "def handle(order_id: int) -> None:\n"
        '    log.info(f"order {order_id}")\n'
        '    log.warning("slow %s", order_id)\n'
    )
    env = (
        "from logging.config import fileConfig\n\nfrom alembic import context\n\nfileConfig('x')\n"
    )
    plain = {"app/worker.py": worker, "app/jobs.py": worker, "app/alembic/env.py": env}
    found = [(f.path, f.line, f.severity) for f in run_example(UnstructuredLogging, plain)]
    assert found == [("app/jobs.py", 7, Severity.MEDIUM)]
    structured = {**plain, "app/logs.py": "import structlog\n\nstructlog.configure()\n"}
    found = sorted(
        (f.path, f.line, f.severity) for f in run_example(UnstructuredLogging, structured)
    )
    assert found == [("app/jobs.py", 7, Severity.LOW), ("app/worker.py", 7, Severity.LOW)]


def test_json_shaped_format_string_is_a_low_finding_at_the_setup() -> None:
    # JSON lines by a format string: structured by intent, fragile by construction
    main = (
        "import logging\n\n"
        "logging.basicConfig(\n"
        "    level=logging.INFO,\n"
        '    format=\'{"time": "%(asctime)s", "level": "%(levelname)s", \'\n'
        '    \'"message": "%(message)s"}\',\n'
        ")\n"
        "log = logging.getLogger(__name__)\n\n\n"
        "def handle(order_id: int) -> None:\n"
        '    log.info("order %s", order_id)\n'
    )
    found = [
        (f.path, f.line, f.severity)
        for f in run_example(UnstructuredLogging, {"app/main.py": main})
    ]
    assert found == [("app/main.py", 3, Severity.LOW)]
    # the same keys without the braces: plain text
    plain = main.replace("format='{", "format='").replace("}',", "',")
    found = [
        (f.path, f.line, f.severity)
        for f in run_example(UnstructuredLogging, {"app/main.py": plain})
    ]
    assert found == [("app/main.py", 3, Severity.MEDIUM)]


def test_connection_constants_outside_the_settings_module() -> None:
    files = {
        "app/settings.py": (
            "from pydantic_settings import BaseSettings\n\n"
            'DEFAULT_BROKER = "localhost:9092"\n\n\n'
            "class Settings(BaseSettings):\n    broker: str = DEFAULT_BROKER\n"
        ),
        "app/events.py": (
            "from kafka import KafkaProducer\n\n"
            'BROKERS = "kafka-1.internal:9092,kafka-2.internal:9092"\n'
            'TOPIC = "orders.created"\n'
            'HOMEPAGE = "https://shop.example.com"\n\n'
            "producer = KafkaProducer(bootstrap_servers=BROKERS)\n"
        ),
    }
    found = [(f.path, f.line) for f in run_example(NotEnvBased, files)]
    assert found == [("app/events.py", 3)]
