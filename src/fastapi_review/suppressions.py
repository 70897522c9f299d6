"""Inline suppressions: `# fastapi-review: ignore[RULE, ...] reason`.

A suppression silences the findings of the named rules at one line:

- written after code, it covers its own line:
      resp = requests.get(url)  # fastapi-review: ignore[ASY001] startup only, before the loop runs
- written on a line of its own, it covers the next line that is neither blank nor a comment:
      # fastapi-review: ignore[API001] legacy clients parse free-form JSON
      @router.get("/legacy")

Rule ids are matched without regard to case; a gate's finding is named by its rule as the
report shows it (`mypy:arg-type`, `bandit:B105`). The reason is the text after `]`, up to the
end of the line or the next `#`; it is required. A suppressed finding stays in the report
with `suppressed: true` and its reason, and no longer counts for the verdict or the exit code.

The suppressions are checked themselves: one without a reason silences nothing and is
reported (SUP001); one that names a rule with no finding at its line, or no rule at all, is
reported as unused (SUP002) \u2014 but only for rules that ran, so a `mypy:` suppression is not
called unused when mypy could not be measured.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from fastapi_review.categories import category
from fastapi_review.config import Config
from fastapi_review.index.project import ProjectIndex
from fastapi_review.models import Finding, GateResult, Severity

MARKER = re.compile(r"#\s*fastapi-review\s*:\s*ignore\s*\[([^\]]*)\]?(.*)$", re.IGNORECASE)
# words and punctuation that only introduce the reason
_LEAD = re.compile(
    r"^[\s:;,.\-\u2013\u2014=>]*(?:(?:because|reason)\s*[:\-\u2013\u2014]+\s*)?", re.IGNORECASE
)

NO_REASON_ID = "SUP001"
UNUSED_ID = "SUP002"
SUPPRESSION_IDS = {NO_REASON_ID, UNUSED_ID}
SUP_CATEGORY = "quality.lint"
SUP_SEVERITY = Severity.LOW
# the gate a tool's rule id comes from: "mypy:arg-type" -> mypy
GATE_OF_PREFIX = {
    "ruff": "ruff",
    "format": "format",
    "mypy": "mypy",
    "bandit": "bandit",
    "pip-audit": "dependencies",
    "coverage": "tests",
    "pytest": "tests",
    "precommit": "precommit",
    "metadata": "metadata",
}
MAX_FILE_BYTES = 2_000_000


@dataclass
class Suppression:
    path: str
    line: int  # where the comment is
    target: int  # the line it silences
    rules: list[str]  # upper-cased ids as written
    reason: str
    text: str  # the comment line, for evidence
    matched: set[str] = field(default_factory=set)


def parse_comment(comment: str) -> tuple[list[str], str] | None:
    """The rule ids and the reason of one `#` comment, or None when it is no suppression."""
    m = MARKER.search(comment)
    if m is None:
        return None
    rules = [r.strip().upper() for r in re.split(r"[,\s]+", m.group(1)) if r.strip()]
    rest = m.group(2)
    cut = rest.find("#")
    if cut >= 0:
        rest = rest[:cut]
    reason = _LEAD.sub("", rest).strip()
    return rules, reason


def _target(lines: list[str], line: int, own_line: bool) -> int:
    if not own_line:
        return line
    for no in range(line + 1, len(lines) + 1):
        text = lines[no - 1].strip()
        if text and not text.startswith("#"):
            return no
    return line


def _comments_python(source: str) -> list[tuple[int, int, str]] | None:
    """(line, column, text) of every comment token; None when the source does not tokenize."""
    out: list[tuple[int, int, str]] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                out.append((tok.start[0], tok.start[1], tok.string))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    return out


def _comments_text(lines: list[str]) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    for no, text in enumerate(lines, start=1):
        col = text.find("#")
        if col >= 0 and "fastapi-review" in text.lower():
            out.append((no, col, text[col:]))
    return out


def scan_text(path: str, text: str) -> list[Suppression]:
    """Every suppression comment of one file (Python files are tokenized: strings never count)."""
    if "fastapi-review" not in text.lower():
        return []
    lines = text.splitlines()
    comments = _comments_python(text) if path.endswith(".py") else None
    if comments is None:
        comments = _comments_text(lines)
    found: list[Suppression] = []
    for line, col, comment in comments:
        parsed = parse_comment(comment)
        if parsed is None:
            continue
        rules, reason = parsed
        src = lines[line - 1] if 1 <= line <= len(lines) else comment
        own_line = not src[:col].strip()
        found.append(
            Suppression(
                path=path,
                line=line,
                target=_target(lines, line, own_line),
                rules=rules,
                reason=reason,
                text=src.strip(),
            )
        )
    return found


def scan_project(index: ProjectIndex, extra_paths: Iterable[str] = ()) -> list[Suppression]:
    """Suppressions in every indexed module and extra file, and in the files of `extra_paths`."""
    out: list[Suppression] = []
    seen: set[str] = set()
    for path, module in index.modules.items():
        seen.add(path)
        out += scan_text(path, "\n".join(line.rstrip("\r\n") for line in module.lines))
    for path, text in index.extra_files.items():
        if path not in seen:
            seen.add(path)
            out += scan_text(path, text)
    for path in sorted(set(extra_paths) - seen):
        file = index.root / path
        try:
            if not file.is_file() or file.stat().st_size > MAX_FILE_BYTES:
                continue
            text = file.read_text("utf-8", errors="replace")
        except OSError:
            continue
        out += scan_text(path, text)
    return out


def _rule_ran(
    rule_id: str, config: Config, gates: dict[str, GateResult] | None, stages: set[str]
) -> bool | None:
    """True when the rule ran (so silence means unused), False when it did not, None: unknown id."""
    from fastapi_review.rules import all_rules  # late: rule modules import this one

    rules = {k.upper(): v for k, v in all_rules().items()}
    rule = rules.get(rule_id)
    if rule is not None:
        return rule.stage in stages and config.rule_enabled(rule.id)
    prefix = rule_id.split(":", 1)[0].lower()
    gate = GATE_OF_PREFIX.get(prefix)
    if gate is not None and ":" in rule_id:
        result = (gates or {}).get(gate)
        return result is not None and result.measured and config.rule_enabled(rule_id)
    return None


def _sup_finding(
    rule: str, s: Suppression, message: str, fix: str, config: Config
) -> Finding | None:
    if not config.rule_enabled(rule):
        return None
    category(SUP_CATEGORY)
    return Finding(
        rule=rule,
        category=SUP_CATEGORY,
        severity=config.severity.get(rule, SUP_SEVERITY),
        path=s.path,
        line=s.line,
        message=message,
        evidence=s.text,
        fix=fix,
    )


def apply_config(findings: list[Finding], config: Config) -> list[Finding]:
    """A gate's findings obey `select`/`ignore` and `severity` like the tool's own rules."""
    out: list[Finding] = []
    for f in findings:
        if f.source == "gate":
            if not config.rule_enabled(f.rule):
                continue
            override = config.severity.get(f.rule.upper())
            if override is not None:
                f.severity = override
        out.append(f)
    return out


def apply_suppressions(
    findings: list[Finding],
    index: ProjectIndex,
    config: Config,
    gates: dict[str, GateResult] | None = None,
    stages: Iterable[str] = ("rules", "trace"),
    scan: Callable[[ProjectIndex, Iterable[str]], list[Suppression]] = scan_project,
) -> list[Finding]:
    """Mark suppressed findings and append the findings about the suppressions themselves."""
    findings = apply_config(findings, config)
    sups = scan(index, {f.path for f in findings if f.path})
    at: dict[tuple[str, int], list[Suppression]] = {}
    for s in sups:
        at.setdefault((s.path, s.target), []).append(s)
    for f in findings:
        if f.path is None or f.line is None or f.rule in SUPPRESSION_IDS:
            continue
        for s in at.get((f.path, f.line), []):
            if f.rule.upper() not in s.rules:
                continue
            s.matched.add(f.rule.upper())
            if s.reason:
                f.suppressed = True
                f.suppression_reason = s.reason
    ran = set(stages)
    extra: list[Finding] = []
    for s in sups:
        named = ", ".join(s.rules) or "no rule"
        if not s.reason:
            sup = _sup_finding(
                NO_REASON_ID,
                s,
                f"suppression of {named} gives no reason, so it silences nothing",
                "Write why the finding does not apply after the bracket: "
                "`# fastapi-review: ignore[RULE] the reason`.",
                config,
            )
            if sup is not None:
                extra.append(sup)
            continue
        problems: list[str] = []
        if not s.rules:
            problems.append("it names no rule")
        for rid in s.rules:
            if rid in s.matched:
                continue
            state = _rule_ran(rid, config, gates, ran)
            if state is None:
                problems.append(f"{rid} is no rule of this tool or of a gate")
            elif state:
                problems.append(f"no {rid} finding at line {s.target}")
        if problems:
            sup = _sup_finding(
                UNUSED_ID,
                s,
                f"suppression silences nothing: {'; '.join(problems)}",
                "Remove the suppression, or name the rule that reports this line "
                "(see `fastapi-review rules`).",
                config,
            )
            if sup is not None:
                extra.append(sup)
    return findings + extra


def suppression_lines(text: str, path: str = "x.py") -> list[tuple[int, int, list[str], str]]:
    """(comment line, target line, rules, reason) of a source text: a small view for tests."""
    return [(s.line, s.target, s.rules, s.reason) for s in scan_text(path, text)]


__all__ = [
    "MARKER",
    "NO_REASON_ID",
    "UNUSED_ID",
    "Suppression",
    "apply_config",
    "apply_suppressions",
    "parse_comment",
    "scan_project",
    "scan_text",
    "suppression_lines",
]
