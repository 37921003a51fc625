#!/usr/bin/env python3
"""Public structs only grow at their end: every field recorded in
abi-0.layout (the layout of libleakscan.so.0's first release) is still at
its offset with its size, no struct shrank, and the frozen ones
(leakscan_options: the caller allocates it; leakscan_wait_object: embedded
in a thread) did not change size at all.  New fields need no entry here;
a field moved or inserted in the middle fails, and calls for a soname bump.

usage: test_abi_layout.py CC INCLUDE_DIR abi-0.layout"""
import os
import shlex
import subprocess
import sys
import tempfile

cc, include, reference = sys.argv[1:4]
FROZEN = {'leakscan_options', 'leakscan_wait_object'}
records = [line.split() for line in open(reference) if line.strip() and not line.startswith('#')]

program = ['#include <stddef.h>', '#include <stdio.h>', '#include <leakscan/leakscan.h>', 'int main(void) {']
for rec in records:
    if rec[0] == 'sizeof':
        program.append('printf("sizeof %s %%zu\\n", sizeof(struct %s));' % (rec[1], rec[1]))
    else:
        program.append('printf("%s %s %%zu %%zu\\n", offsetof(struct %s, %s), sizeof(((struct %s *) 0)->%s));'
                       % (rec[0], rec[1], rec[0], rec[1], rec[0], rec[1]))
program.append('return 0; }')
with tempfile.TemporaryDirectory() as tmp:
    src, exe = os.path.join(tmp, 'layout.c'), os.path.join(tmp, 'layout')
    open(src, 'w').write('\n'.join(program) + '\n')
    r = subprocess.run(shlex.split(cc) + ['-I', include, src, '-o', exe], capture_output=True, text=True)
    if r.returncode:
        sys.exit('FAIL: a recorded field is gone (a break: bump the soname):\n' + r.stderr)
    now = [line.split() for line in subprocess.run([exe], capture_output=True, text=True, check=True).stdout.splitlines()]
failures = []
for was, is_ in zip(records, now):
    if was[0] == 'sizeof':
        if int(is_[2]) < int(was[2]) or (was[1] in FROZEN and is_[2] != was[2]):
            failures.append('struct %s was %s bytes, is %s' % (was[1], was[2], is_[2]))
    elif was[2:] != is_[2:]:
        failures.append('struct %s: field %s was at offset %s (size %s), is at %s (size %s)' %
                        (was[0], was[1], was[2], was[3], is_[2], is_[3]))
for f in failures:
    print('FAIL:', f)
if failures:
    print('Fields are only appended at the end of a struct (include/leakscan/leakscan.h, ABI policy).')
sys.exit(1 if failures else 0)
