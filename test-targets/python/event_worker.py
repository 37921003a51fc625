"""A Python worker waiting on a threading.Event nobody sets, for
tests/integration/test_python.py: "ready" once the worker waits; exits when
stdin ends (the worker is a daemon)."""
import sys
import threading


def wait_for_job(event, started):
    started.set()
    event.wait()  # @event-wait


def main():
    event, started = threading.Event(), threading.Event()
    threading.Thread(target=wait_for_job, args=(event, started), name="worker", daemon=True).start()
    started.wait()
    print("ready", flush=True)
    sys.stdin.read(1)


main()
