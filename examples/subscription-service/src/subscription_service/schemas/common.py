"""Shared API schemas."""

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list, with the total number of matching items."""

    items: list[T]
    total: int = Field(ge=0, description="Number of items matching the filter.")
    limit: int = Field(ge=1, le=100, description="Page size that was applied.")
    offset: int = Field(ge=0, description="Number of items skipped.")


class FieldError(BaseModel):
    """One invalid input field."""

    field: str = Field(description="Dotted location of the field.", examples=["body.currency"])
    message: str = Field(description="What is wrong with it.")


class ErrorResponse(BaseModel):
    """Body of every error response."""

    detail: str = Field(description="Human-readable message.", examples=["Plan not found"])
    code: str = Field(description="Stable machine-readable code.", examples=["not_found"])
    errors: list[FieldError] | None = Field(
        default=None, description="Per-field problems (validation errors only)."
    )
