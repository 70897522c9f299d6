"""Read-only guarantee: a full review (every gate, tests run) leaves the reviewed tree as it was.

The tree is hashed before and after (every file's bytes, mode and symlink target, and
every directory), on a small project with a passing pytest suite and a git repository,
reviewed with the tool's own interpreter as `--python`, reports written outside the tree.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

MINI = Path(__file__).parent / "robustness" / "fixtures" / "mini"


def snapshot(root: Path) -> dict[str, str]:
    """path -> a digest of what is there (content and mode, link target, or 'dir')."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            st = full.lstat()
            if full.is_symlink():
                out[rel] = "link:" + os.readlink(full)
            elif full.is_dir():
                out[rel] = f"dir:{st.st_mode:o}"
            else:
                digest = hashlib.sha256(full.read_bytes()).hexdigest()
                out[rel] = f"file:{st.st_mode:o}:{digest}"
    return out


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "mini"
    shutil.copytree(MINI, root)
    run = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*run, "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run([*run, "add", "-A"], cwd=root, check=True)
    subprocess.run([*run, "commit", "-q", "-m", "base"], cwd=root, check=True)
    # an uncommitted change, so the change analysis and diff coverage have work to do
    with (root / "app" / "pricing.py").open("a", encoding="utf-8") as fh:
        fh.write("\n\ndef net(gross_minor: int) -> int:\n    return gross_minor * 5 // 6\n")
    return root


def test_a_full_review_does_not_modify_the_reviewed_tree(project: Path, tmp_path: Path) -> None:
    before = snapshot(project)
    out = tmp_path / "reports"
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "xdg-cache"))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fastapi_review",
            str(project),
            "--python",
            sys.executable,
            "-o",
            str(out / "code-review.md"),
            "--json",
            str(out / "review.json"),
            "--sarif",
            str(out / "review.sarif"),
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "review.json").read_text("utf-8"))
    gates = report["metrics"]["gates"]
    # the review really ran the gates, the test suite included, and it passed
    assert gates["tests"]["measured"] is True and gates["tests"]["passed"] is True
    assert gates["ruff"]["measured"] is True
    after = snapshot(project)
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(p for p in before.keys() & after.keys() if before[p] != after[p])
    assert (added, removed, changed) == ([], [], [])
    # the cache went to the user cache directory, not into the tree
    assert any((tmp_path / "xdg-cache" / "fastapi-review").rglob("*.json"))
