"""Reading the tech design into checkable requirements."""

from fastapi_review.design.reader import DesignDoc, read_design

__all__ = ["DesignDoc", "read_design"]
