#!/usr/bin/env python3
"""Looking changes nothing, call by call: `leakscan -p` reads a thread asleep
in a call without stopping it (/proc's syscall line, its stack by
process_vm_readv, unchanged switch counts as proof), so that the call ends
as it would have without leakscan.  Each check here failed when every
thread was stopped (PTRACE_INTERRUPT):
- a pipe write that has moved part of its data returned short (65,536 of
  1 MiB) instead of completing;
- a recv under SO_RCVTIMEO and an epoll_wait with a timeout returned EINTR.
Also: a process whose threads all sleep is not stopped at all, and its
frame-pointer frames are recovered without the registers a stop reads.
Usage: test_stopfree.py LEAKSCAN INFLIGHT_TARGET MUTEX_TARGET"""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from targetlib import Checks, Target, leakscan_json, run_leakscan, wait_settled  # noqa: E402

check = Checks()


def finish_inflight(t):
    """Lets the target complete its calls; returns {call: (result, errno)}."""
    os.kill(t.pid, signal.SIGUSR2)
    out = {}
    for line in t.proc.stdout:
        words = line.decode().split()
        if words == ["done"]:
            break
        out[words[0]] = (int(words[1]), int(words[2]))
    return out


def expect_untouched(results, label):
    check(results.get("write") == (1 << 20, 0),
          f"{label}: the pipe write in progress completes, 1048576 bytes ({results.get('write')})")
    check(results.get("recv") == (5, 0), f"{label}: recv under SO_RCVTIMEO gets its data, no EINTR "
                                         f"({results.get('recv')})")
    check(results.get("epoll_wait") == (1, 0), f"{label}: epoll_wait with a timeout gets its event, no EINTR "
                                               f"({results.get('epoll_wait')})")


def test_inflight(leakscan, exe):
    with Target([exe]) as t:
        wait_settled(t.pid, {"writer", "receiver", "poller"})
        codes = [run_leakscan(leakscan, ["-p", str(t.pid)])[0] for _ in range(5)]
        check(all(c in (0, 1) for c in codes), f"5 snapshots of calls in progress succeed ({codes})")
        expect_untouched(finish_inflight(t), "5 snapshots with -p")


def test_not_stopped(leakscan, exe):
    """Every thread asleep: no thread is stopped (stopped_us 0), and the
    frame-pointer code above pause() and __lll_lock_wait (whose rbp only a
    stop would read) is unwound to the program's entry all the same."""
    with Target([exe]) as t:
        wait_settled(t.pid, {"locker"})
        for _ in range(3):
            code, report = leakscan_json(leakscan, t.pid, ["--min-blocked=0"])
            p = report["processes"][0]
            funcs = {th["name"]: [f.get("function") for f in th["frames"]] for th in p["threads"]}
            main = [th for th in p["threads"] if th["main"]][0]
            main_funcs = [f.get("function") for f in main["frames"]]
            check(p["stopped_us"] == 0, f"a process asleep is not stopped: stopped_us {p['stopped_us']}")
            check("main" in main_funcs and main_funcs[-1] == "_start",
                  f"main thread unwound to _start without its registers ({main_funcs})")
            check(funcs.get("locker", [None])[-1] in ("__clone3", "clone3", "__clone"),
                  f"locker unwound to clone ({funcs.get('locker')})")


def main():
    leakscan, inflight, mutex = sys.argv[1:4]
    test_not_stopped(leakscan, mutex)
    test_inflight(leakscan, inflight)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
