#!/usr/bin/env python3
"""Overhead of `leakscan --at-exit`: each program run plain and under
leakscan, interleaved, REPEAT times; medians and their ratio.

  churn    creates and joins 10,000 threads one at a time (bench/churn.c):
           the worst case, one stop per creation plus the new thread's first stop
  compute  a compute-bound loop, no threads (bench/compute.c): the common test

Usage: bench/at_exit.py [--build DIR] [--repeat 9]"""
import argparse
import os
import statistics
import subprocess
import sys
import time


def timed(argv):
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build"))
    ap.add_argument("--repeat", type=int, default=9)
    a = ap.parse_args()
    b = os.path.abspath(a.build)
    leakscan = os.path.join(b, "leakscan")
    programs = [("churn (10,000 threads)", [os.path.join(b, "bench", "bench-churn"), "10000"]),
                ("compute (no threads)", [os.path.join(b, "bench", "bench-compute")])]
    for _, argv in programs:
        if not os.path.exists(argv[0]):
            sys.exit(f"{argv[0]} is missing: build first")
    print(f"machine: {os.cpu_count()} cores; repeat {a.repeat}; medians")
    print(f"  {'program':<24} {'plain ms':>9} {'--at-exit ms':>13} {'ratio':>6}")
    for name, argv in programs:
        plain, wrapped = [], []
        for r in range(a.repeat):
            runs = [(plain, argv), (wrapped, [leakscan, "--at-exit", "--"] + argv)]
            if r % 2:
                runs.reverse()
            for bucket, cmd in runs:
                bucket.append(timed(cmd))
        p, w = statistics.median(plain), statistics.median(wrapped)
        print(f"  {name:<24} {p * 1000:>9.1f} {w * 1000:>13.1f} {w / p:>6.2f}")


if __name__ == "__main__":
    main()
