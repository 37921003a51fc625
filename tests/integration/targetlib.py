"""Helpers shared by the integration tests: start a test target and wait
until it is ready, run leakscan, read /proc, validate its documents against
docs/leakscan-1.schema.json and the official SARIF 2.1.0 schema."""
import ctypes
import fcntl
import json
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import threading
import time

TOP = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
LEAKSCAN_SCHEMA = os.path.join(TOP, "docs", "leakscan-1.schema.json")
# The official schema ships in this npm package (as sarif-2.1.0.json)
SARIF_NPM_PACKAGE = "@microsoft/sarif-multitool-linux@5.7.0"


class Target:
    """A test target started in its own process group; killed on exit."""

    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("ready "):
            self.kill()
            raise RuntimeError(f"{argv[0]} did not start: {line!r}")
        self.pid = int(line.split()[1])

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


def tasks(pid):
    try:
        return sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
    except FileNotFoundError:
        return []


def task_stat(pid, tid):
    """(comm, state letter) of a thread."""
    with open(f"/proc/{pid}/task/{tid}/stat", errors="surrogateescape") as f:   # names are bytes
        text = f.read()
    comm = text[text.index("(") + 1:text.rindex(")")]
    return comm, text[text.rindex(")") + 2]


def tracer_pid(pid, tid=None):
    """TracerPid of a process or thread; 0 for one that has exited meanwhile."""
    path = f"/proc/{pid}/status" if tid is None else f"/proc/{pid}/task/{tid}/status"
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("TracerPid:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def switches(pid, tid):
    """voluntary + nonvoluntary context switches of a thread, or None."""
    try:
        with open(f"/proc/{pid}/task/{tid}/status", errors="surrogateescape") as f:    # Name: raw bytes
            text = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    n = 0
    for line in text.splitlines():
        if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
            n += int(line.split()[1])
    return n


def wait_quiet(pid, look_now, timeout=None):
    """Waits until look_now(pid) (a dict of tid -> (state, context
    switches) of the threads that must be asleep, or None while they are
    not all there and asleep) gives the same answer twice in a row: none
    of them has run in between.  One look is not enough: it reads the
    threads one after another, and a thread seen asleep on its way (in a
    barrier) may have been woken by the time the next one is seen in its
    final wait.  With no timeout (the default) it waits as long as it
    takes: the test's own timeout is the bound, and a loaded machine is no
    reason to fail.  Returns whether it saw them settle."""
    deadline = None if timeout is None else time.monotonic() + timeout
    before = None
    while deadline is None or time.monotonic() < deadline:
        look = look_now(pid)
        if look is not None and look == before:
            return True
        before = look
        time.sleep(0.005)
    return False


def wait_settled(pid, names, timeout=None):
    """Waits until every thread whose name is in names sleeps (S or D, or is
    stopped), so that it has reached the wait the target set up (wait_quiet).
    names is a set, or a dict of name -> how many threads of that name there
    must be (a thread is named by itself once it runs: until then it carries
    the program's name, and one look could find its sibling alone)."""
    counts = names if isinstance(names, dict) else dict.fromkeys(names, 1)

    def look_now(pid):
        states, look = {}, {}
        for tid in tasks(pid):
            try:
                comm, st = task_stat(pid, tid)
            except (FileNotFoundError, ProcessLookupError):
                continue
            states.setdefault(comm, []).append(st)
            if comm in names:
                look[tid] = (st, switches(pid, tid))
        if all(len(states.get(n, [])) >= c and all(s in "SDT" for s in states[n]) for n, c in counts.items()):
            return look
        return None
    if not wait_quiet(pid, look_now, timeout):
        raise RuntimeError(f"threads {sorted(names)} of {pid} did not settle")


def run_leakscan(leakscan, args, timeout=60):
    """Runs leakscan; returns (exit status, stdout, stderr)."""
    p = subprocess.run([leakscan] + args, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def leakscan_json(leakscan, pid, extra=()):
    code, out, err = run_leakscan(leakscan, ["-p", str(pid), "--format=json"] + list(extra))
    if code not in (0, 1):
        raise RuntimeError(f"leakscan exited {code}: {err.strip()}")
    doc = json.loads(out)
    validate_leakscan_json(doc)
    return code, doc


_validators = {}


def _validator(path):
    if path not in _validators:
        try:
            import jsonschema
        except ImportError:
            raise RuntimeError("python3-jsonschema is missing: run scripts/setup.sh (or apt-get install "
                               "python3-jsonschema) to validate leakscan's documents")
        with open(path) as f:
            schema = json.load(f)
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        _validators[path] = cls(schema)
    return _validators[path]


def schema_errors(doc, schema_path):
    """Every way doc breaks the JSON schema at schema_path, as short strings."""
    return [f"{e.json_path}: {e.message[:200]}" for e in _validator(schema_path).iter_errors(doc)]


def validate_leakscan_json(doc):
    """Raises ValueError when doc breaks docs/leakscan-1.schema.json."""
    errors = schema_errors(doc, LEAKSCAN_SCHEMA)
    if errors:
        raise ValueError("leakscan/1 schema: " + "; ".join(errors[:5]))


def sarif_schema(cache_dir):
    """Path of the official SARIF 2.1.0 schema, fetched once with npm into
    cache_dir (under a lock: tests run in parallel), or (None, why)."""
    path = os.environ.get("LEAKSCAN_SARIF_SCHEMA") or os.path.join(cache_dir, "sarif-2.1.0.json")
    if os.path.exists(path):
        return path, None
    if not shutil.which("npm"):
        return None, "npm is not installed (scripts/setup.sh installs it)"
    os.makedirs(cache_dir, exist_ok=True)
    with open(os.path.join(cache_dir, ".sarif-schema.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(path):
            return path, None
        with tempfile.TemporaryDirectory() as tmp:
            try:
                p = subprocess.run(["npm", "pack", "--silent", "--pack-destination", tmp, SARIF_NPM_PACKAGE],
                                   capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                return None, f"npm pack {SARIF_NPM_PACKAGE} timed out"
            tgz = [x for x in os.listdir(tmp) if x.endswith(".tgz")]
            if p.returncode != 0 or not tgz:
                return None, f"npm pack {SARIF_NPM_PACKAGE} failed: {p.stderr.strip()[-300:]}"
            with tarfile.open(os.path.join(tmp, tgz[0])) as tar:
                member = tar.extractfile("package/sarif-2.1.0.json")
                data = member.read()
            json.loads(data)
            with open(path + ".tmp", "wb") as f:
                f.write(data)
            os.rename(path + ".tmp", path)
    return path, None


class Checks:
    """Named checks of one test script: each prints "ok" or "FAIL" and a
    description; finish() prints the count and returns the exit status."""

    def __init__(self):
        self.failures = []

    def __call__(self, cond, what):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            self.failures.append(what)

    def finish(self):
        print(f"{len(self.failures)} failed")
        return 1 if self.failures else 0


def signal_storm(pid, sig, threads=False):
    """Starts sending sig to pid every 0.5 ms (with threads, to each of its
    threads but the main one in turn, by tgkill); returns finish(), which
    stops and returns the count sent."""
    state = {"sent": 0}
    stop = threading.Event()
    libc = ctypes.CDLL(None, use_errno=True)
    tids = [x for x in tasks(pid) if x != pid] if threads else []

    def sender():
        while not stop.is_set():
            if tids:
                libc.syscall(234, pid, tids[state["sent"] % len(tids)], sig)     # tgkill
            else:
                os.kill(pid, sig)
            state["sent"] += 1
            time.sleep(0.0005)

    th = threading.Thread(target=sender)
    th.start()

    def finish():
        stop.set()
        th.join()
        return state["sent"]
    return finish
