#!/usr/bin/env python3
"""What leakscan loads at its start: OpenSSL (libssl, libcrypto) only when
--serve is given a certificate.  A run under --at-exit --follow-forks (a
CI wrapper's, paid once per test) and --serve without TLS never map it;
--serve with a certificate maps it and answers over https; a libssl that
cannot be loaded ends --serve with one error line naming it and the
package to install.  Each leakscan is looked at while it is held by a
condition (a program waiting for a line on stdin, a served page), never
after a time.
Usage: test_startup.py LEAKSCAN"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from servelib import Exporter  # noqa: E402
from targetlib import Checks  # noqa: E402

check = Checks()
OPENSSL = re.compile(r'/(lib(?:ssl|crypto)\.so[.0-9]*)$')


def openssl_mapped(pid):
    """The OpenSSL libraries pid maps, by file name."""
    with open(f"/proc/{pid}/maps") as f:
        return sorted({m.group(1) for line in f for m in [OPENSSL.search(line.rstrip("\n"))] if m})


def at_exit(leakscan):
    p = subprocess.Popen([leakscan, "--at-exit", "--follow-forks", "--", "sh", "-c",
                          "echo ready; read line; echo \"got $line\""],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # the program runs: leakscan has started, spawned and supervises it
        ready = p.stdout.readline()
        mapped = openssl_mapped(p.pid) if ready == b"ready\n" else None
        p.stdin.write(b"x\n")
        p.stdin.close()
        out = p.stdout.read()
        err = p.stderr.read()
        rc = p.wait(timeout=300)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    check(ready == b"ready\n", f"--at-exit --follow-forks: the program ran ({ready!r}, {err[-300:]!r})")
    check(mapped == [], f"--at-exit --follow-forks: leakscan maps no OpenSSL while it supervises ({mapped})")
    check(rc == 0 and out == b"got x\n", f"--at-exit: the program's output and status are its own ({rc}, {out!r})")


def make_cert(tmp):
    """(cert, key, web config) of a self-signed certificate, or None."""
    if not shutil.which("openssl"):
        print("note: no openssl command: --serve with TLS is not tried")
        return None
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "1", "-subj", "/CN=127.0.0.1"], capture_output=True, timeout=120)
    if p.returncode != 0:
        print(f"note: openssl req failed: --serve with TLS is not tried ({p.stderr[-200:]!r})")
        return None
    config = os.path.join(tmp, "web.yml")
    with open(config, "w") as f:
        f.write(f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n")
    return cert, key, config


def serve(leakscan, target, tls):
    with Exporter(leakscan, ["-p", str(target), "--interval=1h"]) as ex:
        status = ex.get("/healthz")[0]
        mapped = openssl_mapped(ex.proc.pid)
    check(ex.url.startswith("http://") and status == 200 and mapped == [],
          f"--serve without TLS: http, and no OpenSSL mapped ({ex.url}, {status}, {mapped})")
    if not tls:
        return None
    cert, _, config = tls
    with Exporter(leakscan, ["-p", str(target), "--interval=1h", f"--web.config.file={config}"], cafile=cert) as ex:
        status = ex.get("/healthz")[0]
        mapped = openssl_mapped(ex.proc.pid)
    check(ex.url.startswith("https://") and status == 200, f"--serve with TLS: https answers ({ex.url}, {status})")
    libssl = [m for m in mapped if m.startswith("libssl.")]
    check(libssl and any(m.startswith("libcrypto.") for m in mapped),
          f"--serve with TLS: libssl and libcrypto are mapped ({mapped})")
    return libssl[0] if libssl else None


def missing_libssl(leakscan, target, tls, soname, tmp):
    """A libssl that cannot be loaded: an empty file of its name first in
    the search path."""
    libdir = os.path.join(tmp, "lib")
    os.makedirs(libdir, exist_ok=True)
    open(os.path.join(libdir, soname), "w").close()
    env = dict(os.environ, LD_LIBRARY_PATH=libdir)
    p = subprocess.run([leakscan, "--serve=127.0.0.1:0", "-p", str(target), f"--web.config.file={tls[2]}"],
                       capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL)
    lines = p.stderr.strip().splitlines()
    check(p.returncode == 3 and len(lines) == 1 and soname in lines[0] and "install" in lines[0],
          f"--serve with TLS, {soname} unloadable: exit 3, one line naming it and what to install "
          f"({p.returncode}, {p.stderr.strip()!r})")
    p = subprocess.run([leakscan, "--at-exit", "--", "true"], capture_output=True, text=True, timeout=120, env=env,
                       stdin=subprocess.DEVNULL)
    check(p.returncode == 0 and p.stderr == "",
          f"--at-exit with {soname} unloadable: runs as ever ({p.returncode}, {p.stderr.strip()!r})")


def main():
    leakscan = sys.argv[1]
    at_exit(leakscan)
    # a target that waits for a line that never comes, for --serve's -p
    target = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR", "/tmp")) as tmp:
            tls = make_cert(tmp)
            soname = serve(leakscan, target.pid, tls)
            if tls and soname:
                missing_libssl(leakscan, target.pid, tls, soname, tmp)
    finally:
        target.kill()
        target.wait()
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
