"""Designs written as prose, YAML and endpoint headings: what the reader takes from them."""

from __future__ import annotations

import textwrap

from fastapi_review.design.reader import parse_design
from fastapi_review.models import Requirement


def _reqs(text: str) -> list[Requirement]:
    return parse_design(textwrap.dedent(text).lstrip("\n")).requirements


def _by_key(reqs: list[Requirement]) -> dict[str, Requirement]:
    return {r.key: r for r in reqs}


PROSE = """
# Points Service

## Background

Members collect points. The service is called by the checkout.

## Behaviour

An account starts with a balance of zero. When the balance is too low the
redemption is refused with 409 and nothing is written. A redemption of zero
points is a validation error (422). The contract is given as an excerpt below.
An outbox is planned for a later version.

## Messaging

It consumes the topic `orders.paid` in the group `points`; each message carries
`event_id`, `order_id` and `total`. After a successful earn it publishes
`points.earned`, keyed by the account id, with the fields `account_id` and
`points`. Messages that fail validation are forwarded to `points.dlq`.

The consumer and the producer stop gracefully on shutdown.
"""


def test_topics_named_in_event_prose_become_events_with_direction_and_fields() -> None:
    events = {r.key: r for r in _reqs(PROSE) if r.kind == "event"}
    assert set(events) == {"orders.paid", "points.earned", "points.dlq"}
    assert events["orders.paid"].details["direction"] == "consumed"
    assert events["orders.paid"].details["fields"] == ["event_id", "order_id", "total"]
    assert events["points.earned"].details["direction"] == "produced"
    assert events["points.earned"].details["fields"] == ["account_id", "points"]
    assert events["points.dlq"].details["dlq"] is True
    assert events["points.dlq"].details["direction"] == "produced"


def test_plain_sentences_stating_behaviour_are_requirements() -> None:
    texts = [r.text for r in _reqs(PROSE) if r.kind not in {"event", "endpoint", "model"}]
    assert "The consumer and the producer stop gracefully on shutdown." in texts
    assert any(t.startswith("When the balance is too low the redemption is refused") for t in texts)
    assert "A redemption of zero points is a validation error (422)." in texts
    assert "An account starts with a balance of zero." in texts
    # about the document, a plan, or the background: not requirements
    assert not any("excerpt" in t or "planned" in t for t in texts)
    assert not any("checkout" in t for t in texts)


HEADINGS = """
# Rooms

## Endpoints

All endpoints are served under `/api/v1`.

### POST /bookings

Creates a booking. Answers 201.

```json
{"room_id": "r1", "title": "Sync"}
```

### DELETE /bookings/{booking_id}

Cancels a booking and publishes `bookings.cancelled`. Answers 204 with no body.

### GET /health/live

Liveness.

## Events

| Channel | Emitted when | Body |
|---------|--------------|------|
| `bookings.cancelled` | a booking is cancelled | `booking_id`, `room_id` |
| `rooms.retired` | consumed from facility-service | `room_id` |

## Data model

```yaml
rooms:
  id: uuid, primary key
  name: varchar(80)
bookings:
  id: uuid
  room_id: uuid, references rooms
```
"""


def test_endpoint_headings_take_status_and_topics_from_their_paragraphs() -> None:
    reqs = _by_key(_reqs(HEADINGS))
    assert reqs["POST /api/v1/bookings"].details["status"] == [201]
    delete = reqs["DELETE /api/v1/bookings/{booking_id}"]
    assert delete.details["status"] == [204]
    assert delete.details["publishes"] == ["bookings.cancelled"]


def test_probes_stay_at_the_root_under_a_base_path() -> None:
    reqs = _by_key(_reqs(HEADINGS))
    live = reqs["GET /health/live"]
    assert live.details["alt_paths"] == ["/api/v1/health/live"]


def test_event_table_with_when_and_body_columns() -> None:
    reqs = _by_key(_reqs(HEADINGS))
    cancelled, retired = reqs["bookings.cancelled"], reqs["rooms.retired"]
    assert cancelled.details["direction"] == "produced"
    assert cancelled.details["fields"] == ["booking_id", "room_id"]
    assert retired.details["direction"] == "consumed"


def test_yaml_data_model_tables() -> None:
    reqs = _by_key(_reqs(HEADINGS))
    assert reqs["rooms"].kind == "model"
    assert reqs["rooms"].details["columns"] == ["id", "name"]
    assert reqs["bookings"].details["columns"] == ["id", "room_id"]
    assert reqs["bookings"].line == 36


def test_a_json_example_in_the_data_section_is_not_a_table() -> None:
    reqs = _reqs(
        """
        # S

        ## Data model

        ```json
        {"status": "ok"}
        ```
        """
    )
    assert not [r for r in reqs if r.kind == "model"]
