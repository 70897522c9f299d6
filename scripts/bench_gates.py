#!/usr/bin/env python3
"""Wall time of the whole gates phase against its slowest single gate (concurrency check).

Usage: bench_gates.py PROJECT [--python PY] [--no-tests] [--runs N] [--solo]
Prints each gate's duration, the phase's wall time and the ratio wall / slowest gate
(the gates run concurrently, so the ratio should stay within 1.3).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from fastapi_review.index.project import build_index
from fastapi_review.probes import run_gates
from fastapi_review.workspace import open_workspace

LIMIT = 1.3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("project", type=Path)
    ap.add_argument("--python", type=Path, default=None)
    ap.add_argument("--no-tests", action="store_true")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument(
        "--solo",
        action="store_true",
        help="also time every gate alone and compare the wall time with the slowest solo gate",
    )
    args = ap.parse_args()
    ws = open_workspace(args.project, python=args.python, run_tests=not args.no_tests)
    index = build_index(ws.root)
    worst = 0.0
    for i in range(args.runs):
        started = time.monotonic()
        run = run_gates(ws, index)
        wall = time.monotonic() - started
        print(f"run {i + 1}: {ws.root}  python={run.python}")
        for name, g in sorted(run.gates.items(), key=lambda kv: -(kv[1].duration_s or 0)):
            state = "measured" if g.measured else f"not measured ({g.reason})"
            print(f"  {name:13} {g.duration_s or 0:7.2f} s  {state}")
        slowest = max((g.duration_s or 0) for g in run.gates.values())
        ratio = wall / slowest if slowest else 0.0
        worst = max(worst, ratio)
        print(f"  sum of gates  {sum(g.duration_s or 0 for g in run.gates.values()):7.2f} s")
        print(f"  slowest gate  {slowest:7.2f} s")
        print(f"  gates phase   {wall:7.2f} s  (wall / slowest = {ratio:.2f}, limit {LIMIT})")
    if args.solo:
        solo: dict[str, float] = {}
        for name in run.gates:
            started = time.monotonic()
            run_gates(ws, index, only=[name])
            solo[name] = time.monotonic() - started
        slowest_name = max(solo, key=lambda n: solo[n])
        print("gates alone: " + ", ".join(f"{n} {t:.2f} s" for n, t in solo.items()))
        ratio = wall / solo[slowest_name]
        worst = max(worst, ratio)
        print(
            f"last concurrent phase {wall:.2f} s vs slowest gate alone "
            f"({slowest_name}) {solo[slowest_name]:.2f} s: ratio {ratio:.2f}"
        )
    ok = worst <= LIMIT
    print(f"{'OK' if ok else 'TOO SLOW'}: worst ratio {worst:.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
