"""Design styles met in the cross-validation round: events and tables as list items,
topic headings, checkable overview sentences, semicolon clauses, OpenAPI content bodies."""

from __future__ import annotations

import textwrap

from fastapi_review.design.reader import clauses, parse_design
from fastapi_review.models import Requirement


def _reqs(text: str) -> list[Requirement]:
    return parse_design(textwrap.dedent(text).lstrip("\n")).requirements


def _kind(reqs: list[Requirement], kind: str) -> dict[str, Requirement]:
    return {r.key: r for r in reqs if r.kind == kind}


def _texts(reqs: list[Requirement]) -> list[str]:
    return [r.text for r in reqs if r.kind not in {"endpoint", "event", "model"}]


BULLETS = """
# Parking — technical design

## Overview

Drivers reserve a parking spot for one day. The garage shows the reservations.

Stack: Python 3.12, FastAPI, SQLAlchemy 2 async, aiokafka. Settings come from
`PARK_*` environment variables. Every request may carry `X-Trace-ID`.

## Events

### Produced

- `garage.spot-reserved` — `{"reservation_id", "spot_id", "day"}`, key = spot id.
- `garage.spot-released` — `{"reservation_id", "spot_id"}`, key = spot id;
  `reason` is `driver` or `expired`.

### Consumed — `fleet.car-retired`

```json
{"event_id": "e-1", "car_id": "c-9", "retired_on": "2024-10-11"}
```

Every reservation of the car is released. A message that fails validation goes to
`garage.dlq`; a failing message is retried twice with a pause, then dead-lettered.

## Data

- `spots(id text pk, level text, covered bool)`
- `reservations(id serial pk, spot_id fk, car_id, day)`, unique `(spot_id, day)`.
"""


def test_topic_items_under_a_direction_heading_are_events_with_their_payload() -> None:
    events = _kind(_reqs(BULLETS), "event")
    reserved = events["garage.spot-reserved"]
    assert reserved.details["direction"] == "produced"
    assert reserved.details["fields"] == ["reservation_id", "spot_id", "day"]
    released = events["garage.spot-released"]
    # `reason` is named after the payload, in a later clause: not a payload field
    assert released.details["fields"] == ["reservation_id", "spot_id"]


def test_a_heading_naming_a_topic_takes_the_payload_of_the_block_below() -> None:
    retired = _kind(_reqs(BULLETS), "event")["fleet.car-retired"]
    assert retired.details["direction"] == "consumed"
    assert retired.details["fields"] == ["event_id", "car_id", "retired_on"]
    assert retired.line == 18


def test_tables_written_as_items_with_their_columns() -> None:
    models = _kind(_reqs(BULLETS), "model")
    assert models["spots"].details["columns"] == ["id", "level", "covered"]
    assert models["reservations"].details["columns"] == ["id", "spot_id", "car_id", "day"]
    assert models["reservations"].line == 30


def test_an_overview_states_only_what_a_review_can_check() -> None:
    texts = _texts(_reqs(BULLETS))
    assert "Stack: Python 3.12, FastAPI, SQLAlchemy 2 async, aiokafka." in texts
    assert "Settings come from PARK_* environment variables." in texts
    assert "Every request may carry X-Trace-ID." in texts
    assert not [t for t in texts if t.startswith(("Drivers reserve", "The garage shows"))]


def test_a_sentence_of_two_statements_is_split_at_its_semicolon() -> None:
    reqs = _reqs(BULLETS)
    texts = _texts(reqs)
    assert "A message that fails validation goes to garage.dlq." in texts
    clause = next(r for r in reqs if r.text.startswith("A failing message is retried twice"))
    assert clause.details["sentence"].startswith("A message that fails validation")


def test_short_parts_stay_joined() -> None:
    text = "A desk can be booked once per day; a second booking answers 409."
    assert clauses(text) == [text]
    assert clauses(
        "A message that fails validation is parked; a failing one is retried twice."
    ) == [
        "A message that fails validation is parked.",
        "A failing one is retried twice.",
    ]
    # a semicolon inside parentheses separates nothing
    text = "Events are published after the commit (an outbox is planned; later) by the service."
    assert clauses(text) == [text]


NUMBERED = """
# Loyalty

## How it works

The service follows these rules:

1. A redemption never makes the balance negative; it is refused with 409.
2. The same paid order never earns points twice, however often it is delivered.

## Data

Three tables, created by Alembic migrations:

- `members` — id (UUID), email (unique), tier, created_at.
- `ledger_entries` — id, member_id (FK), points (> 0), created_at.
- `processed_events` — event_id (primary key), processed_at.

## Events

It produces two events, keyed by member id:

1. `loyalty.points-earned` with `member_id`, `points`, `balance`.
2. `loyalty.reward-redeemed` with `member_id`, `reward_id`.

The producer uses `acks=all`; an event is published after the transaction has committed
(an outbox is planned for a later version).

## API

```yaml
paths:
  /api/v1/members/{member_id}:
    patch:
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/MemberUpdate'}
      responses:
        "200": {description: updated}
```
"""


def test_numbered_topic_items_take_the_direction_of_their_lead() -> None:
    events = _kind(_reqs(NUMBERED), "event")
    assert set(events) == {"loyalty.points-earned", "loyalty.reward-redeemed"}
    assert events["loyalty.points-earned"].details["direction"] == "produced"
    assert events["loyalty.points-earned"].details["fields"] == ["member_id", "points", "balance"]


def test_table_items_named_then_their_columns() -> None:
    models = _kind(_reqs(NUMBERED), "model")
    assert set(models) == {"members", "ledger_entries", "processed_events"}
    assert models["members"].details["columns"] == ["id", "email", "tier", "created_at"]
    assert models["processed_events"].details["columns"] == ["event_id", "processed_at"]


def test_field_items_are_not_tables() -> None:
    design = """
    # Shop

    ## Data

    The `orders` table:

    - `id` — uuid, primary key
    - `email` — string, required
    - `total` — integer, required
    """
    models = _kind(_reqs(design), "model")
    assert set(models) == {"orders"}
    assert models["orders"].details["columns"] == ["id", "email", "total"]


def test_an_aside_about_plans_does_not_drop_the_sentence() -> None:
    texts = _texts(_reqs(NUMBERED))
    assert any("published after the transaction has committed" in t for t in texts)


def test_an_openapi_body_given_as_content_names_its_schema() -> None:
    ep = _kind(_reqs(NUMBERED), "endpoint")["PATCH /api/v1/members/{member_id}"]
    assert ep.details["request"] == "MemberUpdate"
