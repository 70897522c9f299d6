"""Security rules on hand-written fixtures."""

from __future__ import annotations

from fastapi_review.models import Severity
from fastapi_review.rules.examples import example_files, run_example
from fastapi_review.rules.security import (
    HardcodedSecret,
    InsecureConfig,
    _could_hold_secret,
    dsn_password,
    is_secret_name,
)


def at(files: dict[str, str], path: str, needle: str) -> int:
    text = example_files(files)[path]
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


CONFIG = """
import os

from pydantic import Field
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    database_url: str = "postgresql+asyncpg://app:Pr0d-Pa55@db.prod:5432/app"
    local_url: str = "postgresql://postgres:postgres@localhost:5432/app"
    redis_password: str = Field(default="k8Jd9Ls0Qw")
    secret_key: str = "changeme"
    token_header: str = "X-Auth-Token"
    api_key: str = os.environ.get("API_KEY", "")
    help_text: str = Field("", description="e.g. postgresql://user:pw@host/db")
"""


def test_hardcoded_secrets_and_dsns() -> None:
    files = {"app/config.py": CONFIG, "tests/conftest.py": CONFIG}
    found = sorted(run_example(HardcodedSecret, files), key=lambda f: f.line or 0)
    assert [(f.path, f.line, f.severity) for f in found] == [
        ("app/config.py", at(files, "app/config.py", "Pr0d-Pa55"), Severity.CRITICAL),
        ("app/config.py", at(files, "app/config.py", "postgres:postgres"), Severity.LOW),
        ("app/config.py", at(files, "app/config.py", "k8Jd9Ls0Qw"), Severity.CRITICAL),
    ]
    assert all("Pr0d-Pa55" not in f.evidence for f in found)


def test_secret_names_and_dsn_parsing() -> None:
    assert is_secret_name("db_password") and is_secret_name("jwtSecret")
    assert is_secret_name("stripe_api_key") and not is_secret_name("cache_key")
    assert not is_secret_name("token_ttl") and not is_secret_name("password_min_length")
    assert dsn_password("redis://:s3cret@cache:6379/0") == ("", "s3cret", "cache")
    assert dsn_password("postgresql://u:${DB_PASSWORD}@db/app") is None
    assert dsn_password("postgresql://u@db/app") is None


def test_modules_without_a_secret_word_are_skipped_only_when_none_can_hold_one() -> None:
    # the rule reads only modules whose lower-case text passes this test: every name
    # `is_secret_name` accepts, and every URL with a password, must pass it
    for name in ("db_password", "jwtSecret", "STRIPE_API_KEY", "apiKey", "signing-key"):
        assert is_secret_name(name) and _could_hold_secret(f'{name} = "v4lue-123"'.lower())
    assert _could_hold_secret("url = 'redis://:s3cret@cache:6379/0'")
    assert _could_hold_secret("private  .. key")
    assert not _could_hold_secret("cache_key = 'k'\nprimary_key=True\nmonkey = 1")


APP = """
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

app = FastAPI(debug=True)
app.add_middleware(
    CORSMiddleware,
    allow_origin_regex=".*",
    allow_credentials=True,
)
other = FastAPI(debug=False)
other.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=False)
"""


def test_insecure_config() -> None:
    files = {"app/main.py": APP}
    found = sorted((f.path, f.line) for f in run_example(InsecureConfig, files))
    assert found == [
        ("app/main.py", at(files, "app/main.py", "FastAPI(debug=True)")),
        ("app/main.py", at(files, "app/main.py", "app.add_middleware(")),
    ]


def test_secrets_of_test_and_development_settings_are_low() -> None:
    files = {
        "app/core/settings/test.py": (
            "from pydantic import SecretStr\n"
            "from pydantic_settings import BaseSettings\n\n\n"
            "class TestAppSettings(BaseSettings):\n"
            '    secret_key: SecretStr = SecretStr("test_secret")\n'
        ),
        "app/config.py": (
            "from pydantic_settings import BaseSettings\n\n\n"
            "class LocalSettings(BaseSettings):\n"
            '    jwt_secret: str = "dev-only-9f8e7d"\n\n\n'
            "class Settings(BaseSettings):\n"
            '    jwt_secret: str = "9f8e7d6c5b4a3928"\n'
        ),
    }
    found = sorted((f.path, f.line, f.severity) for f in run_example(HardcodedSecret, files))
    assert found == [
        ("app/config.py", 5, Severity.LOW),
        ("app/config.py", 9, Severity.CRITICAL),
        ("app/core/settings/test.py", 6, Severity.LOW),
    ]


def test_compose_service_default_credentials_are_low() -> None:
    files = {
        "app/config.py": (
            "BROKER = 'amqp://guest:guest@rabbitmq/'\n"
            "DB = 'postgresql://postgres:postgres@orders_db:5432/orders'\n"
            "PROD = 'postgresql://postgres:postgres@db.prod.internal:5432/orders'\n"
            "STRONG = 'postgresql://orders:Xk9-pQ2w@db:5432/orders'\n"
        )
    }
    found = [(f.line, f.severity) for f in run_example(HardcodedSecret, files)]
    assert sorted(found) == [
        (1, Severity.LOW),
        (2, Severity.LOW),
        (3, Severity.CRITICAL),
        (4, Severity.CRITICAL),
    ]
