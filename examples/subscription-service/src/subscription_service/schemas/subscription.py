"""Subscription request and response schemas."""

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class SubscriptionStatus(StrEnum):
    """Lifecycle status of a subscription."""

    TRIALING = "TRIALING"
    ACTIVE = "ACTIVE"
    PAST_DUE = "PAST_DUE"
    CANCELLED = "CANCELLED"


class CreateSubscription(BaseModel):
    """Request body of `POST /api/v1/subscriptions`."""

    customer_id: uuid.UUID = Field(description="Customer who subscribes.")
    plan_id: uuid.UUID = Field(description="Plan to subscribe to; must be active.")


class CancelSubscription(BaseModel):
    """Request body of `POST /api/v1/subscriptions/{id}/cancel`."""

    at_period_end: bool = Field(
        default=True, description="Cancel when the current period ends instead of now."
    )
    reason: str = Field(min_length=3, max_length=200, description="Why the customer cancels.")


class SubscriptionOut(BaseModel):
    """A customer's subscription."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    customer_id: uuid.UUID
    plan_id: uuid.UUID
    status: SubscriptionStatus
    current_period_start: datetime
    current_period_end: datetime
    cancel_at_period_end: bool
    cancelled_at: datetime | None
    cancel_reason: str | None
    created_at: datetime
    updated_at: datetime
