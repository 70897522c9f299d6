"""A cache of the rules' results, so a second review of an unchanged project is cheap.

What is cached: the findings (and rule failures) of the rule engine, stored per file with
that file's content hash. What decides reuse: a key over everything the rules can read,
namely every indexed module's text (by content hash), the files that were skipped and why,
the non-Python files the index keeps (pyproject.toml, docker-compose, ...), the root's
test, coverage and mypy configuration files (pytest.ini, tox.ini, ...), the tech design, the validated configuration, the change under review, the tool's version and the
hash of its own source, and the Python version that parsed the code. Rules look across
files (call graph, settings, topics), so a finding in one file may depend on another:
results are reused only when the whole key matches; any change re-runs every rule.

Where: `platformdirs.user_cache_dir("fastapi-review")`, or `cache-dir` of the
configuration (relative paths are relative to the project). The reviewed tree is never
written to unless `cache-dir` points into it. `FASTAPI_REVIEW_NO_CACHE=1` turns it off.
A broken, unreadable or unwritable cache is ignored: the review just runs the rules.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from fastapi_review import __version__
from fastapi_review.index.project import ProjectIndex, build_index
from fastapi_review.models import Finding, SkippedFile, TracedRequirement
from fastapi_review.rules.base import Context
from fastapi_review.rules.engine import RuleRun, run_rules
from fastapi_review.runtime import fewer_gc_passes
from fastapi_review.workspace import Workspace

FORMAT = 1
KEEP_PER_PROJECT = 8  # newest entries kept for one project root
NO_CACHE_ENV = "FASTAPI_REVIEW_NO_CACHE"


def _digest(*parts: bytes | str) -> str:
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        data = p.encode("utf-8", "surrogatepass") if isinstance(p, str) else p
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


@cache
def tool_fingerprint() -> str:
    """Version, Python version and a hash of the tool's own code and data files."""
    pkg = Path(__file__).resolve().parent
    parts: list[bytes | str] = [__version__, sys.version, str(FORMAT)]
    for p in sorted(pkg.rglob("*")):
        if p.suffix in {".py", ".yaml", ".j2"} and "__pycache__" not in p.parts:
            try:
                parts += [p.relative_to(pkg).as_posix(), p.read_bytes()]
            except OSError:
                parts.append(p.name)
    return _digest(*parts)


def default_cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("fastapi-review"))


def cache_dir_for(ws: Workspace) -> Path | None:
    """The cache directory of this review, or None when caching is off."""
    if os.environ.get(NO_CACHE_ENV, "").strip() not in {"", "0"}:
        return None
    if ws.config.cache_dir is not None:
        if not ws.config.cache_dir.strip():
            return None
        p = Path(ws.config.cache_dir).expanduser()
        return p if p.is_absolute() else ws.root / p
    return default_cache_dir()


def file_hashes(index: ProjectIndex) -> dict[str, str]:
    """Content hash of every module the rules saw (the text the index parsed)."""
    return {path: _digest("\n".join(m.lines)) for path, m in index.modules.items()}


def review_key(ctx: Context, hashes: dict[str, str]) -> str:
    """One key over everything the rules read; equal keys mean equal rule results."""
    index = ctx.index
    change = ctx.change
    parts: list[str] = [
        tool_fingerprint(),
        str(index.root),
        ctx.config.model_dump_json(),
        ctx.design_text,
        json.dumps([r.model_dump(mode="json") for r in ctx.requirements], sort_keys=True),
        json.dumps(
            [change.git, change.base, change.head, sorted(change.files.items())], default=str
        ),
    ]
    parts += [f"{p}\0{h}" for p, h in sorted(hashes.items())]
    parts += [f"skipped\0{s.path}\0{s.reason}" for s in index.skipped]
    parts += [f"extra\0{name}\0{_digest(text)}" for name, text in sorted(index.extra_files.items())]
    parts += _root_files(index.root)
    return _digest(*parts)


# files and folders at the root that rules read besides the index (project configuration)
ROOT_FILES = ("pytest.ini", ".pytest.ini", "tox.ini", "setup.cfg", ".coveragerc", "mypy.ini")
ROOT_DIRS = ("alembic", "migrations", "tests")


def _root_files(root: Path) -> list[str]:
    out: list[str] = []
    for name in ROOT_FILES:
        try:
            out.append(f"root\0{name}\0{_digest((root / name).read_bytes())}")
        except OSError:
            out.append(f"root\0{name}\0-")
    out += [f"dir\0{name}\0{(root / name).is_dir()}" for name in ROOT_DIRS]
    return out


@dataclass
class RuleCache:
    """Cached rule results of one project root, under `directory/rules/<root hash>/`."""

    directory: Path
    root: Path
    hits: int = 0
    misses: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        return self.directory / "rules" / _digest(str(self.root))[:16]

    def _entry(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def load(self, key: str, hashes: dict[str, str]) -> RuleRun | None:
        path = self._entry(key)
        try:
            data: dict[str, Any] = json.loads(path.read_text("utf-8"))
            if data.get("format") != FORMAT or data.get("key") != key:
                return None
            run = RuleRun(errors=[str(e) for e in data["errors"]])
            for rel, entry in data["files"].items():
                if rel and hashes.get(rel, entry["hash"]) != entry["hash"]:
                    return None  # cannot happen with an equal key; never trust a stale entry
                run.findings += [Finding.model_validate(f) for f in entry["findings"]]
            order = data.get("order")
            if isinstance(order, list) and len(order) == len(run.findings):
                run.findings = [run.findings[i] for i in order]
            os.utime(path)  # most recently used
            return run
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.problems.append(f"cache entry ignored ({exc.__class__.__name__})")
            return None

    def store(self, key: str, hashes: dict[str, str], run: RuleRun) -> None:
        files: dict[str, dict[str, Any]] = {}
        grouped: list[int] = []
        buckets: dict[str, list[int]] = {}
        for i, f in enumerate(run.findings):
            buckets.setdefault(f.path if f.path in hashes else "", []).append(i)
        for rel, idx in buckets.items():
            files[rel] = {
                "hash": hashes.get(rel, ""),
                "findings": [run.findings[i].model_dump(mode="json") for i in idx],
            }
            grouped += idx
        # the engine's order, to give back the findings exactly as they came
        position = {orig: n for n, orig in enumerate(grouped)}
        order = [position[i] for i in range(len(run.findings))]
        payload = {
            "format": FORMAT,
            "key": key,
            "tool": __version__,
            "created": time.time(),
            "errors": run.errors,
            "files": files,
            "order": order,
        }
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(payload, fh, separators=(",", ":"))
            os.replace(tmp, self._entry(key))
            self._prune()
        except OSError as exc:
            self.problems.append(f"cache not written: {exc.strerror or exc}")

    def _prune(self) -> None:
        entries = sorted(
            (p for p in self.folder.glob("*.json")),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        for old in entries[KEEP_PER_PROJECT:]:
            old.unlink(missing_ok=True)


def cached_run_rules(ctx: Context, cache_dir: Path | None) -> tuple[RuleRun, bool]:
    """`run_rules(ctx)`, served from the cache when nothing the rules read has changed.

    Returns the run and whether it came from the cache.
    """
    if cache_dir is None:
        return run_rules(ctx), False
    store = RuleCache(cache_dir, ctx.index.root)
    try:
        hashes = file_hashes(ctx.index)
        key = review_key(ctx, hashes)
    except (OSError, ValueError, TypeError, UnicodeError):
        return run_rules(ctx), False
    hit = store.load(key, hashes)
    if hit is not None:
        for f in hit.findings:
            override = ctx.config.severity.get(f.rule)
            if override is not None:
                f.severity = override
            f.in_change = ctx.change.touches(f.path, f.line)
        return hit, True
    run = run_rules(ctx)
    store.store(key, hashes, run)
    return run, False


@dataclass
class StaticResult:
    """What the static phase produces: index, rule findings, traced requirements."""

    index: ProjectIndex
    findings: list[Finding]
    rule_errors: list[str]
    traced: list[TracedRequirement]
    skipped: list[SkippedFile]
    from_cache: bool
    timings: dict[str, float]


def static_phase(ws: Workspace, use_cache: bool = True) -> StaticResult:
    """Index, rules and tracing, without any gate: the part of a review that reads code.

    The same steps, in the same order, as `pipeline.run_review` minus the gates (no
    coverage, no tool findings); used by the benchmark and by tests.
    """
    with fewer_gc_passes():
        return _static_phase(ws, use_cache)


def _static_phase(ws: Workspace, use_cache: bool) -> StaticResult:
    from fastapi_review.design import read_design
    from fastapi_review.trace import trace_requirements

    timings: dict[str, float] = {}
    t = time.perf_counter()
    index = build_index(ws.root, ws.config.include, ws.config.exclude)
    timings["index"] = time.perf_counter() - t
    doc = read_design(ws.design) if ws.design is not None else None
    ctx = Context(
        index=index,
        config=ws.config,
        change=ws.change,
        requirements=doc.requirements if doc else [],
        design_text=doc.text if doc else "",
    )
    t = time.perf_counter()
    rule_run, hit = cached_run_rules(ctx, cache_dir_for(ws) if use_cache else None)
    timings["rules"] = time.perf_counter() - t
    t = time.perf_counter()
    traced = trace_requirements(ctx.requirements, ctx, None, None, list(rule_run.findings))
    timings["trace"] = time.perf_counter() - t
    return StaticResult(
        index=index,
        findings=rule_run.findings + traced.findings,
        rule_errors=rule_run.errors,
        traced=traced.traced,
        skipped=index.skipped,
        from_cache=hit,
        timings=timings,
    )
