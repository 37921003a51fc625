#!/usr/bin/env python3
"""Ignore rules, suppressions files, default ignores, baselines, --watch,
grouping, colour and SARIF, on live targets: every option and every
suppression keyword with a case it ignores and one it does not, a malformed
suppressions file, the environment variables, OpenMP's pool reported only
with --no-default-ignores, a baseline against a reused TID, --watch on a
target that leaks a thread every 100 ms, 64 identical threads in one group,
and the structure of the SARIF 2.1.0 output.
Usage: test_rules.py LEAKSCAN MUTEX_TARGET POOL64_TARGET GROWS_TARGET [OPENMP_TARGET]"""
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from targetlib import Checks, Target, run_leakscan, wait_settled  # noqa: E402

check = Checks()


def leaks(leakscan, pid, *args, env=None):
    p = subprocess.run([leakscan, "-p", str(pid), "--idle", "--min-blocked=0", "--format=json"] + list(args),
                       capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=60)
    if p.returncode not in (0, 1):
        return None, p
    return json.loads(p.stdout), p


def at_exit_leaks(leakscan, target, *args):
    out = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
    try:
        subprocess.run([leakscan, "--at-exit", "--format=json", "-o", out] + list(args) + ["--", target],
                       env=dict(os.environ, LEAKSCAN_TARGET_EXIT="1"), capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=60)
        with open(out) as f:
            return json.load(f)
    finally:
        os.unlink(out)


def suppressions(text):
    f = tempfile.NamedTemporaryFile("w", suffix=".supp", delete=False)
    f.write(text)
    f.close()
    return f.name


def validate_sarif(doc):
    """The fields SARIF 2.1.0 requires, for the objects leakscan writes."""
    errors = []

    def need(obj, key, where):
        if not isinstance(obj, dict) or key not in obj:
            errors.append(f"{where} lacks {key}")
            return None
        return obj[key]

    def location(loc, where):
        phys = need(loc, "physicalLocation", where)
        art = need(phys, "artifactLocation", where + ".physicalLocation") if phys else None
        if art is not None and not isinstance(need(art, "uri", where + ".artifactLocation"), str):
            errors.append(f"{where}: uri is not a string")
        region = phys.get("region") if phys else None
        if region is not None and (not isinstance(region.get("startLine"), int) or region["startLine"] < 1):
            errors.append(f"{where}: region.startLine must be an integer >= 1")

    if need(doc, "version", "log") != "2.1.0":
        errors.append("version is not 2.1.0")
    for r, run in enumerate(need(doc, "runs", "log") or []):
        driver = need(need(run, "tool", f"runs[{r}]") or {}, "driver", f"runs[{r}].tool")
        need(driver, "name", f"runs[{r}].tool.driver")
        rule_ids = {x.get("id") for x in (driver or {}).get("rules", [])}
        for i, res in enumerate(run.get("results", [])):
            w = f"results[{i}]"
            msg = need(res, "message", w)
            if msg is not None and "text" not in msg and "id" not in msg:
                errors.append(f"{w}.message has neither text nor id")
            if res.get("ruleId") not in rule_ids:
                errors.append(f"{w}.ruleId {res.get('ruleId')} is not a rule of the driver")
            for k, loc in enumerate(res.get("locations", [])):
                location(loc, f"{w}.locations[{k}]")
            for k, st in enumerate(res.get("stacks", [])):
                for j, fr in enumerate(need(st, "frames", f"{w}.stacks[{k}]") or []):
                    if "location" in fr:
                        location(fr["location"], f"{w}.stacks[{k}].frames[{j}]")
            for k, cf in enumerate(res.get("codeFlows", [])):
                for tf in need(cf, "threadFlows", f"{w}.codeFlows[{k}]") or []:
                    for loc in need(tf, "locations", f"{w}.codeFlows[{k}].threadFlows") or []:
                        location(need(loc, "location", f"{w}.codeFlows") or {}, f"{w}.codeFlows")
    return errors


def main():
    leakscan, mutex, pool64, grows = sys.argv[1:5]
    openmp = sys.argv[5] if len(sys.argv) > 5 else None

    with Target([mutex]) as t:
        wait_settled(t.pid, {"locker"})
        exe = os.path.basename(mutex)
        # each option: one pattern that matches the leak, one that does not
        for opt, hit, miss in (("--ignore-top", "wait_for_*", "main"),
                               ("--ignore-any", "locker", "nothing_like_this"),
                               ("--ignore-name", "lock*", "other"),
                               ("--ignore-module", exe, "libfoo.so*")):
            rep, _ = leaks(leakscan, t.pid, f"{opt}={hit}")
            lt = [x for x in rep["processes"][0]["threads"] if x["name"] == "locker"][0]
            check(rep["summary"]["leaked"] == 0 and not lt["leaked"] and opt in (lt["ignored_by"] or ""),
                  f"{opt}={hit} ignores the leak, and says so in JSON ({lt['ignored_by']})")
            rep, _ = leaks(leakscan, t.pid, f"{opt}={miss}")
            check(rep["summary"]["leaked"] == 1, f"{opt}={miss} does not")

        # each suppression keyword, from a file
        for line, ok in (("top:wait_for_lock", True), ("any:locker", True), ("name:locker", True),
                         (f"module:*{exe}", True), ("top:locker", False), ("name:main", False)):
            path = suppressions(f"# a comment\n\n   {line}   # trailing\n")
            rep, _ = leaks(leakscan, t.pid, f"--suppressions={path}")
            check((rep["summary"]["leaked"] == 0) == ok and
                  (not ok or f"{path}:3" in [x for x in rep["processes"][0]["threads"] if x["name"] == "locker"][0]["ignored_by"]),
                  f"suppression '{line}' {'ignores' if ok else 'does not ignore'} the leak, naming FILE:LINE")
            rep, _ = leaks(leakscan, t.pid, env=dict(os.environ, LEAKSCAN_SUPPRESSIONS=path))
            check((rep["summary"]["leaked"] == 0) == ok, f"...and the same from LEAKSCAN_SUPPRESSIONS")
            os.unlink(path)

        # malformed files: one error line naming file and line, exit 2
        for bad in ("top:ok\nbottom:wait_for_lock\n", "top:ok\njustaword\n", "top:ok\nname:\n"):
            path = suppressions(bad)
            code, out, err = run_leakscan(leakscan, ["-p", str(t.pid), f"--suppressions={path}"])
            check(code == 2 and f"{path}:2:" in err and err.count("\n") == 1,
                  f"malformed suppressions {bad.splitlines()[1]!r}: exit 2 naming {os.path.basename(path)}:2 ({err.strip()!r})")
            os.unlink(path)
        code, _, err = run_leakscan(leakscan, ["-p", str(t.pid), "--suppressions=/nonexistent/supp"])
        check(code == 2 and "/nonexistent/supp" in err, "a missing suppressions file is a usage error")

        # LEAKSCAN_OPTIONS, overridden by the command line
        env = dict(os.environ, LEAKSCAN_OPTIONS="--format=json --idle --min-blocked=0 --ignore-name=locker")
        p = subprocess.run([leakscan, "-p", str(t.pid)], capture_output=True, text=True, env=env)
        check(p.returncode == 0 and json.loads(p.stdout)["summary"]["leaked"] == 0,
              "LEAKSCAN_OPTIONS holds default options")
        p = subprocess.run([leakscan, "-p", str(t.pid), "--format=text"], capture_output=True, text=True, env=env)
        check(p.stdout.startswith("leakscan: no unexpected threads"), "the command line wins over LEAKSCAN_OPTIONS")

        # text: the count of ignored threads; --show-ignored lists them
        code, out, _ = run_leakscan(leakscan, ["-p", str(t.pid), "--idle", "--min-blocked=0", "--ignore-name=locker"])
        check(code == 0 and "1 thread ignored (use --show-ignored)" in out and "locker" not in out,
              "the text report counts the ignored threads")
        code, out, _ = run_leakscan(leakscan, ["-p", str(t.pid), "--idle", "--min-blocked=0", "--ignore-name=locker",
                                               "--show-ignored"])
        check("Ignored threads:" in out and "ignored by name:locker (--ignore-name)" in out,
              "--show-ignored lists them with the rule")

        # --print-suppressions: a line that, pasted into a file, silences the leak
        code, out, _ = run_leakscan(leakscan, ["-p", str(t.pid), "--idle", "--min-blocked=0", "--print-suppressions"])
        lines = [x for x in out.splitlines() if re.match(r"^(top|any|name|module|created-by):", x)]
        check(lines == ["top:wait_for_lock"], f"--print-suppressions prints top:wait_for_lock ({lines})")
        path = suppressions("\n".join(lines) + "\n")
        rep, _ = leaks(leakscan, t.pid, f"--suppressions={path}")
        check(rep["summary"]["leaked"] == 0, "...which silences the leak")
        os.unlink(path)

        # colour
        code, out, _ = run_leakscan(leakscan, ["-p", str(t.pid), "--idle", "--min-blocked=0", "--color=always"])
        check("\033[1;33mwait_for_lock\033[0m" in out and "\033[2m" in out, "--color=always: top highlighted, system dim")
        code, out, _ = run_leakscan(leakscan, ["-p", str(t.pid), "--idle", "--min-blocked=0", "--color=auto"])
        check("\033[" not in out, "--color=auto: no colour into a pipe")

        # SARIF
        code, out, _ = run_leakscan(leakscan, ["-p", str(t.pid), "--idle", "--min-blocked=0", "--format=sarif"])
        doc = json.loads(out)
        errors = validate_sarif(doc)
        res = doc["runs"][0]["results"]
        loc = res[0]["locations"][0]["physicalLocation"] if res else {}
        check(code == 1 and not errors and len(res) == 1 and res[0]["ruleId"] == "leaked-thread"
              and loc["artifactLocation"]["uri"].endswith("/test-targets/mutex.c") and loc["region"]["startLine"] > 0
              and len(res[0]["stacks"]) == 1, f"SARIF 2.1.0 for a leak, located at the top user frame ({errors})")

        # baseline: what was there is ignored; a reused TID is a new thread
        base = tempfile.NamedTemporaryFile(suffix=".baseline", delete=False).name
        code, out, _ = run_leakscan(leakscan, ["-p", str(t.pid), "--idle", "--min-blocked=0", f"--save-baseline={base}"])
        check(code == 1 and os.path.getsize(base) > 0, "--save-baseline writes the threads, and the report is as usual")
        rep, _ = leaks(leakscan, t.pid, f"--baseline={base}")
        lt = [x for x in rep["processes"][0]["threads"] if x["name"] == "locker"][0]
        check(rep["summary"]["leaked"] == 0 and lt["ignored_by"] == f"baseline ({base})",
              "--baseline ignores the threads present in it")
        with open(base) as f:
            lines = f.read().splitlines()
        with open(base, "w") as f:
            for line in lines:
                w = line.split()
                if not line.startswith("#") and int(w[0]) == lt["tid"]:
                    w[1] = str(int(w[1]) - 1)   # the same TID, started at another time
                f.write(" ".join(w) + "\n")
        rep, _ = leaks(leakscan, t.pid, f"--baseline={base}")
        check(rep["summary"]["leaked"] == 1, "a TID that started at another time is a new thread: judged")
        with open(base, "w") as f:
            f.write("# header\nnot a line\n")
        code, _, err = run_leakscan(leakscan, ["-p", str(t.pid), f"--baseline={base}"])
        check(code == 2 and f"{base}:2:" in err, "a malformed baseline is a usage error naming its line")
        with open(base, "w") as f:
            f.write("# empty\n")
        code, _, err = run_leakscan(leakscan, ["--at-exit", f"--baseline={base}", "true"])
        check(code == 2 and "go with -p" in err, "--baseline goes with -p")
        os.unlink(base)

        # --watch on a process whose thread count does not change
        code, out, _ = run_leakscan(leakscan, ["-p", str(t.pid), "--watch=400ms", "--interval=100ms"])
        check(code == 0 and "no group of threads grew" in out, f"--watch on a stable process: nothing grew ({code})")

    # --watch on a process that leaks a thread every 100 ms
    with Target([grows]) as t:
        code, out, _ = run_leakscan(leakscan, ["-p", str(t.pid), "--watch=1s", "--interval=200ms"])
        m = re.search(r"^\+(\d+) threads \(counts:((?: \d+)+)\) like this one:\nThread \d+ \"session\" in state condvar.*"
                      r"with wait_for_close on top", out, re.M)
        counts = [int(x) for x in m.group(2).split()] if m else []
        # how many snapshots fit in a second depends on the machine's load:
        # three at least, each with no fewer threads than the one before
        check(code == 1 and m and int(m.group(1)) >= 2 and counts == sorted(counts) and len(counts) >= 3,
              f"--watch finds the group that grows, with its counts ({m and m.group(0)[:60]!r})")
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test-targets", "grows.c")
        line = [n for n, text in enumerate(open(src), 1) if "@spawn" in text][0]
        check(re.search(r"^  created by acceptor at \S*grows\.c:%d:$" % line, out, re.M) is not None,
              f"...and where its new threads were created (grows.c:{line}), seen while watching")
        code, out, err = run_leakscan(leakscan, ["-p", str(t.pid), "--watch=500ms", "--interval=100ms", "--format=json"])
        if code not in (0, 1):
            sys.exit(f"FAIL --watch --format=json exited {code}: {err.strip()}")
        doc = json.loads(out)
        grown = [g for g in doc["groups"] if g["growth"] > 0]
        check(code == 1 and doc["mode"] == "watch" and len(grown) == 1 and grown[0]["example"]["name"] == "session"
              and doc["threads"] == sorted(doc["threads"]), "--watch --format=json: the growing group and its counts")

    # created-by, at exit
    rep = at_exit_leaks(leakscan, mutex, "--ignore-created-by=main")
    check(rep["summary"]["leaked"] == 0, "--ignore-created-by=main ignores a thread main created")
    rep = at_exit_leaks(leakscan, mutex, "--ignore-created-by=start_*")
    check(rep["summary"]["leaked"] == 1, "--ignore-created-by=start_* does not")
    path = suppressions("created-by:main\n")
    rep = at_exit_leaks(leakscan, mutex, f"--suppressions={path}")
    check(rep["summary"]["leaked"] == 0, "suppression created-by:main too")
    os.unlink(path)
    out = tempfile.NamedTemporaryFile(suffix=".sarif", delete=False).name
    subprocess.run([leakscan, "--at-exit", "--format=sarif", "-o", out, "--", mutex],
                   env=dict(os.environ, LEAKSCAN_TARGET_EXIT="1"), capture_output=True, stdin=subprocess.DEVNULL)
    with open(out) as f:
        doc = json.load(f)
    os.unlink(out)
    res = doc["runs"][0]["results"]
    check(not validate_sarif(doc) and len(res) == 1 and len(res[0]["stacks"]) == 2,
          "SARIF at exit carries the creator stack as a second stack")

    # 64 identical threads: one group
    with Target([pool64]) as t:
        wait_settled(t.pid, {"handler"})
        code, out, _ = run_leakscan(leakscan, ["-p", str(t.pid), "--idle", "--min-blocked=0"])
        groups = re.findall(r"^(\d+ threads|Thread \d+)", out, re.M)
        check(code == 1 and groups == ["64 threads"] and
              re.search(r"^64 threads in state condvar, blocked[^,]*, with handle_request on top of the stack: "
                        r"\(tids [\d, .-]+, \"handler\"\)$", out, re.M),   # a range when the TIDs follow each other
              f"64 identical threads print as one group ({groups}: {[x for x in out.splitlines() if x.startswith('64')]})")
        code, out, _ = run_leakscan(leakscan, ["-p", str(t.pid), "--idle", "--min-blocked=0", "--format=sarif"])
        check(len(json.loads(out)["runs"][0]["results"]) == 1, "...and make one SARIF result")

    # default ignores, on a real OpenMP program
    if openmp:
        with Target([openmp]) as t:
            code, out, _ = run_leakscan(leakscan, ["-p", str(t.pid), "--idle", "--min-blocked=0"])
            check(code == 0 and "ignored (use --show-ignored)" in out, "OpenMP's worker team is ignored by default")
            rep, _ = leaks(leakscan, t.pid, "--no-default-ignores")
            check(rep["summary"]["leaked"] >= 2, f"...and reported with --no-default-ignores ({rep['summary']['leaked']})")
            rep, _ = leaks(leakscan, t.pid)
            ign = [x["ignored_by"] for x in rep["processes"][0]["threads"] if x["ignored_by"]]
            check(ign and all("default: OpenMP (libgomp)" in x for x in ign), f"...naming the entry ({ign[:1]})")
    else:
        check(False, "no OpenMP target: the compiler has no -fopenmp")
    code, out, _ = run_leakscan(leakscan, ["--list-default-ignores"])
    check(code == 0 and "libgomp" in out and "libuv" in out and "jemalloc" in out and "CUDA" in out,
          "--list-default-ignores documents the built-in list")

    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
