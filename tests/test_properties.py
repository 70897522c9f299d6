"""Property-based robustness: generated Python and markdown never crash the review.

Python comes from our own strategies (hypothesmith is not a dependency): statements and
expressions composed in the shapes FastAPI code takes (routes, Depends, Pydantic and ORM
classes, Kafka clients, sessions, try/except, async with/for), with odd corners (lambdas,
walrus, starred calls, nested functions, decorators on anything, unresolvable names), plus
arbitrary text. Each example is a small package of several modules that import each other,
indexed, checked by every rule and traced against a generated design. Markdown is
composed from headings, tables (ragged too), lists, code fences and arbitrary text.
"""

from __future__ import annotations

import keyword
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastapi_review.design.reader import parse_design, read_design
from fastapi_review.index.project import build_index
from fastapi_review.rules.base import Context
from fastapi_review.rules.engine import run_rules
from fastapi_review.trace import trace_requirements

SETTINGS = settings(
    max_examples=100,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

POOL = [
    "app",
    "router",
    "session",
    "db",
    "producer",
    "consumer",
    "settings",
    "self",
    "x",
    "item",
    "Depends",
    "HTTPException",
    "BaseModel",
    "Field",
    "AsyncSession",
    "select",
    "requests",
    "time",
    "asyncio",
    "json",
    "logger",
    "topic",
    "payload",
    "get_settings",
    "Base",
    "a",
    "b",
]
names = st.one_of(
    st.sampled_from(POOL),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,7}", fullmatch=True).filter(
        lambda s: not keyword.iskeyword(s) and not keyword.issoftkeyword(s)
    ),
)
literals = st.one_of(
    st.integers(-5, 500).map(str),
    st.sampled_from(
        [
            '"/items/{item_id}"',
            '"orders.created"',
            '""',
            '"SELECT 1"',
            "None",
            "True",
            "...",
            "b'\\x00'",
            '"sk_live_0123456789abcdef"',
            "3.5",
            "[]",
            "{}",
        ]
    ),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12).map(repr),
)


def _exprs() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        args = st.lists(inner, max_size=3).map(", ".join)
        kwargs = st.lists(st.tuples(names, inner), max_size=2).map(
            lambda kv: ", ".join(f"{k}={v}" for k, v in kv)
        )
        return st.one_of(
            st.tuples(inner, names).map(lambda t: f"({t[0]}).{t[1]}"),
            st.tuples(inner, args, kwargs).map(
                lambda t: f"{t[0]}({', '.join(p for p in t[1:] if p)})"
            ),
            st.tuples(inner, inner).map(lambda t: f"{t[0]}[{t[1]}]"),
            st.tuples(inner, st.sampled_from(["+", "%", "==", " and ", " or ", " in "]), inner).map(
                lambda t: f"({t[0]}{t[1]}{t[2]})"
            ),
            inner.map(lambda e: f"(await {e})"),
            names.map(lambda n: f'f"x{{{n}!r:>4}}y"'),
            st.tuples(names, inner).map(lambda t: f"(lambda {t[0]}: {t[1]})"),
            st.tuples(names, inner).map(lambda t: f"({t[0]} := {t[1]})"),
            args.map(lambda a: f"[{a}]"),
            st.tuples(inner, inner).map(lambda t: f"{{{t[0]}: {t[1]}}}"),
            inner.map(lambda e: f"Depends({e})"),
            inner.map(lambda e: f"*{e}").map(lambda e: f"f({e})"),
        )

    return st.recursive(st.one_of(names, literals), extend, max_leaves=8)


exprs = _exprs()
DECORATORS = st.sampled_from(
    [
        "",
        "@router.get({e})\n",
        "@router.post({e}, status_code=201)\n",
        "@app.get({e})\n",
        "@staticmethod\n",
        "@property\n",
        "@{e}\n",
        "@field_validator({e})\n@classmethod\n",
    ]
)
BASES = st.sampled_from(
    ["", "BaseModel", "Base", "BaseSettings", "Exception", "{e}", "object, {e}"]
)


def _indent(block: str) -> str:
    return "".join("    " + line if line.strip() else line for line in block.splitlines(True))


def _stmts() -> st.SearchStrategy[str]:
    simple = st.one_of(
        st.tuples(names, exprs).map(lambda t: f"{t[0]} = {t[1]}\n"),
        st.tuples(names, names, exprs).map(lambda t: f"{t[0]}: {t[1]} = {t[2]}\n"),
        exprs.map(lambda e: f"{e}\n"),
        exprs.map(lambda e: f"return {e}\n"),
        exprs.map(lambda e: f"raise {e}\n"),
        exprs.map(lambda e: f"assert {e}\n"),
        st.just("pass\n"),
        st.just("yield\n"),
        names.map(lambda n: f"global {n}\n"),
        st.tuples(names, names).map(lambda t: f"from {t[0]} import {t[1]}\n"),
        names.map(lambda n: f"import {n}\n"),
        st.sampled_from(
            [
                "from fastapi import APIRouter, Depends, HTTPException\n",
                "from pydantic import BaseModel, Field\n",
                "from sqlalchemy.ext.asyncio import AsyncSession\n",
                "from aiokafka import AIOKafkaProducer, AIOKafkaConsumer\n",
                "router = APIRouter(prefix='/items')\n",
                "import requests\n",
                "from app import b\n",
                "from . import a\n",
                "from app.a import x as y\n",
            ]
        ),
    )

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        body = st.lists(inner, min_size=1, max_size=3).map(lambda b: _indent("".join(b)))
        return st.one_of(
            st.tuples(exprs, body, body).map(lambda t: f"if {t[0]}:\n{t[1]}else:\n{t[2]}"),
            st.tuples(names, exprs, body).map(lambda t: f"for {t[0]} in {t[1]}:\n{t[2]}"),
            st.tuples(names, exprs, body).map(lambda t: f"async for {t[0]} in {t[1]}:\n{t[2]}"),
            st.tuples(exprs, names, body).map(lambda t: f"async with {t[0]} as {t[1]}:\n{t[2]}"),
            st.tuples(exprs, body).map(lambda t: f"while {t[0]}:\n{t[1]}"),
            st.tuples(
                body, st.sampled_from(["Exception", "ValueError", "", "(KeyError, e)"]), body
            ).map(lambda t: f"try:\n{t[0]}except {t[1]}:\n{t[2]}".replace("except :", "except:")),
            st.tuples(body, body).map(lambda t: f"try:\n{t[0]}finally:\n{t[1]}"),
            st.tuples(
                DECORATORS, st.booleans(), names, st.lists(names, max_size=3), exprs, body
            ).map(
                lambda t: (
                    t[0].format(e=t[4])
                    + ("async " if t[1] else "")
                    + f"def {t[2]}({', '.join(dict.fromkeys(t[3]))}):\n{t[5]}"
                )
            ),
            st.tuples(BASES, names, exprs, body).map(
                lambda t: f"class {t[1]}({t[0].format(e=t[2])}):\n{t[3]}"
            ),
            st.tuples(exprs, body).map(lambda t: f"match {t[0]}:\n    case _:\n{_indent(t[1])}"),
        )

    return st.recursive(simple, extend, max_leaves=12)


stmts = _stmts()
code = st.lists(stmts, max_size=8).map("".join)
modules = st.one_of(
    code,
    code,
    st.lists(stmts, max_size=8).map("".join),
    st.text(max_size=200),  # arbitrary text: mostly syntax errors, sometimes valid Python
)
packages = st.lists(modules, min_size=1, max_size=3)

md_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
md_cell = st.one_of(
    md_text.map(lambda s: s.replace("|", "/").replace("\n", " ")),
    st.sampled_from(
        [
            "GET",
            "POST",
            "`/items/{id}`",
            "201",
            "404, 422",
            "`orders.created`",
            "produced",
            "consumed",
            "FR-1",
            "AC-2",
            "UUID",
            "string",
            "",
            "`Item`",
        ]
    ),
)
md_blocks = st.one_of(
    st.tuples(st.integers(1, 4), md_text).map(lambda t: "#" * t[0] + " " + t[1] + "\n\n"),
    st.sampled_from(
        [
            "## API\n\n",
            "## Events\n\n",
            "## Acceptance criteria\n\n",
            "## Non-functional requirements\n\n",
            "## Data model\n\n",
            "### `items`\n\n",
        ]
    ),
    st.lists(st.lists(md_cell, min_size=1, max_size=6), min_size=1, max_size=6).map(
        lambda rows: (
            "\n".join(
                ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
                + ["| " + " | ".join(r) + " |" for r in rows[1:]]
            )
            + "\n\n"
        )
    ),
    st.lists(md_text, min_size=1, max_size=4).map(
        lambda items: (
            "".join(f"- {'AC-' if i % 2 else 'FR-'}{i}: {t}\n" for i, t in enumerate(items)) + "\n"
        )
    ),
    md_text.map(lambda s: f"```\n{s}\n```\n\n"),
    md_text.map(lambda s: f"```python\n{s}\n"),  # unclosed fence
    md_text.map(lambda s: s + "\n\n"),
)
designs = st.one_of(st.lists(md_blocks, max_size=10).map("".join), st.text(max_size=300))


@SETTINGS
@given(sources=packages, design=designs)
def test_generated_code_never_crashes_the_index_the_rules_or_the_tracer(
    sources: list[str], design: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "app").mkdir()
        (root / "app" / "__init__.py").write_text(sources[0], encoding="utf-8")
        for i, text in enumerate(sources[1:]):
            (root / "app" / ("a.py" if i == 0 else "b.py")).write_text(text, encoding="utf-8")
        index = build_index(root)
        assert len(index.modules) + len(index.skipped) == len(sources)
        doc = parse_design(design)
        ctx = Context(index=index, requirements=doc.requirements, design_text=doc.text)
        run = run_rules(ctx)
        assert run.errors == []
        trace_requirements(ctx.requirements, ctx, None, None, run.findings)


@SETTINGS
@given(design=designs)
def test_generated_markdown_never_crashes_the_design_reader(design: str) -> None:
    doc = parse_design(design)
    for req in doc.requirements:
        assert req.id and req.kind


@SETTINGS
@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes_as_a_design_file_never_crash(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tech-design.md"
        path.write_bytes(raw)
        doc = read_design(path)
        assert doc.problems or doc.text
