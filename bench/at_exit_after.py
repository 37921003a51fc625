#!/usr/bin/env python3
"""What runs after the exit began (issue 16 item 3): each mode of
test-targets/at-exit/after_exit.c run N times directly and N times under
each leakscan given, counting the outcomes (exit status; for "shared", what
the child process saw), and for leakscan how the thread was reported.

Usage: bench/at_exit_after.py BUILD_DIR [N] [--compare NAME=LEAKSCAN]...
                              [--modes condvar,semaphore,...]"""
import argparse
import collections
import json
import os
import subprocess
import tempfile
import time

MODES = "condvar,semaphore,futex,epoll,ualarm,sender,waiters,shared"


def outcome(argv, report):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    # mode shared: the child prints once the parent is gone
    out = p.stdout.strip()
    if not out and "shared" in argv:
        time.sleep(0.3)
    seen = out
    how = ""
    if report and os.path.exists(report):
        try:
            with open(report) as f:
                r = json.load(f)
            p0 = r["processes"][0]
            code = p0.get("exit", {})
            leaks = [t for t in p0["threads"] if t["leaked"]]
            how = "; ".join(f"{t['name']} {t['state']}" + (f" [{t['held_call'].split(' at ')[0]}]" if t.get("held_call")
                                                            else "") for t in leaks)
            return (str(code.get("code", "sig %s" % code.get("signal"))), seen, how)
        except (ValueError, KeyError, IndexError):
            pass
    return (str(p.returncode), seen, how)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("n", nargs="?", type=int, default=20)
    ap.add_argument("--compare", action="append", default=[], metavar="NAME=LEAKSCAN")
    ap.add_argument("--modes", default=MODES)
    a = ap.parse_args()
    prog = os.path.join(a.build, "test-targets", "at-exit", "ae-after_exit")
    tools = [("leakscan", os.path.join(a.build, "leakscan"))] + [tuple(c.split("=", 1)) for c in a.compare]
    report = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
    print(f"load average {os.getloadavg()[0]:.1f}; {a.n} runs each")
    for mode in a.modes.split(","):
        rows = [("direct", collections.Counter(outcome([prog, mode], None)[:2] for _ in range(a.n)))]
        for name, ls in tools:
            c = collections.Counter()
            for _ in range(a.n):
                if os.path.exists(report):
                    os.unlink(report)
                c[outcome([ls, "--at-exit", "--format=json", "-o", report, prog, mode], report)] += 1
            rows.append((name, c))
        for name, c in rows:
            print(f"{mode:10} {name:10} " + ", ".join(f"{v} x {k}" for k, v in c.most_common()))
    if os.path.exists(report):
        os.unlink(report)


if __name__ == "__main__":
    main()
