#!/usr/bin/env python3
"""Cost of the reachability scan against the bytes it reads.

For each heap size (MiB), starts bench-heap (a heap of that size in
256-byte objects, all reachable from a global, a pool of 4 idle workers and
one handler on a dropped request), then:
  - bench-reach-cost: the scan alone (reach_process, no limit), REPEAT
    times: bytes scanned, time, peak memory added, threads found unreachable;
  - leakscan -p end to end, with the default --scan-limit (256M) and with
    --scan-limit=0, REPEAT times each: wall time and max RSS.
Prints medians (and the minimum where the machine's load spreads them),
one line per heap size.

--allocators glibc,jemalloc runs each size on each allocator side by side
(bench-heap-jemalloc: the same program linked with -ljemalloc).

Usage: bench/reach.py [--build DIR] [--sizes 1,64,1024] [--repeat 5] [--allocators glibc]"""
import argparse
import os
import statistics
import subprocess
import sys
import time


def start(path, mib):
    p = subprocess.Popen([path, str(mib)], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if not line.startswith("ready"):
        sys.exit(f"bench-heap {mib}: {line!r}")
    time.sleep(0.2)
    return p


def leakscan_run(maxrss, leakscan, pid, extra):
    t0 = time.perf_counter()
    r = subprocess.run([maxrss, leakscan, "-p", str(pid), "--format=json"] + extra,
                       capture_output=True, text=True)
    wall = time.perf_counter() - t0
    rss = [int(x.split()[1]) for x in r.stderr.splitlines() if x.startswith("maxrss ")]
    unreachable = r.stdout.count('"reach": "unreachable"')
    return wall, rss[-1] if rss else 0, unreachable


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build"))
    ap.add_argument("--sizes", default="1,64,1024")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--allocators", default="glibc")
    a = ap.parse_args()
    b = os.path.abspath(a.build)
    heap, cost = os.path.join(b, "bench", "bench-heap"), os.path.join(b, "bench", "bench-reach-cost")
    maxrss, leakscan = os.path.join(b, "bench", "bench-maxrss"), os.path.join(b, "leakscan")
    print("allocator | heap MiB | scanned MiB | chunks | scan ms | scan MiB/s | scan peak KiB (max) | found | "
          "-p wall ms (256M) | -p wall ms (no limit) | -p max RSS KiB (no limit)")
    runs = [(alloc, mib) for mib in [int(x) for x in a.sizes.split(",")] for alloc in a.allocators.split(",")]
    for alloc, mib in runs:
        p = start(heap if alloc == "glibc" else f"{heap}-{alloc}", mib)
        try:
            out = subprocess.run([cost, str(p.pid), str(a.repeat)], capture_output=True, text=True,
                                 check=True).stdout.split("\n")
            rows = [list(map(float, line.split())) for line in out if line.strip()]
            scanned = statistics.median(r[0] for r in rows) / 2**20
            chunks = int(statistics.median(r[2] for r in rows))
            ms = statistics.median(r[4] for r in rows)
            ms_min = min(r[4] for r in rows)
            kib = max(r[5] for r in rows)     # the first, cold run: later ones reuse freed memory
            found = int(statistics.median(r[6] for r in rows))
            lim = [leakscan_run(maxrss, leakscan, p.pid, []) for _ in range(a.repeat)]
            nolim = [leakscan_run(maxrss, leakscan, p.pid, ["--scan-limit=0"]) for _ in range(a.repeat)]
            print(f"{alloc} | {mib} | {scanned:.1f} | {chunks} | {ms:.1f} (min {ms_min:.1f}) | {scanned / (ms / 1000):.0f} | "
                  f"{kib:.0f} | {found} | "
                  f"{statistics.median(x[0] for x in lim) * 1000:.0f} (found {lim[0][2]}) | "
                  f"{statistics.median(x[0] for x in nolim) * 1000:.0f} (min {min(x[0] for x in nolim) * 1000:.0f}, "
                  f"found {nolim[0][2]}) | {statistics.median(x[1] for x in nolim):.0f}")
        finally:
            p.kill()
            p.wait()


if __name__ == "__main__":
    main()
