#!/usr/bin/env python3
"""leakscan --at-exit as a test runner's post-test hook, with the real
runners: meson test --wrapper, meson's add_test_setup(exe_wrapper), ctest
with CROSSCOMPILING_EMULATOR, automake's LOG_COMPILER, and a plain shell
loop.  The project tests/wrapper has a leaking test and a tidy one; under
each runner the leaking one must fail with leakscan's report pointing at the
line that started the leaked thread, and the tidy one must pass.
Usage: test_wrappers.py LEAKSCAN WRAPPER_PROJECT_DIR"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from targetlib import Checks  # noqa: E402

check = Checks()


def sh(cmd, cwd, env=None):
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL,
                       timeout=300)
    return p.returncode, p.stdout + p.stderr


def marker_line(path, mark):
    for n, text in enumerate(open(path), 1):
        if "@" + mark in text:
            return n
    raise RuntimeError(mark)


def main():
    leakscan, project = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    line = marker_line(os.path.join(project, "leaky.c"), "flusher-spawn")
    report = re.compile(r"found 1 unexpected thread .*?created by start_background_flusher at \S*leaky\.c:%d" % line,
                        re.S)
    work = tempfile.mkdtemp(prefix="leakscan-wrappers-")
    try:
        # meson test --wrapper
        build = os.path.join(work, "meson")
        code, out = sh(["meson", "setup", build, project, f"-Dleakscan={leakscan}"], work)
        check(code == 0, f"meson setup of the wrapped project ({out[-300:] if code else ''})")
        code, out = sh(["meson", "test", "-C", build, f"--wrapper={leakscan} --at-exit --", "--print-errorlogs"], work)
        check(code != 0 and re.search(r"\bleaky\s+FAIL", out) and re.search(r"\btidy\s+OK", out)
              and report.search(out),
              "meson test --wrapper='leakscan --at-exit --': leaky fails with the report, tidy passes")
        # meson test --setup (add_test_setup exe_wrapper)
        code, out = sh(["meson", "test", "-C", build, "--setup=leakscan", "--print-errorlogs"], work)
        check(code != 0 and re.search(r"\bleaky\s+FAIL", out) and re.search(r"\btidy\s+OK", out)
              and report.search(out),
              "meson test --setup=leakscan (exe_wrapper): the same")
        code, out = sh(["meson", "test", "-C", build], work)
        check(code == 0, "the same tests without leakscan pass (the leak is invisible to them)")

        # ctest
        if shutil.which("cmake"):
            build = os.path.join(work, "cmake")
            code, out = sh(["cmake", "-S", project, "-B", build, "-DCMAKE_BUILD_TYPE=Debug", f"-DLEAKSCAN={leakscan}"], work)
            check(code == 0, f"cmake configure ({out[-300:] if code else ''})")
            code, out = sh(["cmake", "--build", build], work)
            code, out = sh(["ctest", "--test-dir", build, "--output-on-failure"], work)
            check(code != 0 and re.search(r"leaky \.+\*+Failed", out) and re.search(r"tidy \.+ +Passed", out)
                  and report.search(out),
                  "ctest with CROSSCOMPILING_EMULATOR: leaky fails with the report, tidy passes")
        else:
            check(False, "cmake is not installed (scripts/test installs it)")

        # automake
        if shutil.which("autoreconf"):
            src = os.path.join(work, "automake")
            shutil.copytree(project, src)
            code, out = sh(["autoreconf", "-i"], src)
            check(code == 0, f"autoreconf ({out[-300:] if code else ''})")
            code, out = sh(["./configure", "-q"], src)
            code, out = sh(["make", "-s", "check", f"LEAKSCAN={leakscan}"], src)
            with open(os.path.join(src, "leaky.log")) as f:
                log = f.read()
            check(code != 0 and "FAIL: leaky" in out and "PASS: tidy" in out and report.search(log),
                  "automake LOG_COMPILER: leaky fails with the report in leaky.log, tidy passes")
        else:
            check(False, "automake is not installed (scripts/test installs it)")

        # a plain shell loop, for any runner
        build = os.path.join(work, "meson")
        loop = (f'fail=0; for t in {build}/leaky {build}/tidy; do '
                f'{leakscan} --at-exit -- "$t" >/dev/null || {{ echo "LEAK-FAIL $(basename $t)"; fail=1; }}; '
                f'done; exit $fail')
        code, out = sh(["sh", "-c", loop], work)
        check(code == 1 and "LEAK-FAIL leaky" in out and "LEAK-FAIL tidy" not in out and report.search(out),
              "a shell loop over test binaries flags the leaky one only")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
