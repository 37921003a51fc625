#!/usr/bin/env python3
"""Data-driven check of one test target against its "leakscan-expect:" lines
(see test-targets/common.h for the vocabulary).

pid mode: starts the target, waits until its threads sit in their waits, runs
`leakscan -p PID --format=json --min-blocked=0` and checks the report, and
that the target is left running and untraced.  The same run saves a snapshot
(--save-snapshot), and `leakscan --from-snapshot` must give the same report
from it, byte for byte, run without privileges (as nobody, when we are root)
while the target is gone.

--at-exit: runs `leakscan --at-exit --format=json -- TARGET` with
LEAKSCAN_TARGET_EXIT=1 (the target returns from main once its threads sleep)
and checks the report against "leakscan-expect-at-exit: leaked=N" and the same
thread lines; there every thread alive at exit but the exiting main thread is
leaked, and "created" names the function and line that created it.

Exits 0 when everything declared was found, 1 with one line per mismatch."""
import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from targetlib import Target, run_leakscan, task_stat, tasks, tracer_pid, validate_leakscan_json, wait_settled  # noqa: E402


def parse_expectations(source):
    leaked, leaked_at_exit, threads, args = None, None, [], []
    for line in open(source):
        m = re.search(r"leakscan-(expect-at-exit|expect|args):\s*(.*)$", line)
        if not m:
            continue
        body = m.group(2).strip()
        if m.group(1) == "args":
            args += shlex.split(body)
        elif m.group(1) == "expect-at-exit":
            leaked_at_exit = int(body.split("=", 1)[1])
        elif body.startswith("leaked="):
            leaked = int(body.split("=", 1)[1])
        elif body.startswith("thread "):
            words = body.split()
            props = dict(w.split("=", 1) for w in words[2:])
            threads.append((words[1], props))
    if leaked is None:
        sys.exit(f"{source}: no 'leakscan-expect: leaked=N' line")
    return leaked, leaked_at_exit, threads, args


def marker_line(spec, sources):
    """'@mark' or 'file.c@mark' -> (basename, line number)."""
    fname, _, mark = spec.rpartition("@")
    for src in sources:
        if fname and os.path.basename(src) != fname:
            continue
        for n, text in enumerate(open(src), 1):
            if re.search(r"[/*] @" + re.escape(mark) + r"\b", text):
                return os.path.basename(src), n
    sys.exit(f"marker {spec} not found in {sources}")


def check_thread(t, props, sources, stripped, errors, label, proc):
    def expect(key, actual):
        if key in props and str(props[key]).lower() != str(actual).lower():
            errors.append(f"{label}: {key} is {actual!r}, expected {props[key]!r}")

    expect("state", t["state"])
    expect("verdict", t["verdict"])
    expect("leaked", t["leaked"])
    expect("timeout", t["timeout"])
    expect("syscall", t["syscall"])
    expect("reach", t.get("reach"))
    names = {x["tid"]: x["name"] for x in proc["threads"]}
    wait = t["wait"]
    for key, field in (("owner", "owner_tid"), ("joined", "joined_tid")):
        if key not in props:
            continue
        if props[key] == "gone":
            if not wait["owner_gone"] or not wait[field] or wait[field] in names:
                errors.append(f"{label}: {key} {wait[field]} should be a thread that has exited")
        elif names.get(wait[field]) != props[key]:
            errors.append(f"{label}: {key} is {wait[field]} ({names.get(wait[field])}), expected {props[key]}")
    if "object" in props:
        sym = wait["object"] and wait["object"]["symbol"]
        if sym != props["object"]:
            errors.append(f"{label}: waits on {sym!r}, expected {props['object']!r}")
    obj = wait["object"] or {}
    if "region" in props and obj.get("region") != props["region"]:
        errors.append(f"{label}: object region {obj.get('region')}, expected {props['region']}")
    if "in" in props and obj.get("stack_function") != props["in"]:
        errors.append(f"{label}: object in {obj.get('stack_function')!r}, expected {props['in']!r}")
    if "value" in props and wait["count"] != int(props["value"]):
        errors.append(f"{label}: count {wait['count']}, expected {props['value']}")
    if "cycle" in props:
        cycles = [c for c in proc["deadlocks"] if t["tid"] in c]
        if len(cycles) != 1 or len(cycles[0]) != int(props["cycle"]):
            errors.append(f"{label}: on cycles {cycles}, expected one of length {props['cycle']}")
    if "fd_kind" in props:
        target = t["wait"]["fd_target"] or ""
        if not target.startswith(props["fd_kind"] + ":"):
            errors.append(f"{label}: fd_target is {target!r}, expected a {props['fd_kind']}")
    top = t["frames"][t["top_frame"]] if t["top_frame"] is not None else None
    if stripped:
        # No symbols in the program: its frame must still name module+offset.
        if not top or top["function"] is not None or not top["module"] or top["offset"] in (None, "0x0"):
            errors.append(f"{label}: stripped top frame should be module+offset, got {top}")
        return
    if "top" in props:
        if not top or not top["function"] or not re.search(r"\b" + re.escape(props["top"]) + r"\b", top["function"]):
            errors.append(f"{label}: top function is {top and top['function']!r}, expected {props['top']!r}")
    if "line" in props:
        base, line = marker_line(props["line"], sources)
        got = (os.path.basename(top["file"]) if top and top["file"] else None, top and top["line"])
        if got != (base, line):
            errors.append(f"{label}: top frame at {got[0]}:{got[1]}, expected {base}:{line}")
    if "created" in props:
        func, _, mark = props["created"].partition("@")
        base, line = marker_line("@" + mark, sources)
        creator = [f for f in (t["created_by"] or []) if not f["system"]]
        got = (creator[0]["function"], os.path.basename(creator[0]["file"] or ""), creator[0]["line"]) if creator else None
        if got != (func, base, line):
            errors.append(f"{label}: created by {got}, expected {func} at {base}:{line}")


def check_threads(proc, expected, a, errors, at_exit):
    threads = proc["threads"]
    for name, props in expected:
        props = dict(props)
        mine = [t for t in threads if t["name"] == name]
        want = int(props.pop("count", 1))
        if at_exit:
            props["leaked"] = "true"        # alive at exit: every one is a leak
            if "atexit-verdict" in props:   # the exiting main thread cannot help any more
                props["verdict"] = props["atexit-verdict"]
            elif props.get("verdict") == "idle":    # idle is a live process's word
                props["verdict"] = "blocked"
        else:
            props.pop("created", None)      # creation is only seen when we ran it
        if len(mine) != want:
            errors.append(f"thread {name}: {len(mine)} found, expected {want}")
        for t in mine:
            check_thread(t, props, a.sources, a.stripped, errors, f"thread {name} ({t['tid']})", proc)


def check_from_snapshot(a, snapshot, extra_args, live_code, live_out, errors):
    """The report of the saved snapshot must be the live one, with the
    process gone and no privileges."""
    argv = [a.leakscan, "--from-snapshot=" + snapshot, "--format=json", "--min-blocked=0"] + extra_args
    if os.geteuid() == 0 and shutil.which("setpriv"):
        os.chmod(os.path.dirname(snapshot), 0o755)
        os.chmod(snapshot, 0o644)
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                "--bounding-set=-all", "--no-new-privs"] + argv
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    if p.returncode != live_code:
        errors.append(f"--from-snapshot exit status {p.returncode}, live {live_code} ({p.stderr.strip()[:200]})")
    if p.stdout != live_out:
        live, offline = live_out.splitlines(), p.stdout.splitlines()
        diff = []
        for x, y in zip(live, offline):
            if x != y and len(diff) < 2:
                at = next(i for i in range(min(len(x), len(y)) + 1) if i == min(len(x), len(y)) or x[i] != y[i])
                diff.append(f"live ...{x[max(0, at - 60):at + 60]!r} offline ...{y[max(0, at - 60):at + 60]!r}")
        errors.append(f"--from-snapshot report differs from the live one: {diff or 'lengths differ'}")


def io_worker(pid, tid):
    """Whether thread tid of pid is a kernel io_uring worker (PF_IO_WORKER
    in the flags of /proc/PID/task/TID/stat), or has gone (a worker that
    ended after the snapshot)."""
    try:
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return bool(int(text[text.rindex(")") + 2:].split()[6]) & 0x10)


def run_pid_mode(a, leaked, expected, extra_args, errors):
    snapdir = tempfile.TemporaryDirectory(prefix="leakscan-snapshot-")
    snapshot = os.path.join(snapdir.name, "target.lss")
    with snapdir, Target([a.target]) as target:
        wait_settled(target.pid, {name: int(props.get("count", 1)) for name, props in expected
                                  if props.get("state") != "running"})
        time.sleep(0.1)
        code, out, err = run_leakscan(a.leakscan, ["-p", str(target.pid), "--format=json", "--min-blocked=0",
                                                   "--save-snapshot=" + snapshot] + extra_args)
        if code not in (0, 1):
            raise RuntimeError(f"leakscan exited {code}: {err.strip()}")
        report = json.loads(out)
        validate_leakscan_json(report)
        proc = report["processes"][0]
        threads = proc["threads"]

        if report["schema"] != "leakscan/1" or report["mode"] != "pid":
            errors.append(f"schema/mode: {report['schema']}/{report['mode']}")
        if proc["pid"] != target.pid or os.path.realpath(proc["exe"]) != os.path.realpath(a.target):
            errors.append(f"process: pid {proc['pid']} exe {proc['exe']}")
        if report["summary"]["leaked"] != leaked:
            errors.append(f"leaked: {report['summary']['leaked']}, expected {leaked}")
        if code != (1 if leaked else 0):
            errors.append(f"exit status {code} with {leaked} leaked")
        # the kernel's io_uring workers come and go on their own (io-wq
        # starts one more when one blocks, and ends idle ones): one that
        # appeared after the snapshot is no thread the report missed
        now = tasks(target.pid)
        if sorted(t["tid"] for t in threads) != now and \
                [x for x in now if not io_worker(target.pid, x)] != \
                sorted(t["tid"] for t in threads if not io_worker(target.pid, t["tid"])):
            errors.append(f"threads {sorted(t['tid'] for t in threads)} != tasks {now}")
        mains = [t for t in threads if t["main"]]
        if len(mains) != 1 or mains[0]["tid"] != target.pid or mains[0]["leaked"]:
            errors.append("the main thread must be listed once and never as leaked")
        check_threads(proc, expected, a, errors, at_exit=False)

        # The target must be left as it was: running, untraced.
        time.sleep(0.05)
        for tid in tasks(target.pid):
            if tracer_pid(target.pid, tid) != 0:
                errors.append(f"thread {tid} is still traced after leakscan exited")
            try:
                _, st = task_stat(target.pid, tid)
            except (FileNotFoundError, ProcessLookupError):
                continue
            if st in "tT":
                errors.append(f"thread {tid} was left stopped ({st})")
        target.kill()
        check_from_snapshot(a, snapshot, extra_args, code, out, errors)
    return len(threads)


def run_at_exit(a, leaked, expected, extra_args, errors):
    out = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
    env = dict(os.environ, LEAKSCAN_TARGET_EXIT="1")
    p = subprocess.run([a.leakscan, "--at-exit", "--format=json", "-o", out] + extra_args + ["--", a.target],
                       env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    try:
        with open(out) as f:
            report = json.load(f)
        validate_leakscan_json(report)
    finally:
        os.unlink(out)
    if p.returncode != (1 if leaked else 0):
        errors.append(f"exit status {p.returncode} with {leaked} leaked ({p.stderr.strip()[:200]})")
    if report["mode"] != "at-exit" or len(report["processes"]) != 1:
        errors.append(f"mode {report['mode']} with {len(report['processes'])} processes")
        return 0
    proc = report["processes"][0]
    threads = proc["threads"]
    if proc["exit"] != {"code": 0} or not proc["inspected"]:
        errors.append(f"exit {proc['exit']}, inspected {proc['inspected']}")
    if os.path.realpath(proc["exe"] or "") != os.path.realpath(a.target):
        errors.append(f"exe {proc['exe']}")
    if report["summary"]["leaked"] != leaked:
        errors.append(f"leaked: {report['summary']['leaked']}, expected {leaked}")
    mains = [t for t in threads if t["main"]]
    exiting = [t for t in threads if t["exiting"]]
    if len(mains) != 1 or mains[0]["leaked"] or len(exiting) != 1 or exiting[0]["syscall"] != "exit_group":
        errors.append("one thread calls exit_group, and the main thread is not leaked")
    for t in threads:
        # a thread in an uninterruptible sleep is read from /proc, which
        # gives no thread pointer to find its creator by
        if not t["main"] and t["frames"] and not t["created_by"] and t["proc_state"] != "D":
            errors.append(f"thread {t['name']} ({t['tid']}) has no creator stack")
    check_threads(proc, expected, a, errors, at_exit=True)
    return len(threads)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--leakscan", required=True)
    ap.add_argument("--stripped", action="store_true")
    ap.add_argument("--at-exit", action="store_true")
    ap.add_argument("target")
    ap.add_argument("sources", nargs="+")
    a = ap.parse_args()

    leaked, leaked_at_exit, expected, extra_args = parse_expectations(a.sources[0])
    errors = []
    if a.at_exit:
        if leaked_at_exit is None:
            sys.exit(f"{a.sources[0]}: no 'leakscan-expect-at-exit: leaked=N' line")
        leaked = leaked_at_exit
        n = run_at_exit(a, leaked, expected, extra_args, errors)
    else:
        n = run_pid_mode(a, leaked, expected, extra_args, errors)

    label = os.path.basename(a.target) + (" --at-exit" if a.at_exit else "")
    for e in errors:
        print(f"FAIL {label}: {e}")
    if errors:
        return 1
    print(f"ok {label}: {n} threads, {leaked} leaked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
