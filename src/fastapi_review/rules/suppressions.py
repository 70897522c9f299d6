"""Findings about inline suppressions (`# fastapi-review: ignore[RULE] reason`).

These rules run after every other finding is known (stage "suppressions"): the pipeline
applies the suppressions and reports the ones without a reason or without an effect.
See `fastapi_review.suppressions` for the syntax.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from fastapi_review.models import Finding, Severity
from fastapi_review.rules.base import Context, Example, Rule
from fastapi_review.suppressions import NO_REASON_ID, UNUSED_ID, apply_suppressions


def _run_with_suppressions(ctx: Context) -> list[Finding]:
    from fastapi_review.rules.engine import run_rules  # late: the engine imports all rules

    own = run_rules(ctx).findings
    # gates did not run here, and neither did the tracer: only the rules' suppressions count
    return apply_suppressions(own, ctx.index, ctx.config, gates=None, stages=("rules",))


_ROUTE = """
    from fastapi import APIRouter
    from pydantic import BaseModel

    router = APIRouter()

    class Item(BaseModel):
        id: int

"""


class SuppressionWithoutReason(Rule):
    id = NO_REASON_ID
    name = "suppression-without-reason"
    category = "quality.lint"
    severity = Severity.LOW
    stage = "suppressions"
    what = """
        A `# fastapi-review: ignore[RULE]` comment that gives no reason after the bracket.
        Such a comment silences nothing: the finding it names stays active.
    """
    why = """
        A suppression is a decision that a finding does not apply here; without the reason
        the next reader cannot tell a considered exception from a silenced defect, and the
        review cannot show why a finding was dropped.
    """
    fix = "Write why the finding does not apply: `# fastapi-review: ignore[RULE] the reason`."
    bad: ClassVar[list[Example]] = [
        _ROUTE
        + """
    @router.get("/items/{item_id}")  # fastapi-review: ignore[API001]  # expect
    async def get_item(item_id: int):
        return {"id": item_id}
    """
    ]
    good: ClassVar[list[Example]] = [
        _ROUTE
        + """
    @router.get("/items/{item_id}")  # fastapi-review: ignore[API001] old clients read free-form JSON
    async def get_item(item_id: int):
        return {"id": item_id}
    """
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        yield from (f for f in _run_with_suppressions(ctx) if f.rule == self.id)


class UnusedSuppression(Rule):
    id = UNUSED_ID
    name = "unused-suppression"
    category = "quality.lint"
    severity = Severity.LOW
    stage = "suppressions"
    what = """
        A `# fastapi-review: ignore[RULE] reason` comment that silences nothing: the rule
        it names reports no finding at that line (the code was fixed or moved), or the id
        names no rule of the tool or of a gate (`mypy:arg-type`, `bandit:B105`). A rule
        that did not run (disabled, or its gate could not be measured) is not counted.
    """
    why = """
        Stale suppressions hide the next real finding at that line and mislead readers
        about a problem that no longer exists; a misspelt id silences nothing at all.
    """
    fix = "Remove the suppression, or name the rule that reports this line."
    bad: ClassVar[list[Example]] = [
        _ROUTE
        + """
    # fastapi-review: ignore[API001] documented in the wiki  # expect
    @router.get("/items/{item_id}", response_model=Item)
    async def get_item(item_id: int):
        return {"id": item_id}
    """,
        _ROUTE
        + """
    @router.get("/items/{item_id}")  # fastapi-review: ignore[API001, ZZZ999] legacy  # expect
    async def get_item(item_id: int):
        return {"id": item_id}
    """,
    ]
    good: ClassVar[list[Example]] = [
        _ROUTE
        + """
    # fastapi-review: ignore[API001] old clients read free-form JSON
    @router.get("/items/{item_id}")
    async def get_item(item_id: int):
        return {"id": item_id}

    text = "# fastapi-review: ignore[API001] inside a string is no comment"
    """
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        yield from (f for f in _run_with_suppressions(ctx) if f.rule == self.id)
