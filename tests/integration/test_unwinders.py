#!/usr/bin/env python3
"""The unwinders against each other and against the live reference.

Usage: test_unwinders.py LEAKSCAN TARGET SOURCE [TARGET SOURCE ...]

For every test target: start it, wait until its threads sit in their waits,
and take three snapshots, one per unwinder: libdw, libunwind (both offline,
on the copy) and ptrace (libunwind-ptrace on the live, stopped threads: the
reference).  A blocked thread does not move between the snapshots, so every
unwinder must give it the same program counters, frame by frame (inlined
frames, which the symbolizer adds at the same pc, left out), and the same
note (the same cut at the stack window, for one).  Threads that run (state
"running") move between snapshots and are not compared.

Differences that are understood are listed in EXPLAINED with the reason; any
other difference fails.  Exits 77 (skipped) when leakscan was built without
libunwind."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_target import parse_expectations  # noqa: E402
from targetlib import (Checks, Target, leakscan_json, run_leakscan, task_stat, tasks,  # noqa: E402
                       tracer_pid, wait_settled)

UNWINDERS = ["libdw", "libunwind", "ptrace"]
WINDOW_NOTE = "stack window full: raise --stack-window to see the outer frames"

ALTSTACK_NOTE = ("the signal handler runs on an alternate signal stack: "
                 "the interrupted code's stack was not copied")
OUTERMOST = ("_start", "__clone3", "clone3", "__clone", "clone")


def altstack_prefix(ref, pcs, ref_note, note, names):
    """A handler on an alternate signal stack: the copied window holds the
    alternate stack (handler, signal frame, the interrupted pc from the
    ucontext) but not the thread's own stack below it, which the live
    reference reads.  The copy's stack must be the reference's up to the
    frame the signal interrupted, and say why it stops there."""
    restore = [i for i, pc in enumerate(pcs) if names.get(pc) == "__restore_rt"]
    ok = (len(restore) == 1 and len(pcs) == restore[0] + 2 and ref[:len(pcs)] == pcs and
          len(ref) > len(pcs) and note == ALTSTACK_NOTE)
    return ok, f"the copy stops after the interrupted frame ({len(pcs)} of {len(ref)} frames) with the sigaltstack note"


def static_reference(ref, pcs, ref_note, note, names):
    """A static executable has no .eh_frame_hdr (gcc links it without
    --eh-frame-hdr), only .eh_frame, and libunwind-ptrace (1.6.2) searches
    the header's table only: it finds no unwind information for the program's
    code and falls back to frame pointers, which skip frames.  libdw reads
    .eh_frame itself, and the libunwind backend builds the missing table from
    it: theirs must be complete (down to _start or clone3) or cut with the
    note that says why, and the reference must agree on the top frame."""
    ok = (bool(pcs) and bool(ref) and pcs[0] == ref[0] and
          (names.get(pcs[-1]) in OUTERMOST or note in (ALTSTACK_NOTE, WINDOW_NOTE)))
    return ok, (f"offline {len(pcs)} frames, complete or cut with a note ({note}), "
                f"where the reference has {len(ref)}")


# (target name test, thread name test) -> check of an understood difference
# between an offline unwinder and the live reference
EXPLAINED = [
    (lambda target: target.endswith("_static"), lambda thread: True, static_reference),
    (lambda target: True, lambda thread: thread == "on_altstack", altstack_prefix),
]


def stacks(report):
    """{tid: (name, state, [pc, ...], note)} of a report's one process."""
    out = {}
    for t in report["processes"][0]["threads"]:
        pcs = [f["pc"] for f in t["frames"] if not f["inlined"]]
        out[t["tid"]] = (t["name"], t["state"], pcs, t["unwind_note"])
    return out


def describe(pcs, frames_by_pc):
    return " ".join(f"{pc}({frames_by_pc.get(pc, '?')})" for pc in pcs)


def compare_target(leakscan, exe, source, check):
    label = os.path.basename(exe)
    _, _, expected, extra = parse_expectations(source)
    with Target([exe]) as target:
        wait_settled(target.pid, {name: int(props.get("count", 1)) for name, props in expected
                                  if props.get("state") != "running"})
        time.sleep(0.1)
        reports = {}
        for u in UNWINDERS:
            _, reports[u] = leakscan_json(leakscan, target.pid, ["--min-blocked=0", f"--unwinder={u}"] + extra)
        # the live reference held the threads longest: they must be free
        time.sleep(0.05)
        held = []
        for tid in tasks(target.pid):
            try:
                if tracer_pid(target.pid, tid) != 0 or task_stat(target.pid, tid)[1] in "tT":
                    held.append(tid)
            except (FileNotFoundError, ProcessLookupError):
                continue
        check(not held, f"{label}: no thread left traced or stopped ({held})")
    names = {}
    for r in reports.values():
        for t in r["processes"][0]["threads"]:
            for f in t["frames"]:
                names.setdefault(f["pc"], f["function"] or f"{os.path.basename(f['module'] or '?')}+{f['offset']}")
    got = {u: stacks(r) for u, r in reports.items()}
    ref = got["ptrace"]
    compared = 0
    for tid, (name, state, pcs, note) in sorted(ref.items()):
        if any(g.get(tid, (0, "running"))[1] == "running" for g in got.values()):
            continue
        compared += 1
        dw, lu = got["libdw"].get(tid), got["libunwind"].get(tid)
        if dw is None or lu is None:
            check(False, f"{label}: thread {name} ({tid}) missing from a report")
            continue
        # the two offline unwinders read the same copy: no excuse
        same = dw[2:] == lu[2:]
        check(same, f"{label}: thread {name}: libdw and libunwind agree ({len(dw[2])} frames"
                    f"{', ' + dw[3] if dw[3] else ''})")
        if not same:
            print(f"     libdw: {describe(dw[2], names)} [{dw[3]}]")
            print(f"     libunwind: {describe(lu[2], names)} [{lu[3]}]")
        why = next((f for t, th, f in EXPLAINED if t(label) and th(name)), None)
        for u, other in (("libdw", dw), ("libunwind", lu)):
            same = other[2] == pcs and other[3] == note
            if not same and why:
                ok, text = why(pcs, other[2], note, other[3], names)
                check(ok, f"{label}: thread {name}: {u} differs from ptrace as explained: {text}")
                continue
            check(same, f"{label}: thread {name}: {u} agrees with ptrace ({len(pcs)} frames"
                        f"{', ' + note if note else ''})")
            if not same:
                print(f"     ptrace: {describe(pcs, names)} [{note}]")
                print(f"     {u}: {describe(other[2], names)} [{other[3]}]")
    check(compared > 0, f"{label}: {compared} threads compared")
    return got


def main():
    leakscan, pairs = sys.argv[1], sys.argv[2:]
    code, _, err = run_leakscan(leakscan, ["-p", str(os.getpid()), "--unwinder=ptrace", "--format=json"])
    if "not available" in err:
        print("leakscan built without libunwind: skipped")
        return 77
    check = Checks()
    for exe, source in zip(pairs[::2], pairs[1::2]):
        compare_target(leakscan, exe, source, check)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
