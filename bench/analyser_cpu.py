#!/usr/bin/env python3
"""What each judged process's analyser costs under `leakscan --at-exit
--follow-forks`, apart from everything else of the run (issue 16 item 6).

A shell runs /bin/true N times under one leakscan, so N + 1 processes are
judged, each by an analyser of its own (a fork of the supervisor, confined:
docs/SECURITY.md).  With LEAKSCAN_TEST_ANALYSER_CPU set, leakscan says of
each analyser the CPU time it used (its rusage when reaped) and the CPU
time the supervisor spent in its fork; this prints their medians over
every analyser of every round, and the run's whole CPU time (user and
system of everything: the shell, the programs, leakscan and its helpers)
beside the bare run's and the same build's with the analysis in process
(LEAKSCAN_ANALYSE_IN_PROCESS=1, no sandbox: what the fork and the sandbox
cost is the difference).  Tools run in an order rotating every round, so
that a loaded machine's load falls on all alike.  A build that predates
LEAKSCAN_TEST_ANALYSER_CPU reports only the run's CPU.

Usage: bench/analyser_cpu.py [--repeat 5] [--count 200] [--env NAME=K=V]...
                             NAME=LEAKSCAN...
  e.g. bench/analyser_cpu.py --repeat 7 before=/tmp/main/leakscan after=build/leakscan
       bench/analyser_cpu.py after=build/leakscan --env bindnow=after=LD_BIND_NOW=1"""
import argparse
import os
import re
import resource
import statistics
import subprocess

LINE = re.compile(r"leakscan: analyser of \d+: (\d+) us of CPU, fork (\d+) us")


def cpu_ms():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r.ru_utime + r.ru_stime) * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--count", type=int, default=200, help="programs the shell runs")
    ap.add_argument("--env", action="append", default=[], metavar="NAME=TOOL=K=V",
                    help="another row: TOOL's binary with K=V in its environment")
    ap.add_argument("tools", nargs="+", metavar="NAME=LEAKSCAN")
    a = ap.parse_args()
    script = f"i=0; while [ $i -lt {a.count} ]; do /bin/true; i=$((i+1)); done"
    rows = [("bare", None, {})]
    binaries = {}
    for t in a.tools:
        name, path = t.split("=", 1)
        binaries[name] = os.path.abspath(path)
        rows.append((name, binaries[name], {}))
        rows.append((name + "/in-process", binaries[name], {"LEAKSCAN_ANALYSE_IN_PROCESS": "1"}))
    for e in a.env:
        name, tool, kv = e.split("=", 2)
        k, v = kv.split("=", 1)
        rows.append((name, binaries[tool], {k: v}))
    whole = {r[0]: [] for r in rows}
    analyser = {r[0]: [] for r in rows}
    fork = {r[0]: [] for r in rows}
    for i in range(a.repeat):
        k = i % len(rows)
        for name, binary, extra in rows[k:] + rows[:k]:
            env = dict(os.environ, LEAKSCAN_TEST_ANALYSER_CPU="1", **extra)
            cmd = ["sh", "-c", script]
            if binary:
                cmd = [binary, "--at-exit", "--follow-forks", "--"] + cmd
            before = cpu_ms()
            p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            whole[name].append(cpu_ms() - before)
            for m in LINE.finditer(p.stderr):
                analyser[name].append(int(m.group(1)))
                fork[name].append(int(m.group(2)))
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    bare = statistics.median(whole["bare"])
    judged = a.count + 1
    print(f"{a.repeat} rounds, {judged} processes judged a run, load average {load}")
    print(f"{'':22} {'run CPU ms':>10} {'x bare':>7} {'ms/judged':>10} {'analyser us':>12} {'fork us':>8}")
    for name, _, _ in rows:
        w = statistics.median(whole[name])
        an = f"{statistics.median(analyser[name]):.0f}" if analyser[name] else "-"
        fk = f"{statistics.median(fork[name]):.0f}" if fork[name] else "-"
        per = (w - bare) / judged if name != "bare" else 0
        print(f"{name:22} {w:10.0f} {w / bare:7.2f} {per:10.2f} {an:>12} {fk:>8}")


if __name__ == "__main__":
    main()
