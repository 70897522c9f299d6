"""Terminal output: progress per stage with timings, the summary, plain vs colour, quiet."""

from __future__ import annotations

import io
import json
import os
import pty
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from fastapi_review.models import (
    ChangeInfo,
    Finding,
    GateResult,
    Requirement,
    Review,
    Scores,
    Severity,
    TracedRequirement,
)
from fastapi_review.render.terminal import (
    StageProgress,
    Terminal,
    is_plain,
    summary_lines,
)

ORDERS = Path(__file__).parent / "fixtures" / "ecosystem" / "orders"
ESC = "\x1b["


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_when_not_a_terminal_or_no_color() -> None:
    assert is_plain(io.StringIO(), {}) is True
    assert is_plain(FakeTTY(), {}) is False
    assert is_plain(FakeTTY(), {"NO_COLOR": "1"}) is True
    assert is_plain(FakeTTY(), {"NO_COLOR": ""}) is False  # NO_COLOR counts only when set
    assert is_plain(FakeTTY(), {"TERM": "dumb"}) is True


def test_plain_progress_prints_one_line_per_finished_stage() -> None:
    out = io.StringIO()
    progress = StageProgress(Terminal(out, plain=True))
    with progress:
        progress("index", "start")
        progress("index", "done")
        progress("gate:mypy", "start")
        progress("gate:mypy", "failed")
    lines = out.getvalue().splitlines()
    assert [ln.split()[0] for ln in lines] == ["index", "gate:mypy"]
    assert lines[1].split()[1] == "(failed)"
    assert all(ln.endswith(" s") for ln in lines)
    assert ESC not in out.getvalue()
    assert [(s, st) for s, st, _ in progress.finished] == [
        ("index", "done"),
        ("gate:mypy", "failed"),
    ]


def test_progress_from_many_threads() -> None:
    out = io.StringIO()
    progress = StageProgress(Terminal(out, plain=True))

    def gate(name: str) -> None:
        progress(name, "start")
        progress(name, "done")

    threads = [threading.Thread(target=gate, args=(f"gate{i}",)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(ln.split()[0] for ln in out.getvalue().splitlines()) == sorted(
        f"gate{i}" for i in range(20)
    )


def test_rich_progress_on_a_terminal() -> None:
    out = FakeTTY()
    term = Terminal(out, plain=False)
    with StageProgress(term) as progress:
        progress("index", "start")
        progress("index", "done")
        progress("rules", "start")
        progress("rules", "done")
    text = out.getvalue()
    assert "index" in text and "rules" in text and "✓" in text
    assert ESC in text


def _finding(rule: str, sev: Severity, line: int, suppressed: bool = False) -> Finding:
    return Finding(
        rule=rule,
        category="quality.lint",
        severity=sev,
        path="app/a.py",
        line=line,
        message=f"problem {rule}",
        suppressed=suppressed,
    )


def _review() -> Review:
    findings = [_finding(f"R{i:03d}", Severity.MEDIUM, i) for i in range(1, 6)]
    findings += [
        _finding("B001", Severity.BLOCKER, 40),
        _finding("H001", Severity.HIGH, 7),
        _finding("S001", Severity.CRITICAL, 3, suppressed=True),
    ]
    req = Requirement(id="FR-1", kind="acceptance", key="AC-1", text="orders are audited")
    return Review(
        tool_version="0",
        project_name="p",
        root="/p",
        design="tech-design.md",
        date="2024-01-01",
        change=ChangeInfo(git=True),
        findings=findings,
        requirements=[TracedRequirement(requirement=req, status="unverified")],
        gates={
            "ruff": GateResult(name="ruff", measured=True, passed=True, count=0),
            "mypy": GateResult(name="mypy", measured=True, passed=False, count=3),
            "tests": GateResult(name="tests", measured=False, reason="not run (--no-tests)"),
        },
        scores=Scores(requirements=2, tests=3, quality=4, overall=3.0),
        recommendation="REJECT",
    )


def _plain(lines: list[list[tuple[str, str]]]) -> list[str]:
    return ["".join(text for text, _ in line) for line in lines]


def test_summary_lines() -> None:
    lines = _plain(summary_lines(_review(), ["code-review.md"]))
    assert lines[0] == "REJECT  overall 3.0/5  (requirements 2, tests 3, quality 4)"
    assert lines[1] == "findings: 1 BLOCKER, 0 CRITICAL, 1 HIGH, 5 MEDIUM, 0 LOW  (1 suppressed)"
    assert lines[2].split() == ["BLOCKER", "B001", "app/a.py:40", "problem", "B001"]
    assert lines[3].split()[:3] == ["HIGH", "H001", "app/a.py:7"]
    assert [ln.split()[1] for ln in lines[4:7]] == ["R001", "R002", "R003"]
    assert lines[7] == "  … and 2 more in the report"
    assert lines[8] == "gates: mypy failed 3, ruff ok, tests not measured"
    assert lines[9] == "requirements not verified by measurement: 1"
    assert lines[10] == "wrote code-review.md"
    no_verdict = _plain(summary_lines(_review(), [], verdict=False))
    assert no_verdict[0].startswith("findings: ")
    assert not any(ln.startswith(("REJECT", "gates:")) for ln in no_verdict)


def _project(tmp_path: Path) -> Path:
    proj = tmp_path / "orders"
    shutil.copytree(ORDERS, proj)
    return proj


STATIC = ("--no-tests", "--gates", "none")


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fastapi_review", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )


def test_cli_plain_output_when_piped(tmp_path: Path) -> None:
    proc = run_cli(str(_project(tmp_path)), *STATIC)
    assert proc.returncode == 0, proc.stderr
    assert ESC not in proc.stdout
    lines = proc.stdout.splitlines()
    assert [ln.split()[0] for ln in lines[:4]] == ["index", "rules", "gates", "trace"]
    assert any(ln.startswith("REJECT  overall ") for ln in lines)
    assert any("ASY001       src/orders/main.py:33" in ln for ln in lines)
    assert proc.stderr == ""


def test_cli_quiet_prints_nothing(tmp_path: Path) -> None:
    proc = run_cli(str(_project(tmp_path)), *STATIC, "--quiet")
    assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == ""


def test_cli_json_to_stdout_moves_the_terminal_to_stderr(tmp_path: Path) -> None:
    proc = run_cli(str(_project(tmp_path)), *STATIC, "--json", "-")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["recommendation"] == "REJECT"
    assert "REJECT  overall" in proc.stderr


def _run_in_pty(args: list[str], env: dict[str, str]) -> str:
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fastapi_review", *args],
        stdout=slave,
        stderr=slave,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=300)
    os.close(master)
    return b"".join(chunks).decode("utf-8", "replace")


def test_cli_colour_on_a_terminal_and_no_color(tmp_path: Path) -> None:
    proj = str(_project(tmp_path))
    env = {k: v for k, v in os.environ.items() if k not in {"NO_COLOR", "TERM"}}
    env["TERM"] = "xterm-256color"
    coloured = _run_in_pty([proj, *STATIC], env)
    assert ESC in coloured and "REJECT" in coloured
    plain = _run_in_pty([proj, *STATIC], {**env, "NO_COLOR": "1"})
    assert ESC not in plain and "REJECT  overall" in plain
