"""Small recognisers over inline text: endpoints, topics, status codes, fields, constraints.

They run on the text of one block (a cell, an item, a sentence) that the markdown parser
has already isolated, never on the raw document.
"""

from __future__ import annotations

import re
from typing import Any

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
ENDPOINT_RE = re.compile(
    r"\b(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+`?(/[\w\-./{}:?=&%\u2026]*)"
)
PATH_RE = re.compile(r"^/[\w\-./{}:?=&…]*$")
STATUS_RE = re.compile(r"(?<![\w.])([1-5]\d\d)(?!\w|\.\d)")
TOPIC_RE = re.compile(r"^[a-z][a-z0-9_-]*(?:\.[a-z0-9_-]+)+$")
ID_RE = re.compile(
    r"^\s*\**\s*([A-Z][A-Z0-9]{0,5}-\d{1,4}[a-z]?)\b\s*\**\s*[:.)\-\u2014\u2013]?\s*"
    # `R1 \u2013 Register vehicle.` / `**FR3:** text`: a short letter prefix and a number, without
    # a hyphen, is an id only when a separator follows it
    r"|^\s*\**\s*([A-Z]{1,4}\d{1,3}[a-z]?)\s*\**\s*(?:[:)\u2014\u2013]|\.(?!\d))\s*\**\s*"
    r"|^\s*\**\s*([A-Z]{1,4}\d{1,3}[a-z]?)\s*\**\s+-\s+\**\s*"
)
FIELD_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]*(?:\[\])?$")
RANGE_RE = re.compile(
    r"\b([A-Za-z_][A-Za-z0-9_]*)`?\s*\(\s*(?:[^()]*?,\s*)?(\d+)\s*(?:\u2013|\u2014|-|to|\.\.)\s*(\d+)\s*([a-z ]*)([^)]*)\)"
)
MAX_RE = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)`?\s*\([^)]*?\bat most (\d+) characters")
REQUIRED_WHEN_RE = re.compile(r"required when `?(\w+)`? is `?(\w+)`?")
KNOWN_FILES = (".py", ".md", ".yaml", ".yml", ".json", ".toml", ".ini", ".txt", ".cfg")


def clean_path(raw: str) -> tuple[str, list[str]]:
    """`/api/v1/orders?customer_id=&limit=` -> ("/api/v1/orders", ["customer_id", "limit"])."""
    raw = raw.strip().strip("`").rstrip(".,:;->")
    path, _, query = raw.partition("?")
    params = [p.split("=", 1)[0] for p in query.split("&") if p.split("=", 1)[0]]
    path = path.rstrip("/") or "/"
    return path, [p for p in params if re.fullmatch(r"\w+", p)]


def endpoints_in(text: str) -> list[tuple[str, str, list[str]]]:
    out: list[tuple[str, str, list[str]]] = []
    for m in ENDPOINT_RE.finditer(text):
        path, params = clean_path(m.group(2))
        if path.endswith(KNOWN_FILES) or "{CATALOG" in path.upper():
            continue
        out.append((m.group(1), path, params))
    return out


def status_codes(text: str) -> list[int]:
    out: list[int] = []
    for m in STATUS_RE.finditer(text):
        code = int(m.group(1))
        if 200 <= code <= 599 and code not in out:
            out.append(code)
    return out


def topics_in(codes: list[str]) -> list[str]:
    out: list[str] = []
    for c in codes:
        c = c.strip()
        if (
            TOPIC_RE.match(c)
            and not c.endswith(KNOWN_FILES)
            and c not in out
            and not _looks_dotted_code(c)
        ):
            out.append(c)
    return out


def _looks_dotted_code(text: str) -> bool:
    # `orders.id`, `stock_items.reserved`: table.column references, not topics
    _head, _, tail = text.partition(".")
    return tail in {"id", "uuid"} or tail.endswith("_id") or tail.endswith("_at")


def field_names(codes: list[str]) -> list[str]:
    out: list[str] = []
    for c in codes:
        c = c.strip()
        if c.endswith("[]"):
            c = c[:-2]
        if FIELD_NAME_RE.match(c) and c not in out:
            out.append(c)
    return out


def explicit_id(text: str) -> tuple[str, str] | None:
    """`FR-1: text` / `**AC-2** text` -> ("FR-1", "text")."""
    m = ID_RE.match(text)
    if m is None:
        return None
    rid = m.group(1) or m.group(2) or m.group(3)
    return rid, text[m.end() :].strip()


def constraints_in(text: str, line: int) -> list[dict[str, Any]]:
    """Value and length ranges stated for named fields: `reason (3-200 characters)`."""
    out: list[dict[str, Any]] = []
    for m in RANGE_RE.finditer(text):
        name, lo, hi, unit, rest = (
            m.group(1),
            int(m.group(2)),
            int(m.group(3)),
            m.group(4),
            m.group(5),
        )
        if lo > hi:
            continue
        kind = (
            "length"
            if "char" in unit or "char" in rest
            else ("items" if "entr" in unit or "item" in unit else "value")
        )
        c: dict[str, Any] = {"field": name, "min": lo, "max": hi, "unit": kind, "line": line}
        rw = REQUIRED_WHEN_RE.search(m.group(0))
        if rw:
            c["required_when"] = [rw.group(1), rw.group(2)]
        out.append(c)
    for m in MAX_RE.finditer(text):
        out.append(
            {
                "field": m.group(1),
                "min": None,
                "max": int(m.group(2)),
                "unit": "length",
                "line": line,
            }
        )
    return out


def cell_constraint(field: str, rule: str, line: int) -> dict[str, Any] | None:
    """A schema table's rule cell: `3-200 characters`, `1-999`, `^[A-Z]{3}$`, `1-50 entries`."""
    rule = rule.strip()
    if rule.startswith("^") or rule.endswith("$"):
        return {"field": field, "pattern": rule, "unit": "pattern", "line": line}
    m = re.search(r"(\d+)\s*(?:\u2013|\u2014|-|to)\s*(\d+)\s*([a-z]*)", rule)
    if m:
        unit = m.group(3)
        kind = (
            "length"
            if unit.startswith("char")
            else ("items" if unit in {"entries", "items", "elements"} else "value")
        )
        return {
            "field": field,
            "min": int(m.group(1)),
            "max": int(m.group(2)),
            "unit": kind,
            "line": line,
        }
    return None


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())
