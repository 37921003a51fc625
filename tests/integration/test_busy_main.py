#!/usr/bin/env python3
"""A busy main thread is read with a perf sample, not stopped, so that a
snapshot traces nothing (docs/RELIABILITY.md, "The snapshot's release
window, and a busy main thread").

While the main thread (the thread group leader) is traced, the kernel no
longer drops a signal that the process ignores and that is sent to the
process: it queues it and wakes another thread, which may be asleep in an
epoll_wait(-1) read without a stop: the program sees EINTR.  The eintr
target in "idle spin" mode has exactly that shape (main thread spinning,
three waiters never woken).  Under a storm of SIGCHLD sent to the process,
N snapshots must cause no EINTR, and every report must still show the busy
main thread's stack with its own functions, read as "sampled"; the frames
of a sampled running thread must agree with those of a stopped read of the
same thread (LEAKSCAN_TEST_NO_SAMPLE=1) from the user's function outward.
A main thread that runs and naps in turn is never stopped either.

Skips (77) when the kernel refuses perf_event_open to us: leakscan then
stops the thread as before.
Usage: test_busy_main.py LEAKSCAN EINTR_TARGET RUNNING_TARGET DENY_PERF"""
import ctypes
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from targetlib import (Checks, Target, signal_storm, tasks, task_stat, validate_leakscan_json,  # noqa: E402
                       wait_settled)

check = Checks()
SNAPSHOTS = 30
DEEP_SNAPSHOTS = 10


class PerfAttr(ctypes.Structure):
    # the first fields of struct perf_event_attr (PERF_ATTR_SIZE_VER0, 64 bytes)
    _fields_ = [("type", ctypes.c_uint32), ("size", ctypes.c_uint32), ("config", ctypes.c_uint64),
                ("sample_period", ctypes.c_uint64), ("sample_type", ctypes.c_uint64),
                ("read_format", ctypes.c_uint64), ("flags", ctypes.c_uint64),
                ("wakeup_events", ctypes.c_uint32), ("bp_type", ctypes.c_uint32),
                ("config1", ctypes.c_uint64)]


def perf_allowed(pid):
    """Whether perf_event_open gives us a task-clock event on pid (user
    time only), as leakscan asks for one."""
    libc = ctypes.CDLL(None, use_errno=True)
    attr = PerfAttr(type=1, size=64, config=1, sample_period=10000,   # SOFTWARE, TASK_CLOCK
                    flags=(1 << 0) | (1 << 5) | (1 << 6))     # disabled, exclude_kernel, exclude_hv
    fd = libc.syscall(298, ctypes.byref(attr), pid, -1, -1, 8)      # perf_event_open, FD_CLOEXEC
    if fd < 0:
        return False
    os.close(fd)
    return True


def report(leakscan, pid, env=None):
    """leakscan -p PID --format=json (with env added), validated."""
    p = subprocess.run([leakscan, "-p", str(pid), "--format=json"], capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL, env=dict(os.environ, **(env or {})))
    if p.returncode not in (0, 1):
        raise RuntimeError(f"leakscan exited {p.returncode}: {p.stderr.strip()}")
    doc = json.loads(p.stdout)
    validate_leakscan_json(doc)
    return doc


def pending(pid, sig):
    for tid in tasks(pid):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.split(":")[0] in ("SigPnd", "ShdPnd") and int(line.split()[1], 16) >> (sig - 1) & 1:
                        return True
        except (FileNotFoundError, ProcessLookupError):
            pass
    return False


def eintr_count(t, waiters):
    """The target's EINTR count, read once it is final: no SIGCHLD pending
    anywhere, and each waiter seen asleep since (one woken with EINTR counts
    it before it can sleep again)."""
    while pending(t.pid, signal.SIGCHLD):
        time.sleep(0.001)
    left = set(waiters)
    while left:
        left = {tid for tid in left if task_stat(t.pid, tid)[1] not in "SD"}
        if left:
            time.sleep(0.001)
    os.kill(t.pid, signal.SIGUSR2)
    line = t.proc.stdout.readline().decode().split()
    return int(line[1]) if len(line) == 2 and line[0] == "eintr" else " ".join(line)


def thread_of(doc, tid):
    for p in doc.get("processes", [doc]):
        for th in p["threads"]:
            if th["tid"] == tid:
                return th
    return None


def functions(th):
    return [f.get("function") for f in th["frames"]] if th else []


def described(th):
    """A thread's frames with their pcs and modules, and the unwinder's
    note: what a failure message needs to tell a cut copy from a wrong
    unwind."""
    return {"read": th.get("read"), "unwind_note": th.get("unwind_note"),
            "frames": [(f.get("function"), hex(f["pc"]) if isinstance(f.get("pc"), int) else f.get("pc"),
                        f.get("module")) for f in th["frames"]]}


def outward_from(funcs, first):
    """The frames from the first one named first, outward: a running thread
    is found at a different pc by each look, but the user's frames below
    stay the same."""
    return funcs[funcs.index(first):] if first in funcs else None


def snapshots_in_storm(leakscan, t, count, what, reads_allowed=("sampled",)):
    """count snapshots of the eintr target t (its waiters settled) under a
    storm of SIGCHLD sent to the process; checks that they caused no EINTR
    and that the main thread was read as reads_allowed says every time
    (sampled: never stopped), and returns the reports' main threads and the
    reports."""
    wait_settled(t.pid, {"epoller", "semwaiter", "sigwaiter"})
    waiters = [tid for tid in tasks(t.pid) if tid != t.pid]
    finish = signal_storm(t.pid, signal.SIGCHLD)
    docs = []
    try:
        for _ in range(count):
            docs.append(report(leakscan, t.pid))
    finally:
        sent = finish()
    n = eintr_count(t, waiters)
    check(n == 0, f"{count} snapshots of {what}, {sent} SIGCHLD sent to the process: no EINTR (eintr {n})")
    mains = [thread_of(d, t.pid) for d in docs]
    reads = [m["read"] if m else None for m in mains]
    check(all(r in reads_allowed for r in reads), f"{what} is read as {' or '.join(reads_allowed)} ({set(reads)})")
    return mains, docs


def test_busy_main(leakscan, eintr_exe):
    with Target([eintr_exe, "idle", "spin"]) as t:
        mains, docs = snapshots_in_storm(leakscan, t, SNAPSHOTS, "a busy main thread")
        check(all(m and m.get("stop_note") is None and m.get("stopped_us") is None for m in mains), "a sampled thread carries no stop note")
        # running, it is found anywhere in its loop: in spin_us (or the
        # clock_gettime it calls) or in main itself, always under main
        check(all("main" in functions(m) for m in mains),
              "every report shows the busy main thread under main "
              f"({[functions(m)[:4] for m in mains if 'main' not in functions(m)][:2]})")
        # the same thread, stopped: the same frames from main outward, and
        # from spin_us outward where the sample found it there
        stopped_doc = report(leakscan, t.pid, env={"LEAKSCAN_TEST_NO_SAMPLE": "1"})
        stopped = thread_of(stopped_doc, t.pid)
        check(stopped is not None and stopped["read"] == "stopped",
              f"with LEAKSCAN_TEST_NO_SAMPLE the main thread is stopped ({stopped and stopped['read']})")
        want = outward_from(functions(stopped), "main")
        got = [outward_from(functions(m), "main") for m in mains]
        # on a failure, what the unwinder said and where it stopped
        differ = [described(m) for m, g in zip(mains, got) if g != want][:1]
        check(want is not None and all(g == want for g in got),
              f"sampled frames from main outward match the stopped read ({want} vs {differ})")
        in_spin = [functions(m)[functions(m).index("spin_us"):] for m in mains if "spin_us" in functions(m)]
        check(all(f == ["spin_us"] + want for f in in_spin),
              f"in spin_us, its caller is main ({len(in_spin)} of {len(mains)}: "
              f"{[f for f in in_spin if f != ['spin_us'] + want][:1]})")
        # never woken (the storm's SIGCHLD is dropped where it is sent), the
        # waiters are read without a stop every time
        others = {th["read"] for d in docs for th in d.get("processes", [d])[0]["threads"] if th["tid"] != t.pid}
        check(others == {"stop-free"}, f"the waiters are read stop-free ({others})")


def test_deep_main(leakscan, eintr_exe):
    """A busy main thread whose stack is deeper than the window: the
    sample is cut at the most a record carries (65,320 bytes, 216 short of
    the 64 KiB a stop copies, which is cut too) and is taken as cut at the
    window, not given up for a stop."""
    with Target([eintr_exe, "idle", "spin", "deep"]) as t:
        mains, _ = snapshots_in_storm(leakscan, t, DEEP_SNAPSHOTS, "a deep busy main thread")
        check(all("spin_deep" in functions(m) for m in mains),
              "its frames reach spin_deep "
              f"({[functions(m)[:4] for m in mains if 'spin_deep' not in functions(m)][:2]})")


def test_flicker_main(leakscan, eintr_exe):
    """A main thread that runs and naps in turn (200 us spinning, a 100 us
    nanosleep, as an event loop with short timeouts): each snapshot finds
    it now running, now asleep in a call, and often the other by the time
    one reading is set up.  It is read with a sample or without a stop,
    whichever fits, and never stopped: so no EINTR, and its frames reach
    flicker_loop under main either way."""
    with Target([eintr_exe, "idle", "flicker"]) as t:
        mains, _ = snapshots_in_storm(leakscan, t, SNAPSHOTS, "a main thread running and napping in turn",
                                      reads_allowed=("sampled", "stop-free"))
        check(all(m and m.get("stop_note") is None for m in mains), "it carries no stop note")
        def under_main(m):
            return (outward_from(functions(m), "flicker_loop") or [])[:2] == ["flicker_loop", "main"]
        check(all(under_main(m) for m in mains),
              f"every report shows it in flicker_loop under main ({[functions(m)[:5] for m in mains if not under_main(m)][:2]})")


def test_perf_refused(leakscan, eintr_exe, deny_perf):
    """Where perf_event_open is refused (a container's seccomp profile,
    perf_event_paranoid), a running thread is stopped as before: read
    "stopped", and its frames reach main."""
    with Target([eintr_exe, "idle", "spin"]) as t:
        wait_settled(t.pid, {"epoller", "semwaiter", "sigwaiter"})
        p = subprocess.run([deny_perf, leakscan, "-p", str(t.pid), "--format=json"], capture_output=True,
                           text=True, timeout=120, stdin=subprocess.DEVNULL)
        doc = json.loads(p.stdout) if p.stdout.strip() else {}
        main_thread = thread_of(doc, t.pid) if doc else None
        check(p.returncode == 0 and main_thread is not None and main_thread["read"] == "stopped"
              and "main" in functions(main_thread),
              f"perf refused: the busy main thread is stopped, its frames under main "
              f"({p.returncode}, {main_thread and main_thread['read']}, {functions(main_thread)[:4]}, "
              f"{p.stderr.strip()[-200:]!r})")


def test_running_thread(leakscan, running_exe):
    """A spinning thread that is not the main one: sampled, and its frames
    those of a stop."""
    with Target([running_exe]) as t:
        spinner = next(tid for tid in tasks(t.pid) if task_stat(t.pid, tid)[0] == "spinner")
        sampled = [thread_of(report(leakscan, t.pid), spinner) for _ in range(5)]
        doc = report(leakscan, t.pid, env={"LEAKSCAN_TEST_NO_SAMPLE": "1"})
        stopped = thread_of(doc, spinner)
        check(all(s and s["read"] == "sampled" and s.get("verdict") == "running" for s in sampled),
              f"the spinner is sampled, and running ({[(s['read'], s.get('verdict')) for s in sampled if s]})")
        want = outward_from(functions(stopped), "spinner")
        check(want is not None and all(outward_from(functions(s), "spinner") == want for s in sampled),
              f"the spinner's sampled frames match a stopped read ({want} vs {[functions(s) for s in sampled][:1]})")


def main():
    leakscan, eintr_exe, running_exe, deny_perf = sys.argv[1:5]
    if not perf_allowed(os.getpid()):
        print("SKIP: perf_event_open is refused here (perf_event_paranoid, seccomp or no perf events)")
        return 77
    test_busy_main(leakscan, eintr_exe)
    test_deep_main(leakscan, eintr_exe)
    test_flicker_main(leakscan, eintr_exe)
    test_perf_refused(leakscan, eintr_exe, deny_perf)
    test_running_thread(leakscan, running_exe)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
