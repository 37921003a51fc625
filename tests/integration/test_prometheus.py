#!/usr/bin/env python3
"""A real Prometheus scraping leakscan --serve: Debian's prometheus on a free
port of 127.0.0.1, its storage in a temporary folder, scraping the exporter
every second, with deploy/prometheus/leakscan-rules.yml loaded.  Through
its HTTP query API: the deadlocked target's leaks arrive with the right
labels (pid, comm, verdict, job, instance), its two leak sites with their
functions, the ranking query of the README answers, and the rules load
healthy.  Every wait is for a condition with a deadline; everything
started is stopped.  Skips (77) only when prometheus cannot be installed.
Usage: test_prometheus.py LEAKSCAN DEADLOCK_AB RULES"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from servelib import Exporter  # noqa: E402
from targetlib import Checks, Target  # noqa: E402

check = Checks()
DEADLINE_S = 180


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(base, path, **params):
    url = f"{base}/api/v1/{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return json.loads(resp.read())
    except OSError:
        return None


def wait(cond, what, proc):
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prometheus exited ({proc.returncode}) while waiting for {what}")
        v = cond()
        if v:
            return v
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


def query(base, expr):
    doc = api(base, "query", query=expr)
    return doc["data"]["result"] if doc and doc.get("status") == "success" else None


def main():
    leakscan, deadlock, rules = sys.argv[1:4]
    prometheus = shutil.which("prometheus")
    if not prometheus:
        print("SKIP: prometheus is not installed (scripts/setup.sh installs it)")
        return 77
    with tempfile.TemporaryDirectory() as tmp, Target([deadlock]) as t, \
            Exporter(leakscan, ["-p", str(t.pid), "--interval=500ms", "--cpu-budget=100%"]) as ex:
        target = ex.url.split("://", 1)[1]
        config = os.path.join(tmp, "prometheus.yml")
        with open(config, "w") as f:
            f.write(f"global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    f"rule_files:\n  - {rules}\n"
                    f"scrape_configs:\n  - job_name: leakscan\n    static_configs:\n"
                    f"      - targets: ['{target}']\n")
        proc = None
        for attempt in range(3):        # the free port may be taken meanwhile
            port = free_port()
            log = open(os.path.join(tmp, f"prometheus-{attempt}.log"), "w")
            proc = subprocess.Popen([prometheus, f"--config.file={config}",
                                     f"--storage.tsdb.path={os.path.join(tmp, 'data')}",
                                     f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
            base = f"http://127.0.0.1:{port}"
            try:
                wait(lambda: api(base, "status/buildinfo"), "prometheus to answer", proc)
                break
            except RuntimeError as e:
                print(f"note: prometheus attempt {attempt}: {e}")
                proc.kill()
                proc.wait()
                proc = None
        check(proc is not None, "prometheus started on 127.0.0.1")
        if proc is None:
            return check.finish()
        try:
            res = wait(lambda: query(base, f'leakscan_leaked_threads{{verdict="deadlock",pid="{t.pid}"}} == 2'),
                       "the deadlocked threads in Prometheus", proc)
            labels = res[0]["metric"]
            check(labels.get("comm") == "deadlock_ab" and labels.get("job") == "leakscan" and
                  labels.get("instance") == target and labels.get("pid") == str(t.pid),
                  f"leakscan_leaked_threads arrives with pid, comm, job, instance ({labels})")
            sites = wait(lambda: query(base, f'leakscan_leak_group_threads{{pid="{t.pid}"}}'), "the leak sites", proc)
            functions = sorted(s["metric"]["function"] for s in sites)
            check(functions == ["alpha_work", "beta_work"] and
                  all(s["metric"]["location"].startswith("/") and ".c:" in s["metric"]["location"] for s in sites),
                  f"leakscan_leak_group_threads: the two leak sites with file:line ({functions})")
            ranked = wait(lambda: query(base, "topk(10, sum by (function, location) (leakscan_leak_group_threads))"),
                          "the ranking query", proc)
            check(sorted(r["metric"]["function"] for r in ranked) == ["alpha_work", "beta_work"],
                  "the README's ranking query answers")
            rec = wait(lambda: query(base, "leak_site:leakscan_leak_group_threads:sum"), "the recording rule", proc)
            check(len(rec) == 2, "the recording rule of deploy/prometheus runs")

            def rules_loaded():
                doc = api(base, "rules")
                groups = doc["data"]["groups"] if doc else []
                return groups if groups and all(r.get("health") == "ok" for g in groups for r in g["rules"]) \
                    and all(r.get("lastEvaluation", "0001").startswith("20") for g in groups for r in g["rules"]) \
                    else None
            groups = wait(rules_loaded, "the rules evaluated", proc)
            check(sum(len(g["rules"]) for g in groups) == 4, "deploy/prometheus/leakscan-rules.yml: 4 rules, healthy")
            up = wait(lambda: query(base, 'up{job="leakscan"} == 1'), "up", proc)
            check(bool(up), "the exporter's scrape is up")
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
