"""Leaks a Python thread every 100 ms, for --watch: an acceptor thread
(not the main one, whose creations --watch cannot follow) starts a
session that waits on an Event nobody sets, up to 300 of them.  Says
"ready" once the acceptor runs; ends when stdin does.  Used by
tests/integration/test_pytest.py: the creator stack --watch shows for
the sessions holds accept_loop's Python frame at its line."""
import sys
import threading
import time


def session(closed):
    closed.wait()


def accept_loop(closed):
    for _ in range(300):
        threading.Thread(target=session, args=(closed,), daemon=True).start()  # @spawn
        time.sleep(0.1)


def main():
    closed = threading.Event()
    threading.Thread(target=accept_loop, args=(closed,), daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
