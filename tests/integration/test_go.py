#!/usr/bin/env python3
"""Go programs built by Debian's Go, with symbols and stripped
(-ldflags=-s -w: no ELF symbol table, no DWARF): run under --at-exit, the
runtime's own threads (idle Ms, sysmon, the template thread) are ignored by
the default Go rule and the one thread a goroutine locked and left blocked
in a read is reported, with the user's Go function, main.blockedRead at
its line, in the headline.  Stripped, both need .gopclntab.
Usage: test_go.py LEAKSCAN SOURCE_DIR [PROGRAM...]"""
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from targetlib import Checks, validate_leakscan_json  # noqa: E402

check = Checks()


def at_exit(leakscan, prog, fmt):
    """(status, document) of a --at-exit run; the program's stdin ends once
    it says "ready", which makes it exit."""
    fd, out = tempfile.mkstemp(suffix="." + fmt)
    os.close(fd)
    try:
        p = subprocess.Popen([leakscan, "--at-exit", f"--format={fmt}", "-o", out, "--", prog],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = p.stdout.readline()
        p.stdin.close()
        rest = p.stdout.read()
        code = p.wait(timeout=120)
        check(line == "ready\n", f"{os.path.basename(prog)} starts its goroutines ({line!r} {rest!r})")
        with open(out) as f:
            return code, f.read()
    finally:
        os.unlink(out)


def main():
    leakscan, srcdir = sys.argv[1:3]
    progs = sys.argv[3:]
    if not progs:
        print("note: no go here (scripts/setup.sh installs golang-go): skipped")
        return 77
    line = next(n for n, text in enumerate(open(os.path.join(srcdir, "go", "go_wait.go")), 1)
                if "@blocked-read" in text)
    for prog in progs:
        name = os.path.basename(prog)
        code, text = at_exit(leakscan, prog, "json")
        doc = json.loads(text)
        validate_leakscan_json(doc)
        threads = [t for p in doc["processes"] for t in p["threads"]]
        leaked = [t for t in threads if t["leaked"]]
        tops = [(t["frames"][t["top_frame"]] if t.get("top_frame") is not None and t["frames"] else {}) for t in leaked]
        # (the line is that of syscall.Read, which Go inlines into it)
        check(code == 1 and len(leaked) == 1 and tops[0].get("function") == "main.blockedRead",
              f"{name}: one leaked thread, main.blockedRead (go_wait.go:{line}) on top "
              f"({code}, {[(t['name'], tops[i].get('function'), tops[i].get('file'), tops[i].get('line')) for i, t in enumerate(leaked)]})")
        unnamed = [t["tid"] for t in threads if not t["leaked"] and any(f["function"] is None for f in t["frames"])]
        check(not unnamed, f"{name}: every frame of the runtime's threads is named ({unnamed})")
        code, text = at_exit(leakscan, prog, "text")
        check(re.search(rf'^Thread \d+ "[^"]*"( \(main\))? in state pipe-read, [^\n]*with main\.blockedRead on top', text, re.M),
              f"{name}: the text headline names main.blockedRead: " +
              next((x for x in text.splitlines() if x.startswith("Thread")), "(none)"))
    for prog in progs:
        idle_threads_group(leakscan, prog)
    return check.finish()


ROOT = re.compile(r"runtime\.(goexit|mstart|mcall)(\.abi\d+)?$")


def idle_threads_group(leakscan, prog):
    """Go begins a thread's stacks at runtime.mstart (an M's), runtime.mcall
    (the switch to it) and runtime.goexit (a goroutine's): the unwind ends
    there, since past them lie stale words that differ between threads whose
    stacks are the same, so that the idle Ms (go_wait.go starts several)
    are one group: threads alike up to their root are alike whole."""
    name = os.path.basename(prog)
    _, text = at_exit(leakscan, prog, "json")
    threads = [t for p in json.loads(text)["processes"] for t in p["threads"]]
    past = [(t["tid"], [f["function"] for f in t["frames"]]) for t in threads
            if any(ROOT.match(f["function"] or "") for f in t["frames"][:-1])]
    check(not past, f"{name}: no frame past runtime.mstart, mcall or goexit ({past})")
    by_stack = {}
    for t in threads:
        by_stack.setdefault(tuple(f["function"] for f in t["frames"]), []).append(t)
    split = [(k[-3:], [[f["pc"] for f in t["frames"]] for t in ts]) for k, ts in by_stack.items()
             if len({tuple(f["pc"] for f in t["frames"]) for t in ts}) > 1]
    idle = max((len(ts) for k, ts in by_stack.items() if any("stopm" in (f or "") for f in k)), default=0)
    check(not split and idle >= 2, f"{name}: the idle Ms ({idle}) have one stack, pc for pc ({split})")


if __name__ == "__main__":
    sys.exit(main())
