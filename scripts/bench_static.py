#!/usr/bin/env python3
"""Benchmark the static phase against `ast.parse`, ruff and bandit on a synthetic code base.

    python scripts/bench_static.py [--modules 2000] [--repeat 3] [--keep DIR] [--per-rule]

Generates a synthetic FastAPI tree (scripts/gen_synthetic.py) into a temporary directory,
then, on that same tree, each step in its own child process pinned to one core:

  parse    read every .py file and `ast.parse` it (Python's own parser: the floor)
  static   the tool's static phase, cold cache: index + all rules + requirement tracing
  static2  the same again on the unchanged tree: rule results come from the cache
  ruff     `ruff check` (one thread)
  bandit   `bandit -r`

It prints each wall time, the ratios the targets are stated in, and each child's peak
memory (ru_maxrss from wait4). Each step runs `--repeat` times, interleaved (parse, static,
static2, ruff, bandit, then again), and the fastest run counts, as `timeit` does: a shared
machine slows single runs by up to a half; the slowest is printed too. Every cold `static`
run gets an empty cache of its own; `static2` reuses the cache of the run before it.
`--per-rule` adds the time of every rule and index stage.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _load_generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_synthetic", HERE / "gen_synthetic.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["gen_synthetic"] = mod
    spec.loader.exec_module(mod)
    return mod


PARSE_CHILD = r"""
import ast, json, os, sys, time, warnings
root = sys.argv[1]
paths = []
for d, dirs, files in os.walk(root):
    dirs.sort()
    paths += [os.path.join(d, f) for f in sorted(files) if f.endswith(".py")]
t = time.perf_counter()
for p in paths:
    with open(p, "rb") as fh:
        data = fh.read()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ast.parse(data.decode("utf-8"), filename=p)
print(json.dumps({"seconds": time.perf_counter() - t, "files": len(paths)}))
"""

STATIC_CHILD = r"""
import json, sys, time
from pathlib import Path
from fastapi_review.cache import static_phase
from fastapi_review.workspace import open_workspace
t = time.perf_counter()
ws = open_workspace(Path(sys.argv[1]), run_tests=False)
r = static_phase(ws, one_shot=True)  # a process that ends after it, like the CLI
out = {"from_cache": r.from_cache, "findings": [f.model_dump(mode="json") for f in r.findings],
       "rule_errors": r.rule_errors, "modules": r.modules, "stages": r.timings}
out["seconds"] = time.perf_counter() - t  # after the findings are serialised, as a report would be
out["findings"] = len(out["findings"])
print(json.dumps(out))
"""

PER_RULE_CHILD = r"""
import json, sys, time
from pathlib import Path
from fastapi_review.design import read_design
from fastapi_review.index.project import build_index
from fastapi_review.rules import all_rules
from fastapi_review.rules.base import Context
from fastapi_review.runtime import gc_paused
from fastapi_review.workspace import open_workspace
paused = gc_paused(one_shot=True)  # as in the static phase; kept, or its exit runs at once
paused.__enter__()
ws = open_workspace(Path(sys.argv[1]), run_tests=False)
t = time.perf_counter()
index = build_index(ws.root, ws.config.include, ws.config.exclude)
out = {"index": time.perf_counter() - t}
doc = read_design(ws.design) if ws.design else None
ctx = Context(index=index, config=ws.config, change=ws.change,
              requirements=doc.requirements if doc else [], design_text=doc.text if doc else "")
for rule_id, cls in all_rules().items():
    if cls.stage != "rules" or not ws.config.rule_enabled(rule_id):
        continue
    t = time.perf_counter()
    try:
        list(cls().check(ctx))
    except Exception:
        pass
    out[rule_id] = time.perf_counter() - t
print(json.dumps(out))
"""


def _one_core() -> list[str]:
    return ["taskset", "-c", "0"] if shutil.which("taskset") else []


def run_child(cmd: list[str], env: dict[str, str], timeout: float) -> tuple[float, int, str, bool]:
    """(wall seconds, peak RSS in KiB, stdout, timed out) of one child process."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(_one_core() + cmd, stdout=out, stderr=subprocess.DEVNULL, env=env)
        timed_out = False
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                timed_out = True
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    return wall, int(usage.ru_maxrss), text, timed_out


def _run_step(name: str, cmd: list[str], env: dict[str, str], timeout: float) -> dict[str, object]:
    wall, rss, out, timed_out = run_child(cmd, env, timeout)
    info: dict[str, object] = {"wall": wall, "peak_mib": rss / 1024, "timed_out": timed_out}
    if name in {"parse", "static", "static2"} and not timed_out:
        try:
            info.update(json.loads(out.strip().splitlines()[-1]))
        except (ValueError, IndexError):
            info["output"] = out[-2000:]
    return info


def _seconds(info: dict[str, object]) -> float:
    return float(info.get("seconds", info["wall"]))  # type: ignore[arg-type]


def _print_step(name: str, info: dict[str, object]) -> None:
    seconds = _seconds(info)
    note = "  TIMED OUT" if info["timed_out"] else ""
    if "from_cache" in info:
        note += "  [from the cache]" if info["from_cache"] else "  [cold]"
    extra = ""
    stages = info.get("stages")
    if isinstance(stages, dict):
        extra = "  (" + ", ".join(f"{k} {v:.2f}s" for k, v in stages.items()) + ")"
    runs = info.get("runs")
    spread = f"   slowest {max(runs):6.2f} s" if isinstance(runs, list) and len(runs) > 1 else ""
    print(
        f"{name:8} {seconds:8.2f} s{spread}   peak {float(info['peak_mib']):7.0f} MiB"  # type: ignore[arg-type]
        f"{note}{extra}",
        flush=True,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description="static-phase benchmark")
    ap.add_argument("--modules", type=int, default=2000, help="about 100 lines each")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3, help="runs per step; the fastest counts")
    ap.add_argument("--keep", type=Path, help="generate into this directory and keep it")
    ap.add_argument("--per-rule", action="store_true", help="also time each rule")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per step")
    ap.add_argument("--skip", default="", help="comma-separated steps to skip (ruff,bandit,...)")
    ap.add_argument("--json", type=Path, help="write the results here too")
    args = ap.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    work = Path(tempfile.mkdtemp(prefix="fr-bench-"))
    tree = args.keep or work / "tree"
    if tree.exists():
        shutil.rmtree(tree)
    n_py, n_lines = _load_generator().generate(tree, args.modules, args.seed)
    print(f"synthetic tree: {n_py} Python files, {n_lines:,} lines  ({tree})")

    py = sys.executable
    env = dict(os.environ, XDG_CACHE_HOME=str(work / "cache"), RAYON_NUM_THREADS="1")
    # the children run a snapshot of the tool's source, so that edits made to the checkout
    # while the benchmark runs (which rightly invalidate the cache) do not skew it
    snapshot = work / "tool-src"
    shutil.copytree(
        HERE.parent / "src" / "fastapi_review",
        snapshot / "fastapi_review",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    # compiled to bytecode, as `pip install` leaves a package (and bandit is installed so):
    # otherwise every child compiles the tool's modules as it imports them
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(snapshot)], check=True)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(snapshot), env.get("PYTHONPATH")) if p)
    env.pop("FASTAPI_REVIEW_NO_CACHE", None)
    bindir = Path(py).parent
    steps: list[tuple[str, list[str]]] = [
        ("parse", [py, "-c", PARSE_CHILD, str(tree)]),
        ("static", [py, "-c", STATIC_CHILD, str(tree)]),
        ("static2", [py, "-c", STATIC_CHILD, str(tree)]),
        ("ruff", [str(bindir / "ruff"), "check", "--no-cache", "--exit-zero", "-q", str(tree)]),
        ("bandit", [str(bindir / "bandit"), "-r", "-q", "-f", "json", "-o", os.devnull, str(tree)]),
    ]
    results: dict[str, dict[str, object]] = {}  # per step: its fastest run
    runs: dict[str, list[float]] = {}
    peaks: dict[str, float] = {}  # per step: the highest peak of all its runs
    for round_no in range(max(1, args.repeat)):
        env["XDG_CACHE_HOME"] = str(work / f"cache{round_no}")  # cold for this round's static
        for name, cmd in steps:
            if name in skip:
                continue
            info = _run_step(name, cmd, env, args.timeout)
            seconds = _seconds(info)
            runs.setdefault(name, []).append(seconds)
            peaks[name] = max(peaks.get(name, 0.0), float(info["peak_mib"]))  # type: ignore[arg-type]
            best = results.get(name)
            if best is None or best["timed_out"] or seconds < _seconds(best):
                results[name] = info
    for name, info in results.items():
        info["runs"] = runs[name]
        info["peak_mib"] = peaks[name]
        _print_step(name, info)

    def sec(step: str) -> float | None:
        info = results.get(step)
        if not info or info.get("timed_out"):
            return None
        return _seconds(info)

    parse, static, static2, bandit = sec("parse"), sec("static"), sec("static2"), sec("bandit")
    print()
    verdicts: list[bool] = []

    def target(label: str, value: float | None, limit: float, unit: str = "x") -> None:
        if value is None:
            print(f"{label:38} not measured")
            verdicts.append(False)
            return
        ok = value <= limit
        verdicts.append(ok)
        print(
            f"{label:38} {value:7.2f}{unit}  (target <= {limit:g}{unit})  {'OK' if ok else 'MISSED'}"
        )

    target("static / ast.parse", static / parse if static and parse else None, 4.0)
    target("static / bandit", static / bandit if static and bandit else None, 1 / 3)
    target("cached static / cold static", static2 / static if static2 and static else None, 0.25)
    peak = results.get("static", {}).get("peak_mib")
    target("static peak memory", float(peak) if isinstance(peak, float) else None, 1024, " MiB")
    ruff = sec("ruff")
    if ruff and static:
        print(f"{'static / ruff (for reference)':38} {static / ruff:7.2f}x")

    if args.per_rule:
        _wall, _rss, out, timed_out = run_child(
            [py, "-c", PER_RULE_CHILD, str(tree)], env, args.timeout
        )
        if timed_out:
            print("\nper-rule timing timed out")
        else:
            per = json.loads(out.strip().splitlines()[-1])
            results["per_rule"] = per
            print("\nslowest stages (seconds):")
            for k, v in sorted(per.items(), key=lambda kv: -kv[1])[:20]:
                print(f"  {k:12} {v:8.2f}")
    if args.json:
        args.json.write_text(json.dumps({"files": n_py, "lines": n_lines, **results}, indent=1))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
