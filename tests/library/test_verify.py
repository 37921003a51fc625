#!/usr/bin/env python3
"""The in-process check from a plain C harness (examples/verify-harness.c):
exactly the leaky test fails, with a report naming the thread's function;
a tidy run prints nothing; a missing helper is one clear error.

usage: test_verify.py VERIFY_HARNESS HELPER"""
import os
import subprocess
import sys

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

for f in failures:
    print('FAIL:', f)
sys.exit(1 if failures else 0)
