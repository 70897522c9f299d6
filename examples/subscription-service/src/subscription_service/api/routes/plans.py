"""Plan endpoints."""

import uuid

from fastapi import APIRouter, Depends, status

from subscription_service.api.dependencies import PlanServiceDep, require_admin
from subscription_service.schemas.common import ErrorResponse
from subscription_service.schemas.plan import CreatePlan, PlanOut

router = APIRouter(prefix="/plans", tags=["plans"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PlanOut,
    summary="Create a billing plan",
    dependencies=[Depends(require_admin)],
    responses={
        401: {"model": ErrorResponse, "description": "Missing or wrong X-Admin-Key"},
        409: {"model": ErrorResponse, "description": "Plan code already exists"},
    },
)
async def create_plan(body: CreatePlan, service: PlanServiceDep) -> PlanOut:
    """Create a plan; requires the administrator key."""
    plan = await service.create(body)
    return PlanOut.model_validate(plan)


@router.get("", response_model=list[PlanOut], summary="List plans")
async def list_plans(service: PlanServiceDep, include_inactive: bool = False) -> list[PlanOut]:
    """List plans ordered by code; inactive plans only on request."""
    plans = await service.list(include_inactive=include_inactive)
    return [PlanOut.model_validate(plan) for plan in plans]


@router.get(
    "/{plan_id}",
    response_model=PlanOut,
    summary="Get a plan",
    responses={404: {"model": ErrorResponse, "description": "Plan not found"}},
)
async def get_plan(plan_id: uuid.UUID, service: PlanServiceDep) -> PlanOut:
    """Return one plan."""
    return PlanOut.model_validate(await service.get(plan_id))
