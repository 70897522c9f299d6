"""Subscription endpoints."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from subscription_service.api.dependencies import SubscriptionServiceDep
from subscription_service.schemas.common import ErrorResponse, Page
from subscription_service.schemas.subscription import (
    CancelSubscription,
    CreateSubscription,
    SubscriptionOut,
    SubscriptionStatus,
)

router = APIRouter(prefix="/subscriptions", tags=["subscriptions"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "Subscription not found"}
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SubscriptionOut,
    summary="Subscribe a customer to a plan",
    responses={
        404: {"model": ErrorResponse, "description": "Plan not found"},
        409: {"model": ErrorResponse, "description": "Customer already subscribed to the plan"},
        422: {"model": ErrorResponse, "description": "Plan is inactive or the body is invalid"},
    },
)
async def create_subscription(
    body: CreateSubscription, service: SubscriptionServiceDep
) -> SubscriptionOut:
    """Create a subscription; plans with trial days start in TRIALING."""
    return SubscriptionOut.model_validate(await service.create(body))


@router.get("", response_model=Page[SubscriptionOut], summary="List a customer's subscriptions")
async def list_subscriptions(
    service: SubscriptionServiceDep,
    customer_id: uuid.UUID,
    status_filter: Annotated[SubscriptionStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[SubscriptionOut]:
    """Newest first, paginated with limit and offset."""
    items, total = await service.list_for_customer(
        customer_id, status=status_filter, limit=limit, offset=offset
    )
    return Page[SubscriptionOut](
        items=[SubscriptionOut.model_validate(item) for item in items],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/{subscription_id}",
    response_model=SubscriptionOut,
    summary="Get a subscription",
    responses=_NOT_FOUND,
)
async def get_subscription(
    subscription_id: uuid.UUID, service: SubscriptionServiceDep
) -> SubscriptionOut:
    """Return one subscription."""
    return SubscriptionOut.model_validate(await service.get(subscription_id))


@router.post(
    "/{subscription_id}/cancel",
    response_model=SubscriptionOut,
    summary="Cancel a subscription",
    responses={
        **_NOT_FOUND,
        409: {"model": ErrorResponse, "description": "Already cancelled or scheduled"},
    },
)
async def cancel_subscription(
    subscription_id: uuid.UUID, body: CancelSubscription, service: SubscriptionServiceDep
) -> SubscriptionOut:
    """Cancel now or at the end of the current period."""
    return SubscriptionOut.model_validate(await service.cancel(subscription_id, body))
