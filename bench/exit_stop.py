#!/usr/bin/env python3
"""How long `leakscan --at-exit` takes, from receiving a program's exit, to
stop every other thread of it (the quarantine of the grace period; the
report's "exit_stop_us").  The program (bench/exit_stop.c) leaves N threads
blocked on a condition variable; each N runs REPEAT times, with --grace=0;
prints the median, min and max.

Usage: bench/exit_stop.py [--build DIR] [--repeat 9] [N ...]   (default N: 1 10 100 1000)"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build"))
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("n", nargs="*", type=int, default=[1, 10, 100, 1000])
    a = ap.parse_args()
    b = os.path.abspath(a.build)
    leakscan = os.path.join(b, "leakscan")
    prog = os.path.join(b, "bench", "bench-exit-stop")
    print(f"{'threads':>8} {'median us':>10} {'min':>8} {'max':>8}")
    for n in a.n:
        times = []
        for _ in range(a.repeat):
            with tempfile.NamedTemporaryFile(suffix=".json") as out:
                subprocess.run([leakscan, "--at-exit", "--grace=0", "--error-exitcode=0", "--format=json",
                                "-o", out.name, prog, str(n)], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, check=True)
                p = json.load(open(out.name))["processes"][0]
                if p.get("exit_stop_us") is None:
                    sys.exit(f"no exit_stop_us in the report for N={n}: {p.get('inspect_error')}")
                times.append(p["exit_stop_us"])
        print(f"{n:>8} {statistics.median(times):>10.0f} {min(times):>8} {max(times):>8}")


if __name__ == "__main__":
    main()
