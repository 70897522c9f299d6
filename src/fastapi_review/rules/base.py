"""The rule framework: a rule is a small documented unit that carries its own examples.

Each rule has a stable id, a kebab-case name, a category from the review standard,
a default severity (the category's unless the rule says otherwise), a doc in a fixed
shape (what it finds, why it matters, the fix) and `bad` / `good` examples that the
test suite runs automatically: every bad example must fire, every good one must not.
In a bad example, a line ending in `# expect` marks where a finding must be reported.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from fastapi_review.categories import category
from fastapi_review.config import Config
from fastapi_review.index.project import ProjectIndex
from fastapi_review.index.symbols import unparse
from fastapi_review.models import Finding, Requirement, Severity
from fastapi_review.workspace import Change

# An example is one module's source (written as app/example.py) or a mapping of
# relative paths to file contents, for rules that look across files.
Example = str | dict[str, str]

EXAMPLE_MODULE = "app/example.py"


@dataclass
class Context:
    """What a rule may read: the index, the configuration, the change, the design."""

    index: ProjectIndex
    config: Config = field(default_factory=Config)
    change: Change = field(default_factory=lambda: Change(git=False))
    requirements: list[Requirement] = field(default_factory=list)
    design_text: str = ""

    def line_text(self, path: str | None, line: int | None) -> str:
        if path is None or line is None:
            return ""
        m = self.index.modules.get(path)
        if m is not None:
            return m.line_text(line)
        text = self.index.extra_files.get(path)
        if text is not None:
            lines = text.splitlines()
            if 1 <= line <= len(lines):
                return lines[line - 1].strip()
        return ""


class Rule:
    """Base class of every rule. Subclasses set the class attributes and `check`."""

    id: ClassVar[str] = ""
    name: ClassVar[str] = ""
    category: ClassVar[str] = ""
    severity: ClassVar[Severity | None] = None  # None: the category's default
    what: ClassVar[str] = ""
    why: ClassVar[str] = ""
    fix: ClassVar[str] = ""
    bad: ClassVar[list[Example]] = []
    good: ClassVar[list[Example]] = []
    # "rules": run by the rule engine; "trace": findings come from the requirement tracer,
    # the class documents them and its check() runs the tracer for its examples.
    stage: ClassVar[str] = "rules"

    registry: ClassVar[dict[str, type[Rule]]] = {}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.id:
            return  # abstract helper classes
        if cls.id in Rule.registry and Rule.registry[cls.id] is not cls:
            raise ValueError(f"duplicate rule id {cls.id}")
        category(cls.category)  # fails loudly on an unknown category
        Rule.registry[cls.id] = cls

    @classmethod
    def default_severity(cls) -> Severity:
        return cls.severity or category(cls.category).severity

    @classmethod
    def doc(cls) -> str:
        parts = [
            f"{cls.id} {cls.name}",
            f"category: {cls.category}   default severity: {cls.default_severity().value}",
            "",
            "## What it finds",
            textwrap.dedent(cls.what).strip(),
            "",
            "## Why it matters",
            textwrap.dedent(cls.why).strip(),
            "",
            "## Fix",
            textwrap.dedent(cls.fix).strip(),
        ]
        for title, examples in (("Example (flagged)", cls.bad), ("Use instead", cls.good)):
            if examples:
                parts += ["", f"## {title}"]
                ex = examples[0]
                if isinstance(ex, str):
                    parts.append(textwrap.dedent(ex).strip())
                else:
                    for path, text in ex.items():
                        parts += [f"# {path}", textwrap.dedent(text).strip()]
        return "\n".join(parts) + "\n"

    # --- to implement -----------------------------------------------------------
    def check(self, ctx: Context) -> Iterator[Finding]:
        raise NotImplementedError

    # --- helpers for subclasses ----------------------------------------------------
    def finding(
        self,
        ctx: Context,
        path: str | None,
        line: int | None,
        message: str,
        *,
        evidence: str | None = None,
        fix: str | None = None,
        severity: Severity | None = None,
        chain: list[str] | None = None,
        category_id: str | None = None,
    ) -> Finding:
        return Finding(
            rule=self.id,
            category=category_id or self.category,
            severity=severity or self.default_severity(),
            path=path,
            line=line,
            message=message,
            evidence=evidence if evidence is not None else ctx.line_text(path, line),
            fix=fix if fix is not None else " ".join(self.fix.split()),  # (one line)
            chain=chain or [],
        )


def node_text(node: ast.AST, limit: int = 160) -> str:
    text = unparse(node)
    return text if len(text) <= limit else text[: limit - 1] + "…"
