#!/usr/bin/env python3
"""Kills leakscan in the middle of its snapshots and counts the target's
signals lost (issue 12, item 8).

Starts the signals test target (a blocked worker, a heartbeat and THREADS
idle threads, counting the queued real-time signals it receives), sends it
SIGRTMIN+1 every 0.5 ms, and KILLS times runs `leakscan -p` and kills it
with SIG after a random delay within the time a snapshot takes (measured
first).  After each kill, checks that no thread is left stopped or traced.
At the end compares the signals sent with those received.

With --watch, leakscan runs `-p PID --watch=10s --interval=200ms` and is
killed at a random point of its first second: during a snapshot or between
two, while --watch traces the threads (src/capture/track.c).  --to-threads sends
the signals to the threads other than the main one in turn (tgkill): one
sent to the process is taken by the main thread, which --watch does not
trace, and makes no signal-delivery stop to lose.

With --eintr, the target is instead test-targets/eintr (indefinite
epoll_wait, semop and sigwaitinfo woken every millisecond), and the count
is of the EINTRs those calls returned; with --watch too, leakscan runs
--watch and is killed within its first second, as above (its tracer
interrupts the threads asleep in those waits before each snapshot).

The count is read once nothing is pending and every thread has slept
since (tests/integration/sigcount.py): a count read after a fixed sleep
can be short with nothing lost.

Usage: bench/kill_stress.py [--build DIR] [--kills 1000] [--signal KILL]
                            [--threads 50] [--leakscan PATH] [--eintr]
                            [--watch] [--to-threads] [--leakscan-arg ARG]...
Prints one line: kills, sent, received, lost, threads left stopped or
traced (or, with --eintr, the EINTRs seen)."""
import argparse
import ctypes
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from sigcount import final_count  # noqa: E402
from targetlib import Target, task_stat, tasks, tracer_pid, wait_settled  # noqa: E402


def left_behind(pid):
    """Threads left stopped or traced by a killed leakscan."""
    bad = 0
    for tid in tasks(pid):
        try:
            st = task_stat(pid, tid)[1]
        except (FileNotFoundError, ProcessLookupError):
            continue
        if st in "tT" or tracer_pid(pid, tid) != 0:
            bad += 1
    return bad


def blocks(pid, tid, sig):
    """Whether thread tid of pid blocks sig (its SigBlk in /proc)."""
    try:
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            for line in f:
                if line.startswith("SigBlk:"):
                    return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    except (FileNotFoundError, ProcessLookupError):
        pass
    return False


WATCH = ["--watch=10s", "--interval=200ms"]


def kill_mid_snapshot(leakscan, pid, sig, kills, span, extra=()):
    """Starts `leakscan -p pid` (and extra options) kills times and sends it
    sig at a random moment within span seconds; returns how many times it
    left a thread of pid stopped or traced."""
    stuck = 0
    for _ in range(kills):
        p = subprocess.Popen([leakscan, "-p", str(pid), *extra], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(random.uniform(0, span))
        p.send_signal(sig)
        p.wait()
        time.sleep(0.01)
        stuck += left_behind(pid) > 0
    return stuck


def eintr_run(a, leakscan, target, sig):
    with Target([target]) as t:
        time.sleep(0.2)
        durations = []
        for _ in range(5):
            t0 = time.perf_counter()
            subprocess.run([leakscan, "-p", str(t.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            durations.append(time.perf_counter() - t0)
        span = 1.0 if a.watch else statistics.median(durations)
        os.kill(t.pid, signal.SIGUSR2)
        before = int(t.proc.stdout.readline().decode().split()[1])
        stuck = kill_mid_snapshot(leakscan, t.pid, sig, a.kills, span, (WATCH if a.watch else []) + a.leakscan_arg)
        os.kill(t.pid, signal.SIGUSR2)
        after = int(t.proc.stdout.readline().decode().split()[1])
        print(f"SIG{a.signal.upper()}{' (--watch)' if a.watch else ''} on EINTR waiters: kills {a.kills} "
              f"(within {span * 1000:.0f} ms of start), "
              f"EINTR seen {after - before} (unkilled snapshots before: {before}), left stopped or traced {stuck}")
        return 0 if after == before and stuck == 0 else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--leakscan")
    ap.add_argument("--kills", type=int, default=1000)
    ap.add_argument("--signal", default="KILL")
    ap.add_argument("--threads", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--eintr", action="store_true")
    ap.add_argument("--watch", action="store_true")
    ap.add_argument("--to-threads", action="store_true")
    ap.add_argument("--leakscan-arg", action="append", default=[],
                    help="one more argument for each leakscan run (e.g. --unwinder=ptrace, which holds "
                         "every thread for the whole snapshot)")
    a = ap.parse_args()
    leakscan = a.leakscan or os.path.join(a.build, "leakscan")
    target = os.path.join(a.build, "test-targets", "signals")
    sig = getattr(signal, "SIG" + a.signal.upper())
    random.seed(a.seed)
    if a.eintr:
        return eintr_run(a, leakscan, os.path.join(a.build, "test-targets", "eintr"), sig)

    with Target([target, str(a.threads)]) as t:
        wait_settled(t.pid, {"blocked"})
        durations = []
        for _ in range(5):
            t0 = time.perf_counter()
            subprocess.run([leakscan, "-p", str(t.pid), *a.leakscan_arg], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            durations.append(time.perf_counter() - t0)
        span = 1.0 if a.watch else statistics.median(durations)

        sent = 0
        stop = threading.Event()

        libc = ctypes.CDLL(None, use_errno=True)
        # not the main thread, nor one that blocks the signal (the target's
        # "blocked" worker): a signal sent to it alone stays pending for
        # ever, and the final count would wait for it for ever
        others = [x for x in tasks(t.pid) if x != t.pid and not blocks(t.pid, x, signal.SIGRTMIN + 1)]

        def sender():
            nonlocal sent
            while not stop.is_set():
                if a.to_threads:
                    libc.syscall(234, t.pid, others[sent % len(others)], signal.SIGRTMIN + 1)    # tgkill
                else:
                    os.kill(t.pid, signal.SIGRTMIN + 1)
                sent += 1
                time.sleep(0.0005)
        th = threading.Thread(target=sender)
        th.start()
        stuck = kill_mid_snapshot(leakscan, t.pid, sig, a.kills, span, (WATCH if a.watch else []) + a.leakscan_arg)
        stop.set()
        th.join()
        got, line = final_count(t)
        if got is None:
            print(f"no count: {' '.join(line)}")
            return 1
        print(f"SIG{a.signal.upper()}{' (--watch)' if a.watch else ''}: kills {a.kills} (within {span * 1000:.0f} ms of start), "
              f"sent {sent}, received {got}, lost {sent - got}, left stopped or traced {stuck}")
        return 0 if got == sent and stuck == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
