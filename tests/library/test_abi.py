#!/usr/bin/env python3
"""libleakscan.so exports what its version script lists and nothing else,
every function the public headers declare is exported under a version, and
its soname is libleakscan.so.0.

usage: test_abi.py LIBLEAKSCAN_SO VERSION_SCRIPT HEADER..."""
import re
import subprocess
import sys

lib, script = sys.argv[1:3]
headers = sys.argv[3:]
failures = []

text = re.sub(r'/\*.*?\*/', '', open(script).read(), flags=re.S)
listed = set(re.findall(r'^\s*(leakscan_\w+);', text, flags=re.M))
nodes = re.findall(r'^(LEAKSCAN_[\d.]+)\s*{', text, flags=re.M)

dyn = subprocess.run(['nm', '-D', '--defined-only', lib], capture_output=True, text=True, check=True).stdout
exported = {}
for line in dyn.splitlines():
    parts = line.split()
    if len(parts) == 3 and parts[1] in 'TWDBRVi':
        name, _, version = parts[2].partition('@@')
        exported[name] = version
if set(exported) != listed:
    failures.append('exported but not in the version script: %s; listed but not exported: %s' %
                    (sorted(set(exported) - listed), sorted(listed - set(exported))))
for name, version in exported.items():
    if version not in nodes:
        failures.append('%s is exported without a version node (%r)' % (name, version))

declared = set()
for h in headers:
    src = re.sub(r'/\*.*?\*/', '', open(h).read(), flags=re.S)
    src = re.sub(r'static inline[^{]*{.*?^}', '', src, flags=re.S | re.M)   # inline: not in the library
    declared |= set(re.findall(r'\b(leakscan_\w+)\s*\(', src))
declared -= {n for n in declared if n.startswith('leakscan_verify_options_make')}
missing = declared - listed
if missing:
    failures.append('declared in the headers but not exported: %s' % sorted(missing))

dynamic = subprocess.run(['objdump', '-p', lib], capture_output=True, text=True, check=True).stdout
if not re.search(r'SONAME\s+libleakscan\.so\.0$', dynamic, flags=re.M):
    failures.append('the soname is not libleakscan.so.0:\n' + dynamic)

for f in failures:
    print('FAIL:', f)
sys.exit(1 if failures else 0)
