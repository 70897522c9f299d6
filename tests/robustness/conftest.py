"""Helpers of the robustness suite: a private cache, a copy of the mini project, reviews."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

from fastapi_review.models import Review
from fastapi_review.pipeline import run_review
from fastapi_review.workspace import open_workspace

MINI = Path(__file__).parent / "fixtures" / "mini"


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never touch the user's cache directory from the test suite."""
    home = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    monkeypatch.delenv("FASTAPI_REVIEW_NO_CACHE", raising=False)
    return home / "fastapi-review"


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    """A fresh copy of the mini project (one endpoint, a pure module, two passing tests)."""
    dest = tmp_path / "mini"
    shutil.copytree(MINI, dest)
    return dest


def review(root: Path, gates: Iterable[str] = (), run_tests: bool = False) -> Review:
    """A review in this process, by default without any gate (the static phase only)."""
    ws = open_workspace(root, run_tests=run_tests, python=Path(sys.executable))
    return run_review(ws, gates=list(gates))


def skipped(result: Review) -> dict[str, str]:
    return {s.path: s.reason for s in result.skipped}


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def cli(
    *args: str, cwd: Path | None = None, timeout: float = 240, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fastapi_review", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
