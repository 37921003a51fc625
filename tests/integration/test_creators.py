#!/usr/bin/env python3
"""--at-exit creator stacks with the stack pointer derived from clone3's
argument (src/capture/clonesite.h) against the same run reading every stack pointer
from /proc (LEAKSCAN_CREATOR_SP=proc): every thread's whole "created by"
stack must be the same, frame by frame, on test-targets/clone_sites (sites
derived, failing their check, and never derived) and on the churn target
(a creator thread making threads without end while the program exits).
Then a thread left at the exit after 20,000 creations and joins
(bench-churn ... leave), and one left by each of two children under
--follow-forks, must each name their creator, leave_one called by main.
Usage: test_creators.py LEAKSCAN TARGET..."""
import json
import os
import shlex
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from targetlib import Checks, validate_leakscan_json  # noqa: E402

check = Checks()


def creator_stacks(leakscan, target, mode):
    """Runs target under --at-exit; returns its threads' (name, created_by) sorted, or None."""
    out = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
    env = dict(os.environ, LEAKSCAN_TARGET_EXIT="1")
    env.pop("LEAKSCAN_CREATOR_SP", None)
    if mode:
        env["LEAKSCAN_CREATOR_SP"] = mode
    try:
        subprocess.run([leakscan, "--at-exit", "--format=json", "-o", out, "--", target], env=env,
                       capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        with open(out) as f:
            report = json.load(f)
        validate_leakscan_json(report)
    except (json.JSONDecodeError, FileNotFoundError, subprocess.TimeoutExpired):
        return None
    finally:
        os.unlink(out)
    stacks = []
    for p in report["processes"]:
        for t in p["threads"]:
            if t["main"]:
                continue
            frames = tuple((f["function"], f["file"], f["line"], os.path.basename(f["module"] or ""), f["offset"])
                           for f in t["created_by"] or [])
            stacks.append((t["name"], frames))
    return sorted(stacks)


def leaked_by(leakscan, options, argv):
    """Runs argv under --at-exit; returns every non-main thread as (name,
    [functions of created_by]), or None when there is no report."""
    out = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
    env = dict(os.environ)
    env.pop("LEAKSCAN_CREATOR_SP", None)
    try:
        subprocess.run([leakscan, "--at-exit", "--format=json", "-o", out] + options + ["--"] + argv, env=env,
                       capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
        with open(out) as f:
            report = json.load(f)
        validate_leakscan_json(report)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    finally:
        os.unlink(out)
    return [(t["name"], [f["function"] for f in t["created_by"] or []])
            for p in report["processes"] for t in p["threads"] if not t["main"]]


def left_by_leave_one(functions):
    return "leave_one" in functions and "main" in functions and \
        functions.index("leave_one") < functions.index("main")


def check_after_churn(leakscan):
    churn = os.path.join(os.path.dirname(os.path.abspath(leakscan)), "bench", "bench-churn")
    if not os.path.exists(churn):
        check(False, f"{churn} is built (meson builds bench/ with everything)")
        return
    threads = leaked_by(leakscan, [], [churn, "20000", "1", "leave"])
    check(threads is not None and len(threads) == 1 and left_by_leave_one(threads[0][1]),
          f"churn of 20,000, then one thread left: created by leave_one from main ({threads})")
    script = f"{shlex.quote(churn)} 500 1 leave && {shlex.quote(churn)} 500 2 leave"
    threads = leaked_by(leakscan, ["--follow-forks"], ["/bin/sh", "-c", script])
    check(threads is not None and len(threads) == 2 and all(left_by_leave_one(fs) for _, fs in threads),
          f"--follow-forks: each child's thread left names leave_one from main ({threads})")


def main():
    leakscan, targets = sys.argv[1], sys.argv[2:]
    for target in targets:
        name = os.path.basename(target)
        derived = creator_stacks(leakscan, target, None)
        read = creator_stacks(leakscan, target, "proc")
        check(derived is not None and read is not None, f"{name}: both runs give a report")
        if derived is None or read is None:
            continue
        check(len(derived) > 0 and all(frames for _, frames in derived),
              f"{name}: every thread has a creator stack ({len(derived)} threads)")
        same = derived == read
        if not same:
            for a, b in zip(derived, read):
                if a != b:
                    print(f"  derived {a}\n  /proc   {b}")
                    break
        check(same, f"{name}: creator stacks derived == read from /proc, frame by frame")
    check_after_churn(leakscan)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
