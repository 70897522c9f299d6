"""The pipeline completes and says what failed when one stage has a defect."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastapi_review import pipeline
from fastapi_review.workspace import open_workspace

FILES = {
    "app/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get('/health/live')\nasync def live() -> dict[str, str]:\n    return {'status': 'ok'}\n",
    "tech-design.md": "# D\n\n| Method | Path |\n|---|---|\n| GET | /health/live |\n| GET | /items |\n",
}


def _project(tmp_path: Path) -> Path:
    for rel, text in FILES.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    return tmp_path


def _boom(*args: object, **kwargs: object) -> None:
    raise RuntimeError("boom")


def test_a_failing_design_reader_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "read_design", _boom)
    review = pipeline.run_review(open_workspace(_project(tmp_path), run_tests=False), gates=[])
    assert any(
        "the design could not be read: RuntimeError: boom" in p for p in review.design_problems
    )
    assert review.requirements == []
    assert review.scores.requirements == 3


def test_a_failing_tracer_leaves_requirements_unverified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "trace_requirements", _boom)
    review = pipeline.run_review(open_workspace(_project(tmp_path), run_tests=False), gates=[])
    assert any(n.startswith("requirement tracing failed: RuntimeError: boom") for n in review.notes)
    assert review.requirements and {t.status for t in review.requirements} == {"unverified"}


def test_a_failing_index_collector_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi_review.index import routes

    monkeypatch.setattr(routes, "collect", _boom)
    review = pipeline.run_review(open_workspace(_project(tmp_path), run_tests=False), gates=[])
    assert "index: routes not collected: RuntimeError: boom" in review.notes
    assert review.stats["routes"] == 0


def test_gates_not_selected_are_reported_as_not_run(tmp_path: Path) -> None:
    review = pipeline.run_review(open_workspace(_project(tmp_path), run_tests=False), gates=[])
    assert set(review.gates) == {
        "ruff",
        "format",
        "mypy",
        "bandit",
        "dependencies",
        "tests",
        "precommit",
        "metadata",
    }
    assert all(not g.measured and g.reason for g in review.gates.values())
    # nothing measured: never a silent "all gates pass"
    assert (
        "not measured: ruff, format, mypy, bandit, dependencies"
        in review.scores.justification["quality"]
    )


def test_the_gates_run_while_the_index_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from fastapi_review.probes import GateRun

    gates_started = threading.Event()
    seen: dict[str, bool] = {}
    build = pipeline.build_index

    def building(*args: object, **kwargs: object) -> object:
        # sequential stages would time out here: the gates would not have started
        seen["gates started before the index"] = gates_started.wait(timeout=5)
        return build(*args, **kwargs)  # type: ignore[arg-type]

    def gates(*args: object, **kwargs: object) -> GateRun:
        gates_started.set()
        seen["index passed to the gates"] = args[1] is not None
        return GateRun()

    monkeypatch.setattr(pipeline, "build_index", building)
    monkeypatch.setattr(pipeline, "run_gates", gates)
    review = pipeline.run_review(open_workspace(_project(tmp_path), run_tests=False))
    assert seen == {"gates started before the index": True, "index passed to the gates": False}
    # the pipeline adds the test inventory the gates left out
    assert review.test_inventory["tests"] == 0
    assert "kinds" in review.test_inventory
