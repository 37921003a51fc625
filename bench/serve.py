#!/usr/bin/env python3
"""Costs of leakscan --serve on real servers (docs/PERFORMANCE.md, issue 18):
starts redis-server (4 I/O threads) and memcached (4 workers) on 127.0.0.1
(each skipped when not installed), serves them by -p (never --match: other
servers of this machine are not ours to stop) at a short interval and no CPU budget
(to count cycles fast), and reports after CYCLES cycles: CPU per cycle (the
exporter's getrusage over its cycles), the stop of the targets (histogram:
median and the bucket of the longest), and the exporter's RSS after the
warm-up and at the end.  Not a test: timings do not belong in tests.
Usage: bench/serve.py LEAKSCAN [CYCLES]"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from servelib import Exporter, parse_metrics, rss_kib, value  # noqa: E402

WARMUP = 50


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def histogram(series, name):
    buckets = sorted((float(lab["le"]), v) for n, lab, v in series if n == name + "_bucket" and lab["le"] != "+Inf")
    total = value(series, name + "_count") or 0
    median = next((le for le, v in buckets if v >= total / 2), None)
    longest = next((le for le, v in buckets if v >= total), None)
    return total, median, longest


def main():
    leakscan = sys.argv[1]
    cycles = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    procs = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            if shutil.which("redis-server"):
                port = free_port()
                procs.append(subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                               "--io-threads", "4", "--save", "", "--appendonly", "no",
                                               "--dir", tmp], stdout=subprocess.DEVNULL, start_new_session=True))
                wait_port(port)
            if shutil.which("memcached") or os.path.exists("/usr/bin/memcached"):
                port = free_port()
                procs.append(subprocess.Popen(["/usr/bin/memcached", "-t", "4", "-p", str(port), "-l", "127.0.0.1",
                                               "-U", "0", "-u", "root"], stdout=subprocess.DEVNULL,
                                              start_new_session=True))
                wait_port(port)
            if not procs:
                print("no server installed")
                return 1
            pids = [a for p in procs for a in ("-p", str(p.pid))]
            with Exporter(leakscan, pids + ["--interval=100ms", "--cpu-budget=100%"]) as ex:
                def at(n):
                    return ex.wait_for(lambda: (lambda s: s if (value(s, "leakscan_scan_cycles_total") or 0) >= n
                                                else None)(ex.metrics()), f"{n} cycles", timeout=3600)
                warm = at(WARMUP)
                rss_warm = rss_kib(ex.proc.pid)
                end = at(WARMUP + cycles)
                rss_end = rss_kib(ex.proc.pid)
                n = value(end, "leakscan_scan_cycles_total") - value(warm, "leakscan_scan_cycles_total")
                cpu = value(end, "process_cpu_seconds_total") - value(warm, "process_cpu_seconds_total")
                total, median, longest = histogram(end, "leakscan_snapshot_stop_seconds")
                print(f"targets: {int(value(end, 'leakscan_targets'))} ({len(procs)} servers), cycles measured: {int(n)}")
                print(f"CPU per cycle: {cpu / n * 1000:.1f} ms ({cpu / n / value(end, 'leakscan_targets') * 1000:.1f} ms "
                      f"per target)")
                print(f"stops: {int(total)}, median <= {median * 1000:g} ms, longest <= {longest * 1000:g} ms")
                print(f"RSS after {WARMUP} cycles: {rss_warm} KiB, after {WARMUP + cycles}: {rss_end} KiB")
                print(f"skipped: {[(lab['reason'], v) for nm, lab, v in end if nm == 'leakscan_targets_skipped_total']}")
        finally:
            for p in procs:     # each in a session of its own: killed with it
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
