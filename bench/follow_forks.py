#!/usr/bin/env python3
"""What whole test suites cost under `leakscan --at-exit --follow-forks`
(issue 16 item 6: at most 1.1x the bare run).

Each case is run bare, under this tree's leakscan and under every
--compare build, paired: within a round every test is run once per tool,
the tools in an order that rotates from round to round, so that the load of
a shared machine falls on all of them alike.  A suite's time in a round is
the sum of its tests' wall times (as a CI runner wrapping each test with
`--wrapper='leakscan --at-exit --follow-forks --'` spends it), and of their
CPU times (user and system of everything that ran: the tests, their
children, leakscan and its helpers), which a loaded machine disturbs less;
the medians over the rounds, and their ratios to bare, are printed.

Cases (each skipped when what it runs is not installed; nothing here is
installed by CI):
  glib         GLib's installed tests (apt-get install libglib2.0-tests),
               run as their .test files say, from
               /usr/libexec/installed-tests/glib, each under a leakscan of
               its own (as a test runner's --wrapper runs them): a set that
               passes bare and finishes in seconds; many fork and exec
               helpers (g_test_trap_subprocess, dbus-daemon, children).
  glib-runner  the same tests run one after the other by one shell under
               one leakscan (as `leakscan --at-exit --follow-forks -- make
               check` runs a suite): leakscan's start is paid once, and
               what remains is the cost per judged process.
  forks        a shell that runs /bin/true 200 times: 201 short processes,
               each judged at its exit.
  start        /bin/true 50 times, each under a leakscan of its own: what
               every wrapped test pays before and after its program (the
               loader, leakscan's helpers, one judged process).
  threads      a shell that runs bench-churn 40 40 (40 threads each creating
               and joining one) 300 times: what leakscan keeps per process that
               made threads (their creator stacks) across a long run.

Besides the times, the peak resident size of the largest process of each
run (leakscan, for the runs under it) is printed: a suite's memory must
not grow with every process it judged.

Usage: bench/follow_forks.py [--build DIR] [--repeat 5] [--case glib]...
                             [--compare NAME=LEAKSCAN]... [--per-test]"""
import argparse
import os
import statistics
import subprocess
import sys
import time

GLIB_DIR = "/usr/libexec/installed-tests/glib"

# Tests that pass bare and finish well within a few seconds on Debian 12's
# libglib2.0-tests; a mix of plain unit tests, thread tests, tests that
# fork themselves (g_test_trap_subprocess) and tests that spawn helpers.
GLIB_TESTS = [
    "642026", "accumulator", "application-command-line", "array-test",
    "async-splice-output-stream", "asyncqueue", "autoptr", "base64",
    "bookmarkfile", "cache", "closure", "contexts", "contenttype",
    "convert", "dataset", "error", "gdbus-addresses", "gdbus-auth",
    "gdbus-connection", "gdbus-connection-flush", "gdbus-message",
    "gdbus-peer-object-manager", "g-file-info", "hash", "list", "logging",
    "once", "option-context", "slist", "spawn-singlethread",
    "strfuncs", "testing", "thread", "utils",
]

FORKS_SCRIPT = "i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i+1)); done"


def glib_case():
    if not os.path.isdir(GLIB_DIR):
        return None, "not installed (apt-get install libglib2.0-tests)"
    tests = [t for t in GLIB_TESTS if os.access(os.path.join(GLIB_DIR, t), os.X_OK)]
    if not tests:
        return None, "none of its tests is installed"
    env = dict(os.environ, G_TEST_SRCDIR=GLIB_DIR, G_TEST_BUILDDIR=GLIB_DIR)
    return [(t, [os.path.join(GLIB_DIR, t)], GLIB_DIR, env) for t in tests], None


def glib_runner_case():
    tests, why = glib_case()
    if tests is None:
        return None, why
    script = "for t in " + " ".join(t for t, *_ in tests) + "; do ./$t </dev/null >/dev/null 2>&1; done"
    return [("all-in-one-shell", ["sh", "-c", script], GLIB_DIR, tests[0][3])], None


def forks_case():
    if not os.access("/bin/true", os.X_OK):
        return None, "no /bin/true"
    return [("sh-200-true", ["sh", "-c", FORKS_SCRIPT], None, None)], None


def start_case():
    if not os.access("/bin/true", os.X_OK):
        return None, "no /bin/true"
    return [(f"true-{i}", ["/bin/true"], None, None) for i in range(50)], None


BUILD = None    # the build directory (main sets it): bench-churn is there


def threads_case():
    churn = os.path.join(BUILD, "bench", "bench-churn")
    if not os.access(churn, os.X_OK):
        return None, f"no {churn} (build the tree)"
    script = f"i=0; while [ $i -lt 300 ]; do {churn} 40 40; i=$((i+1)); done"
    return [("sh-300-churn-40", ["sh", "-c", script], None, None)], None


CASES = {"glib": glib_case, "glib-runner": glib_runner_case, "forks": forks_case, "start": start_case,
         "threads": threads_case}


def run_once(argv, cwd, env):
    """Wall ms, CPU ms (user and system of the whole tree waited for: the
    program, its children, leakscan and its helpers), the exit status and
    the peak resident KiB of the largest process of that tree, measured by
    bench-maxrss (a child of this Python process would count Python's own
    size until it execs).  The tree's stderr is read and dropped."""
    t0 = time.perf_counter()
    p = subprocess.Popen([os.path.join(BUILD, "bench", "bench-maxrss")] + argv, cwd=cwd, env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         errors="replace")
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = (time.perf_counter() - t0) * 1000
    p.returncode = os.waitstatus_to_exitcode(status)
    kib = [int(line.split()[1]) for line in err.splitlines() if line.startswith("maxrss ")]
    return wall, (ru.ru_utime + ru.ru_stime) * 1000, p.returncode, kib[-1] if kib else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--case", action="append", choices=sorted(CASES), help="default: all")
    ap.add_argument("--compare", action="append", default=[], metavar="NAME=LEAKSCAN")
    ap.add_argument("--per-test", action="store_true", help="also print each test's medians")
    a = ap.parse_args()
    global BUILD
    BUILD = a.build

    if not os.access(os.path.join(a.build, "bench", "bench-maxrss"), os.X_OK):
        sys.exit(f"follow_forks: no {a.build}/bench/bench-maxrss (build the tree, or give --build)")
    leakscans = [("leakscan", os.path.join(a.build, "leakscan"))] + [tuple(c.split("=", 1)) for c in a.compare]
    for name, ls in leakscans:
        if not os.access(ls, os.X_OK):
            sys.exit(f"follow_forks: {name}: {ls} is not an executable (build it, or fix --compare)")
    tools = [("bare", [])] + [(name, [ls, "--at-exit", "--follow-forks", "-o", os.devnull, "--"])
                              for name, ls in leakscans]

    suites = []
    for case in a.case or sorted(CASES):
        tests, why = CASES[case]()
        if tests is None:
            print(f"{case}: skipped: {why}")
            continue
        suites.append((case, tests))
    if not suites:
        sys.exit(77)

    load_before = os.getloadavg()
    # times[suite][tool][round] = summed ms (cpu: CPU ms); per[suite][test][tool] = [ms]
    times = {s: {t: [] for t, _ in tools} for s, _ in suites}
    cpu = {s: {t: [] for t, _ in tools} for s, _ in suites}
    per = {s: {name: {t: [] for t, _ in tools} for name, *_ in tests} for s, tests in suites}
    rss = {s: {t: [] for t, _ in tools} for s, _ in suites}
    mismatched = {s: 0 for s, _ in suites}
    for r in range(a.repeat):
        order = tools[r % len(tools):] + tools[:r % len(tools)]
        for s, tests in suites:
            total = {t: 0.0 for t, _ in tools}
            total_cpu = {t: 0.0 for t, _ in tools}
            peak = {t: 0 for t, _ in tools}
            for name, argv, cwd, env in tests:
                codes = {}
                for tool, pre in order:
                    ms, cpu_ms, rc, kib = run_once(pre + argv, cwd, env)
                    total[tool] += ms
                    total_cpu[tool] += cpu_ms
                    peak[tool] = max(peak[tool], kib)
                    per[s][name][tool].append(ms)
                    codes[tool] = rc
                # leakscan passes the program's status on unless it found
                # leaks (then it says so with its own); a test that failed
                # under one tool only is counted
                if any((c != 0) != (codes["bare"] != 0) for c in codes.values()):
                    mismatched[s] += 1
            for tool in total:
                times[s][tool].append(total[tool])
                cpu[s][tool].append(total_cpu[tool])
                rss[s][tool].append(peak[tool])
    load_after = os.getloadavg()

    print(f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after; "
          f"{os.cpu_count()} CPUs; repeat {a.repeat}")
    print("command: " + " ".join(tools[1][1]) + " TEST")
    for s, tests in suites:
        base = statistics.median(times[s]["bare"])
        base_cpu = statistics.median(cpu[s]["bare"])
        print(f"\n{s}: {len(tests)} test{'s' if len(tests) != 1 else ''}, summed wall time per round "
              f"(runs that failed under one tool and not another: {mismatched[s]};\n"
              f"  a test that failed, or leakscan reporting a leak, which it says with status 1)")
        for tool, _ in tools:
            med = statistics.median(times[s][tool])
            med_cpu = statistics.median(cpu[s][tool])
            print(f"  {tool:12} wall median {med:9.1f} ms (min {min(times[s][tool]):9.1f})  "
                  f"ratio {med / base:5.2f}x   CPU median {med_cpu:9.1f} ms  ratio {med_cpu / base_cpu:5.2f}x   "
                  f"peak RSS median {statistics.median(rss[s][tool]) / 1024:7.1f} MiB")
        if a.per_test:
            for name, *_ in tests:
                b = statistics.median(per[s][name]["bare"])
                cells = "  ".join(f"{tool} {statistics.median(per[s][name][tool]):7.1f}"
                                  f" ({statistics.median(per[s][name][tool]) / b:4.2f}x)"
                                  for tool, _ in tools[1:])
                print(f"    {name:28} bare {b:7.1f}  {cells}")


if __name__ == "__main__":
    main()
