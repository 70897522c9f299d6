"""The rule-result cache: reused when nothing changed, never stale, never in the tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastapi_review.cache import static_phase
from fastapi_review.workspace import open_workspace
from tests.robustness.conftest import review

BLOCKING = """import time

from fastapi import APIRouter

router = APIRouter()


@router.get("/slow")
async def slow() -> dict[str, str]:
    time.sleep(1)
    return {"status": "ok"}
"""


@pytest.fixture
def project(mini: Path) -> Path:
    (mini / "app" / "slow.py").write_text(BLOCKING, encoding="utf-8")
    return mini


def _static(root: Path) -> tuple[bool, list[dict[str, object]]]:
    result = static_phase(open_workspace(root, run_tests=False))
    return result.from_cache, [f.model_dump(mode="json") for f in result.findings]


def _tree_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def test_second_run_of_an_unchanged_project_comes_from_the_cache(
    project: Path, private_cache: Path
) -> None:
    files = _tree_files(project)
    hit1, first = _static(project)
    hit2, second = _static(project)
    assert (hit1, hit2) == (False, True)
    assert first == second
    assert any(f["path"] == "app/slow.py" and f["line"] == 10 for f in first)
    assert list(private_cache.rglob("*.json"))
    assert _tree_files(project) == files  # nothing written into the reviewed tree


def test_a_changed_file_is_a_miss_and_the_findings_follow_the_code(project: Path) -> None:
    _static(project)
    (project / "app" / "slow.py").write_text(
        BLOCKING.replace("    time.sleep(1)\n", ""), encoding="utf-8"
    )
    hit, findings = _static(project)
    assert hit is False
    assert not any(f["path"] == "app/slow.py" and f["line"] == 10 for f in findings)


def test_a_changed_configuration_or_design_is_a_miss(project: Path) -> None:
    _static(project)
    with (project / "pyproject.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[tool.fastapi-review]\nignore = ["ASY"]\n')
    assert _static(project)[0] is False
    assert _static(project)[0] is True
    with (project / "tech-design.md").open("a", encoding="utf-8") as fh:
        fh.write("- AC-2: Prices are integers.\n")
    assert _static(project)[0] is False
    (project / "tox.ini").write_text("[pytest]\naddopts = -q\n", encoding="utf-8")
    assert _static(project)[0] is False
    assert _static(project)[0] is True


def test_the_pipeline_says_when_rule_results_come_from_the_cache(project: Path) -> None:
    first = review(project)
    second = review(project)
    note = "rules: results reused from the cache (nothing they read has changed)"
    assert note not in first.notes and note in second.notes
    assert [f.model_dump() for f in first.findings] == [f.model_dump() for f in second.findings]


def test_cache_dir_from_the_configuration(project: Path, private_cache: Path) -> None:
    with (project / "pyproject.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[tool.fastapi-review]\ncache-dir = ".review-cache"\n')
    _static(project)
    assert list((project / ".review-cache").rglob("*.json"))
    assert not private_cache.exists()


def test_caching_can_be_turned_off(
    project: Path, private_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FASTAPI_REVIEW_NO_CACHE", "1")
    assert _static(project)[0] is False
    assert _static(project)[0] is False
    assert not private_cache.exists()


def test_a_corrupt_cache_entry_is_ignored(project: Path, private_cache: Path) -> None:
    _, expected = _static(project)
    for entry in private_cache.rglob("*.json"):
        entry.write_bytes(b"\x00not json")
    hit, findings = _static(project)
    assert hit is False and findings == expected
    assert _static(project) == (True, expected)


def test_an_unwritable_cache_does_not_stop_the_review(project: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    with (project / "pyproject.toml").open("a", encoding="utf-8") as fh:
        fh.write(f'\n[tool.fastapi-review]\ncache-dir = "{blocker / "cache"}"\n')
    hit, findings = _static(project)
    assert hit is False and findings


def test_a_static_hit_parses_nothing_and_gives_back_the_same_review(
    project: Path, private_cache: Path
) -> None:
    (project / "app" / "broken.py").write_text("def broken(:\n", encoding="utf-8")
    first = static_phase(open_workspace(project, run_tests=False))
    second = static_phase(open_workspace(project, run_tests=False))
    assert (first.from_cache, second.from_cache) == (False, True)
    assert first.index is not None and second.index is None  # the hit built no index
    assert "index" not in second.timings
    assert second.modules == first.modules == len(first.index.modules)
    assert [s.model_dump() for s in second.skipped] == [s.model_dump() for s in first.skipped]
    assert any(s.path == "app/broken.py" for s in second.skipped)
    assert [t.model_dump() for t in second.traced] == [t.model_dump() for t in first.traced]
    assert second.traced  # the mini project's design has requirements
    assert [f.model_dump() for f in second.findings] == [f.model_dump() for f in first.findings]
