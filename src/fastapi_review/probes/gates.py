"""The static gates: ruff, formatter, mypy, bandit, pip-audit, pre-commit, project metadata.

Each gate is a function `GateContext -> GateOutcome`; none writes into the reviewed tree
(ruff runs with --no-cache, mypy with a cache outside the project, nothing uses --fix).
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

from fastapi_review.models import Finding, GateResult
from fastapi_review.probes import proc
from fastapi_review.probes.context import GateContext, GateOutcome, tool
from fastapi_review.probes.findings import (
    MAX_PER_GATE,
    MYPY_NOISE,
    bandit_category,
    bandit_reported,
    lint_summary,
    ruff_category,
    tool_finding,
)


def _unmeasured(name: str, reason: str, res: proc.ProcResult | None = None) -> GateOutcome:
    return GateOutcome(
        GateResult(
            name=name,
            measured=False,
            reason=reason,
            duration_s=round(res.duration_s, 2) if res else None,
        )
    )


def _failure(name: str, res: proc.ProcResult, timeout: float) -> GateOutcome | None:
    """The outcome of a run that did not produce usable output, or None when it did."""
    if res.error is not None:
        return _unmeasured(name, f"{name}: could not start: {res.error}", res)
    if res.timed_out:
        return _unmeasured(name, f"{name}: timed out after {timeout:g} s", res)
    return None


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""


def _line_text(ctx: GateContext, path: str, line: int) -> str:
    try:
        lines = (ctx.root / path).read_text("utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return lines[line - 1].strip() if 1 <= line <= len(lines) else ""


# --- ruff ------------------------------------------------------------------------------
RUFF_BASELINE = ("E4", "E7", "E9", "F")


def _ruff_configured(ctx: GateContext) -> bool:
    if "ruff" in ctx.conf.pyproject.get("tool", {}):
        return True
    return any((ctx.root / name).is_file() for name in ("ruff.toml", ".ruff.toml"))


def ruff_gate(ctx: GateContext) -> GateOutcome:
    limit = ctx.timeout("ruff")
    cmd = [*tool("ruff"), "check", "--output-format", "json", "--no-cache", "--exit-zero"]
    configured = _ruff_configured(ctx)
    if not configured:
        # no Ruff configuration of the project's own: Ruff's classic defaults, stable across
        # Ruff versions (newer releases select far more by default)
        cmd += ["--select", ",".join(RUFF_BASELINE)]
    res = proc.run([*cmd, "."], ctx.root, limit)
    bad = _failure("ruff", res, limit)
    if bad:
        return bad
    try:
        raw = json.loads(res.stdout or "[]")
    except ValueError:
        return _unmeasured("ruff", f"ruff failed: {_last_line(res.stderr)}", res)
    items: list[dict[str, Any]] = []
    for r in raw:
        loc = r.get("location") or {}
        items.append(
            {
                "path": ctx.rel(str(r.get("filename", ""))),
                "line": int(loc.get("row") or 0) or None,
                "code": str(r.get("code") or "syntax-error"),
                "message": str(r.get("message", "")),
            }
        )
    findings: list[Finding] = []
    plain: list[dict[str, Any]] = []
    for it in items:
        cat = ruff_category(it["code"])
        if cat == "quality.lint":
            plain.append(it)
            continue
        findings.append(
            tool_finding(
                f"ruff:{it['code']}",
                cat,
                it["path"],
                it["line"],
                f"Ruff {it['code']}: {it['message']}",
                evidence=_line_text(ctx, it["path"], it["line"] or 0),
                fix="Fix the reported problem (see the Ruff rule documentation for the code).",
            )
        )
    if plain:
        first = min(plain, key=lambda i: (i["path"], i["line"] or 0))
        ev = {(first["path"], first["line"]): _line_text(ctx, first["path"], first["line"] or 0)}
        findings.insert(0, lint_summary(plain, ev))
    result = GateResult(
        name="ruff",
        measured=True,
        passed=not items,
        count=len(items),
        duration_s=round(res.duration_s, 2),
        details={
            "errors": items,
            "command": " ".join(["ruff", *cmd[len(tool("ruff")) :], "."]),
            "rules": "the project's Ruff configuration"
            if configured
            else "no Ruff configuration in the project: classic defaults "
            + ",".join(RUFF_BASELINE),
        },
    )
    return GateOutcome(result, findings)


# --- formatter -------------------------------------------------------------------------
_WOULD = re.compile(r"^(?:would reformat:?|-->)\s+(.+?)(?::\d+:\d+)?\s*$", re.IGNORECASE)


def _reformat_files(ctx: GateContext, res: proc.ProcResult) -> list[str]:
    """Files the formatter would change: ruff's JSON, else the text of black / older ruff."""
    text = res.stdout.strip()
    if text.startswith("["):
        try:
            return [ctx.rel(str(d.get("filename", ""))) for d in json.loads(text)]
        except (ValueError, AttributeError):
            pass
    files: list[str] = []
    for line in (res.stderr + "\n" + res.stdout).splitlines():
        m = _WOULD.match(line.strip())
        if m:
            files.append(ctx.rel(m.group(1)))
    return files


def format_gate(ctx: GateContext) -> GateOutcome:
    limit = ctx.timeout("format")
    note = None
    if ctx.conf.black_configured:
        if ctx.env.has("black") and ctx.env.is_project_env:
            cmd = [str(ctx.env.python), "-m", "black", "--check", "."]
        else:
            cmd = [*tool("black"), "--check", "."]
        name = "black"
    else:
        cmd = [*tool("ruff"), "format", "--check", "--no-cache", "--output-format", "json", "."]
        name = "ruff format"
        note = "the project does not configure Black: checked with `ruff format --check`"
    res = proc.run(cmd, ctx.root, limit)
    bad = _failure("format", res, limit)
    if bad:
        return bad
    if name == "black" and res.returncode not in (0, 1) and "No module named black" in res.stderr:
        # black configured but not installed anywhere: fall back to ruff's formatter
        res = proc.run(
            [*tool("ruff"), "format", "--check", "--no-cache", "--output-format", "json", "."],
            ctx.root,
            limit,
        )
        name, note = "ruff format", "Black is configured but not installed: used ruff format"
        bad = _failure("format", res, limit)
        if bad:
            return bad
    if res.returncode not in (0, 1):
        return _unmeasured("format", f"{name} failed: {_last_line(res.stderr + res.stdout)}", res)
    files = _reformat_files(ctx, res)
    findings = [
        tool_finding(
            f"{name.split()[0]}:format",
            "quality.format",
            path,
            None,
            f"{name} would reformat {path}",
            evidence=f"{name} --check: would reformat {path}",
            fix=f"Run `{name}` on the file (or enable the formatter's pre-commit hook).",
        )
        for path in sorted(set(files))
    ]
    details: dict[str, Any] = {"formatter": name, "files": sorted(set(files))}
    if note:
        details["note"] = note
    result = GateResult(
        name="format",
        measured=True,
        passed=res.returncode == 0 and not files,
        count=len(set(files)),
        duration_s=round(res.duration_s, 2),
        details=details,
    )
    return GateOutcome(result, findings)


# --- mypy ------------------------------------------------------------------------------
_MYPY_TEXT = re.compile(r"^(.+?):(\d+)(?::\d+)?: (error|note|warning): (.*?)(?:\s+\[([\w-]+)\])?$")


def _mypy_targets(ctx: GateContext) -> list[str]:
    mypy_conf = ctx.conf.pyproject.get("tool", {}).get("mypy", {})
    if mypy_conf.get("files") or (ctx.root / "mypy.ini").is_file():
        return []  # the project says what to check
    if ctx.conf.source_dirs:
        return list(ctx.conf.source_dirs)
    return ["."]


def mypy_gate(ctx: GateContext) -> GateOutcome:
    limit = ctx.timeout("mypy")
    cache = ctx.cache_dir / "mypy" if ctx.cache_dir else ctx.scratch / "mypy-cache"
    base = [
        *tool("mypy"),
        "--python-executable",
        str(ctx.env.python),
        "--cache-dir",
        str(cache),
        "--no-error-summary",
        "--show-error-codes",
        "--no-pretty",
        "--no-color-output",
    ]
    targets = _mypy_targets(ctx)
    res = proc.run([*base, "-O", "json", *targets], ctx.root, limit)
    fmt = "json"
    if res.ok and res.returncode == 2 and "-O" in res.stderr and "unrecognized" in res.stderr:
        res = proc.run([*base, *targets], ctx.root, limit)
        fmt = "text"
    bad = _failure("mypy", res, limit)
    if bad:
        return bad
    errors: list[dict[str, Any]] = []
    for line in res.stdout.splitlines():
        line = line.strip()
        if not line:
            continue
        if fmt == "json" and line.startswith("{"):
            try:
                d = json.loads(line)
            except ValueError:
                continue
            if d.get("severity") != "error":
                continue
            errors.append(
                {
                    "path": ctx.rel(str(d.get("file", ""))),
                    "line": int(d.get("line") or 0) or None,
                    "code": str(d.get("code") or "misc"),
                    "message": str(d.get("message", "")),
                }
            )
        else:
            m = _MYPY_TEXT.match(line)
            if m and m.group(3) == "error":
                errors.append(
                    {
                        "path": ctx.rel(m.group(1)),
                        "line": int(m.group(2)),
                        "code": m.group(5) or "misc",
                        "message": m.group(4),
                    }
                )
    if res.returncode not in (0, 1) or (res.returncode == 1 and not errors):
        return _unmeasured("mypy", f"mypy failed: {_last_line(res.stderr + res.stdout)}", res)
    missing = sorted(
        {
            m.group(1).split(".")[0]
            for e in errors
            if e["code"] == "import-not-found"
            and (m := re.search(r'module named "([\w.]+)"', e["message"]))
        }
    )
    if missing:
        # the environment lacks the project's dependencies: every error that follows from
        # an unresolved import (untyped decorators, Any base classes) would be noise
        return _unmeasured(
            "mypy",
            f"the environment {ctx.env.python} lacks imported packages "
            f"({', '.join(missing[:6])}{', …' if len(missing) > 6 else ''}); "
            "pass the project's interpreter with --python",
            res,
        )
    real = [e for e in errors if e["code"] not in MYPY_NOISE]
    findings = [
        tool_finding(
            f"mypy:{e['code']}",
            "types.mypy",
            e["path"],
            e["line"],
            f"mypy: {e['message']}",
            evidence=_line_text(ctx, e["path"], e["line"] or 0),
            fix="Fix the type error (or the annotation) that mypy reports.",
        )
        for e in real[:MAX_PER_GATE]
    ]
    if len(real) > MAX_PER_GATE:
        findings.append(
            tool_finding(
                "mypy",
                "types.mypy",
                None,
                None,
                f"mypy reports {len(real) - MAX_PER_GATE} more error(s) (listed in the gate details)",
                fix="Run mypy on the project and fix the remaining errors.",
            )
        )
    details: dict[str, Any] = {
        "errors": errors,
        "python_executable": str(ctx.env.python),
        "targets": targets or "from the project's mypy configuration",
        "output_format": fmt,
    }
    if ctx.env.note:
        details["note"] = ctx.env.note
    noise = len(errors) - len(real)
    if noise:
        details["environment_errors"] = noise
    return GateOutcome(
        GateResult(
            name="mypy",
            measured=True,
            passed=not errors,
            count=len(errors),
            duration_s=round(res.duration_s, 2),
            details=details,
        ),
        findings,
    )


# --- bandit ----------------------------------------------------------------------------
def bandit_gate(ctx: GateContext) -> GateOutcome:
    limit = ctx.timeout("bandit")
    cmd = [*tool("bandit"), "-f", "json", "-q"]
    if "bandit" in ctx.conf.pyproject.get("tool", {}):
        cmd += ["-c", "pyproject.toml"]
    if ctx.conf.source_dirs:
        cmd += ["-r", *ctx.conf.source_dirs]
    else:
        cmd += ["-r", ".", "-x", "./tests,./test,./.venv,./venv,./migrations,./alembic"]
    res = proc.run(cmd, ctx.root, limit)
    bad = _failure("bandit", res, limit)
    if bad:
        return bad
    try:
        data = json.loads(res.stdout)
    except ValueError:
        return _unmeasured("bandit", f"bandit failed: {_last_line(res.stderr)}", res)
    issues: list[dict[str, Any]] = []
    findings: list[Finding] = []
    for item in data.get("results", []):
        issue = {
            "path": ctx.rel(str(item.get("filename", ""))),
            "line": int(item.get("line_number") or 0) or None,
            "test_id": str(item.get("test_id", "")),
            "severity": item.get("issue_severity"),
            "confidence": item.get("issue_confidence"),
            "message": str(item.get("issue_text", "")),
        }
        issues.append(issue)
        if bandit_reported(item):
            findings.append(
                tool_finding(
                    f"bandit:{issue['test_id']}",
                    bandit_category(issue["test_id"]),
                    issue["path"],
                    issue["line"],
                    f"Bandit {issue['test_id']}: {issue['message']}",
                    evidence=_line_text(ctx, issue["path"], issue["line"] or 0),
                    fix="Remove the insecure construct (see the Bandit check's documentation).",
                )
            )
    return GateOutcome(
        GateResult(
            name="bandit",
            measured=True,
            passed=not findings,
            count=len(findings),
            duration_s=round(res.duration_s, 2),
            details={
                "issues": issues,
                "reported": len(findings),
                "scanned": ctx.conf.source_dirs or ["."],
                "errors": data.get("errors", []),
            },
        ),
        findings,
    )


# --- dependencies (pip-audit) ----------------------------------------------------------
def _project_name(ctx: GateContext) -> str | None:
    py = ctx.conf.pyproject
    name = py.get("project", {}).get("name") or py.get("tool", {}).get("poetry", {}).get("name")
    return str(name).lower().replace("_", "-") if name else None


def dependencies_gate(ctx: GateContext) -> GateOutcome:
    limit = ctx.timeout("dependencies")
    cmd = [*tool("pip_audit"), "-f", "json", "--progress-spinner", "off"]
    if ctx.env.is_project_env and ctx.env.purelib:
        cmd += ["--path", ctx.env.purelib]
        audited = f"the environment of {ctx.env.python}"
    elif (ctx.root / "requirements.txt").is_file():
        cmd += ["-r", "requirements.txt"]
        audited = "requirements.txt"
    else:
        reason = "not audited: no project environment and no requirements.txt to audit"
        if ctx.env.error:
            reason = f"not audited: {ctx.env.error}"
        return _unmeasured("dependencies", reason)
    res = proc.run(cmd, ctx.root, limit)
    if res.timed_out:
        return _unmeasured(
            "dependencies", f"not audited: pip-audit timed out after {limit:g} s", res
        )
    if res.error is not None:
        return _unmeasured(
            "dependencies", f"not audited: pip-audit could not start: {res.error}", res
        )
    try:
        data = json.loads(res.stdout.strip().splitlines()[-1] if res.stdout.strip() else "")
    except (ValueError, IndexError):
        return _unmeasured(
            "dependencies", f"not audited: pip-audit failed: {_last_line(res.stderr)}", res
        )
    own = _project_name(ctx)
    deps = data.get("dependencies", []) if isinstance(data, dict) else []
    skipped = [
        d
        for d in deps
        if d.get("skip_reason") and str(d.get("name", "")).lower().replace("_", "-") != own
    ]
    vulnerable = [d for d in deps if d.get("vulns")]
    findings = [
        tool_finding(
            f"pip-audit:{d['vulns'][0].get('id', 'vuln')}",
            "security.vulnerable-dependency",
            None,
            None,
            f"{d.get('name')} {d.get('version')} has known vulnerabilities: "
            + ", ".join(str(v.get("id")) for v in d["vulns"]),
            evidence=f"pip-audit: {d.get('name')}=={d.get('version')}",
            fix="Upgrade to a fixed version: "
            + ", ".join(",".join(v.get("fix_versions") or ["none yet"]) for v in d["vulns"]),
        )
        for d in vulnerable
    ]
    details: dict[str, Any] = {
        "audited": audited,
        "packages": len(deps),
        "vulnerable": [
            {
                "name": d.get("name"),
                "version": d.get("version"),
                "ids": [v.get("id") for v in d["vulns"]],
            }
            for d in vulnerable
        ],
        "skipped": [{"name": d.get("name"), "reason": d.get("skip_reason")} for d in skipped],
    }
    duration = round(res.duration_s, 2)
    if skipped:
        first = str(skipped[0].get("skip_reason", ""))
        reason = (
            f"not audited: {len(skipped)} of {len(deps)} packages could not be audited "
            f"(e.g. {first})"
        )
        if len(skipped) == len(deps):
            reason = f"not audited: no package could be audited (e.g. {first})"
        return GateOutcome(
            GateResult(
                name="dependencies",
                measured=False,
                passed=False if vulnerable else None,
                reason=reason,
                count=len(vulnerable),
                duration_s=duration,
                details=details,
            ),
            findings,
        )
    return GateOutcome(
        GateResult(
            name="dependencies",
            measured=True,
            passed=not vulnerable,
            count=len(vulnerable),
            duration_s=duration,
            details=details,
        ),
        findings,
    )


# --- pre-commit ------------------------------------------------------------------------
HOOK_GROUPS = {
    "ruff": {"ruff", "ruff-check"},
    "black": {"black", "black-jupyter"},
    "ruff-format": {"ruff-format"},
    "mypy": {"mypy"},
}


def precommit_gate(ctx: GateContext) -> GateOutcome:
    path = next(
        (
            p
            for p in (".pre-commit-config.yaml", ".pre-commit-config.yml")
            if (ctx.root / p).is_file()
        ),
        None,
    )
    if path is None:
        f = tool_finding(
            "precommit:missing",
            "quality.precommit",
            None,
            None,
            "No pre-commit configuration (.pre-commit-config.yaml)",
            fix="Add a .pre-commit-config.yaml with ruff, black (or ruff-format) and mypy hooks.",
        )
        return GateOutcome(
            GateResult(
                name="precommit", measured=True, passed=False, count=1, details={"config": None}
            ),
            [f],
        )
    try:
        data = yaml.safe_load((ctx.root / path).read_text("utf-8"))
    except (yaml.YAMLError, OSError, UnicodeDecodeError) as exc:
        return _unmeasured("precommit", f"{path} is not valid YAML: {str(exc).splitlines()[0]}")
    hooks: list[str] = []
    for repo in (data or {}).get("repos", []) if isinstance(data, dict) else []:
        for hook in (repo or {}).get("hooks", []) if isinstance(repo, dict) else []:
            if isinstance(hook, dict) and hook.get("id"):
                hooks.append(str(hook["id"]))
    present = {g: any(h in ids for h in hooks) for g, ids in HOOK_GROUPS.items()}
    formatter = present["black"] or (present["ruff-format"] and not ctx.conf.black_configured)
    missing = [
        n
        for n, ok in (("ruff", present["ruff"]), ("black", formatter), ("mypy", present["mypy"]))
        if not ok
    ]
    findings = []
    if missing:
        findings.append(
            tool_finding(
                "precommit:hooks",
                "quality.precommit",
                path,
                None,
                f"pre-commit configuration lacks the {', '.join(missing)} hook(s)",
                evidence=f"hooks: {', '.join(hooks) or 'none'}",
                fix="Add the missing hooks to .pre-commit-config.yaml.",
            )
        )
    return GateOutcome(
        GateResult(
            name="precommit",
            measured=True,
            passed=not missing,
            count=len(missing),
            details={"config": path, "hooks": hooks, "has": present, "missing": missing},
        ),
        findings,
    )


# --- metadata --------------------------------------------------------------------------
MINIMUMS = {"python": (3, 11), "fastapi": (0, 104), "pydantic": (2, 0), "sqlalchemy": (2, 0)}


def _version_tuple(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    m = re.match(r"\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?", text)
    if not m:
        return None
    return tuple(int(g) for g in m.groups() if g is not None)


def _lock_versions(root: Path) -> tuple[str | None, dict[str, str]]:
    for name in ("poetry.lock", "uv.lock", "pdm.lock"):
        p = root / name
        if not p.is_file():
            continue
        try:
            data = tomllib.loads(p.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
            continue
        out: dict[str, str] = {}
        for pkg in data.get("package", []):
            if isinstance(pkg, dict) and pkg.get("name") and pkg.get("version"):
                out[str(pkg["name"]).lower()] = str(pkg["version"])
        return name, out
    return None, {}


def _python_floor(py: dict[str, Any]) -> str | None:
    spec = py.get("project", {}).get("requires-python") or (
        py.get("tool", {}).get("poetry", {}).get("dependencies", {}).get("python")
    )
    if not isinstance(spec, str):
        return None
    m = re.search(r"(\d+\.\d+)", spec)
    return m.group(1) if m else None


def metadata_gate(ctx: GateContext) -> GateOutcome:
    py, problems = ctx.conf.pyproject, []
    pyproject = ctx.root / "pyproject.toml"
    kind = None
    if not pyproject.is_file():
        problems.append("no pyproject.toml")
    elif ctx.conf.pyproject_error:
        problems.append(f"pyproject.toml is not valid TOML: {ctx.conf.pyproject_error}")
    else:
        poetry, project = py.get("tool", {}).get("poetry"), py.get("project")
        if isinstance(project, dict):
            kind = "PEP 621"
            if not project.get("name"):
                problems.append("[project] has no name")
            if not project.get("version") and "version" not in project.get("dynamic", []):
                problems.append("[project] has neither version nor dynamic version")
        if isinstance(poetry, dict):
            kind = "Poetry" if kind is None else "Poetry + PEP 621"
            if kind == "Poetry" and not (poetry.get("name") and poetry.get("version")):
                problems.append("[tool.poetry] lacks name or version")
        if kind is None:
            problems.append("pyproject.toml has neither [project] nor [tool.poetry]")
        if "build-system" not in py:
            problems.append("no [build-system] table")
    lock_name, locked = _lock_versions(ctx.root)
    versions: dict[str, dict[str, str | None]] = {}
    for dist in ("fastapi", "pydantic", "sqlalchemy"):
        if dist in locked:
            versions[dist] = {"version": locked[dist], "from": lock_name}
        elif ctx.env.is_project_env and ctx.env.versions.get(dist):
            versions[dist] = {"version": ctx.env.versions[dist], "from": "environment"}
    if ctx.env.is_project_env and ctx.env.python_version:
        versions["python"] = {"version": ctx.env.python_version, "from": "environment"}
    elif _python_floor(py):
        versions["python"] = {"version": _python_floor(py), "from": "requires-python"}
    findings: list[Finding] = []
    below: list[str] = []
    for dist, floor in MINIMUMS.items():
        found = versions.get(dist)
        vt = _version_tuple(found["version"] if found else None)
        if vt is not None and vt < floor:
            need = ".".join(map(str, floor))
            below.append(dist)
            findings.append(
                tool_finding(
                    f"metadata:{dist}",
                    "ops.stack-version",
                    "pyproject.toml" if pyproject.is_file() else None,
                    None,
                    f"{dist} {found['version'] if found else '?'} is below the required {need}",
                    evidence=f"{dist} {found['version'] if found else '?'} (from {found['from'] if found else '?'})",
                    fix=f"Upgrade {dist} to {need} or later.",
                )
            )
    details: dict[str, Any] = {"pyproject": kind, "problems": problems, "versions": versions}
    if not ctx.env.is_project_env:
        details["note"] = ctx.env.note
    return GateOutcome(
        GateResult(
            name="metadata",
            measured=True,
            passed=not problems and not below,
            count=len(problems) + len(below),
            details=details,
        ),
        findings,
    )
