#!/usr/bin/env python3
"""A package a distribution would take: `meson install` into a DESTDIR
installs the binary, its helper, the man page, the library, its headers,
pkg-config file and the completions; a small program builds against the
installed library with pkg-config and works; and `-Dtests=false` configures
only what is installed.

usage: test_install.py SOURCE_ROOT BUILD_ROOT"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

source, build = sys.argv[1:3]
failures = []


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)


with tempfile.TemporaryDirectory() as tmp:
    destdir = os.path.join(tmp, 'root')
    r = run(['meson', 'install', '-C', build, '--no-rebuild', '--quiet', '--destdir', destdir])
    if r.returncode:
        print(r.stdout, r.stderr)
        sys.exit('FAIL: meson install failed')
    installed = json.loads(run(['meson', 'introspect', build, '--installed'], check=True).stdout)
    prefix = run(['meson', 'introspect', build, '--buildoptions'], check=True).stdout
    options = {o['name']: o['value'] for o in json.loads(prefix)}
    paths = set(installed.values())

    def staged(path):
        return destdir + path

    wanted = {
        'the binary': os.path.join(options['prefix'], options['bindir'], 'leakscan'),
        'the helper': os.path.join(options['prefix'], options['libexecdir'], 'leakscan-verify-helper'),
        'the man page': os.path.join(options['prefix'], options['mandir'], 'man1', 'leakscan.1'),
        'the library': os.path.join(options['prefix'], options['libdir'], 'libleakscan.so.0.1.0'),
        'the header': os.path.join(options['prefix'], options['includedir'], 'leakscan', 'leakscan.h'),
        'the verify header': os.path.join(options['prefix'], options['includedir'], 'leakscan', 'verify.h'),
        'the gtest header': os.path.join(options['prefix'], options['includedir'], 'leakscan', 'gtest.h'),
        'the pkg-config file': os.path.join(options['prefix'], options['libdir'], 'pkgconfig', 'leakscan.pc'),
        'the bash completion': os.path.join(options['prefix'], options['datadir'], 'bash-completion',
                                            'completions', 'leakscan'),
        'the zsh completion': os.path.join(options['prefix'], options['datadir'], 'zsh', 'site-functions',
                                           '_leakscan'),
        'the licence': os.path.join(options['prefix'], options['datadir'], 'doc', 'leakscan', 'LICENSE'),
    }
    for what, path in wanted.items():
        if not os.path.exists(staged(path)):
            failures.append('%s is not installed at %s' % (what, path))
    for link in ('libleakscan.so.0', 'libleakscan.so'):
        if not os.path.islink(staged(os.path.join(options['prefix'], options['libdir'], link))):
            failures.append('%s is not installed' % link)

    libdir = staged(os.path.join(options['prefix'], options['libdir']))
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(libdir, 'pkgconfig'), PKG_CONFIG_SYSROOT_DIR=destdir,
               PKG_CONFIG_LIBDIR=os.path.join(libdir, 'pkgconfig') + ':/usr/lib/x86_64-linux-gnu/pkgconfig:'
               '/usr/lib/pkgconfig:/usr/share/pkgconfig')
    r = run(['pkg-config', '--cflags', '--libs', 'leakscan'], env=env)
    flags = r.stdout.split()
    if r.returncode or not any(f.startswith('-I' + destdir) for f in flags) or '-lleakscan' not in flags:
        failures.append('pkg-config --cflags --libs leakscan gave %r %r' % (r.stdout, r.stderr))
    else:
        program = os.path.join(tmp, 'verify-harness')
        r = run(['cc', '-Wall', '-Wextra', '-Werror', '-g', '-o', program,
                 os.path.join(source, 'examples', 'verify-harness.c'), '-pthread'] + flags, env=env)
        if r.returncode:
            failures.append('building against the installed library failed:\n' + r.stderr)
        else:
            env = dict(os.environ, LD_LIBRARY_PATH=libdir,
                       LEAKSCAN_VERIFY_HELPER=staged(wanted['the helper']))
            ldd = run(['ldd', program], env=env).stdout
            if libdir + '/libleakscan.so.0' not in ldd:
                failures.append('the program does not load the installed library:\n' + ldd)
            r = run([program], env=env)
            if r.returncode != 1 or 'ok   tidy' not in r.stdout or 'FAIL leaky' not in r.stdout or \
               'with consume on top of the stack' not in r.stderr:
                failures.append('the program built against the installed library does not work:\n%s%s' %
                                (r.stdout, r.stderr))
    r = run([staged(wanted['the binary']), '--version'])
    if r.returncode or 'leakscan' not in r.stdout:
        failures.append('the installed binary does not run: ' + r.stdout + r.stderr)

    # -Dtests=false: only what is installed (and the static library it is made of)
    small = os.path.join(tmp, 'build-notests')
    r = run(['meson', 'setup', small, source, '-Dtests=false'])
    if r.returncode:
        failures.append('meson setup -Dtests=false failed:\n' + r.stdout + r.stderr)
    else:
        targets = json.loads(run(['meson', 'introspect', small, '--targets'], check=True).stdout)
        extra = [t['name'] for t in targets if not t['installed'] and t['type'] not in ('static library', 'custom')]
        if extra:
            failures.append('-Dtests=false still builds %s' % extra)
        if json.loads(run(['meson', 'introspect', small, '--tests'], check=True).stdout):
            failures.append('-Dtests=false still defines tests')

for f in failures:
    print('FAIL:', f)
sys.exit(1 if failures else 0)
