"""A thread that waits for the GIL forever, for
tests/integration/test_python.py: the main thread calls pause() through
ctypes.PyDLL, which keeps the GIL, while a daemon thread wants to run."""
import ctypes
import threading


def spin():
    x = 0
    while True:
        x += 1


threading.Thread(target=spin, daemon=True).start()
print("ready", flush=True)
ctypes.PyDLL(None).pause()
