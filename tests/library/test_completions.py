#!/usr/bin/env python3
"""Every option leakscan --help lists is in the bash and zsh completions,
and the bash completion completes options, their values and PROGRAM.

usage: test_completions.py LEAKSCAN BASH_COMPLETION ZSH_COMPLETION"""
import os
import re
import shutil
import subprocess
import sys

leakscan, bash_file, zsh_file = (os.path.abspath(a) for a in sys.argv[1:4])
failures = []
help_text = subprocess.run([leakscan, '--help'], capture_output=True, text=True, check=True).stdout
options = set()
for line in help_text.splitlines():
    m = re.match(r'^\s+(?:(-\w), )?(--[a-z][a-z0-9-]*)', line)
    if m:
        options |= {o for o in m.groups() if o}
if len(options) < 10:
    failures.append('found only %s in --help' % sorted(options))
for path in (bash_file, zsh_file):
    text = open(path).read()
    for opt in sorted(options):
        if not re.search(re.escape(opt) + r'(?![a-z0-9-])', text):
            failures.append('%s is not in %s' % (opt, path))

r = subprocess.run(['bash', '-n', bash_file], capture_output=True, text=True)
if r.returncode:
    failures.append('bash -n: ' + r.stderr)
if shutil.which('zsh'):
    r = subprocess.run(['zsh', '-n', zsh_file], capture_output=True, text=True)
    if r.returncode:
        failures.append('zsh -n: ' + r.stderr)


def complete(*words):
    """COMPREPLY for the command line `leakscan WORDS...` (the last word being completed)."""
    words = ['leakscan'] + list(words)
    script = 'source %s\nCOMP_WORDS=(%s)\nCOMP_CWORD=%d\n_leakscan 2>/dev/null\nprintf "%%s\\n" "${COMPREPLY[@]}"\n' % (
        bash_file, ' '.join("'%s'" % w for w in words), len(words) - 1)
    return subprocess.run(['bash', '-c', script], capture_output=True, text=True, cwd='/').stdout.split()


cases = [
    (('--for',), ['--format=']),
    (('--format=j',), ['json']),
    (('--format', 's'), ['sarif']),
    (('--format', '=', 'j'), ['json']),         # as bash splits at COMP_WORDBREAKS
    (('--color', '='), ['always', 'auto', 'never']),
    (('--color=',), ['always', 'auto', 'never']),
    (('--unwinder=',), ['fp', 'libdw']),
    (('-o', 'et'), ['etc']),
]
# values other options or builds add (a format, an unwinder) may come on top
for words, want in cases:
    got = sorted(complete(*words))
    if not set(want) <= set(got) or not all(re.match(r'^[\w./=-]+$', g) for g in got) or any(g.startswith('-') for g in got) != any(w.startswith('-') for w in want):
        failures.append('completing %s gave %s, expected %s' % (' '.join(words), got, want))
got = complete('--at-exit', 'bas')
if 'bash' not in got:
    failures.append('completing PROGRAM after --at-exit gave %s' % got)
got = complete('--at-exit', '--', 'ls', '--for')
if '--format=' in got:
    failures.append("PROGRAM's arguments were completed as leakscan's options")

for f in failures:
    print('FAIL:', f)
sys.exit(1 if failures else 0)
