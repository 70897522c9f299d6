"""Static test-inventory rules (TST): which kinds of tests exist, and how well they are written."""

from __future__ import annotations

from typing import Any

from fastapi_review.config import Config
from fastapi_review.index.project import ProjectIndex


def test_inventory(index: ProjectIndex, config: Config) -> dict[str, Any]:
    return {"tests": len(index.tests)}
