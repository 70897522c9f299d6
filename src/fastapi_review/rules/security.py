"""Security rules: hard-coded secrets and insecure configuration."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import ClassVar

from fastapi_review.index.nodes import ASSIGN_NODES, FUNCTION_NODES, walk
from fastapi_review.index.project import contains_any
from fastapi_review.index.symbols import Module, dotted
from fastapi_review.models import Finding, Severity
from fastapi_review.rules.base import Context, Example, Rule

# a name holds a secret when its last word is one of these ...
SECRET_WORDS = {"password", "passwd", "pwd", "secret", "token", "apikey", "passphrase"}
# ... or it ends in "<qualifier>_key"
KEY_QUALIFIERS = {"api", "secret", "private", "access", "signing", "encryption", "auth", "jwt"}
# values that stand for "fill me in", not for a real credential
PLACEHOLDERS = re.compile(
    r"""^(?:change[-_ ]?me|replace[-_ ]?me|todo|tbd|x+|\*+|dummy|example|your[-_].*|
        <[^>]*>|\$\{[^}]*\}|\{[^}]*\}|%\([^)]*\)s)$""",
    re.IGNORECASE | re.VERBOSE,
)
# scheme://user:password@host...
DSN = re.compile(r"^[a-z][a-z0-9+.-]*://(?P<user>[^/\s:@]*):(?P<pw>[^@\s/]+)@(?P<host>[^\s/:?]+)")
LOCAL_HOSTS = {"localhost", "127.0.0.1", "0.0.0.0", "::1"}
WEAK_LOCAL_PASSWORDS = {
    "password",
    "pass",
    "postgres",
    "secret",
    "admin",
    "test",
    "guest",
    "root",
    "mysql",
    "example",
}


# settings classes and modules for a non-production environment (`TestAppSettings`,
# `settings/development.py`): their debug flags and sample secrets are meant for that environment
NON_PROD_WORDS = {"test", "tests", "testing", "dev", "development", "local"}


# unions `isinstance` tests, built once (see `index.nodes.FUNCTION_NODES`)
_LIST_TUPLE_SET = ast.List | ast.Tuple | ast.Set


def _words(name: str) -> set[str]:
    return {w.lower() for w in re.split(r"[_\W]+|(?<=[a-z])(?=[A-Z])", name) if w}


def non_production(module_path: str, class_name: str | None = None) -> bool:
    """A module (`settings/test.py`, `config_dev.py`) or class (`DevSettings`) for a
    development or test environment."""
    stem = module_path.rsplit("/", 1)[-1].removesuffix(".py")
    return bool(NON_PROD_WORDS & (_words(stem) | _words(class_name or "")))


def _class_at(tree: ast.Module, line: int) -> str | None:
    """The innermost class that contains `line`."""
    found: str | None = None
    for node in walk(tree, ast.ClassDef):
        if isinstance(node, ast.ClassDef) and node.lineno <= line <= (
            node.end_lineno or node.lineno
        ):
            found = node.name  # ast.walk is breadth-first: inner classes come later
    return found


def _could_hold_secret(text: str) -> bool:
    """Can a module's lower-case text hold a DSN password or a secret-named literal
    (one of the secret words, or "key" after a qualifier and any separators)?"""
    if "//" in text or contains_any(text, SECRET_WORDS):
        return True
    qualifiers = tuple(KEY_QUALIFIERS)
    at = text.find("key")
    while at != -1:
        before = at
        while before and not text[before - 1].isalnum():
            before -= 1
        if text.endswith(qualifiers, 0, before):
            return True
        at = text.find("key", at + 3)
    return False


def is_secret_name(name: str) -> bool:
    words = [w for w in re.split(r"[_\W]+|(?<=[a-z])(?=[A-Z])", name) if w]
    if not words:
        return False
    last = words[-1].lower()
    if last in SECRET_WORDS:
        return True
    return last == "key" and len(words) > 1 and words[-2].lower() in KEY_QUALIFIERS


# a marker inside a longer value: "change-me-to-a-strong-secret", "passwd-change-me"
PLACEHOLDER_MARKERS = re.compile(
    r"change[-_ ]?(?:me|this|it)|replace[-_ ]?(?:me|this)|placeholder|your[-_ ](?:secret|key|token)",
    re.IGNORECASE,
)


def is_placeholder(value: str) -> bool:
    v = value.strip()
    return not v or bool(PLACEHOLDERS.match(v)) or bool(PLACEHOLDER_MARKERS.search(v))


def dsn_password(value: str) -> tuple[str, str, str] | None:
    """(user, password, host) of a URL with an inline password that is not interpolated."""
    m = DSN.match(value.strip())
    if m is None:
        return None
    pw = m.group("pw")
    if is_placeholder(pw) or "$" in pw or "{" in pw:
        return None
    return m.group("user"), pw, m.group("host")


def _docstring_ids(tree: ast.Module) -> set[int]:
    out: set[int] = set()
    for node in walk(tree, ast.Expr):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            out.add(id(node.value))
    return out


# wrappers whose first argument (or `default=`) is the value itself
VALUE_WRAPPERS = ("Field", "SecretStr", "SecretBytes", "Secret")


def _unwrap_default(value: ast.expr | None) -> ast.expr | None:
    """The literal behind `Field("x")`, `Field(default=SecretStr("x"))`, `SecretStr("x")`."""
    for _ in range(3):
        if not isinstance(value, ast.Call):
            break
        if (dotted(value.func) or "").rsplit(".", 1)[-1] not in VALUE_WRAPPERS:
            break
        value = (
            value.args[0]
            if value.args
            else next((k.value for k in value.keywords if k.arg == "default"), None)
        )
    return value


ENV_GETTERS = ("getenv", "environ.get", "environ.setdefault")


def _env_default(call: ast.Call) -> tuple[str, ast.Constant] | None:
    """(variable, default) of `os.getenv("DB_PASSWORD", "s3cret")` / `os.environ.get(...)`:
    the fallback is used whenever the variable is missing, so it is a committed secret."""
    if len(call.args) < 2 or not (dotted(call.func) or "").endswith(ENV_GETTERS):
        return None
    key, default = call.args[0], call.args[1]
    if (
        isinstance(key, ast.Constant)
        and isinstance(key.value, str)
        and isinstance(default, ast.Constant)
        and isinstance(default.value, str)
    ):
        return key.value, default
    return None


def _secret_assignments(module: Module) -> Iterator[tuple[str, ast.Constant]]:
    """(name, literal) for every `name = "..."`, `name: T = "..."`, `f(name="...")`,
    `{"name": "..."}` and `def f(name="...")` in a module."""
    for node in walk(
        module.tree,
        (ASSIGN_NODES, ast.Call, ast.Dict, FUNCTION_NODES),
    ):
        if isinstance(node, ASSIGN_NODES):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = _unwrap_default(node.value)
            for t in targets:
                name = (
                    t.id
                    if isinstance(t, ast.Name)
                    else t.attr
                    if isinstance(t, ast.Attribute)
                    else None
                )
                if name and isinstance(value, ast.Constant) and isinstance(value.value, str):
                    yield name, value
        elif isinstance(node, ast.Call):
            for k in node.keywords:
                if k.arg and isinstance(k.value, ast.Constant) and isinstance(k.value.value, str):
                    yield k.arg, k.value
            env_default = _env_default(node)
            if env_default is not None:
                yield env_default
        elif isinstance(node, ast.Dict):
            for key, val in zip(node.keys, node.values, strict=True):
                if (
                    isinstance(key, ast.Constant)
                    and isinstance(key.value, str)
                    and isinstance(val, ast.Constant)
                    and isinstance(val.value, str)
                ):
                    yield key.value, val
        elif isinstance(node, FUNCTION_NODES):
            args = node.args
            positional = [*args.posonlyargs, *args.args]
            for arg, default in zip(
                positional[len(positional) - len(args.defaults) :], args.defaults, strict=True
            ):
                if isinstance(default, ast.Constant) and isinstance(default.value, str):
                    yield arg.arg, default
            for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
                if isinstance(kw_default, ast.Constant) and isinstance(kw_default.value, str):
                    yield arg.arg, kw_default


class HardcodedSecret(Rule):
    id = "SEC001"
    name = "hardcoded-secret"
    category = "security.hardcoded-secret"
    what = """
        A credential written into the source (tests excluded):
        - a literal value for a secret-named setting, constant, keyword or dict key
          (`password`, `secret`, `token`, `api_key`, `*_secret_key`, ...), also as a
          settings default;
        - a connection URL with an inline password (`postgresql+asyncpg://user:pw@host/db`),
          anywhere as a whole string literal.
        Not reported: values read from the environment, interpolations (`${DB_PASSWORD}`,
        `{password}`), and obvious placeholders (`changeme`, `<password>`, `xxx`, ``) for
        secret-named values, which leak nothing. A URL with a weak password (`postgres`,
        `guest`, the user name) on localhost or a docker-compose service name (`db`,
        `rabbitmq`: a host without dots) is reported at LOW as a local development default;
        any other inline URL password is CRITICAL.
    """
    why = """
        Secrets in source end up in the git history, images and logs, are shared with
        everybody who can read the repository, and cannot be rotated without a release. A
        default DSN with credentials is silently used whenever the variable is missing.
    """
    fix = """
        Read the secret from the environment or a secret store (a pydantic-settings field
        without a default, or `SecretStr`); keep example values in `.env.example` only.
    """
    bad: ClassVar[list[Example]] = [
        {
            "app/config.py": """
                from pydantic import SecretStr
                from pydantic_settings import BaseSettings

                class Settings(BaseSettings):
                    database_url: str = "postgresql+asyncpg://orders:S3cr3t-pw@db.internal:5432/orders"  # expect
                    jwt_secret_key: str = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"  # expect
                    admin_api_key: SecretStr = SecretStr("adm-4Kq9Zt7Wx2")  # expect
            """,
            "app/clients.py": """
                import os

                STRIPE_API_KEY = "sk_live_51HqLyjWDarjtT1zdp7dcXbn"  # expect
                SMTP_PASSWORD = os.getenv("SMTP_PASSWORD", "Mail-S3cret!2024")  # expect
                AUTH_TOKEN = os.environ.get("AUTH_TOKEN", "")

                def connect(factory):
                    return factory(host="redis.internal", password="r3d1s-Pr0d!")  # expect
            """,
        }
    ]
    good: ClassVar[list[Example]] = [
        {
            "app/config.py": """
                import os

                from pydantic import Field, SecretStr
                from pydantic_settings import BaseSettings

                class Settings(BaseSettings):
                    \"\"\"Read from the environment, e.g. postgresql+asyncpg://user:pw@host/db.\"\"\"

                    database_url: str = Field(
                        ..., description="SQLAlchemy URL, e.g. postgresql+asyncpg://user:pw@host/db"
                    )
                    jwt_secret_key: SecretStr
                    signing_key: SecretStr = SecretStr("change-me-to-a-long-random-value")
                    admin_password: str = "changeme"
                    api_key: str = ""
                    token_ttl_seconds: int = 3600
                    password_min_length: int = 12

                DSN = "postgresql://app:${DB_PASSWORD}@db/app"
                TOKEN = os.environ["API_TOKEN"]
            """,
            "tests/test_config.py": """
                DATABASE_URL = "postgresql+asyncpg://test:T3st-only!@localhost/test"
                API_KEY = "sk_test_51HqLyjWDarjtT1zdp7dcXbn"
            """,
        }
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        # a URL with a password has "//" in it, a secret's name one of the secret words
        for module in ctx.index.source_modules_where("SEC001", _could_hold_secret):
            docstrings = _docstring_ids(module.tree)
            reported: set[int] = set()
            for node in walk(module.tree, ast.Constant):
                if (
                    not isinstance(node, ast.Constant)
                    or not isinstance(node.value, str)
                    or id(node) in docstrings
                ):
                    continue
                creds = dsn_password(node.value)
                if creds is None:
                    continue
                user, pw, host = creds
                reported.add(id(node))
                # localhost, or a docker-compose service name (`db`, `rabbitmq`: no dots),
                # with the image's well-known default password
                local = (host in LOCAL_HOSTS or "." not in host) and (
                    pw.lower() in WEAK_LOCAL_PASSWORDS or pw == user
                )
                yield self.finding(
                    ctx,
                    module.path,
                    node.lineno,
                    (
                        f"Connection URL with an inline password for {host} (local development default)"
                        if local
                        else f"Connection URL with an inline password for {host} is hard-coded"
                    ),
                    evidence=ctx.line_text(module.path, node.lineno).replace(pw, "***"),
                    severity=Severity.LOW if local else None,
                )
            for name, const in _secret_assignments(module):
                value = str(const.value)
                if id(const) in reported or not is_secret_name(name) or is_placeholder(value):
                    continue
                if len(value) < 6 or " " in value.strip():
                    continue  # not a credential: a label, a header name, a sentence
                reported.add(id(const))
                env = non_production(module.path, _class_at(module.tree, const.lineno))
                yield self.finding(
                    ctx,
                    module.path,
                    const.lineno,
                    f"`{name}` has a hard-coded secret value"
                    + (" (in development/test settings)" if env else ""),
                    evidence=ctx.line_text(module.path, const.lineno).replace(value, "***"),
                    severity=Severity.LOW if env else None,
                )


_APP_OR_CORS_CALLS = frozenset({"FastAPI", "CORSMiddleware", "add_middleware"})


def _names_app_or_cors(text: str) -> bool:
    """The calls SEC002 reads are named in the module's (lower-case) text."""
    return any(name.lower() in text for name in _APP_OR_CORS_CALLS)


def _kwargs(call: ast.Call) -> dict[str, ast.expr]:
    return {k.arg: k.value for k in call.keywords if k.arg}


def _is_true(expr: ast.expr | None) -> bool:
    return isinstance(expr, ast.Constant) and expr.value is True


def _has_star(expr: ast.expr | None) -> bool:
    if isinstance(expr, _LIST_TUPLE_SET):
        return any(isinstance(e, ast.Constant) and e.value == "*" for e in expr.elts)
    return isinstance(expr, ast.Constant) and expr.value == "*"


class InsecureConfig(Rule):
    id = "SEC002"
    name = "insecure-app-config"
    category = "security.insecure-config"
    what = """
        CORS that allows every origin (`allow_origins=["*"]` or `allow_origin_regex=".*"`)
        together with `allow_credentials=True`; `FastAPI(debug=True)`; a settings field
        `debug` whose default is `True`.
    """
    why = """
        Any web site can then make credentialed requests on behalf of a logged-in user
        (browsers refuse `*` with credentials, so such setups end up reflecting every
        origin). Debug mode returns tracebacks with source and local values to the client.
    """
    fix = """
        List the allowed origins explicitly (from settings); keep debug off by default and
        enable it only through the environment of a development machine.
    """
    bad: ClassVar[list[Example]] = [
        """
        from fastapi import FastAPI
        from fastapi.middleware.cors import CORSMiddleware

        app = FastAPI(debug=True)  # expect
        app.add_middleware(  # expect
            CORSMiddleware,
            allow_origins=["*"],
            allow_credentials=True,
        )
        """,
        {
            "app/settings.py": """
                from pydantic_settings import BaseSettings

                class Settings(BaseSettings):
                    debug: bool = True  # expect
            """
        },
    ]
    good: ClassVar[list[Example]] = [
        """
        from fastapi import FastAPI
        from fastapi.middleware.cors import CORSMiddleware
        from pydantic_settings import BaseSettings

        class Settings(BaseSettings):
            debug: bool = False
            cors_origins: list[str] = ["https://shop.example"]

        settings = Settings()
        app = FastAPI(debug=settings.debug)
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
        )
        public = FastAPI()
        public.add_middleware(CORSMiddleware, allow_origins=["*"])
        """,
        {
            "app/core/settings/development.py": """
                from app.core.settings.base import AppSettings

                class DevAppSettings(AppSettings):
                    debug: bool = True
            """,
            "app/core/settings/base.py": """
                from pydantic_settings import BaseSettings

                class AppSettings(BaseSettings):
                    debug: bool = False
            """,
        },
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        for module in ctx.index.source_modules_where("SEC002", _names_app_or_cors):
            for node in module.calls_named(_APP_OR_CORS_CALLS):
                if not isinstance(node, ast.Call):
                    continue
                name = (dotted(node.func) or "").rsplit(".", 1)[-1]
                if name not in _APP_OR_CORS_CALLS:
                    continue
                kw = _kwargs(node)
                if name == "FastAPI" and _is_true(kw.get("debug")):
                    yield self.finding(
                        ctx, module.path, node.lineno, "FastAPI runs with `debug=True`"
                    )
                cors = name == "CORSMiddleware" or (
                    name == "add_middleware"
                    and bool(node.args)
                    and (dotted(node.args[0]) or "").endswith("CORSMiddleware")
                )
                if not cors or not _is_true(kw.get("allow_credentials")):
                    continue
                regex = kw.get("allow_origin_regex")
                any_origin = _has_star(kw.get("allow_origins")) or (
                    isinstance(regex, ast.Constant) and regex.value in {".*", "^.*$", ".+"}
                )
                if any_origin:
                    yield self.finding(
                        ctx,
                        module.path,
                        node.lineno,
                        "CORS allows every origin together with credentials",
                    )
        for settings in ctx.index.settings.values():
            if ctx.index.modules[settings.cls.path].is_test:
                continue
            if non_production(settings.cls.path, settings.cls.name):
                continue  # `DevSettings.debug = True` is what a development profile is for
            for field_name, default in settings.fields.items():
                if field_name.lower() == "debug" and default is True:
                    yield self.finding(
                        ctx,
                        settings.cls.path,
                        settings.field_lines.get(field_name),
                        f"{settings.cls.name}.{field_name} defaults to True: debug is on "
                        "unless the environment turns it off",
                    )
