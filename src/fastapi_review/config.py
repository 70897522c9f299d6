"""Configuration from `[tool.fastapi-review]` of the reviewed project's pyproject.toml.

Keys are written in kebab-case (`coverage-overall`, `blocking-calls`); the snake_case
spelling (`coverage_overall`) is accepted too, and giving both spellings of one key is an
error. Two tables hold names chosen by the user and are taken as written: the layer names
under `layers` and the rule ids under `severity`. Every other unknown key, and every bad
value, is a usage error of one line that names the key (exit status 2).

    [tool.fastapi-review]
    design = "docs/tech-design.md"
    exclude = ["migrations/**"]
    ignore = ["DOC"]                      # rule ids or id prefixes
    severity = { API003 = "LOW" }         # per-rule severity override
    blocking-calls = ["legacy.client.fetch"]

    [tool.fastapi-review.thresholds]
    coverage-overall = 85
    coverage-service = 95

    [tool.fastapi-review.timeouts]
    default = 300
    tests = 900
"""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fastapi_review.errors import UsageError
from fastapi_review.models import Severity

DEFAULT_LAYERS: dict[str, list[str]] = {
    "router": [
        "**/routes/**",
        "**/routers/**",
        "**/endpoints/**",
        "**/api/**",
        "**/routes.py",
        "**/routers.py",
        "**/api.py",
        "**/views.py",
    ],
    "service": ["**/services/**", "**/domain/**", "**/service.py", "**/services.py"],
    "repository": [
        "**/repositories/**",
        "**/repository/**",
        "**/crud/**",
        "**/db/**",
        "**/crud.py",
        "**/repository.py",
        "**/repositories.py",
    ],
    "kafka": [
        "**/kafka/**",
        "**/events/**",
        "**/messaging/**",
        "**/consumers/**",
        "**/producers/**",
        "**/consumer.py",
        "**/producer.py",
        "**/events.py",
    ],
    "models": ["**/models/**", "**/models.py"],
    "schemas": ["**/schemas/**", "**/schemas.py"],
    "core": ["**/core/**", "**/config.py", "**/settings.py", "**/main.py"],
}

# tables whose keys are user-chosen names, not configuration keys
_FREE_KEYS = {"layers", "severity"}
TABLE = "[tool.fastapi-review]"


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    coverage_overall: float = Field(85.0, ge=0, le=100)
    coverage_service: float = Field(95.0, ge=0, le=100)
    diff_coverage: float = Field(80.0, ge=0, le=100)
    latency_ms: float | None = Field(None, gt=0)
    max_function_lines: int = Field(80, gt=0)
    max_complexity: int = Field(15, gt=0)


class GateTimeouts(BaseModel):
    """Time limits in seconds: `default` for every gate, `tests` for the test suite, and an
    optional limit per gate by its name (ruff, format, mypy, bandit, dependencies, precommit,
    metadata)."""

    model_config = ConfigDict(extra="forbid")

    default: float = Field(300.0, gt=0)
    tests: float = Field(600.0, gt=0)
    ruff: float | None = Field(None, gt=0)
    format: float | None = Field(None, gt=0)
    mypy: float | None = Field(None, gt=0)
    bandit: float | None = Field(None, gt=0)
    dependencies: float | None = Field(None, gt=0)
    precommit: float | None = Field(None, gt=0)
    metadata: float | None = Field(None, gt=0)

    def for_gate(self, gate: str) -> float:
        """The limit of one gate: its own, else `tests` for the test suite, else `default`."""
        own = getattr(self, gate, None) if gate in type(self).model_fields else None
        if isinstance(own, int | float):
            return float(own)
        return self.default


class Config(BaseModel):
    """Validated `[tool.fastapi-review]` table; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")

    design: str | None = None
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    layers: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_LAYERS))
    thresholds: Thresholds = Field(default_factory=lambda: Thresholds())
    select: list[str] = Field(default_factory=list)
    ignore: list[str] = Field(default_factory=list)
    severity: dict[str, Severity] = Field(default_factory=dict)
    blocking_calls: list[str] = Field(default_factory=list)
    timeouts: GateTimeouts = Field(default_factory=lambda: GateTimeouts())
    cache_dir: str | None = None

    @field_validator("layers")
    @classmethod
    def _merge_layers(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        merged = dict(DEFAULT_LAYERS)
        merged.update(value)
        return merged

    @field_validator("select", "ignore", mode="before")
    @classmethod
    def _upper_ids(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [v.strip().upper() if isinstance(v, str) else v for v in value]
        return value

    @field_validator("severity", mode="before")
    @classmethod
    def _upper_severity(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                str(k).strip().upper(): v.strip().upper() if isinstance(v, str) else v
                for k, v in value.items()
            }
        return value

    def rule_enabled(self, rule_id: str) -> bool:
        rid = rule_id.upper()
        if any(rid.startswith(p) for p in self.ignore):
            return False
        return not self.select or any(rid.startswith(p) for p in self.select)


def _kebab(key: str) -> str:
    return key.replace("_", "-")


def _normalise_keys(data: Any, where: str = "") -> Any:
    """kebab-case and snake_case keys -> the model's snake_case; both spellings is an error."""
    if not isinstance(data, dict):
        return data
    out: dict[str, Any] = {}
    for key, value in data.items():
        k = str(key).replace("-", "_")
        if k in out:
            raise _KeyProblem(f"{where}{_kebab(k)}", "given twice (kebab-case and snake_case)")
        out[k] = value if k in _FREE_KEYS else _normalise_keys(value, f"{where}{_kebab(k)}.")
    return out


class _KeyProblem(Exception):
    def __init__(self, key: str, problem: str) -> None:
        super().__init__(key, problem)
        self.key = key
        self.problem = problem


def _known_keys(model: type[BaseModel]) -> list[str]:
    return [_kebab(name) for name in model.model_fields]


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel]:
    """The model whose field an error location's last key names."""
    model: type[BaseModel] = Config
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        ann = field.annotation if field is not None else None
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
        else:
            break
    return model


def _loc_text(loc: tuple[int | str, ...]) -> str:
    out = ""
    free = False
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        name = str(part) if free else _kebab(str(part))
        out += f".{name}" if out else name
        free = str(part) in _FREE_KEYS and not free
    return out


def _describe(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    key = _loc_text(loc)
    if err["type"] == "extra_forbidden":
        known = _known_keys(_model_at(loc))
        last = _kebab(str(loc[-1])) if loc else ""
        close = difflib.get_close_matches(last, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(known)}"
        return key, f"unknown key{hint}"
    msg = str(err["msg"])
    if err["type"] == "enum":
        msg = "not a severity (BLOCKER, CRITICAL, HIGH, MEDIUM, LOW)"
    return key, msg[0].lower() + msg[1:] if msg else "invalid value"


def _check_rule_ids(config: Config) -> tuple[str, str] | None:
    """Rule ids in select/ignore/severity must name rules (a tool's code like `mypy:x` is free)."""
    from fastapi_review.rules import all_rules  # late: the rules import this module

    ids = list(all_rules())
    for key, prefixes, exact in (
        ("select", config.select, False),
        ("ignore", config.ignore, False),
        ("severity", list(config.severity), True),
    ):
        for p in prefixes:
            if ":" in p:
                continue
            ok = p in ids if exact else any(i.startswith(p) for i in ids)
            if not ok:
                close = difflib.get_close_matches(p, ids, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                where = f"severity.{p}" if exact else key
                return where, f"unknown rule id {p!r}{hint} (see `fastapi-review rules`)"
    return None


def read_table(source: Path, explicit: bool) -> tuple[dict[str, Any], str] | None:
    """The raw configuration table of a TOML file and how errors should name it."""
    try:
        data = tomllib.loads(source.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        if explicit:
            raise UsageError(f"{source}: not valid TOML: {exc}") from None
        # a broken pyproject of the reviewed project is reported by the metadata gate
        return None
    except OSError as exc:
        raise UsageError(f"{source}: cannot read: {exc.strerror or exc}") from None
    tool = data.get("tool")
    if isinstance(tool, dict):
        table = tool.get("fastapi-review", tool.get("fastapi_review", {}))
        label = TABLE
    elif explicit:
        # a file of its own holds the keys at top level
        table, label = data, ""
    else:
        table, label = {}, TABLE
    if not isinstance(table, dict):
        raise UsageError(f"{source}: {TABLE} must be a table")
    return table, label


def load_config(project_root: Path, config_file: Path | None = None) -> Config:
    """Read and validate the configuration; raise UsageError with one clear line on a bad value.

    `config_file` (from `--config`) replaces the project's pyproject.toml; it may be a
    pyproject-style file with a `[tool.fastapi-review]` table or hold the keys at top level.
    """
    if config_file is not None and not config_file.is_file():
        raise UsageError(f"config file not found: {config_file}")
    source = config_file or project_root / "pyproject.toml"
    if not source.is_file():
        return Config()
    read = read_table(source, explicit=config_file is not None)
    if read is None:
        return Config()
    table, label = read
    prefix = f"{source}: {label} " if label else f"{source}: "
    try:
        config = Config.model_validate(_normalise_keys(table))
    except _KeyProblem as exc:
        raise UsageError(f"{prefix}{exc.key}: {exc.problem}") from None
    except ValidationError as exc:
        key, msg = _describe(exc)
        raise UsageError(f"{prefix}{key}: {msg}") from None
    bad = _check_rule_ids(config)
    if bad is not None:
        raise UsageError(f"{prefix}{bad[0]}: {bad[1]}")
    return config
