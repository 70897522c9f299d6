"""A hostile environment: odd git states, bad test suites, a missing tool, broken configuration.

Every case is a complete review that finishes and says what it could not measure.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from fastapi_review.models import GateResult
from tests.robustness.conftest import cli, git, review


def _commit_all(root: Path) -> None:
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")


# --- git ---------------------------------------------------------------------------------
def test_no_git_repository(mini: Path) -> None:
    result = review(mini)
    assert result.change.git is False
    assert any(n.startswith("change: not a git repository") for n in result.notes)
    assert "app/main.py" in result.files_reviewed


def test_detached_head(mini: Path) -> None:
    _commit_all(mini)
    (mini / "app" / "pricing.py").write_text("X = 1\n", encoding="utf-8")
    git(mini, "commit", "-q", "-am", "second")
    git(mini, "checkout", "-q", "--detach", "HEAD~1")
    (mini / "app" / "extra.py").write_text("Y = 2\n", encoding="utf-8")
    result = review(mini)
    assert result.change.git is True
    assert result.change.changed_files == ["app/extra.py"]


def test_shallow_clone(mini: Path, tmp_path: Path) -> None:
    _commit_all(mini)
    (mini / "app" / "pricing.py").write_text("X = 1\n", encoding="utf-8")
    git(mini, "commit", "-q", "-am", "second")
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{mini}", str(clone))
    assert git(clone, "rev-parse", "--is-shallow-repository").strip() == "true"
    (clone / "app" / "pricing.py").write_text("X = 2\n", encoding="utf-8")
    result = review(clone)
    assert result.change.git is True
    assert result.change.changed_files == ["app/pricing.py"]


# --- the test suite ----------------------------------------------------------------------
def _tests_gate(root: Path) -> GateResult:
    result = review(root, gates=["tests"], run_tests=True)
    return result.gates["tests"]


def test_no_tests(mini: Path) -> None:
    for p in (mini / "tests").iterdir():
        p.unlink()
    (mini / "tests").rmdir()
    gate = _tests_gate(mini)
    # nothing collected is never a pass (measured as 0 tests, or not measured with a reason)
    assert gate.passed is not True
    assert gate.count in (0, None)
    assert gate.reason or gate.details


def test_failing_tests(mini: Path) -> None:
    (mini / "tests" / "test_pricing.py").write_text(
        "from app.pricing import with_tax\n\n\ndef test_wrong() -> None:\n"
        "    assert with_tax(100) == 100\n",
        encoding="utf-8",
    )
    gate = _tests_gate(mini)
    assert gate.measured is True
    assert gate.passed is False


def test_hanging_test_suite_is_stopped_by_the_configured_timeout(mini: Path) -> None:
    with (mini / "pyproject.toml").open("a", encoding="utf-8") as fh:
        fh.write("\n[tool.fastapi-review.timeouts]\ntests = 5\n")
    (mini / "tests" / "test_hang.py").write_text(
        "import time\n\n\ndef test_hangs() -> None:\n    time.sleep(3600)\n", encoding="utf-8"
    )
    started = time.monotonic()
    gate = _tests_gate(mini)
    elapsed = time.monotonic() - started
    assert elapsed < 90, f"the review took {elapsed:.0f} s despite a 5 s test timeout"
    assert gate.measured is False
    assert gate.reason is not None and "5" in gate.reason


# --- tools and configuration -------------------------------------------------------------
def test_missing_external_tool_is_not_measured(mini: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ruff executable is gone (as on a PATH without ruff): the gate says so."""
    import fastapi_review.probes.gates as gates_mod

    real_tool = gates_mod.tool

    def without_ruff(module: str) -> list[str]:
        if module == "ruff":
            return [str(mini / "no-such-dir" / "ruff")]
        return real_tool(module)

    monkeypatch.setattr(gates_mod, "tool", without_ruff)
    result = review(mini, gates=["ruff", "bandit"])
    assert result.gates["ruff"].measured is False
    assert result.gates["ruff"].reason
    assert result.gates["bandit"].measured is True


def test_broken_pyproject(mini: Path) -> None:
    (mini / "pyproject.toml").write_text('[project\nname = "mini"\n', encoding="utf-8")
    result = review(mini, gates=["metadata"])
    gate = result.gates["metadata"]
    assert gate.passed is False or gate.measured is False
    text = (gate.reason or "") + str(gate.details)
    assert "pyproject" in text.lower()
    assert "app/main.py" in result.files_reviewed


@pytest.mark.parametrize(
    ("content", "word"),
    [(b"", "empty"), (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "")],
    ids=["empty", "binary"],
)
def test_empty_or_binary_design_exits_2_with_one_line(
    mini: Path, tmp_path: Path, content: bytes, word: str
) -> None:
    (mini / "tech-design.md").write_bytes(content)
    proc = cli(str(mini), "--gates", "none", "-o", str(tmp_path / "out" / "cr.md"), "-q")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "tech-design.md" in lines[0]
    assert word in lines[0].lower()
    assert not (tmp_path / "out" / "cr.md").exists()


def test_the_cli_completes_with_every_gate_on_a_project_without_tests(
    mini: Path, tmp_path: Path
) -> None:
    """End to end with every gate, the tool's interpreter as the project's, no tests at all."""
    for p in (mini / "tests").iterdir():
        p.unlink()
    (mini / "tests").rmdir()
    out = tmp_path / "out"
    proc = cli(
        str(mini),
        "--python",
        sys.executable,
        "-o",
        str(out / "cr.md"),
        "--json",
        str(out / "r.json"),
        "-q",
    )
    assert proc.returncode == 0, proc.stderr
    assert (out / "cr.md").is_file() and (out / "r.json").is_file()
