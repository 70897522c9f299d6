"""Plan request and response schemas."""

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class BillingPeriod(StrEnum):
    """How often a plan is billed."""

    MONTHLY = "MONTHLY"
    YEARLY = "YEARLY"


class CreatePlan(BaseModel):
    """Request body of `POST /api/v1/plans`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "pro-monthly",
                    "name": "Pro (monthly)",
                    "price_minor": 1900,
                    "currency": "EUR",
                    "billing_period": "MONTHLY",
                    "trial_days": 14,
                }
            ]
        }
    )

    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{2,39}$", description="Unique plan code.")
    name: str = Field(min_length=1, max_length=100, description="Display name.")
    price_minor: int = Field(ge=0, le=10_000_000, description="Price in minor currency units.")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 currency code.")
    billing_period: BillingPeriod = Field(description="Billing period.")
    trial_days: int = Field(default=0, ge=0, le=90, description="Free trial length in days.")


class PlanOut(BaseModel):
    """A billing plan."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    name: str
    price_minor: int
    currency: str
    billing_period: BillingPeriod
    trial_days: int
    active: bool
    created_at: datetime
