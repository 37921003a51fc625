#!/usr/bin/env python3
"""The GoogleTest listener (include/leakscan/gtest.h) fails exactly the test
that leaves a thread behind, with leakscan's report in its failure message.

usage: test_gtest.py GTEST_LISTENER HELPER"""
import json
import os
import subprocess
import sys
import tempfile

binary, helper = sys.argv[1:3]
failures = []
with tempfile.TemporaryDirectory() as tmp:
    out_json = os.path.join(tmp, 'out.json')
    p = subprocess.run([binary, '--gtest_output=json:' + out_json],
                       env=dict(os.environ, LEAKSCAN_VERIFY_HELPER=helper),
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 1:
        failures.append('the binary should fail (exit 1), got %d' % p.returncode)
    with open(out_json) as f:
        result = json.load(f)
tests = {}
for suite in result['testsuites']:
    for t in suite['testsuite']:
        tests[suite['name'] + '.' + t['name']] = [x['failure'] for x in t.get('failures', [])]
expected = {'QueueTest.Tidy', 'QueueTest.Leaky', 'QueueTest.EndsWithinGrace', 'PoolTest.IgnoredPool'}
if set(tests) != expected:
    failures.append('ran %s, expected %s' % (sorted(tests), sorted(expected)))
failed = sorted(name for name, f in tests.items() if f)
if failed != ['QueueTest.Leaky']:
    failures.append('failed: %s; expected exactly QueueTest.Leaky' % failed)
message = '\n'.join(tests.get('QueueTest.Leaky', []))
for want in ('the test left 1 thread behind', 'found 1 unexpected thread', 'Flusher::run()', 'in state condvar'):
    if want not in message:
        failures.append('the failure message lacks %r:\n%s' % (want, message))
for f in failures:
    print('FAIL:', f)
if failures:
    print(p.stdout, p.stderr)
sys.exit(1 if failures else 0)
