"""Running one external tool: its own process group, a time limit, the whole group killed on overrun."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass
class ProcResult:
    """What a finished (or stopped) command left behind."""

    args: list[str]
    returncode: int | None
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False
    error: str | None = None  # the command could not be started at all

    @property
    def ok(self) -> bool:
        return self.error is None and not self.timed_out


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        with contextlib.suppress(OSError):
            proc.kill()


def run(
    args: Sequence[str | Path],
    cwd: Path,
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> ProcResult:
    """Run `args` in a new session; on overrun kill its whole process group (children too)."""
    argv = [str(a) for a in args]
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
        )
    except OSError as exc:
        return ProcResult(argv, None, "", "", time.monotonic() - started, error=str(exc))
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            out, err = "", ""
        return ProcResult(
            argv, proc.returncode, out or "", err or "", time.monotonic() - started, timed_out=True
        )
    finally:
        if proc.poll() is None:
            _kill_group(proc)
    return ProcResult(argv, proc.returncode, out, err, time.monotonic() - started)
