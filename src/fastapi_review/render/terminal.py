"""The terminal: live progress of each stage and gate with its time, then a short summary.

Colour and live spinners only on an interactive terminal; plain lines when the output is
not a terminal (CI logs, pipes), when NO_COLOR is set, or when TERM is "dumb". Nothing is
printed with --quiet (the CLI then does not create these objects).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import IO

from rich.console import Console
from rich.progress import Progress, ProgressColumn, SpinnerColumn, Task, TaskID, TextColumn
from rich.text import Text

from fastapi_review.models import Review, Severity

# a line is a list of (text, rich style) segments
Segment = tuple[str, str]
Line = list[Segment]

SEVERITY_STYLE = {
    Severity.BLOCKER: "bold white on red",
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
}
VERDICT_STYLE = {
    "APPROVE": "bold green",
    "CONDITIONAL_APPROVE": "bold yellow",
    "REJECT": "bold red",
}
WORST = 5


def is_plain(stream: IO[str], environ: Mapping[str, str] | None = None) -> bool:
    """Plain text when the stream is no terminal, NO_COLOR is set, or TERM is dumb."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR", "") != "" or env.get("TERM") == "dumb":
        return True
    try:
        return not stream.isatty()
    except (AttributeError, ValueError, OSError):
        return True


class Terminal:
    """Where progress and summary go: a Rich console, or plain lines on a text stream."""

    def __init__(self, stream: IO[str], plain: bool | None = None) -> None:
        self.stream = stream
        self.plain = is_plain(stream) if plain is None else plain
        self.console = Console(
            file=stream,
            force_terminal=not self.plain,
            no_color=self.plain,
            highlight=False,
            emoji=False,
            soft_wrap=self.plain,
        )

    def line(self, segments: Line) -> None:
        if self.plain:
            self.stream.write("".join(text for text, _ in segments) + "\n")
            self.stream.flush()
        else:
            self.console.print(Text.assemble(*segments), soft_wrap=True)

    def text(self, message: str, style: str = "") -> None:
        self.line([(message, style)])


class _Seconds(ProgressColumn):
    """Time of a stage to the hundredth of a second (stages often take less than one)."""

    def render(self, task: Task) -> Text:
        took = task.finished_time if task.finished else task.elapsed
        return Text(f"{took or 0.0:6.2f} s", style="yellow")


class StageProgress:
    """The `progress(stage, state)` callback of the pipeline, drawn on a Terminal.

    `state` is "start" when a stage or gate begins; any other state ("done", "failed",
    "skipped", ...) ends it, and the time since its start is shown. Safe to call from
    several threads (gates run concurrently).
    """

    def __init__(self, term: Terminal) -> None:
        self.term = term
        self._lock = threading.Lock()
        self._started: dict[str, float] = {}
        self._tasks: dict[str, TaskID] = {}
        self.finished: list[tuple[str, str, float]] = []
        self._live: Progress | None = None
        if not term.plain:
            self._live = Progress(
                SpinnerColumn(finished_text="[green]✓[/green]"),
                TextColumn("{task.description:<24}"),
                _Seconds(),
                console=term.console,
                transient=False,
            )

    def __enter__(self) -> StageProgress:
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.stop()

    def __call__(self, stage: str, state: str) -> None:
        with self._lock:
            now = time.perf_counter()
            if state == "start":
                self._started[stage] = now
                if self._live is not None:
                    self._tasks[stage] = self._live.add_task(stage, total=1)
                return
            took = now - self._started.pop(stage, now)
            self.finished.append((stage, state, took))
            if self._live is not None:
                task = self._tasks.pop(stage, None)
                label = stage if state == "done" else f"{stage} ({state})"
                if task is None:
                    task = self._live.add_task(label, total=1)
                self._live.update(task, description=label, completed=1)
                return
            suffix = "" if state == "done" else f" ({state})"
            self.term.text(f"  {stage + suffix:<24} {took:6.2f} s")


def _loc(path: str | None, line: int | None) -> str:
    if path and line:
        return f"{path}:{line}"
    return path or "project"


def summary_lines(
    review: Review, outputs: list[str], worst: int = WORST, verdict: bool = True
) -> list[Line]:
    """Recommendation, scores, findings by severity, the worst findings, gates, files written.

    `verdict=False` leaves out the recommendation and gates (a review of a few files, as the
    pre-commit hook runs it, has findings but no verdict of its own).
    """
    s = review.scores
    active = review.active_findings
    suppressed = len(review.findings) - len(active)
    out: list[Line] = []
    if verdict:
        out.append(
            [
                (review.recommendation, VERDICT_STYLE.get(review.recommendation, "bold")),
                (f"  overall {s.overall}/5", "bold"),
                (
                    f"  (requirements {s.requirements}, tests {s.tests}, quality {s.quality})",
                    "",
                ),
            ]
        )
    counts: Line = [("findings: ", "")]
    for i, sev in enumerate(Severity):
        n = sum(1 for f in active if f.severity == sev)
        counts.append((f"{n} {sev.value}", SEVERITY_STYLE[sev] if n else "dim"))
        if i < len(Severity) - 1:
            counts.append((", ", ""))
    if suppressed:
        counts.append((f"  ({suppressed} suppressed)", "dim"))
    out.append(counts)
    for f in sorted(active, key=lambda f: f.sort_key())[:worst]:
        out.append(
            [
                ("  ", ""),
                (f"{f.severity.value:<8}", SEVERITY_STYLE[f.severity]),
                (f" {f.rule:<12} ", "bold"),
                (_loc(f.path, f.line), "cyan"),
                (f"  {f.message}", ""),
            ]
        )
    if len(active) > worst:
        out.append([(f"  … and {len(active) - worst} more in the report", "dim")])
    if verdict and review.gates:
        gates: Line = [("gates: ", "")]
        for i, (name, g) in enumerate(sorted(review.gates.items())):
            if i:
                gates.append((", ", ""))
            if not g.measured:
                gates.append((f"{name} not measured", "dim"))
            elif g.passed:
                gates.append((f"{name} ok", "green"))
            else:
                count = f" {g.count}" if g.count is not None else ""
                gates.append((f"{name} failed{count}", "red"))
        out.append(gates)
    unverified = [t for t in review.requirements if t.status == "unverified"]
    if verdict and unverified:
        out.append([(f"requirements not verified by measurement: {len(unverified)}", "yellow")])
    for path in outputs:
        out.append([(f"wrote {path}", "dim")])
    return out


def print_summary(term: Terminal, review: Review, outputs: list[str], verdict: bool = True) -> None:
    for line in summary_lines(review, outputs, verdict=verdict):
        term.line(line)
