"""Inline suppressions: used (silenced, kept with the reason), without a reason, unused."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fastapi_review.config import Config
from fastapi_review.index.project import build_index
from fastapi_review.models import Finding, GateResult, Severity
from fastapi_review.suppressions import apply_suppressions, parse_comment, suppression_lines

ORDERS = Path(__file__).parent / "fixtures" / "ecosystem" / "orders"
MAIN = "src/orders/main.py"


@pytest.mark.parametrize(
    ("comment", "rules", "reason"),
    [
        ("# fastapi-review: ignore[ASY001] startup only", ["ASY001"], "startup only"),
        ("#fastapi-review:ignore[asy001,API001]  - legacy", ["ASY001", "API001"], "legacy"),
        ("# fastapi-review: ignore[API001] because: old clients", ["API001"], "old clients"),
        (
            "# fastapi-review: ignore[mypy:arg-type] — stub is wrong",
            ["MYPY:ARG-TYPE"],
            "stub is wrong",
        ),
        ("# fastapi-review: ignore[API001]", ["API001"], ""),
        ("# fastapi-review: ignore[API001]  # expect", ["API001"], ""),
        ("# FASTAPI-REVIEW: IGNORE[] why", [], "why"),
    ],
)
def test_parse_comment(comment: str, rules: list[str], reason: str) -> None:
    assert parse_comment(comment) == (rules, reason)


def test_not_a_suppression() -> None:
    assert parse_comment("# noqa: E501") is None
    assert parse_comment("# fastapi-review is great") is None


def test_targets_same_line_or_next_code_line() -> None:
    text = "\n".join(
        [
            "x = 1  # fastapi-review: ignore[A001] same line",  # 1 -> 1
            "# fastapi-review: ignore[A002] next code line",  # 2 -> 5
            "# another comment",
            "",
            "y = 2",
            's = "# fastapi-review: ignore[A003] in a string"',  # a string: no suppression
        ]
    )
    assert suppression_lines(text) == [
        (1, 1, ["A001"], "same line"),
        (2, 5, ["A002"], "next code line"),
    ]


def test_text_files_and_broken_python_are_scanned_by_line() -> None:
    yaml_text = "services:\n  db:\n    image: postgres  # fastapi-review: ignore[OPS003] dev only\n"
    assert suppression_lines(yaml_text, "docker-compose.yml") == [(3, 3, ["OPS003"], "dev only")]
    broken = 'def f(:\n    x = """\nx = 1  # fastapi-review: ignore[A001] ok\n'
    assert suppression_lines(broken) == [(3, 3, ["A001"], "ok")]


def _finding(
    rule: str, line: int, path: str = "app/a.py", source: str = "fastapi-review"
) -> Finding:
    return Finding(
        rule=rule,
        category="api.missing-response-model",
        severity=Severity.MEDIUM,
        path=path,
        line=line,
        message="m",
        source=source,
    )


def _project(tmp_path: Path, text: str) -> Path:
    (tmp_path / "app").mkdir(parents=True)
    (tmp_path / "app" / "a.py").write_text(text, encoding="utf-8")
    return tmp_path


def test_apply_used_unused_no_reason(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        "a = 1  # fastapi-review: ignore[API001] reason one\n"  # 1 used
        "b = 2  # fastapi-review: ignore[API001]\n"  # 2 no reason
        "c = 3  # fastapi-review: ignore[API001, API003] partly\n"  # 3 API003 unused
        "d = 4  # fastapi-review: ignore[NOPE042] typo\n"  # 4 unknown rule
        "e = 5  # fastapi-review: ignore[mypy:arg-type] stub\n",  # 5 gate not measured
    )
    index = build_index(root)
    findings = [_finding("API001", 1), _finding("API001", 2), _finding("API001", 3)]
    out = apply_suppressions(findings, index, Config(), gates={})
    by_line = {(f.rule, f.line): f for f in out}
    assert by_line[("API001", 1)].suppressed is True
    assert by_line[("API001", 1)].suppression_reason == "reason one"
    assert by_line[("API001", 2)].suppressed is False  # no reason: not silenced
    assert by_line[("API001", 3)].suppressed is True
    sup = sorted((f.rule, f.line, f.message) for f in out if f.rule.startswith("SUP"))
    assert sup == [
        ("SUP001", 2, "suppression of API001 gives no reason, so it silences nothing"),
        ("SUP002", 3, "suppression silences nothing: no API003 finding at line 3"),
        ("SUP002", 4, "suppression silences nothing: NOPE042 is no rule of this tool or of a gate"),
    ]
    for f in out:
        if f.rule.startswith("SUP"):
            assert f.category == "quality.lint" and f.severity == Severity.LOW
            assert f.path == "app/a.py" and "fastapi-review: ignore" in f.evidence


def test_gate_suppression_unused_only_when_gate_measured(tmp_path: Path) -> None:
    root = _project(tmp_path, "e = 5  # fastapi-review: ignore[mypy:arg-type] stub\n")
    index = build_index(root)
    measured = {"mypy": GateResult(name="mypy", measured=True, passed=True, count=0)}
    out = apply_suppressions([], index, Config(), gates=measured)
    assert [(f.rule, f.line) for f in out] == [("SUP002", 1)]
    gate_finding = _finding("mypy:arg-type", 1, source="gate")
    out = apply_suppressions([gate_finding], index, Config(), gates=measured)
    assert [(f.rule, f.suppressed) for f in out] == [("mypy:arg-type", True)]


def test_disabled_rule_is_not_called_unused(tmp_path: Path) -> None:
    root = _project(tmp_path, "a = 1  # fastapi-review: ignore[API001] reason\n")
    out = apply_suppressions([], build_index(root), Config(ignore=["API"]), gates={})
    assert out == []


def test_config_applies_to_gate_findings(tmp_path: Path) -> None:
    root = _project(tmp_path, "a = 1\n")
    config = Config(ignore=["RUFF:E501"], severity={"MYPY:ARG-TYPE": Severity.LOW})
    findings = [
        _finding("ruff:E501", 1, source="gate"),
        _finding("mypy:arg-type", 1, source="gate"),
    ]
    out = apply_suppressions(findings, build_index(root), config, gates={})
    assert [(f.rule, f.severity) for f in out] == [("mypy:arg-type", Severity.LOW)]


def test_review_reports_suppressions_end_to_end(tmp_path: Path) -> None:
    proj = tmp_path / "orders"
    shutil.copytree(ORDERS, proj)
    out = tmp_path / "r.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fastapi_review",
            str(proj),
            "--no-tests",
            "--gates",
            "none",
            "--json",
            str(out),
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text("utf-8"))
    found = {(f["rule"], f["path"], f["line"]): f for f in report["findings"]}
    used = found[("API001", MAIN, 15)]
    assert used["suppressed"] is True
    assert used["suppression_reason"] == "the probe answers a fixed dict"
    assert "suppressed" not in found[("API001", MAIN, 20)]  # no reason: still active
    assert found[("SUP001", MAIN, 20)]["severity"] == "LOW"
    assert found[("SUP002", MAIN, 25)]["message"] == (
        "suppression silences nothing: no ASY001 finding at line 26"
    )
    assert "suppressed" not in found[("ASY001", MAIN, 33)]
    # the markdown report leaves the suppressed finding out of the active issues
    md = (proj / "code-review.md").read_text("utf-8")
    assert "GET /orders/{order_id} declares no response model" in md
