"""Turning tool output into findings under the shared categories, and de-duplicating them.

Policy (precision first):
- mypy: one finding per error (types.mypy, HIGH), at most MAX_PER_GATE, then one summary finding.
  Environment noise (`import-untyped`, `import-not-found`) stays in the gate details only.
- ruff: codes that map to a sharper category (S -> security.*, ASYNC2xx -> async.blocking-io,
  RUF006 -> async.fire-and-forget-task) are reported per line. Plain lint errors are summarised
  in ONE quality.lint finding (MEDIUM) per run that names the count and the codes, at the first
  error; every error is listed in the gate details. A project-wide style problem is one problem.
- formatter: one quality.format finding (LOW) per file that would be reformatted.
- bandit: per line, for issues of MEDIUM+ severity and MEDIUM+ confidence, plus hardcoded
  password checks (B105/B106/B107, LOW severity in bandit) at MEDIUM+ confidence.
- pip-audit: one security.vulnerable-dependency finding per vulnerable package.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from fastapi_review.categories import category
from fastapi_review.models import Finding

MAX_PER_GATE = 25
SOURCE = "gate"

MYPY_NOISE = {"import-untyped", "import-not-found"}
BANDIT_SECRETS = {"B105", "B106", "B107"}
_LEVEL = {"UNDEFINED": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3}


def tool_finding(
    rule: str,
    category_id: str,
    path: str | None,
    line: int | None,
    message: str,
    evidence: str = "",
    fix: str = "",
) -> Finding:
    return Finding(
        rule=rule,
        category=category_id,
        severity=category(category_id).severity,
        path=path,
        line=line,
        message=message,
        evidence=evidence,
        fix=fix,
        source=SOURCE,
    )


def ruff_category(code: str) -> str:
    if code in {"S608"}:
        return "security.injection"
    if code in {"S602", "S604", "S605", "S609"}:
        return "security.injection"
    if code in {"S105", "S106", "S107"}:
        return "security.hardcoded-secret"
    if code.startswith("S") and code[1:].isdigit():
        return "security.insecure-config"
    if code.startswith("ASYNC2"):
        return "async.blocking-io"
    if code == "RUF006":
        return "async.fire-and-forget-task"
    return "quality.lint"


def bandit_category(test_id: str) -> str:
    if test_id == "B608":
        return "security.injection"
    if test_id in BANDIT_SECRETS:
        return "security.hardcoded-secret"
    return "security.insecure-config"


def bandit_reported(item: dict[str, Any]) -> bool:
    sev = _LEVEL.get(str(item.get("issue_severity", "")).upper(), 0)
    conf = _LEVEL.get(str(item.get("issue_confidence", "")).upper(), 0)
    if str(item.get("test_id")) in BANDIT_SECRETS:
        return conf >= 2
    return sev >= 2 and conf >= 2


def lint_summary(items: list[dict[str, Any]], evidence_of: dict[tuple[str, int], str]) -> Finding:
    """One quality.lint finding for all plain lint errors of a run."""
    codes = Counter(str(i["code"]) for i in items)
    files = {i["path"] for i in items}
    first = min(items, key=lambda i: (i["path"], i["line"]))
    listed = ", ".join(f"{c} x{n}" for c, n in codes.most_common(8))
    more = "" if len(codes) <= 8 else f" and {len(codes) - 8} more codes"
    return tool_finding(
        f"ruff:{first['code']}" if len(codes) == 1 else "ruff",
        "quality.lint",
        first["path"],
        first["line"],
        f"Ruff reports {len(items)} lint error(s) in {len(files)} file(s): {listed}{more}",
        evidence=f"{first['path']}:{first['line']}: {first['code']} {first['message']}"
        + (f" | {evidence_of.get((first['path'], first['line']), '')}" if evidence_of else ""),
        fix="Run `ruff check` and fix the listed errors (the gate details list every one).",
    )


def dedupe(tool_findings: Iterable[Finding], own_findings: Iterable[Finding]) -> list[Finding]:
    """Tool findings minus those at the same path, line and category as one of ours (ours win),
    and minus repeats among the tools themselves (the first tool's finding is kept)."""
    seen: set[tuple[str | None, int | None, str]] = {
        (f.path, f.line, f.category) for f in own_findings if f.path and f.line
    }
    out: list[Finding] = []
    for f in tool_findings:
        key = (f.path, f.line, f.category)
        if f.path and f.line and key in seen:
            continue
        if f.path and f.line:
            seen.add(key)
        out.append(f)
    return out
