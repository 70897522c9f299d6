"""Rules: the tool's own analysis. One module per area, one class per rule.

Every module below this package is imported by `all_rules()`, so adding a rule is
adding a class in the right area module (or a new module) — nothing else to touch.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from fastapi_review.rules.base import Context, Example, Rule


@cache
def all_rules() -> dict[str, type[Rule]]:
    """Every registered rule by id, in id order."""
    for info in pkgutil.walk_packages(__path__, prefix=f"{__name__}."):
        if info.name.rsplit(".", 1)[-1] in {"base", "engine"}:
            continue
        importlib.import_module(info.name)
    return dict(sorted(Rule.registry.items()))


__all__ = ["Context", "Example", "Rule", "all_rules"]
