#!/usr/bin/env python3
"""Plain `leakscan -p` on real multi-threaded servers from Debian's packages,
idle and under load, must report no leaked thread: a report is believed only
if it is silent on healthy software.

Servers (each skipped when not installed; the test is skipped, exit 77, when
none is): redis-server with 4 I/O threads under redis-benchmark, memcached
with 4 worker threads under a get/set loop, nginx with a thread pool serving
files through it, haproxy with 4 threads under keep-alive HTTP requests,
unbound with 4 threads answering a query loop.  Every server listens on 127.0.0.1 only, on a port picked
free, with its files in a temporary directory; each load is bounded in
requests and time.

Also checks that each server is left running and untraced, and that it still
answers after the snapshots.

Usage: check_servers.py LEAKSCAN"""
import http.client
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from targetlib import Checks, run_leakscan, tasks, tracer_pid  # noqa: E402

check = Checks()
SNAPSHOTS = 3


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def pids_of(root):
    """root and its descendants (nginx's workers)."""
    out = [root]
    try:
        children = open(f"/proc/{root}/task/{root}/children").read().split()
    except OSError:
        children = []
    for c in children:
        out += pids_of(int(c))
    return out


def judge(name, pids, phase):
    """Snapshots every process SNAPSHOTS times; no leak may be reported."""
    for pid in pids:
        threads = len(tasks(pid))
        for i in range(SNAPSHOTS):
            code, out, err = run_leakscan(LEAKSCAN, ["-p", str(pid), "--format=json"])
            try:
                report = json.loads(out)
                leaked = [t for t in report["processes"][0]["threads"] if t["leaked"]]
            except (ValueError, KeyError, IndexError):
                check(False, f"{name} {phase}: pid {pid} snapshot {i}: no JSON report ({code}: {err.strip()[:200]})")
                return
            desc = ", ".join(f'{t["name"]} {t["state"]} {t["verdict"]}' for t in leaked)
            check(code == 0 and not leaked,
                  f"{name} {phase}: pid {pid} ({threads} threads) snapshot {i}: no leak reported"
                  + (f" (exit {code}: {desc})" if code or leaked else ""))
            time.sleep(0.2)
        check(all(tracer_pid(pid, tid) == 0 for tid in tasks(pid)), f"{name} {phase}: pid {pid} left untraced")


class Load(threading.Thread):
    """Runs fn(stop_event) in a thread until stopped; bounded by fn itself."""

    def __init__(self, fn):
        super().__init__(daemon=True)
        self.fn, self.stop = fn, threading.Event()

    def run(self):
        try:
            self.fn(self.stop)
        except OSError:
            pass

    def __enter__(self):
        self.start()
        time.sleep(0.5)         # let the load reach every worker
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.join(timeout=10)


def start(argv, port, **kw):
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True, **kw)
    if not wait_port(port):
        stop(p)
        return None
    return p


def stop(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait()


def check_redis(tmp):
    port = free_port()
    p = start(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--io-threads", "4",
               "--io-threads-do-reads", "yes", "--save", "", "--appendonly", "no", "--dir", tmp,
               "--protected-mode", "yes"], port)
    if not p:
        check(False, "redis-server starts")
        return
    try:
        judge("redis idle", [p.pid], "idle")

        def bench(stop_event):
            while not stop_event.is_set():
                subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-n", "20000", "-c", "32",
                                "-q", "-t", "set,get,lpush,lpop"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=60)
        with Load(bench):
            judge("redis", [p.pid], "under redis-benchmark")
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"PING\r\n")
            check(s.recv(16).startswith(b"+PONG"), "redis still answers after the snapshots")
    finally:
        stop(p)


def check_memcached(tmp):
    port = free_port()
    p = start(["memcached", "-t", "4", "-p", str(port), "-l", "127.0.0.1", "-U", "0", "-u", "root"], port)
    if not p:
        check(False, "memcached starts")
        return
    try:
        judge("memcached", [p.pid], "idle")

        def load(stop_event):
            socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(8)]
            for n in range(200000):
                if stop_event.is_set():
                    break
                s = socks[n % len(socks)]
                s.sendall(b"set k%d 0 0 5\r\nhello\r\nget k%d\r\n" % (n % 100, n % 100))
                buf = b""
                while not buf.endswith(b"END\r\n"):
                    buf += s.recv(4096)
        with Load(load):
            judge("memcached", [p.pid], "under a get/set loop")
    finally:
        stop(p)


def check_nginx(tmp):
    port = free_port()
    root = os.path.join(tmp, "www")
    os.makedirs(root)
    os.chmod(tmp, 0o755)        # nginx's workers run as an unprivileged user
    with open(os.path.join(root, "f.bin"), "wb") as f:
        f.write(os.urandom(256 * 1024))
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""
daemon off;
master_process on;
worker_processes 2;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
thread_pool leakscan threads=4 max_queue=256;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ aio threads=leakscan; sendfile off; }}
    }}
}}
""")
    p = start(["nginx", "-c", conf, "-p", tmp], port)
    if not p:
        check(False, "nginx starts")
        return
    try:
        url = f"http://127.0.0.1:{port}/f.bin"
        urllib.request.urlopen(url, timeout=5).read()   # start the pool threads
        judge("nginx", pids_of(p.pid), "idle")

        def load(stop_event):
            for _ in range(5000):
                if stop_event.is_set():
                    break
                urllib.request.urlopen(url, timeout=5).read()
        with Load(load):
            judge("nginx", pids_of(p.pid), "serving files through its thread pool")
    finally:
        stop(p)


def check_haproxy(tmp):
    port = free_port()
    conf = os.path.join(tmp, "haproxy.cfg")
    with open(conf, "w") as f:
        f.write(f"""
global
    nbthread 4
    maxconn 256
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{port}
    http-request return status 200 content-type text/plain string ok
""")
    p = start(["haproxy", "-f", conf, "-db"], port)
    if not p:
        check(False, "haproxy starts")
        return
    try:
        judge("haproxy", [p.pid], "idle")

        def load(stop_event):
            conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=5) for _ in range(8)]
            for n in range(100000):
                if stop_event.is_set():
                    break
                c = conns[n % len(conns)]
                c.request("GET", "/")
                c.getresponse().read()
        with Load(load):
            judge("haproxy", [p.pid], "under keep-alive HTTP requests")
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", "/")
        check(c.getresponse().status == 200, "haproxy still answers after the snapshots")
    finally:
        stop(p)


def dns_query(name, qid):
    labels = b"".join(bytes([len(x)]) + x.encode() for x in name.split(".") if x)
    return struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + labels + b"\0" + struct.pack(">HH", 1, 1)


def check_unbound(tmp):
    port = free_port()
    conf = os.path.join(tmp, "unbound.conf")
    with open(conf, "w") as f:
        f.write(f"""
server:
    num-threads: 4
    interface: 127.0.0.1
    port: {port}
    do-daemonize: no
    do-not-query-localhost: no
    chroot: ""
    username: ""
    directory: "{tmp}"
    pidfile: ""
    use-syslog: no
    logfile: "{tmp}/unbound.log"
    local-zone: "leakscan.test." static
    local-data: "a.leakscan.test. IN A 10.0.0.1"
remote-control:
    control-enable: no
""")
    p = subprocess.Popen(["unbound", "-d", "-c", conf], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.2)
    answered = False
    for i in range(50):         # UDP: ready when it answers
        s.sendto(dns_query("a.leakscan.test.", i), ("127.0.0.1", port))
        try:
            answered = len(s.recv(512)) > 12
            break
        except OSError:
            time.sleep(0.1)
    if not answered:
        check(False, "unbound starts and answers")
        stop(p)
        return
    try:
        judge("unbound", [p.pid], "idle")

        def load(stop_event):
            for n in range(200000):
                if stop_event.is_set():
                    break
                s.sendto(dns_query("a.leakscan.test.", n & 0xffff), ("127.0.0.1", port))
                try:
                    s.recv(512)
                except socket.timeout:
                    pass
        with Load(load):
            judge("unbound", [p.pid], "answering queries")
        s.settimeout(5)
        s.sendto(dns_query("a.leakscan.test.", 7), ("127.0.0.1", port))
        reply = b""
        while reply[:2] != b"\0\7":     # skip answers the load left behind
            reply = s.recv(512)
        check(len(reply) > 12, "unbound still answers after the snapshots")
    finally:
        s.close()
        stop(p)


def main():
    global LEAKSCAN
    LEAKSCAN = sys.argv[1]
    os.environ["PATH"] += ":/usr/sbin:/sbin"      # nginx, for a user whose PATH lacks them
    servers = [(check_redis, "redis-server"), (check_memcached, "memcached"), (check_nginx, "nginx"),
               (check_haproxy, "haproxy"), (check_unbound, "unbound")]
    ran = 0
    for fn, exe in servers:
        if not shutil.which(exe):
            print(f"skip {exe}: not installed")
            continue
        ran += 1
        with tempfile.TemporaryDirectory(prefix="leakscan-real-") as tmp:
            fn(tmp)
    if ran == 0:
        print("no real server installed: skipped")
        return 77
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
