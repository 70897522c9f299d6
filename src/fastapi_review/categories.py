"""The finding categories of the review standard (data/categories.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from fastapi_review.models import Severity


@dataclass(frozen=True)
class Category:
    id: str
    group: str
    severity: Severity
    what: str


@cache
def categories() -> dict[str, Category]:
    """Every category by id, with its default severity."""
    text = resources.files("fastapi_review").joinpath("data/categories.yaml").read_text("utf-8")
    # libyaml's parser when PyYAML has it: ten times faster on this file, which every
    # review reads (the same safe constructors either way)
    raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    out: dict[str, Category] = {}
    for group, entries in raw.items():
        for cid, spec in entries.items():
            out[cid] = Category(cid, group, Severity(spec["severity"]), spec["what"])
    return out


def category(cid: str) -> Category:
    try:
        return categories()[cid]
    except KeyError:
        raise KeyError(f"unknown finding category {cid!r}") from None
