#!/usr/bin/env python3
"""The stop window of `leakscan -p` beside the ptrace floor (bench/floor.c),
on the same bench-threads target in the same run.

For each thread count N, starts bench-threads N (64 KiB thread stacks, one
"gap" thread that measures the longest stop itself, see bench/threads.c) and
runs every tool REPEAT times, interleaved (the order rotates each round).
Prints medians of: the time the tool says it held the target (floor:
first interrupt to last detach; leakscan: "stopped_us" of its JSON), the
ratio of that to the single-tracer floor, the target's own longest gap, and
the tool's wall time (and its least), CPU time (user + system, which the
load of a shared machine moves less than the wall time) and peak RSS.

Tools: the floor (one tracer, 64 KiB window), `leakscan -p PID --all
--format=json` of --build, and any --compare NAME=PATH leakscan binaries
(e.g. a build of main, for before/after in the same run).  --levers adds
variants of the floor: registers only (--window=0), two tracers, and
registers from /proc instead of PTRACE_GETREGSET.

Limits: bench-threads gives each thread a 64 KiB stack; kernel.pid_max and
kernel.threads-max must leave room for N more tasks, which this script
checks (and raises pid_max when run as root, saying so).

Usage: bench/floor.py [--build DIR] [--threads 1000,10000] [--repeat 7]
                      [--compare NAME=PATH ...] [--levers]"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import measure  # noqa: E402


def read_int(path):
    with open(path) as f:
        return int(f.read().split()[0])


def make_room(n):
    """Checks (and, as root, raises) the kernel's task limits for n threads."""
    tasks = sum(1 for d in os.listdir("/proc") if d.isdigit())
    try:
        tasks = sum(len(os.listdir(f"/proc/{d}/task")) for d in os.listdir("/proc") if d.isdigit())
    except OSError:
        pass
    need = tasks + n + 1000
    pid_max = read_int("/proc/sys/kernel/pid_max")
    if pid_max < need:
        if os.geteuid() == 0:
            with open("/proc/sys/kernel/pid_max", "w") as f:
                f.write(str(max(need, 65536)))
            print(f"note: raised kernel.pid_max from {pid_max} to {max(need, 65536)}")
        else:
            sys.exit(f"kernel.pid_max is {pid_max}, {need} tasks needed: sysctl -w kernel.pid_max={need}")
    threads_max = read_int("/proc/sys/kernel/threads-max")
    if threads_max < need:
        sys.exit(f"kernel.threads-max is {threads_max}, {need} tasks needed: sysctl -w kernel.threads-max={need}")
    soft, hard = resource.getrlimit(resource.RLIMIT_NPROC)
    if soft != resource.RLIM_INFINITY and soft < need:
        resource.setrlimit(resource.RLIMIT_NPROC, (min(need, hard) if hard != resource.RLIM_INFINITY else need, hard))


def held_us(name, out):
    """The hold time the tool reports, in microseconds."""
    if name.startswith("floor"):
        return json.loads(out.splitlines()[-1])["held_us"]
    return json.loads(out)["processes"][0]["stopped_us"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build"))
    ap.add_argument("--threads", default="1000,10000")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--compare", action="append", default=[], metavar="NAME=PATH")
    ap.add_argument("--levers", action="store_true")
    ap.add_argument("--no-leakscan", action="store_true", help="the floor (and --levers) only")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    leakscan = os.path.join(build, "leakscan")
    target = os.path.join(build, "bench", "bench-threads")
    maxrss = os.path.join(build, "bench", "bench-maxrss")
    floor = os.path.join(build, "bench", "bench-floor")
    for f in (leakscan, target, maxrss, floor):
        if not os.path.exists(f):
            sys.exit(f"{f} is missing: build first (scripts/test or ninja -C build)")

    tools = [("floor", lambda pid: [floor, str(pid)])]
    if a.levers:
        tools += [("floor regs only", lambda pid: [floor, "--window=0", str(pid)]),
                  ("floor 2 tracers", lambda pid: [floor, "--tracers=2", str(pid)]),
                  ("floor regs /proc", lambda pid: [floor, "--regs=proc", str(pid)])]
    if not a.no_leakscan:
        tools.append(("leakscan", lambda pid: [leakscan, "-p", str(pid), "--all", "--format=json"]))
    for spec in a.compare:
        name, path = spec.split("=", 1)
        path = os.path.abspath(path)
        tools.append((name, lambda pid, path=path: [path, "-p", str(pid), "--all", "--format=json"]))

    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; repeat {a.repeat}; medians")
    print("| threads | tool | held ms | × floor | target gap ms | wall ms (min) | CPU ms | peak RSS MiB |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for n in [int(x) for x in a.threads.split(",")]:
        make_room(n)
        gapfile = tempfile.mktemp(prefix="leakscan-gap-")
        proc = subprocess.Popen([target, str(n), gapfile], stdout=subprocess.PIPE)
        line = proc.stdout.readline().split()
        if len(line) != 2:
            sys.exit(f"bench-threads {n} did not start (thread limits?)")
        pid = int(line[1])
        time.sleep(0.5 + n / 2000)
        results = {name: [] for name, _ in tools}
        try:
            for r in range(a.repeat):
                order = tools[r % len(tools):] + tools[:r % len(tools)]
                for name, mk in order:
                    wall, rss, gap, out, cpu = measure(maxrss, mk(pid), gapfile, cpu=True)
                    results[name].append((held_us(name, out), gap, wall, rss, cpu))
        finally:
            proc.kill()
            proc.wait()
            os.unlink(gapfile)
        base = statistics.median(x[0] for x in results["floor"])
        for name, _ in tools:
            held = statistics.median(x[0] for x in results[name])
            gap = statistics.median(x[1] for x in results[name])
            wall = statistics.median(x[2] for x in results[name])
            least = min(x[2] for x in results[name])
            rss = statistics.median(x[3] for x in results[name])
            cpu = statistics.median(x[4] for x in results[name])
            print(f"| {n} | {name} | {held / 1000:.1f} | {held / base:.2f} | {gap / 1000:.1f} | "
                  f"{wall * 1000:.0f} ({least * 1000:.0f}) | {cpu * 1000:.0f} | {rss / 1024:.1f} |", flush=True)


if __name__ == "__main__":
    main()
