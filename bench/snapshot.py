#!/usr/bin/env python3
"""The costs of snapshots, side by side in one run on one target: plain -p
with each leakscan given (e.g. today's main and this build), -p with
--save-snapshot, and --from-snapshot (the sandboxed analyser) on the file
saved.  Interleaved, the order rotating each round; medians (and least) of
wall time, CPU time, the target's hold time and peak memory (ru_maxrss
through bench-maxrss: for --from-snapshot, the larger of the supervisor and
the analyser; for a -p that runs split, the capturer's peak plus the
analyser's, which leakscan prints under LEAKSCAN_BENCH_RUSAGE=1), and the
snapshot's size.

Usage: bench/snapshot.py PID ROUNDS LEAKSCAN [LEAKSCAN...]
(start a target first, e.g. build/bench/bench-threads 1000 GAPFILE; the
last LEAKSCAN is the one that saves and reads snapshots)"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


MAXRSS = None     # bench-maxrss: a child of Python inherits its resident size until it execs


def run(argv):
    t0 = time.perf_counter()
    p = subprocess.run([MAXRSS] + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                       env=dict(os.environ, LEAKSCAN_BENCH_RUSAGE="1"))
    wall = (time.perf_counter() - t0) * 1000
    if p.returncode not in (0, 1):
        sys.exit(f"{argv} failed: {p.returncode} {p.stderr[-300:]}")
    held = json.loads(p.stdout)["processes"][0]["stopped_us"] / 1000
    lines = p.stderr.decode(errors="replace").splitlines()
    rss = [int(x.split()[1]) for x in lines if x.startswith("maxrss ")][-1]
    # -p split in two: the capturer's peak plus the analyser's (an upper
    # bound of the two together: pages the fork shares count twice)
    both = [x.split() for x in lines if x.startswith("leakscan-rusage ")]
    if both:
        rss = int(both[-1][2]) + int(both[-1][4])
    cpu = [x.split() for x in lines if x.startswith("cpu_us ")][-1]
    return wall, held, rss / 1024, (int(cpu[1]) + int(cpu[2])) / 1000


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    global MAXRSS
    pid, rounds, tools = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    MAXRSS = os.path.join(os.path.dirname(os.path.abspath(tools[-1])), "bench", "bench-maxrss")
    snap = os.path.join(tempfile.mkdtemp(prefix="leakscan-bench-"), "bench.lss")
    last = tools[-1]
    cases = [(t, [t, "-p", str(pid), "--all", "--format=json"]) for t in tools]
    cases.append((last + " --save-snapshot",
                  [last, "-p", str(pid), "--all", "--format=json", "--save-snapshot=" + snap]))
    cases.append((last + " --from-snapshot", [last, "--from-snapshot=" + snap, "--all", "--format=json"]))
    results = {name: [] for name, _ in cases}
    run(cases[-2][1])       # a snapshot to read in the first round
    for r in range(rounds):
        order = cases[r % len(cases):] + cases[:r % len(cases)]
        for name, argv in order:
            results[name].append(run(argv))
    print(f"load {os.getloadavg()[0]:.1f}; {rounds} rounds; medians (least); ms, MiB")
    for name, _ in cases:
        wall, held, rss, cpu = zip(*results[name])
        print(f"{name:56s} wall {statistics.median(wall):6.1f} ({min(wall):6.1f})  cpu {statistics.median(cpu):6.1f} "
              f"({min(cpu):6.1f})  held {statistics.median(held):5.1f}  maxrss {statistics.median(rss):5.1f}")
    print(f"snapshot: {os.path.getsize(snap) / 1024:.0f} KiB")
    os.unlink(snap)
    os.rmdir(os.path.dirname(snap))


if __name__ == "__main__":
    main()
