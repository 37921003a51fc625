#!/usr/bin/env python3
"""The report marks how each thread was read, and what leakscan's stop did
to a call (issue 16, docs/RELIABILITY.md "The syscall matrix").

- A plain `-p` of a target whose threads all sleep reads every thread
  stop-free ("read": "stop-free") and notes nothing: on a healthy server
  the report says nothing of stops.
- `--unwinder=fp` stops every thread.  On test-targets/inflight, whose
  threads sleep in a 1 MiB pipe write that has moved part of its data, a
  recv under SO_RCVTIMEO and a timed epoll_wait, each of these threads is
  read "stopped" with a note naming the consequence, the text report says
  it of each (they are idle: the note is not hidden with them), the
  snapshot saved by that run gives the same marks offline, and the
  consequences named are the ones the calls then show (a short write, two
  EINTRs): the note is the truth, not a guess.  The main thread, stopped in
  an indefinite sigwaitinfo (which the kernel restarts), has no note.

Usage: test_marks.py LEAKSCAN INFLIGHT_TARGET MUTEX_TARGET"""
import json
import os
import signal
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from targetlib import Checks, Target, leakscan_json, run_leakscan, validate_leakscan_json, wait_settled  # noqa: E402

check = Checks()


def test_stop_free(leakscan, exe):
    with Target([exe]) as t:
        wait_settled(t.pid, {"locker"})
        code, report = leakscan_json(leakscan, t.pid)
        threads = report["processes"][0]["threads"]
        reads = {th["name"]: th["read"] for th in threads}
        check(threads and all(r == "stop-free" for r in reads.values()),
              f"-p of a process asleep reads every thread stop-free ({reads})")
        check(all(th["stop_note"] is None and th["stopped_us"] is None for th in threads),
              "and notes no stop")
        code, out, err = run_leakscan(leakscan, ["-p", str(t.pid)])
        check(code in (0, 1) and "leakscan stopped" not in out,
              f"the text report of it says nothing of stops ({code}, {out!r})")


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


EXPECT = {  # thread: (its call, words of its note)
    "writer": ("write", "returns short"),
    "receiver": ("recvfrom", "SO_RCVTIMEO"),
    "poller": ("epoll_wait", "fails with EINTR"),
}


def test_stopped(leakscan, exe):
    with Target([exe]) as t, tempfile.TemporaryDirectory() as tmp:
        wait_settled(t.pid, set(EXPECT))
        saved = os.path.join(tmp, "inflight.lss")
        code, out, err = run_leakscan(leakscan, ["-p", str(t.pid), "--unwinder=fp", "--save-snapshot=" + saved])
        check(code in (0, 1), f"-p --unwinder=fp succeeds ({code}: {err.strip()})")
        for name, (call, words) in EXPECT.items():
            check(any(line.startswith("thread ") and f"({name}): leakscan stopped this thread inside {call}():"
                      in line and words in line for line in out.splitlines()),
                  f"the text report notes that {name} was stopped inside {call}()")
        results = finish_inflight(t)
        # the notes named what the calls then did
        check(results.get("write", (None,))[0] is not None and 0 < results["write"][0] < 1 << 20,
              f"the write stopped returned short, as noted ({results.get('write')})")
        check(results.get("recv") == (-1, 4), f"the recv under SO_RCVTIMEO got EINTR ({results.get('recv')})")
        check(results.get("epoll_wait") == (-1, 4), f"the timed epoll_wait got EINTR ({results.get('epoll_wait')})")

        # the same marks from the snapshot, offline
        code, out, err = run_leakscan(leakscan, ["--from-snapshot=" + saved, "--unwinder=fp", "--format=json"])
        check(code in (0, 1), f"--from-snapshot reads it ({code}: {err.strip()})")
        if code not in (0, 1):
            return
        doc = json.loads(out)
        validate_leakscan_json(doc)
        threads = {th["name"]: th for th in doc["processes"][0]["threads"]}
        for name, (call, words) in EXPECT.items():
            th = threads.get(name, {})
            check(th.get("read") == "stopped" and isinstance(th.get("stopped_us"), int),
                  f"{name}: read stopped, for a known time ({th.get('read')}, {th.get('stopped_us')})")
            note = th.get("stop_note") or ""
            check(note.startswith(f"leakscan stopped this thread inside {call}():") and words in note,
                  f"{name}: its note names the consequence ({note!r})")
        main = [th for th in doc["processes"][0]["threads"] if th["main"]]
        check(len(main) == 1 and main[0]["read"] == "stopped" and main[0]["stop_note"] is None,
              f"the main thread, in an indefinite sigwaitinfo, is stopped with no note "
              f"({main and (main[0]['read'], main[0]['stop_note'])})")


def main():
    leakscan, inflight, mutex = sys.argv[1:4]
    test_stop_free(leakscan, mutex)
    test_stopped(leakscan, inflight)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
