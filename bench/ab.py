#!/usr/bin/env python3
"""Two or more leakscan binaries on one running target, interleaved (the
order rotates each round): medians (and least) of wall time, CPU time (user
+ system, and user alone, from the child's rusage) and the hold time the
JSON reports.  For a quick before/after of one change on a shared machine,
where CPU time follows the change more than the load.

Usage: bench/ab.py PID ROUNDS LEAKSCAN [LEAKSCAN...]
(start a target first, e.g. build/bench/bench-threads 1000 GAPFILE)"""
import json
import os
import statistics
import subprocess
import sys
import time



def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    pid, rounds, tools = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    results = {b: [] for b in tools}
    for r in range(rounds):
        for b in tools[r % len(tools):] + tools[:r % len(tools)]:
            t0 = time.perf_counter()
            p = subprocess.Popen([b, "-p", str(pid), "--all", "--format=json"], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL)
            out = p.stdout.read()
            _, _, ru = os.wait4(p.pid, 0)
            wall = time.perf_counter() - t0
            held = json.loads(out)["processes"][0]["stopped_us"] / 1000
            results[b].append((wall * 1000, (ru.ru_utime + ru.ru_stime) * 1000, ru.ru_utime * 1000, held))
    print(f"load {os.getloadavg()[0]:.1f}; {rounds} rounds; medians (least); ms")
    for b in tools:
        wall, cpu, user, held = zip(*results[b])
        print(f"{b:40s} wall {statistics.median(wall):6.1f} ({min(wall):5.1f})  cpu {statistics.median(cpu):6.1f} "
              f"({min(cpu):5.1f})  user {statistics.median(user):5.1f}  held {statistics.median(held):5.1f} "
              f"({min(held):5.1f})")


if __name__ == "__main__":
    main()
