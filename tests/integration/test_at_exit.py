#!/usr/bin/env python3
"""`leakscan --at-exit` end to end, on the programs of test-targets/at-exit:
grace period, a worker calling exit() while main joins it, status and signal
pass-through, forked children with and without --follow-forks, exec chains,
--timeout, signals delivered unchanged and forwarded, untouched streams and
environment, programs that cannot be started.
Usage: test_at_exit.py LEAKSCAN AT_EXIT_BUILD_DIR"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from targetlib import Checks, validate_leakscan_json  # noqa: E402

check = Checks()


def run(leakscan, args, input=None, env=None, timeout=60):
    """Runs leakscan --at-exit with a JSON report; returns (status, report, stdout, stderr)."""
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


def leaked_threads(report):
    return [t for p in report["processes"] for t in p["threads"] if t["leaked"]]


def creator(t):
    frames = [f for f in (t["created_by"] or []) if not f["system"]]
    return (frames[0]["function"], os.path.basename(frames[0]["file"] or ""), frames[0]["line"]) if frames else None


def marker_line(path, mark):
    for n, text in enumerate(open(path), 1):
        if "@" + mark + " " in text:
            return n
    raise RuntimeError(f"no @{mark} in {path}")


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

    # statuses pass through; the report is still made
    code, rep, _, _ = run(leakscan, [prog("status"), "3"])
    check(code == 3 and rep["processes"][0]["exit"] == {"code": 3} and rep["summary"]["leaked"] == 1,
          f"exit status 3 passes through, with the leak reported ({code})")
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

    # a hang
    t0 = time.monotonic()
    code, rep, _, _ = run(leakscan, ["--timeout=1s", prog("hang")])
    took = time.monotonic() - t0
    threads = rep["processes"][0]["threads"] if rep else []
    check(code == 124 and rep["mode"] == "timeout" and len(threads) == 2
          and all(t["leaked"] for t in threads) and took < 20,
          f"--timeout: every thread reported, the main one too, exit 124 ({code}, {took:.1f}s)")

    # signals: delivered unchanged, and forwarded
    plain = subprocess.run([prog("signals")], capture_output=True, text=True, timeout=30).stdout
    code, _, out, _ = run(leakscan, [prog("signals")])
    check(code == 0 and out == plain == "rt 200 usr1 1\n",
          f"signals the program receives are counted as without leakscan ({out!r} vs {plain!r})")
    out_file = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
    p = subprocess.Popen([leakscan, "--at-exit", "-o", out_file, prog("signals"), "--wait-term"],
                         stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    first = p.stdout.readline()
    p.send_signal(signal.SIGTERM)
    rest, _ = p.communicate(timeout=30)
    os.unlink(out_file)
    check(first == "waiting\n" and rest == "term\n" and p.returncode == 0,
          f"SIGTERM sent to leakscan reaches the program ({first!r} {rest!r} {p.returncode})")

    # streams and environment untouched
    env = dict(os.environ, LEAKSCAN_TEST_VAR="kept", DEBUGINFOD_URLS="http://127.0.0.1:9/")
    code, _, out, err = run(leakscan, [prog("echo_stdin")], input="line one\nline two\n", env=env)
    check(code == 0 and out == "line one\nline two\n" and err == "var=kept\n",
          f"stdin, stdout, stderr and the environment are the program's ({out!r}, {err!r})")

    # cannot start
    code, _, _, err = run(leakscan, ["/nonexistent/program"])
    check(code == 127 and "cannot run /nonexistent/program" in err, f"not found -> 127 ({code}, {err.strip()!r})")
    code, _, _, err = run(leakscan, [os.path.join(src, "meson.build")])
    check(code == 126 and "Permission denied" in err, f"not executable -> 126 ({code}, {err.strip()!r})")

    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
