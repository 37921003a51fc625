"""The final count of the queued signals test-targets/signals received, read
without waiting for a time (tests/integration/test_robustness.py and
bench/kill_stress.py).

A count read too early is short, which looks exactly like a lost signal:
the target's report (on SIGUSR2) is dequeued before a pending SIGRTMIN+1
(the kernel delivers the lowest-numbered signal first), and a thread that
has dequeued one but not yet counted it is invisible in /proc.  So the
count is read only once (1) no thread of the target has SIGRTMIN+1 pending
(its own SigPnd or the process's ShdPnd in /proc), so every signal sent has
been dequeued, and (2) every thread has been seen asleep since: a thread
that dequeued a signal runs its handler to the end before it can sleep
again, so it has counted it.  Then the count is final: short means lost."""
import os
import signal
import time


def _mask_has(text, field, sig):
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    return False


def _threads(pid):
    try:
        return [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except FileNotFoundError:
        return []


def _pending_anywhere(pid, sig):
    for tid in _threads(pid):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                text = f.read()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if _mask_has(text, "SigPnd", sig) or _mask_has(text, "ShdPnd", sig):
            return True
    return False


def _state(pid, tid):
    try:
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None     # gone: nothing left to count in it
    return text[text.rindex(")") + 2]


def _all_seen_asleep(pid):
    """Polls until every thread of pid has been seen in S or D (or gone) at
    least once from now on.  Returns the threads found stopped (t, T)
    instead, if any: a stopped thread may hold a dequeued signal, and with
    no leakscan left running nothing will let it go."""
    left = set(_threads(pid))
    while left:
        states = {tid: _state(pid, tid) for tid in left}
        stopped = [tid for tid, st in states.items() if st in ("t", "T")]
        if stopped:
            return stopped
        left = {tid for tid, st in states.items() if st not in (None, "S", "D")}
        if left:
            time.sleep(0.001)
    return []


def final_count(target, sig=None):
    """Waits (for conditions, not a time; the test's own timeout bounds it)
    until no sig is pending in target and every thread has been seen
    asleep, then asks for the count.  Returns (count, line) with count None
    when the line is not a report, or when a thread is left stopped (line
    then names it)."""
    sig = sig or signal.SIGRTMIN + 1
    while True:
        while _pending_anywhere(target.pid, sig):
            time.sleep(0.001)
        stopped = _all_seen_asleep(target.pid)
        if stopped:
            return None, ["threads left stopped:", *map(str, stopped)]
        if _pending_anywhere(target.pid, sig):
            continue        # sent meanwhile (a sender still running): again
        os.kill(target.pid, signal.SIGUSR2)
        line = target.proc.stdout.readline().decode().split()
        if len(line) != 4 or line[0] != "count" or line[2] != "pending":
            return None, line
        if line[3] == "1":
            continue        # cannot happen once nothing is pending; ask again
        return int(line[1]), line
