"""The shipped example tells the truth: a static review finds each defect KNOWN_DEFECTS.md lists."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "subscription-service"
LINE_SLACK = 3


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    out = tmp_path_factory.mktemp("example") / "review.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fastapi_review",
            str(EXAMPLE),
            "--no-tests",
            "--gates",
            "none",
            "--json",
            str(out),
            "--output",
            str(out.with_suffix(".md")),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data: dict[str, object] = json.loads(out.read_text("utf-8"))
    return data


def known_defects() -> dict[int, list[dict[str, object]]]:
    text = (EXAMPLE / "KNOWN_DEFECTS.md").read_text("utf-8")
    block = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert block, "KNOWN_DEFECTS.md has no yaml block"
    by_id: dict[int, list[dict[str, object]]] = {}
    for entry in yaml.safe_load(block.group(1))["defects"]:
        by_id.setdefault(int(entry["id"]), []).append(entry)
    return by_id


def _found(entry: dict[str, object], data: dict[str, object]) -> bool:
    findings = data["findings"]
    assert isinstance(findings, list)
    if "path" not in entry:  # a requirement gap named by its key
        reqs = data["requirements"]
        assert isinstance(reqs, list)
        status = entry["category"].split(".", 1)[1]  # type: ignore[union-attr]
        return any(r["key"] == entry["key"] and r["status"] == status for r in reqs)
    return any(
        f["category"] == entry["category"]
        and f["path"] == entry["path"]
        and f["line"] is not None
        and abs(int(f["line"]) - int(entry["line"])) <= LINE_SLACK  # type: ignore[call-overload]
        for f in findings
    )


@pytest.mark.parametrize("defect", sorted(known_defects()))
def test_known_defect_is_found(defect: int, report: dict[str, object]) -> None:
    entries = known_defects()[defect]
    assert any(_found(e, report) for e in entries), f"defect {defect} not found: {entries}"


def test_recommendation(report: dict[str, object]) -> None:
    assert report["recommendation"] == "REJECT"
