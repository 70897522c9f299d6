"""SQLAlchemy ORM models."""

from subscription_service.models.base import Base
from subscription_service.models.outbox import OutboxEvent
from subscription_service.models.plan import Plan
from subscription_service.models.subscription import Subscription

__all__ = ["Base", "OutboxEvent", "Plan", "Subscription"]
