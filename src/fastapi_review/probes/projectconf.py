"""What the reviewed project says about its own tooling: pyproject, pytest.ini, setup.cfg, .coveragerc."""

from __future__ import annotations

import configparser
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NOT_SOURCE = {
    "tests",
    "test",
    "migrations",
    "alembic",
    "docs",
    "scripts",
    "examples",
    "build",
    "dist",
    "node_modules",
}


@dataclass
class ProjectConf:
    root: Path
    pyproject: dict[str, Any] = field(default_factory=dict)
    pyproject_error: str | None = None
    pytest_addopts: list[str] = field(default_factory=list)
    pytest_ini: dict[str, str] = field(default_factory=dict)  # the ini options as text
    coverage_source: list[str] = field(default_factory=list)
    coverage_branch: bool = False
    source_dirs: list[str] = field(default_factory=list)  # relative dirs of the source packages
    black_configured: bool = False
    mypy_configured: bool = False

    @property
    def addopts_has_cov(self) -> bool:
        return any(a == "--cov" or a.startswith("--cov=") for a in self.pytest_addopts)

    @property
    def asyncio_mode(self) -> str | None:
        return self.pytest_ini.get("asyncio_mode")


def _read_ini(path: Path) -> configparser.ConfigParser | None:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return None
    return parser


def _as_list(value: object) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.replace(",", "\n").splitlines() if v.strip()]
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def _dev_deps(py: dict[str, Any]) -> list[str]:
    names: list[str] = []
    poetry = py.get("tool", {}).get("poetry", {})
    for table in [poetry.get("dev-dependencies", {})] + [
        g.get("dependencies", {}) for g in poetry.get("group", {}).values() if isinstance(g, dict)
    ]:
        if isinstance(table, dict):
            names += [str(k) for k in table]
    project = py.get("project", {})
    for group in list(project.get("optional-dependencies", {}).values()) + list(
        py.get("dependency-groups", {}).values()
    ):
        if isinstance(group, list):
            names += [str(x) for x in group]
    return [n.lower() for n in names]


def _source_dirs(root: Path, py: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for pkg in py.get("tool", {}).get("poetry", {}).get("packages", []) or []:
        if isinstance(pkg, dict) and isinstance(pkg.get("include"), str):
            from_dir = str(pkg.get("from", "")).strip("/")
            rel = f"{from_dir}/{pkg['include']}" if from_dir else pkg["include"]
            if (root / rel).is_dir() and "*" not in rel:
                out.append(rel)
    if out:
        return out
    bases: list[Path] = [root / "src"] if (root / "src").is_dir() else []
    bases.append(root)
    for base in bases:
        for child in sorted(base.iterdir()):
            if (
                child.is_dir()
                and child.name not in NOT_SOURCE
                and not child.name.startswith(".")
                and (child / "__init__.py").is_file()
            ):
                out.append(child.relative_to(root).as_posix())
        if out:
            return out
    return out


def read_project_conf(root: Path) -> ProjectConf:
    conf = ProjectConf(root=root)
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            conf.pyproject = tomllib.loads(pyproject.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            conf.pyproject_error = str(exc)
    tool = conf.pyproject.get("tool", {})

    # pytest: the first file pytest itself would use
    ini: dict[str, Any] | None = None
    for name in ("pytest.ini", ".pytest.ini"):
        parser = _read_ini(root / name) if (root / name).is_file() else None
        if parser is not None and parser.has_section("pytest"):
            ini = dict(parser["pytest"])
            break
    if ini is None and "ini_options" in tool.get("pytest", {}):
        ini = dict(tool["pytest"]["ini_options"])
    for name, section in (("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")):
        if ini is None and (root / name).is_file():
            parser = _read_ini(root / name)
            if parser is not None and parser.has_section(section):
                ini = dict(parser[section])
    ini = ini or {}
    addopts = ini.get("addopts", "")
    if isinstance(addopts, list):
        conf.pytest_addopts = [str(a) for a in addopts]
    else:
        try:
            conf.pytest_addopts = shlex.split(str(addopts))
        except ValueError:
            conf.pytest_addopts = str(addopts).split()
    conf.pytest_ini = {str(k): str(v) for k, v in ini.items()}

    # coverage: .coveragerc, then setup.cfg / tox.ini, then pyproject
    cov_run: dict[str, Any] = {}
    for name, prefix in ((".coveragerc", ""), ("setup.cfg", "coverage:"), ("tox.ini", "coverage:")):
        if (root / name).is_file():
            parser = _read_ini(root / name)
            if parser is not None and parser.has_section(f"{prefix}run"):
                cov_run = dict(parser[f"{prefix}run"])
                break
    if not cov_run:
        cov_run = dict(tool.get("coverage", {}).get("run", {}))
    conf.coverage_source = _as_list(cov_run.get("source", []))
    branch = cov_run.get("branch", False)
    conf.coverage_branch = branch is True or str(branch).lower() in {"true", "1", "yes", "on"}

    conf.source_dirs = _source_dirs(root, conf.pyproject)
    deps = _dev_deps(conf.pyproject)
    conf.black_configured = "black" in tool or any(
        d == "black" or d.startswith(("black>", "black=", "black[", "black<", "black ~"))
        for d in deps
    )
    conf.mypy_configured = "mypy" in tool or (root / "mypy.ini").is_file()
    return conf
