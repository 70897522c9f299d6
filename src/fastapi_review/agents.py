"""Coding-agent integration: `fastapi-review init claude [PROJECT]`.

Writes a Claude Code slash command, `.claude/commands/code-review-backend-python-fastapi.md`,
that runs the tool, reads its JSON report and asks the agent to examine only what the tool
could not measure (requirements with status `unverified`, gates with `measured: false`),
citing file and line. The agent's review then stands on measured evidence and adds judgement
only where measurement ran out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi_review.errors import UsageError

COMMAND_NAME = "code-review-backend-python-fastapi"
CLAUDE_COMMAND_PATH = Path(".claude") / "commands" / f"{COMMAND_NAME}.md"
REPORT_MD = "code-review.md"
REPORT_JSON = "code-review.json"

CLAUDE_COMMAND = """\
---
description: Measured review of the uncommitted FastAPI change against its tech design (fastapi-review), then a check of only what the tool could not verify
argument-hint: "[Tech design is in FILE.] [anything else the reviewer should know]"
allowed-tools: Bash(fastapi-review:*), Bash(git diff:*), Bash(git status:*), Bash(git log:*), Read, Grep, Glob, Edit, Write
---

# Code review: backend, Python, FastAPI

Request: $ARGUMENTS

`fastapi-review` measures this review: it reads the tech design, indexes the code, runs
the quality gates (ruff, mypy, bandit, pip-audit, pytest with coverage), traces every
requirement of the design to code and tests, scores and recommends. Your part is only what
it could not measure. Do not re-judge, re-score or repeat what it measured.

## 1. Run the tool

Run, from the project root (add `--design FILE` when the request names the tech design):

```bash
fastapi-review . --output {report_md} --json {report_json}
```

- Exit status 2 is a usage error (one line on stderr, e.g. a missing design file or a bad
  `[tool.fastapi-review]` key): show that line to the user and stop.
- Exit status 0 or 1 is a finished review (1 only means a `--fail-on` gate failed).

## 2. Read the JSON report

Read `{report_json}`. The parts you need:

- `recommendation`, `scores`: the tool's verdict. Quote them; never change them.
- `requirements[]`: each has `id`, `key`, `text`, `design_line`, `status` and `evidence`.
  Only those with `"status": "unverified"` are yours.
- `metrics.gates.<name>`: a gate with `"measured": false` carries the `reason` it could not
  run. Those are yours. `metrics.coverage` with `"measured": false` likewise.
- `findings[]`: the measured problems, each with `path`, `line`, `evidence` and `fix`. They
  are already in `{report_md}`; do not restate them.

If nothing is unverified and every gate was measured, say so in one line and stop.

## 3. Examine only the unverified items

For each requirement with status `unverified`:

1. Read its text and the design at `design_line`.
2. Find the code that should implement it (Grep/Read) and the tests that should prove it.
3. Decide one of: implemented, partial, missing, deviation. Cite every claim as
   `path:line`, with the line's code. No citation, no claim: if you cannot find the code,
   say "not found" and what you searched for.

For each gate that was not measured:

1. Quote its `reason`.
2. If you can run the measurement yourself (for example the test suite with coverage in the
   project's environment), run it and report the command, its exit status and the numbers.
   Otherwise write "not measured" and what would be needed to measure it. Never estimate.

## 4. Write it down

Append to `{report_md}` a section:

```markdown
## Agent review of unverified items

| Item | Verdict | Evidence | Notes |
|------|---------|----------|-------|
| FR-3 POST /api/v1/orders | partial | src/app/api/orders.py:42 `...` | idempotency key not checked |
| gate: tests | measured by agent: 41 passed, coverage 88% | `pytest --cov` | |
```

Then answer the user with: the tool's recommendation and scores, the number of findings by
severity from the JSON, and your table.
"""


def claude_command() -> str:
    """The text of the Claude Code command file."""
    return CLAUDE_COMMAND.replace("{report_md}", REPORT_MD).replace("{report_json}", REPORT_JSON)


@dataclass
class Written:
    path: Path
    state: str  # "created", "updated", "unchanged"


def init_claude(project: Path, force: bool = False) -> Written:
    """Write the command into PROJECT/.claude/commands; an edited copy is kept unless `force`."""
    if not project.exists():
        raise UsageError(f"project path does not exist: {project}")
    if not project.is_dir():
        raise UsageError(f"project path is not a directory: {project}")
    target = project / CLAUDE_COMMAND_PATH
    text = claude_command()
    if target.is_dir():
        raise UsageError(f"command path is a directory: {target}")
    state = "created"
    if target.exists():
        try:
            current = target.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {target}: {exc}") from None
        if current == text:
            return Written(target, "unchanged")
        if not force:
            raise UsageError(f"{target} exists and differs; use --force to overwrite it")
        state = "updated"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None
    return Written(target, state)
