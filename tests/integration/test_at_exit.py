#!/usr/bin/env python3
"""`leakscan --at-exit` end to end, on the programs of test-targets/at-exit:
grace period, a worker calling exit() while main joins it, status and signal
pass-through, forked children with and without --follow-forks, exec chains,
--timeout, signals delivered unchanged and forwarded, an exit_group undone
by a signal before it was received (glibc's fallback exit held), untouched
streams and environment, programs that cannot be started.
Usage: test_at_exit.py LEAKSCAN AT_EXIT_BUILD_DIR"""
import ctypes
import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from xml.etree import ElementTree

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from targetlib import Checks, validate_leakscan_json  # noqa: E402

check = Checks()


def run(leakscan, args, input=None, env=None, timeout=120):
    """Runs leakscan --at-exit with a JSON report; returns (status, report, stdout, stderr).
    timeout bounds a hang: a healthy run under ASan at load 30 took 13 s
    (ae-trap_spin), and one took over 30 s."""
    out = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
    try:
        p = subprocess.run([leakscan, "--at-exit", "--format=json", "-o", out] + args,
                           input=input, capture_output=True, text=True, timeout=timeout,
                           env=env, stdin=None if input is not None else subprocess.DEVNULL)
        try:
            with open(out) as f:
                report = json.load(f)
            validate_leakscan_json(report)      # raises: a broken document fails the test
        except (json.JSONDecodeError, FileNotFoundError):
            report = None
        return p.returncode, report, p.stdout, p.stderr
    finally:
        os.unlink(out)


def run_plain(cmd, timeout=60, **kw):
    """Runs cmd; returns (status, stdout, stderr), status "hang" when it did not end in time
    (a bound for a hang: a run on a loaded machine, under ASan, takes seconds)."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL, **kw)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return "hang", "", ""


def read_line(fd, timeout=60):
    """Reads one line from a raw fd, or what came before the timeout or EOF."""
    data = b""
    end = time.monotonic() + timeout
    while not data.endswith(b"\n"):
        if not select.select([fd], [], [], max(0, end - time.monotonic()))[0]:
            break
        chunk = os.read(fd, 1)
        if not chunk:
            break
        data += chunk
    return data.decode()


def read_to_eof(fd, timeout=60):
    """Reads until EOF (every writer gone); None when it did not come in time."""
    data = b""
    end = time.monotonic() + timeout
    while True:
        if not select.select([fd], [], [], max(0, end - time.monotonic()))[0]:
            return None
        chunk = os.read(fd, 4096)
        if not chunk:
            return data.decode()
        data += chunk


def leaked_threads(report):
    return [t for p in report["processes"] for t in p["threads"] if t["leaked"]]


def top_function(t):
    """The function of t's headline frame, or None when it has none (no
    frames: top_frame is null)."""
    i = t.get("top_frame")
    return t["frames"][i]["function"] if i is not None and i < len(t["frames"]) else None


def creator(t):
    frames = [f for f in (t["created_by"] or []) if not f["system"]]
    return (frames[0]["function"], os.path.basename(frames[0]["file"] or ""), frames[0]["line"]) if frames else None


def marker_line(path, mark):
    for n, text in enumerate(open(path), 1):
        if "@" + mark + " " in text:
            return n
    raise RuntimeError(f"no @{mark} in {path}")


def syscall_of(pid):
    """The number of the call thread pid is in (/proc/PID/syscall), or None."""
    try:
        with open(f"/proc/{pid}/syscall") as f:
            first = f.read().split()
        return int(first[0]) if first and first[0].lstrip("-").isdigit() else None
    except OSError:
        return None


def held_at_syscall(pid, name):
    """Whether the thread of process pid named name is held by the
    quarantine at a call it attempted: in a ptrace stop ('t'), outside any
    call (/proc/TID/syscall "-1 SP PC": the held call is skipped, orig_rax
    -1), its pc moved back onto a syscall instruction (0f 05) so that, let
    go, it calls exit_group (quarantine.c sv_q_hold).  A thread our
    interrupt stopped elsewhere in user space is not on a syscall
    instruction; one stopped at the entry of a call shows that call."""
    for tid in os.listdir(f"/proc/{pid}/task") if os.path.isdir(f"/proc/{pid}/task") else ():
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if f.read().strip() != name:
                    continue
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            with open(f"/proc/{pid}/task/{tid}/syscall") as f:
                fields = f.read().split()
            if state != "t" or len(fields) != 3 or fields[0] != "-1":
                return False
            with open(f"/proc/{pid}/mem", "rb") as f:
                f.seek(int(fields[2], 16))
                return f.read(2) == b"\x0f\x05"
        except (OSError, ValueError):
            return False
    return False


def wait_for(cond, timeout=60):
    """Polls cond until it is true; returns whether it became so in time."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.005)
    return False


def undone_exit(leakscan, path, env):
    """Runs test-targets/at-exit/undone_exit under leakscan, its exit_group
    undone by SIGUSR1 while leakscan is stopped; returns (leakscan's status
    or "hang", report, what went wrong or "")."""
    out = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
    p = subprocess.Popen([leakscan, "--at-exit", "--format=json", "-o", out, path], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, bufsize=0)
    child, why, stopped = None, "", False
    try:
        if read_line(p.stdout.fileno()) != "ready\n":
            return None, None, "not ready"
        with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
            kids = [int(k) for k in f.read().split()]
        for k in kids:
            try:
                if os.readlink(f"/proc/{k}/exe") == os.path.realpath(path):
                    child = k
            except OSError:
                pass
        if child is None:
            return None, None, "program not found"
        os.kill(p.pid, signal.SIGSTOP)
        stopped = True

        def all_stopped():
            try:
                tasks = os.listdir(f"/proc/{p.pid}/task")
                states = []
                for t in tasks:
                    with open(f"/proc/{p.pid}/task/{t}/stat") as f:
                        states.append(f.read().rsplit(")", 1)[1].split()[0])
                return all(s in "tT" for s in states)
            except OSError:
                return False
        if not wait_for(all_stopped):
            return None, None, "leakscan did not stop"
        p.stdin.write(b"go\n")
        if not wait_for(lambda: syscall_of(child) == 231):
            return None, None, f"never in exit_group ({syscall_of(child)})"
        os.kill(child, signal.SIGUSR1)
        if not wait_for(lambda: syscall_of(child) != 231):
            why = "exit_group not undone"
        os.kill(p.pid, signal.SIGCONT)
        stopped = False
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            return "hang", None, why or "the program did not end"
        try:
            with open(out) as f:
                report = json.load(f)
            validate_leakscan_json(report)
        except (json.JSONDecodeError, FileNotFoundError):
            report = None
        return p.returncode, report, why
    finally:
        if stopped:
            os.kill(p.pid, signal.SIGCONT)
        if p.poll() is None:
            p.kill()
            p.wait()
        if child is not None:
            try:
                os.kill(child, signal.SIGKILL)      # ours, if it outlived leakscan
            except ProcessLookupError:
                pass
        p.stdin.close()
        p.stdout.close()
        os.unlink(out)


def out_of_descriptors(leakscan, status_prog):
    """Runs `sh -c` under leakscan --at-exit --follow-forks with a JSON report
    on stderr: once the shell waits on stdin, leakscan's own descriptor
    limit is lowered to its lowest free descriptor (setrlimit by prlimit:
    the program, started before, keeps its own), and the shell runs
    status_prog (a leaked thread, status 0) and prints its status; the
    limit is then given back (the rest of the run, the report and a
    sanitizer's leak check at leakscan's end need descriptors) and the
    shell prints its own limit.  Returns (status, report, stdout, what went
    wrong or "")."""
    script = f'echo ready; read go; {status_prog} 0; echo status $?; read go; echo limit $(ulimit -n)'
    p = subprocess.Popen([leakscan, "--at-exit", "--follow-forks", "--format=json", "sh", "-c", script],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
    why, first = "", ""
    try:
        if read_line(p.stdout.fileno()) != "ready\n":
            why = "the shell never said ready"
        elif not wait_for(lambda: syscall_of(p.pid) == 7):
            why = "leakscan's loop never waited in poll"
        else:
            # leakscan is idle (its setup done, its loop in poll, the shell
            # in read): its descriptors are what it keeps; the next one it
            # opens fails with EMFILE
            fds = {int(n) for n in os.listdir(f"/proc/{p.pid}/fd")}
            lowest = next(n for n in range(len(fds) + 1) if n not in fds)
            limits = resource.prlimit(p.pid, resource.RLIMIT_NOFILE)
            resource.prlimit(p.pid, resource.RLIMIT_NOFILE, (lowest, limits[1]))
            p.stdin.write(b"go\n")
            # the shell has reaped its child: leakscan answered its exit
            first = read_line(p.stdout.fileno())
            resource.prlimit(p.pid, resource.RLIMIT_NOFILE, limits)
        out, err = p.communicate(b"go\n", timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        p.kill()
        out, err = p.communicate()
        why = why or repr(e)
    out, err = first + out.decode(errors="replace"), err.decode(errors="replace")
    try:
        report = json.loads(err[err.index("{"):])
        validate_leakscan_json(report)
    except ValueError:
        report = None
        why = why or f"no JSON report on stderr: {err[:300]!r}"
    return p.returncode, report, out, why


def main():
    leakscan, d = sys.argv[1], sys.argv[2]
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test-targets", "at-exit")
    prog = lambda name: os.path.join(d, "ae-" + name)

    # grace: a detached thread that finishes 150 ms after main returns
    code, rep, _, err = run(leakscan, [prog("grace")])
    check(code == 0 and rep["summary"]["leaked"] == 0 and err == "",
          f"a thread that ends during the grace period is no leak, and nothing is printed ({code}, {err!r})")
    code, rep, _, _ = run(leakscan, ["--grace=0", prog("grace")])
    check(code == 1 and rep["summary"]["leaked"] == 1, f"--grace=0 reports that same thread ({code})")

    # exit() from a worker while main joins it
    code, rep, _, _ = run(leakscan, [prog("worker_exits")])
    threads = rep["processes"][0]["threads"]
    exiting = [t for t in threads if t["exiting"]]
    check(code == 0 and rep["summary"]["leaked"] == 0 and len(exiting) == 1 and not exiting[0]["main"],
          f"a worker calling exit(): main, joining it, is no leak ({code}, {[(t['tid'], t['state'], t['leaked']) for t in threads]})")

    # a process whose only thread is the one in its exit: nothing of it can
    # be reported, so that thread is listed from /proc, neither copied nor
    # unwound (nearly all a judged process cost: docs/PERFORMANCE.md);
    # --all unwinds it as before
    sh = shutil.which("sh")
    for extra in ([], ["--all"]):
        code, rep, _, _ = run(leakscan, ["--follow-forks"] + extra + [sh, "-c", "/bin/true; exit 5"])
        procs = rep["processes"] if rep else []
        alone = [p["threads"][0] for p in procs if len(p["threads"]) == 1]
        unwound = [t for t in alone if any(f["function"] == "_exit" for f in t["frames"])]
        want = len(alone) if extra else 0
        check(code == 5 and len(procs) == 2 and len(alone) == 2 and len(unwound) == want
              and all(t["exiting"] and not t["leaked"] and t["syscall"] == "exit_group" and t["read"] == "held"
                      for t in alone)
              and all((t["unwind_note"] or "").startswith("the process's only thread") != bool(extra) for t in alone),
              f"a process's only thread, in its exit, is unwound only with --all ({extra}: {code}, "
              f"{[(t['tid'], len(t['frames']), t['unwind_note']) for t in alone]})")

    # statuses pass through; the report is still made
    code, rep, _, _ = run(leakscan, [prog("status"), "3"])
    check(code == 3 and rep["processes"][0]["exit"] == {"code": 3} and rep["summary"]["leaked"] == 1,
          f"exit status 3 passes through, with the leak reported ({code})")
    # its thread waited for the mutex since before the exit; the stop at the
    # exit woke it, so how long it had waited is unknown, never "0 ms"
    stuck = [t for t in rep["processes"][0]["threads"] if t["leaked"]]
    check(len(stuck) == 1 and stuck[0]["state"] == "mutex" and stuck[0]["blocked_ms"] is None,
          f"a wait the exit's stop interrupted has an unknown blocked time, not 0 "
          f"({[(t['state'], t['blocked_ms']) for t in stuck]})")
    for meson_status in (77, 99):
        code, _, _, _ = run(leakscan, [prog("status"), str(meson_status)])
        check(code == meson_status, f"meson's {meson_status} passes through ({code})")
    code, rep, _, _ = run(leakscan, [prog("status"), str(-signal.SIGABRT)])
    p = rep["processes"][0]
    check(code == 128 + signal.SIGABRT and p["exit"] == {"signal": signal.SIGABRT} and not p["inspected"]
          and p["exe"].endswith("ae-status"),
          f"killed by SIGABRT -> {128 + signal.SIGABRT}, reported as such ({code}, {p['exit']})")
    code, _, _, err = run(leakscan, ["--error-exitcode=42", prog("status"), "0"])
    check(code == 42, f"--error-exitcode applies at exit ({code})")

    # forked children
    code, rep, _, _ = run(leakscan, [prog("fork_leak")])
    check(code == 0 and len(rep["processes"]) == 1 and rep["summary"]["leaked"] == 0,
          f"without --follow-forks a child's leak is not judged ({code})")
    code, rep, _, _ = run(leakscan, ["--follow-forks", prog("fork_leak")])
    procs = {p["pid"]: p for p in rep["processes"]}
    leaks = leaked_threads(rep)
    line = marker_line(os.path.join(src, "fork_leak.c"), "child-spawn")
    check(code == 1 and len(procs) == 2 and len(leaks) == 1
          and creator(leaks[0]) == ("start_child_worker", "fork_leak.c", line)
          and sum(1 for p in rep["processes"] if any(t["leaked"] for t in p["threads"])) == 1,
          f"--follow-forks: the child's leak, in its own process, created at fork_leak.c:{line} "
          f"({code}, {len(procs)} processes, {[creator(t) for t in leaks]})")

    # a parent that reaps as GLib's child watch does (poll the pidfd, then
    # waitid WNOHANG) must find each child reapable the moment its pidfd is
    # readable, as directly: a zombie still traced by leakscan is visible to
    # leakscan only, and GLib then read status 0 for an _exit(1) (issue 16).
    # 10 runs of 40 children, half ending from main, half from a thread; the
    # race showed in about 2 runs of 3 before the fix
    code, out, _ = run_plain([prog("pidfd_reap"), "40"])
    check(code == 0 and " 0 (exit from main) 0 (from a thread), wrong status 0" in out,
          f"pidfd_reap directly: every child reapable when its pidfd is readable ({code}, {out.strip()})")
    for attempt in range(10):
        code, rep, out, _ = run(leakscan, ["--follow-forks", prog("pidfd_reap"), "40"])
        procs = rep["processes"] if rep else []
        children = [p for p in procs if p["exit"] == {"code": 1}]
        ok = (code in (0, 1) and " 0 (exit from main) 0 (from a thread), wrong status 0" in out
              and len(procs) == 41 and len(children) == 40)
        if not ok:
            break
    check(ok, f"--follow-forks: a parent polling its children's pidfds finds each reapable at once, "
              f"with status 1, as directly (run {attempt + 1}: {code}, {out.strip()}, "
              f"{len(children)} children judged of {len(procs)} processes; the others: "
              f"{[(q['pid'], q.get('exit'), q.get('inspect_error')) for q in procs if q['exit'] != {'code': 1}]})")

    # a pid given again within one run (32,768 pids go fast beside a
    # thread churn): a process that ends with the pid of one judged before
    # is judged as itself, not taken for a second exit_group of the first
    code, rep, out, _ = run(leakscan, ["--follow-forks", prog("pid_reuse")])
    if code == 77:
        print(f"skip: clone3 refuses set_tid here ({out.strip()})")
    else:
        reused = int(out.split()[1]) if out.startswith("reused ") else None
        exits = sorted(p["exit"].get("code", -1) for p in (rep["processes"] if rep else []) if p["pid"] == reused)
        check(code == 0 and exits == [1, 2],
              f"--follow-forks: two processes with one pid, each judged as itself ({code}, {out.strip()}, {exits})")
        # a thread of the second process that has the pid and tid of the
        # first one's exit_group ends by itself (its main thread's
        # pthread_exit): that is not a retry of the first one's exit, and
        # the second ends as it does directly (status 2, not the first's 1)
        code, out, _ = run_plain([prog("pid_reuse"), "main-exit"])
        direct = out.split()[-1] if out.startswith("reused ") else None
        code, rep, out, _ = run(leakscan, ["--follow-forks", prog("pid_reuse"), "main-exit"])
        check(direct == "2" and code == 0 and out.startswith("reused ") and out.split()[-1] == direct,
              f"--follow-forks: a later process's thread end is its own, not an earlier exit_group's retry "
              f"({code}, {out.strip()}, directly {direct})")
        # what was learned of the first (no interpreter) is not used for
        # the second: a Python program, whose creator stack names the
        # Python function that started its leaked thread
        # (also when the first was killed, so never judged)
        for mode in ("python", "python-killed"):
            code, rep, out, _ = run(leakscan, ["--follow-forks", prog("pid_reuse"), mode, sys.executable])
            reused = int(out.split()[1]) if out.startswith("reused ") else None
            python = [p for p in (rep["processes"] if rep else []) if p["pid"] == reused and p["exit"] == {"code": 0}]
            created = [(f["function"], f.get("language")) for p in python for t in p["threads"] if t["leaked"]
                       for f in t["created_by"] or []]
            check(code == 1 and len(python) == 1 and ("leaky_starter", "python") in created,
                  f"--follow-forks, {mode}: a reused pid's Python program gets Python creator frames ({code}, "
                  f"{out.strip()}, {created[:12]})")
        # a process that made a thread and then execs Python (its pid
        # kept) is read as the Python program it became
        code, rep, out, _ = run(leakscan, [prog("pid_reuse"), "exec-python", sys.executable])
        created = [(f["function"], f.get("language")) for p in (rep["processes"] if rep else [])
                   for t in p["threads"] if t["leaked"] for f in t["created_by"] or []]
        check(code == 1 and ("leaky_starter", "python") in created,
              f"a program that made a thread, then exec'd Python: Python creator frames ({code}, {created[:12]})")
        # processes killed after making a thread (no exit_group: never
        # judged) are forgotten too: what leakscan keeps (a descriptor per
        # process among it) does not grow with them along a suite
        exe = prog("pid_reuse")
        script = (f"i=0; while [ $i -lt 100 ]; do {exe} thread-killed; i=$((i+1)); done; {exe} thread; "
                  "ls /proc/$PPID/fd | wc -l")
        code, rep, out, _ = run(leakscan, ["--follow-forks", "sh", "-c", script])
        fds = int(out.split()[-1]) if out.split() and out.split()[-1].isdigit() else None
        check(code == 0 and fds is not None and fds < 50,
              f"--follow-forks: 100 killed processes with threads leave leakscan no descriptors ({code}, "
              f"{fds} open at the end)")
        # and with -o FILE-%p.json they share the file their pid names,
        # rather than the later one truncating the earlier one's
        with tempfile.TemporaryDirectory() as outdir:
            code, out, _ = run_plain([leakscan, "--at-exit", "--follow-forks", "--format=json", "-o",
                                      os.path.join(outdir, "r-%p.json"), prog("pid_reuse")], timeout=120)
            reused = int(out.split()[1]) if out.startswith("reused ") else None
            try:
                with open(os.path.join(outdir, f"r-{reused}.json")) as f:
                    doc = json.load(f)
                exits = sorted(q["exit"].get("code", -1) for q in doc["processes"] if q["pid"] == reused)
            except (OSError, ValueError):
                exits = None
            check(code == 0 and exits == [1, 2],
                  f"-o FILE-%p with a reused pid: both processes in its file ({code}, {out.strip()}, "
                  f"{sorted(os.listdir(outdir))}, {exits})")
            # in one document, prometheus keeps one set of series per pid
            # (a repeated series is invalid), dot one cluster per process,
            # junit one test suite per process, each named apart
            docs = {}
            for fmt in ("prometheus", "dot", "junit"):
                code, out, _ = run_plain([leakscan, "--at-exit", "--follow-forks", f"--format={fmt}", "-o",
                                          os.path.join(outdir, fmt), prog("pid_reuse")], timeout=120)
                reused = out.split()[1] if out.startswith("reused ") else None
                with open(os.path.join(outdir, fmt)) as f:
                    docs[fmt] = (reused, f.read().splitlines())
            reused, lines = docs["prometheus"]
            series = [line for line in lines if line and not line.startswith("#")]
            repeated = sorted({line for line in series if series.count(line) > 1})
            check(reused and any(f'pid="{reused}"' in line for line in series) and not repeated,
                  f"--format=prometheus with a reused pid: no series repeated ({reused}, {repeated[:3]})")
            reused, lines = docs["dot"]
            clusters = [line.split()[1] for line in lines if line.strip().startswith("subgraph cluster_")]
            check(reused and f"cluster_{reused}" in clusters and f"cluster_{reused}_2" in clusters
                  and len(set(clusters)) == len(clusters),
                  f"--format=dot with a reused pid: a cluster per process ({reused}, {clusters})")
            reused, lines = docs["junit"]
            try:
                root = ElementTree.fromstring("\n".join(lines))
            except ElementTree.ParseError:
                root = None
            suites = [e.get("name") for e in root.iter("testsuite")] if root is not None else []
            cases = [(e.get("classname"), e.get("name")) for e in root.iter("testcase")] if root is not None else []
            check(reused and any(f"(pid {reused})" in n for n in suites) and any(f"(pid {reused} #2)" in n for n in suites)
                  and len(set(suites)) == len(suites) and len(set(cases)) == len(cases),
                  f"--format=junit with a reused pid: test suites and cases named apart ({reused}, {suites}, {cases})")

    # -o FILE-%p.json with --follow-forks: one document per judged process,
    # each in the file its PID names (issue 16 item 6)
    with tempfile.TemporaryDirectory() as outdir:
        p = subprocess.run([leakscan, "--at-exit", "--follow-forks", "--format=json", "-o",
                            os.path.join(outdir, "r-%p.json"), prog("fork_leak")],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        docs = {}
        for name in sorted(os.listdir(outdir)):
            with open(os.path.join(outdir, name)) as f:
                docs[name] = json.load(f)
        check(p.returncode == 1 and len(docs) == 2
              and all([q["pid"] for q in doc["processes"]] == [int(name[2:-5])] for name, doc in docs.items())
              and sum(doc["summary"]["leaked"] for doc in docs.values()) == 1,
              f"-o FILE-%p with --follow-forks: one file per judged process, named by its PID "
              f"({p.returncode}, {sorted(docs)})")

    # leakscan out of descriptors (its own RLIMIT_NOFILE lowered once the
    # program runs, the program's left as it was): the exit of a process it
    # cannot tell the pid of (its /proc/TID/status cannot be opened) is let
    # go as directly, and said in the report with exit status 3, never left
    # out silently with status 0
    code, rep, out, why = out_of_descriptors(leakscan, prog("status"))
    procs = rep["processes"] if rep else []
    unjudged = [q for q in procs if (q["exe"] or "").endswith("ae-status")]
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    check(code == 3 and out.split() == ["status", "0", "limit", str(soft)] and len(unjudged) == 1
          and not unjudged[0]["inspected"] and unjudged[0]["exit"] == {"code": 0}
          and "Too many open files" in (unjudged[0]["inspect_error"] or "")
          and "could not tell which process" in unjudged[0]["inspect_error"],
          f"--follow-forks, leakscan out of descriptors: a child's exit goes on as directly and the report "
          f"says it could not be judged, exit 3 ({code}, {out.split()}, {why}, "
          f"{[(q['pid'], q['exe'], q['exit'], q['inspect_error']) for q in procs]})")

    # --timeout with --follow-forks must never kill a reused PID (issue 17):
    # in a PID namespace of its own, the main process's number is handed to
    # a sleeper once the main process is reaped, while a child's exit is
    # still held; the timeout then strikes
    inner = r"""
import os, signal, subprocess, sys, time
ls, prog = sys.argv[1], sys.argv[2]
p = subprocess.Popen([ls, "--at-exit", "--follow-forks", "--timeout=3s", "--grace=8s", "-o", os.devnull,
                      prog, "forkhold"], stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
main = int(p.stdout.readline().split()[1])
while True:     # reaped: its /proc entry is gone
    try:
        with open(f"/proc/{main}/stat") as f:
            f.read()
    except FileNotFoundError:
        break
    time.sleep(0.01)
with open("/proc/sys/kernel/ns_last_pid", "w") as f:
    f.write(str(main - 1))
sleeper = subprocess.Popen(["sleep", "60"])
if sleeper.pid != main:
    print("skip: pid", sleeper.pid, "not", main)
    sys.exit(0)
p.wait(timeout=60)
alive = sleeper.poll() is None
sleeper.kill()
print("alive" if alive else "killed", p.returncode)
"""
    try:
        ns = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c", inner,
                             leakscan, prog("after_exit")], capture_output=True, text=True, timeout=90)
        got = ns.stdout.strip() if ns.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired):
        got = None
    if got is None or got.startswith("skip"):
        print(f"skip --timeout and a reused PID: no PID namespace here ({got})")
    else:
        check(got == "alive 124", f"--timeout with --follow-forks: a process reusing the main PID survives ({got})")

    # exec chains
    line = marker_line(os.path.join(src, "leaker.c"), "reader-spawn")
    code, rep, _, _ = run(leakscan, [prog("exec_chain.sh")])
    leaks = leaked_threads(rep)
    check(code == 1 and len(leaks) == 1 and leaks[0]["state"] == "pipe-read"
          and rep["processes"][0]["exe"].endswith("ae-leaker")
          and creator(leaks[0]) == ("start_reader", "leaker.c", line),
          f"a script that execs a leaking program: the leak, in the exec'd program ({code})")
    code, rep, out, _ = run(leakscan, [prog("fork_chain.sh")])
    check(code == 0 and out == "child done\n", f"a script that runs it as a child: not judged without --follow-forks ({code})")
    code, rep, _, _ = run(leakscan, ["--follow-forks", prog("fork_chain.sh")])
    leaks = leaked_threads(rep)
    check(code == 1 and len(leaks) == 1 and creator(leaks[0]) == ("start_reader", "leaker.c", line),
          f"...and judged with --follow-forks ({code})")

    # a hang: --timeout=1s ends it (seconds on a loaded machine under
    # ASan; a --timeout not applied would take run()'s whole bound)
    t0 = time.monotonic()
    code, rep, _, _ = run(leakscan, ["--timeout=1s", prog("hang")])
    took = time.monotonic() - t0
    threads = rep["processes"][0]["threads"] if rep else []
    check(code == 124 and rep["mode"] == "timeout" and len(threads) == 2
          and all(t["leaked"] for t in threads) and took < 60,
          f"--timeout: every thread reported, the main one too, exit 124 ({code}, {took:.1f}s)")

    # signals: delivered unchanged, and forwarded
    plain = subprocess.run([prog("signals")], capture_output=True, text=True, timeout=60).stdout
    code, _, out, _ = run(leakscan, [prog("signals")])
    check(code == 0 and out == plain == "rt 200 usr1 1\n",
          f"signals the program receives are counted as without leakscan ({out!r} vs {plain!r})")
    out_file = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
    p = subprocess.Popen([leakscan, "--at-exit", "-o", out_file, prog("signals"), "--wait-term"],
                         stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    first = p.stdout.readline()
    p.send_signal(signal.SIGTERM)
    rest, _ = p.communicate(timeout=60)
    os.unlink(out_file)
    check(first == "waiting\n" and rest == "term\n" and p.returncode == 0,
          f"SIGTERM sent to leakscan reaches the program ({first!r} {rest!r} {p.returncode})")

    # streams and environment untouched
    env = dict(os.environ, LEAKSCAN_TEST_VAR="kept", DEBUGINFOD_URLS="http://127.0.0.1:9/")
    code, _, out, err = run(leakscan, [prog("echo_stdin")], input="line one\nline two\n", env=env)
    check(code == 0 and out == "line one\nline two\n" and err == "var=kept\n",
          f"stdin, stdout, stderr and the environment are the program's ({out!r}, {err!r})")

    # a held exit survives signals (issue 12 item 1): 5 ms SIGALRMs without
    # SA_RESTART through the whole grace period; killable wait, and the
    # interruptible one of kernels before 5.19
    for extra, label in (({}, "killable wait"),
                         ({"LEAKSCAN_TEST_INTERRUPTIBLE_EXIT": "1"}, "interruptible wait")):
        for grace in ("--grace=100ms", "--grace=0"):
            outcomes = {}
            for _ in range(20 if grace != "--grace=0" else 10):
                try:
                    code, rep, out, _ = run(leakscan, [grace, prog("alarm_exit")], env=dict(os.environ, **extra))
                    key = (code, out, rep["summary"]["leaked"] if rep else None)
                except subprocess.TimeoutExpired:
                    key = "hang"
                outcomes[key] = outcomes.get(key, 0) + 1
            # The killable wait: every run.  The interruptible one (kernels
            # before 5.19) is exposed until the loop has parked the exiting
            # thread, not just until it received the exit: a signal then,
            # and another during glibc's fallback exit, and _exit's hlt
            # kills the program (SIGSEGV, 139); docs/RELIABILITY.md measures
            # it.  There the check is that it stays rare, and that nothing
            # else ever happens.
            runs = sum(outcomes.values())
            ok = outcomes.get((1, "bye\n", 1), 0)
            allowed = {(1, "bye\n", 1)} if not extra else {(1, "bye\n", 1), (139, "bye\n", 0)}
            check(set(outcomes) <= allowed and ok * 10 >= runs * 9,
                  f"signals during a held exit ({label}, {grace}): the program ends with its own status and "
                  f"output ({ok} of {runs}; {outcomes})")

    # an exit_group undone by a signal before leakscan received it: glibc's
    # _exit falls back to exit(0), which must be held like the exit_group
    # (the filter lets a thread's exit(0) through unasked only where libc
    # ends a thread, never in _exit).  leakscan is stopped so that the
    # exit_group waits unreceived; each step waits for its condition.
    for extra, label in (({}, "thread ends let through"), ({"LEAKSCAN_THREAD_EXIT": "hold"}, "every exit held")):
        code, rep, why = undone_exit(leakscan, prog("undone_exit"), dict(os.environ, **extra))
        leaks = leaked_threads(rep) if rep else []
        check(code == 1 and rep is not None and rep["processes"][0].get("exit") == {"code": 0} and len(leaks) == 1
              and not leaks[0]["main"],
              f"an exit_group undone by a signal before it was received ({label}): the fallback exit is held, "
              f"the sleeper reported, status 0 ({code}, {why}, {[(t['tid'], t['leaked']) for t in leaks]})")

    # leakscan killed while it starts the program, at its receipt of the
    # listener (strace's fault injection): the child, which shares
    # leakscan's memory until its exec, must hold none of leakscan's ends
    # of their socket and pipe, or it waits for itself for ever (the
    # listener kept open in flight, its read of leakscan's answer never
    # ending); it ends.  Found by review, not by a run
    token = f"start-killed-{os.getpid()}"
    code, _, _ = run_plain([shutil.which("strace"), "-o", "/dev/null", "-e", "trace=recvmsg",
                            "-e", "inject=recvmsg:signal=SIGKILL:when=1", leakscan, "--at-exit", sh, "-c", "exit 0",
                            token])
    def with_token():
        found = []
        for pid in os.listdir("/proc"):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if token.encode() in f.read():
                        found.append(pid)
            except OSError:
                pass
        return found
    # strace ends as its tracee did: killed by SIGKILL (or says 137)
    check(code in (-signal.SIGKILL, 128 + signal.SIGKILL) and wait_for(lambda: not with_token(), timeout=60),
          f"leakscan killed as it receives the listener: its child ends ({code}, left: {with_token()})")

    # leakscan killed (issue 12 item 2): the guardian answers in its place
    # ("create": the program creates its thread once told, after the
    # kill; "exit": the kill comes once its exit_group is held)
    for mode, want in (("create", "pthread_create 0\ndone\n"), ("exit", "")):
        p = subprocess.Popen([leakscan, "--at-exit", "--grace=5s", prog("outlive"), mode], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, stdin=subprocess.PIPE, bufsize=0)
        fd = p.stdout.fileno()
        first = read_line(fd)
        pid = int(first.split()[1]) if first.startswith(("ready ", "exiting ")) else None
        if mode == "exit" and pid:
            wait_for(lambda: syscall_of(pid) == 231, timeout=60)
        p.kill()
        p.wait()
        try:
            p.stdin.write(b"go\n")
            p.stdin.close()
        except BrokenPipeError:
            pass
        rest = read_to_eof(fd, timeout=60)
        p.stdout.close()
        check(pid and first.split()[0] == ("ready" if mode == "create" else "exiting") and rest == want,
              f"kill -9 of leakscan ({mode}): the program runs on as without it and ends ({first!r} {rest!r})")

    # failures while judging never replace the program's result (issue 12
    # item 3, issue 8), and threads run on after static destructors only in
    # quarantine (item 2): a thread that aborts 200 ms after main returns
    # never aborts; it is reported with the call it attempted (a grace far
    # longer than its nap: it ends once the abort is held)
    direct = {run_plain([prog("late_abort")])[0] for _ in range(3)}
    outcomes = {}
    for _ in range(20):
        code, rep, _, err = run(leakscan, ["--grace=10s", prog("late_abort")])
        procs = rep["processes"] if rep else []
        leaks = leaked_threads(rep) if rep else []
        top = top_function(leaks[0]) if len(leaks) == 1 else None
        ok = (code == 1 and "cannot" not in err and len(procs) == 1 and procs[0]["exit"] == {"code": 0}
              and procs[0]["inspected"] and len(leaks) == 1 and top == "abort_later"
              and (leaks[0].get("held_call") or "").startswith("tgkill(")
              and leaks[0]["held_call"].endswith(f", {int(signal.SIGABRT)})"))
        key = "ok" if ok else (code, err.strip()[:80], str(procs[0]["exit"]) if procs else None,
                               str([t.get("held_call") for t in leaks]))
        outcomes[key] = outcomes.get(key, 0) + 1
    check(direct == {0} and list(outcomes) == ["ok"],
          f"a thread aborting 200 ms after main returns: status 0 as directly ({direct}), the thread reported "
          f"with its tgkill held, never made ({outcomes})")

    # a thread runnable but not scheduled at the trap (a loaded machine,
    # made certain here: SCHED_IDLE on CPU 0 beside a hog) stops late: it is
    # waited for and reported with its own stack, never "running" with no
    # frames (the trap waited 50 ms, then read /proc, which shows no
    # registers for a thread on a run queue)
    outcomes = {}
    for _ in range(3):
        code, rep, _, err = run(leakscan, [prog("trap_spin")])
        leaks = leaked_threads(rep) if rep else []
        key = (code, rep["processes"][0]["exit"] == {"code": 0} if rep else None,
               str([(t["state"], top_function(t), t.get("unwind_note")) for t in leaks]))
        outcomes[key] = outcomes.get(key, 0) + 1
    check(list(outcomes) == [(1, True, str([("running", "spin", None)]))],
          f"a thread not scheduled at the trap: waited for, reported running in spin() ({outcomes})")

    # a ticker printing every 10 ms prints nothing once the exit began
    direct = [run_plain([prog("ticker")])[1].splitlines() for _ in range(3)]
    most = max(len(lines) for lines in direct)
    outcomes = {}
    for _ in range(10):
        code, rep, out, _ = run(leakscan, [prog("ticker")])
        lines = out.splitlines()
        after = len(lines) - 1 - lines.index("exit handlers ran") if "exit handlers ran" in lines else None
        leaks = leaked_threads(rep) if rep else []
        ok = (code == 1 and after is not None and after <= 1 and len(lines) <= most + 1 and len(leaks) == 1
              and (leaks[0].get("held_call") or "").startswith("write(1, "))
        key = "ok" if ok else (code, len(lines), after, str([t.get("held_call") for t in leaks]))
        outcomes[key] = outcomes.get(key, 0) + 1
    # Known residual under heavy load: ticks printed between the exit
    # handler's line and the moment leakscan stops the threads, as directly
    # between that line and the exit (see docs/RELIABILITY.md)
    check(outcomes.get("ok", 0) >= 9,
          f"a ticker: no line after the program's last one (directly at most {most} lines), the ticker "
          f"reported with its write held ({outcomes})")

    # a detached thread waiting on a static std::promise: no "Broken promise"
    if os.path.exists(prog("static_promise")):
        direct = {run_plain([prog("static_promise")])[0] for _ in range(3)}
        outcomes = {}
        for _ in range(10):
            code, rep, _, err = run(leakscan, [prog("static_promise")])
            leaks = leaked_threads(rep) if rep else []
            # reported as it stood when the exit began (woken from its
            # wait, or napping), the write std::terminate tried only a note
            ok = (code == 1 and "Broken promise" not in err and rep["processes"][0]["exit"] == {"code": 0}
                  and len(leaks) == 1 and (leaks[0].get("held_call") or "").startswith("write(2, ")
                  and leaks[0]["state"] in ("futex", "sleep", "running"))
            key = "ok" if ok else (code, err.strip()[-60:], str([(t["state"], t.get("held_call")) for t in leaks]))
            outcomes[key] = outcomes.get(key, 0) + 1
        check(direct == {0} and list(outcomes) == ["ok"],
              f"a static std::promise broken at exit: status 0 as directly ({direct}), no \"Broken promise\", "
              f"the waiter's message held ({outcomes})")

    # issue 16 item 3: nothing runs after the exit began that the direct run
    # would not let run; each program ends as it does directly, every time,
    # with the thread reported as it stood when the exit began
    after = [  # mode, thread name, expected state(s), held note prefix
        ("condvar", "cvwaiter", None, "SIGSEGV at "),
        ("semaphore", "semwaiter", None, "SIGSEGV at "),
        ("futex", "fxwaiter", ("futex",), None),
        ("epoll", "epwaiter", ("poll",), None),
        ("ualarm", "napper", None, "SIGALRM at "),
        ("sender", "sender", ("pipe-write",), None),
        ("waiters", "cvforever", ("condvar",), None),
    ]
    for mode, name, states, note in after:
        direct = {run_plain([prog("after_exit"), mode])[0] for _ in range(3)}
        outcomes = {}
        for _ in range(10):
            # a grace far longer than the waiters' 200 ms nap (it ends as
            # soon as every thread is held or asleep)
            code, rep, _, err = run(leakscan, ["--grace=10s", prog("after_exit"), mode])
            procs = rep["processes"] if rep else []
            leaks = [t for t in leaked_threads(rep) if t["name"] == name] if rep else []
            want = len(direct) == 1 and next(iter(direct))
            ok = (len(procs) == 1 and procs[0]["exit"] == {"code": want} and procs[0]["inspected"]
                  and code == (want or 1) and leaks
                  and all((states is None or t["state"] in states)
                          and ((t.get("held_call") or "").startswith(note) if note else not t.get("held_call"))
                          for t in leaks))
            key = "ok" if ok else (code, str(procs[0]["exit"]) if procs else None,
                                   str([(t["state"], t.get("held_call")) for t in leaks]), err.strip()[-80:])
            outcomes[key] = outcomes.get(key, 0) + 1
        check(len(direct) == 1 and list(outcomes) == ["ok"],
              f"after_exit {mode}: ends as directly ({direct}), {name} reported as at the exit's start "
              f"({outcomes})")

    # issue 16 item 6: the grace waits only for threads that could be
    # reported.  A napping thread a rule ignores: a 600 s grace is not
    # spent (the run would outlast the 120 s limit, far beyond a healthy
    # run's seconds on a loaded machine); not ignored, it is reported
    try:
        code, rep, _, err = run(leakscan, ["--grace=600s", "--ignore-name=napper", prog("after_exit"), "napper"],
                                timeout=120)
    except subprocess.TimeoutExpired:
        code, rep, err = "still running after 120 s", None, ""
    threads = rep["processes"][0]["threads"] if rep else []
    check(code == 0 and [t["name"] for t in threads if t.get("ignored_by")] == ["napper"]
          and not leaked_threads(rep or {"processes": []}),
          f"an ignored thread in a timed wait: the grace is not waited for it ({code}, {err.strip()[-80:]})")
    code, rep, _, _ = run(leakscan, ["--grace=100ms", prog("after_exit"), "napper"])
    check(code == 1 and [t["name"] for t in leaked_threads(rep)] == ["napper"],
          f"...and, not ignored, it is waited for and reported ({code})")

    # a thread in a timed wait at the exit finishes within the grace with
    # quiet calls only: no leak; one asleep in an indefinite wait stays
    # asleep (issue 16 item 3), however soon the other would wake it
    outcomes = {}
    for _ in range(5):
        # (a grace far longer than the counter's 5 naps of 10 ms: the
        # default 500 ms ran out before it ended, beside other sessions'
        # builds at a load of 20, 1 run in 5; it ends when the counter does)
        code, rep, out, err = run(leakscan, ["--grace=10s", prog("quiet")])
        p = rep["processes"][0] if rep else {}
        leaks = leaked_threads(rep) if rep else []
        key = (code, str([(t["state"], t.get("held_call")) for t in leaks]), p.get("exit_stop_us") is not None, err)
        outcomes[key] = outcomes.get(key, 0) + 1
    check(list(outcomes) == [(1, str([("condvar", None)]), True, "")],
          f"a thread that ends quietly within the grace is no leak; one asleep at the exit stays asleep and "
          f"is reported in its wait ({outcomes})")

    # --grace=0: stopped, judged, released at once
    code, rep, _, _ = run(leakscan, ["--grace=0", prog("late_abort")])
    leaks = leaked_threads(rep) if rep else []
    check(code == 1 and rep is not None and rep["processes"][0]["exit"] == {"code": 0} and len(leaks) == 1
          and leaks[0].get("held_call") is None,
          f"--grace=0: the thread reported as it stood, the program's status ({code})")

    # kill -9 of leakscan while a thread is held in quarantine: the held
    # abort is never made, the program ends with its own status (we are its
    # subreaper once leakscan is gone)
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0:
        outcomes = {}
        for _ in range(5):
            p = subprocess.Popen([leakscan, "--at-exit", "--grace=5s", "-o", os.devnull, prog("late_abort"), "linger"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, bufsize=0)
            fd = p.stdout.fileno()
            first = read_line(fd)
            # main returned and the abort is held (a fixed 0.3 s came
            # before the hold under load, 1 run in 5: the abort then ran)
            held = first.startswith("pid ") and wait_for(lambda: held_at_syscall(int(first.split()[1]), "aborter"),
                                                          timeout=60)
            p.kill()
            p.wait()
            rest = read_to_eof(fd)
            p.stdout.close()
            status = None
            if first.startswith("pid ") and rest is not None:
                pid = int(first.split()[1])
                try:
                    _, st = os.waitpid(pid, 0)
                    status = os.waitstatus_to_exitcode(st)
                except ChildProcessError:
                    status = "not ours"
            key = (status, rest) if held else ("abort never seen held", status, rest)
            outcomes[key] = outcomes.get(key, 0) + 1
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
        while True:     # the guardians, reparented to us
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        check(list(outcomes) == [(0, "")],
              f"kill -9 of leakscan while a thread is held: the program ends with its own status 0 ({outcomes})")
    # a traced child cannot be seized
    code, rep, out, err = run(leakscan, ["--follow-forks", prog("trace_child")])
    child = [p for p in rep["processes"] if not p["inspected"]] if rep else []
    check(code == 0 and out == "child 0\n" and "cannot" not in err and len(rep["processes"]) == 2
          and len(child) == 1 and "traced" in (child[0].get("inspect_error") or ""),
          f"--follow-forks, a child traced by its parent: the program's status, the child not inspected "
          f"({code}, {out!r}, {err.strip()[:100]!r})")
    # non-dumpable, as a user without CAP_SYS_PTRACE
    as_user = {"user": 65534, "group": 65534, "extra_groups": []} if os.geteuid() == 0 else {}
    code, out, err = run_plain([leakscan, "--at-exit", "--format=json", prog("dumpable")], **as_user)
    try:
        procs = json.loads(err)["processes"]
    except json.JSONDecodeError:
        procs = []
    check(code == 0 and len(procs) == 1 and not procs[0]["inspected"]
          and "PR_SET_DUMPABLE" in (procs[0].get("inspect_error") or ""),
          f"a non-dumpable program run by a user: its status, reported as not inspected ({code}, {err[:100]!r})")
    # the filter cannot be installed: not "cannot run"
    code, _, err = run_plain([prog("deny_seccomp"), leakscan, "--at-exit", prog("status"), "0"])
    check(code == 3 and "installing the seccomp filter failed" in err and "cannot run" not in err,
          f"seccomp unavailable: said so, exit 3 ({code}, {err.strip()!r})")

    # signals (issue 12 items 5, 6): one sent to the process group reaches
    # the program once, from the sender, and leakscan does not pass it on;
    # one sent to leakscan is passed on (the program's parent sends it)
    for how, runs, want in (("group", 5, "term 1, from the parent 0\n"), ("leakscan", 2, "term 1, from the parent 1\n")):
        outcomes = {}
        for _ in range(runs):
            p = subprocess.Popen([leakscan, "--at-exit", prog("signals"), "--count-term"], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, bufsize=0,
                                 start_new_session=True)
            fd = p.stdout.fileno()
            first = read_line(fd)
            if how == "group":
                os.killpg(p.pid, signal.SIGTERM)
            else:
                p.send_signal(signal.SIGTERM)
            rest = read_to_eof(fd)
            p.stdout.close()
            try:
                key = (first, rest, p.wait(timeout=60))
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                key = (first, rest, "hang")
            outcomes[key] = outcomes.get(key, 0) + 1
        check(list(outcomes) == [("waiting\n", want, 0)],
              f"SIGTERM sent to the {how}: the program gets it once ({outcomes})")
    # a closed stderr: the program's status, not a death by SIGPIPE
    for args, want in ((["3"], 3), (["0"], 1)):
        r, w = os.pipe()
        os.close(r)
        p = subprocess.run([leakscan, "--at-exit", prog("status")] + args, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=w, timeout=60)
        os.close(w)
        check(p.returncode == want, f"stderr a closed pipe, program status {args[0]}: exit {want} ({p.returncode})")
    # ...while the program keeps the SIGPIPE of a direct run
    r, w = os.pipe()
    os.close(r)
    p = subprocess.run([leakscan, "--at-exit", prog("echo_stdin")], input=b"line\n", stdout=w,
                       stderr=subprocess.DEVNULL, timeout=60)
    os.close(w)
    check(p.returncode == 128 + signal.SIGPIPE, f"a program writing to a closed pipe dies of SIGPIPE ({p.returncode})")
    # SECCOMP_MODE_STRICT (issue 12 item 7)
    code, out, err = run_plain([leakscan, "--at-exit", prog("strict")])
    check(code == 3 and out == "before\n" and "SECCOMP_MODE_STRICT" in err,
          f"a program entering strict mode is refused with a message ({code}, {out!r}, {err.strip()!r})")

    # cannot start
    code, _, _, err = run(leakscan, ["/nonexistent/program"])
    check(code == 127 and "cannot run /nonexistent/program" in err, f"not found -> 127 ({code}, {err.strip()!r})")
    code, _, _, err = run(leakscan, [os.path.join(src, "meson.build")])
    check(code == 126 and "Permission denied" in err, f"not executable -> 126 ({code}, {err.strip()!r})")

    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
