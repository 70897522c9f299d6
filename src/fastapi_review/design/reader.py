"""Tech design -> checkable requirements.

The design is parsed with markdown-it-py into blocks (headings, paragraphs, lists,
tables, code blocks); requirements are read from their structure:

* endpoints: tables with Method/Path columns (or a cell `POST /x`), headings
  (`### POST /api/v1/orders`), OpenAPI-like YAML/JSON `paths:` blocks, prose and
  sequence diagrams (`POST /api/v1/orders returns 201`); status codes, query
  parameters and request/response schemas where stated; a stated base path is
  applied to relative table paths;
* events: Kafka topics from tables (Topic column) or lead paragraphs
  (`` `users.registered` \u2014 published by ... ``), produced or consumed, payload
  fields, dead-letter topics;
* data model: tables and their columns (Table/Column tables, field lists,
  `CREATE TABLE`), and API schemas with their field constraints;
* functional requirements and acceptance criteria with explicit ids (FR-1, AC-2,
  NFR-1, ...) in tables or lists, or as bullet/checklist items and normative
  sentences with a derived, stable id (the full text is kept);
* non-functional targets (coverage, latency) as kind `nfr`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fastapi_review.design.blocks import Block, Inline, ListItem, parse_blocks
from fastapi_review.design.extract import (
    FIELD_NAME_RE,
    METHODS,
    cell_constraint,
    clean_path,
    constraints_in,
    endpoints_in,
    explicit_id,
    field_names,
    slug,
    status_codes,
    topics_in,
)
from fastapi_review.models import Requirement, RequirementKind

_INTRO = re.compile(
    r"\b(why|overview|context|background|introduction|summary|goals?|non-goals|scope|motivation|"
    r"glossary|open questions?|references?|history|changelog|alternatives|risks|appendix)\b",
    re.I,
)
_ACCEPTANCE = re.compile(
    r"\b(acceptance|done when|definition of done|success criteria|exit criteria)\b", re.I
)
_NFR = re.compile(
    r"\b(non-?functional|nfrs?|quality|operations|operational|performance|observability|"
    r"reliability targets|slos?)\b",
    re.I,
)
_EVENTS = re.compile(r"\b(events?|kafka|topics?|messag\w*|messaging|streams?)\b", re.I)
_DATA = re.compile(r"\b(data|model|database|persistence|storage|tables?|entities)\b", re.I)
_NORMATIVE = re.compile(
    r"\b(must|shall|should|never|always|only|every|each|at once|at least|at most|no longer|"
    r"returns?|answers?|rejects?|rejected|carr(?:y|ies)|requires?|required|goes|go to|maps? to|"
    r"retried|retries|committed|commits?|publish(?:es|ed)?|produces?|consumes?|stored|stores?|"
    r"go(?:es)? through|"
    r"validated|logged|idempotent|enabled|disabled|deduplicate\w*|skipped|acknowledged|"
    r"surfaces?|rolled back|rolls?|clears?|keeps?|fails?|counts? as|is off|is on|echoed|bound|"
    r"will|cannot|can not|can be|may not|allowed|forbidden|refuse[sd]?|removes?|stops?|"
    r"comes? from|prefixed|checks?|starts? (with|at|as)|keyed by)\b"
    # a prohibition: `no credentials live in the repository`
    r"|^\W*no\s+[a-z]+\s+(?!doubt\b)[a-z]+"
    # a stated setting: `acks=all`, `enable.idempotence=true`
    r"|\b[a-z][\w.]*=[\w-]+"
    # present-tense passive voice states behaviour: "is refused", "are serialised", "is opened"
    r"|\b(is|are)\s+(\w+ly\s+)?(not\s+)?[a-z]+(ed|en)\b"
    # an HTTP status the behaviour answers with: "(422)", "with 409"
    r"|(?<![\w.])[245]\d\d(?!\w|\.\d|%)(?!\s*(ms|s|seconds|req|requests|%|characters|items|entries)\b)",
    re.I,
)
# sentences about the document itself, not about the service
_META = re.compile(
    r"\b(excerpt|this (document|design|section)|(given|shown|described|listed) (as|below|above|in)|"
    r"as follows|see (below|above|section)|"
    # plans and accepted limitations state what the change does NOT have to do
    r"(is|are) planned|later (version|iteration|release|phase)|in a future|out of scope)\b",
    re.I,
)
_TASK = re.compile(r"^\[[ xX]\]\s*")
_PREFIX: dict[str, str] = {"acceptance": "AC", "nfr": "NFR", "other": "REQ"}
_ID_KIND: dict[str, RequirementKind] = {"AC": "acceptance", "NFR": "nfr", "NF": "nfr"}


@dataclass
class DesignDoc:
    path: Path
    text: str
    requirements: list[Requirement] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    base_path: str = ""
    service: str = ""


@dataclass
class _State:
    doc: DesignDoc
    blocks: list[Block]
    ids: set[str] = field(default_factory=set)
    keys: dict[str, Requirement] = field(default_factory=dict)
    secondary: list[tuple[str, str, list[str], str, int, list[str]]] = field(default_factory=list)
    schemas: dict[str, Requirement] = field(default_factory=dict)
    # kept as requirements are added: the count of each kind (for the next id) and the
    # endpoints by normalised path (`GET /orders/{id}` and `GET /orders/{order_id}` are one)
    counts: dict[str, int] = field(default_factory=dict)
    endpoints: dict[str, Requirement] = field(default_factory=dict)


def read_design(path: Path) -> DesignDoc:
    """Read a design file; never raises on odd input, explains itself in `problems`."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return DesignDoc(path=path, text="", problems=[f"design {path} cannot be read: {exc}"])
    if b"\x00" in raw[:4096]:
        return DesignDoc(
            path=path, text="", problems=[f"design {path.name} is a binary file, not markdown"]
        )
    text = raw.decode("utf-8", errors="replace")
    return parse_design(text, path)


def parse_design(text: str, path: Path | None = None) -> DesignDoc:
    doc = DesignDoc(path=path or Path("tech-design.md"), text=text)
    if not text.strip():
        doc.problems.append("the design is empty: no requirement can be traced")
        return doc
    try:
        blocks = parse_blocks(text)
    except Exception as exc:  # markdown-it is robust, but a design must never sink the review
        doc.problems.append(f"the design could not be parsed as markdown: {exc}")
        return doc
    st = _State(doc, blocks)
    _read(st)
    if not doc.requirements:
        doc.problems.append(
            "no requirement found in the design (no endpoint, event, data model, "
            "requirement list or acceptance criteria): traceability cannot be assessed"
        )
    return doc


# --- helpers ------------------------------------------------------------------------
def _section_kind(section: list[str]) -> str:
    for heading in reversed(section):
        if re.search(r"\bnon-?functional\b", heading, re.I):
            return "nfr"
        if _ACCEPTANCE.search(heading):
            return "acceptance"
        if _NFR.search(heading) and not re.search(r"\bfunctional requirements\b", heading, re.I):
            return "nfr"
        if re.search(r"\b(functional )?requirements?\b", heading, re.I):
            return "other"
    return "other"


def _is_intro(section: list[str]) -> bool:
    if len(section) <= 1:
        return True  # before the first chapter: title, metadata
    return bool(_INTRO.search(section[-1]))


def _in(section: list[str], pattern: re.Pattern[str]) -> bool:
    return any(pattern.search(h) for h in section[1:])


def _derived_id(kind: str, text: str) -> str:
    digest = hashlib.sha1(" ".join(text.lower().split()).encode()).hexdigest()[:6]
    return f"{_PREFIX.get(kind, 'REQ')}-{digest}"


def _add(st: _State, req: Requirement) -> Requirement | None:
    if req.id in st.ids:
        if req.kind in {"endpoint", "event", "model"}:
            return st.keys.get(req.key.lower())
        req.id = f"{req.id}-{req.line}"
        if req.id in st.ids:
            return None
    st.ids.add(req.id)
    st.doc.requirements.append(req)
    st.counts[req.kind] = st.counts.get(req.kind, 0) + 1
    if req.kind in {"endpoint", "event", "model"}:
        st.keys[req.key.lower()] = req
    if req.kind == "endpoint":
        st.endpoints.setdefault(_norm_path(req.key), req)
    return req


_ID_PREFIX = {"endpoint": "EP", "event": "EV", "model": "DM"}


def _fill_details(existing: Requirement, details: dict[str, Any]) -> Requirement:
    """A requirement stated again: what the new statement adds fills the gaps."""
    for k, v in details.items():
        if v and not existing.details.get(k):
            existing.details[k] = v
    return existing


def _add_numbered(
    st: _State,
    kind: str,
    key: str,
    text: str,
    line: int,
    section: list[str],
    details: dict[str, Any],
) -> Requirement | None:
    """An endpoint, event or model requirement, numbered after the ones of its kind."""
    n = st.counts.get(kind, 0) + 1
    return _add(
        st,
        Requirement(
            id=f"{_ID_PREFIX[kind]}-{n}",
            kind=kind,
            key=key,
            text=text,
            line=line,
            section=section[-1] if section else "",
            details=details,
        ),
    )


def _norm_path(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path.lower()).rstrip("/") or "/"


def _nfr_details(text: str) -> dict[str, Any]:
    details: dict[str, Any] = {}
    low = text.lower()
    if "coverage" in low:
        pcts = [float(p) for p in re.findall(r"(\d+(?:\.\d+)?)\s*%", text)]
        if pcts:
            details["coverage"] = pcts[0]
            if len(pcts) > 1:
                details["coverage_other"] = pcts[1:]
    if re.search(r"\b(p9\d|p50|latency|response time)\b", low) or re.search(r"\d+\s*ms\b", low):
        details["latency"] = True
    return details


def _other_req(
    st: _State,
    kind: str,
    text: str,
    line: int,
    section: list[str],
    rid: str | None = None,
    sentence: str | None = None,
) -> None:
    text = " ".join(_TASK.sub("", text).split())
    if len(text.split()) < 3:
        return
    found = explicit_id(text) if rid is None else None
    if found is not None:
        rid, body = found
        text = body or text
    if rid is not None:
        prefix = re.sub(r"[-\d].*$", "", rid.upper())
        kind = _ID_KIND.get(prefix, kind if kind != "other" else "other")
    details = _nfr_details(text)
    constraints = constraints_in(text, line)
    if constraints:
        details["constraints"] = constraints
    if details.get("coverage") is not None or details.get("latency"):
        kind = "nfr" if kind == "other" else kind
    if sentence is not None and sentence != text:
        details["sentence"] = sentence  # the whole sentence this clause was cut from
    final_kind: RequirementKind = kind  # type: ignore[assignment]
    rid = rid or _derived_id(kind, text)
    _add(
        st,
        Requirement(
            id=rid,
            kind=final_kind,
            key=rid,
            text=text,
            line=line,
            section=section[-1] if section else "",
            details=details,
        ),
    )


def _endpoint(
    st: _State,
    method: str,
    path: str,
    line: int,
    section: list[str],
    text: str,
    details: dict[str, Any],
) -> Requirement | None:
    key = f"{method} {path}"
    existing = st.keys.get(key.lower())
    if existing is None:
        existing = st.endpoints.get(_norm_path(key))
    if existing is not None:
        return _fill_details(existing, details)
    details = {"method": method, "path": path, **details}
    return _add_numbered(st, "endpoint", key, text, line, section, details)


_PROBE = re.compile(r"^/(health\w*|healthz|livez|readyz|ready|live|metrics|ping)(/|$)", re.I)


def _apply_base(st: _State, path: str) -> tuple[str, list[str]]:
    base = st.doc.base_path
    if not base or path.startswith(base + "/") or path == base:
        return path, []
    if _PROBE.match(path):
        # probes are served at the root by convention; the prefixed form stays an alternative
        return path, [base + path]
    return base + path, [path]


def _strip_parens(text: str) -> str:
    prev = None
    while prev != text:
        prev = text
        text = re.sub(r"\([^()]*\)", " ", text)
    return text


def _fields_outside_parens(inl: Inline) -> list[str]:
    outside = _strip_parens(inl.text)
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", outside))
    return [c for c in field_names(inl.codes) if c in words]


# --- main walk ----------------------------------------------------------------------
def _read(st: _State) -> None:
    blocks = st.blocks
    title = next((b.inline.text for b in blocks if b.kind == "heading" and b.level == 1), "")
    st.doc.service = slug(re.split(r"\s[\u2014\u2013:-]\s|\s-\s", title)[0]) if title else ""
    for b in blocks:
        if b.kind == "paragraph" and not st.doc.base_path:
            low = b.inline.text.lower()
            if re.search(
                r"\bbase path\b|\blive under\b|\bare served under\b|\bprefix(ed)? (with|by)\b", low
            ):
                base = next((c for c in b.inline.codes if c.startswith("/")), None)
                if base:
                    st.doc.base_path = base.rstrip("/")

    endpoint_ctx: Requirement | None = None
    event_ctx: Requirement | None = None
    event_ctx_section: list[str] = []
    for i, b in enumerate(blocks):
        prev = blocks[i - 1] if i > 0 else None
        if b.kind == "heading":
            endpoint_ctx = None
            event_ctx = None
            eps = endpoints_in(b.inline.text)
            heading_topics = topics_in(b.inline.codes) if not eps else []
            if heading_topics and _in([*b.section, b.inline.text], _EVENTS):
                # `### Consumed — `hr.employee-offboarded``: the blocks below describe it
                for topic in heading_topics:
                    event_ctx = _event(
                        st,
                        topic,
                        b.line,
                        [*b.section, b.inline.text],
                        b.inline.text,
                        {
                            "direction": _direction(b.inline.text, st.doc.service)
                            or _section_direction(b.section, st.doc.service),
                            "dlq": _is_dlq(topic, b.inline.text),
                            "source": "heading",
                        },
                    )
                event_ctx_section = [*b.section, b.inline.text]
                continue
            if eps:
                for method, path, params in eps:
                    full, alt = (
                        _apply_base(st, path)
                        if not path.startswith(st.doc.base_path or "//")
                        else (path, [])
                    )
                    endpoint_ctx = _endpoint(
                        st,
                        method,
                        full,
                        b.line,
                        [*b.section, b.inline.text],
                        b.inline.text,
                        {"query": params, "alt_paths": alt, "source": "heading"},
                    )
            continue
        if b.kind == "table":
            _table(st, b, prev)
            continue
        if b.kind == "code":
            _code(st, b, prev, event_ctx, endpoint_ctx)
            continue
        if b.kind == "paragraph":
            # a lead paragraph naming an endpoint or a topic opens a context for the blocks after it
            eps = endpoints_in(b.inline.text)
            lead_topic = _lead_topic(b)
            if lead_topic is not None and _in(b.section, _EVENTS):
                event_ctx = _event_from_lead(st, b, lead_topic)
                event_ctx_section = b.section
                endpoint_ctx = None
                continue
            if eps and len(eps) >= 1 and not _is_intro(b.section):
                endpoint_ctx = None
                for method, path, params in eps:
                    codes = status_codes(b.inline.text)
                    ep = _endpoint(
                        st,
                        method,
                        path,
                        b.line,
                        b.section,
                        b.inline.text,
                        {
                            "query": params,
                            "status": [c for c in codes if c < 300],
                            "source": "prose",
                        },
                    )
                    if len(eps) == 1:
                        endpoint_ctx = ep
                if len(eps) == 1 and len(_strip_lead(b.inline.text).split()) < 4:
                    continue
                if len(eps) > 1:
                    continue
            if endpoint_ctx is not None and not eps:
                _endpoint_prose(endpoint_ctx, b)
            if event_ctx is not None and b.section != event_ctx_section:
                event_ctx = None
            # the statement first: a topic's own requirement restates the sentence
            _prose(st, b)
            if _in(b.section, _EVENTS) and not _is_intro(b.section):
                _prose_events(st, b)
            continue
        if b.kind == "list":
            if endpoint_ctx is not None and _follows(blocks, i, endpoint_ctx):
                _endpoint_details(endpoint_ctx, b)
                continue
            if event_ctx is not None and _follows_event(blocks, i):
                event_ctx.details.setdefault("notes", []).extend(it.inline.text for it in b.items)
                continue
            if _in(b.section, _EVENTS) and not _is_intro(b.section) and _event_list(st, b, prev):
                continue
            if _table_list(st, b, prev):
                continue
            if _field_list(st, b, prev):
                continue
            if _schema_list(st, b):
                continue
            _list(st, b, prev)
    # prose and diagram mentions of endpoints: only when no table/heading stated them
    for method, path, params, text, line, section in st.secondary:
        if _known_endpoint(st, method, path):
            continue
        details: dict[str, Any] = {"query": params, "source": "prose"}
        if len(endpoints_in(text)) == 1:
            # the statement names this endpoint alone: its success status is the endpoint's
            ok = [c for c in status_codes(_first_sentence_with_status(text)) if c < 300]
            if len(set(ok)) == 1:
                details["status"] = ok[:1]
            if re.search(r"\bpaginated\b|\bpagination\b", text, re.I):
                details["paginated"] = True
        _endpoint(st, method, path, line, section, text, details)
    _attach_schemas(st)


def _first_sentence_with_status(text: str) -> str:
    """The first sentence stating an HTTP status (the later ones describe other cases)."""
    for s in sentences(text):
        if status_codes(s):
            return s
    return ""


def _strip_lead(text: str) -> str:
    return re.sub(r"\b(GET|POST|PUT|PATCH|DELETE)\s+/\S*", "", text)


def _known_endpoint(st: _State, method: str, path: str) -> bool:
    want = _norm_path(path).strip("/").split("/")
    for r in st.doc.requirements:
        if r.kind != "endpoint" or r.details.get("method") != method:
            continue
        have = _norm_path(str(r.details.get("path", ""))).strip("/").split("/")
        # a fragment like `POST /cancel` refers to the full path ending in it
        if len(want) <= len(have) and [w for w in want] == have[len(have) - len(want) :]:
            return True
        if [w if w != "{}" else "{}" for w in want] == have:
            return True
    return False


def _follows(blocks: list[Block], i: int, req: Requirement) -> bool:
    prev = blocks[i - 1]
    return (
        prev.kind in {"paragraph", "heading", "list", "code"}
        and req.line is not None
        and prev.line >= req.line
    )


def _follows_event(blocks: list[Block], i: int) -> bool:
    prev = blocks[i - 1]
    return prev.kind in {"paragraph", "code"}


def _endpoint_details(req: Requirement, b: Block) -> None:
    for it in b.items:
        text = it.inline.text
        low = text.lower()
        codes = status_codes(text)
        if re.search(r"\bquery\b", low):
            names = _fields_outside_parens(it.inline)
            req.details["query"] = list(dict.fromkeys([*req.details.get("query", []), *names]))
        if re.search(r"\breturns?\b|\banswers?\b", low):
            ok = [c for c in codes if c < 300]
            if ok and not req.details.get("status"):
                req.details["status"] = ok
        req.details.setdefault("notes", []).append(text)


def _endpoint_prose(req: Requirement, b: Block) -> None:
    """A paragraph under an endpoint's heading: `Answers 201.`, `Returns one booking, or 404.`"""
    for sentence in sentences(b.inline.text):
        if not re.search(r"\b(returns?|answers?|responds?|status)\b", sentence, re.I):
            continue
        codes = status_codes(sentence)
        ok = [c for c in codes if c < 300]
        if ok and not req.details.get("status"):
            req.details["status"] = ok
        errors = req.details.setdefault("errors", [])
        errors.extend(c for c in codes if c >= 400 and c not in errors)
    topics = topics_in(b.inline.codes)
    if topics and re.search(r"\bpublish|\bemits?\b|\bproduces?\b|\bsends?\b", b.inline.text, re.I):
        pubs = req.details.setdefault("publishes", [])
        pubs.extend(t for t in topics if t not in pubs)
    req.details.setdefault("notes", []).append(b.inline.text)


def _lead_topic(b: Block) -> str | None:
    if not b.inline.codes:
        return None
    first = b.inline.codes[0]
    if not b.inline.text.startswith(first):
        return None
    topics = topics_in([first])
    return topics[0] if topics else None


def _direction(text: str, service: str) -> str | None:
    low = text.lower()
    if re.search(
        r"\b(produced|published|emitted|sent)\s+by\s+(this service|us|the service)\b", low
    ):
        return "produced"
    if re.search(r"\b(dead-?letter)", low) and "consum" not in low:
        return "produced"
    m = re.search(r"\b(produced|published|emitted)\s+by\s+([\w-]+)", low)
    if m:
        return "produced" if service and slug(m.group(2)) == service else "consumed"
    if re.search(r"\bconsum(ed|es|ing)\b|\bwe consume\b|\blistens? to\b|\bsubscribes?\b", low):
        return "consumed"
    if re.search(r"\bproduced\b|\bpublishe[sd]\b|\bwe produce\b|\bproduces\b", low):
        return "produced"
    return None


def _is_dlq(topic: str, text: str) -> bool:
    low = text.lower()
    return bool(
        re.search(
            r"(^|[._-])(dlq|dlt|dead[-_]?letter|deadletter|failed|errors?|poison)([._-]|$)", topic
        )
        or re.search(r"\bdead[- ]letter", low)
    )


def _event(
    st: _State, topic: str, line: int, section: list[str], text: str, details: dict[str, Any]
) -> Requirement | None:
    existing = st.keys.get(topic.lower())
    if existing is not None:
        return _fill_details(existing, details)
    return _add_numbered(st, "event", topic, text, line, section, {"topic": topic, **details})


_CARRIES = re.compile(r"\b(carr(?:y|ies)|fields?|payload|contains?|with)\b", re.I)


def _prose_events(st: _State, b: Block) -> None:
    """Topics named in the sentences of an events section, with direction and payload.

    `It consumes `orders.paid` ...; each message carries `event_id`, `order_id`.` and
    `Invalid messages are forwarded to `x.dlq`.`: the verb of the sentence gives the
    direction, field-like code spans after "carries"/"fields" the payload.
    """
    topics_all = topics_in(b.inline.codes)
    if not topics_all:
        return
    # `Produced events are JSON objects ...`: a paragraph opened by a direction sets it for
    # the sentences after it that state none of their own
    lead = re.match(
        r"\W*(?:the\s+)?(produced|published|outgoing|emitted|consumed|incoming)\s+"
        r"(?:events|messages|topics)\b",
        b.inline.text,
        re.I,
    )
    para_dir = None
    if lead is not None:
        para_dir = "consumed" if lead.group(1).lower() in {"consumed", "incoming"} else "produced"
    for sentence in sentences(b.inline.text):
        named = [
            t for t in topics_all if re.search(rf"(?<![\w.-]){re.escape(t)}(?![\w-])", sentence)
        ]
        if not named:
            continue
        direction = _direction(sentence, st.doc.service)
        m = _CARRIES.search(sentence)
        tail = sentence[m.end() :] if m else ""
        at = {
            f: hit.start()
            for f in field_names([c for c in b.inline.codes if c in tail])
            if not topics_in([f])
            and (hit := re.search(rf"(?<![\w.-]){re.escape(f)}(?![\w-]|\.\w)", tail)) is not None
        }
        # one sentence naming several topics mixes their payloads: no field list for any
        fields = sorted(at, key=lambda f: at[f]) if len(named) == 1 else []
        for topic in named:
            dlq = _is_dlq(topic, sentence)
            _event(
                st,
                topic,
                b.line,
                b.section,
                sentence,
                {
                    "direction": direction or ("produced" if dlq else para_dir),
                    "fields": [] if dlq else fields,
                    "dlq": dlq,
                    "source": "prose",
                },
            )


def _section_direction(section: list[str], service: str) -> str | None:
    """`### Produced` / `### Consumed`: the nearest heading stating a direction."""
    for heading in reversed(section[1:]):
        found = _direction(heading, service)
        if found is not None:
            return found
    return None


def _payload_fields(inl: Inline, topic: str) -> list[str]:
    """Payload fields of an event item: a `{"a", "b"}` code span, else field-like code spans."""
    for code in inl.codes:
        body = code.strip()
        if body.startswith("{") and body.endswith("}"):
            names = re.findall(r"[\"']?([A-Za-z_][A-Za-z0-9_]*)[\"']?\s*(?=[,:}])", body)
            return list(dict.fromkeys(n for n in names if FIELD_NAME_RE.match(n)))
    head = _strip_parens(inl.text.split(";", 1)[0])
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", head))
    return [c for c in field_names(inl.codes) if c in words and c != topic]


def _event_list(st: _State, b: Block, prev: Block | None) -> bool:
    """`- `desk.booking-created` — `{"booking_id", "day"}`` / `1. `x.y` with `a`, `b``.

    Items led by a topic are the events; the direction comes from the item, else from
    the paragraph leading the list (`It produces two events:`), else from the heading.
    """
    led = [(it, t) for it in b.items if (t := _lead_topic_of(it.inline)) is not None]
    if not led or len(led) < 0.6 * len(b.items):
        return False
    lead = prev.inline.text if prev is not None and prev.kind == "paragraph" else ""
    for it, topic in led:
        text = it.inline.text
        dlq = _is_dlq(topic, text)
        direction = (
            _direction(text, st.doc.service)
            or (_direction(lead, st.doc.service) if lead else None)
            or _section_direction(b.section, st.doc.service)
            or ("produced" if dlq else None)
        )
        _event(
            st,
            topic,
            it.line,
            b.section,
            text,
            {
                "direction": direction,
                "fields": [] if dlq else _payload_fields(it.inline, topic),
                "dlq": dlq,
                "source": "list",
            },
        )
    return True


def _lead_topic_of(inl: Inline) -> str | None:
    if not inl.codes or not inl.text.startswith(inl.codes[0]):
        return None
    topics = topics_in([inl.codes[0]])
    return topics[0] if topics else None


_TABLE_HEAD = re.compile(r"^([A-Za-z_][\w.]*)\s*\((.*)\)$", re.S)
_IDENT = re.compile(r"[a-z_][a-z0-9_]*")


def _column_words(text: str) -> list[str] | None:
    """`id (UUID), email (unique), created_at` -> the column names; None when a part is prose."""
    out: list[str] = []
    for part in _strip_parens(text).split(","):
        words = part.strip().strip(".;").split()
        if not words:
            continue
        if not _IDENT.fullmatch(words[0]):
            return None
        out.append(words[0])
    return out


def _table_list(st: _State, b: Block, prev: Block | None) -> bool:
    """Tables written as items: `- `desks(id text pk, floor text)`` or `- `members` — id, email`."""
    lead = prev.inline.text.lower() if prev is not None and prev.kind == "paragraph" else ""
    if not (_in(b.section, _DATA) or re.search(r"\btables\b", lead)):
        return False
    found: list[tuple[ListItem, str, list[str], bool]] = []
    for it in b.items:
        codes = it.inline.codes
        if not codes or not it.inline.text.startswith(codes[0]):
            continue
        head = codes[0].strip()
        m = _TABLE_HEAD.match(head)
        if m is not None:
            cols = [
                p.split()[0]
                for p in m.group(2).split(",")
                if p.split() and _IDENT.fullmatch(p.split()[0])
            ]
            if cols:
                found.append((it, m.group(1), cols, True))
            continue
        if not re.fullmatch(r"[A-Za-z_][\w.]*", head):
            continue
        rest = it.inline.text[len(codes[0]) :].lstrip(" \u2014\u2013-:")
        cols = _column_words(rest) or []
        if len(cols) >= 2:
            found.append((it, head, cols, False))
    if not found or len(found) < 0.6 * len(b.items):
        return False
    if not any(paren for *_x, paren in found):
        # `name — a, b` items are also how fields are described (`id` — uuid, required):
        # tables need two items and column-like names
        cols_all = [c for _i, _n, cols, _p in found for c in cols]
        if len(found) < 2 or not any("_" in c or c == "id" for c in cols_all):
            return False
    for it, name, cols, _paren in found:
        _model(st, name, it.line, b.section, f"table {name}: " + ", ".join(cols), cols)
    return True


def _event_from_lead(st: _State, b: Block, topic: str) -> Requirement | None:
    text = b.inline.text
    direction = _direction(text, st.doc.service)
    dlq = _is_dlq(topic, text)
    if dlq and direction is None:
        direction = "produced"
    return _event(st, topic, b.line, b.section, text, {"direction": direction, "dlq": dlq})


def _model(
    st: _State, table: str, line: int, section: list[str], text: str, columns: list[str]
) -> Requirement | None:
    existing = st.keys.get(table.lower())
    if existing is not None and existing.kind == "model":
        cols = existing.details.setdefault("columns", [])
        cols.extend(c for c in columns if c not in cols)
        return existing
    return _add_numbered(
        st, "model", table, text, line, section, {"table": table, "columns": columns}
    )


# --- tables -------------------------------------------------------------------------
def _col(header: list[str], *names: str) -> int | None:
    for idx, h in enumerate(header):
        for n in names:
            if h == n or h.startswith(n + " ") or h.startswith(n + "(") or h.endswith(" " + n):
                return idx
    return None


def _cell(row: list[Inline], idx: int | None) -> Inline:
    if idx is None or idx >= len(row):
        return Inline("")
    return row[idx]


def _table(st: _State, b: Block, prev: Block | None) -> None:
    header = [h.text.lower().strip() for h in b.header]
    c_method = _col(header, "method", "verb")
    c_path = _col(header, "path", "endpoint", "route", "url", "resource")
    c_id = _col(header, "id", "#", "ref")
    c_topic = _col(header, "topic", "topics", "channel")
    c_table = _col(header, "table", "entity")
    c_columns = _col(header, "columns", "fields", "attributes")
    c_column = _col(header, "column", "field")
    c_schema = _col(header, "schema", "model")
    c_rules = _col(header, "rules", "constraints", "validation", "notes")
    c_success = _col(header, "success", "response", "returns", "status")
    c_errors = _col(header, "errors", "error", "failure")
    c_request = _col(header, "request", "request body", "body")
    c_query = _col(header, "query", "parameters", "params")
    c_dir = _col(header, "direction", "role")
    c_producer = _col(header, "producer", "producers", "published by")
    c_consumer = _col(header, "consumers", "consumer", "consumed by")
    c_payload = _col(header, "payload", "fields", "message", "schema", "body", "content", "data")
    c_when = _col(header, "emitted when", "published when", "produced when", "sent when", "trigger")

    if c_method is not None and c_path is not None:
        raws = [(_cell(r, c_path).codes or [_cell(r, c_path).text])[0] for _l, r in b.rows]
        base = st.doc.base_path
        relative = bool(base) and not any(x.startswith(base + "/") or x == base for x in raws)
        for line, row in b.rows:
            method = _cell(row, c_method).text.strip().upper()
            raw = (_cell(row, c_path).codes or [_cell(row, c_path).text])[0]
            if method not in METHODS or not raw.startswith("/"):
                continue
            path, params = clean_path(raw)
            full, alt = _apply_base(st, path) if relative else (path, [])
            success = status_codes(_cell(row, c_success).text) if c_success is not None else []
            details: dict[str, Any] = {
                "query": params + field_names(_cell(row, c_query).codes),
                "status": [c for c in success if c < 300],
                "errors": status_codes(_cell(row, c_errors).text),
                "alt_paths": alt,
                "source": "table",
            }
            for cell in row:
                if re.match(r"query\b", cell.text.strip(), re.I):
                    details["query"] += [
                        f for f in field_names(cell.codes) if f not in details["query"]
                    ]
            req_schema = _schema_name(_cell(row, c_request))
            if req_schema:
                details["request"] = req_schema
            resp_schema = _schema_name(_cell(row, c_success))
            if resp_schema:
                details["response"] = resp_schema
            other = " ".join(c.text for c in row)
            topics = topics_in([c for cell in row for c in cell.codes])
            if topics:
                details["publishes"] = topics
            _endpoint(st, method, full, line, b.section, other, details)
        return
    if c_topic is not None:
        for line, row in b.rows:
            topics = topics_in(_cell(row, c_topic).codes or [_cell(row, c_topic).text])
            if not topics:
                continue
            topic = topics[0]
            text = " | ".join(c.text for c in row)
            direction: str | None = None
            if c_dir is not None:
                direction = _direction(_cell(row, c_dir).text, st.doc.service)
            elif c_producer is not None or c_consumer is not None:
                prod = slug(_cell(row, c_producer).text)
                cons = [slug(x) for x in re.split(r"[,;/]| and ", _cell(row, c_consumer).text)]
                if st.doc.service and prod == st.doc.service:
                    direction = "produced"
                elif st.doc.service and st.doc.service in cons:
                    direction = "consumed"
            if direction is None:
                # no direction column: the row's own words ("consumed from x"), else a
                # "when is it emitted" column says the service produces it
                direction = _direction(text, st.doc.service)
                if direction is None and c_when is not None:
                    direction = "produced"
            payload = _cell(row, c_payload) if c_payload is not None else Inline("")
            fields = _fields_outside_parens(payload) if payload.codes else []
            group = re.search(r"\bgroup\s+`?([\w.-]+)", text)
            _event(
                st,
                topic,
                line,
                b.section,
                text,
                {
                    "direction": direction,
                    "fields": [f for f in fields if not topics_in([f])],
                    "dlq": _is_dlq(topic, text),
                    "group": group.group(1) if group else None,
                },
            )
        return
    if c_table is not None:
        for line, row in b.rows:
            cell = _cell(row, c_table)
            name = (cell.codes or [cell.text])[0].strip()
            if not re.fullmatch(r"[A-Za-z_][\w.]*", name):
                continue
            cols_cell = _cell(row, c_columns) if c_columns is not None else Inline("")
            cols = _fields_outside_parens(cols_cell) if cols_cell.codes else []
            _model(st, name, line, b.section, " | ".join(c.text for c in row), cols)
        return
    if c_schema is not None and c_column is not None:
        current = ""
        for line, row in b.rows:
            name = _schema_name(_cell(row, c_schema)) or ""
            if name:
                current = name
            if not current:
                continue
            fcell = _cell(row, c_column)
            names = field_names(fcell.codes or [fcell.text])
            schema = _schema_req(st, current, line, b.section)
            for f in names:
                schema.details.setdefault("fields", []).append(f)
                rule = _cell(row, c_rules).text if c_rules is not None else ""
                c = cell_constraint(
                    f, (_cell(row, c_rules).codes or [rule])[0] if rule else "", line
                )
                if c is not None:
                    schema.details.setdefault("constraints", []).append(c)
        return
    if c_column is not None:
        owner = _owner_name(prev)
        if owner is None:
            return
        table_cols: list[str] = []
        for _line, row in b.rows:
            fcell = _cell(row, c_column)
            table_cols.extend(field_names(fcell.codes or [fcell.text]))
        _model(st, owner, b.line, b.section, f"table {owner}: " + ", ".join(table_cols), table_cols)
        return
    if c_id is not None:
        kind = _section_kind(b.section)
        for line, row in b.rows:
            rid_cell = _cell(row, c_id).text.strip().strip("*")
            found = explicit_id(rid_cell + " x")
            if found is None:
                continue
            text = " ".join(c.text for j, c in enumerate(row) if j != c_id)
            _other_req(st, kind, text, line, b.section, rid=found[0])
            # a requirement row naming its endpoint (`POST /x ... answers 201`) states it too
            for m_, p_, q_ in endpoints_in(text):
                st.secondary.append((m_, p_, q_, text, line, b.section))
        return
    # any other table: endpoints written in a cell as `POST /x`
    for line, row in b.rows:
        for cell in row:
            for method, path, params in endpoints_in(cell.text):
                full, alt = _apply_base(st, path)
                _endpoint(
                    st,
                    method,
                    full,
                    line,
                    b.section,
                    " | ".join(c.text for c in row),
                    {"query": params, "alt_paths": alt, "source": "table"},
                )


def _schema_name(cell: Inline) -> str | None:
    for c in cell.codes + cell.bold + cell.text.split():
        c = c.strip().rstrip("[]")
        if re.fullmatch(r"[A-Z][A-Za-z0-9]+", c) and c not in METHODS:
            return c
    return None


def _owner_name(prev: Block | None) -> str | None:
    if prev is None:
        return None
    if (
        prev.kind in {"paragraph", "heading"}
        and prev.inline.codes
        and (prev.kind == "heading" or len(prev.inline.text.split()) <= 12)
    ):
        name = (
            prev.inline.codes[-1]
            if prev.kind == "paragraph" and "table" in prev.inline.text.lower()
            else prev.inline.codes[0]
        )
        if re.fullmatch(r"[A-Za-z_][\w.]*", name):
            return name
    if prev.kind == "heading" and re.fullmatch(r"[A-Za-z_]\w*", prev.inline.text.strip()):
        return prev.inline.text.strip()
    return None


def _schema_req(st: _State, name: str, line: int, section: list[str]) -> Requirement:
    existing = st.schemas.get(name)
    if existing is not None:
        return existing
    req = Requirement(
        id=f"SC-{len(st.schemas) + 1}",
        kind="model",
        key=name,
        text=f"schema {name}",
        line=line,
        section=section[-1] if section else "",
        details={"schema": name, "fields": [], "constraints": []},
    )
    st.schemas[name] = req
    return req


def _attach_schemas(st: _State) -> None:
    for name, req in st.schemas.items():
        req.text = f"schema {name}: " + ", ".join(req.details.get("fields", []))
        if req.key.lower() in st.keys:
            continue
        _add(st, req)


# --- code blocks --------------------------------------------------------------------
def _code(
    st: _State,
    b: Block,
    prev: Block | None,
    event_ctx: Requirement | None,
    endpoint_ctx: Requirement | None,
) -> None:
    content = b.code
    info = b.info.lower()
    loaded: Any = None
    if (
        info in {"yaml", "yml", "json", "openapi"}
        or re.search(r"^\s*(paths|openapi)\s*:", content, re.M)
        or content.lstrip().startswith("{")
    ):
        try:
            loaded = (
                json.loads(content) if content.lstrip().startswith("{") else yaml.safe_load(content)
            )
        except (ValueError, yaml.YAMLError):
            loaded = None
    if isinstance(loaded, dict) and isinstance(loaded.get("paths"), dict):
        _openapi(st, b, loaded)
        return
    if isinstance(loaded, dict) and _in(b.section, _DATA) and _yaml_tables(st, b, loaded):
        return
    if (
        isinstance(loaded, dict)
        and event_ctx is not None
        and prev is not None
        and prev.kind in {"paragraph", "heading"}
    ):
        fields = [k for k in loaded if isinstance(k, str)]
        event_ctx.details.setdefault("fields", [])
        event_ctx.details["fields"].extend(
            f for f in fields if f not in event_ctx.details["fields"]
        )
        return
    if isinstance(loaded, dict) and endpoint_ctx is not None:
        endpoint_ctx.details.setdefault("response_fields", list(loaded))
        return
    # diagrams and pseudo-code: endpoint mentions and CREATE TABLE statements
    for offset, text in enumerate(content.splitlines()):
        for method, path, params in endpoints_in(text):
            st.secondary.append(
                (method, path, params, text.strip(), b.line + 1 + offset, b.section)
            )
    for m in re.finditer(
        r"create\s+table\s+(?:if\s+not\s+exists\s+)?[\"`]?(\w+)[\"`]?\s*\(([^;]*)\)",
        content,
        re.I | re.S,
    ):
        cols = [
            c.strip().split()[0].strip('"`')
            for c in m.group(2).split(",")
            if c.strip()
            and not re.match(r"(primary|foreign|unique|constraint|check|index)\b", c.strip(), re.I)
        ]
        _model(st, m.group(1), b.line, b.section, f"table {m.group(1)}", cols)


def _yaml_tables(st: _State, b: Block, loaded: dict[Any, Any]) -> bool:
    """A data model as YAML: `bookings: {id: uuid, room_id: uuid, ...}` (or `columns:` lists)."""
    tables: list[tuple[str, list[str]]] = []
    for name, body in loaded.items():
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][\w.]*", name):
            return False
        if isinstance(body, dict):
            inner = body.get("columns", body.get("fields", body))
            cols = list(inner) if isinstance(inner, dict | list) else []
        elif isinstance(body, list):
            cols = list(body)
        else:
            return False
        names = [
            c if isinstance(c, str) else next(iter(c), "") if isinstance(c, dict) else ""
            for c in cols
        ]
        names = [n for n in names if isinstance(n, str) and re.fullmatch(r"[a-z_][a-z0-9_]*", n)]
        if not names:
            return False
        tables.append((name, names))
    if not tables:
        return False
    lines = b.code.splitlines()
    for name, cols in tables:
        offset = next((i for i, t in enumerate(lines) if t.startswith(name + ":")), 0)
        _model(st, name, b.line + 1 + offset, b.section, f"table {name}: " + ", ".join(cols), cols)
    return True


def _body_ref(body: Any) -> str | None:
    """The schema a request body refers to: `{$ref: X}` or `content: {type: {schema: {$ref: X}}}`."""
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("$ref"), str):
        return str(body["$ref"]).rsplit("/", 1)[-1]
    content = body.get("content")
    if isinstance(content, dict):
        for media in content.values():
            schema = media.get("schema") if isinstance(media, dict) else None
            if isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
                return str(schema["$ref"]).rsplit("/", 1)[-1]
    return None


def _openapi(st: _State, b: Block, spec: dict[str, Any]) -> None:
    lines = b.code.splitlines()

    def line_of(needle: str) -> int:
        for n, text in enumerate(lines):
            if needle in text:
                return b.line + 1 + n
        return b.line

    base = st.doc.base_path
    relative = bool(base) and not any(
        isinstance(p, str) and (p.startswith(base + "/") or p == base) for p in spec["paths"]
    )
    for raw_path, ops in spec["paths"].items():
        if not isinstance(raw_path, str) or not isinstance(ops, dict):
            continue
        path, params = clean_path(raw_path)
        full, alt = _apply_base(st, path) if relative else (path, [])
        for method, op in ops.items():
            if not isinstance(method, str) or method.upper() not in METHODS:
                continue
            responses = op.get("responses", {}) if isinstance(op, dict) else {}
            codes = (
                [int(str(c)) for c in responses if str(c).isdigit()]
                if isinstance(responses, dict)
                else []
            )
            query = []
            if isinstance(op, dict):
                for p in op.get("parameters", []) or []:
                    if (
                        isinstance(p, dict)
                        and p.get("in") == "query"
                        and isinstance(p.get("name"), str)
                    ):
                        query.append(p["name"])
            summary = op.get("summary", "") if isinstance(op, dict) else ""
            details: dict[str, Any] = {
                "query": params + query,
                "status": [c for c in codes if c < 300],
                "errors": [c for c in codes if c >= 400],
                "alt_paths": alt,
                "source": "openapi",
            }
            body = op.get("requestBody") if isinstance(op, dict) else None
            ref = _body_ref(body)
            if ref is not None:
                details["request"] = ref
            _endpoint(
                st,
                method.upper(),
                full,
                line_of(raw_path + ":"),
                b.section,
                f"{method.upper()} {raw_path} {summary}".strip(),
                details,
            )
    comps = spec.get("components")
    schemas = comps.get("schemas") if isinstance(comps, dict) else None
    if isinstance(schemas, dict):
        for name, body in schemas.items():
            if not isinstance(name, str) or not isinstance(body, dict):
                continue
            props = body.get("properties", body)
            if not isinstance(props, dict):
                continue
            sreq = _schema_req(st, name, line_of(name + ":"), b.section)
            for fname, fspec in props.items():
                if not isinstance(fname, str) or fname in {"type", "required", "$ref"}:
                    continue
                sreq.details["fields"].append(fname)
                if isinstance(fspec, dict):
                    c: dict[str, Any] = {"field": fname, "line": line_of(fname + ":")}
                    if "minLength" in fspec or "maxLength" in fspec:
                        c.update(
                            unit="length", min=fspec.get("minLength"), max=fspec.get("maxLength")
                        )
                    elif "minimum" in fspec or "maximum" in fspec:
                        c.update(unit="value", min=fspec.get("minimum"), max=fspec.get("maximum"))
                    elif "minItems" in fspec or "maxItems" in fspec:
                        c.update(unit="items", min=fspec.get("minItems"), max=fspec.get("maxItems"))
                    elif "pattern" in fspec:
                        c.update(unit="pattern", pattern=fspec["pattern"])
                    else:
                        continue
                    sreq.details["constraints"].append(c)


# --- lists and prose ----------------------------------------------------------------
def _field_list(st: _State, b: Block, prev: Block | None) -> bool:
    """`- `id` — uuid, primary key` items under a lead naming a table or schema."""
    items = b.items
    starts = [
        it for it in items if it.inline.codes and it.inline.text.startswith(it.inline.codes[0])
    ]
    if len(items) < 2 or len(starts) < 0.6 * len(items):
        return False
    if any(endpoints_in(it.inline.codes[0]) for it in starts):
        return False  # `POST /x` items are endpoints, not fields
    owner = _owner_name(prev)
    if owner is None:
        return False
    cols = field_names([it.inline.codes[0] for it in starts])
    lead = prev.inline.text.lower() if prev is not None else ""
    if "table" in lead or _in(b.section, _DATA):
        _model(
            st,
            owner,
            prev.line if prev else b.line,
            b.section,
            f"table {owner}: " + ", ".join(cols),
            cols,
        )
    else:
        sreq = _schema_req(st, owner, b.line, b.section)
        sreq.details["fields"].extend(cols)
        for it in starts:
            sreq.details["constraints"].extend(constraints_in(it.inline.text, it.line))
    return True


def _schema_list(st: _State, b: Block) -> bool:
    """`- **TicketCreate** — `customer_id` (UUID), `subject` (3-200 characters)` items."""
    named = [
        it
        for it in b.items
        if it.inline.bold
        and re.fullmatch(r"[A-Z][A-Za-z0-9]+", it.inline.bold[0])
        and it.inline.text.startswith(it.inline.bold[0])
    ]
    if len(named) < max(2, int(0.6 * len(b.items))):
        return False
    for it in named:
        name = it.inline.bold[0]
        sreq = _schema_req(st, name, it.line, b.section)
        sreq.details["fields"].extend(
            f for f in _fields_outside_parens(it.inline) if f not in sreq.details["fields"]
        )
        sreq.details["constraints"].extend(constraints_in(it.inline.text, it.line))
    return True


def _list(st: _State, b: Block, prev: Block | None) -> None:
    if _is_intro(b.section):
        return
    kind = _section_kind(b.section)
    lead = prev.inline.text if prev is not None and prev.kind == "paragraph" else ""
    if lead.rstrip().endswith(":"):
        if _ACCEPTANCE.search(lead):
            kind = "acceptance"
        elif re.search(r"\bnon-?functional\b", lead, re.I):
            kind = "nfr"
    for it in b.items:
        _item(st, kind, it, b.section)
        for m_, p_, q_ in endpoints_in(it.inline.text):
            st.secondary.append((m_, p_, q_, it.inline.text, it.line, b.section))


def _item(st: _State, kind: str, it: ListItem, section: list[str]) -> None:
    _other_req(st, kind, it.inline.text, it.line, section)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`*\"(])")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def clauses(sentence: str) -> list[str]:
    """A sentence split at its semicolons when every part is a statement of its own.

    `A message that fails validation goes to x.dlq; a failing message is retried three
    times, then dead-lettered.` states two requirements; a short part stays joined.
    """
    depth = 0
    parts: list[str] = []
    cur: list[str] = []
    for ch in sentence:
        depth += (ch == "(") - (ch == ")")
        if ch == ";" and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur).strip())
    parts = [x for x in parts if x]
    if len(parts) < 2 or any(len(x.split()) < _CLAUSE_WORDS for x in parts):
        return [sentence]
    out = [x if x.endswith((".", "!", "?")) else x + "." for x in parts]
    return [x[0].upper() + x[1:] for x in out]


_CLAUSE_WORDS = 6
# what an overview or context states that a static review can check: the stack, where
# settings come from, headers, threading, logging format, producer settings
_CHECKABLE = re.compile(
    r"\bpython\s+3\.\d+|\benvironment variables?\b|\bX-[A-Za-z]+(?:-[A-Za-z]+)+\b|"
    r"\bevent loop\b|\bworker threads?\b|\bstructured (json )?logs?\b|\bjson logs?\b|"
    r"\backs\s*=|\bidempoten|\bconsumer group\b",
    re.I,
)


def _prose(st: _State, b: Block) -> None:
    intro = _is_intro(b.section)
    if intro and len(b.section) <= 1:
        return  # title and metadata
    text = b.inline.text
    if text.rstrip().endswith(":") and len(text.split()) <= 12:
        return  # a lead-in of the list or block below
    if not intro:
        for m_, p_, q_ in endpoints_in(text):
            st.secondary.append((m_, p_, q_, text, b.line, b.section))
    kind = _section_kind(b.section)
    for whole in sentences(text):
        for sentence in clauses(whole):
            if len(sentence.split()) < 4 or _META.search(_strip_parens(sentence)):
                continue
            # an overview states requirements only where a review can check them
            checkable = _CHECKABLE.search(sentence)
            if not (checkable if intro else _NORMATIVE.search(sentence) or checkable):
                continue
            _other_req(st, kind, sentence, b.line, b.section, sentence=whole)
