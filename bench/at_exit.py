#!/usr/bin/env python3
"""Overhead of `leakscan --at-exit`: each program run plain and under
leakscan (and under other leakscan binaries, --compare), interleaved (the
order rotates every round), REPEAT times; medians of wall time (and the
minimum), their ratio to plain, and the median CPU time of everything that
ran (the program, leakscan and its helpers) with its ratio: on a loaded
machine the wall time measures the scheduler as much as leakscan.

  churn    creates and joins N threads one at a time (bench/churn.c): the
           worst case, one held clone per creation (the creator's stack is
           copied; a thread's own end is let through by the filter)
  churn8   the same N from 8 threads at once
  compute  a compute-bound loop, no threads (bench/compute.c): the common test
  leave    leaves --leave threads blocked at its exit (bench/exit_stop.c,
           --grace=0): the one case that runs the analysis (in its
           sandboxed analyser), of every thread left

Usage: bench/at_exit.py [--build DIR] [--repeat 9] [--threads 20000] [--leave 1000]
                        [--compare NAME=LEAKSCAN]... [--variant NAME=VAR=VALUE[,VAR=VALUE]]...
                        [--only churn,churn8,compute,leave]

--variant runs this build's leakscan with those environment variables (the
diagnostics LEAKSCAN_THREAD_EXIT=hold, LEAKSCAN_CLONE_ANSWER=loop), side by
side with the rest."""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import time


def timed(argv, env=None):
    """Runs argv; returns its wall time and the CPU time (user + system) of
    it and every process it waited for (leakscan reaps the program)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build"))
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--threads", type=int, default=20000)
    ap.add_argument("--compare", action="append", default=[], metavar="NAME=LEAKSCAN")
    ap.add_argument("--leave", type=int, default=1000)
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=VAR=VALUE[,VAR=VALUE]")
    ap.add_argument("--only", default="churn,churn8,compute,leave")
    a = ap.parse_args()
    b = os.path.abspath(a.build)
    churn = os.path.join(b, "bench", "bench-churn")
    n = str(a.threads)
    programs = {"churn": (f"churn ({a.threads:,} threads, one creator)", [churn, n]),
                "churn8": (f"churn8 ({a.threads:,} threads, 8 creators)", [churn, n, "8"]),
                "compute": ("compute (no threads)", [os.path.join(b, "bench", "bench-compute")]),
                "leave": (f"leave ({a.leave:,} threads left at exit)",
                          [os.path.join(b, "bench", "bench-exit-stop"), str(a.leave)])}
    tools = [("leakscan", os.path.join(b, "leakscan"), None)]
    for c in a.compare:
        name, _, path = c.partition("=")
        tools.append((name, os.path.abspath(path), None))
    for v in a.variant:
        name, _, assignments = v.partition("=")
        env = dict(os.environ)
        for kv in assignments.split(","):
            var, _, value = kv.partition("=")
            env[var] = value
        tools.append((name, os.path.join(b, "leakscan"), env))
    for _, path, _ in tools:
        if not os.path.exists(path):
            sys.exit(f"{path} is missing: build first")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; repeat {a.repeat}; medians (min)")
    print(f"  {'program':<36} {'tool':<10} {'wall ms':>8} {'(min)':>7} {'ratio':>6} {'cpu ms':>8} {'ratio':>6}")
    for key in a.only.split(","):
        name, argv = programs[key]
        if not os.path.exists(argv[0]):
            sys.exit(f"{argv[0]} is missing: build first")
        grace = ["--grace=0"] if key == "leave" else []
        runs = [("plain", argv, None)] + [(tool, [path, "--at-exit"] + grace + ["--"] + argv, env)
                                          for tool, path, env in tools]
        walls = {label: [] for label, _, _ in runs}
        cpus = {label: [] for label, _, _ in runs}
        for r in range(a.repeat):
            k = r % len(runs)
            for label, cmd, env in runs[k:] + runs[:k]:
                w, c = timed(cmd, env)
                walls[label].append(w)
                cpus[label].append(c)
        pw, pc = statistics.median(walls["plain"]), statistics.median(cpus["plain"])
        for label, _, _ in runs:
            w, c = statistics.median(walls[label]), statistics.median(cpus[label])
            print(f"  {name:<36} {label:<10} {w * 1000:>8.1f} {min(walls[label]) * 1000:>7.1f} {w / pw:>6.2f} "
                  f"{c * 1000:>8.1f} {c / pc:>6.2f}", flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
