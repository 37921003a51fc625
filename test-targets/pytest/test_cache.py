"""A pytest suite with two leaky tests: test_evicts, a pytest function,
and TestCacheCase.test_expires, a unittest method, each start a worker
that waits on an Event nobody sets (a daemon thread, so the run still
ends); the other tests start threads and join them.  Used by
tests/integration/test_pytest.py (with pytest, and with unittest)."""
import threading
import unittest


def start_worker(event):
    worker = threading.Thread(target=event.wait, daemon=True)
    worker.start()  # @leaky-start
    return worker


def test_tidy():
    done = threading.Event()
    t = threading.Thread(target=done.set)
    t.start()
    t.join()


def test_evicts():
    start_worker(threading.Event())  # @leaky-test


class TestCacheCase(unittest.TestCase):
    def test_expires(self):
        start_worker(threading.Event())  # @leaky-case

    def test_joins(self):
        t = threading.Thread(target=lambda: None)
        t.start()
        t.join()
