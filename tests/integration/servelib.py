"""Helpers for the tests of leakscan --serve: start the exporter on a free
port of 127.0.0.1, fetch its pages, wait for a condition on them (with a
deadline, never a fixed sleep), and stop it."""
import os
import re
import select
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request

SERIES = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


class Exporter:
    """leakscan --serve=127.0.0.1:0 ARGS, its URL read from its first line."""

    def __init__(self, leakscan, args, listen="127.0.0.1:0", env=None, cafile=None, timeout=30):
        self.proc = subprocess.Popen([leakscan, f"--serve={listen}"] + args, stderr=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env)
        self.stderr = b""
        deadline = time.monotonic() + timeout
        line = b""
        while b"\n" not in line and time.monotonic() < deadline:
            r, _, _ = select.select([self.proc.stderr], [], [], max(0.0, deadline - time.monotonic()))
            if not r:
                break
            chunk = os.read(self.proc.stderr.fileno(), 4096)
            if not chunk:
                break
            line += chunk
        self.first_line = line.decode(errors="replace")
        m = re.search(r'(https?://\S+)/metrics', self.first_line)
        if not m:
            self.stop()
            raise RuntimeError(f"leakscan --serve did not start: {self.first_line!r} {self.stderr!r}")
        self.url = m.group(1)
        self.context = None
        if self.url.startswith("https"):
            self.context = ssl.create_default_context(cafile=cafile)
            self.context.check_hostname = False

    def get(self, path, auth=None, method="GET"):
        """(status, body bytes)."""
        req = urllib.request.Request(self.url + path, method=method)
        if auth:
            import base64
            req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
        try:
            with urllib.request.urlopen(req, timeout=30, context=self.context) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def metrics(self, auth=None):
        status, body = self.get("/metrics", auth)
        return parse_metrics(body.decode()) if status == 200 else None

    def wait_for(self, cond, what, timeout=60):
        """Polls cond() (on fresh pages) until it returns a true value;
        raises after the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"leakscan --serve exited {self.proc.returncode} while waiting for {what}")
            v = cond()
            if v:
                return v
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}")
            time.sleep(0.05)

    def stop(self):
        """SIGTERM, then its exit status (SIGKILL after 30 s)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        try:
            self.stderr += self.proc.stderr.read()
        except ValueError:
            pass
        self.proc.stderr.close()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def parse_metrics(text):
    """[(name, {label: value}, value)]"""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SERIES.match(line)
        if m:
            out.append((m.group(1), dict(LABEL.findall(m.group(2) or "")), float(m.group(3))))
    return out


def value(series, name, **labels):
    """The value of the series name with those labels (None: absent)."""
    for n, lab, v in series or []:
        if n == name and all(lab.get(k) == str(x) for k, x in labels.items()):
            return v
    return None


def malloc_arenas(pid):
    """[KiB touched-so-far bound] of each of pid's glibc malloc arenas other
    than the main one: an arena's heap is an anonymous mapping aligned to,
    and HEAP_MAX_SIZE (64 MiB) long in all, its used part rw-p, the rest
    ---p (glibc arena.c new_heap).  Their number depends on how many
    threads malloc at once, which is the scheduler's doing as much as the
    program's."""
    rows = []
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            fields = line.split()
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            rows.append((lo, hi, fields[1], len(fields) > 5))
    heap = 64 << 20
    sizes = []
    for i, (lo, hi, perm, named) in enumerate(rows):
        if named or perm != "rw-p" or lo % heap:
            continue
        end = hi
        if i + 1 < len(rows) and rows[i + 1][0] == hi and rows[i + 1][2] == "---p" and not rows[i + 1][3]:
            end = rows[i + 1][1]
        if end - lo == heap:
            sizes.append((hi - lo) >> 10)
    return sizes


def rss_kib(pid, field="VmRSS"):
    """pid's resident memory in KiB: VmRSS, or RssAnon (its own memory, not
    the pages of files it maps, which come and go with the page cache)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0
