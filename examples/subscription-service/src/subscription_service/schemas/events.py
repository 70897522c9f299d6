"""Kafka event payloads, produced and consumed."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from subscription_service.schemas.subscription import SubscriptionStatus


class SubscriptionCreatedEvent(BaseModel):
    """Payload of `subscriptions.created`."""

    event_id: uuid.UUID
    subscription_id: uuid.UUID
    customer_id: uuid.UUID
    plan_code: str
    status: SubscriptionStatus
    trial_end: datetime | None
    current_period_end: datetime
    occurred_at: datetime


class SubscriptionCancelledEvent(BaseModel):
    """Payload of `subscriptions.cancelled`."""

    event_id: uuid.UUID
    subscription_id: uuid.UUID
    customer_id: uuid.UUID
    reason: str
    effective_at: datetime
    occurred_at: datetime


class PaymentEvent(BaseModel):
    """Payload of `billing.payments`, produced by the Billing Service."""

    event_id: uuid.UUID
    event_type: Literal["payment.succeeded", "payment.failed"]
    subscription_id: uuid.UUID
    payment_id: str = Field(min_length=1, max_length=100)
    amount_minor: int = Field(ge=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    occurred_at: datetime


class DeadLetter(BaseModel):
    """Payload of `billing.payments.dlq`."""

    original: str
    error: str
    topic: str
    partition: int
    offset: int
    failed_at: datetime
