#!/usr/bin/env python3
"""leakscan must never harm the process it looks at.  Checks, on live
targets: no signal is lost while threads are held (queued real-time signals
are counted by the target), a job-control stop in force stays in force, a
target whose threads come and go survives many snapshots, and every target is
left running and untraced; the same under --watch, which follows thread
creation with ptrace between its snapshots.
Usage: test_robustness.py LEAKSCAN SIGNALS_TARGET CHURN_TARGET MUTEX_TARGET"""
import json
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from targetlib import Checks, Target, leakscan_json, run_leakscan, task_stat, tasks, tracer_pid, wait_settled  # noqa: E402

check = Checks()


def states(pid):
    out = {}
    for tid in tasks(pid):
        try:
            out[tid] = task_stat(pid, tid)[1]
        except (FileNotFoundError, ProcessLookupError):
            pass    # the thread ended meanwhile
    return out


def untouched(pid, label):
    time.sleep(0.05)
    st = states(pid)
    check(all(s not in "tT" for s in st.values()), f"{label}: no thread left stopped ({st})")
    check(all(tracer_pid(pid, t) == 0 for t in st), f"{label}: no thread left traced")


def signal_storm(pid, sig):
    """Starts sending sig to pid every 0.5 ms; returns (stop, count)."""
    state = {"sent": 0}
    stop = threading.Event()

    def sender():
        while not stop.is_set():
            os.kill(pid, sig)
            state["sent"] += 1
            time.sleep(0.0005)

    th = threading.Thread(target=sender)
    th.start()

    def finish():
        stop.set()
        th.join()
        return state["sent"]
    return finish


def received(t):
    time.sleep(0.2)
    os.kill(t.pid, signal.SIGUSR2)
    line = t.proc.stdout.readline().decode().split()
    return int(line[1]) if len(line) == 2 and line[0] == "count" else None


def test_watch(leakscan, signals_exe, churn_exe, mutex_exe):
    with Target([signals_exe]) as t:
        wait_settled(t.pid, {"blocked"})
        finish = signal_storm(t.pid, signal.SIGRTMIN + 1)
        code, out, err = run_leakscan(leakscan, ["-p", str(t.pid), "--watch=1s", "--interval=200ms"])
        sent = finish()
        got = received(t)
        check(code == 0 and "no group of threads grew" in out, f"--watch under a signal storm ({code} {err.strip()[:100]})")
        check(got == sent, f"--watch: every queued signal delivered: sent {sent}, received {got}")
        untouched(t.pid, "--watch, signal storm")
    with Target([churn_exe]) as t:
        wait_settled(t.pid, {"stuck"})
        code, out, err = run_leakscan(leakscan, ["-p", str(t.pid), "--watch=1s", "--interval=200ms"])
        check(code in (0, 1) and "watched process" in out, f"--watch on a churning process ({code} {err.strip()[:100]})")
        check(t.proc.poll() is None, "--watch: the churning process is alive")
        untouched(t.pid, "--watch, churn")
    with Target([mutex_exe]) as t:
        wait_settled(t.pid, {"locker"})
        os.kill(t.pid, signal.SIGSTOP)
        time.sleep(0.2)
        code, out, _ = run_leakscan(leakscan, ["-p", str(t.pid), "--watch=600ms", "--interval=200ms"])
        time.sleep(0.1)
        st = states(t.pid)
        check(code == 0 and all(s == "T" for s in st.values()), f"--watch leaves a stopped process stopped ({st})")
        check(all(tracer_pid(t.pid, tid) == 0 for tid in st), "--watch: untraced after")
        os.kill(t.pid, signal.SIGCONT)


def test_signals(leakscan, exe):
    with Target([exe]) as t:
        wait_settled(t.pid, {"blocked"})
        finish = signal_storm(t.pid, signal.SIGRTMIN + 1)
        codes = [run_leakscan(leakscan, ["-p", str(t.pid), "--idle", "--min-blocked=0"])[0] for _ in range(15)]
        sent = finish()
        check(all(c == 1 for c in codes), f"15 snapshots under a signal storm all found the leak ({codes})")
        got = received(t)
        check(got == sent, f"every queued signal delivered: sent {sent}, received {got}")
        untouched(t.pid, "signal storm")


def test_job_control_stop(leakscan, exe):
    with Target([exe]) as t:
        wait_settled(t.pid, {"locker"})
        os.kill(t.pid, signal.SIGSTOP)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not all(s == "T" for s in states(t.pid).values()):
            time.sleep(0.01)
        code, report = leakscan_json(leakscan, t.pid, ["--idle", "--min-blocked=0"])
        threads = report["processes"][0]["threads"]
        check(all(th["state"] == "stopped" for th in threads), "a stopped process: every thread in state stopped")
        check(code == 0 and report["summary"]["leaked"] == 0, "a job-control stop is not a leak")
        check(all(th["frames"] for th in threads), "stacks are read from a stopped process too")
        time.sleep(0.1)
        st = states(t.pid)
        check(all(s == "T" for s in st.values()), f"still stopped after leakscan left ({st})")
        check(all(tracer_pid(t.pid, tid) == 0 for tid in st), "untraced after leakscan left")
        os.kill(t.pid, signal.SIGCONT)
        time.sleep(0.1)
        check(all(s != "T" for s in states(t.pid).values()), "SIGCONT resumes it as usual")


def test_churn(leakscan, exe):
    with Target([exe]) as t:
        wait_settled(t.pid, {"stuck"})
        results = []
        for _ in range(25):
            code, out, err = run_leakscan(leakscan, ["-p", str(t.pid), "--format=json", "--idle", "--min-blocked=0"])
            results.append(code)
            if code in (0, 1):
                stuck = [th for th in json.loads(out)["processes"][0]["threads"] if th["name"] == "stuck"]
                if len(stuck) != 1 or stuck[0]["state"] != "mutex":
                    results[-1] = f"stuck={stuck}"
            else:
                results[-1] = f"{code}: {err.strip()}"
        check(all(r == 1 for r in results), f"25 snapshots of a churning process succeed ({set(map(str, results))})")
        check(t.proc.poll() is None, "the churning process is alive")
        untouched(t.pid, "churn")


def main():
    leakscan, signals_exe, churn_exe, mutex_exe = sys.argv[1:5]
    test_signals(leakscan, signals_exe)
    test_job_control_stop(leakscan, mutex_exe)
    test_churn(leakscan, churn_exe)
    test_watch(leakscan, signals_exe, churn_exe, mutex_exe)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
