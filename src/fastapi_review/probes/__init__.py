"""Probes: the external quality gates, run in the reviewed project's environment."""

from fastapi_review.probes.runner import GateRun, run_gates

__all__ = ["GateRun", "run_gates"]
