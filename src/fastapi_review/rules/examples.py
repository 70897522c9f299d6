"""Running a rule's embedded examples: the proof that it fires and that it stays quiet."""

from __future__ import annotations

import re
import tempfile
import textwrap
from pathlib import Path

from fastapi_review.config import Config
from fastapi_review.index.project import build_index
from fastapi_review.models import Finding, Requirement
from fastapi_review.rules.base import EXAMPLE_MODULE, Context, Example, Rule
from fastapi_review.workspace import Change

# a dict example may carry a design; its requirements are read into the context
DESIGN_FILE = "tech-design.md"

_EXPECT = re.compile(r"#\s*expect\b")


def example_files(example: Example) -> dict[str, str]:
    files = {EXAMPLE_MODULE: example} if isinstance(example, str) else dict(example)
    return {path: textwrap.dedent(text).lstrip("\n") for path, text in files.items()}


def expected_lines(example: Example) -> set[tuple[str, int]]:
    """(path, line) of every line marked `# expect` in the example."""
    out: set[tuple[str, int]] = set()
    for path, text in example_files(example).items():
        for no, line in enumerate(text.splitlines(), start=1):
            if _EXPECT.search(line):
                out.add((path, no))
    return out


def run_example(
    rule: type[Rule],
    example: Example,
    config: Config | None = None,
    requirements: list[Requirement] | None = None,
) -> list[Finding]:
    """Write the example to a temporary project, index it, and run one rule on it."""
    with tempfile.TemporaryDirectory(prefix="fr-example-") as tmp:
        root = Path(tmp)
        for path, text in example_files(example).items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        index = build_index(root)
        design_text = ""
        if requirements is None and (root / DESIGN_FILE).is_file():
            from fastapi_review.design import read_design

            doc = read_design(root / DESIGN_FILE)
            requirements, design_text = doc.requirements, doc.text
        ctx = Context(
            index=index,
            config=config or Config(),
            change=Change(git=False),
            requirements=requirements or [],
            design_text=design_text,
        )
        return list(rule().check(ctx))
