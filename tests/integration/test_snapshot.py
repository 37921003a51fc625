#!/usr/bin/env python3
"""-p and --from-snapshot run their analysis in a sandboxed child (src/snapshot/sandbox.h,
src/capture/capturer.h):
while it runs, the analyser has no capability, a uid other than root (nobody
when leakscan is root), no_new_privs, and a seccomp filter (Seccomp: 2);
when it dies, its supervisor says so and exits 3 (under -p, with the target
released before the analysis began); a file that is not a
snapshot is refused with one line, a FIFO without being opened.
--save-snapshot never writes through a symlink and leaves the file 0600.  The analyser is held, once confined, by
LEAKSCAN_TEST_HOLD_ANALYSER until its stdin ends, so that its /proc status
is read while it runs.

--at-exit analyses each exiting process in such a child while the exit is
held: the same checks, the report unchanged, and a killed analyser said in
the report, exit 3 (the program's own failure status still comes first);
--watch analyses each of its snapshots so too.

Usage: test_snapshot.py LEAKSCAN MUTEX_TARGET AT_EXIT_DIR"""
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from targetlib import Checks, Target, wait_settled  # noqa: E402

check = Checks()


def status_of(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def held_analyser(supervisor, timeout=30.0):
    """The analyser child of supervisor once it is confined (Seccomp: 2),
    named ls-analyser (under --at-exit the program and leakscan's guardian,
    children too, have seccomp filters of their own)."""
    deadline = time.monotonic() + timeout
    name = "ls-analyser"
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{supervisor}/task/{supervisor}/children") as f:
                children = [int(c) for c in f.read().split()]
            for c in children:
                st = status_of(c)
                if st.get("Seccomp") == "2" and st.get("Name") == name:
                    return c
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass
        time.sleep(0.01)
    return None


def check_analyser(child, supervisor, what):
    st = status_of(child)
    check(int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0,
          f"{what}: the analyser has no capability (CapEff {st['CapEff']}, CapPrm {st['CapPrm']})")
    check(st["NoNewPrivs"] == "1", f"{what}: the analyser has no_new_privs")
    uids = [int(u) for u in st["Uid"].split()]
    if os.geteuid() == 0:
        check(uids == [65534] * 4, f"{what}: as root, the analyser runs as nobody (Uid {st['Uid']})")
    else:
        check(0 not in uids, f"{what}: the analyser is not root (Uid {st['Uid']})")
    check(status_of(supervisor).get("Seccomp") == "0", f"{what}: the supervisor is not confined")


def tracers(pid):
    """TracerPid of every thread of pid."""
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                out += [int(line.split()[1]) for line in f if line.startswith("TracerPid:")]
        except FileNotFoundError:
            pass
    return out


def check_pid_split(leakscan, mutex):
    """-p: the analysis runs in the confined child, after the target was
    released; a dead analyser is reported in one line, exit 3."""
    env = dict(os.environ, LEAKSCAN_TEST_HOLD_ANALYSER="1")
    with Target([mutex]) as t:
        wait_settled(t.pid, {"locker"})
        plain = subprocess.run([leakscan, "-p", str(t.pid), "--format=json", "--min-blocked=0"],
                               capture_output=True, text=True, timeout=60)
        check(plain.returncode == 0 and "wait_for_lock" in plain.stdout,
              f"-p finds the locker in wait_for_lock ({plain.returncode}: {plain.stderr.strip()[:200]})")
        p = subprocess.Popen([leakscan, "-p", str(t.pid), "--format=json", "--min-blocked=0"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        try:
            child = held_analyser(p.pid)
            check(child is not None, "-p: the analyser is a child process with a seccomp filter (Seccomp: 2)")
            if child:
                check_analyser(child, p.pid, "-p")
                check(set(tracers(t.pid)) == {0}, "-p: the target is released before the analysis")
        finally:
            out, err = p.communicate(timeout=60)
        check(p.returncode == 0 and "wait_for_lock" in out,
              f"-p: the confined analysis symbolizes ({p.returncode}: {err.strip()[:200]})")

        p = subprocess.Popen([leakscan, "-p", str(t.pid)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env, text=True)
        try:
            child = held_analyser(p.pid)
            if child:
                os.kill(child, signal.SIGKILL)
        finally:
            out, err = p.communicate(timeout=60)
        check(p.returncode == 3 and "analyser was killed by signal 9" in err and out == "" and
              len(err.strip().splitlines()) == 1, f"-p, a dead analyser: exit 3 and why ({p.returncode}: {err.strip()[:200]})")
        check(set(tracers(t.pid)) == {0} and os.path.exists(f"/proc/{t.pid}"), "-p: the target lives on, untraced")

        # the files -p writes besides its report: opened by the capturer,
        # written by the confined analyser, the same as analysed in process
        with tempfile.TemporaryDirectory(prefix="leakscan-files-") as tmp:
            def files(tag, extra_env, hold):
                base, sup = os.path.join(tmp, tag + ".baseline"), os.path.join(tmp, tag + ".supp")
                q = subprocess.Popen([leakscan, "-p", str(t.pid), "--all", "--save-baseline=" + base,
                                      "--print-suppressions=" + sup], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=dict(os.environ, **extra_env), text=True)
                child = None
                try:
                    if hold:
                        child = held_analyser(q.pid)
                        if child:
                            check_analyser(child, q.pid, "-p --save-baseline --print-suppressions=FILE")
                finally:
                    q.communicate(timeout=60)
                read = lambda path: open(path).read() if os.path.exists(path) else None
                return q.returncode, child, read(base), read(sup)
            direct = files("direct", {"LEAKSCAN_ANALYSE_IN_PROCESS": "1"}, False)
            split = files("split", {"LEAKSCAN_TEST_HOLD_ANALYSER": "1"}, True)
            check(split[1] is not None, "-p --save-baseline --print-suppressions=FILE: the analysis is sandboxed")
            check(direct[0] == split[0] == 0 and direct[2] and direct[2:] == split[2:],
                  f"-p: the baseline and suppressions written by the analyser are the same ({split[0]})")


def without_pids(text):
    """A report with what differs from run to run made alike: PIDs and TIDs
    (wherever they appear), addresses (ASLR), times, pipe inodes, and how
    each thread was read (one that moved during each of its stop-free
    readings is stopped, on a loaded machine more often)."""
    import json
    import re
    rep = json.loads(text[text.index("{"):])
    ids = set()
    for p in rep["processes"]:
        ids.add(p.get("pid"))
        for key in ("exit_stop_us", "stopped_us"):
            p.pop(key, None)
        for t in p["threads"]:
            ids.add(t.get("tid"))
            for key in ("blocked_ms", "read", "stopped_us", "stop_note"):
                t.pop(key, None)
            if isinstance(t.get("wait"), dict):
                t["wait"].pop("fd_target", None)       # pipe:[inode]
    out = json.dumps(rep, sort_keys=True)
    out = re.sub(r'"0x[0-9a-f]+"', '"0x"', out)
    return re.sub(r"\b(" + "|".join(str(i) for i in ids if i) + r")\b", "ID", out) if ids else out


def check_watch_split(leakscan, mutex):
    """--watch: each snapshot is analysed in a confined child (the first one
    held until stdin ends), and says what the analysis in process says."""
    with Target([mutex]) as t:
        wait_settled(t.pid, {"locker"})
        argv = [leakscan, "-p", str(t.pid), "--watch=1s", "--interval=300ms", "--format=json"]
        direct = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                                env=dict(os.environ, LEAKSCAN_ANALYSE_IN_PROCESS="1"))
        env = dict(os.environ, LEAKSCAN_TEST_HOLD_ANALYSER="1")
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                             text=True)
        try:
            child = held_analyser(p.pid, timeout=60)
            check(child is not None, "--watch: the analyser is a child process with a seccomp filter (Seccomp: 2)")
            if child:
                check_analyser(child, p.pid, "--watch")
                check(set(tracers(t.pid)) == {0}, "--watch: the target is released before the analysis")
        finally:
            out, err = p.communicate(timeout=120)
        import json
        groups = lambda text: sorted((g["signature"], g["counts"][-1], g["growth"])
                                     for g in json.loads(text)["groups"])
        check(p.returncode == direct.returncode == 0 and "wait_for_lock" in out and
              groups(out) == groups(direct.stdout),
              f"--watch: the sandboxed analyses say what the analysis in process says ({p.returncode}: "
              f"{err.strip()[:200]})")


def difference(a, b):
    """Where two normalised reports first differ, for the message."""
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"at {i}: ...{a[max(0, i - 80):i + 80]}... vs ...{b[max(0, i - 80):i + 80]}..."
    return f"lengths {len(a)} and {len(b)}"


def check_at_exit_split(leakscan, mutex, at_exit_dir):
    """--at-exit: each exiting process is analysed in a confined child while
    its exit is held; the report is the one analysed in process; a killed
    analyser is said in the report, exit 3, or the program's failure.  The
    target returns once its locker sleeps (LEAKSCAN_TARGET_EXIT): the same
    report every run."""
    leaker = mutex
    status = os.path.join(at_exit_dir, "ae-status")
    argv = [leakscan, "--at-exit", "--format=json", "--"]
    env = dict(os.environ, LEAKSCAN_TARGET_EXIT="1")
    direct = subprocess.run(argv + [leaker], capture_output=True, text=True, timeout=120,
                            env=dict(env, LEAKSCAN_ANALYSE_IN_PROCESS="1"))
    check(direct.returncode == 1 and "wait_for_lock" in direct.stderr,
          f"--at-exit in one process finds the locker ({direct.returncode}: {direct.stderr.strip()[:200]})")
    split = subprocess.run(argv + [leaker], capture_output=True, text=True, timeout=120, env=env)
    check(split.returncode == direct.returncode and without_pids(split.stderr) == without_pids(direct.stderr),
          f"--at-exit: the sandboxed analysis gives the same report ({split.returncode}: {split.stderr[-300:]})")

    env = dict(env, LEAKSCAN_TEST_HOLD_ANALYSER="1")
    p = subprocess.Popen(argv + [leaker], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env, text=True)
    try:
        child = held_analyser(p.pid, timeout=60)
        check(child is not None, "--at-exit: the analyser is a child process with a seccomp filter (Seccomp: 2)")
        if child:
            check_analyser(child, p.pid, "--at-exit")
            with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
                others = [int(c) for c in f.read().split() if int(c) != child]
            held = [c for c in others if status_of(c).get("Name") == os.path.basename(leaker)]
            check(len(held) == 1, f"--at-exit: the program's exit is held while the analyser runs ({others})")
    finally:
        out, err = p.communicate(timeout=120)
    held, plain = without_pids(err), without_pids(direct.stderr)
    check(p.returncode == 1 and held == plain,
          f"--at-exit, held analyser: the same report ({p.returncode}: {difference(held, plain)})")

    # the analyser killed: the report says so, exit 3; a failing program's
    # status comes first
    for prog, want in (([leaker], 3), ([status, "7"], 7)):
        p = subprocess.Popen(argv + prog, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env, text=True)
        try:
            child = held_analyser(p.pid, timeout=60)
            if child:
                os.kill(child, signal.SIGKILL)
        finally:
            out, err = p.communicate(timeout=120)
        check(child is not None and p.returncode == want and "analyser was killed by signal 9" in err,
              f"--at-exit {os.path.basename(prog[0])}, a dead analyser: exit {want} and why "
              f"({p.returncode}: {err[-300:]})")


def main():
    leakscan, mutex, at_exit_dir = sys.argv[1:4]
    check_pid_split(leakscan, mutex)
    check_at_exit_split(leakscan, mutex, at_exit_dir)
    check_watch_split(leakscan, mutex)
    with tempfile.TemporaryDirectory(prefix="leakscan-snapshot-") as tmp:
        snap = os.path.join(tmp, "mutex.lss")
        with Target([mutex]) as t:
            wait_settled(t.pid, {"locker"})
            live = subprocess.run([leakscan, "-p", str(t.pid), "--format=json", "--min-blocked=0",
                                   "--save-snapshot=" + snap], capture_output=True, text=True, timeout=60)
        check(live.returncode in (0, 1), f"-p --save-snapshot runs ({live.returncode}: {live.stderr.strip()[:200]})")
        check(os.stat(snap).st_mode & 0o777 == 0o600, "the snapshot is the caller's alone (0600)")

        # where the file goes: never through a symlink; a file of ours that
        # others could read is made ours alone before the memory goes in
        with Target([mutex]) as t:
            wait_settled(t.pid, {"locker"})
            victim = os.path.join(tmp, "victim")
            with open(victim, "w") as f:
                f.write("untouched")
            link = os.path.join(tmp, "link.lss")
            os.symlink(victim, link)
            r = subprocess.run([leakscan, "-p", str(t.pid), "--save-snapshot=" + link], capture_output=True,
                               text=True, timeout=60)
            check(r.returncode == 3 and open(victim).read() == "untouched",
                  f"--save-snapshot never writes through a symlink ({r.returncode}: {r.stderr.strip()[:160]})")
            open_to_all = os.path.join(tmp, "open.lss")
            with open(open_to_all, "w") as f:
                f.write("x" * 100000)
            os.chmod(open_to_all, 0o644)
            r = subprocess.run([leakscan, "-p", str(t.pid), "--save-snapshot=" + open_to_all],
                               capture_output=True, text=True, timeout=60)
            check(r.returncode in (0, 1) and os.stat(open_to_all).st_mode & 0o777 == 0o600,
                  f"an existing file is made the caller's alone ({oct(os.stat(open_to_all).st_mode & 0o777)})")
            # every offline unwinder gives the live report from a snapshot
            # (libunwind tests addresses through a pipe of its own: the
            # sandbox must let it)
            for unwinder in ("fp", "libunwind"):
                usnap = os.path.join(tmp, unwinder + ".lss")
                live_u = subprocess.run([leakscan, "-p", str(t.pid), "--format=json", "--all", "--unwinder=" + unwinder,
                                         "--save-snapshot=" + usnap], capture_output=True, text=True, timeout=60)
                if live_u.returncode == 2:
                    print(f"skip: no {unwinder} unwinder in this build")
                    continue
                off_u = subprocess.run([leakscan, "--from-snapshot=" + usnap, "--format=json", "--all",
                                        "--unwinder=" + unwinder], capture_output=True, text=True, timeout=60)
                check(off_u.returncode == live_u.returncode and off_u.stdout == live_u.stdout,
                      f"--unwinder={unwinder}: the snapshot's report is the live one ({off_u.stderr.strip()[:160]})")
        fifo = os.path.join(tmp, "fifo.lss")
        os.mkfifo(fifo)
        r = subprocess.run([leakscan, "--from-snapshot=" + fifo], capture_output=True, text=True, timeout=30)
        check(r.returncode == 3 and "not a regular file" in r.stderr,
              f"--from-snapshot of a FIFO: refused, not waited on ({r.returncode}: {r.stderr.strip()[:160]})")

        env = dict(os.environ, LEAKSCAN_TEST_HOLD_ANALYSER="1")
        argv = [leakscan, "--from-snapshot=" + snap, "--format=json", "--min-blocked=0"]
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env, text=True)
        try:
            child = held_analyser(p.pid)
            check(child is not None, "the analyser is a child process with a seccomp filter (Seccomp: 2)")
            if child:
                check_analyser(child, p.pid, "--from-snapshot")
        finally:
            out, err = p.communicate(timeout=60)
        check(p.returncode == live.returncode and out == live.stdout,
              f"the sandboxed analysis gives the live report ({p.returncode}: {err.strip()[:200]})")

        # the analyser killed: its supervisor says so, exit 3
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env, text=True)
        try:
            child = held_analyser(p.pid)
            if child:
                os.kill(child, signal.SIGKILL)
        finally:
            out, err = p.communicate(timeout=60)
        check(p.returncode == 3 and "analyser was killed by signal 9" in err and out == "",
              f"a dead analyser: exit 3 and why ({p.returncode}: {err.strip()[:200]})")

        # not a snapshot: one line, exit 3
        bad = os.path.join(tmp, "bad.lss")
        with open(bad, "wb") as f:
            f.write(b"leakscan-snapshot/1\n\0\0\0\0" + b"\x01" * 40)
        r = subprocess.run([leakscan, "--from-snapshot=" + bad], capture_output=True, text=True, timeout=60)
        check(r.returncode == 3 and len(r.stderr.strip().splitlines()) == 1 and "snapshot" in r.stderr,
              f"a damaged snapshot is refused in one line ({r.returncode}: {r.stderr.strip()[:200]})")
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
