"""What every gate gets: the project, its environment and configuration, a scratch directory."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from fastapi_review.config import Config
from fastapi_review.models import CoverageMetrics, Finding, GateResult
from fastapi_review.probes.env import Environment
from fastapi_review.probes.projectconf import ProjectConf
from fastapi_review.workspace import Change


@dataclass
class GateContext:
    root: Path
    env: Environment
    conf: ProjectConf
    config: Config
    change: Change
    scratch: Path  # a temporary directory outside the reviewed tree
    run_tests: bool = True
    cache_dir: Path | None = None  # where mypy may keep its cache between runs

    def timeout(self, gate: str) -> float:
        return self.config.timeouts.for_gate(gate)

    def rel(self, filename: str) -> str:
        """A tool's file name as a path relative to the project root (posix)."""
        p = Path(filename)
        if p.is_absolute():
            try:
                return p.resolve().relative_to(self.root.resolve()).as_posix()
            except ValueError:
                return p.as_posix()
        text = p.as_posix()
        return text[2:] if text.startswith("./") else text


@dataclass
class GateOutcome:
    result: GateResult
    findings: list[Finding] = field(default_factory=list)
    coverage: CoverageMetrics | None = None


def tool(module: str) -> list[str]:
    """A gate tool run with the review tool's own interpreter (`python -m ruff`, ...)."""
    return [sys.executable, "-m", module]
