"""How the gates' raw output becomes findings: categories, suppressions, precision filters."""

from __future__ import annotations

from typing import Any

from fastapi_review.models import Finding, Severity
from fastapi_review.probes.findings import (
    bandit_reported,
    dedupe,
    lint_summary,
    noqa_covers,
    ruff_category,
)


def _bandit(test_id: str, text: str, code: str, line: int = 17, sev: str = "LOW") -> dict[str, Any]:
    return {
        "test_id": test_id,
        "issue_severity": sev,
        "issue_confidence": "MEDIUM",
        "issue_text": text,
        "line_number": line,
        "code": code,
    }


def test_ruff_security_codes_with_low_bandit_twins_are_plain_lint() -> None:
    assert ruff_category("S101") == "quality.lint"  # assert
    assert ruff_category("S311") == "quality.lint"  # random
    assert ruff_category("S603") == "quality.lint"  # subprocess without shell
    assert ruff_category("S105") == "security.hardcoded-secret"
    assert ruff_category("S608") == "security.injection"
    assert ruff_category("S104") == "quality.lint"  # binding 0.0.0.0 in a container
    assert ruff_category("S113") == "security.insecure-config"


def test_noqa_with_the_ruff_twin_code_suppresses_bandit() -> None:
    assert noqa_covers('PREFIX = "x"  # noqa: S105', "B105")
    assert noqa_covers('PREFIX = "x"  # noqa: E501, S105', "B105")
    assert noqa_covers('PREFIX = "x"  # noqa', "B105")
    assert not noqa_covers('PREFIX = "x"  # noqa: E501', "B105")
    assert not noqa_covers('PREFIX = "x"', "B105")


def test_bandit_password_checks() -> None:
    sentence = _bandit(
        "B105",
        "Possible hardcoded password: 'unsupported authorization type'",
        '17 WRONG_TOKEN_PREFIX = "unsupported authorization type"\n',
    )
    marked = _bandit(
        "B105",
        "Possible hardcoded password: 'Token'",
        '16 X = 1\n17 TOKEN_PREFIX = "Token"  # noqa: S105\n18 Y = 2\n',
    )
    real = _bandit(
        "B105",
        "Possible hardcoded password: 'hunter2-prod'",
        '17 ADMIN_PASSWORD = "hunter2-prod"\n',
    )
    shell = _bandit(
        "B602", "subprocess call with shell=True", "17 run(cmd, shell=True)\n", sev="HIGH"
    )
    bind = _bandit(
        "B104", "Possible binding to all interfaces.", '17 addr = "0.0.0.0"\n', sev="MEDIUM"
    )
    assert not bandit_reported(bind)
    assert not bandit_reported(sentence)
    assert not bandit_reported(marked)
    assert bandit_reported(real)
    assert bandit_reported(shell)


def _lint(code: str, message: str, line: int) -> dict[str, Any]:
    return {"path": "app/api/users.py", "line": line, "code": code, "message": message}


B008_DEPENDS = "Do not perform function call `Depends` in argument defaults; instead, ..."


def test_lint_summary_does_not_count_fastapi_dependency_defaults() -> None:
    items = [
        _lint("B008", B008_DEPENDS, 10),
        _lint("B008", "Do not perform function call `fastapi.Query` in argument defaults", 11),
        _lint("F541", "f-string without any placeholders", 30),
    ]
    f = lint_summary(items, {})
    assert (f.category, f.severity, f.line) == ("quality.lint", Severity.MEDIUM, 30)
    assert "1 lint error(s)" in f.message and "not counted: 2 B008" in f.message


def test_lint_summary_of_only_fastapi_idioms_is_low() -> None:
    items = [_lint("B008", B008_DEPENDS, 10), _lint("B008", B008_DEPENDS, 12)]
    assert lint_summary(items, {}).severity == Severity.LOW
    real = [_lint("B008", "Do not perform function call `datetime.now` in argument defaults", 3)]
    assert lint_summary(real, {}).severity == Severity.MEDIUM


def _f(rule: str, category: str, path: str | None, line: int | None, message: str) -> Finding:
    return Finding(
        rule=rule,
        category=category,
        severity=Severity.HIGH,
        path=path,
        line=line,
        message=message,
    )


def test_dedupe_drops_test_security_and_line_less_repeats() -> None:
    ours = [_f("OPS004", "ops.stack-version", "pyproject.toml", 9, "python 3.9 is below 3.11+")]
    tools = [
        _f("ruff:S105", "security.hardcoded-secret", "tests/conftest.py", 5, "Ruff S105"),
        _f("ruff:S105", "security.hardcoded-secret", "app/config.py", 5, "Ruff S105"),
        _f("metadata:python", "ops.stack-version", "pyproject.toml", None, "python 3.9 is below"),
        _f("metadata:sqlalchemy", "ops.stack-version", "pyproject.toml", None, "sqlalchemy 1.4"),
        _f("ruff:F401", "quality.lint", "tests/test_x.py", 1, "Ruff reports 1 lint error(s)"),
    ]
    kept = [(f.rule, f.path) for f in dedupe(tools, ours)]
    assert kept == [
        ("ruff:S105", "app/config.py"),
        ("metadata:sqlalchemy", "pyproject.toml"),
        ("ruff:F401", "tests/test_x.py"),
    ]
