#!/usr/bin/env python3
"""Two leakscan binaries side by side on the hostile targets of issue 17,
interleaved: medians of wall time and peak RSS (wait4's ru_maxrss of each
run alone).  full_pipes: 48 pipes holding 1 MiB each (`-p`); spawn_count:
threads created without end (`-p --watch=3s --interval=1s`).

Usage: bench/hostile.py BUILD ROUNDS LEAKSCAN_A LEAKSCAN_B
(BUILD: the build directory holding test-targets/)"""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from targetlib import Target  # noqa: E402


def run(argv):
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.devnull, os.O_RDWR)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.execv(argv[0], argv)
    _, _, usage = os.wait4(pid, 0)
    return time.monotonic() - t0, usage.ru_maxrss


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    build, rounds, tools = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    cases = (("full_pipes -p", "full_pipes", []),
             ("spawn_count --watch=3s", "spawn_count", ["--watch=3s", "--interval=1s"]))
    for name, target, extra in cases:
        with Target([os.path.join(build, "test-targets", target)]) as t:
            res = {b: [] for b in tools}
            for r in range(rounds):
                for b in tools[r % 2:] + tools[:r % 2]:
                    res[b].append(run([b, "-p", str(t.pid), "--format=json"] + extra))
            for b, v in res.items():
                print(f"{name:24} {b:40} wall {statistics.median(x[0] for x in v):5.2f} s   "
                      f"peak RSS {statistics.median(x[1] for x in v) / 1024:4.0f} MiB")


if __name__ == "__main__":
    main()
