"""Renderers: code-review.md, the JSON report, SARIF, the terminal summary."""

from fastapi_review.render.json_report import render_json, to_json_dict
from fastapi_review.render.markdown import render_markdown

__all__ = ["render_json", "render_markdown", "to_json_dict"]
