#!/usr/bin/env python3
"""What reading sleeping threads without a stop costs and saves, side by
side with another leakscan binary (e.g. main's) in one run.

For each thread count N, starts bench-threads N (threads asleep in mutex,
condvar, semaphore, pipe read, poll and sleep waits, and a "gap" thread that
wakes every 100 us) and runs `leakscan -p PID --all --format=json` ROUNDS
times per binary, interleaved (the order rotates each round).  Per run:
- wall: the run's wall time;
- cpu: the CPU time (user + system) of leakscan and its helper
  processes, which the load of a shared machine disturbs less than wall;
- held: the stop window the JSON reports (stopped_us);
- disturbed: how many of the target's threads were switched in during the
  run (their voluntary+nonvoluntary context-switch count changed): a
  thread stopped by ptrace is woken to stop and woken again to go on; one
  read from /proc stays asleep.  Threads that wake by themselves (the gap
  thread, sleep loops) count in both columns alike.
Prints medians per binary and the ratio of each to the first binary.

Usage: bench/stopfree_ab.py [--build DIR] [--rounds 11] [--threads 100,1000]
                            LEAKSCAN [LEAKSCAN...]"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def switches(pid):
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                text = f.read()
        except (FileNotFoundError, ProcessLookupError):
            continue
        n = 0
        for line in text.splitlines():
            if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                n += int(line.split()[1])
        out[tid] = n
    return out


def one_run(leakscan, pid):
    before = switches(pid)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run([leakscan, "-p", str(pid), "--all", "--format=json"], capture_output=True)
    wall = (time.perf_counter() - t0) * 1000
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) * 1000
    after = switches(pid)
    held = json.loads(p.stdout)["processes"][0]["stopped_us"] / 1000
    disturbed = sum(1 for tid, n in after.items() if tid in before and before[tid] != n)
    return wall, cpu, held, disturbed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--threads", default="100,1000")
    ap.add_argument("leakscan", nargs="+")
    a = ap.parse_args()
    target = os.path.join(a.build, "bench", "bench-threads")
    print(f"load {os.getloadavg()[0]:.1f}; {a.rounds} rounds per binary; medians; ms")
    for n in [int(x) for x in a.threads.split(",")]:
        with tempfile.NamedTemporaryFile() as gap:
            proc = subprocess.Popen([target, str(n), gap.name], stdout=subprocess.PIPE)
            pid = int(proc.stdout.readline().split()[1])
            time.sleep(0.5)
            try:
                results = {b: [] for b in a.leakscan}
                for r in range(a.rounds):
                    order = a.leakscan[r % len(a.leakscan):] + a.leakscan[:r % len(a.leakscan)]
                    for b in order:
                        results[b].append(one_run(b, pid))
                base = None
                for b in a.leakscan:
                    wall, cpu, held, dist = (statistics.median(x) for x in zip(*results[b]))
                    if base is None:
                        base = (wall, cpu, held, dist)
                    ratio = (f"  ratio wall {wall / base[0]:.2f} cpu {cpu / base[1]:.2f} held "
                             f"{(held / base[2]) if base[2] else float('nan'):.3f}") if b != a.leakscan[0] else ""
                    print(f"{n:5d} threads  {b:40s} wall {wall:7.1f}  cpu {cpu:7.1f}  held {held:7.2f}  "
                          f"threads disturbed {dist:6.0f} of {n + 2}{ratio}")
            finally:
                proc.kill()
                proc.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
