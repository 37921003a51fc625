#!/usr/bin/env python3
"""An accelerated soak of leakscan --serve: a short interval, targets that
come and go (one replaced after every cycle, so each cycle meets a new
process and forgets an old one, and some die during their snapshot),
scraped all along.  Each one killed must be reaped by its parent at once:
a target that dies traced is a zombie only its tracer can hand back.  The exporter's RSS
after WARMUP cycles and after WARMUP+CYCLES cycles must differ by at most
LIMIT_KIB: its memory stays flat.  Bounded: it stops after the cycles or at
its deadline (a loaded machine must still have run MIN_CYCLES after the
warm-up), and stops everything it started.
Usage: test_serve_soak.py LEAKSCAN DEADLOCK_AB [CYCLES]"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from servelib import Exporter, rss_kib, value  # noqa: E402
from targetlib import Checks, Target, tracer_pid  # noqa: E402

check = Checks()
WARMUP = 40
LIMIT_KIB = 1024
TARGETS = 3
DEADLINE_S = 300
MIN_CYCLES = 100        # after the warm-up, at the deadline on a loaded machine


def main():
    leakscan, deadlock = sys.argv[1:3]
    cycles = int(sys.argv[3]) if len(sys.argv) > 3 else 300
    targets = []
    old = None
    start = time.monotonic()
    # a copy of its own, matched by its path: other test runs on this machine
    # have targets of the same name, which this test must not touch
    tmp = tempfile.mkdtemp()
    deadlock = shutil.copy(deadlock, os.path.join(tmp, "soak_target"))
    try:
        targets = [Target([deadlock]) for _ in range(TARGETS)]
        with Exporter(leakscan, [f"--match=^{deadlock}$", "--interval=20ms", "--cpu-budget=100%"]) as ex:
            def cycle_count():
                return value(ex.metrics(), "leakscan_scan_cycles_total") or 0

            seen = 0
            rss_warm = None
            replaced = 0
            while seen < WARMUP + cycles:
                if time.monotonic() - start > DEADLINE_S:
                    check(seen >= WARMUP + MIN_CYCLES,
                          f"at least {WARMUP + MIN_CYCLES} cycles within {DEADLINE_S}s ({seen})")
                    break
                now = ex.wait_for(lambda: (lambda c: c if c > seen else None)(cycle_count()), "the next cycle")
                seen = int(now)
                # churn: the oldest target goes (often in the middle of its
                # snapshot), a new one comes; its parent must be able to
                # reap it: a zombie the exporter keeps traced is never
                # handed back
                old = targets.pop(0)
                os.killpg(old.proc.pid, signal.SIGKILL)
                try:
                    old.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    check(False, f"a target killed during the exporter's cycles is reaped by its parent "
                                 f"(pid {old.pid}, TracerPid {tracer_pid(old.pid)})")
                    break
                targets.append(Target([deadlock]))
                replaced += 1
                ex.get("/report.json")
                ex.get("/debug/pprof/threads")
                if rss_warm is None and seen >= WARMUP:
                    rss_warm = rss_kib(ex.proc.pid)
            rss_end = rss_kib(ex.proc.pid)
            series = ex.metrics()
            print(f"cycles {seen}, targets replaced {replaced}, scans {value(series, 'leakscan_scans_total')}, "
                  f"RSS after warm-up {rss_warm} KiB, at the end {rss_end} KiB")
            check(rss_warm is not None and rss_end - rss_warm <= LIMIT_KIB,
                  f"RSS flat over {cycles} cycles of churning targets: {rss_warm} -> {rss_end} KiB "
                  f"(at most +{LIMIT_KIB} KiB)")
            check(value(series, "leakscan_targets") <= TARGETS + 1,
                  f"ended targets are forgotten ({value(series, 'leakscan_targets')} known)")
            check(ex.stop() == 0, "SIGTERM: exit 0")
    finally:
        for t in targets:
            t.kill()
        if old and old.proc.poll() is None:
            old.kill()          # after the exporter is gone, it can be reaped
        shutil.rmtree(tmp)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
