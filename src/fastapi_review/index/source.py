"""Finding and reading the project's Python files, once."""

from __future__ import annotations

import ast
import fnmatch
import io
import os
import sys
import tokenize
import warnings
from dataclasses import dataclass
from pathlib import Path

from fastapi_review.models import SkippedFile

SKIP_DIRS = {
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    ".env",
    "env",
    ".tox",
    ".nox",
    "node_modules",
    "build",
    "dist",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "htmlcov",
    "site-packages",
    ".eggs",
    ".idea",
    ".vscode",
}

MAX_FILE_BYTES = 20 * 1024 * 1024


@dataclass
class SourceFile:
    path: str  # relative to the root, posix
    text: str


def _skip_dir(dirpath: str, name: str) -> bool:
    if name in SKIP_DIRS or name.endswith(".egg-info"):
        return True
    return os.path.isfile(os.path.join(dirpath, name, "pyvenv.cfg"))


def _matches(rel: str, patterns: list[str]) -> bool:
    return any(
        fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(rel, p.rstrip("/") + "/*") for p in patterns
    )


def discover(
    root: Path, include: list[str], exclude: list[str]
) -> tuple[list[str], list[SkippedFile]]:
    """Every .py file below root (no virtual environments, caches, build output or .git)."""
    found: list[str] = []
    skipped: list[SkippedFile] = []
    seen_dirs: set[tuple[int, int]] = set()
    prefix = os.path.join(str(root), "")  # every path os.walk gives starts with it
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=None):
        try:
            st = os.stat(dirpath)
            key = (st.st_dev, st.st_ino)
        except OSError:
            continue
        if key in seen_dirs:
            dirnames[:] = []
            continue
        seen_dirs.add(key)
        dirnames[:] = sorted(d for d in dirnames if not _skip_dir(dirpath, d))
        for name in sorted(filenames):
            if not name.endswith(".py"):
                continue
            full = os.path.join(dirpath, name)
            rel = (
                full[len(prefix) :] if full.startswith(prefix) else os.path.relpath(full, root)
            ).replace(os.sep, "/")
            if include and not _matches(rel, include):
                continue
            if exclude and _matches(rel, exclude):
                continue
            if os.path.islink(full) and not os.path.exists(full):
                skipped.append(SkippedFile(path=rel, reason="broken symbolic link"))
                continue
            found.append(rel)
    return found, skipped


def read_source(root: Path, rel: str, data: bytes | None = None) -> SourceFile | SkippedFile:
    """Read one file as text, honouring PEP 263; binary or undecodable files are skipped.
    `data`: the file's bytes, already read."""
    try:
        if data is None:
            full = root / rel
            size = full.stat().st_size
        else:
            size = len(data)
        if size > MAX_FILE_BYTES:
            return SkippedFile(
                path=rel, reason=f"file too large to analyse ({size // 1_000_000} MB)"
            )
        if data is None:
            data = full.read_bytes()
    except OSError as exc:
        return SkippedFile(path=rel, reason=f"not readable: {exc.strerror or exc}")
    if b"\x00" in data:
        return SkippedFile(path=rel, reason="binary file (contains NUL bytes)")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as exc:
        # tokenize reports undeclared non-UTF-8 bytes as a SyntaxError
        undeclared = isinstance(exc, SyntaxError) and "encoding" in str(exc)
        if isinstance(exc, UnicodeDecodeError) or undeclared:
            return SkippedFile(path=rel, reason="not valid UTF-8")
        return SkippedFile(path=rel, reason=f"undecodable: {exc}")
    if text.startswith("\ufeff"):
        text = text[1:]
    return SourceFile(path=rel, text=text)


def parse(src: SourceFile) -> ast.Module | SkippedFile:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(src.text, filename=src.path, type_comments=False)
    except SyntaxError as exc:
        where = f"line {exc.lineno}" if exc.lineno else "unknown line"
        ver = f"{sys.version_info.major}.{sys.version_info.minor}"
        return SkippedFile(
            path=src.path,
            reason=f"syntax error at {where}: {exc.msg} (or syntax newer than Python {ver})",
        )
    except (ValueError, RecursionError, MemoryError) as exc:
        return SkippedFile(path=src.path, reason=f"cannot be parsed: {exc.__class__.__name__}")
