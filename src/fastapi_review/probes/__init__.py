"""Probes: the external quality gates, run in the reviewed project's environment."""

from fastapi_review.probes.findings import dedupe
from fastapi_review.probes.runner import GATES, GateRun, run_gates

__all__ = ["GATES", "GateRun", "dedupe", "run_gates"]
