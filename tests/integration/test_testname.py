#!/usr/bin/env python3
"""The test that leaked a thread, named: a real GoogleTest binary of five
tests, one leaky (test-targets/gtest_queue.cpp), run whole under
--at-exit.  The report names QueueTest.Leaky in its headline, its JSON
"test" field, its JUnit test case and its SARIF result; without that test
nothing leaks.  --per-test runs each of the five alone and reports the
same test, in text, JSON and JUnit.  doctest and Catch2 binaries, where
installed, name theirs as registered, at exit and with --per-test.
Usage: test_testname.py LEAKSCAN TEST_TARGETS_SOURCE_DIR NOT_A_TEST_BINARY googletest=PATH [doctest=PATH]
       [catch2=PATH] [glib=PATH]"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from targetlib import Checks, validate_leakscan_json  # noqa: E402

check = Checks()


def at_exit(leakscan, prog, fmt, *args):
    """(status, document text, program output) of a --at-exit run."""
    fd, out = tempfile.mkstemp(suffix="." + fmt)
    os.close(fd)
    try:
        p = subprocess.run([leakscan, "--at-exit", f"--format={fmt}", "-o", out, "--", prog] + list(args),
                           capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        with open(out) as f:
            return p.returncode, f.read(), p.stdout
    finally:
        os.unlink(out)


def marker_line(path, mark):
    for n, text in enumerate(open(path), 1):
        if "@" + mark in text:
            return n
    raise RuntimeError(f"no @{mark} in {path}")


def main():
    leakscan, srcdir, plain = sys.argv[1:4]
    binaries = dict(x.split("=", 1) for x in sys.argv[4:])
    prog = binaries["googletest"]
    line = marker_line(os.path.join(srcdir, "gtest_queue.cpp"), "leaky-start")

    code, text, out = at_exit(leakscan, prog, "json")
    check(code == 1 and "[  PASSED  ] 5 tests." in out, f"the five tests pass; leakscan exits 1 ({code})")
    doc = json.loads(text)
    validate_leakscan_json(doc)
    leaked = [t for p in doc["processes"] for t in p["threads"] if t["leaked"]]
    tests = [t["test"] for t in leaked]
    check(len(leaked) == 1 and tests[0] and tests[0]["framework"] == "googletest" and
          tests[0]["name"] == "QueueTest.Leaky" and os.path.basename(tests[0]["file"]) == "gtest_queue.cpp" and
          tests[0]["line"] == line, f"JSON: the leaked thread's test is QueueTest.Leaky at line {line} ({tests})")
    others = [t["test"] for p in doc["processes"] for t in p["threads"] if not t["leaked"]]
    check(all(x is None for x in others), f"JSON: \"test\": null for the threads no test created ({others})")

    code, text, _ = at_exit(leakscan, prog, "text")
    check(re.search(r'^Thread \d+ "flusher" in state condvar, [^\n]*leaked by test QueueTest\.Leaky '
                    rf'\(gtest_queue\.cpp:{line}\), with [^\n]* on top of the stack:$', text, re.M),
          "text: the headline names the test: " + next((x for x in text.splitlines() if x.startswith("Thread")), ""))

    code, text, _ = at_exit(leakscan, prog, "junit")
    root = ET.fromstring(text)
    failed = [(c.get("classname"), c.get("name")) for c in root.iter("testcase") if c.find("failure") is not None]
    check(failed == [("googletest", "QueueTest.Leaky")], f"JUnit: the test case QueueTest.Leaky fails ({failed})")

    code, text, _ = at_exit(leakscan, prog, "sarif")
    res = json.loads(text)["runs"][0]["results"]
    check(len(res) == 1 and res[0]["properties"].get("test") == "QueueTest.Leaky" and
          "leaked by test QueueTest.Leaky" in res[0]["message"]["text"], "SARIF: the result names the test")

    code, text, out = at_exit(leakscan, prog, "json", "--gtest_filter=-QueueTest.Leaky")
    doc = json.loads(text)
    check(code == 0 and doc["summary"]["leaked"] == 0, f"without QueueTest.Leaky nothing leaks ({code})")
    per_test(leakscan, prog, plain, line)
    ctest_discover(leakscan, srcdir)
    for fw in ("doctest", "catch2"):
        if fw in binaries:
            by_name(leakscan, fw, binaries[fw], marker_line(os.path.join(srcdir, f"{fw}_queue.cpp"), "leaky-start"))
        else:
            print(f"note: no {fw} here (scripts/setup.sh installs it): its binary is not tried")
    if "glib" in binaries:
        glib(leakscan, binaries["glib"], marker_line(os.path.join(srcdir, "glib_queue.c"), "leaky-start"))
    else:
        print("note: no GLib here (scripts/setup.sh installs it): its binary is not tried")
    return check.finish()


def ctest_discover(leakscan, srcdir):
    """docs/ci.md's CTest recipe: gtest_discover_tests with the emulator runs
    each test case in its own process under leakscan; the leaky one fails."""
    if not shutil.which("cmake"):
        print("note: no cmake here (scripts/setup.sh installs it): the CTest recipe is not tried")
        return
    work = tempfile.mkdtemp(prefix="leakscan-ctest-")
    try:
        shutil.copy(os.path.join(srcdir, "gtest_queue.cpp"), work)
        with open(os.path.join(work, "CMakeLists.txt"), "w") as f:
            f.write(CTEST_PROJECT.replace("@LEAKSCAN@", os.path.abspath(leakscan)))
        build = os.path.join(work, "build")
        steps = [["cmake", "-S", work, "-B", build, "-DCMAKE_BUILD_TYPE=Debug"], ["cmake", "--build", build]]
        for step in steps:
            p = subprocess.run(step, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
            if p.returncode != 0:
                check(False, f"CTest recipe: {' '.join(step[:2])} ({(p.stdout + p.stderr)[-400:]})")
                return
        p = subprocess.run(["ctest", "--test-dir", build, "--output-on-failure"], capture_output=True, text=True,
                           timeout=600, stdin=subprocess.DEVNULL)
        out = p.stdout + p.stderr
        failed = re.findall(r"\d+ - (\S+) \(Failed\)", out)
        check(p.returncode != 0 and failed == ["QueueTest.Leaky"] and "failed out of 5" in out and
              "leaked by test QueueTest.Leaky" in out,
              f"CTest with gtest_discover_tests and CROSSCOMPILING_EMULATOR: only QueueTest.Leaky fails ({failed})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


CTEST_PROJECT = """cmake_minimum_required(VERSION 3.16)
project(queue CXX)
enable_testing()
find_package(GTest REQUIRED)
include(GoogleTest)
add_executable(unit_tests gtest_queue.cpp)
target_link_libraries(unit_tests GTest::gtest_main)
set_target_properties(unit_tests PROPERTIES CROSSCOMPILING_EMULATOR "@LEAKSCAN@;--at-exit;--")
gtest_discover_tests(unit_tests)
"""


def glib(leakscan, prog, line):
    """GLib, whose library has no debug info: the test function is the
    user's frame inside g_test_run_suite; --per-test runs each path alone."""
    code, text, _ = at_exit(leakscan, prog, "json")
    doc = json.loads(text)
    tests = [t["test"] for p in doc["processes"] for t in p["threads"] if t["leaked"]]
    check(code == 1 and len(tests) == 1 and tests[0]["framework"] == "glib" and
          tests[0]["name"] == "test_queue_leaks" and tests[0]["line"] == line,
          f"GLib: at exit the leaked thread's test is test_queue_leaks at line {line} ({tests})")
    p = subprocess.run([leakscan, "--per-test", "--format=json", "--", prog], capture_output=True, text=True,
                       timeout=300, stdin=subprocess.DEVNULL)
    doc = json.loads(p.stderr)
    validate_leakscan_json(doc)
    check(p.returncode == 1 and doc["framework"] == "glib" and [t["name"] for t in doc["tests"]] ==
          ["/queue/empty", "/queue/leaks"] and [t["name"] for t in doc["tests"] if t["leaked"]] == ["/queue/leaks"],
          f"GLib: --per-test runs /queue/empty and /queue/leaks alone; the second leaks ({doc['summary']})")


def by_name(leakscan, fw, prog, line):
    """Catch2 and doctest, whose leaky test starts a std::thread in its
    body: at exit the test is named as the framework names it, at the
    test's own file and line (not std::thread's constructor's), and its
    frame is shown as declared; by name with --per-test, at the same place."""
    code, text, _ = at_exit(leakscan, prog, "json")
    doc = json.loads(text)
    leaked = [t for p in doc["processes"] for t in p["threads"] if t["leaked"]]
    tests = [t["test"] for t in leaked]
    src = os.path.basename(prog).replace("_queue", "_queue.cpp")
    check(code == 1 and len(tests) == 1 and tests[0]["framework"] == fw and
          tests[0]["name"] == "queue leaks, a flusher" and os.path.basename(tests[0]["file"] or "") == src and
          tests[0]["line"] == line,
          f"{fw}: at exit the leaked thread's test is 'queue leaks, a flusher' at {src}:{line} ({tests})")
    shown = [f["function"] for f in leaked[0]["created_by"]] if leaked and leaked[0].get("created_by") else []
    check('TEST_CASE("queue leaks, a flusher")' in shown and not any(re.match(r"_?(DOCTEST_ANON_FUNC|C_A_T_C_H_T_E_S_T)", f) for f in shown),
          f"{fw}: the creator's test frame is shown as declared, not by its generated name ({shown[:6]})")
    code, text, _ = at_exit(leakscan, prog, "text")
    check(re.search(rf'leaked by test queue leaks, a flusher \({src}:{line}\)', text) and
          re.search(rf'^  created by TEST_CASE\("queue leaks, a flusher"\) at \S+/{src}:{line}:$', text, re.M),
          f"{fw}: text names the test and its place: " +
          " | ".join(x for x in text.splitlines() if x.startswith("Thread") or "created by" in x))
    p = subprocess.run([leakscan, "--per-test", "--format=json", "--", prog], capture_output=True, text=True,
                       timeout=300, stdin=subprocess.DEVNULL)
    doc = json.loads(p.stderr)
    validate_leakscan_json(doc)
    leaky = [t["name"] for t in doc["tests"] if t["leaked"]]
    named = [t["test"]["name"] for x in doc["tests"] if x["report"] for pr in x["report"]["processes"]
             for t in pr["threads"] if t["leaked"]]
    places = [(os.path.basename(t["test"]["file"] or ""), t["test"]["line"]) for x in doc["tests"] if x["report"]
              for pr in x["report"]["processes"] for t in pr["threads"] if t["leaked"]]
    check(places == [(src, line)], f"{fw}: --per-test places the test at {src}:{line} ({places})")
    check(p.returncode == 1 and doc["framework"] == fw and len(doc["tests"]) == 2 and
          leaky == ["queue leaks, a flusher"] and named == leaky,
          f"{fw}: --per-test lists both tests, runs each alone (a comma in the name), names the leaky one ({leaky})")


def per_test(leakscan, prog, plain, line):
    def run(*args):
        p = subprocess.run([leakscan, "--per-test"] + list(args), capture_output=True, text=True, timeout=300,
                           stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr

    code, out, err = run("-j", "2", "--", prog)
    check(code == 1 and re.search(r"^leakscan: 1 of 5 tests of \S+, each run alone, leaked threads: QueueTest\.Leaky$",
                                  err, re.M) and
          re.search(rf"leaked by test QueueTest\.Leaky \(gtest_queue\.cpp:{line}\)", err) and
          err.count("leakscan: test ") == 1 and out == "",
          f"--per-test -j 2: only QueueTest.Leaky is reported, on stderr; exit 1 ({code})")

    fd, path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    code, out, err = run("--format=json", "-o", path, "--", prog)
    with open(path) as f:
        doc = json.load(f)
    os.unlink(path)
    validate_leakscan_json(doc)
    by_name = {t["name"]: t for t in doc["tests"]}
    check(doc["mode"] == "per-test" and doc["framework"] == "googletest" and
          sorted(by_name) == ["Arithmetic.Adds", "QueueTest.Empty", "QueueTest.FlushesAndStops", "QueueTest.Leaky",
                              "QueueTest.Push"] and
          [n for n, t in by_name.items() if t["leaked"]] == ["QueueTest.Leaky"] and
          all(t["exit"] == {"code": 0} for t in doc["tests"]),
          f"--per-test --format=json: five tests, each its own report, one leaky ({doc['summary']})")
    leaked = [t for p in by_name["QueueTest.Leaky"]["report"]["processes"] for t in p["threads"] if t["leaked"]]
    check(leaked and leaked[0]["test"]["name"] == "QueueTest.Leaky", "...whose thread names the test")

    code, out, err = run("--format=junit", "-j", "1", "--", prog)
    root = ET.fromstring(err)
    cases = [(c.get("name"), c.find("failure") is not None) for c in root.iter("testcase")]
    check(len(cases) == 5 and [n for n, failed in cases if failed] == ["QueueTest.Leaky"] and root.get("failures") == "1",
          f"--per-test --format=junit -j 1: a test case per test, QueueTest.Leaky fails ({cases})")

    code, out, err = run("--", prog, "--gtest_filter=-QueueTest.Leaky")
    check(code == 0 and err == "",
          f"the binary's own arguments go to the listing and every run: its filter leaves the leak out ({code})")
    code, out, err = run("--", plain)
    check(code == 3 and "cannot tell how to list the tests" in err, f"a binary of no known framework: exit 3 ({code})")
    code, out, err = run("--format=sarif", "--", prog)
    check(code == 2 and "--per-test reports in text, json or junit" in err, "--per-test --format=sarif: usage error")


if __name__ == "__main__":
    sys.exit(main())
