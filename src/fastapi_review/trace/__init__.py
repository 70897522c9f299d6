"""Tracing requirements to the code that implements them and the tests that exercise them."""

from fastapi_review.trace.tracer import TraceResult, trace_requirements

__all__ = ["TraceResult", "trace_requirements"]
