"""Designs that number requirements without a hyphen and state endpoints inside requirement rows."""

from __future__ import annotations

import textwrap

from fastapi_review.design.extract import explicit_id
from fastapi_review.design.reader import parse_design


def test_short_ids_need_a_separator() -> None:
    assert explicit_id("R1 \u2013 Register a pet. A pet is registered once.") == (
        "R1",
        "Register a pet. A pet is registered once.",
    )
    assert explicit_id("FR3: text") == ("FR3", "text")
    assert explicit_id("R12 - text") == ("R12", "text")
    # a version, a percentile or a product name is no id
    assert explicit_id("V2.1 of the API") is None
    assert explicit_id("P95 latency below 200 ms") is None
    assert explicit_id("HTTP2 is used") is None


NUMBERED = """
# Kennel Service

## Requirements

1. **R1 \u2013 Register pet.** A pet is registered with its chip number; a second
   registration answers 409.
2. **R2 \u2013 Pet details.** A pet can be read with its owner.

## API

- `POST /api/v1/pets` \u2014 body `PetCreate`; **201** `Pet`; 409; 422.
- `GET /api/v1/pets/{pet_id}` \u2014 **200** `Pet`; 404.
"""


def test_numbered_list_ids_and_endpoint_bullets_with_status() -> None:
    doc = parse_design(textwrap.dedent(NUMBERED))
    by_id = {r.id: r for r in doc.requirements}
    assert by_id["R1"].kind == "other"
    assert by_id["R1"].text.startswith("Register pet.")
    assert "R2" in by_id
    eps = {r.key: r for r in doc.requirements if r.kind == "endpoint"}
    assert eps["POST /api/v1/pets"].details["status"] == [201]
    assert eps["GET /api/v1/pets/{pet_id}"].details["status"] == [200]


TABLE = """
# Kennel Service

## Requirements

| ID | Requirement |
|----|-------------|
| KN-1 | `POST /api/v1/stays` with `pet_id` creates a stay and answers 201 with it. An unknown pet answers 404. |
| KN-2 | `GET /api/v1/stays/{stay_id}` answers 200 with the stay, or 404. |
| KN-3 | `GET /health/live` answers 200; `GET /health/ready` checks the database. |

## Operations

Settings come from environment variables prefixed `KENNEL_`; no credentials live in the repository.
The stack is Python 3.12, FastAPI and SQLAlchemy 2.
Produced events are JSON objects keyed by `pet_id`.
"""


def test_endpoints_named_in_requirement_rows() -> None:
    doc = parse_design(textwrap.dedent(TABLE))
    eps = {r.key: r for r in doc.requirements if r.kind == "endpoint"}
    assert set(eps) == {
        "POST /api/v1/stays",
        "GET /api/v1/stays/{stay_id}",
        "GET /health/live",
        "GET /health/ready",
    }
    assert eps["POST /api/v1/stays"].details["status"] == [201]
    # the row names two endpoints: no status is attributed to either
    assert not eps["GET /health/live"].details.get("status")
    ids = {r.id for r in doc.requirements}
    assert {"KN-1", "KN-2", "KN-3"} <= ids


def test_prohibitions_stack_and_keys_are_requirements() -> None:
    doc = parse_design(textwrap.dedent(TABLE))
    texts = [r.text for r in doc.requirements]
    assert "No credentials live in the repository." in texts
    assert any(t.startswith("The stack is Python 3.12") for t in texts)
    assert any(t.startswith("Produced events are JSON objects keyed by") for t in texts)


def test_going_through_a_tool_is_a_requirement() -> None:
    doc = parse_design("# S\n\n## Data\n\nAll schema changes go through Alembic migrations.\n")
    assert [r.text for r in doc.requirements] == [
        "All schema changes go through Alembic migrations."
    ]
