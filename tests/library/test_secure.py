#!/usr/bin/env python3
"""What the library and its helper do for a caller with other rights than
theirs (issue #17):

- a set-user-ID program's caller cannot name the helper it runs: the
  library reads LEAKSCAN_VERIFY_HELPER with secure_getenv;
- the helper refuses to run set-user-ID (AT_SECURE), and started by hand
  with a --pid that is not its parent, refuses to read that process.

Needs root (to make a set-user-ID copy and run it as nobody) and setpriv;
skips (77) without them.

usage: test_secure.py SECURE_ENV_PROGRAM HELPER"""
import os
import shutil
import subprocess
import sys
import tempfile

program, helper = sys.argv[1:3]
failures = []


def check(cond, what, out=''):
    print(('ok   ' if cond else 'FAIL ') + what)
    if not cond:
        failures.append(what + ('\n' + out if out else ''))


def as_nobody(argv, env, stdin=subprocess.DEVNULL):
    return subprocess.run(['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'] + argv,
                          env=env, capture_output=True, text=True, timeout=60, stdin=stdin)


def main():
    # started by hand with another process's pid: refused
    target = subprocess.Popen(['sleep', '60'])
    try:
        p = subprocess.run([helper, f'--pid={target.pid}', f'--caller={target.pid}'], capture_output=True,
                           text=True, timeout=60, stdin=subprocess.DEVNULL)
        check(p.stdout.startswith('error -1 ') and 'not the process that started it' in p.stdout,
              f'the helper refuses a --pid that is not its parent ({p.stdout.strip()[:200]!r})')
    finally:
        target.kill()
        target.wait()

    if os.geteuid() != 0 or not shutil.which('setpriv'):
        print('skip: the set-user-ID checks need root and setpriv')
        return 77 if not failures else 1
    with tempfile.TemporaryDirectory(prefix='leakscan-secure-') as tmp:
        os.chmod(tmp, 0o755)
        drop = os.path.join(tmp, 'drop')
        os.mkdir(drop)
        os.chmod(drop, 0o1777)
        marker = os.path.join(drop, 'ran')
        evil = os.path.join(tmp, 'evil-helper')
        with open(evil, 'w') as f:
            f.write(f'#!/bin/sh\ntouch {marker}\necho "leaked 0"\n')
        os.chmod(evil, 0o755)
        suid_program = os.path.join(tmp, 'secure-env')
        shutil.copy(program, suid_program)
        os.chmod(suid_program, 0o4755)
        suid_helper = os.path.join(tmp, 'helper')
        shutil.copy(helper, suid_helper)
        os.chmod(suid_helper, 0o4755)
        env = dict(os.environ, LEAKSCAN_VERIFY_HELPER=evil)

        p = as_nobody([suid_program], env)
        check(p.returncode == 0 and 'returned' in p.stdout,
              f'the set-user-ID program runs ({p.returncode}: {p.stdout.strip()[:200]!r} {p.stderr.strip()[:200]!r})')
        check(not os.path.exists(marker) and 'returned 0' not in p.stdout,
              f'a set-user-ID program does not run the helper its caller names ({p.stdout.strip()[:300]!r})')

        # the helper itself, set-user-ID, run by nobody against its parent
        # (setpriv execs it in place: this script is its parent)
        p = as_nobody([suid_helper, f'--pid={os.getpid()}', f'--caller={os.getpid()}'], dict(os.environ))
        check(p.stdout.startswith('error -1 ') and 'set-user-ID' in p.stdout,
              f'the helper refuses to run set-user-ID ({p.stdout.strip()[:200]!r})')

    for f in failures:
        print('FAIL:', f)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
