#!/usr/bin/env python3
"""CPython's threads with their Python frames: a worker waiting on a
threading.Event nobody sets (test-targets/python/event_worker.py), seen
with -p, has wait_for_job at its line on top of the stack, marked
"language": "python" in JSON and [python] in text, merged with the native
frames at _PyEval_EvalFrameDefault; the standard library's frames
(Event.wait) are system frames; the Event is reachable from the main
thread, so the worker is idle, not leaked.  On every CPython 3.10-3.13
found (the PYTHONs given, python3.1N on PATH, pyenv's builds), the Python
frames of threads in each of threading's and queue's waits
(test-targets/python/stacks.py) are the interpreter's own, function, file
and line, and their waits are named; older ones get a note.
Usage: test_python.py LEAKSCAN SOURCE_DIR [PYTHON...]"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from targetlib import Checks, validate_leakscan_json  # noqa: E402

check = Checks()


def worker_waits(pid):
    """Whether the worker thread of pid sleeps in a futex wait (it says
    "ready" just before it calls Event.wait)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        if int(tid) != pid and open(f"/proc/{pid}/task/{tid}/syscall").read().startswith("202 "):
            return True
    return False


def snapshot(leakscan, python, script, *args):
    """(status, output) of leakscan -p on script once its worker waits."""
    p = subprocess.Popen([python, script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()
        check(line == "ready\n", f"{python}: the worker waits ({line!r})")
        while not worker_waits(p.pid):
            time.sleep(0.01)
        r = subprocess.run([leakscan, "-p", str(p.pid)] + list(args), capture_output=True, text=True, timeout=120)
        return r.returncode, r.stdout
    finally:
        p.stdin.close()
        p.wait(timeout=60)


def find_pythons(given, minors=range(10, 14)):
    """The CPythons to try: those given, python3.10 to python3.13 (minors)
    on PATH, and pyenv's (PYENV_ROOT, ~/.pyenv), each interpreter once."""
    found = [shutil.which(x) for x in given]
    found += [shutil.which(f"python3.{m}") for m in minors]
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    for m in minors:
        found += sorted(glob.glob(os.path.join(root, "versions", f"3.{m}.*", "bin", f"python3.{m}")))
    out, seen = [], set()
    for x in found:
        if not x or not os.access(x, os.X_OK):
            continue
        # the interpreter itself (not a launcher such as pyenv's shims)
        r = subprocess.run([x, "-c", "import os, sys; print(sys.version_info[1], os.path.realpath(sys.executable))"],
                           capture_output=True, text=True)
        minor, _, exe = r.stdout.strip().partition(" ")
        if r.returncode == 0 and minor.isdigit() and int(minor) in minors and exe not in seen:
            seen.add(exe)
            out.append(exe)
    return out


def main():
    leakscan, srcdir = sys.argv[1:3]
    pythons = find_pythons(sys.argv[3:])
    if not pythons:
        print("note: no CPython 3.10-3.13 here (scripts/setup.sh installs python3.11): skipped")
        return 77
    print(f"note: trying {' '.join(pythons)}")
    for python in find_pythons([], range(6, 10)):
        older(leakscan, python, os.path.join(srcdir, "python", "event_worker.py"))
    script = os.path.join(srcdir, "python", "event_worker.py")
    line = next(n for n, text in enumerate(open(script), 1) if "@event-wait" in text)
    for python in pythons:
        # without --idle: with it, an idle thread blocked past
        # --min-blocked (1s, soon passed on a loaded machine) is reported
        code, out = snapshot(leakscan, python, script, "--format=json")
        doc = json.loads(out)
        validate_leakscan_json(doc)
        threads = doc["processes"][0]["threads"]
        worker = [t for t in threads if any(f["function"] == "wait_for_job" for f in t["frames"])]
        check(len(worker) == 1, f"{python}: one thread runs wait_for_job ({len(worker)})")
        if not worker:
            continue
        t = worker[0]
        top = t["frames"][t["top_frame"]] if t["top_frame"] is not None else {}
        check(top.get("function") == "wait_for_job" and top.get("language") == "python" and
              os.path.basename(top.get("file") or "") == "event_worker.py" and top.get("line") == line,
              f"{python}: wait_for_job at event_worker.py:{line}, a Python frame, is on top ({top})")
        names = [(f["function"], f.get("language")) for f in t["frames"]]
        # each run of Python frames goes right before the eval loop that
        # runs it (3.10 runs each frame in one of its own, 3.12 Python
        # calls in the same one)
        runs_end = [i for i, (_, lang) in enumerate(names)
                    if lang == "python" and (i + 1 == len(names) or names[i + 1][1] != "python")]
        py_order = [n for n, lang in names if lang == "python"]
        check(("Event.wait", "python") in names and runs_end and
              all(i + 1 < len(names) and names[i + 1][0] == "_PyEval_EvalFrameDefault" for i in runs_end) and
              py_order.index("Event.wait") < py_order.index("wait_for_job") < py_order.index("Thread.run"),
              f"{python}: the Python frames sit between the native ones, at the eval loop ({names})")
        check(all(f["system"] for f in t["frames"] if f["function"] in ("Event.wait", "Condition.wait")),
              f"{python}: threading's frames are the library's")
        obj = t["wait"]["object"] if t.get("wait") else None
        check(obj and obj["kind"] == "threading.Event" and os.path.basename(obj["file"] or "") == "event_worker.py" and
              obj["line"] == line, f"{python}: the wait is named threading.Event, at the user's line ({obj})")
        check(not t["leaked"] and t["verdict"] == "idle",
              f"{python}: the Event is reachable from the main thread: idle, not leaked ({t['verdict']})")
        code, out = snapshot(leakscan, python, script, "--idle", "--min-blocked=0")
        check(re.search(rf"^    waits for threading\.Event at 0x[0-9a-f]+ \(\S*event_worker\.py:{line}\)", out, re.M),
              f"{python}: text: waits for threading.Event (event_worker.py:{line})")
        check(re.search(rf"^    #\d+ +0x[0-9a-f]+ wait_for_job \(\S*event_worker\.py:{line}\) \[python\]$", out, re.M) and
              re.search(r'^Thread \d+ "[^"]*" in state \S+, [^\n]*with wait_for_job on top of the stack:$', out, re.M),
              f"{python}: text shows wait_for_job (event_worker.py:{line}) [python] and names it in the headline "
              f"({out[:1500]})")
        stacks(leakscan, python, os.path.join(srcdir, "python", "stacks.py"))
        at_exit(leakscan, python, script, line)
        gil(leakscan, python, os.path.join(srcdir, "python", "gil_holder.py"))
        rlock_deadlock(leakscan, python, os.path.join(srcdir, "python", "deadlock_rlock.py"))
        executor(leakscan, python, os.path.join(srcdir, "python", "executor.py"))
        manager(leakscan, python, os.path.join(srcdir, "python", "manager.py"))
    return check.finish()


def stacks(leakscan, python, script):
    """Threads in Event.wait, Lock.acquire, Condition.wait, Queue.get and
    Semaphore.acquire: leakscan's Python frames of each are those the
    interpreter itself lists (sys._current_frames()): same functions (the
    qualified name where the version has one), files and lines, in the
    same order; each wait is named, at the user's line."""
    p = subprocess.Popen([python, script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        check(p.stdout.readline() == "ready\n", f"{python}: the waiters start")

        def dump():
            p.stdin.write("\n")
            p.stdin.flush()
            return json.loads(p.stdout.readline())
        # past the start barrier each worker goes on to its wait: ask the
        # interpreter until none is at the barrier, then until all sleep
        for _ in range(1000):
            before = dump()
            if not any(f[1] == "record" for w in before for f in w["frames"]):
                break
        tids = [w["tid"] for w in before]
        while not all(open(f"/proc/{p.pid}/task/{tid}/syscall").read().startswith("202 ") for tid in tids):
            time.sleep(0.01)
        r = subprocess.run([leakscan, "-p", str(p.pid), "--idle", "--min-blocked=0", "--format=json"],
                           capture_output=True, text=True, timeout=120)
        truth = dump()
    finally:
        p.stdin.close()
        p.wait(timeout=60)
    doc = json.loads(r.stdout)
    validate_leakscan_json(doc)
    by_tid = {t["tid"]: t for t in doc["processes"][0]["threads"]}
    check(truth == before, f"{python}: the workers did not move while leakscan looked")
    for w in truth:
        t = by_tid.get(w["tid"])
        got = [(f["function"], f["file"], f["line"]) for f in (t["frames"] if t else []) if f.get("language") == "python"]
        # 3.10's code objects have no qualified name: leakscan names a
        # method by its self's class, the interpreter by its name alone
        want = [(qual, name, file, line) for qual, name, file, line in w["frames"]]
        same = len(got) == len(want) and all(
            g[1] == file and g[2] == line and (g[0] == qual or (qual == name and g[0].split(".")[-1] == name))
            for g, (qual, name, file, line) in zip(got, want))
        check(same, f"{python}: {w['wait']}: leakscan's Python frames are the interpreter's ({got} vs {want})")
        obj = t["wait"]["object"] if t and t.get("wait") else None
        user_line = next((line for _, name, _, line in w["frames"] if name in
                          ("event_user", "lock_user", "inner", "queue_user", "poll")), None)
        natives = [f["function"] for f in (t["frames"] if t else []) if not f.get("language")]
        if w["wait"] == "threading.Lock" and "lock_PyThread_acquire_lock" not in natives:
            # a plain Lock's acquire is C code, known by its symbol only
            print(f"note: {python}: the interpreter has no symbols: threading.Lock not checked")
            continue
        check(obj and obj["kind"] == w["wait"] and obj["line"] == user_line and
              os.path.basename(obj["file"] or "") == "stacks.py",
              f"{python}: the wait is named {w['wait']} at stacks.py:{user_line} ({obj})")


def older(leakscan, python, script):
    """A CPython before 3.10: a note on its threads, no Python frame."""
    code, out = snapshot(leakscan, python, script, "--idle", "--format=json")
    threads = json.loads(out)["processes"][0]["threads"]
    check(threads and all("before 3.10" in (t.get("unwind_note") or "") for t in threads) and
          not any(f.get("language") for t in threads for f in t["frames"]),
          f"{python}: a note, no Python frame ({[t.get('unwind_note') for t in threads]})")


def at_exit(leakscan, python, script, line):
    """At exit CPython has finalised (its thread states freed): the worker,
    still waiting, is found from its own stack and reported with
    wait_for_job on top."""
    r = subprocess.run([leakscan, "--at-exit", "--format=json", "--", python, script], capture_output=True, text=True,
                       timeout=300, stdin=subprocess.DEVNULL)
    doc = json.loads(r.stderr)
    validate_leakscan_json(doc)
    leaked = [t for p in doc["processes"] for t in p["threads"] if t["leaked"]]
    tops = [t["frames"][t["top_frame"]] if t["top_frame"] is not None else {} for t in leaked]
    check(r.returncode == 1 and len(leaked) == 1 and tops[0].get("function") == "wait_for_job" and
          tops[0].get("language") == "python" and tops[0].get("line") == line,
          f"{python}: at exit the worker is leaked with wait_for_job (event_worker.py:{line}) on top "
          f"({r.returncode}, {[(x.get('function'), x.get('line')) for x in tops]})")


def rlock_deadlock(leakscan, python, script):
    """Two threads each holding one threading.RLock and wanting the other's:
    the RLocks' owners make the wait-for graph, a proven deadlock."""
    line = next(n for n, text in enumerate(open(script), 1) if "@rlock-wait" in text)
    target = subprocess.Popen([python, script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        check(target.stdout.readline() == "ready\n", f"{python}: the RLock holders start")
        # past the barrier each thread goes on to its second RLock: snapshot
        # until both wait there (or give up after 100)
        for _ in range(100):
            r = subprocess.run([leakscan, "-p", str(target.pid), "--format=json"], capture_output=True, text=True,
                               timeout=120)
            code, doc = r.returncode, json.loads(r.stdout)
            if [t["state"] for t in doc["processes"][0]["threads"] if not t["main"]] == ["semaphore"] * 2:
                break
    finally:
        target.stdin.close()
        target.wait(timeout=60)
    validate_leakscan_json(doc)
    p = doc["processes"][0]
    stuck = [t for t in p["threads"] if t["verdict"] == "deadlock"]
    cycle = p.get("deadlocks") or []
    check(code == 1 and len(stuck) == 2 and all(t["leaked"] for t in stuck) and len(cycle) == 1 and
          sorted(cycle[0]) == sorted(t["tid"] for t in stuck),
          f"{python}: two threads on two RLocks are a proven deadlock ({code}, {[t['verdict'] for t in p['threads']]}, "
          f"{cycle})")
    objs = [t["wait"]["object"] for t in stuck if t.get("wait") and t["wait"].get("object")]
    check(len(objs) == 2 and all(o["kind"] == "threading.RLock" for o in objs) and line in [o["line"] for o in objs],
          f"{python}: each waits for a threading.RLock, at the user's line ({[(o['kind'], o['line']) for o in objs]})")


def executor(leakscan, python, script):
    """A ThreadPoolExecutor's idle worker is the library's (ignored by the
    default python-executor rule, also with --idle); workers blocked in
    calls the user submitted are not."""
    def threads(mode):
        p = subprocess.Popen([python, script, mode], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            check(p.stdout.readline() == "ready\n", f"{python}: the executor is {mode}")
            # a worker says it started just before it waits: snapshot until
            # all wait (or give up after 100)
            for _ in range(100):
                r = subprocess.run([leakscan, "-p", str(p.pid), "--idle", "--min-blocked=0", "--format=json"],
                                   capture_output=True, text=True, timeout=120)
                doc = json.loads(r.stdout)
                workers = [t for t in doc["processes"][0]["threads"] if not t["main"]]
                if all(t["state"] == "semaphore" for t in workers):
                    break
            validate_leakscan_json(doc)
            return workers
        finally:
            p.stdin.close()
            p.wait(timeout=60)

    idle = threads("idle")
    check(len(idle) == 1 and not idle[0]["leaked"] and (idle[0]["ignored_by"] or "").startswith("runtime:python-executor"),
          f"{python}: the idle worker is ignored by runtime:python-executor ({[t['ignored_by'] for t in idle]})")
    busy = threads("busy")
    check(len(busy) == 2 and all(t["leaked"] and not t["ignored_by"] for t in busy),
          f"{python}: workers blocked in the user's calls are reported "
          f"({[(t['leaked'], t['ignored_by']) for t in busy]})")


def manager(leakscan, python, script):
    """--at-exit --follow-forks over a multiprocessing Manager: its server
    process's accept loop and connection handlers, idle in the library,
    are ignored by the default python-manager rule; nothing leaks."""
    r = subprocess.run([leakscan, "--at-exit", "--follow-forks", "--show-ignored", "--format=json", "--",
                        python, script], capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    doc = json.loads(r.stderr)
    validate_leakscan_json(doc)
    ignored = [t["ignored_by"] for p in doc["processes"] for t in p["threads"] if t["ignored_by"]]
    check(r.returncode == 0 and r.stdout == "42\n" and doc["summary"]["leaked"] == 0 and
          any(x.startswith("runtime:python-manager") for x in ignored),
          f"{python}: a Manager's server threads are the library's: nothing leaks ({r.returncode}, {ignored})")


def gil(leakscan, python, script):
    """A thread that wants the GIL while the main thread keeps it in
    pause(): state gil, timed, not leaked."""
    p = subprocess.Popen([python, script], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    try:
        check(p.stdout.readline() == "ready\n", f"{python}: the GIL holder starts")
        # the main thread in pause() (syscall 34) holds the GIL from then on
        while not open(f"/proc/{p.pid}/syscall").read().startswith("34 "):
            if p.poll() is not None:
                break
            time.sleep(0.01)
        # its wait is timed (5 ms): it wakes to ask for the lock again, and a
        # snapshot may find it on a CPU; the first that finds it asleep counts
        for _ in range(100):
            r = subprocess.run([leakscan, "-p", str(p.pid), "--format=json"], capture_output=True, text=True,
                               timeout=120)
            threads = json.loads(r.stdout)["processes"][0]["threads"]
            waiter = [t for t in threads if not t["main"]]
            if not waiter or waiter[0]["state"] != "running":
                break
        check(len(waiter) == 1 and waiter[0]["state"] == "gil" and waiter[0]["verdict"] == "timed" and
              not waiter[0]["leaked"], f"{python}: the thread that wants the GIL is in state gil, timed, not leaked "
              f"({[(t['state'], t['verdict'], t['leaked']) for t in waiter]})")
    finally:
        p.kill()
        p.wait()


if __name__ == "__main__":
    sys.exit(main())
