#!/usr/bin/env python3
"""leakscan --serve, the exporter: it binds 127.0.0.1 unless told otherwise;
/metrics (clean under promtool check metrics) carries a leaky target's
leaks with its labels, /report.json its JSON report, /debug/pprof/threads
a profile go tool pprof reads, /healthz ok; targets from -p, --match and
--cgroup; a process that ends is forgotten; real-time, already traced and
opted-out processes (environment variable and xattr), and those readable
only with a visible stop (unless --visible-stops), are skipped, counted
and listed, never touched; the CPU budget stretches the interval; basic
auth (bcrypt) and TLS from a --web.config.file; SIGTERM ends it with 0 and
leaves no target traced.  Every wait is for a condition, with a deadline.
Usage: test_serve.py LEAKSCAN DEADLOCK_AB TRACER"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from servelib import Exporter, parse_metrics, value  # noqa: E402
from targetlib import Checks, Target, tracer_pid  # noqa: E402

check = Checks()


def promtool(body, what):
    if not shutil.which("promtool"):
        print(f"note: promtool is not installed: {what} not linted")
        return
    p = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, timeout=60)
    check(p.returncode == 0, f"{what}: promtool check metrics is clean ({(p.stdout + p.stderr).decode()[:300]})")


def targets_of(ex, auth=None):
    status, body = ex.get("/report.json", auth)
    if status != 200:
        return None
    return {t["pid"]: t for t in json.loads(body)["targets"]}


def leaked(ex, pid, verdict="deadlock"):
    return value(ex.metrics(), "leakscan_leaked_threads", pid=pid, verdict=verdict)


def basics(leakscan, deadlock, tmp):
    with Target([deadlock]) as t, Exporter(leakscan, ["-p", str(t.pid), "--interval=100ms", "--cpu-budget=100%"],
                                           listen=":0") as ex:
        check(ex.url.startswith("http://127.0.0.1:"), f"--serve=:PORT binds 127.0.0.1 ({ex.url})")
        ex.wait_for(lambda: leaked(ex, t.pid) == 2, "the two deadlocked threads in /metrics")
        status, body = ex.get("/metrics")
        promtool(body, "/metrics")
        series = parse_metrics(body.decode())
        sites = {lab["function"]: lab for n, lab, v in series if n == "leakscan_leak_group_threads"}
        check(set(sites) == {"alpha_work", "beta_work"} and
              all(lab["comm"] == "deadlock_ab" and lab["pid"] == str(t.pid) for lab in sites.values()),
              f"/metrics: the leak sites with pid and comm ({sorted(sites)})")
        check(value(series, "leakscan_scans_total") >= 1, "/metrics: leakscan_scans_total counts snapshots")
        tg = targets_of(ex)
        check(t.pid in tg and tg[t.pid]["report"]["summary"]["leaked"] == 2 and tg[t.pid]["skipped"] is None,
              "/report.json: the target's last report, 2 leaked")
        status, body = ex.get("/healthz")
        check(status == 200 and body == b"ok\n", "/healthz: 200 ok")
        check(ex.get("/nothing")[0] == 404, "an unknown path: 404")
        check(ex.get("/metrics", method="POST")[0] == 405, "POST: 405")
        status, body = ex.get("/debug/pprof/threads")
        check(status == 200 and body[:2] == b"\x1f\x8b", "/debug/pprof/threads: a gzipped profile")
        if shutil.which("go"):
            path = os.path.join(tmp, "threads.pb.gz")
            with open(path, "wb") as f:
                f.write(body)
            env = dict(os.environ, HOME=tmp, PPROF_TMPDIR=tmp, GOCACHE=os.path.join(tmp, "gocache"))
            p = subprocess.run(["go", "tool", "pprof", "-raw", path], capture_output=True, timeout=300, env=env)
            raw = p.stdout.decode(errors="replace")
            check(p.returncode == 0 and "alpha_work" in raw and "verdict:[deadlock]" in raw,
                  "/debug/pprof/threads: go tool pprof reads the deadlocked stacks")
        # the target ends: forgotten
        t.kill()
        ex.wait_for(lambda: (lambda tg: tg is not None and t.pid not in tg)(targets_of(ex)) and
                    leaked(ex, t.pid) is None,
                    "the ended target forgotten")
        check(True, "a target that ended is forgotten (report and series)")
        check(ex.stop() == 0, "SIGTERM: exit 0")


def selectors(leakscan, deadlock, tmp):
    # --match on the command name or the path, --cgroup on the test's own
    # cgroup; always narrowed to a copy of the target in this test's folder,
    # as other test runs on this machine have targets of the same name that
    # this test must not touch
    with open("/proc/self/cgroup") as f:
        own = [line.split("::", 1)[1].strip() for line in f if line.startswith("0::")]
    name = f"srv{os.getpid() % 100000}"
    copy = shutil.copy(deadlock, os.path.join(tmp, name))
    with Target([copy]) as t:
        with Exporter(leakscan, [f"--match=^{name}$", "--interval=100ms", "--cpu-budget=100%"]) as ex:
            ex.wait_for(lambda: leaked(ex, t.pid) == 2, "--match: the target found by its command name")
            check(True, "--match=REGEX finds a process by its command name")
        with Exporter(leakscan, [f"--match=^{tmp}/", "--interval=100ms", "--cpu-budget=100%"]) as ex:
            ex.wait_for(lambda: leaked(ex, t.pid) == 2, "--match: the target found by its path")
            check(set(targets_of(ex)) == {t.pid}, "--match=REGEX on the executable's path: that process only")
        if own:
            with Exporter(leakscan, [f"--cgroup={own[0]}", f"--match=^{tmp}/", "--interval=100ms",
                                     "--cpu-budget=100%"]) as ex:
                ex.wait_for(lambda: leaked(ex, t.pid) == 2, "--cgroup: the target in the test's cgroup")
                check(True, "--cgroup=PATH finds a process in that cgroup")
            with Exporter(leakscan, ["--cgroup=/no/such/cgroup", f"--match=^{tmp}/", "--interval=100ms",
                                     "--cpu-budget=100%"]) as ex:
                ex.wait_for(lambda: value(ex.metrics(), "leakscan_scan_cycles_total") >= 2, "two cycles")
                check(value(ex.metrics(), "leakscan_targets") == 0, "--cgroup elsewhere: no target")


def skips(leakscan, deadlock, tracer, tmp):
    env = dict(os.environ, LEAKSCAN_OPTOUT="1")
    optout = Target.__new__(Target)
    optout.proc = subprocess.Popen([deadlock], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                   start_new_session=True, env=env)
    optout.pid = int(optout.proc.stdout.readline().split()[1])
    # a copy of the target whose file carries the opt-out xattr
    copy = os.path.join(tmp, "optout_xattr")
    shutil.copy(deadlock, copy)
    xattr = True
    try:
        os.setxattr(copy, "user.leakscan.optout", b"1")
    except OSError as e:
        xattr = False
        print(f"note: user xattrs not supported in {tmp} ({e}): the xattr opt-out is not tried")
    rt = None
    try:
        with optout, Target([tracer]) as traced, Target([copy]) as byxattr:
            pids = ["-p", str(optout.pid), "-p", str(traced.pid), "-p", str(byxattr.pid)]
            try:
                rt = Target(["chrt", "-f", "1", deadlock])
                pids += ["-p", str(rt.pid)]
            except (RuntimeError, OSError) as e:
                print(f"note: chrt -f failed ({e}): the real-time skip is not tried")
            with Exporter(leakscan, pids + ["--interval=100ms", "--cpu-budget=100%"]) as ex:
                def all_skipped():
                    tg = targets_of(ex)
                    want = {optout.pid: "optout", traced.pid: "traced"}
                    if xattr:
                        want[byxattr.pid] = "optout"
                    if rt:
                        want[rt.pid] = "realtime"
                    return tg if tg and all(tg.get(p, {}).get("skipped") == w for p, w in want.items()) else None
                tg = ex.wait_for(all_skipped, "the skips listed in /report.json")
                check(all(x["report"] is None and x["skipped_why"] for x in tg.values() if x["skipped"]),
                      "/report.json: skipped targets have no report and say why")
                series = ex.metrics()
                check(value(series, "leakscan_targets_skipped_total", reason="optout") >= (2 if xattr else 1),
                      "opt-outs counted (environment and xattr)")
                check(value(series, "leakscan_targets_skipped_total", reason="traced") >= 1, "traced counted")
                if rt:
                    check(value(series, "leakscan_targets_skipped_total", reason="realtime") >= 1,
                          "real-time counted")
                check(all(leaked(ex, p) is None for p in (optout.pid, traced.pid)),
                      "no series for skipped targets")
                if not xattr:
                    check(tg[byxattr.pid]["report"] is not None or tg[byxattr.pid]["skipped"] is None,
                          "without xattrs the copy is scanned")
                check(tracer_pid(optout.pid) == 0, "the opted-out target was never traced")
    finally:
        if rt:
            rt.kill()


def visible_stops(leakscan, deadlock):
    # the fp unwinder needs every register, so a thread asleep in a call can
    # be read only by stopping it there: by default the target is skipped,
    # counted and listed, and --visible-stops snapshots it all the same
    with Target([deadlock]) as t:
        with Exporter(leakscan, ["-p", str(t.pid), "--interval=100ms", "--cpu-budget=100%",
                                 "--unwinder=fp"]) as ex:
            ex.wait_for(lambda: value(ex.metrics(), "leakscan_targets_skipped_total", reason="visible_stop") >= 1,
                        "a target that needs a visible stop is skipped")
            tg = targets_of(ex)
            check(tg.get(t.pid, {}).get("skipped") == "visible_stop" and tg[t.pid]["report"] is None,
                  f"/report.json lists it as skipped: visible_stop ({tg.get(t.pid)})")
        with Exporter(leakscan, ["-p", str(t.pid), "--interval=100ms", "--cpu-budget=100%",
                                 "--unwinder=fp", "--visible-stops"]) as ex:
            ex.wait_for(lambda: targets_of(ex).get(t.pid, {}).get("report") is not None,
                        "--visible-stops: the target is snapshotted")
            check(value(ex.metrics(), "leakscan_targets_skipped_total", reason="visible_stop") == 0,
                  "--visible-stops: nothing skipped for a visible stop")


def budget(leakscan, deadlock):
    with Target([deadlock]) as t, Exporter(leakscan, ["-p", str(t.pid), "--interval=10ms",
                                                      "--cpu-budget=0.5%"]) as ex:
        series = ex.wait_for(lambda: (lambda s: s if value(s, "leakscan_scan_cycles_total") >= 2 else None)(
            ex.metrics()), "two cycles")
        cycle = value(series, "leakscan_cycle_seconds")
        cpu = value(series, "leakscan_cycle_cpu_seconds")
        check(cpu > 0 and cycle >= cpu / 0.005 * 0.999 and cycle > 0.01,
              f"--cpu-budget=0.5%: the cycle stretched to CPU/budget ({cycle:.3f}s for {cpu:.4f}s of CPU)")


def auth_tls(leakscan, deadlock, tmp):
    try:
        import crypt
        # the lowest cost bcrypt allows (2^4, not the default 2^12): every
        # authenticated request pays it, and on a loaded machine 2^12 alone
        # took more than an idle client's 5 s (idle_clients_wait)
        hashed = crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
    except Exception as e:         # removed from Python 3.13
        print(f"note: no bcrypt in this Python ({e}): basic auth is not tried")
        hashed = None
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "1", "-subj", "/CN=127.0.0.1"], capture_output=True, timeout=120)
    tls = p.returncode == 0
    if not tls:
        print(f"note: openssl req failed: TLS is not tried ({p.stderr[-200:]})")
    config = os.path.join(tmp, "web.yml")
    with open(config, "w") as f:
        f.write("# exporter-toolkit's format\n")
        if tls:
            f.write(f"tls_server_config:\n  cert_file: {cert}\n  key_file: '{key}'\n")
        if hashed:
            f.write(f"basic_auth_users:\n  alice: {hashed}\n")
    with Target([deadlock]) as t, Exporter(leakscan, ["-p", str(t.pid), "--interval=100ms", "--cpu-budget=100%",
                                                      f"--web.config.file={config}"], cafile=cert if tls else None) as ex:
        if tls:
            check(ex.url.startswith("https://"), f"TLS: https ({ex.url})")
        if hashed:
            check(ex.get("/metrics")[0] == 401, "basic auth: no credentials, 401")
            check(ex.get("/metrics", auth="alice:wrong")[0] == 401, "basic auth: a wrong password, 401")
            check(ex.get("/metrics", auth="mallory:s3cret")[0] == 401, "basic auth: an unknown user, 401")
            check(ex.get("/healthz")[0] == 401, "basic auth: every path")
        if tls:
            idle_clients_wait(ex, "TLS: idle clients that never start the handshake",
                              auth="alice:s3cret" if hashed else None)
        ex.wait_for(lambda: value(ex.metrics(auth="alice:s3cret"), "leakscan_leaked_threads", pid=t.pid,
                                  verdict="deadlock") == 2, "the leaks, with the right credentials")
        check(True, "the right credentials (over TLS) get the metrics")
    bad = os.path.join(tmp, "bad.yml")
    with open(bad, "w") as f:
        f.write("tls_server_config:\n  client_auth_type: RequireAndVerifyClientCert\n")
    p = subprocess.run([leakscan, "--serve=127.0.0.1:0", "-p", "1", f"--web.config.file={bad}"],
                       capture_output=True, text=True, timeout=30)
    check(p.returncode == 2 and "client_auth_type" in p.stderr,
          f"an unsupported web config setting: exit 2, named ({p.stderr.strip()[:200]})")


def slow_client(leakscan, deadlock):
    """A client that trickles its request a byte at a time, each within the
    read timeout, is cut off at the request's deadline: it must not hold the
    exporter (which serves one connection at a time) for as long as it
    keeps trickling."""
    with Target([deadlock]) as t, Exporter(leakscan, ["-p", str(t.pid), "--interval=1s"]) as ex:
        u = urllib.parse.urlsplit(ex.url)
        with socket.create_connection((u.hostname, u.port), timeout=30) as s:
            s.settimeout(0.5)
            closed = False
            deadline = time.monotonic() + 60     # the trickle alone would last 8192 bytes * 0.5 s
            while not closed and time.monotonic() < deadline:
                try:
                    s.send(b"G")
                    closed = s.recv(1) == b""
                except socket.timeout:
                    pass                         # still reading: one more byte
                except OSError:
                    closed = True
            check(closed, "a client trickling its request is cut off at the request's deadline")
        check(ex.get("/healthz")[0] == 200, "and the exporter answers the next client")


def still_open(sock):
    """Whether the exporter still holds sock open (it has sent nothing and
    not closed it)."""
    sock.setblocking(False)
    try:
        return sock.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


# how long the exporter keeps a client that sends nothing
# (src/serve/serve-http.c IO_TIMEOUT_S)
IO_TIMEOUT_S = 5
ATTEMPTS = 5


def with_idle(ex, n, auth=None):
    """Opens n clients that connect and send nothing, asks for /healthz, and
    returns (status, [still open?] per idle client), or None when the answer
    took the exporter's whole deadline for an idle client (a loaded machine:
    it may have closed them before answering, as it must; nothing can be
    told from that attempt)."""
    u = urllib.parse.urlsplit(ex.url)
    t0 = time.monotonic()
    idle = [socket.create_connection((u.hostname, u.port), timeout=30) for _ in range(n)]
    try:
        status = ex.get("/healthz", auth)[0]
        if time.monotonic() - t0 >= IO_TIMEOUT_S:
            return None
        return status, [still_open(sk) for sk in idle]
    finally:
        for sk in idle:
            sk.close()


def idle_clients_wait(ex, what, n=3, auth=None):
    """n clients that connect and send nothing (no request, no TLS
    handshake) delay no one: /healthz is answered while they are all still
    open.  The old one-connection-at-a-time server gave each of them its
    whole 5 s deadline first, and answered only once it had closed them:
    every attempt of it takes the deadline, and the check fails."""
    for _ in range(ATTEMPTS):
        # each idle client is accepted (the exporter, asked after them on
        # this same listener, answers; its request was queued behind them)
        got = with_idle(ex, n, auth)
        if got is not None:
            status, open_now = got[0], sum(got[1])
            check(status == 200 and open_now == n,
                  f"{what}: /healthz answered ({status}) while {n} idle clients stay open ({open_now} open)")
            return
    check(False, f"{what}: /healthz answered within an idle client's deadline ({IO_TIMEOUT_S} s; "
          f"{ATTEMPTS} attempts)")


def idle_clients(leakscan, deadlock):
    with Target([deadlock]) as t, Exporter(leakscan, ["-p", str(t.pid), "--interval=1s"]) as ex:
        idle_clients_wait(ex, "idle clients")
        # more idle clients than the exporter keeps (64): a new client
        # takes the place of the oldest one that has sent nothing
        for _ in range(ATTEMPTS):
            got = with_idle(ex, 70)
            if got is not None:
                status, kept = got
                check(status == 200 and sum(kept) >= 60 and kept[-1],
                      f"70 idle clients: /healthz answered ({status}), the newest idle ones kept ({sum(kept)} open)")
                break
        else:
            check(False, f"70 idle clients: /healthz answered within an idle client's deadline "
                  f"({IO_TIMEOUT_S} s; {ATTEMPTS} attempts)")
        check(ex.get("/healthz")[0] == 200, "and after they leave, the exporter answers")


def spawn_with_pid(argv, pid, tries=50):
    """A Target started with that PID (ns_last_pid, root only; another
    process may fork in between: tried again), or None."""
    for _ in range(tries):
        try:
            with open("/proc/sys/kernel/ns_last_pid", "w") as f:
                f.write(str(pid - 1))
        except OSError:
            return None
        t = Target(argv)
        if t.pid == pid:
            return t
        t.kill()
    return None


def pid_reuse(leakscan, deadlock, tmp):
    """A target that exits and a new process that gets its PID (and matches
    the same --match) is a new target: reported under its own name, with
    its own command line, never taken for the old one."""
    base = f"reuse{os.getpid() % 100000}"
    first = shutil.copy(deadlock, os.path.join(tmp, base + "a"))
    second = shutil.copy(deadlock, os.path.join(tmp, base + "b"))
    with Exporter(leakscan, [f"--match=^{tmp}/{base}", "--interval=100ms", "--cpu-budget=100%"]) as ex:
        with Target([first]) as old:
            pid = old.pid
            ex.wait_for(lambda: leaked(ex, pid) == 2, "the first process's leaks")
            ex.wait_for(lambda: (targets_of(ex) or {}).get(pid, {}).get("comm") == base + "a",
                        "the first process's name")
        new = spawn_with_pid([second], pid)
        if new is None:
            print(f"note: PID {pid} could not be given again (ns_last_pid): PID reuse is not tried")
            return
        with new:
            def fresh():
                t = (targets_of(ex) or {}).get(pid)
                report = t and t.get("report")
                if not report or report["processes"][0]["cmdline"] != [second]:
                    return None
                return t
            t = ex.wait_for(fresh, "a report of the process that has the PID now")
            check(t["comm"] == base + "b" and leaked(ex, pid) == 2,
                  f"PID {pid} reused: the new process is a new target ({t['comm']}, "
                  f"{t['report']['processes'][0]['cmdline']})")


def main():
    leakscan, deadlock, tracer = sys.argv[1:4]
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR", "/tmp")) as tmp:
        basics(leakscan, deadlock, tmp)
        selectors(leakscan, deadlock, tmp)
        skips(leakscan, deadlock, tracer, tmp)
        visible_stops(leakscan, deadlock)
        budget(leakscan, deadlock)
        slow_client(leakscan, deadlock)
        idle_clients(leakscan, deadlock)
        pid_reuse(leakscan, deadlock, tmp)
        auth_tls(leakscan, deadlock, tmp)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
