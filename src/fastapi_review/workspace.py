"""The workspace: project root, git change, design file, environment."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from fastapi_review.config import Config, load_config
from fastapi_review.errors import UsageError

DESIGN_CANDIDATES = ("tech-design.md", "docs/tech-design.md", "TECH-DESIGN.md", "docs/design.md")

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


@dataclass
class Change:
    """What the reviewed change touches: files and, for each, the changed line ranges."""

    git: bool
    reason: str = ""
    base: str = "HEAD"
    head: str | None = None
    # path -> list of (start, end) inclusive; None means the whole file is new/changed
    files: dict[str, list[tuple[int, int]] | None] = field(default_factory=dict)

    def touches(self, path: str | None, line: int | None = None) -> bool:
        if not self.git:
            return True
        if path is None or path not in self.files:
            return False
        ranges = self.files[path]
        if ranges is None or line is None:
            return True
        return any(a <= line <= b for a, b in ranges)

    def line_count(self, path: str) -> int | None:
        ranges = self.files.get(path)
        if ranges is None:
            return None
        return sum(b - a + 1 for a, b in ranges)


@dataclass
class Workspace:
    root: Path
    design: Path | None
    config: Config
    change: Change
    python: Path | None = None
    run_tests: bool = True


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args],
        cwd=root,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=60,
        check=False,
    )


def read_change(root: Path, base: str = "HEAD") -> Change:
    """The uncommitted change against `base`: tracked diffs plus untracked, not-ignored files."""
    try:
        probe = _git(root, "rev-parse", "--show-toplevel")
    except (OSError, subprocess.SubprocessError) as exc:
        return Change(git=False, reason=f"git is not available ({exc.__class__.__name__})")
    if probe.returncode != 0:
        return Change(git=False, reason="not a git repository: every file counts as changed")
    top = Path(probe.stdout.strip()).resolve()
    head = _git(root, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")
    if head.returncode != 0:
        if base == "HEAD":
            # a repository without commits: everything is new
            change = Change(git=True, base=base, reason="repository has no commits yet")
            _add_untracked(root, top, change, all_files=True)
            return change
        raise UsageError(f"--base {base!r} is not a commit in {root}")
    change = Change(git=True, base=base, head=head.stdout.strip())
    diff = _git(root, "diff", "--unified=0", "--no-color", "--no-ext-diff", "-M", base, "--", ".")
    current: str | None = None
    for line in diff.stdout.splitlines():
        if line.startswith("+++ "):
            name = line[4:]
            current = None if name == "/dev/null" else _rel(top, root, name[2:])
            if current is not None:
                change.files.setdefault(current, [])
        elif line.startswith("@@") and current is not None:
            m = _HUNK.match(line)
            if m:
                start, count = int(m.group(1)), int(m.group(2) or "1")
                ranges = change.files[current]
                if count > 0 and ranges is not None:
                    ranges.append((start, start + count - 1))
    # files whose only change was a deletion of lines keep an empty range list
    _add_untracked(root, top, change)
    return change


def _rel(top: Path, root: Path, name: str) -> str | None:
    path = (top / name).resolve()
    try:
        return path.relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


def _add_untracked(root: Path, top: Path, change: Change, all_files: bool = False) -> None:
    args = ["ls-files", "--others", "--exclude-standard", "--", "."]
    if all_files:
        args = ["ls-files", "--cached", "--others", "--exclude-standard", "--", "."]
    out = _git(root, *args)
    for name in out.stdout.splitlines():
        rel = (root.resolve() / name).resolve()
        try:
            change.files[rel.relative_to(root.resolve()).as_posix()] = None
        except ValueError:
            continue


def find_design(root: Path, config: Config, explicit: Path | None) -> Path | None:
    if explicit is not None:
        return explicit
    if config.design:
        return root / config.design
    for cand in DESIGN_CANDIDATES:
        if (root / cand).is_file():
            return root / cand
    return None


def check_design(path: Path) -> None:
    """Missing, unreadable, empty or binary design files are usage errors."""
    if not path.exists():
        raise UsageError(f"design file not found: {path}")
    if not path.is_file():
        raise UsageError(f"design path is not a file: {path}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"design file is not readable: {path} ({exc.strerror})") from None
    if not data.strip():
        raise UsageError(f"design file is empty: {path}")
    if b"\x00" in data[:8192]:
        raise UsageError(f"design file is binary, not markdown: {path}")


def open_workspace(
    project: Path,
    design: Path | None = None,
    base: str = "HEAD",
    python: Path | None = None,
    config_file: Path | None = None,
    run_tests: bool = True,
) -> Workspace:
    if not project.exists():
        raise UsageError(f"project path does not exist: {project}")
    if not project.is_dir():
        raise UsageError(f"project path is not a directory: {project}")
    root = project.resolve()
    config = load_config(root, config_file)
    design_path = find_design(root, config, design)
    if design_path is not None:
        check_design(design_path)
    if python is not None:
        if not python.exists():
            raise UsageError(f"--python interpreter not found: {python}")
        # absolute, but not resolved: a venv's python is a symlink out of the venv
        python = Path(os.path.abspath(python))
    change = read_change(root, base)
    return Workspace(
        root=root,
        design=design_path,
        config=config,
        change=change,
        python=python,
        run_tests=run_tests,
    )
