#!/usr/bin/env python3
"""Does `leakscan --at-exit` change a racy program's outcome?

Runs each program of test-targets/at-exit that races with its own exit N
times directly and N times under `leakscan --at-exit --error-exitcode=0`
(so that leakscan's status is the program's own), and counts the outcomes:
(exit status, standard output), "hang" when it did not end in 20 s.  Also
kills leakscan with SIGKILL while the program runs or while its exit is
held, and checks that the program still ends (its stdout reaches EOF), and
while a thread of late_abort is held in quarantine (its abort must never be
made: the program's own status 0).

Usage: bench/at_exit_outcomes.py BUILD_DIR [N] [--load K] [--hogs H]
                                  [--cases LIST] [--leakscan PATH]
  --load K: K other copies of the same loop run at the same time (a busy
  machine: the exit trap's races show there first).
  --hogs H: H processes spinning on the CPU meanwhile.
  --cases LIST: some of alarm,alarm-interruptible,late-abort,promise,kill (all by
  default); `--cases alarm 500 --load 2 --hogs 4` is the stress run of the
  signal-during-exit race in docs/RELIABILITY.md.
  --leakscan PATH: another leakscan binary (an older build, to compare),
  with the test programs of BUILD_DIR.
Prints one line per case: direct outcomes, outcomes under leakscan, and
whether they match.  Results go in docs/RELIABILITY.md."""
import ctypes
import os
import select
import signal
import subprocess
import sys
import time


def outcome(cmd, env=None, timeout=20):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                           stdin=subprocess.DEVNULL)
        return (p.returncode, p.stdout)
    except subprocess.TimeoutExpired:
        return "hang"


def tally(runs):
    counts = {}
    for r in runs:
        counts[r] = counts.get(r, 0) + 1
    return counts


def killed_leakscan(leakscan, prog, mode):
    """kill -9 of leakscan; returns what the program printed after, or "hang"."""
    p = subprocess.Popen([leakscan, "--at-exit", "--grace=5s", prog, mode], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, bufsize=0)
    fd = p.stdout.fileno()
    while not os.read(fd, 1) in (b"\n", b""):   # its first line
        pass
    time.sleep(0.1)
    p.kill()
    p.wait()
    data, end = b"", time.monotonic() + 20
    while True:
        if not select.select([fd], [], [], max(0, end - time.monotonic()))[0]:
            return "hang"
        chunk = os.read(fd, 4096)
        if not chunk:
            return data.decode()
        data += chunk


def killed_in_quarantine(leakscan, prog):
    """kill -9 of leakscan while a thread of late_abort is held in quarantine;
    returns the program's own exit status (we are its subreaper), or "hang"."""
    p = subprocess.Popen([leakscan, "--at-exit", "--grace=5s", "-o", os.devnull, prog, "linger"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, bufsize=0)
    first = p.stdout.readline().decode()
    time.sleep(0.3)
    p.kill()
    p.wait()
    p.stdout.close()
    pid = int(first.split()[1])
    end = time.monotonic() + 20
    while time.monotonic() < end:
        got, status = os.waitpid(pid, os.WNOHANG)
        if got == pid:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    return "hang"


def option(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def main():
    build = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 and not sys.argv[2].startswith("-") else 50
    load = int(option("--load", 0))
    hogs = int(option("--hogs", 0))
    wanted = option("--cases", "alarm,alarm-interruptible,late-abort,promise,kill").split(",")
    leakscan = os.path.abspath(option("--leakscan", os.path.join(build, "leakscan")))
    d = os.path.join(build, "test-targets", "at-exit")
    prog = lambda name: os.path.join(d, "ae-" + name)
    under = [leakscan, "--at-exit", "--error-exitcode=0", "--format=json", "-o", os.devnull]
    interruptible = dict(os.environ, LEAKSCAN_TEST_INTERRUPTIBLE_EXIT="1")

    loaders = [subprocess.Popen([sys.executable, __file__, build, str(n * 4), "--cases", ",".join(wanted),
                                 "--leakscan", leakscan], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL) for _ in range(load)]
    loaders += [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(hogs)]
    try:
        cases = [
            ("alarm", "5 ms SIGALRM during the exit, killable wait", [prog("alarm_exit")], None, "--grace=100ms"),
            ("alarm-interruptible", "5 ms SIGALRM during the exit, interruptible wait (before 5.19)",
             [prog("alarm_exit")], interruptible, "--grace=100ms"),
            ("late-abort", "thread aborting 200 ms after main returns", [prog("late_abort")], None, None),
            ("promise", "static std::promise broken at exit, read 20 ms later", [prog("static_promise")], None, None),
        ]
        for key, label, argv, env, extra in cases:
            if key not in wanted:
                continue
            direct = tally(outcome(argv) for _ in range(n))
            opts = under + ([extra] if extra else [])
            supervised = tally(outcome(opts + argv, env=env) for _ in range(n))
            same = direct == supervised
            print(f"{label}: direct {direct}; under leakscan {supervised}; {'match' if same else 'DIFFER'}")
        for mode, want in (("create", "pthread_create 0\ndone\n"), ("exit", "")) if "kill" in wanted else ():
            runs = tally(killed_leakscan(leakscan, prog("outlive"), mode) for _ in range(n))
            print(f"kill -9 of leakscan ({mode}): {runs}; {'ok' if list(runs) == [want] else 'FAIL'}")
        if "kill" in wanted and ctypes.CDLL(None).prctl(36, 1, 0, 0, 0) == 0:      # PR_SET_CHILD_SUBREAPER
            runs = tally(killed_in_quarantine(leakscan, prog("late_abort")) for _ in range(n))
            print(f"kill -9 of leakscan with a thread held in quarantine: program status {runs}; "
                  f"{'ok' if list(runs) == [0] else 'FAIL'}")
    finally:
        for p in loaders:
            p.send_signal(signal.SIGTERM)
            p.wait()


if __name__ == "__main__":
    main()
