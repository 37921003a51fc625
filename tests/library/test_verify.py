#!/usr/bin/env python3
"""The in-process check from a plain C harness (examples/verify-harness.c):
exactly the leaky test fails, with a report naming the thread's function;
a tidy run prints nothing; a missing helper is one clear error.  The
helper analyses the test process in a confined child (src/capture/capturer.h):
held by LEAKSCAN_TEST_HOLD_ANALYSER=FIFO until the FIFO's writer closes, it
has no capability, no_new_privs, a non-root uid and Seccomp: 2, and the
report is the same.

usage: test_verify.py VERIFY_HARNESS HELPER"""
import os
import re
import subprocess
import sys
import tempfile
import time

harness, helper = sys.argv[1:3]
env = dict(os.environ, LEAKSCAN_VERIFY_HELPER=helper)
failures = []


def check(cond, what, out=''):
    if not cond:
        failures.append(what + ('\n' + out if out else ''))


p = subprocess.run([harness], env=env, capture_output=True, text=True, timeout=60)
out = p.stdout + p.stderr
check(p.returncode == 1, 'the harness should fail (one leaky test), got %d' % p.returncode, out)
lines = p.stdout.split()
check('ok   tidy' in p.stdout, 'tidy should pass', out)
check('ok   finishes_soon' in p.stdout, 'finishes_soon should pass: its thread ends within the grace', out)
check('FAIL leaky: left threads behind' in p.stdout, 'leaky should fail', out)
check(p.stdout.count('FAIL') == 1, 'only leaky should fail', out)
check('found 1 unexpected thread' in p.stderr, 'the report should count one thread', out)
check('with consume on top of the stack' in p.stderr, "the report should name the thread's function", out)
check('in state condvar' in p.stderr and 'work_ready' in p.stderr, 'the report should say what it waits on', out)

# a test that leaves nothing: nothing printed
p = subprocess.run([harness, 'tidy'], env=env, capture_output=True, text=True, timeout=60)
check(p.returncode == 0 and p.stderr == '', 'a tidy test alone passes silently', p.stdout + p.stderr)

# without the helper: the check fails, saying what to do
p = subprocess.run([harness, 'tidy'], env=dict(env, LEAKSCAN_VERIFY_HELPER='/nonexistent/helper'),
                   capture_output=True, text=True, timeout=60)
check(p.returncode == 1 and 'could not check threads' in p.stdout, 'a missing helper fails the test',
      p.stdout + p.stderr)
check('LEAKSCAN_VERIFY_HELPER' in p.stderr and 'No such file' in p.stderr,
      'a missing helper is explained with its remedy', p.stderr)



def status_of(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def analyser_under(root):
    """The confined analyser (ls-analyser, Seccomp: 2) among root's descendants."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            st = status_of(pid)
            if st.get("Name") != "ls-analyser" or st.get("Seccomp") != "2":
                continue
            parent = int(st["PPid"])
            while parent > 1 and parent != root:
                parent = int(status_of(parent)["PPid"])
            if parent == root:
                return int(pid)
        except (FileNotFoundError, ProcessLookupError, KeyError, ValueError):
            pass
    return None


direct = subprocess.run([harness, 'leaky'], env=dict(env, LEAKSCAN_ANALYSE_IN_PROCESS='1'), capture_output=True,
                        text=True, timeout=60)
with tempfile.TemporaryDirectory(prefix='leakscan-verify-') as tmp:
    fifo = os.path.join(tmp, 'hold')
    os.mkfifo(fifo)
    p = subprocess.Popen([harness, 'leaky'], env=dict(env, LEAKSCAN_TEST_HOLD_ANALYSER=fifo),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    w, child = None, None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (w is None or child is None):
            if w is None:
                try:
                    w = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)    # once the analyser reads it
                except OSError:
                    pass
            if w is not None:
                child = analyser_under(p.pid)
            time.sleep(0.01)
        check(child is not None, 'verify_none: the analyser is a confined child (Seccomp: 2)')
        if child:
            st = status_of(child)
            check(int(st['CapEff'], 16) == 0 and int(st['CapPrm'], 16) == 0,
                  'verify_none: the analyser has no capability (CapEff %s)' % st['CapEff'])
            check(st['NoNewPrivs'] == '1', 'verify_none: the analyser has no_new_privs')
            uids = [int(u) for u in st['Uid'].split()]
            check(uids == [65534] * 4 if os.geteuid() == 0 else 0 not in uids,
                  'verify_none: the analyser is not root (Uid %s)' % st['Uid'])
    finally:
        if w is not None:
            os.close(w)
        out, err = p.communicate(timeout=60)
    # PIDs, TIDs, addresses and times differ from run to run, and so does
    # whether a thread had to be stopped to be read (one that moved during
    # each of its stop-free readings is: on a loaded machine, the caller's
    # thread in read()), which a stop note says
    unstopped = lambda text: '\n'.join(l for l in text.split('\n') if 'leakscan stopped' not in l)
    strip = lambda text: re.sub(r'0x[0-9a-f]+|\d+', 'N',
                                re.sub(r' blocked [0-9.]+[a-z]*,', ' blocked,', unstopped(text)))
    check(p.returncode == direct.returncode == 1 and strip(err) == strip(direct.stderr) and out == direct.stdout,
          'verify_none: the sandboxed analysis gives the same report (%d)' % p.returncode, err + direct.stderr)

for f in failures:
    print('FAIL:', f)
sys.exit(1 if failures else 0)
