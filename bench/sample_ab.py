#!/usr/bin/env python3
"""Reading running threads with a perf sample against stopping them, side by
side in one run (issue 16; docs/PERFORMANCE.md, "Running threads sampled").

Starts bench-busy N M F K (the main thread and N-1 others spinning, M
asleep in a pipe read, F running and napping in turn, K running in the
kernel) and runs `leakscan -p PID --format=json` ROUNDS times per
variant, interleaved (the order alternates each round):
- stop: LEAKSCAN_TEST_NO_SAMPLE=1, running threads stopped as before;
- sample: the default, running threads sampled;
- any other LEAKSCAN binary given (e.g. main's build), as is.
Per run: wall time, the threads the report marks "stopped", "sampled" and
"stop-free", and the process's stop window (stopped_us).  Prints the
medians, the ratio of each variant's median to the first's, and the
median of the per-round ratios to the first (paired: each round's runs
follow one another, so a burst of load on the shared machine moves both).

Usage: bench/sample_ab.py [--build DIR] [--rounds 15] [--busy 4] [--sleepers 16]
                          [--flickers 0] [--in-kernel 0] [--leakscan-arg ARG]...
                          [OTHER_LEAKSCAN...]"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def one_run(leakscan, pid, env, args):
    t0 = time.perf_counter()
    p = subprocess.run([leakscan, "-p", str(pid), "--format=json"] + args, capture_output=True,
                       env=dict(os.environ, **env))
    wall = (time.perf_counter() - t0) * 1000
    doc = json.loads(p.stdout)
    proc = doc["processes"][0]
    reads = [t["read"] for t in proc["threads"]]
    return {"wall_ms": wall, "stopped": reads.count("stopped"), "sampled": reads.count("sampled"),
            "stopfree": reads.count("stop-free"),
            "window_ms": proc["stopped_us"] / 1000}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--busy", type=int, default=4)
    ap.add_argument("--sleepers", type=int, default=16)
    ap.add_argument("--flickers", type=int, default=0)
    ap.add_argument("--in-kernel", type=int, default=0)
    ap.add_argument("--leakscan-arg", action="append", default=[])
    ap.add_argument("others", nargs="*")
    a = ap.parse_args()
    leakscan = os.path.join(a.build, "leakscan")
    variants = [("stop", leakscan, {"LEAKSCAN_TEST_NO_SAMPLE": "1"}), ("sample", leakscan, {})]
    variants += [(path, path, {}) for path in a.others]
    target = subprocess.Popen([os.path.join(a.build, "bench", "bench-busy"), str(a.busy), str(a.sleepers),
                               str(a.flickers), str(a.in_kernel)],
                              stdout=subprocess.PIPE, start_new_session=True)
    try:
        pid = int(target.stdout.readline().split()[1])
        runs = {name: [] for name, _, _ in variants}
        for r in range(a.rounds):
            order = variants if r % 2 == 0 else variants[::-1]
            for name, exe, env in order:
                runs[name].append(one_run(exe, pid, env, a.leakscan_arg))
    finally:
        target.kill()
        target.wait()
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    print(f"bench-busy {a.busy} {a.sleepers} {a.flickers} {a.in_kernel} {' '.join(a.leakscan_arg)}, "
          f"{a.rounds} rounds, load {load}; medians")
    print(f"{'variant':>10} {'wall ms':>9} {'ratio':>6} {'paired':>6} {'stopped':>8} {'sampled':>8} "
          f"{'stop-free':>9} {'window ms':>10}")
    base = statistics.median(x["wall_ms"] for x in runs[variants[0][0]])
    for name, _, _ in variants:
        rs = runs[name]
        wall = statistics.median(x["wall_ms"] for x in rs)
        paired = statistics.median(x["wall_ms"] / y["wall_ms"] for x, y in zip(rs, runs[variants[0][0]]))
        print(f"{name[-10:]:>10} {wall:9.1f} {wall / base:6.2f} {paired:6.2f} "
              f"{statistics.median(x['stopped'] for x in rs):8} "
              f"{statistics.median(x['sampled'] for x in rs):8} {statistics.median(x['stopfree'] for x in rs):9} "
              f"{statistics.median(x['window_ms'] for x in rs):10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
