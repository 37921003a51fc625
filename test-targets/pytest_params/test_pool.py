"""A pytest suite where exactly one test leaks a thread: test_resize with
parameters (3, "a b"), whose node id is test_resize[3-a b]; its other
parameter sets, a class's test and a plain test start threads and join
them.  Used by tests/integration/test_pytest.py: --per-test must name
that one test and no other, and a whole-suite --at-exit run must name it
by its full node id."""
import threading

import pytest


def start_worker(event):
    worker = threading.Thread(target=event.wait, daemon=True)
    worker.start()
    return worker


def run_and_join():
    t = threading.Thread(target=lambda: None)
    t.start()
    t.join()


@pytest.mark.parametrize("size,label", [(1, "x"), (3, "a b"), (5, "c]d")])
def test_resize(size, label):
    if size == 3:
        start_worker(threading.Event())  # @leaky-param
    else:
        run_and_join()


class TestPool:
    def test_drains(self):
        run_and_join()


def test_tidy():
    run_and_join()
