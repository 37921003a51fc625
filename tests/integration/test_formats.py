#!/usr/bin/env python3
"""Every report format stays a valid document with every option that adds
output: each format (text, json, sarif, junit, dot) in pid and at-exit mode
with --all, --show-ignored, --print-suppressions, --color=always, and
--watch for text and json, on a target whose thread names are not UTF-8
and hold markup characters.  JSON is checked against
docs/leakscan-1.schema.json, SARIF against the official SARIF 2.1.0 schema
(fetched with npm once; the SARIF schema checks are skipped, with a message,
only when it cannot be had), JUnit by an XML parser, DOT by Graphviz.  Also:
the README's --print-suppressions recipe, --print-suppressions=FILE, -o
with %p and %n, --source-root.
The docs/ci.md recipes for GitHub (SARIF) and GitLab (JUnit) run as
meson test --wrapper on the project in tests/wrapper.
Usage: test_formats.py LEAKSCAN BADNAME DEADLOCK_AB GROWS CACHE_DIR WRAPPER_PROJECT"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from targetlib import (Checks, Target, LEAKSCAN_SCHEMA, TOP, sarif_schema, schema_errors,  # noqa: E402
                       wait_settled)

check = Checks()
FORMATS = ["text", "json", "sarif", "junit", "dot"]
OPTIONS = [[], ["--all"], ["--ignore-name=ignoreme", "--show-ignored"], ["--print-suppressions"],
           ["--color=always"],
           ["--all", "--ignore-name=ignoreme", "--show-ignored", "--print-suppressions", "--color=always"]]
BAD_NAME = "\\xff\\xfebad"      # as the documents spell the bytes ff fe


def run(leakscan, args, env=None, timeout=60):
    p = subprocess.run([leakscan] + args, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL,
                       env=env)
    return p.returncode, p.stdout, p.stderr


def utf8(data, what):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        check(False, f"{what}: valid UTF-8 ({e})")
        return None


class Documents:
    """Parses and validates a document of each format; returns a list of
    problems (empty when valid)."""

    def __init__(self, sarif_schema_path):
        self.sarif_schema = sarif_schema_path

    def json(self, text):
        doc = json.loads(text)
        return doc, schema_errors(doc, LEAKSCAN_SCHEMA)

    def sarif(self, text):
        doc = json.loads(text)
        errors = schema_errors(doc, self.sarif_schema) if self.sarif_schema else []
        return doc, errors

    def junit(self, text):
        root = ET.fromstring(text.encode())
        errors = []
        if root.tag != "testsuites":
            errors.append(f"root is {root.tag}")
        cases = root.findall("./testsuite/testcase")
        failures = root.findall("./testsuite/testcase/failure")
        if int(root.get("tests", -1)) != len(cases):
            errors.append(f"tests={root.get('tests')} but {len(cases)} testcases")
        if int(root.get("failures", -1)) != len(failures):
            errors.append(f"failures={root.get('failures')} but {len(failures)} failures")
        for case in cases:
            if not case.get("name") or not case.get("classname"):
                errors.append("a testcase without name or classname")
        return root, errors

    def dot(self, text):
        errors = []
        if shutil.which("dot"):
            p = subprocess.run(["dot", "-Tsvg"], input=text.encode(), capture_output=True, timeout=60)
            if p.returncode != 0 or p.stderr.strip():
                errors.append("dot: " + p.stderr.decode(errors="replace").strip()[:300])
        elif not text.startswith("digraph leakscan {") or text.count("{") != text.count("}"):
            errors.append("not a digraph with balanced braces")
        return text, errors

    def parse(self, fmt, data, what):
        """The parsed document, or None after a failed check."""
        text = utf8(data, what)
        if text is None:
            return None
        if "\033[" in text:
            check(False, f"{what}: no ANSI colour in a document")
            return None
        try:
            doc, errors = getattr(self, fmt)(text)
        except (ValueError, ET.ParseError) as e:
            check(False, f"{what}: parses ({e})")
            return None
        check(not errors, f"{what}: valid ({errors[:3]})")
        return doc


def suppression_lines(text):
    return [x for x in text.splitlines() if x and not x.startswith("#")]


def leaked(leakscan, pid, *args):
    code, out, err = run(leakscan, ["-p", str(pid), "--idle", "--min-blocked=0", "--format=json"] + list(args))
    return json.loads(out)["summary"]["leaked"] if code in (0, 1) else -1


def main():
    leakscan, badname, deadlock_ab, grows, cache, project = sys.argv[1:7]
    leakscan = os.path.abspath(leakscan)
    schema, why = sarif_schema(cache)
    if not schema:
        print(f"SKIP the official SARIF schema checks: {why}")
    docs = Documents(schema)
    tmp = tempfile.mkdtemp(prefix="leakscan-formats-")

    with Target([badname]) as t:
        # every thread asleep in its final wait before the first count
        # (names as /proc gives them: raw bytes as surrogates), however
        # long a loaded machine takes
        wait_settled(t.pid, {"\udcff\udcfebad", "q\"<&>'\\\t", "ignoreme"})
        for fmt in FORMATS:
            for opts in OPTIONS:
                what = f"-p --format={fmt} {' '.join(opts)}".strip()
                n_leaks = 2 if "--ignore-name=ignoreme" in opts else 3
                code, out, err = run(leakscan, ["-p", str(t.pid), "--idle", "--min-blocked=0", f"--format={fmt}"] + opts)
                if code != 1:
                    check(False, f"{what}: exit 1 for leaks ({code}: {err.decode(errors='replace').strip()})")
                    continue
                if fmt == "text":
                    if "--print-suppressions" in opts:
                        # stdout is the suppressions file, the report is on stderr
                        lines = suppression_lines(out.decode("utf-8", errors="replace"))
                        check(lines and all(re.match(r"^(top|any|name|module|created-by):", x) for x in lines)
                              and b"unexpected thread" in err,
                              f"{what}: only suppression lines on stdout, the report on stderr ({lines})")
                    else:
                        check(f"found {n_leaks} unexpected threads".encode() in out, f"{what}: the text report")
                    continue
                doc = docs.parse(fmt, out, what)
                if doc is None:
                    continue
                text = out.decode()
                if fmt == "junit":
                    check(BAD_NAME in "".join(doc.itertext()), f"{what}: the name's bytes ff fe read back as \\xff\\xfe")
                if fmt == "dot":
                    # inside a DOT string, \\ is one backslash
                    check(BAD_NAME.replace("\\", "\\\\") in text, f"{what}: the name's bytes ff fe as \\xff\\xfe")
                if "--print-suppressions" in opts:
                    check("top:wait_for_lock" in text, f"{what}: carries the suppression lines")
                if fmt == "json":
                    names = {th["name"] for th in doc["processes"][0]["threads"]}
                    check(BAD_NAME in names and "q\"<&>'\\\t" in names, f"{what}: names escaped and read back")
                    if "--print-suppressions" in opts:
                        check("top:wait_for_lock" in doc["suppressions"], f"{what}: a \"suppressions\" array")
                if fmt == "junit":
                    check(len(doc.findall("./testsuite/testcase/failure")) == 1, f"{what}: one failure")
                if fmt == "sarif":
                    check(len(doc["runs"][0]["results"]) == n_leaks, f"{what}: a result per leak")

        # the README recipe: twice appended, read back, silences every leak
        supp = os.path.join(tmp, "leakscan.supp")
        for _ in range(2):
            with open(supp, "ab") as f:
                subprocess.run([leakscan, "-p", str(t.pid), "--idle", "--min-blocked=0", "--print-suppressions"],
                               stdout=f, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, timeout=60)
        check(leaked(leakscan, t.pid, f"--suppressions={supp}") == 0,
              "README recipe: '--print-suppressions >> leakscan.supp' gives a file that silences the leaks")
        # =FILE, with a document format on stdout
        supp2 = os.path.join(tmp, "eq.supp")
        code, out, err = run(leakscan, ["-p", str(t.pid), "--idle", "--min-blocked=0", "--format=sarif",
                                        f"--print-suppressions={supp2}"])
        docs.parse("sarif", out, "--print-suppressions=FILE --format=sarif")
        check(os.path.exists(supp2) and leaked(leakscan, t.pid, f"--suppressions={supp2}") == 0,
              "--print-suppressions=FILE writes a file that silences the leaks")

        # -o: %p, %n, and a template error
        code, out, err = run(leakscan, ["-p", str(t.pid), "--idle", "--min-blocked=0", "--format=json",
                                        "-o", os.path.join(tmp, "r-%p.json")])
        check(os.path.exists(os.path.join(tmp, f"r-{t.pid}.json")), "-o with %p names the file after the PID")
        for _ in range(3):
            run(leakscan, ["-p", str(t.pid), "--idle", "--min-blocked=0", "--format=json", "-o", os.path.join(tmp, "n-%n.json")])
        check(sorted(x for x in os.listdir(tmp) if x.startswith("n-")) == ["n-0.json", "n-1.json", "n-2.json"],
              f"-o with %n takes the first free number ({sorted(os.listdir(tmp))})")
        code, out, err = run(leakscan, ["-p", str(t.pid), "-o", "x%q"])
        check(code == 2 and b"invalid -o" in err, f"-o with an unknown %-sequence is a usage error ({code})")

        # --source-root: SARIF paths relative to it through SRCROOT
        code, out, err = run(leakscan, ["-p", str(t.pid), "--idle", "--min-blocked=0", "--format=sarif", f"--source-root={TOP}"])
        doc = docs.parse("sarif", out, "--source-root")
        if doc:
            run0 = doc["runs"][0]
            loc = run0["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
            check(loc == {"uri": "test-targets/badname.c", "uriBaseId": "SRCROOT"} and
                  run0["originalUriBaseIds"]["SRCROOT"]["uri"] == "file://" + TOP + "/",
                  f"--source-root: the file relative to %SRCROOT% ({loc})")
            fp = [r["partialFingerprints"] for r in run0["results"]]
            code, out2, _ = run(leakscan, ["-p", str(t.pid), "--idle", "--min-blocked=0", "--format=sarif"])
            check(fp == [r["partialFingerprints"] for r in json.loads(out2)["runs"][0]["results"]] and
                  len({json.dumps(x) for x in fp}) == 3, "partialFingerprints are stable and tell leaks apart")
            rules = run0["tool"]["driver"]["rules"]
            check(all(r["help"]["text"] for r in rules) and
                  all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in run0["results"]),
                  "one rule per verdict, with help; ruleIndex points at the result's rule")
        code, out, err = run(leakscan, ["-p", str(t.pid), "--idle", "--min-blocked=0", "--format=sarif", "--source-root=/nonexistent"])
        doc = docs.parse("sarif", out, "--source-root elsewhere")
        if doc:
            uri = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            check(uri.startswith("file:///") and uri.endswith("/test-targets/badname.c"),
                  f"a file outside the source root: an absolute file: URI ({uri})")

    # at exit: each format, each option; the document goes to -o FILE
    env = dict(os.environ, LEAKSCAN_TARGET_EXIT="1")
    for fmt in FORMATS:
        for opts in OPTIONS:
            what = f"--at-exit --format={fmt} {' '.join(opts)}".strip()
            out_path = os.path.join(tmp, f"ae.{fmt}")
            code, out, err = run(leakscan, ["--at-exit", f"--format={fmt}", "-o", out_path] + opts + ["--", badname],
                                 env=env)
            check(code == 1, f"{what}: exit 1 for leaks ({code})")
            with open(out_path, "rb") as f:
                data = f.read()
            os.unlink(out_path)
            if fmt == "text":
                check(b"unexpected thread" in data, f"{what}: the text report")
                if "--print-suppressions" in opts:
                    check(b"\ntop:wait_for_lock\n" in data, f"{what}: the lines follow the report")
                continue
            docs.parse(fmt, data, what)
            if "--print-suppressions" in opts:
                check(b"top:wait_for_lock" in data, f"{what}: carries the suppression lines")

    # a deadlock: DOT draws its cycle in red; SARIF names the rule
    with Target([deadlock_ab]) as t:
        wait_settled(t.pid, {"alpha", "beta"})
        code, out, err = run(leakscan, ["-p", str(t.pid), "--format=dot"])
        text = out.decode()
        docs.parse("dot", out, "--format=dot on a deadlock")
        red = [x for x in text.splitlines() if "->" in x and "color=red" in x]
        check(len(red) >= 2 and "owned by" in text, f"DOT: the deadlock cycle's edges in red ({len(red)})")
        code, out, err = run(leakscan, ["-p", str(t.pid), "--format=sarif"])
        doc = docs.parse("sarif", out, "--format=sarif on a deadlock")
        check(doc and {r["ruleId"] for r in doc["runs"][0]["results"]} == {"deadlock"}, "SARIF: rule deadlock")
        code, out, err = run(leakscan, ["-p", str(t.pid), "--format=junit"])
        docs.parse("junit", out, "--format=junit on a deadlock")

    # --watch: text and json documents, with the options that add output
    with Target([grows]) as t:
        for fmt in ("text", "json"):
            for opts in ([], ["--all", "--show-ignored", "--print-suppressions", "--color=always"]):
                what = f"--watch --format={fmt} {' '.join(opts)}".strip()
                code, out, err = run(leakscan, ["-p", str(t.pid), "--watch=400ms", "--interval=100ms",
                                                f"--format={fmt}"] + opts)
                check(code in (0, 1), f"{what}: runs ({code}: {err.decode(errors='replace').strip()[:200]})")
                if fmt == "json":
                    docs.parse("json", out, what)
                else:
                    check(utf8(out, what) is not None and b"session" in out, f"{what}: the text report")
        code, out, err = run(leakscan, ["-p", str(t.pid), "--watch=1s", "--format=junit"])
        check(code == 2, "--watch with --format=junit is a usage error")

    ci_recipes(leakscan, docs, os.path.abspath(project), tmp)
    shutil.rmtree(tmp, ignore_errors=True)
    return check.finish()


def ci_recipes(leakscan, docs, project, tmp):
    """docs/ci.md: meson test --wrapper with -o %n, JUnit and SARIF."""
    build = os.path.join(tmp, "wrapped")
    p = subprocess.run(["meson", "setup", build, project, f"-Dleakscan={leakscan}"], capture_output=True,
                       text=True, stdin=subprocess.DEVNULL, timeout=300)
    if p.returncode != 0:
        check(False, f"meson setup of tests/wrapper ({p.stdout[-300:]})")
        return
    for fmt, ext in (("junit", "xml"), ("sarif", "sarif")):
        out_dir = os.path.join(tmp, fmt)
        os.makedirs(out_dir)
        wrapper = f"{leakscan} --at-exit --format={fmt} --source-root={project} -o {out_dir}/leakscan-%n.{ext} --"
        p = subprocess.run(["meson", "test", "-C", build, f"--wrapper={wrapper}"], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=300)
        files = sorted(os.listdir(out_dir))
        check(p.returncode != 0 and files == [f"leakscan-0.{ext}", f"leakscan-1.{ext}"],
              f"meson test --wrapper with -o leakscan-%n.{ext}: one file per test, none overwritten ({files})")
        parsed = []
        for name in files:
            with open(os.path.join(out_dir, name), "rb") as f:
                parsed.append(docs.parse(fmt, f.read(), f"{fmt} of a wrapped test ({name})"))
        if fmt == "junit":
            failing = [c.get("name") for d in parsed if d is not None
                       for c in d.iter("testcase") if c.find("failure") is not None]
            check(len(failing) == 1, f"JUnit: the leaky test fails, the tidy one passes ({failing})")
        else:
            uris = [r["locations"][0]["physicalLocation"]["artifactLocation"] for d in parsed if d
                    for r in d["runs"][0]["results"]]
            check(uris == [{"uri": "leaky.c", "uriBaseId": "SRCROOT"}],
                  f"SARIF: the leak at leaky.c relative to the source root ({uris})")


if __name__ == "__main__":
    sys.exit(main())
