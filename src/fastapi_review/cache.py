"""A cache of the static phase's results, so a second review of an unchanged project is cheap.

What is cached: the findings (and rule failures) of the rule engine, stored per file with
that file's content hash; for the static phase (`static_phase`: index, rules and tracing
without gates) also the traced requirements and what the index skipped, so that a hit
parses nothing. What decides reuse: a key computed without parsing (`source_key`) over
everything the index, rules and tracer can read, namely the bytes of every Python file
discovery finds (by content hash) and what it skipped, the non-Python files the index
keeps (pyproject.toml, docker-compose, ...), the root's test, coverage and mypy
configuration files (pytest.ini, tox.ini, ...), the tech design and its requirements, the
validated configuration, the change under review, the tool's version and the hash of its
own source, and the Python version. Rules look across files (call graph, settings,
topics), so a finding in one file may depend on another: results are reused only when the
whole key matches; any change re-runs every rule. A full review (`pipeline.run_review`)
reuses the rules' results the same way but still builds the index: its gates, inline
suppressions, statistics and coverage-aware tracing read it.

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
from fastapi_review.config import Config
from fastapi_review.index.project import EXTRA_FILE_NAMES, ProjectIndex, build_index, not_regular
from fastapi_review.index.source import discover
from fastapi_review.models import Finding, Requirement, SkippedFile, TracedRequirement
from fastapi_review.rules.base import Context
from fastapi_review.rules.engine import RuleRun, run_rules
from fastapi_review.runtime import gc_paused
from fastapi_review.workspace import Change, Workspace

FORMAT = 2  # 2: entries of the static phase also hold tracing and skipped files
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


def source_key(
    root: Path,
    config: Config,
    design_text: str,
    requirements: list[Requirement],
    change: Change,
    read: dict[str, bytes] | None = None,
    found: tuple[list[str], list[SkippedFile]] | None = None,
) -> tuple[str, dict[str, str]]:
    """One key over everything the index, the rules and the tracer read, computed without
    parsing: the bytes of every Python file the index would read (by content hash) and
    what discovery skipped, the extra files the index keeps, the root's configuration
    files, the design and its requirements, the validated configuration, the change under
    review, and the tool (version, own code, Python version). Equal keys mean equal
    results. Returns the key and each file's content hash; `read`, if given, receives
    the bytes of the Python files (for the index, which then does not read them again);
    `found`: what `discover` answered for this root and configuration, if asked already."""
    paths, skipped = found if found is not None else discover(root, config.include, config.exclude)
    hashes: dict[str, str] = {}
    parts: list[str] = [
        tool_fingerprint(),
        str(root),
        config.model_dump_json(),
        design_text,
        json.dumps([r.model_dump(mode="json") for r in requirements], sort_keys=True),
        json.dumps(
            [change.git, change.base, change.head, sorted(change.files.items())], default=str
        ),
    ]
    for rel in paths:
        special = not_regular(root, rel)
        if special is not None:  # never read a FIFO: its reason is the key
            parts.append(f"special\0{rel}\0{special.reason}")
            continue
        try:
            with open(os.path.join(root, rel), "rb") as fh:
                data = fh.read()
        except OSError as exc:
            parts.append(f"unreadable\0{rel}\0{exc.strerror or exc}")
            continue
        hashes[rel] = _digest(data)
        if read is not None:
            read[rel] = data
    parts += [f"{p}\0{h}" for p, h in sorted(hashes.items())]
    parts += [f"skipped\0{s.path}\0{s.reason}" for s in skipped]
    for name in EXTRA_FILE_NAMES:
        try:
            parts.append(f"extra\0{name}\0{_digest((root / name).read_bytes())}")
        except OSError:
            parts.append(f"extra\0{name}\0-")
    parts += _root_files(root)
    return _digest(*parts), hashes


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

    def load(self, key: str, hashes: dict[str, str]) -> CacheEntry | None:
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
            got = CacheEntry(rules=run)
            static = data.get("static")
            if isinstance(static, dict):
                got.static = StaticEntry(
                    traced=[TracedRequirement.model_validate(t) for t in static["traced"]],
                    trace_findings=[Finding.model_validate(f) for f in static["findings"]],
                    skipped=[SkippedFile.model_validate(s) for s in static["skipped"]],
                    modules=int(static["modules"]),
                )
            os.utime(path)  # most recently used
            return got
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.problems.append(f"cache entry ignored ({exc.__class__.__name__})")
            return None

    def store(
        self, key: str, hashes: dict[str, str], run: RuleRun, static: StaticEntry | None = None
    ) -> None:
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
        payload: dict[str, Any] = {
            "format": FORMAT,
            "key": key,
            "tool": __version__,
            "created": time.time(),
            "errors": run.errors,
            "files": files,
            "order": order,
        }
        if static is not None:
            payload["static"] = {
                "traced": [t.model_dump(mode="json") for t in static.traced],
                "findings": [f.model_dump(mode="json") for f in static.trace_findings],
                "skipped": [s.model_dump(mode="json") for s in static.skipped],
                "modules": static.modules,
            }
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                # one string from the C encoder: json.dump() encodes in Python, chunk by chunk
                fh.write(json.dumps(payload, separators=(",", ":")))
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


@dataclass
class StaticEntry:
    """What the static phase adds to a cache entry: tracing without gates, and what the
    index skipped, so a hit needs no index at all."""

    traced: list[TracedRequirement]
    trace_findings: list[Finding]
    skipped: list[SkippedFile]
    modules: int


@dataclass
class CacheEntry:
    rules: RuleRun
    static: StaticEntry | None = None


def _key_of(ctx: Context) -> tuple[str, dict[str, str]] | None:
    try:
        return source_key(ctx.index.root, ctx.config, ctx.design_text, ctx.requirements, ctx.change)
    except (OSError, ValueError, TypeError, UnicodeError):
        return None


def _restored(run: RuleRun, config: Config, change: Change) -> RuleRun:
    for f in run.findings:
        override = config.severity.get(f.rule)
        if override is not None:
            f.severity = override
        f.in_change = change.touches(f.path, f.line)
    return run


def cached_run_rules(ctx: Context, cache_dir: Path | None) -> tuple[RuleRun, bool]:
    """`run_rules(ctx)`, served from the cache when nothing the rules read has changed.

    Returns the run and whether it came from the cache.
    """
    if cache_dir is None:
        return run_rules(ctx), False
    store = RuleCache(cache_dir, ctx.index.root)
    keyed = _key_of(ctx)
    if keyed is None:
        return run_rules(ctx), False
    key, hashes = keyed
    hit = store.load(key, hashes)
    if hit is not None:
        return _restored(hit.rules, ctx.config, ctx.change), True
    run = run_rules(ctx)
    store.store(key, hashes, run)
    return run, False


@dataclass
class StaticResult:
    """What the static phase produces: rule findings, traced requirements, and the index
    (None when everything came from the cache: nothing was parsed)."""

    index: ProjectIndex | None
    modules: int
    findings: list[Finding]
    rule_errors: list[str]
    traced: list[TracedRequirement]
    skipped: list[SkippedFile]
    from_cache: bool
    timings: dict[str, float]


def static_phase(ws: Workspace, use_cache: bool = True, one_shot: bool = False) -> StaticResult:
    """Index, rules and tracing, without any gate: the part of a review that reads code.

    The same steps, in the same order, as `pipeline.run_review` minus the gates (no
    coverage, no tool findings); used by the benchmark and by tests. When the cache holds
    this exact project (same key: every file's bytes, design, configuration, change,
    tool), the result comes from it and nothing is parsed. `one_shot`: the process ends
    after this (as the command line does; see `runtime.gc_paused`).
    """
    with gc_paused(one_shot):
        return _static_phase(ws, use_cache)


def _static_phase(ws: Workspace, use_cache: bool) -> StaticResult:
    from fastapi_review.design import read_design
    from fastapi_review.trace import trace_requirements

    timings: dict[str, float] = {}
    t = time.perf_counter()
    doc = read_design(ws.design) if ws.design is not None else None
    requirements = doc.requirements if doc else []
    design_text = doc.text if doc else ""
    cache_dir = cache_dir_for(ws) if use_cache else None
    store = RuleCache(cache_dir, ws.root) if cache_dir is not None else None
    keyed: tuple[str, dict[str, str]] | None = None
    cached: CacheEntry | None = None
    read: dict[str, bytes] = {}  # the files' bytes, read once for the key and the index
    found = discover(ws.root, ws.config.include, ws.config.exclude)  # (once for both)
    if store is not None:
        try:
            keyed = source_key(
                ws.root, ws.config, design_text, requirements, ws.change, read, found
            )
        except (OSError, ValueError, TypeError, UnicodeError):
            keyed = None
        cached = store.load(*keyed) if keyed is not None else None
    timings["key"] = time.perf_counter() - t
    if cached is not None and cached.static is not None:
        rules = _restored(cached.rules, ws.config, ws.change)
        trace_findings = _restored(RuleRun(cached.static.trace_findings), ws.config, ws.change)
        return StaticResult(
            index=None,
            modules=cached.static.modules,
            findings=rules.findings + trace_findings.findings,
            rule_errors=rules.errors,
            traced=cached.static.traced,
            skipped=cached.static.skipped,
            from_cache=True,
            timings=timings,
        )
    t = time.perf_counter()
    index = build_index(ws.root, ws.config.include, ws.config.exclude, read, found)
    timings["index"] = time.perf_counter() - t
    ctx = Context(
        index=index,
        config=ws.config,
        change=ws.change,
        requirements=requirements,
        design_text=design_text,
    )
    t = time.perf_counter()
    rule_run = (
        _restored(cached.rules, ws.config, ws.change) if cached is not None else run_rules(ctx)
    )
    timings["rules"] = time.perf_counter() - t
    t = time.perf_counter()
    traced = trace_requirements(ctx.requirements, ctx, None, None, list(rule_run.findings))
    timings["trace"] = time.perf_counter() - t
    if store is not None and keyed is not None:
        t = time.perf_counter()
        static = StaticEntry(traced.traced, traced.findings, index.skipped, len(index.modules))
        store.store(*keyed, rule_run, static)
        timings["store"] = time.perf_counter() - t
    return StaticResult(
        index=index,
        modules=len(index.modules),
        findings=rule_run.findings + traced.findings,
        rule_errors=rule_run.errors,
        traced=traced.traced,
        skipped=index.skipped,
        from_cache=cached is not None,
        timings=timings,
    )
