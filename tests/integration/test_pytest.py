#!/usr/bin/env python3
"""Which test leaked a thread, in a Python suite: `leakscan --at-exit --
python3 -m pytest pytest/` over test-targets/pytest/test_cache.py names the
leaky pytest function (pytest/test_cache.py::test_evicts) and the leaky
unittest method (pytest/test_cache.py::TestCacheCase::test_expires) in the
JSON "test" field of the thread each leaked, at the test's own line; the
tidy tests' threads leave nothing.  The same suite run by `python3 -m
unittest` names its TestCase's test the same way.  The name comes from the
creator stack's Python frames, read while the creating thread was held.
`leakscan --per-test -- python3 -m pytest pytest_params/` lists that
suite's node ids (parametrized ones with spaces and brackets among them),
runs each alone, and names exactly the one that leaks; `python3 -m
unittest` is refused with a pointer to pytest.  Under `-p PID --watch`,
the creator stack of Python threads started between snapshots
(python_watch/acceptor.py) holds the creating Python function too.
Usage: test_pytest.py LEAKSCAN SOURCE_DIR [PYTHON]"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from targetlib import Checks, validate_leakscan_json  # noqa: E402

check = Checks()


def leaked_tests(leakscan, srcdir, argv):
    """(leakscan's status, the program's status line, [(name, framework,
    line)] of leaked threads) of one run under --at-exit in srcdir."""
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "report.json")
        r = subprocess.run([leakscan, "--at-exit", "--format=json", "-o", report, "--"] + argv, cwd=srcdir,
                           capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
        with open(report) as f:
            doc = json.load(f)
    validate_leakscan_json(doc)
    leaked = [t for p in doc["processes"] for t in p["threads"] if t["leaked"]]
    for t in leaked:
        if not t["test"]:   # what was missing, for the failure's message
            print(f"note: thread {t['tid']} named no test; created by "
                  f"{[(f['function'], f.get('language')) for f in t['created_by'] or []][:16]}")
    return r.returncode, r.stdout + r.stderr, sorted(
        (((t["test"] or {}).get("name"), (t["test"] or {}).get("framework"), (t["test"] or {}).get("line"))
         for t in leaked), key=str)


def main():
    leakscan, srcdir = os.path.abspath(sys.argv[1]), sys.argv[2]
    python = sys.argv[3] if len(sys.argv) > 3 else "/usr/bin/python3"
    if not os.path.exists(python) or subprocess.run([python, "-c", "import pytest"],
                                                    capture_output=True).returncode != 0:
        print(f"note: no pytest for {python} (scripts/setup.sh installs python3-pytest): skipped")
        return 77
    source = os.path.join(srcdir, "pytest", "test_cache.py")
    lines = {tag: n for n, text in enumerate(open(source), 1) for tag in ("@leaky-test", "@leaky-case") if tag in text}

    code, out, leaked = leaked_tests(leakscan, srcdir, [python, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                                        "pytest/"])
    want = sorted([("pytest/test_cache.py::TestCacheCase::test_expires", "unittest", lines["@leaky-case"]),
                   ("pytest/test_cache.py::test_evicts", "pytest", lines["@leaky-test"])], key=str)
    check(code == 1 and leaked == want,
          f"pytest: the two leaky tests are named, and no other thread leaks ({code}, {leaked}; want {want})")
    check("4 passed" in out, f"pytest: the suite runs as without leakscan ({out[-300:]!r})")

    code, out, leaked = leaked_tests(leakscan, srcdir, [python, "-m", "unittest", "discover", "-s", "pytest"])
    want = [("pytest/test_cache.py::TestCacheCase::test_expires", "unittest", lines["@leaky-case"])]
    check(code == 1 and leaked == want,
          f"unittest: the leaky TestCase method is named ({code}, {leaked}; want {want})")
    check("Ran 2 tests" in out and "OK" in out, f"unittest: the suite runs as without leakscan ({out[-300:]!r})")
    per_test(leakscan, srcdir, python)
    watch_creators(leakscan, srcdir, python)
    return check.finish()


def per_test(leakscan, srcdir, python):
    """--per-test over a pytest suite: one process per node id, and only the
    leaky test (a parameter set of a parametrized test) reported."""
    ids = ["pytest_params/test_pool.py::test_resize[1-x]", "pytest_params/test_pool.py::test_resize[3-a b]",
           "pytest_params/test_pool.py::test_resize[5-c]d]", "pytest_params/test_pool.py::TestPool::test_drains",
           "pytest_params/test_pool.py::test_tidy"]
    leaky = "pytest_params/test_pool.py::test_resize[3-a b]"
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "report.json")
        r = subprocess.run([leakscan, "--per-test", "--format=json", "-o", report, "--", python, "-m", "pytest",
                            "-q", "-p", "no:cacheprovider", "pytest_params/"], cwd=srcdir, capture_output=True,
                           text=True, timeout=600, stdin=subprocess.DEVNULL)
        with open(report) as f:
            doc = json.load(f)
    check(doc["framework"] == "pytest" and [t["name"] for t in doc["tests"]] == ids,
          f"--per-test pytest: every node id listed, in order ({doc['framework']}, {[t['name'] for t in doc['tests']]})")
    check(all(t["exit"] == {"code": 0} for t in doc["tests"]),
          f"--per-test pytest: each test ran and passed alone ({[(t['name'], t['exit']) for t in doc['tests']]})")
    check(r.returncode == 1 and [t["name"] for t in doc["tests"] if t["leaked"]] == [leaky],
          f"--per-test pytest: exactly the leaky test is named ({r.returncode}, "
          f"{[(t['name'], t['leaked']) for t in doc['tests']]}; stderr {r.stderr[-300:]!r})")
    named = [th["test"]["name"] for t in doc["tests"] if t["report"] for p in t["report"]["processes"]
             for th in p["threads"] if th["leaked"]]
    check(named == [leaky], f"--per-test pytest: its thread is attributed to it ({named})")

    r = subprocess.run([leakscan, "--per-test", "--", python, "-m", "unittest", "discover", "-s", "pytest"],
                       cwd=srcdir, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    check(r.returncode == 3 and "-m pytest" in r.stderr,
          f"--per-test unittest: refused, pointing at pytest ({r.returncode}, {r.stderr!r})")


def watch_creators(leakscan, srcdir, python):
    """--watch: the sessions acceptor.py starts while watched grow, and
    their creator stack names accept_loop at its line, a Python frame read
    while the acceptor waited in its clone event."""
    source = os.path.join(srcdir, "python_watch", "acceptor.py")
    line = next(n for n, text in enumerate(open(source), 1) if "@spawn" in text)
    p = subprocess.Popen([python, source], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        check(p.stdout.readline() == "ready\n", "acceptor.py starts")
        r = subprocess.run([leakscan, "-p", str(p.pid), "--watch=1s", "--interval=200ms", "--format=json"],
                           capture_output=True, text=True, timeout=120)
    finally:
        p.stdin.close()
        p.wait(timeout=60)
    doc = json.loads(r.stdout) if r.returncode in (0, 1) else {"groups": []}
    made = [[(f["function"], f.get("language"), os.path.basename(f["file"] or ""), f["line"])
             for f in g["example"]["created_by"] or []] for g in doc["groups"] if g["growth"] > 0]
    check(r.returncode == 1 and any(("accept_loop", "python", "acceptor.py", line) in m for m in made),
          f"--watch: the new sessions' creator stack holds accept_loop (acceptor.py:{line}) "
          f"({r.returncode}, {r.stderr[-300:]!r}, {[m[:10] for m in made]})")


if __name__ == "__main__":
    sys.exit(main())
