"""The reviewed project's Python environment: which interpreter, and what is installed in it.

Order: the interpreter the user gave (`--python`), a `.venv` / `venv` / `env` inside the
project (uv and `poetry config virtualenvs.in-project` put theirs there), the Poetry
environment when `poetry` is on PATH, and last the tool's own interpreter (said so in a note).
The environment is inspected by running a small script in that interpreter, never by importing
anything from it into this process.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from fastapi_review.probes import proc

VENV_DIRS = (".venv", "venv", "env", ".env")

# distributions whose versions the metadata gate and the test gate need
DISTRIBUTIONS = (
    "fastapi",
    "pydantic",
    "sqlalchemy",
    "starlette",
    "pytest",
    "pytest-cov",
    "pytest-asyncio",
    "anyio",
    "coverage",
    "black",
    "mypy",
    "ruff",
)

_PROBE = """
import json, sys, sysconfig
from importlib import metadata
out = {"python": "%d.%d.%d" % sys.version_info[:3], "prefix": sys.prefix,
       "purelib": sysconfig.get_paths().get("purelib"), "versions": {}}
for name in json.loads(sys.argv[1]):
    try:
        out["versions"][name] = metadata.version(name)
    except Exception:
        out["versions"][name] = None
print(json.dumps(out))
"""


@dataclass
class Environment:
    """The interpreter the gates run the project with, and what it has installed."""

    python: Path
    source: str  # "given", "project venv", "poetry", "tool (fallback)"
    note: str | None = None  # set when the project's own environment was not found
    python_version: str | None = None
    purelib: str | None = None
    versions: dict[str, str | None] = field(default_factory=dict)
    error: str | None = None  # the interpreter could not be inspected

    @property
    def is_project_env(self) -> bool:
        return self.source != "tool (fallback)"

    def has(self, dist: str) -> bool:
        return bool(self.versions.get(dist))


def _venv_python(venv: Path) -> Path | None:
    for cand in (venv / "bin" / "python", venv / "Scripts" / "python.exe"):
        if cand.is_file():
            return cand
    return None


def _poetry_python(root: Path, timeout: float) -> Path | None:
    poetry = shutil.which("poetry")
    if poetry is None or not (root / "pyproject.toml").is_file():
        return None
    res = proc.run([poetry, "env", "info", "--path", "--no-interaction"], root, timeout)
    if res.returncode != 0 or not res.stdout.strip():
        return None
    return _venv_python(Path(res.stdout.strip().splitlines()[-1]))


def find_python(root: Path, given: Path | None, timeout: float = 30.0) -> Environment:
    """Which interpreter runs the project's tests and resolves its imports for mypy."""
    if given is not None:
        return Environment(python=given, source="given")
    for name in VENV_DIRS:
        found = _venv_python(root / name)
        if found is not None:
            return Environment(python=found, source="project venv")
    poetry = _poetry_python(root, timeout)
    if poetry is not None:
        return Environment(python=poetry, source="poetry")
    return Environment(
        python=Path(sys.executable),
        source="tool (fallback)",
        note=(
            "no project environment found (no --python, no .venv/venv in the project, "
            "no Poetry environment): using the review tool's own interpreter"
        ),
    )


def inspect(env: Environment, root: Path, timeout: float = 60.0) -> Environment:
    """Fill in the Python version, site-packages and distribution versions of `env`."""
    res = proc.run([env.python, "-c", _PROBE, json.dumps(DISTRIBUTIONS)], root, timeout)
    if not res.ok or res.returncode != 0:
        reason = res.error or ("timed out" if res.timed_out else res.stderr.strip()[-300:])
        env.error = f"cannot run {env.python}: {reason}"
        return env
    try:
        data = json.loads(res.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        env.error = f"cannot inspect {env.python}: unexpected output"
        return env
    env.python_version = data.get("python")
    env.purelib = data.get("purelib")
    env.versions = {str(k): (str(v) if v else None) for k, v in data.get("versions", {}).items()}
    return env
