"""Shared fixtures: hand-written projects under tests/fixtures/projects, as git repositories."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "projects"


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


ProjectFactory = Callable[..., Path]


@pytest.fixture
def make_project(tmp_path: Path) -> ProjectFactory:
    """Copy a fixture project; commit `base` paths (globs) and leave the rest uncommitted."""

    def make(name: str, base: list[str] | None = None, use_git: bool = True) -> Path:
        dest = tmp_path / name
        shutil.copytree(FIXTURES / name, dest)
        if use_git:
            git(dest, "init", "-q", "-b", "main")
            for pattern in base or []:
                for path in sorted(dest.glob(pattern)):
                    git(dest, "add", str(path.relative_to(dest)))
            git(dest, "commit", "-q", "--allow-empty", "-m", "base")
        return dest

    return make


@pytest.fixture
def write_tree(tmp_path: Path) -> Callable[[dict[str, str | bytes]], Path]:
    """Write a small tree of files given as {relative path: content}."""

    def write(files: dict[str, str | bytes]) -> Path:
        root = tmp_path / "proj"
        for rel, content in files.items():
            p = root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                p.write_bytes(content)
            else:
                p.write_text(content, encoding="utf-8")
        return root

    return write


@pytest.fixture(autouse=True, scope="session")
def _private_user_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Reviews run by the suite (in-process or as subprocesses) cache into a temporary folder."""
    import os

    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
