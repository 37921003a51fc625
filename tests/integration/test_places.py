#!/usr/bin/env python3
"""The places one leakscan's analysers looked up, handed down to the next
(issue 16 item 6): under --at-exit --follow-forks the second judged
process's analyser answers from the places the first one handed back to
the supervisor, and the reports are the same, but for pids, addresses and
times, as with the cache off (LEAKSCAN_TEST_PLACES=off).
Usage: test_places.py LEAKSCAN CXX_THREADS_TARGET"""
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from targetlib import Checks, validate_leakscan_json  # noqa: E402

check = Checks()
COUNTS = re.compile(r"analyser of (\d+): (\d+) places inherited, (\d+) lookups answered by them, "
                    r"(\d+) places looked up")


def run(leakscan, script, places):
    """leakscan --at-exit --follow-forks --all of `sh -c script`: (report,
    the analysers' counts as (inherited, answered, looked up), stderr).
    --all: without it a process whose only thread is in its exit (the
    shell, /bin/true) gets no analyser at all, and nothing is handed down."""
    out = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
    env = dict(os.environ, LEAKSCAN_TARGET_EXIT="1", LEAKSCAN_TEST_PLACES=places)
    env.pop("LEAKSCAN_ANALYSE_IN_PROCESS", None)
    try:
        p = subprocess.run([leakscan, "--at-exit", "--follow-forks", "--all", "--format=json", "-o", out, "--",
                            "sh", "-c", script], env=env, capture_output=True, text=True, timeout=120,
                           stdin=subprocess.DEVNULL)
        with open(out) as f:
            report = json.load(f)
        validate_leakscan_json(report)
    finally:
        os.unlink(out)
    counts = [tuple(int(x) for x in m.groups()[1:]) for m in COUNTS.finditer(p.stderr)]
    return report, counts, p.stderr


VARYING = {"pid", "tid", "pc", "sp", "tls", "address", "stopped_us", "read", "stop_note", "exit_stop_us", "blocked_ms", "owner_tid",
           "joined_tid", "stack_tid", "peer_pid", "futex_value"}


def normalized(report):
    """The report without what differs from run to run, processes in order
    of their command lines."""
    def strip(x):
        if isinstance(x, dict):
            return {k: (None if k in VARYING else strip(v)) for k, v in x.items()}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x
    procs = sorted((strip(p) for p in report["processes"]), key=lambda p: json.dumps(p, sort_keys=True))
    return json.dumps(procs, sort_keys=True, indent=1)


def main():
    leakscan, target = sys.argv[1], sys.argv[2]
    for name, script in [("/bin/true thrice", "for i in 1 2 3; do /bin/true; done"),
                         ("a C++ program with threads, twice", f"{target}; {target}")]:
        on, counts, err = run(leakscan, script, "1")
        off, off_counts, _ = run(leakscan, script, "off")
        check(len(counts) == len(on["processes"]) and len(counts) >= 3,
              f"{name}: every analyser says what it inherited ({err.strip()[:300]})")
        # the analysers run one after the other: the first inherits nothing,
        # a later one the places its predecessors handed back, and answers
        # lookups from them
        check(any(inherited > 0 and answered > 0 for inherited, answered, _ in counts[1:]),
              f"{name}: a later analyser answers from the places handed down: {counts}")
        check(all(inherited == 0 and answered == 0 for inherited, answered, _ in off_counts),
              f"{name}: with the cache off, nothing is handed down: {off_counts}")
        a, b = normalized(on), normalized(off)
        check(a == b, f"{name}: the same report with and without the places handed down")
        if a != b:
            import difflib
            print("".join(list(difflib.unified_diff(a.splitlines(True), b.splitlines(True)))[:40]))
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
