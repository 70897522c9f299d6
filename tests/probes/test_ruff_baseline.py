"""Without a Ruff configuration of its own, a project is linted with Ruff's classic defaults."""

from __future__ import annotations

from pathlib import Path

from fastapi_review.index.project import build_index
from fastapi_review.probes import run_gates
from tests.probes.conftest import workspace

SOURCE = """\
import os
from typing import Optional

value: Optional[int] = None
try:
    pass
except Exception:
    pass
"""


def _lint(tmp_path: Path, pyproject: str) -> tuple[set[str], str]:
    (tmp_path / "mod.py").write_text(SOURCE, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    run = run_gates(workspace(tmp_path), build_index(tmp_path), only=["ruff"])
    gate = run.gates["ruff"]
    return {e["code"] for e in gate.details["errors"]}, str(gate.details["rules"])


def test_unconfigured_project_gets_the_classic_defaults(tmp_path: Path) -> None:
    codes, rules = _lint(tmp_path, '[project]\nname = "x"\n')
    # only the unused import (F401); newer Ruff defaults (UP045, BLE001, S110, I001) stay out
    assert codes == {"F401"}
    assert "classic defaults E4,E7,E9,F" in rules


def test_project_configuration_is_honoured(tmp_path: Path) -> None:
    codes, rules = _lint(tmp_path, '[tool.ruff.lint]\nselect = ["F", "UP"]\n')
    assert codes == {"F401", "UP045"}
    assert rules == "the project's Ruff configuration"
