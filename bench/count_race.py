#!/usr/bin/env python3
"""Which count falls short when a process with many threads is stopped and
let go under a storm of queued signals: a plain `received++` in the handler
(as test-targets/signals.c counted before issue 16 item 4) or an atomic
one?  (docs/RELIABILITY.md, "the lost signal was the target's count".)

Builds bench/count_race.c (cc), and for each of ROUNDS rounds starts it
with 50 idle threads, sends it SIGRTMIN+1 every 0.5 ms, interrupts it 45
times as the robustness test does, then reads both counts once final
(tests/integration/sigcount.py conditions) and compares them with the
number sent.  The interruption is, by --mode:
  leakscan   `leakscan -p PID` killed at a random point (KILL, TERM, INT)
  ptrace     the same with --unwinder=ptrace (every thread held)
  stopcont   SIGSTOP, a random sleep, SIGCONT: no leakscan at all
Prints a line per round and a summary.

Usage: bench/count_race.py [--build DIR] [--mode leakscan|ptrace|stopcont]
                           [--rounds 10]"""
import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import sigcount  # noqa: E402
from targetlib import Target, signal_storm, wait_settled  # noqa: E402


def final_counts(t):
    """(plain, atomic) once nothing is pending and every thread has slept."""
    while True:
        while sigcount._pending_anywhere(t.pid, signal.SIGRTMIN + 1):
            time.sleep(0.001)
        sigcount._all_seen_asleep(t.pid)
        os.kill(t.pid, signal.SIGUSR2)
        line = t.proc.stdout.readline().decode().split()
        if line[3] == "0":
            return int(line[1]), int(line[2])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--mode", choices=["leakscan", "ptrace", "stopcont"], default="stopcont")
    ap.add_argument("--rounds", type=int, default=10)
    a = ap.parse_args()
    leakscan = os.path.join(a.build, "leakscan")
    extra = ["--unwinder=ptrace"] if a.mode == "ptrace" else []
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "count_race")
        subprocess.run(["cc", "-O2", "-pthread", "-I", os.path.join(HERE, "..", "test-targets"),
                        os.path.join(HERE, "count_race.c"), "-o", exe], check=True)
        short_plain = short_atomic = 0
        for r in range(a.rounds):
            with Target([exe, "50"]) as t:
                wait_settled(t.pid, {"blocked"})
                t0 = time.perf_counter()
                subprocess.run([leakscan, "-p", str(t.pid), *extra], capture_output=True)
                span = time.perf_counter() - t0
                finish = signal_storm(t.pid, signal.SIGRTMIN + 1)
                for i in range(45):
                    if a.mode == "stopcont":
                        os.kill(t.pid, signal.SIGSTOP)
                        time.sleep(rng.uniform(0, span))
                        os.kill(t.pid, signal.SIGCONT)
                        time.sleep(0.01)
                        continue
                    p = subprocess.Popen([leakscan, "-p", str(t.pid), *extra], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
                    time.sleep(rng.uniform(0, span))
                    p.send_signal([signal.SIGKILL, signal.SIGTERM, signal.SIGINT][i % 3])
                    p.wait()
                sent = finish()
                plain, atomic = final_counts(t)
                short_plain += plain < sent
                short_atomic += atomic < sent
                print(f"round {r}: sent {sent}, plain count {plain}, atomic count {atomic}", flush=True)
        print(f"{a.mode}: {a.rounds} rounds, plain count short in {short_plain}, atomic count short in {short_atomic}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
