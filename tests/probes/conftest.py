"""Fixture projects for the gate tests: copied to a temp dir so the repo's copies stay untouched."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from fastapi_review.config import Config, GateTimeouts
from fastapi_review.workspace import Change, Workspace

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gates"


def snapshot(root: Path) -> dict[str, float]:
    return {p.relative_to(root).as_posix(): p.stat().st_mtime for p in root.rglob("*")}


@pytest.fixture
def project(tmp_path: Path) -> Callable[[str], Path]:
    def copy(name: str) -> Path:
        dest = tmp_path / name
        shutil.copytree(FIXTURES / name, dest)
        return dest

    return copy


def workspace(
    root: Path,
    *,
    tests_timeout: float = 120.0,
    run_tests: bool = True,
    change: Change | None = None,
    python: Path | None = None,
) -> Workspace:
    return Workspace(
        root=root,
        design=None,
        config=Config(timeouts=GateTimeouts(default=120.0, tests=tests_timeout)),
        change=change or Change(git=False),
        python=python or Path(sys.executable),
        run_tests=run_tests,
    )
