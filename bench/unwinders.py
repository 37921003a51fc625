#!/usr/bin/env python3
"""The unwinders side by side: `leakscan -p` with --unwinder=libdw (the
default), libunwind (offline, on the copy) and ptrace (libunwind-ptrace on
the live threads while they are stopped: the reference) on the same live
bench-threads target.

For each thread count N, runs each unwinder REPEAT times, interleaved (the
order rotates every round), and prints medians of wall time, the target's
longest stop (its "gap" thread, see bench/threads.c), the peak RSS of
leakscan, and the share of complete worker stacks (those that reach the
program's worker() frame), with leakscan's own stop time from the report.

Usage: bench/unwinders.py [--build DIR] [--threads 10,100,1000] [--repeat 5]"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import measure  # noqa: E402

UNWINDERS = ["libdw", "libunwind", "ptrace"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build"))
    ap.add_argument("--threads", default="10,100,1000")
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    leakscan = os.path.abspath(os.path.join(a.build, "leakscan"))
    target = os.path.abspath(os.path.join(a.build, "bench", "bench-threads"))
    maxrss = os.path.abspath(os.path.join(a.build, "bench", "bench-maxrss"))
    for f in (leakscan, target, maxrss):
        if not os.path.exists(f):
            sys.exit(f"{f} is missing: build first (scripts/test or ninja -C build)")
    p = subprocess.run([leakscan, "-p", str(os.getpid()), "--unwinder=ptrace"], capture_output=True, text=True)
    if "not available" in p.stderr:
        sys.exit("leakscan was built without libunwind: install libunwind-dev and rebuild")

    print(f"machine: {os.cpu_count()} cores; repeat {a.repeat}; medians")
    print(f"| threads | unwinder | wall ms | × libdw | target stopped ms | peak RSS MiB | complete stacks |")
    print(f"|---:|---|---:|---:|---:|---:|---:|")
    for n in [int(x) for x in a.threads.split(",")]:
        gapfile = tempfile.mktemp(prefix="leakscan-gap-")
        proc = subprocess.Popen([target, str(n), gapfile], stdout=subprocess.PIPE)
        pid = int(proc.stdout.readline().split()[1])
        time.sleep(0.5 + n / 1000)
        results = {u: [] for u in UNWINDERS}
        try:
            for r in range(a.repeat):
                order = UNWINDERS[r % len(UNWINDERS):] + UNWINDERS[:r % len(UNWINDERS)]
                for u in order:
                    argv = [leakscan, "-p", str(pid), "--all", "--format=json", f"--unwinder={u}"]
                    wall, rss, gap, out = measure(maxrss, argv, gapfile)
                    threads = json.loads(out)["processes"][0]["threads"]
                    workers = [t for t in threads if t["name"] == "bench-threads" and not t["main"]]
                    complete = sum(1 for t in workers if any(f["function"] == "worker" for f in t["frames"]))
                    results[u].append((wall, rss, gap, complete / max(len(workers), 1)))
        finally:
            proc.kill()
            proc.wait()
            os.unlink(gapfile)
        base = statistics.median(x[0] for x in results["libdw"])
        for u in UNWINDERS:
            w = statistics.median(x[0] for x in results[u])
            g = statistics.median(x[2] for x in results[u]) / 1000
            m = statistics.median(x[1] for x in results[u]) / 1024
            c = statistics.median(x[3] for x in results[u])
            print(f"| {n} | {u} | {w * 1000:.1f} | {w / base:.2f} | {g:.1f} | {m:.1f} | {c:.0%} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
