#!/usr/bin/env python3
"""The cost of creator stacks' Python frames under --at-exit: a CPython
program that starts and joins N threads one at a time (each creation is
held while its creator's Python frames are read), run plain and under each
leakscan given, interleaved (the order turns every round), REPEAT times;
medians of wall time and their ratio to plain.

Usage: bench/python_churn.py [--threads 2000] [--repeat 9] [--python /usr/bin/python3.11]
                             NAME=LEAKSCAN...
       bench/python_churn.py --target N     (the program itself)"""
import argparse
import statistics
import subprocess
import sys
import threading
import time


def target(n):
    for _ in range(n):
        t = threading.Thread(target=lambda: None)
        t.start()
        t.join()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", type=int)
    ap.add_argument("--threads", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--python", default="/usr/bin/python3.11")
    ap.add_argument("tools", nargs="*")
    a = ap.parse_args()
    if a.target is not None:
        target(a.target)
        return 0
    program = [a.python, __file__, "--target", str(a.threads)]
    tools = [("plain", [])] + [(t.split("=", 1)[0], [t.split("=", 1)[1], "--at-exit", "--"]) for t in a.tools]
    times = {name: [] for name, _ in tools}
    for r in range(a.repeat):
        for name, prefix in tools[r % len(tools):] + tools[:r % len(tools)]:
            t0 = time.perf_counter()
            subprocess.run(prefix + program, capture_output=True, check=False)
            times[name].append(time.perf_counter() - t0)
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    print(f"{a.threads} threads, repeat {a.repeat}, load average {load}; medians (min)")
    plain = statistics.median(times["plain"])
    for name, _ in tools:
        m = statistics.median(times[name])
        print(f"  {name:10} {m * 1000:8.1f} ms ({min(times[name]) * 1000:.1f})  ratio {m / plain:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
