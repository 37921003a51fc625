"""Helpers shared by the integration tests: start a test target and wait
until it is ready, run leakscan, read /proc."""
import json
import os
import signal
import subprocess
import time


class Target:
    """A test target started in its own process group; killed on exit."""

    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("ready "):
            self.kill()
            raise RuntimeError(f"{argv[0]} did not start: {line!r}")
        self.pid = int(line.split()[1])

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


def tasks(pid):
    try:
        return sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
    except FileNotFoundError:
        return []


def task_stat(pid, tid):
    """(comm, state letter) of a thread."""
    with open(f"/proc/{pid}/task/{tid}/stat") as f:
        text = f.read()
    comm = text[text.index("(") + 1:text.rindex(")")]
    return comm, text[text.rindex(")") + 2]


def tracer_pid(pid, tid=None):
    """TracerPid of a process or thread; 0 for one that has exited meanwhile."""
    path = f"/proc/{pid}/status" if tid is None else f"/proc/{pid}/task/{tid}/status"
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("TracerPid:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def wait_settled(pid, names, timeout=10.0):
    """Waits until every thread whose name is in names sleeps (S or D), so that
    it has reached the wait the target set up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = {}
        for tid in tasks(pid):
            try:
                comm, st = task_stat(pid, tid)
            except (FileNotFoundError, ProcessLookupError):
                continue
            states.setdefault(comm, []).append(st)
        if all(n in states and all(s in "SDT" for s in states[n]) for n in names):
            return
        time.sleep(0.02)
    raise RuntimeError(f"threads {sorted(names)} of {pid} did not settle")


def run_leakscan(leakscan, args, timeout=60):
    """Runs leakscan; returns (exit status, stdout, stderr)."""
    p = subprocess.run([leakscan] + args, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def leakscan_json(leakscan, pid, extra=()):
    code, out, err = run_leakscan(leakscan, ["-p", str(pid), "--format=json"] + list(extra))
    if code not in (0, 1):
        raise RuntimeError(f"leakscan exited {code}: {err.strip()}")
    return code, json.loads(out)


class Checks:
    """Named checks of one test script: each prints "ok" or "FAIL" and a
    description; finish() prints the count and returns the exit status."""

    def __init__(self):
        self.failures = []

    def __call__(self, cond, what):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            self.failures.append(what)

    def finish(self):
        print(f"{len(self.failures)} failed")
        return 1 if self.failures else 0
