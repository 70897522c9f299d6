"""The workspace: git change with changed line ranges, untracked files, no git, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastapi_review.errors import UsageError
from fastapi_review.workspace import check_design, open_workspace, read_change
from tests.conftest import git


def _repo(tmp_path: Path) -> Path:
    root = tmp_path / "r"
    (root / "app").mkdir(parents=True)
    (root / "app" / "a.py").write_text("one = 1\ntwo = 2\nthree = 3\nfour = 4\n", encoding="utf-8")
    (root / "app" / "same.py").write_text("x = 1\n", encoding="utf-8")
    (root / ".gitignore").write_text("ignored.py\n", encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return root


def test_changed_line_ranges_and_untracked(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    (root / "app" / "a.py").write_text(
        "one = 1\nTWO = 2\nthree = 3\nfour = 4\nfive = 5\nsix = 6\n", encoding="utf-8"
    )
    (root / "app" / "new.py").write_text("y = 2\n", encoding="utf-8")
    (root / "ignored.py").write_text("z = 3\n", encoding="utf-8")
    change = read_change(root)
    assert change.git and change.head
    assert change.files["app/a.py"] == [(2, 2), (5, 6)]
    assert change.files["app/new.py"] is None  # untracked: the whole file is new
    assert "app/same.py" not in change.files
    assert "ignored.py" not in change.files
    assert change.touches("app/a.py", 5) and not change.touches("app/a.py", 3)
    assert change.touches("app/new.py", 1) and not change.touches("app/same.py", 1)


def test_subdirectory_of_a_repository(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    (root / "app" / "a.py").write_text("one = 11\ntwo = 2\nthree = 3\nfour = 4\n", encoding="utf-8")
    change = read_change(root / "app")
    assert change.files == {"a.py": [(1, 1)]}


def test_no_git_means_everything_changed(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("x = 1\n", encoding="utf-8")
    change = read_change(tmp_path)
    assert not change.git
    assert "not a git repository" in change.reason
    assert change.touches("m.py", 1) and change.touches(None)


def test_repository_without_commits(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("x = 1\n", encoding="utf-8")
    git(tmp_path, "init", "-q", "-b", "main")
    change = read_change(tmp_path)
    assert change.git and change.files == {"m.py": None}
    assert "no commits" in change.reason


def test_bad_base_is_a_usage_error(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    with pytest.raises(UsageError, match="is not a commit"):
        read_change(root, "does-not-exist")


def test_design_discovery(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "m.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "docs" / "tech-design.md").write_text("# D\n\nGET /x\n", encoding="utf-8")
    ws = open_workspace(tmp_path)
    assert ws.design == tmp_path / "docs" / "tech-design.md"
    (tmp_path / "pyproject.toml").write_text(
        '[tool.fastapi-review]\ndesign = "spec/design.md"\n', encoding="utf-8"
    )
    (tmp_path / "spec").mkdir()
    (tmp_path / "spec" / "design.md").write_text("# D\n\nGET /y\n", encoding="utf-8")
    assert open_workspace(tmp_path).design == tmp_path / "spec" / "design.md"


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"\n \n", "empty"), (b"abc\x00def", "binary")],
)
def test_bad_design_files(tmp_path: Path, content: bytes, message: str) -> None:
    p = tmp_path / "d.md"
    p.write_bytes(content)
    with pytest.raises(UsageError, match=message):
        check_design(p)


def test_relative_python_is_made_absolute_without_leaving_the_venv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "m.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "env" / "bin").mkdir(parents=True)
    real = tmp_path / "real-python"
    real.write_text("", encoding="utf-8")
    (tmp_path / "env" / "bin" / "python").symlink_to(real)
    monkeypatch.chdir(tmp_path)
    ws = open_workspace(Path("proj"), python=Path("env/bin/python"))
    assert ws.python == tmp_path / "env" / "bin" / "python"
    with pytest.raises(UsageError, match="interpreter not found"):
        open_workspace(Path("proj"), python=Path("env/bin/nope"))
