"""Two threads deadlocked on two threading.RLocks, for
tests/integration/test_python.py: "ready" once each holds one and wants
the other; exits when stdin ends (the threads are daemons)."""
import sys
import threading
a, b = threading.RLock(), threading.RLock()
ready = threading.Barrier(3)
def one():
    with a:
        ready.wait()
        with b:  # @rlock-wait
            pass
def two():
    with b:
        ready.wait()
        with a:
            pass
threading.Thread(target=one, daemon=True).start()
threading.Thread(target=two, daemon=True).start()
ready.wait()
print("ready", flush=True)
sys.stdin.read(1)
