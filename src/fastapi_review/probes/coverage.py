"""Coverage from coverage.py's JSON report: overall, per layer, per file, on the changed lines.

Units: coverage.py's own. With branch coverage on, "covered/total" counts statements plus
branches (exactly what `pytest --cov` prints as TOTAL); without, statements. The layer figures
use the same units, so the layers (plus `other`, files in no layer) add up to the overall.
"""

from __future__ import annotations

from typing import Any

from fastapi_review.config import Config
from fastapi_review.index.layers import layer_of
from fastapi_review.models import CoverageMetrics, Finding
from fastapi_review.probes.findings import tool_finding
from fastapi_review.workspace import Change

LAYERS = ("router", "service", "repository", "kafka", "models", "schemas", "core")
OTHER = "other"


def _units(summary: dict[str, Any]) -> tuple[int, int]:
    covered = int(summary.get("covered_lines", 0)) + int(summary.get("covered_branches", 0) or 0)
    total = int(summary.get("num_statements", 0)) + int(summary.get("num_branches", 0) or 0)
    return covered, total


def _pct(covered: int, total: int) -> float | None:
    return round(100.0 * covered / total, 2) if total else None


def metrics_from_json(
    data: dict[str, Any], rel: Any, config: Config, change: Change
) -> CoverageMetrics:
    """`rel` maps the report's file names to project-relative paths."""
    files: dict[str, float] = {}
    layer_lines: dict[str, list[int]] = {}
    diff_hit = diff_total = 0
    for name, entry in (data.get("files") or {}).items():
        path = rel(str(name))
        summary = entry.get("summary") or {}
        covered, total = _units(summary)
        pct = _pct(covered, total)
        files[path] = pct if pct is not None else 100.0
        layer = layer_of(path, config) or OTHER
        acc = layer_lines.setdefault(layer, [0, 0])
        acc[0] += covered
        acc[1] += total
        if change.git and path not in change.files:
            continue
        executed = set(entry.get("executed_lines") or [])
        executable = executed | set(entry.get("missing_lines") or [])
        ranges = change.files.get(path) if change.git else None
        for line in executable:
            if ranges is None or any(a <= line <= b for a, b in ranges):
                diff_total += 1
                diff_hit += line in executed
    totals = data.get("totals") or {}
    covered, total = _units(totals)
    overall = totals.get("percent_covered")
    m = CoverageMetrics(
        measured=True,
        overall=round(float(overall), 2) if overall is not None else _pct(covered, total),
        covered_lines=covered,
        total_lines=total,
        files=files,
        diff_coverage=_pct(diff_hit, diff_total),
    )
    for layer in (*LAYERS, *sorted(k for k in layer_lines if k not in LAYERS)):
        if layer in layer_lines and (layer != OTHER or layer_lines[layer][1]):
            c, t = layer_lines[layer]
            m.layer_lines[layer] = (c, t)
            m.layers[layer] = _pct(c, t)
    return m


def threshold_findings(m: CoverageMetrics, config: Config) -> list[Finding]:
    """tests.coverage findings for the overall and the service-layer thresholds."""
    out: list[Finding] = []
    if not m.measured or m.overall is None:
        return out
    limit = config.thresholds.coverage_overall
    if m.overall < limit:
        out.append(
            tool_finding(
                "coverage:overall",
                "tests.coverage",
                None,
                None,
                f"Test coverage is {m.overall:.1f}%, below the {limit:g}% threshold "
                f"({m.covered_lines} of {m.total_lines} covered)",
                evidence=f"pytest --cov: TOTAL {m.overall:.1f}%",
                fix="Add tests for the uncovered code (the per-file figures show where).",
            )
        )
    service = m.layers.get("service")
    limit = config.thresholds.coverage_service
    if service is not None and service < limit:
        c, t = m.layer_lines["service"]
        files = sorted(
            (pct, path) for path, pct in m.files.items() if layer_of(path, config) == "service"
        )
        worst = ", ".join(f"{path} {pct:.0f}%" for pct, path in files[:3] if pct < limit)
        out.append(
            tool_finding(
                "coverage:service",
                "tests.coverage",
                None,
                None,
                f"Service-layer coverage is {service:.1f}%, below the {limit:g}% threshold "
                f"({c} of {t} covered)",
                evidence=f"lowest service files: {worst}" if worst else "",
                fix="Test the business logic in the service layer, including its error paths.",
            )
        )
    return out
