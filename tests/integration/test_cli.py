#!/usr/bin/env python3
"""The command line: usage errors, each "could not inspect" cause with its
message and exit status, and the options that shape the report.
Usage: test_cli.py LEAKSCAN MUTEX_TARGET TRACER_TARGET MANPAGE [POOL_TARGET]"""
import json
import os
import random
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from targetlib import Checks, Target, run_leakscan, wait_settled  # noqa: E402

check = Checks()


def expect(leakscan, args, code, *needles, label=None, **kw):
    got, out, err = run_leakscan(leakscan, args, **kw)
    text = out + err
    ok = got == code and all(n in text for n in needles)
    check(ok, f"{label or ' '.join(args)} -> exit {code} {needles}" + ("" if ok else f": got {got} {text.strip()[:300]!r}"))
    return out, err


def free_pid():
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def main():
    leakscan, mutex_exe, tracer_exe, manpage = sys.argv[1:5]

    # usage errors: exit 2, one line naming what is wrong
    expect(leakscan, [], 2, "no process given")
    expect(leakscan, ["-p", "abc"], 2, "invalid PID")
    expect(leakscan, ["--bogus"], 2, "--help")
    expect(leakscan, ["-p", "1", "--format=xml"], 2, "unknown format")
    expect(leakscan, ["-p", "1", "--min-blocked=soon"], 2, "invalid duration")
    expect(leakscan, ["-p", "1", "--unwinder=magic"], 2, "unknown unwinder 'magic': use one of libdw")
    expect(leakscan, ["--at-exit", "--unwinder=magic", "--", "true"], 2, "unknown unwinder",
           label="an unknown unwinder under --at-exit is a usage error too")
    expect(leakscan, ["true", "--at-exit"], 2, "options go before PROGRAM",
           label="leakscan PROGRAM --at-exit explains where options go")
    expect(leakscan, ["--at-exit", "--idle", "true"], 2, "--idle goes with -p")
    expect(leakscan, ["-p", "1", "extra"], 2, "unexpected argument")
    out, _ = expect(leakscan, ["--help"], 0, "--pid", "--min-blocked", "--format")
    with open(manpage) as f:
        man = f.read().replace("\\-", "-")
    undocumented = sorted(o for o in set(re.findall(r"--[a-z][a-z-]*", out)) if o not in man)
    check(not undocumented, f"every option in --help is in leakscan(1) (missing: {undocumented})")
    expect(leakscan, ["--version"], 0, "leakscan ")
    expect(leakscan, ["-V"], 0, "leakscan ")
    help_lines = out.splitlines()

    def heading_of(option):
        """The heading ("Output:") above the line that defines option."""
        heading = None
        for line in help_lines:
            if line and not line.startswith(" "):
                heading = line
            elif re.match(r"\s+(-\w, )?" + re.escape(option) + r"\b", line):
                return heading
        return None
    for option, heading in (("--idle", "Judging a running process"), ("--grace", "Running a program"),
                            ("--ignore-top", "Ignoring threads"), ("--format", "Output"),
                            ("--unwinder", "Unwinding"), ("--watch", "Judging a running process")):
        check((heading_of(option) or "").startswith(heading),
              f"--help lists {option} under {heading!r} (got {heading_of(option)!r})")

    # -o is checked before PROGRAM runs: a long test is not run for nothing
    marker = f"/tmp/leakscan-cli-ran-{os.getpid()}"
    expect(leakscan, ["--at-exit", "-o", "/nonexistent/dir/r.json", "--", "sh", "-c", f"touch {marker}"], 3,
           "cannot write the report to /nonexistent/dir/r.json")
    check(not os.path.exists(marker), "an unwritable -o FILE stops leakscan before PROGRAM runs")

    # installed setuid, leakscan refuses to run at all
    tmp = f"/tmp/leakscan-cli-suid-{os.getpid()}"
    os.makedirs(tmp, exist_ok=True)
    os.chmod(tmp, 0o755)
    suid = os.path.join(tmp, "leakscan")
    with open(leakscan, "rb") as src, open(suid, "wb") as dst:
        dst.write(src.read())
    os.chmod(suid, 0o4755)
    p = subprocess.run([suid, "--at-exit", "--", "head", "-c1", "/etc/shadow"], capture_output=True, text=True,
                       preexec_fn=lambda: (os.setgroups([]), os.setgid(65534), os.setuid(65534)))
    check(p.returncode == 3 and "refusing to run setuid" in p.stderr and not p.stdout,
          f"a setuid leakscan run by nobody refuses, reads nothing ({p.returncode} {p.stderr.strip()[:120]!r})")
    os.unlink(suid)
    os.rmdir(tmp)

    # could not inspect: exit 3, the cause and the remedy
    expect(leakscan, ["-p", str(free_pid())], 3, "no such process", label="a pid that is gone")
    zombie = subprocess.Popen(["true"])
    while True:
        with open(f"/proc/{zombie.pid}/stat") as f:
            if f.read().split(") ")[1][0] == "Z":
                break
    expect(leakscan, ["-p", str(zombie.pid)], 3, "zombie", label="a zombie")
    zombie.wait()
    expect(leakscan, ["-p", "2"], 3, "kernel thread", label="kthreadd")

    with Target([mutex_exe]) as t:
        wait_settled(t.pid, {"locker"})
        p = subprocess.run([leakscan, "-p", str(t.pid)], capture_output=True, text=True,
                           preexec_fn=lambda: (os.setgroups([]), os.setgid(65534), os.setuid(65534)))
        check(p.returncode == 3 and "permission denied" in p.stderr and "CAP_SYS_PTRACE" in p.stderr
              and "ptrace_scope" in p.stderr and p.stderr.count("\n") == 1,
              f"unprivileged -> exit 3, one line naming CAP_SYS_PTRACE and ptrace_scope ({p.returncode} {p.stderr.strip()!r})")

        # a thread that is not the main one: not the highest TID, which is
        # the PID itself once TIDs wrap past pid_max after it
        tid = next(int(x) for x in os.listdir(f"/proc/{t.pid}/task") if int(x) != t.pid)
        expect(leakscan, ["-p", str(tid)], 3, f"is a thread of process {t.pid}", f"use -p {t.pid}",
               label="a TID instead of a PID")

        # by default a live process's idle threads are not leaks: the
        # locker waits for a mutex that main, alive, holds
        out, _ = expect(leakscan, ["-p", str(t.pid), "--min-blocked=0"], 0, "no unexpected threads",
                        "1 thread idle in 1 group (--idle to list them)", label="an idle thread is no leak by default")
        # report shaping
        expect(leakscan, ["-p", str(t.pid), "--idle", "--min-blocked=0"], 1, "found 1 unexpected thread",
               "with wait_for_lock on top of the stack")
        expect(leakscan, ["-p", str(t.pid), "--idle", "--min-blocked=1h"], 0, "no unexpected threads",
               label="--min-blocked=1h hides a thread blocked for less")
        expect(leakscan, ["-p", str(t.pid), "--idle", "--min-blocked=0", "--error-exitcode=7"], 7, "found 1")
        out, _ = expect(leakscan, ["-p", str(t.pid), "--idle", "--min-blocked=0", "--all"], 1, "(main)", "Other threads")
        out, _ = expect(leakscan, ["-p", str(t.pid), "--idle", "--min-blocked=0", "--unwinder=fp", "--format=json"], 1)
        fp = json.loads(out)["processes"][0]["threads"]
        check(all(len(th["frames"]) >= 2 for th in fp), "--unwinder=fp walks past the first frame")
        path = f"/tmp/leakscan-cli-{os.getpid()}.json"
        expect(leakscan, ["-p", str(t.pid), "--idle", "--min-blocked=0", "--format=json", "-o", path], 1)
        with open(path) as f:
            check(json.load(f)["summary"]["leaked"] == 1, "-o FILE holds the JSON report")
        os.unlink(path)
        expect(leakscan, ["-p", str(t.pid), "-o", "/nonexistent/dir/report"], 3, "cannot write the report")
        expect(leakscan, ["-p", str(t.pid), "--idle", "--min-blocked=0", "--stack-window=512", "--format=json"], 1,
               label="a small stack window still reports")

    # already traced: the tracer target traces its own child
    tracer = subprocess.Popen([tracer_exe], stdout=subprocess.PIPE, start_new_session=True)
    try:
        child = int(tracer.stdout.readline().decode().split()[1])
        expect(leakscan, ["-p", str(child)], 3, f"already traced by process {tracer.pid} (tracer)",
               label="a process traced by another tracer")
    finally:
        os.killpg(tracer.pid, 9)
        tracer.wait()

    test_failure_messages(leakscan, tracer_exe, sys.argv[5] if len(sys.argv) > 5 else None)
    return check.finish()


def test_failure_messages(leakscan, tracer_exe, pool_exe):
    """Failures of -p say what happened, not "permission denied" while root."""
    # one non-main thread traced by another process: name the thread and the tracer
    tracer = subprocess.Popen([tracer_exe, "thread"], stdout=subprocess.PIPE, start_new_session=True)
    try:
        child = int(tracer.stdout.readline().decode().split()[1])
        traced = [t for t in os.listdir(f"/proc/{child}/task") if int(t) != child]
        expect(leakscan, ["-p", str(child)], 3,
               f"thread {traced[0] if traced else '?'} of process {child} is already traced by process {tracer.pid} (tracer)",
               label="a process whose second thread has another tracer")
    finally:
        os.killpg(tracer.pid, 9)
        tracer.wait()

    # leakscan's own pid
    p = subprocess.run(["sh", "-c", f"exec {leakscan} -p $$"], capture_output=True, text=True)
    check(p.returncode == 3 and "is leakscan itself" in p.stderr,
          f"-p naming leakscan itself -> exit 3, says so ({p.returncode} {p.stderr.strip()!r})")

    # the target exits at random points of the snapshot and of the analysis
    if not pool_exe:
        return
    rng = random.Random(11)
    outcomes = []
    for _ in range(40):
        t = Target([pool_exe])
        p = subprocess.Popen([leakscan, "-p", str(t.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
        time.sleep(rng.uniform(0, 0.05))
        t.kill()
        _, err = p.communicate()
        outcomes.append((p.returncode, err.strip()))
    bad = [o for o in outcomes if o[0] not in (0, 1) and
           not (o[0] == 3 and o[1].count("\n") == 0 and ("exited while leakscan was inspecting it" in o[1] or
                                                          "no such process" in o[1] or "is a zombie" in o[1]))]
    check(not bad, f"a target killed during -p: exit 3 says it exited, 40 runs ({bad[:3]})")


if __name__ == "__main__":
    sys.exit(main())
