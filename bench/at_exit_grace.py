#!/usr/bin/env python3
"""What the grace costs when no thread could be reported (issue 16 item 6):
test-targets/at-exit/after_exit.c "napper" (one thread napping in 1 ms
steps, as an idle pool worker) run plain and under `leakscan --at-exit
--ignore-name=napper` (and other builds, --compare), interleaved, REPEAT
times; medians and minimums of wall time.  The default grace is 500 ms.

Usage: bench/at_exit_grace.py [--build DIR] [--repeat 7] [--compare NAME=LEAKSCAN]..."""
import argparse
import os
import statistics
import subprocess
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build"))
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--compare", action="append", default=[], metavar="NAME=LEAKSCAN")
    a = ap.parse_args()
    prog = [os.path.join(a.build, "test-targets", "at-exit", "ae-after_exit"), "napper"]
    tools = [("plain", [])] + [(name, [ls, "--at-exit", "--ignore-name=napper", "-o", os.devnull])
                               for name, ls in [("leakscan", os.path.join(a.build, "leakscan"))] +
                               [tuple(c.split("=", 1)) for c in a.compare]]
    times = {name: [] for name, _ in tools}
    for r in range(a.repeat):
        for name, pre in tools[r % len(tools):] + tools[:r % len(tools)]:
            t0 = time.perf_counter()
            subprocess.run(pre + prog, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            times[name].append((time.perf_counter() - t0) * 1000)
    print(f"load average {os.getloadavg()[0]:.1f}; repeat {a.repeat}")
    for name, v in times.items():
        print(f"  {name:10} median {statistics.median(v):8.1f} ms   min {min(v):8.1f} ms")


if __name__ == "__main__":
    main()
