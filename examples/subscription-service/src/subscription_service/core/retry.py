"""Backoff helpers shared by the Kafka producer and consumer."""

import time


def backoff_delay(attempt: int, base_s: float, cap_s: float = 5.0) -> float:
    """Exponential backoff: base, 2*base, 4*base, ... capped at `cap_s` seconds."""
    return float(min(cap_s, base_s * (2 ** max(attempt - 1, 0))))


def wait_before_retry(attempt: int, base_s: float) -> None:
    """Pause before the next attempt of a failed operation."""
    time.sleep(backoff_delay(attempt, base_s))
