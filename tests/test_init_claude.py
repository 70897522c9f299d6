"""`fastapi-review init claude [PROJECT]`: the Claude Code command, and that what it tells
the agent to run and read matches the tool's real command line and JSON report."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from fastapi_review.agents import CLAUDE_COMMAND_PATH, claude_command

ORDERS = Path(__file__).parent / "fixtures" / "ecosystem" / "orders"
DESIGN = """# Orders service: tech design

## API endpoints

| Method | Path | Description |
|--------|------|-------------|
| GET | /orders/{order_id} | Read one order |
"""


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fastapi_review", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
    )


def test_init_claude_writes_the_command(tmp_path: Path) -> None:
    proc = run_cli("init", "claude", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    target = tmp_path / ".claude" / "commands" / "code-review-backend-python-fastapi.md"
    assert proc.stdout.splitlines() == [
        f"created {target}",
        "run it in Claude Code as /code-review-backend-python-fastapi",
    ]
    text = target.read_text("utf-8")
    assert text == claude_command()
    front = text.split("---")[1]
    assert (
        "description:" in front and "allowed-tools:" in front and "Bash(fastapi-review:*)" in front
    )
    assert "$ARGUMENTS" in text
    # the agent examines only what the tool could not measure, citing file and line
    assert '"status": "unverified"' in text
    assert '"measured": false' in text
    assert "path:line" in text
    assert "never change them" in text


def test_init_claude_in_current_directory_and_idempotent(tmp_path: Path) -> None:
    assert run_cli("init", "claude", cwd=tmp_path).returncode == 0
    again = run_cli("init", "claude", cwd=tmp_path)
    assert again.returncode == 0
    assert again.stdout.startswith("unchanged ")


def test_init_claude_keeps_an_edited_command_unless_forced(tmp_path: Path) -> None:
    target = tmp_path / CLAUDE_COMMAND_PATH
    target.parent.mkdir(parents=True)
    target.write_text("my own version\n", encoding="utf-8")
    proc = run_cli("init", "claude", str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"fastapi-review: error: {target} exists and differs; use --force to overwrite it"
    ]
    assert target.read_text("utf-8") == "my own version\n"
    forced = run_cli("init", "claude", str(tmp_path), "--force")
    assert forced.returncode == 0 and forced.stdout.startswith("updated ")
    assert target.read_text("utf-8") == claude_command()


def test_init_claude_bad_project(tmp_path: Path) -> None:
    proc = run_cli("init", "claude", str(tmp_path / "nope"))
    assert proc.returncode == 2
    assert "project path does not exist" in proc.stderr
    proc = run_cli("init", "cursor")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


def test_the_command_runs_the_tool_and_names_real_json_fields(tmp_path: Path) -> None:
    proj = tmp_path / "orders"
    shutil.copytree(ORDERS, proj)
    (proj / "tech-design.md").write_text(DESIGN, encoding="utf-8")
    text = claude_command()
    block = re.search(r"```bash\n(.+?)\n```", text, re.S)
    assert block is not None
    argv = shlex.split(block.group(1))
    assert argv[0] == "fastapi-review"
    # what the agent runs, as the agent runs it (tests skipped here to keep the test fast)
    proc = run_cli(*argv[1:], "--no-tests", "--gates", "ruff", "-q", cwd=proj)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((proj / "code-review.json").read_text("utf-8"))
    assert (proj / "code-review.md").is_file()
    assert report["recommendation"] in {"APPROVE", "CONDITIONAL_APPROVE", "REJECT"}
    assert "`recommendation`" in text
    for req in report["requirements"]:
        assert {"id", "key", "text", "design_line", "status", "evidence"} <= set(req)
    assert report["requirements"], "the design's endpoint is a requirement"
    for gate in report["metrics"]["gates"].values():
        assert "measured" in gate
        if not gate["measured"]:
            assert gate["reason"]
    coverage = report["metrics"]["coverage"]
    assert coverage["measured"] is False and coverage["reason"]
    for field in ("requirements[]", "metrics.gates.<name>", "metrics.coverage", "findings[]"):
        assert field in text
