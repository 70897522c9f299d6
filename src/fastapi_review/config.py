"""Configuration from `[tool.fastapi-review]` of the reviewed project's pyproject.toml."""

from __future__ import annotations

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


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    coverage_overall: float = Field(85.0, ge=0, le=100)
    coverage_service: float = Field(95.0, ge=0, le=100)
    diff_coverage: float = Field(80.0, ge=0, le=100)
    latency_ms: float | None = Field(None, gt=0)
    max_function_lines: int = Field(80, gt=0)
    max_complexity: int = Field(15, gt=0)


class GateTimeouts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default: float = Field(300.0, gt=0)
    tests: float = Field(600.0, gt=0)


class Config(BaseModel):
    """Validated `[tool.fastapi-review]` table; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    design: str | None = None
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    layers: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_LAYERS))
    thresholds: Thresholds = Field(default_factory=lambda: Thresholds())
    select: list[str] = Field(default_factory=list)
    ignore: list[str] = Field(default_factory=list)
    severity: dict[str, Severity] = Field(default_factory=dict)
    blocking_calls: list[str] = Field(default_factory=list, alias="blocking-calls")
    timeouts: GateTimeouts = Field(default_factory=lambda: GateTimeouts())
    cache_dir: str | None = Field(None, alias="cache-dir")

    @field_validator("layers")
    @classmethod
    def _merge_layers(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        merged = dict(DEFAULT_LAYERS)
        merged.update(value)
        return merged

    def rule_enabled(self, rule_id: str) -> bool:
        if any(rule_id.startswith(p) for p in self.ignore):
            return False
        return not self.select or any(rule_id.startswith(p) for p in self.select)


def _normalise_keys(data: Any) -> Any:
    """TOML users write kebab-case; the model uses snake_case."""
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            k = str(key)
            if k in {"blocking-calls", "cache-dir"}:
                out[k] = value
                continue
            out[k.replace("-", "_")] = value if k == "layers" else _normalise_keys(value)
        return out
    return data


def load_config(project_root: Path, config_file: Path | None = None) -> Config:
    """Read and validate the configuration; raise UsageError with one clear line on a bad value."""
    source = config_file or project_root / "pyproject.toml"
    if config_file is not None and not config_file.is_file():
        raise UsageError(f"config file not found: {config_file}")
    if not source.is_file():
        return Config()
    try:
        data = tomllib.loads(source.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        if config_file is not None:
            raise UsageError(f"{source}: not valid TOML: {exc}") from None
        # a broken pyproject of the reviewed project is reported by the metadata gate
        return Config()
    table = data.get("tool", {}).get("fastapi-review", {}) if config_file is None else data
    if config_file is not None and "tool" in data:
        table = data.get("tool", {}).get("fastapi-review", table)
    try:
        return Config.model_validate(_normalise_keys(table))
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise UsageError(
            f"{source}: [tool.fastapi-review] {loc}: {err['msg']}".replace("  ", " ")
        ) from None
