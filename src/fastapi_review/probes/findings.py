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
- Ruff S-codes whose Bandit twin is a LOW-severity check (S101 assert, S110/S112 try-except-pass,
  S311 random, S403/S404 imports, S603/S607 subprocess arguments) and S104/B104 (binding
  0.0.0.0, what a service in a container does) are plain lint / not reported, as Bandit's own
  LOW issues are not reported.
- Bandit secrets: a line the project marked `# noqa: S105` (Ruff's twin code) or bare `# noqa`
  is suppressed; a "password" literal with whitespace is a message, not a credential.
- Security findings of the tools in test code (asserts, fixture passwords) are dropped; so is a
  line-less tool finding that repeats one of ours about the same subject in the same file.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from fastapi_review.categories import category
from fastapi_review.index.symbols import is_test_path
from fastapi_review.models import Finding, Severity

MAX_PER_GATE = 25
SOURCE = "gate"

MYPY_NOISE = {"import-untyped", "import-not-found"}
BANDIT_SECRETS = {"B105", "B106", "B107"}
_LEVEL = {"UNDEFINED": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3}
# Ruff flake8-bandit codes whose Bandit check has LOW severity: style, not a vulnerability
RUFF_LOW_SECURITY = {"S101", "S110", "S112", "S311", "S403", "S404", "S603", "S607", "S104"}
# Bandit checks that are noise for a containerised web service: binding 0.0.0.0 is how a
# service in a container accepts traffic (and a host list holding "0.0.0.0" binds nothing)
BANDIT_NOT_REPORTED = {"B104"}
FASTAPI_PARAM_CALLS = {
    "Depends",
    "Security",
    "Query",
    "Path",
    "Body",
    "Header",
    "Cookie",
    "Form",
    "File",
}
_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.I)
_QUOTED = re.compile(r":\s*'(?P<value>.*)'\s*$", re.S)


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
    if code in RUFF_LOW_SECURITY:
        return "quality.lint"
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


def _source_line(item: dict[str, Any]) -> str:
    """The reported line from the code excerpt Bandit includes (`"17 x = 1\\n18 ..."`)."""
    prefix = f"{item.get('line_number')} "
    for line in str(item.get("code") or "").splitlines():
        if line.startswith(prefix):
            return line[len(prefix) :]
    return ""


def noqa_covers(line: str, test_id: str) -> bool:
    """Whether `# noqa` (bare) or `# noqa: S105` (Ruff's code for Bandit's B105) is on the line."""
    m = _NOQA.search(line)
    if m is None:
        return False
    codes = m.group("codes")
    if codes is None:
        return True
    twin = "S" + test_id[1:]
    return any(c.upper() in {twin, test_id} for c in re.split(r"[\s,]+", codes))


def _not_a_credential(item: dict[str, Any]) -> bool:
    """A "hardcoded password" whose literal is a sentence or empty: a message, not a secret."""
    m = _QUOTED.search(str(item.get("issue_text", "")))
    if m is None:
        return False
    value = m.group("value").strip()
    return not value or any(ch.isspace() for ch in value)


def bandit_reported(item: dict[str, Any]) -> bool:
    sev = _LEVEL.get(str(item.get("issue_severity", "")).upper(), 0)
    conf = _LEVEL.get(str(item.get("issue_confidence", "")).upper(), 0)
    test_id = str(item.get("test_id"))
    if test_id in BANDIT_NOT_REPORTED or noqa_covers(_source_line(item), test_id):
        return False
    if test_id in BANDIT_SECRETS:
        return conf >= 2 and not _not_a_credential(item)
    return sev >= 2 and conf >= 2


def fastapi_idiom(item: dict[str, Any]) -> bool:
    """B008 on a FastAPI parameter function (`x: T = Depends(dep)`): how FastAPI declares
    dependencies and parameters, not a shared mutable default."""
    if str(item.get("code")) != "B008":
        return False
    m = re.search(r"function call `([\w.]+)`", str(item.get("message", "")))
    return m is not None and m.group(1).rsplit(".", 1)[-1] in FASTAPI_PARAM_CALLS


def lint_summary(items: list[dict[str, Any]], evidence_of: dict[tuple[str, int], str]) -> Finding:
    """One quality.lint finding for all plain lint errors of a run (LOW when every one is a
    FastAPI idiom such as `Depends()` in a default)."""
    real = [i for i in items if not fastapi_idiom(i)]
    if not real:
        only = tool_finding(
            "ruff:B008",
            "quality.lint",
            items[0]["path"],
            items[0]["line"],
            f"Ruff reports only B008 on FastAPI parameter defaults ({len(items)} x), "
            "which is how FastAPI declares dependencies",
            fix="Configure `lint.flake8-bugbear.extend-immutable-calls` or use `Annotated[...]`.",
        )
        only.severity = Severity.LOW
        return only
    idioms = len(items) - len(real)
    items = real
    codes = Counter(str(i["code"]) for i in items)
    files = {i["path"] for i in items}
    first = min(items, key=lambda i: (i["path"], i["line"]))
    listed = ", ".join(f"{c} x{n}" for c, n in codes.most_common(8))
    more = "" if len(codes) <= 8 else f" and {len(codes) - 8} more codes"
    if idioms:
        more += f" (not counted: {idioms} B008 on FastAPI parameter defaults)"
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


def _subject(message: str) -> str:
    """The first word of a message (`python 3.9 is below ...` -> `python`)."""
    words = message.split(maxsplit=1)
    return words[0].strip("`'\".,:").lower() if words else ""


def _test_security(f: Finding) -> bool:
    """A tool's security finding in test code: asserts, fixture passwords, test tokens."""
    return f.category.startswith("security.") and bool(f.path) and is_test_path(f.path or "")


def dedupe(tool_findings: Iterable[Finding], own_findings: Iterable[Finding]) -> list[Finding]:
    """Tool findings minus those at the same path, line and category as one of ours (ours win),
    minus repeats among the tools themselves (the first tool's finding is kept), minus
    security findings in test code, and minus line-less tool findings about the same subject
    as one of ours in the same file (`python 3.9 is below ...` twice)."""
    own = list(own_findings)
    seen: set[tuple[str | None, int | None, str]] = {
        (f.path, f.line, f.category) for f in own if f.path and f.line
    }
    subjects = {(f.path, f.category, _subject(f.message)) for f in own if f.path}
    out: list[Finding] = []
    for f in tool_findings:
        key = (f.path, f.line, f.category)
        if f.path and f.line and key in seen:
            continue
        if _test_security(f):
            continue
        if f.path and not f.line and (f.path, f.category, _subject(f.message)) in subjects:
            continue
        if f.path and f.line:
            seen.add(key)
        out.append(f)
    return out
