#!/usr/bin/env python3
"""Time of `leakscan -p --format=json` against thread count, for two builds
side by side (e.g. before and after a change): starts bench-private-waits
with N threads (each on a pipe or condition variable of its own), runs each
binary REPEAT times interleaved, and prints the median wall seconds and,
in brackets, the median CPU seconds (user + system) of each run.

Usage: bench/scale.py --build DIR [--compare OTHER_LEAKSCAN] [--threads 1000,2000,4000] [--repeat 3]"""
import argparse
import os
import statistics
import subprocess
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--compare", help="another leakscan binary to time beside this build's")
    ap.add_argument("--threads", default="1000,2000,4000")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    tools = {"leakscan": os.path.join(a.build, "leakscan")}
    if a.compare:
        tools["compare"] = a.compare
    print("threads  " + "  ".join(f"{name:>17}" for name in tools) + "   (wall, CPU in brackets)")
    for n in (int(x) for x in a.threads.split(",")):
        target = subprocess.Popen([os.path.join(a.build, "bench", "bench-private-waits"), str(n)],
                                  stdout=subprocess.PIPE, text=True)
        target.stdout.readline()
        times = {name: [] for name in tools}
        cpu = {name: [] for name in tools}
        try:
            for r in range(a.repeat):
                names = list(tools)
                for name in names[r % len(names):] + names[:r % len(names)]:
                    t0 = time.perf_counter()
                    p = subprocess.Popen([tools[name], "-p", str(target.pid), "--format=json"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    _, _, ru = os.wait4(p.pid, 0)
                    times[name].append(time.perf_counter() - t0)
                    cpu[name].append(ru.ru_utime + ru.ru_stime)
        finally:
            target.kill()
            target.wait()
        print(f"{n:7d}  " + "  ".join(f"{statistics.median(times[name]):7.3f}s ({statistics.median(cpu[name]):.3f})"
                                      for name in tools))


if __name__ == "__main__":
    main()
