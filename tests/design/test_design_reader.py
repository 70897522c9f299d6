"""The design reader on hand-written designs of every style."""

from __future__ import annotations

import textwrap
from pathlib import Path

from fastapi_review.design import read_design
from fastapi_review.design.reader import DesignDoc, parse_design
from fastapi_review.models import Requirement


def _doc(text: str) -> DesignDoc:
    return parse_design(textwrap.dedent(text).lstrip("\n"))


def _by_key(doc: DesignDoc) -> dict[str, Requirement]:
    return {r.key: r for r in doc.requirements}


def test_endpoint_table_with_base_path_and_query() -> None:
    doc = _doc(
        """
        # Shop

        ## API

        Base path: `/api/v1`.

        | Method | Path | Request | Success | Errors |
        |--------|------|---------|---------|--------|
        | POST | `/orders` | `CreateOrder` | 201 `Order` | 422 |
        | GET | `/orders?customer_id=&limit=` | - | 200 | 422 |
        | GET | `/orders/{order_id}` | - | 200 `Order` | 404 |
        """
    )
    eps = _by_key(doc)
    assert set(eps) == {
        "POST /api/v1/orders",
        "GET /api/v1/orders",
        "GET /api/v1/orders/{order_id}",
    }
    post = eps["POST /api/v1/orders"]
    assert post.kind == "endpoint" and post.line == 9
    assert post.details["status"] == [201] and post.details["errors"] == [422]
    assert post.details["request"] == "CreateOrder"
    assert eps["GET /api/v1/orders"].details["query"] == ["customer_id", "limit"]
    assert not doc.problems


def test_full_paths_in_table_are_not_prefixed() -> None:
    doc = _doc(
        """
        # Shop

        ## API

        Base path `/api/v1`.

        | Method | Path |
        |--------|------|
        | GET | `/api/v1/items` |
        | GET | `/health/live` |
        """
    )
    assert {r.key for r in doc.requirements} == {"GET /api/v1/items", "GET /health/live"}


def test_endpoint_in_cell_heading_and_prose() -> None:
    doc = _doc(
        """
        # Shop

        ## Endpoints

        | Operation | Notes |
        |-----------|-------|
        | `DELETE /api/v1/items/{id}` | admin only |

        ### POST /api/v1/carts

        - Returns 201 with the cart.

        ## Behaviour

        PUT /api/v1/carts/{cart_id} returns 200 and replaces the cart.
        """
    )
    eps = _by_key(doc)
    assert "DELETE /api/v1/items/{id}" in eps
    assert eps["POST /api/v1/carts"].details["status"] == [201]
    assert eps["PUT /api/v1/carts/{cart_id}"].line == 15


def test_openapi_yaml_and_json_blocks() -> None:
    doc = _doc(
        """
        # Stock

        ## API

        ```yaml
        openapi: 3.1.0
        paths:
          /api/v1/items:
            post:
              responses:
                "201": {description: created}
                "409": {description: exists}
        components:
          schemas:
            ItemCreate:
              sku: {type: string, minLength: 3, maxLength: 64}
        ```

        ```json
        {"paths": {"/api/v1/items/{sku}": {"get": {"responses": {"200": {}, "404": {}}}}}}
        ```
        """
    )
    eps = _by_key(doc)
    post = eps["POST /api/v1/items"]
    assert post.details["status"] == [201] and post.details["errors"] == [409]
    assert post.line == 8
    assert eps["GET /api/v1/items/{sku}"].details["errors"] == [404]
    schema = eps["ItemCreate"]
    assert schema.kind == "model"
    assert schema.details["constraints"][0]["min"] == 3


def test_events_from_table_and_lead_paragraphs() -> None:
    doc = _doc(
        """
        # Order Service

        ## Kafka

        | Topic | Producer | Consumers | Payload |
        |-------|----------|-----------|---------|
        | `orders.created` | order-service | billing | `order_id`, `total` |
        | `payments.done` | payment-service | order-service | `order_id` |

        ## Events

        `users.registered` — published by identity-service, keyed by `user_id`:

        ```json
        {"user_id": "u1", "email": "a@b.c"}
        ```

        `orders.failed` — produced by this service. This is the dead-letter topic.
        """
    )
    ev = _by_key(doc)
    assert ev["orders.created"].details["direction"] == "produced"
    assert ev["orders.created"].details["fields"] == ["order_id", "total"]
    assert ev["payments.done"].details["direction"] == "consumed"
    assert ev["users.registered"].details["direction"] == "consumed"
    assert ev["users.registered"].details["fields"] == ["user_id", "email"]
    assert ev["orders.failed"].details["dlq"] is True
    assert ev["orders.failed"].details["direction"] == "produced"


def test_data_model_styles() -> None:
    doc = _doc(
        """
        # Shop

        ## Data model

        | Table | Columns |
        |-------|---------|
        | `carts` | `id` uuid PK, `owner` text |

        `orders`

        | Column | Type |
        |--------|------|
        | `id` | uuid |
        | `status` | text |

        A single table, `events`, managed with migrations:

        - `id` — uuid
        - `kind` — text

        ```sql
        CREATE TABLE audit (id uuid primary key, action text);
        ```
        """
    )
    m = _by_key(doc)
    assert m["carts"].details["columns"] == ["id", "owner"]
    assert m["orders"].details["columns"] == ["id", "status"]
    assert m["events"].details["columns"] == ["id", "kind"]
    assert m["audit"].details["columns"] == ["id", "action"]
    assert all(m[k].kind == "model" for k in ("carts", "orders", "events", "audit"))


def test_explicit_ids_in_tables_and_lists() -> None:
    doc = _doc(
        """
        # Shop

        ## Functional requirements

        | ID | Requirement |
        |----|-------------|
        | FR-1 | A client can create an order with 1 to 50 items. |

        - FR-2: A client can cancel a pending order, giving a reason (3-200 characters).

        ## Acceptance criteria

        | ID | Criterion |
        |----|-----------|
        | AC-1 | Creating an order returns 201. |

        ## Non-functional requirements

        - NFR-1: p95 latency below 200 ms.
        """
    )
    r = _by_key(doc)
    assert r["FR-1"].kind == "other" and r["FR-1"].line == 7
    assert r["FR-2"].details["constraints"][0] == {
        "field": "reason",
        "min": 3,
        "max": 200,
        "unit": "length",
        "line": 9,
    }
    assert r["AC-1"].kind == "acceptance"
    assert r["NFR-1"].kind == "nfr" and r["NFR-1"].details["latency"] is True


def test_bullets_without_ids_get_stable_derived_ids_and_full_text() -> None:
    text = """
        # Inbox

        ## Reliability

        - Offsets are committed only after the message has been stored.
        - A bad message never stops the consumer.

        ## Done when

        - [ ] A duplicate event produces exactly one notification.

        ## Non-functional

        - Test coverage of at least 85 %.
        """
    a, b = _doc(text), _doc(text)
    assert [r.id for r in a.requirements] == [r.id for r in b.requirements]
    kinds = {r.text: r.kind for r in a.requirements}
    assert kinds["Offsets are committed only after the message has been stored."] == "other"
    assert kinds["A duplicate event produces exactly one notification."] == "acceptance"
    cov = next(r for r in a.requirements if "coverage" in r.text)
    assert cov.kind == "nfr" and cov.details["coverage"] == 85.0
    assert all(r.id.split("-")[0] in {"REQ", "AC", "NFR"} for r in a.requirements)


def test_normative_prose_sentences_become_requirements() -> None:
    doc = _doc(
        """
        # Billing

        ## Why

        Customers must be happy.

        ## Kafka

        Producer: `acks=all`, idempotence enabled. The team likes Kafka.
        Failures are retried three times with exponential backoff.
        """
    )
    texts = [r.text for r in doc.requirements]
    assert "Producer: acks=all, idempotence enabled." in texts
    assert "Failures are retried three times with exponential backoff." in texts
    assert not any("happy" in t for t in texts)  # intro sections are not requirements
    assert not any("likes" in t for t in texts)


def test_diagram_fragment_refers_to_declared_endpoint() -> None:
    doc = _doc(
        """
        # Orders

        ## Lifecycle

        ```
        PENDING --POST /cancel--> CANCELLED
        ```

        ## API

        | Method | Path |
        |--------|------|
        | POST | `/api/v1/orders/{order_id}/cancel` |

        ```mermaid
        sequenceDiagram
            C->>S: POST /api/v1/orders/{id}/cancel
            C->>S: GET /api/v1/orders/{order_id}/history
        ```
        """
    )
    keys = [r.key for r in doc.requirements if r.kind == "endpoint"]
    assert keys == [
        "POST /api/v1/orders/{order_id}/cancel",
        "GET /api/v1/orders/{order_id}/history",
    ]


def test_schema_bullets_with_conditional_requirement() -> None:
    doc = _doc(
        """
        # Tickets

        ## API

        Schemas:

        - **StatusChange** — `status` (target), `resolution` (1-2000 characters, required when `status` is `resolved`).
        - **TicketCreate** — `subject` (3-200 characters), `contact_email` (at most 254 characters).
        """
    )
    r = _by_key(doc)
    res = r["StatusChange"].details["constraints"][0]
    assert res["field"] == "resolution" and res["required_when"] == ["status", "resolved"]
    assert r["StatusChange"].details["fields"] == ["status", "resolution"]
    fields = {c["field"] for c in r["TicketCreate"].details["constraints"]}
    assert fields == {"subject", "contact_email"}


def test_empty_binary_and_requirement_less_designs(tmp_path: Path) -> None:
    empty = tmp_path / "empty.md"
    empty.write_text("   \n", encoding="utf-8")
    doc = read_design(empty)
    assert doc.requirements == [] and "empty" in doc.problems[0]

    binary = tmp_path / "binary.md"
    binary.write_bytes(b"\x89PNG\x00\x00\x01\x02")
    doc = read_design(binary)
    assert doc.requirements == [] and "binary" in doc.problems[0]

    prose = tmp_path / "prose.md"
    prose.write_text("# Notes\n\nSome thoughts about the weather.\n", encoding="utf-8")
    doc = read_design(prose)
    assert doc.requirements == [] and "no requirement" in doc.problems[0]

    missing = read_design(tmp_path / "nope.md")
    assert missing.problems and "cannot be read" in missing.problems[0]
