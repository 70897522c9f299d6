"""Billing period arithmetic."""

import calendar
from datetime import datetime

from subscription_service.schemas.plan import BillingPeriod


def add_months(moment: datetime, months: int) -> datetime:
    """Add calendar months, clamping the day to the length of the target month."""
    month_index = moment.month - 1 + months
    year = moment.year + month_index // 12
    month = month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def period_end(start: datetime, period: BillingPeriod) -> datetime:
    """Return the end of the billing period that starts at `start`."""
    return add_months(start, 12 if period is BillingPeriod.YEARLY else 1)
