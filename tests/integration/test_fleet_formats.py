#!/usr/bin/env python3
"""The formats for fleet tools: --format=prometheus passes `promtool check
metrics` on every output (pid mode with and without --all/--idle, at exit,
names that are not UTF-8) and says what the JSON report says (leaked threads
per verdict, leak sites, thread states); -o replaces its file whole (a
rename: a hard link to the old file keeps the old text, no temporary file
is left, the mode is what the umask gives).  --format=pprof opens in an
independent reader (`go tool pprof -raw`): one sample per thread with the
JSON's labels, the leaked threads' headline functions in their stacks.
Each part skips (77) only when its tool cannot be installed.
Usage: test_fleet_formats.py prometheus|pprof LEAKSCAN DEADLOCK_AB BADNAME"""
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from targetlib import Checks, Target, run_leakscan, switches, task_stat, tasks, wait_quiet  # noqa: E402

check = Checks()
SERIES = re.compile(r'^([a-z_]+)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-z_]+)="((?:[^"\\]|\\.)*)"')


def promtool_check(path, what):
    p = subprocess.run(["promtool", "check", "metrics"], stdin=open(path, "rb"), capture_output=True, text=True,
                       timeout=60)
    check(p.returncode == 0, f"{what}: promtool check metrics is clean ({(p.stdout + p.stderr).strip()[:300]})")


def parse_metrics(text):
    """[(name, {label: value}, value)]"""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SERIES.match(line)
        if not m:
            check(False, f"a series line parses: {line!r}")
            continue
        labels = {k: v for k, v in LABEL.findall(m.group(2) or "")}
        out.append((m.group(1), labels, float(m.group(3))))
    return out


def wait_asleep(pid, n):
    """Waits until the target has n threads, all asleep (they reached the
    waits the target sets up), by targetlib.wait_quiet's rule."""
    def look_now(pid):
        try:
            look = {tid: (task_stat(pid, tid)[1], switches(pid, tid)) for tid in tasks(pid)}
        except (FileNotFoundError, ProcessLookupError):
            return None
        return look if len(look) == n and all(st in "SD" for st, _ in look.values()) else None
    wait_quiet(pid, look_now)


def json_report(leakscan, pid, extra):
    code, out, err = run_leakscan(leakscan, ["-p", str(pid), "--format=json"] + extra)
    return json.loads(out)


def top_function(t):
    i = t["top_frame"] if t["top_frame"] is not None else 0
    return t["frames"][i]["function"] if t["frames"] else None


def prometheus(leakscan, deadlock, badname, tmp):
    for exe, n in ((deadlock, 3), (badname, 4)):
        with Target([exe]) as t:
            wait_asleep(t.pid, n)
            for extra in ([], ["--all"], ["--idle", "--min-blocked=0"]):
                what = f"{os.path.basename(exe)} {' '.join(extra)}".strip()
                path = os.path.join(tmp, "out.prom")
                code, out, err = run_leakscan(leakscan, ["-p", str(t.pid), "--format=prometheus", "-o", path] +
                                              extra)
                check(code in (0, 1), f"{what}: exit 0 or 1 ({code}, {err.strip()[:200]})")
                promtool_check(path, what)
                with open(path, encoding="utf-8") as f:
                    series = parse_metrics(f.read())
                doc = json_report(leakscan, t.pid, extra)
                threads = doc["processes"][0]["threads"]
                leaked = [x for x in threads if x["leaked"]]
                by_verdict = collections.Counter(x["verdict"] for x in leaked)
                got = {s[1]["verdict"]: s[2] for s in series if s[0] == "leakscan_leaked_threads"}
                check(all(got.get(v, 0) == n for v, n in by_verdict.items()) and sum(got.values()) == len(leaked),
                      f"{what}: leaked threads per verdict as in JSON ({got} vs {dict(by_verdict)})")
                for v in ("deadlock", "orphaned", "unreachable"):
                    check(v in got, f"{what}: a {v} series even when 0")
                states = collections.Counter(x["state"] for x in threads)
                got_states = {s[1]["state"]: s[2] for s in series if s[0] == "leakscan_threads"}
                check(got_states == dict(states), f"{what}: threads per state as in JSON")
                sites = collections.Counter(top_function(x) for x in leaked)
                got_sites = collections.Counter()
                for s in series:
                    if s[0] == "leakscan_leak_group_threads":
                        got_sites[s[1]["function"]] += int(s[2])
                check(got_sites == sites, f"{what}: leak sites as in JSON ({dict(got_sites)})")
                check(all(s[1].get("pid") == str(t.pid) for s in series if "pid" in s[1]),
                      f"{what}: every process series names the pid")
                check(not any("tid" in s[1] for s in series), f"{what}: no TID label")
            if exe == deadlock:
                sites = {s[1]["function"]: s[1]["location"] for s in series if s[0] == "leakscan_leak_group_threads"}
                check(set(sites) == {"alpha_work", "beta_work"} and
                      all(loc.endswith(f"deadlock_ab.c:{loc.rsplit(':', 1)[1]}") for loc in sites.values()),
                      f"deadlock_ab: the two leak sites with file:line ({sites})")

    # at exit: a process that ends
    path = os.path.join(tmp, "exit.prom")
    code, out, err = run_leakscan(leakscan, ["--at-exit", "--format=prometheus", "-o", path, "--", "/bin/true"])
    check(code == 0, f"--at-exit /bin/true: exit 0 ({code}, {err.strip()[:200]})")
    promtool_check(path, "--at-exit /bin/true")

    # -o replaces its file whole
    with Target([deadlock]) as t:
        wait_asleep(t.pid, 3)
        path = os.path.join(tmp, "leakscan.prom")
        link = os.path.join(tmp, "old.prom")
        with open(path, "w") as f:
            f.write("# old\n")
        os.link(path, link)
        old_umask = os.umask(0o022)
        try:
            code, out, err = run_leakscan(leakscan, ["-p", str(t.pid), "--format=prometheus", "-o", path])
        finally:
            os.umask(old_umask)
        with open(link) as f:
            check(f.read() == "# old\n", "-o renames a new file into place: the old file's other link is intact")
        with open(path) as f:
            check("leakscan_leaked_threads" in f.read(), "-o: the new file holds the metrics")
        check(os.stat(path).st_mode & 0o777 == 0o644, f"-o: mode 0644 under umask 022 ({oct(os.stat(path).st_mode)})")
        check(sorted(os.listdir(tmp)) == sorted(["out.prom", "exit.prom", "leakscan.prom", "old.prom"]),
              f"-o: no temporary file left ({sorted(os.listdir(tmp))})")
        code, out, err = run_leakscan(leakscan, ["-p", str(t.pid), "--format=prometheus", "-o",
                                                 os.path.join(tmp, "missing", "x.prom")])
        check(code == 3 and "cannot write the report" in err, f"-o into a missing folder: exit 3 and why ({code})")


def pprof_raw(path, tmp):
    env = dict(os.environ, HOME=tmp, PPROF_TMPDIR=tmp, GOCACHE=os.path.join(tmp, "gocache"), GOFLAGS="")
    p = subprocess.run(["go", "tool", "pprof", "-raw", path], capture_output=True, timeout=300, env=env,
                       stdin=subprocess.DEVNULL)
    raw = p.stdout.decode("utf-8", errors="replace")
    check("\ufffd" not in raw, "pprof -raw: every string is UTF-8")
    return p.returncode, raw, p.stderr.decode(errors="replace")


def parse_raw(text):
    """Samples [(labels {k: v}, [location ids])] and locations {id: [function names]}."""
    samples, locations = [], {}
    section = None
    cur = None
    for line in text.splitlines():
        if line in ("Samples:", "Locations", "Mappings"):
            section = line
            continue
        if section == "Samples:":
            m = re.match(r'^\s+(\d+): ([\d ]+)$', line)
            if m:
                cur = ({}, [int(x) for x in m.group(2).split()])
                samples.append(cur)
            elif cur and line.strip():
                for k, v in re.findall(r'(\w+):\[([^\]]*)\]', line):
                    cur[0][k] = v
        elif section == "Locations":
            m = re.match(r'^\s+(\d+): 0x[0-9a-f]+ M=\d+ (\S+)', line)
            if m:
                cur_loc = int(m.group(1))
                locations[cur_loc] = [m.group(2)]
            else:
                m = re.match(r'^\s+(\S+) .*s=\d+$', line)   # an inlined line of the same location
                if m and locations:
                    locations[max(locations)].append(m.group(1))
    return samples, locations


def pprof(leakscan, deadlock, badname, tmp):
    for exe, n in ((deadlock, 3), (badname, 4)):
        with Target([exe]) as t:
            wait_asleep(t.pid, n)
            path = os.path.join(tmp, "threads.pb.gz")
            code, out, err = run_leakscan(leakscan, ["-p", str(t.pid), "--format=pprof", "-o", path])
            what = os.path.basename(exe)
            check(code in (0, 1), f"{what}: exit 0 or 1 ({code}, {err.strip()[:200]})")
            with open(path, "rb") as f:
                check(f.read(2) == b"\x1f\x8b", f"{what}: gzip")
            rc, raw, rerr = pprof_raw(path, tmp)
            check(rc == 0, f"{what}: go tool pprof -raw reads it ({rerr.strip()[:300]})")
            check("PeriodType: threads count" in raw, f"{what}: threads/count, as a goroutine profile")
            samples, locations = parse_raw(raw)
            doc = json_report(leakscan, t.pid, [])
            threads = {x["tid"]: x for x in doc["processes"][0]["threads"]}
            by_tid = {int(s[0].get("tid", "0")): s for s in samples}
            check(sorted(by_tid) == sorted(threads), f"{what}: one sample per thread ({sorted(by_tid)})")
            for tid, x in threads.items():
                s = by_tid.get(tid)
                if not s:
                    continue
                labels = s[0]
                check(labels.get("state") == x["state"] and labels.get("verdict") == x["verdict"] and
                      labels.get("leaked") == str(x["leaked"]).lower(),
                      f"{what}: thread {tid}: state, verdict, leaked labels ({labels})")
                stack = [fn for loc in s[1] for fn in locations.get(loc, [])]
                want = [fr["function"] for fr in x["frames"] if fr["function"]]
                check(stack == want, f"{what}: thread {tid}: the stack's functions in order ({stack[:4]}...)")
                if x["leaked"]:
                    check(top_function(x) in stack, f"{what}: leaked thread {tid}: {top_function(x)} in its stack")


def main():
    mode, leakscan, deadlock, badname = sys.argv[1:5]
    tool = {"prometheus": "promtool", "pprof": "go"}[mode]
    if not shutil.which(tool):
        print(f"SKIP: {tool} is not installed (scripts/setup.sh installs "
              f"{'prometheus' if mode == 'prometheus' else 'golang-go'})")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        (prometheus if mode == "prometheus" else pprof)(leakscan, deadlock, badname, tmp)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
