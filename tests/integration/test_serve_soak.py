#!/usr/bin/env python3
"""An accelerated soak of leakscan --serve: a short interval, targets that
come and go (one replaced after every cycle, so each cycle meets a new
process and forgets an old one, and some die during their snapshot),
scraped all along.  Each one killed must be reaped by its parent at once:
a target that dies traced is a zombie only its tracer can hand back.  The exporter's
anonymous RSS (RssAnon: the pages of the files it maps, libraries and
debug info, come and go with the page cache and the load), sampled at
every cycle after WARMUP, must be at its lowest in the second half of the
cycles no higher than LIMIT_KIB above its lowest in the first half: what
it keeps between snapshots stays flat once it has reached its working
size (a leaked thread's stack or mapping raises it; the big buffers of a
snapshot in progress come and go, and malloc's mmap threshold is fixed so
that they stay mappings).  So does the heap it has in use at its lowest
in each half (leakscan_heap_inuse_bytes, from mallinfo2), which shows a
leak far smaller than the RSS can (when that is reached varies with the
load and with MALLOC_PERTURB_, which meson sets and which makes malloc
touch every page it hands out).  Bounded: it stops after the cycles or at
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
from servelib import Exporter, malloc_arenas, rss_kib, value  # noqa: E402
from targetlib import Checks, Target, tracer_pid  # noqa: E402

check = Checks()
WARMUP = 50
LIMIT_KIB = 1024
HEAP_LIMIT_KIB = 256    # a forgotten target's report left behind is ~5 KiB: 150 of them fail
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
        # malloc's threshold for mmap fixed at its default (glibc raises it
        # to the size of the largest mmapped block freed, up to 32 MiB):
        # else a snapshot's big buffers move into an arena's heap at the
        # first such free, which may come late on a loaded machine, and the
        # arena's RSS steps up once by their size (+3.7 MiB), for good
        env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072")
        with Exporter(leakscan, [f"--match=^{deadlock}$", "--interval=20ms", "--cpu-budget=100%"], env=env) as ex:
            def cycle_count():
                return value(ex.metrics(), "leakscan_scan_cycles_total") or 0

            seen = 0
            samples = []        # (cycle, RSS KiB) after the warm-up
            arenas = []         # (cycle, [KiB of each arena])
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
                if seen >= WARMUP:
                    heap = value(ex.metrics(), "leakscan_heap_inuse_bytes")
                    samples.append((seen, rss_kib(ex.proc.pid, "RssAnon"), heap / 1024 if heap is not None else None))
                    arenas.append((seen, malloc_arenas(ex.proc.pid)))
            series = ex.metrics()
            middle = (samples[0][0] + samples[-1][0]) / 2 if samples else 0
            # the RSS at its lowest in each half (between snapshots, whose
            # buffers come and go): what the exporter keeps
            first = min((r for c, r, h in samples if c <= middle), default=None)
            second = min((r for c, r, h in samples if c > middle), default=None)
            # the heap in use at its lowest (between snapshots) in each half
            heap_first = min((h for c, r, h in samples if c <= middle and h is not None), default=None)
            heap_second = min((h for c, r, h in samples if c > middle and h is not None), default=None)
            print(f"cycles {seen}, targets replaced {replaced}, scans {value(series, 'leakscan_scans_total')}, "
                  f"RSS at its lowest {first} KiB in the first half after warm-up, {second} KiB in the second "
                  f"(first sample {samples[0] if samples else None}, last {samples[-1] if samples else None})")
            print(f"heap in use at its lowest: {heap_first} KiB in the first half, {heap_second} KiB in the second")
            changes = [a for i, a in enumerate(arenas) if i == 0 or a[1] != arenas[i - 1][1]]
            print(f"malloc arenas (cycle, KiB mapped rw each), as they changed: {changes}")
            rss_changes = [x[:2] for i, x in enumerate(samples) if i == 0 or x[1] != samples[i - 1][1]]
            print(f"RSS (cycle, KiB), as it changed: {rss_changes}")
            check(heap_first is not None and heap_second is not None and heap_second - heap_first <= HEAP_LIMIT_KIB,
                  f"heap in use flat: {heap_first:.0f} -> {heap_second:.0f} KiB (at most +{HEAP_LIMIT_KIB} KiB)"
                  if heap_first is not None and heap_second is not None else "heap in use sampled")
            check(first is not None and second is not None and second - first <= LIMIT_KIB,
                  f"RSS flat over {cycles} cycles of churning targets: lowest {first} -> {second} KiB "
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
