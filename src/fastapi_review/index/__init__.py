"""The project index: parse once, read by every rule."""

from fastapi_review.index.project import ProjectIndex, build_index
from fastapi_review.index.symbols import Call, ClassInfo, Function, Module

__all__ = ["Call", "ClassInfo", "Function", "Module", "ProjectIndex", "build_index"]
