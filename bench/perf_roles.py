#!/usr/bin/env python3
"""Where the CPU of runs of leakscan goes, by process role: a `perf record`
(no -a; children followed) of a shell that runs leakscan N times, each
sample given to leakscan's start (exec to its first fork), leakscan's main
thread after it, its threads, or a child by the order leakscan forked it
and by what it later became (a name set with prctl, or a program it
exec'd), samples in the dynamic loader apart.  With --at-exit --follow-forks
the children are, in order: 1 the thread-exit probe (seccomp.c), 2 the
signal probe (signals.c), 3 the program (before and after its exec),
4 the guardian, 5 and on the analyser of each judged process.

  perf record -o perf.data -F 20000 sh -c 'for i in $(seq 100); do \\
      build/leakscan --at-exit --follow-forks -- /bin/true; done'
  bench/perf_roles.py perf.data [ROLE-PREFIX]     # with a prefix: its symbols

ms per run assume -F 20000 (one sample every 0.05 ms); give -F's value
with --freq otherwise."""
import argparse
import collections
import re
import subprocess

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("data")
ap.add_argument("role", nargs="?", help="print the top symbols of the roles starting with this")
ap.add_argument("--freq", type=float, default=20000)
a = ap.parse_args()

out = subprocess.run(["perf", "script", "-i", a.data, "--show-task-events", "-F", "pid,tid,comm,event,ip,sym,dso"],
                     capture_output=True, text=True).stdout
role = {}            # tid -> role
forked = {}          # leakscan main pid -> children forked so far
mains = set()
samples = collections.Counter()
syms = collections.Counter()
runs = 0
for line in out.splitlines():
    m = re.match(r'\s*(\S.*?)\s+(\d+)/(\d+)\s+(.*)$', line)
    if not m:
        continue
    comm, pid, tid, rest = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)
    if 'PERF_RECORD_COMM exec' in rest:
        if comm == 'leakscan' and tid not in role:
            mains.add(pid)
            forked[pid] = 0
            role[tid] = 'leakscan: start'
            runs += 1
        elif tid in role and comm != 'leakscan':
            role[tid] = role[tid].split(' ->')[0] + ' -> exec ' + comm
        continue
    if 'PERF_RECORD_COMM' in rest:
        if tid in role:
            role[tid] = role[tid].split(' [')[0] + f' [{comm}]'
        continue
    fm = re.search(r'PERF_RECORD_FORK\((\d+):(\d+)\):\((\d+):(\d+)\)', rest)
    if fm:
        cpid, ctid, ppid, ptid = map(int, fm.groups())
        if ppid in mains and cpid == ctid:
            forked[ppid] += 1
            role[ctid] = f'child {forked[ppid]}'
            if role.get(ptid) == 'leakscan: start':
                role[ptid] = 'leakscan: main'
        elif ppid in mains:
            role[ctid] = 'leakscan: thread'
        elif ptid in role:
            role[ctid] = role[ptid] + (' thread' if cpid != ctid else ' child')
        continue
    if 'cpu-clock' in rest or 'cycles' in rest:
        r = role.get(tid, 'other (the shell, ...)')
        dso = rest.split()[-1] if rest.split() else ''
        samples[r + (' (ld.so)' if 'ld-linux' in dso else '')] += 1
        samples['TOTAL'] += 1
        if a.role and r.startswith(a.role):
            syms[" ".join(rest.split()[2:])] += 1
print(f'runs of leakscan: {runs}')
per_ms = 1000.0 / a.freq / max(runs, 1)
for r, n in sorted(samples.items(), key=lambda x: -x[1]):
    print(f'{n:7d} {n * per_ms:8.3f} ms/run  {r}')
for k, n in syms.most_common(30):
    print(f'{n:7d} {k}')
