#!/usr/bin/env python3
"""Compares `leakscan -p` with eu-stack and gdb on the same live target.

For each thread count N, starts bench-threads with N threads in assorted
states and runs every tool REPEAT times, interleaved (tool order rotates
every round, so that machine noise falls on all tools alike).  Reports the
median wall time, the median peak memory (max RSS of the tool process) and
the median longest stop of the target (measured by the target's own "gap"
thread), and each tool's ratio to leakscan.

Usage: bench/run.py [--build DIR] [--threads 10,100,1000] [--repeat 7]
Needs elfutils (eu-stack) and gdb for the comparison; missing tools are
skipped with a note."""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def measure(maxrss, argv, gapfile, cpu=False):
    """Runs argv, returns (wall s, max RSS KiB, target gap us, stdout), and
    with cpu=True the CPU time it used (user + system, s) after them."""
    with open(gapfile, "r+b") as f:
        f.write(b"\0" * 8)
    time.sleep(0.05)
    t0 = time.perf_counter()
    p = subprocess.run([maxrss] + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    time.sleep(0.05)
    with open(gapfile, "rb") as f:
        gap_us = int.from_bytes(f.read(8), "little")
    lines = p.stderr.decode(errors="replace").splitlines()
    rss = [int(line.split()[1]) for line in lines if line.startswith("maxrss ")]
    if cpu:
        used = [sum(int(x) for x in line.split()[1:3]) / 1e6 for line in lines if line.startswith("cpu_us ")]
        return wall, rss[-1] if rss else 0, gap_us, p.stdout, used[-1] if used else 0.0
    return wall, rss[-1] if rss else 0, gap_us, p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build"))
    ap.add_argument("--threads", default="10,100,1000")
    ap.add_argument("--repeat", type=int, default=7)
    a = ap.parse_args()
    leakscan = os.path.abspath(os.path.join(a.build, "leakscan"))
    target = os.path.abspath(os.path.join(a.build, "bench", "bench-threads"))
    maxrss = os.path.abspath(os.path.join(a.build, "bench", "bench-maxrss"))
    for f in (leakscan, target, maxrss):
        if not os.path.exists(f):
            sys.exit(f"{f} is missing: build first (scripts/test or ninja -C build)")

    tools = [("leakscan", lambda pid: [leakscan, "-p", str(pid), "--all", "--format=json"]),
             ("leakscan-fp", lambda pid: [leakscan, "-p", str(pid), "--all", "--format=json", "--unwinder=fp"])]
    for name, path, mk in (("eu-stack", "eu-stack", lambda exe: lambda pid: [exe, "-v", "-p", str(pid)]),
                           ("gdb", "gdb", lambda exe: lambda pid: [exe, "-batch", "-nx", "-ex", "thread apply all bt", "-p", str(pid)])):
        exe = shutil.which(path)
        if exe:
            tools.append((name, mk(exe)))
        else:
            print(f"note: {path} not installed, skipped (apt-get install {'elfutils' if path == 'eu-stack' else 'gdb'})")

    print(f"machine: {os.cpu_count()} cores; repeat {a.repeat}; medians")
    for n in [int(x) for x in a.threads.split(",")]:
        gapfile = tempfile.mktemp(prefix="leakscan-gap-")
        proc = subprocess.Popen([target, str(n), gapfile], stdout=subprocess.PIPE)
        pid = int(proc.stdout.readline().split()[1])
        time.sleep(0.5 + n / 1000)
        results = {name: [] for name, _ in tools}
        quality = {}
        try:
            for r in range(a.repeat):
                order = tools[r % len(tools):] + tools[:r % len(tools)]
                for name, mk in order:
                    wall, rss, gap, out = measure(maxrss, mk(pid), gapfile)
                    results[name].append((wall, rss, gap))
                    if name.startswith("leakscan") and name not in quality:
                        threads = json.loads(out)["processes"][0]["threads"]
                        workers = [t for t in threads if t["name"] == "bench-threads" and not t["main"]]
                        complete = sum(1 for t in workers if any(f["function"] == "worker" for f in t["frames"]))
                        quality[name] = f"{complete}/{len(workers)} worker stacks reach worker()"
        finally:
            proc.kill()
            proc.wait()
            os.unlink(gapfile)
        base = statistics.median(w for w, _, _ in results["leakscan"])
        print(f"\n{n} threads (+ main, gap thread)")
        print(f"  {'tool':<12} {'wall ms':>9} {'x leakscan':>10} {'peak RSS MiB':>13} {'target stopped ms':>18}")
        for name, _ in tools:
            w = statistics.median(x[0] for x in results[name])
            m = statistics.median(x[1] for x in results[name]) / 1024
            g = statistics.median(x[2] for x in results[name]) / 1000
            print(f"  {name:<12} {w * 1000:>9.1f} {w / base:>10.2f} {m:>13.1f} {g:>18.1f}")
        for name, q in quality.items():
            print(f"  {name}: {q}")


if __name__ == "__main__":
    main()
