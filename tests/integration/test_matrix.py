#!/usr/bin/env python3
"""The syscall matrix: looking changes nothing, call by call (issue 16).

Each row is a scenario of test-targets/matrix/ (a thread asleep in one kind
of blocking call; see matrix.h for the protocol).  For a row, this runs the
program directly (the reference), then once per mode with leakscan looking
while the call sleeps, and compares what the call returned, field by field:

  p5       five `leakscan -p PID` one after the other
  watch    `leakscan -p PID --watch=300ms --interval=100ms`
  kill     `leakscan -p PID` SIGKILLed the moment it holds a waiter stopped
           (state t); a leakscan never seen to stop or attach, or a
           timed row whose call ended each time before the harness was
           done, makes the mode "not conclusive" (printed, not failed)
  at-exit  the whole program under `leakscan --at-exit`

A difference fails the row unless KNOWN lists it, with the kernel's reason;
a KNOWN difference that is gone fails too (update the table: it is what
docs/RELIABILITY.md's matrix section reports).  MAY_DIFFER lists the
differences that depend on where a kill lands or on the order leakscan lets
waiters go: either result is accepted and printed; the exit status must
still match, and a hang or crash fails.

Usage: test_matrix.py --leakscan LEAKSCAN --progs DIR ROW...
       test_matrix.py --list        (the rows, for tests/meson.build)
LEAKSCAN_BIN in the environment replaces --leakscan: the matrix against
another build (e.g. LEAKSCAN_BIN=/path/to/leakscan meson test -C build
--suite matrix).  MATRIX_MODES=p5,kill limits the modes.
"""
import argparse
import json
import os
import select
import subprocess
import sys
import time

# row -> program (test-targets/matrix/<family>.c)
ROWS = {
    "io": ["write_pipe", "writev_pipe", "pwritev2_pipe", "write_unix", "send_unix", "sendmsg_unix",
           "sendmmsg_unix", "send_tcp", "sendfile_unix", "send_sndtimeo", "read_pipe", "readv_pipe",
           "preadv2_pipe", "recv_unix", "recvmmsg_dgram", "recv_waitall", "recvmsg_waitall", "read_rcvlowat",
           "recv_rcvtimeo", "accept", "accept4", "accept_rcvtimeo", "connect_unix", "connect_sndtimeo",
           "splice_pipe", "tee_pipe", "flock"],
    "wait": ["poll", "ppoll_rem", "select_rem", "pselect6_rem", "epoll_wait_inf", "epoll_wait_timeout",
             "epoll_pwait_timeout", "epoll_pwait2_timeout", "wait4", "waitid", "sigtimedwait", "sigwaitinfo",
             "pause", "sigsuspend", "semop", "semtimedop", "msgrcv", "msgsnd", "io_getevents",
             "io_pgetevents", "mq_timedreceive", "mq_timedsend", "io_uring_enter", "epoll_wait_sig",
             "sigwaitinfo_sig", "semop_sig", "semop_fifo", "msgrcv_fifo"],
    "sync": ["futex_wait", "futex_stored", "futex_timed", "futex_waitv", "requeue_pi", "requeue_pi_stored",
             "nanosleep_rem", "clock_nanosleep_rem", "futex_fifo", "pipe_fifo"],
}
MODES = ["p5", "watch", "kill", "at-exit"]

# Why a call returns differently when a stop interrupts it: the kernel's
# answer to any stop of a thread inside the call (SIGSTOP/SIGCONT does the
# same), so that no rewind of leakscan's can undo it.
PARTIAL = ("a blocking write that has moved data returns the count moved when a stop interrupts it "
           "(pipe_write, unix_stream_sendmsg, tcp_sendmsg, splice: the partial count, not -ERESTARTSYS); "
           "the rest is never sent")
WAITALL = ("a receive that has copied data returns it when a stop interrupts it (MSG_WAITALL and "
           "SO_RCVLOWAT only hold it while no signal is pending)")
SOCK_TIMEO = ("with SO_RCVTIMEO/SO_SNDTIMEO set, sock_intr_errno() is -EINTR, not -ERESTARTSYS: "
              "any stop ends the call with EINTR (connect: unconnected)")
TIMED_EINTR = ("the kernel ends this wait with -EINTR on any stop; leakscan rewinds only indefinite "
               "waits (a timed one would need its remaining time)")
URING = ("io_cqring_wait returns -EINTR on any stop, and io_uring_enter is not a row of "
         "src/syscalls.c: nothing rewinds it")
REM = ("a stopped poll/select writes back the time left and restarts from it: the time spent "
       "stopped is lost, the remaining time comes back too long")
FUTEX_REREAD = ("a stopped futex wait restarts and re-reads the word: the waker's store is seen and "
                "the wait fails EAGAIN before the wake (requeue-PI: without the lock)")
SLEEP_REM = ("an interrupted relative sleep writes rem at the interruption; the restarted sleep "
             "(restart_syscall) completes and leaves that value")
FIFO = ("each stopped waiter leaves the wait queue and queues again at its tail when resumed: "
        "the order becomes the order leakscan resumes them")
KILL = ("leakscan killed between its interrupt of the call and its rewind leaves the EINTR "
        "(issue 16 item 4)")

# (row, mode) -> why the call differs: strict, each must differ
# Rows that any stop of the waiting thread changes, and why.  `-p` reads a
# thread asleep in a call without a stop (src/capture/seize.c), and --watch
# lets its threads go between snapshots without a stop (its tracer thread
# exits, src/capture/track.c): these rows behave as directly under p5 and
# watch.  (The tracer does stop, rewind and detach the threads asleep in an
# indefinite epoll_wait, semop, sigwaitinfo, msgrcv... before it exits: for
# them only the queue order can change, see the FIFO rows.)  A kill
# mid-snapshot lands only when a thread is held, so they may still differ
# there (MAY_DIFFER below).
STOP_DIFFERS = {}
for _rows, _why in (
        (["write_pipe", "writev_pipe", "pwritev2_pipe", "write_unix", "send_unix", "sendmsg_unix",
          "sendmmsg_unix", "send_tcp", "sendfile_unix"], PARTIAL),
        (["send_sndtimeo"], PARTIAL + "; " + SOCK_TIMEO),
        (["recv_waitall", "recvmsg_waitall", "read_rcvlowat"], WAITALL),
        (["recv_rcvtimeo", "accept_rcvtimeo", "connect_sndtimeo"], SOCK_TIMEO),
        (["epoll_wait_timeout", "epoll_pwait_timeout", "epoll_pwait2_timeout", "sigtimedwait",
          "semtimedop", "io_getevents"], TIMED_EINTR),
        (["io_uring_enter"], URING),
        (["ppoll_rem", "select_rem", "pselect6_rem"], REM),
        (["futex_stored", "requeue_pi_stored"], FUTEX_REREAD),
        (["nanosleep_rem", "clock_nanosleep_rem"], SLEEP_REM)):
    for _row in _rows:
        STOP_DIFFERS[_row] = _why

# (row, mode) -> why: differs every time (a strict table: a listed row that
# behaves as directly fails too).  Empty: every row behaves as directly in
# p5, watch and at-exit.
KNOWN = {}

# (row, mode) -> why: differs or not, depending on where a kill lands or in
# which order leakscan lets the waiters go
MAY_DIFFER = {}
for _row, _why in STOP_DIFFERS.items():
    MAY_DIFFER[(_row, "kill")] = "killed before its interrupt, nothing happened; after it: " + _why
for _row in ["futex_fifo", "pipe_fifo", "semop_fifo", "msgrcv_fifo"]:
    for _mode in ("p5", "watch", "kill"):
        MAY_DIFFER[(_row, _mode)] = FIFO
for _row in ["epoll_wait_inf", "sigwaitinfo", "semop", "msgrcv", "msgsnd", "io_pgetevents"]:
    MAY_DIFFER[(_row, "kill")] = KILL
for _row in ["epoll_wait_sig", "sigwaitinfo_sig", "semop_sig"]:
    MAY_DIFFER[(_row, "kill")] = (KILL + "; the call then ends before the signal is sent, and the "
                                  "handler has no thread left to run in (\"handled\": 0)")


DEADLINE = 90.0         # seconds for one run; beyond it the run has hung


class Hung(Exception):
    pass


def read_line(proc, deadline):
    """The next line of proc's stdout, or None at its end."""
    buf = b""
    fd = proc.stdout.fileno()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Hung("no line from the program")
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        c = os.read(fd, 1)
        if not c:
            return buf.decode() if buf else None
        if c == b"\n":
            return buf.decode()
        buf += c


def tracer_of(pid, tid):
    try:
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            for line in f:
                if line.startswith("TracerPid:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def task_state(pid, tid):
    try:
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def look(leakscan, mode, pid, tids, deadline, lenient):
    """Runs leakscan on pid in mode; returns False when the kill came too
    late to be mid-snapshot (the run is to be retried); lenient: a kill
    while attached will do (a leakscan that never stops a sleeping waiter)."""
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if mode == "p5":
        for _ in range(5):
            r = subprocess.run([leakscan, "-p", str(pid)], timeout=deadline - time.monotonic(), **quiet)
            if r.returncode not in (0, 1):
                raise AssertionError(f"leakscan -p exited {r.returncode}: {r.stderr.decode()[-500:]}")
    elif mode == "watch":
        r = subprocess.run([leakscan, "-p", str(pid), "--watch=300ms", "--interval=100ms"],
                           timeout=deadline - time.monotonic(), **quiet)
        if r.returncode not in (0, 1):
            raise AssertionError(f"leakscan --watch exited {r.returncode}: {r.stderr.decode()[-500:]}")
    elif mode == "kill":
        # killed once it holds a waiter stopped (state t) mid-snapshot; a
        # leakscan that stops none (it reads sleeping threads as they are)
        # is killed while attached, if it ever was
        ls = subprocess.Popen([leakscan, "-p", str(pid)], **quiet)
        stopped = attached = False
        while ls.poll() is None and time.monotonic() < deadline:
            for t in tids:
                st = task_state(pid, t)
                if st == "t":
                    stopped = True
                attached = attached or tracer_of(pid, t) == ls.pid
            if stopped:
                break
        ls.kill()
        ls.communicate()
        # the kernel detaches a dead tracer's tracees, and none is left stopped
        while any(tracer_of(pid, t) for t in tids):
            if time.monotonic() > deadline:
                raise Hung("still traced after leakscan was killed")
            time.sleep(0.001)
        left = [t for t in tids if task_state(pid, t) in ("T", "t")]
        if left:
            raise AssertionError(f"threads {left} left stopped by the killed leakscan")
        return stopped or (attached and lenient)
    return True


def run(prog, row, mode, leakscan, scale, lenient=False):
    """One run; returns ("result", dict, status), ("late", None, status) or
    ("retry", None, status)."""
    deadline = time.monotonic() + DEADLINE
    cmd = [prog, row, str(scale)]
    if mode == "at-exit":
        cmd = [leakscan, "--at-exit", "-o", os.devnull, "--"] + cmd
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = read_line(proc, deadline)
        if not line or not line.startswith("ready "):
            raise AssertionError(f"expected ready, got {line!r}")
        ids = [int(x) for x in line.split()[1:]]
        pid, tids = ids[0], ids[1:]
        ok = True
        if mode not in ("direct", "at-exit"):
            ok = look(leakscan, mode, pid, tids, deadline, lenient)
        proc.stdin.write(b"go\n")
        proc.stdin.flush()
        result = None
        late = False
        while (line := read_line(proc, deadline)) is not None:
            if line.startswith("result "):
                result = json.loads(line[len("result "):])
            elif line == "late":
                late = True
        status = proc.wait(timeout=max(1, deadline - time.monotonic()))
    except BaseException:
        proc.kill()
        proc.wait()
        err = proc.stderr.read().decode()
        if err:
            print(f"  stderr: {err.strip()[-1000:]}")
        raise
    err = proc.stderr.read().decode().strip()
    if late:
        return "late", None, status
    if not ok:
        return "retry", None, status
    if result is None:
        raise AssertionError(f"{row} ({mode}): no result, exit status {status}: {err[-3000:]}")
    return "result", result, status


def compared(x):
    """x without its information fields (names starting with _)."""
    if isinstance(x, dict):
        return {k: compared(v) for k, v in x.items() if not k.startswith("_")}
    if isinstance(x, list):
        return [compared(v) for v in x]
    return x


def preempted(result):
    """Whether a remaining time is off because the thread was preempted
    around its call (between the clock and the kernel): not conclusive."""
    return any(w.get("_preempted") and not w.get("rem_ok", 1) for w in result["waiters"])


def outcome(prog, row, mode, leakscan):
    """The row's result and exit status in mode, retrying a run whose own
    time ran out before leakscan was done (late) or whose kill missed."""
    scale = 1000
    for attempt in range(6):
        kind, result, status = run(prog, row, mode, leakscan, scale, lenient=attempt >= 3)
        if kind == "result" and preempted(result):
            kind = "preempted"
        if kind == "result":
            return result, status
        if kind == "late":
            scale *= 4
    if kind == "retry":
        return None, None       # leakscan was always done before it could be killed mid-snapshot
    if mode == "kill" and kind == "late":
        # a timed row whose call kept ending before the killed leakscan
        # was gone (a loaded machine: a kill loop polling /proc beside
        # leakscan and the hogs): nothing was compared, which is what
        # "not conclusive" means; p5 and watch must still conclude
        return None, None
    raise AssertionError(f"{row} ({mode}): no conclusive run in 6 tries ({kind})")


def check_row(progs, row, leakscan, modes):
    family = next(f for f, rows in ROWS.items() if row in rows)
    prog = os.path.join(progs, "matrix-" + family)
    direct, direct_status = outcome(prog, row, "direct", leakscan)
    print(f"{row} direct: {json.dumps(direct)} (exit {direct_status})")
    failures = []
    for mode in modes:
        got, status = outcome(prog, row, mode, leakscan)
        if got is None:
            print(f"{row} {mode}: not conclusive: no run killed leakscan holding a waiter stopped while the call still slept")
            continue
        same = compared(got) == compared(direct) and status == direct_status
        print(f"{row} {mode}: {'same' if same else 'DIFFERS'}: {json.dumps(got)} (exit {status})")
        key = (row, mode)
        if key in KNOWN:
            if same:
                failures.append(f"{mode}: known to differ ({KNOWN[key]}) but the same as the direct run: "
                                "remove it from KNOWN and docs/RELIABILITY.md")
            else:
                print(f"  known: {KNOWN[key]}")
        elif key in MAY_DIFFER:
            print(f"  may differ: {MAY_DIFFER[key]}")
        elif not same:
            failures.append(f"{mode}: differs from the direct run:\n    direct: {json.dumps(direct)} "
                            f"(exit {direct_status})\n    {mode}: {json.dumps(got)} (exit {status})")
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--leakscan")
    ap.add_argument("--progs")
    ap.add_argument("rows", nargs="*")
    a = ap.parse_args()
    if a.list:
        for rows in ROWS.values():
            print("\n".join(rows))
        return 0
    leakscan = os.environ.get("LEAKSCAN_BIN") or a.leakscan
    modes = os.environ.get("MATRIX_MODES", ",".join(MODES)).split(",")
    for family, rows in ROWS.items():
        listed = subprocess.run([os.path.join(a.progs, "matrix-" + family)], capture_output=True,
                                text=True, check=True).stdout.split()
        if listed != rows:
            print(f"matrix-{family} has rows {listed}, the table {rows}")
            return 1
    for table in (KNOWN, MAY_DIFFER):
        for row, mode in table:
            assert any(row in r for r in ROWS.values()) and mode in MODES, (row, mode)
    print(f"leakscan: {leakscan}")
    failures = []
    for row in a.rows:
        failures += [f"{row} {f}" for f in check_row(a.progs, row, leakscan, modes)]
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
