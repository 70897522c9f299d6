from datetime import UTC, datetime

import pytest

from subscription_service.core.retry import backoff_delay
from subscription_service.schemas.plan import BillingPeriod
from subscription_service.services.periods import add_months, period_end


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (datetime(2024, 1, 15, tzinfo=UTC), 1, datetime(2024, 2, 15, tzinfo=UTC)),
        (datetime(2024, 1, 31, tzinfo=UTC), 1, datetime(2024, 2, 29, tzinfo=UTC)),
        (datetime(2023, 12, 31, tzinfo=UTC), 1, datetime(2024, 1, 31, tzinfo=UTC)),
        (datetime(2024, 2, 29, tzinfo=UTC), 12, datetime(2025, 2, 28, tzinfo=UTC)),
    ],
)
def test_add_months_clamps_to_month_length(
    start: datetime, months: int, expected: datetime
) -> None:
    assert add_months(start, months) == expected


def test_period_end_by_billing_period() -> None:
    start = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
    assert period_end(start, BillingPeriod.MONTHLY) == datetime(2024, 4, 10, 12, 0, tzinfo=UTC)
    assert period_end(start, BillingPeriod.YEARLY) == datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def test_backoff_delay_doubles_and_is_capped() -> None:
    assert [backoff_delay(n, 0.5) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    assert backoff_delay(10, 0.5, cap_s=3.0) == 3.0
