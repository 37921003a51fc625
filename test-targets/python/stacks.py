"""Python threads in each of threading's and queue's waits, for
tests/integration/test_python.py, which compares leakscan's Python frames
with the interpreter's own: prints "ready" once every worker runs; on a
line from stdin (each one) prints, as JSON, each worker's native TID, the
wait it makes, and its stack as the interpreter sees it
(sys._current_frames(), innermost first: qualified name where the version
has one, name, file, line); exits when stdin ends (the workers are
daemons)."""
import json
import queue
import sys
import threading

started = threading.Barrier(6)
natives = {}


def record():
    natives[threading.get_ident()] = threading.get_native_id()
    started.wait()


def event_user(event):
    record()
    event.wait()


def lock_user(lock):
    record()
    lock.acquire()


def condition_user(cond):
    def inner():
        with cond:
            record()
            cond.wait()
    inner()


def queue_user(q):
    record()
    return q.get()


class Poller:
    def __init__(self, sem):
        self.sem = sem

    def poll(self):
        record()
        self.sem.acquire()


WAITS = {"event_user": "threading.Event", "lock_user": "threading.Lock", "inner": "threading.Condition",
         "queue_user": "queue.Queue.get", "poll": "threading.Semaphore"}


def frames(frame):
    out = []
    while frame is not None:
        code = frame.f_code
        out.append([getattr(code, "co_qualname", code.co_name), code.co_name, code.co_filename, frame.f_lineno])
        frame = frame.f_back
    return out


def main():
    lock = threading.Lock()
    lock.acquire()
    targets = [(event_user, threading.Event()), (lock_user, lock), (condition_user, threading.Condition()),
               (queue_user, queue.Queue()), (Poller(threading.Semaphore(0)).poll, None)]
    for target, arg in targets:
        threading.Thread(target=target, args=(arg,) if arg is not None else (), daemon=True).start()
    started.wait()
    print("ready", flush=True)
    while sys.stdin.readline():
        current = sys._current_frames()
        out = []
        for ident, native in natives.items():
            stack = frames(current[ident])
            user = next(f[1] for f in stack if f[1] in WAITS)
            out.append({"tid": native, "wait": WAITS[user], "frames": stack})
        print(json.dumps(out), flush=True)


main()
