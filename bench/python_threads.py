#!/usr/bin/env python3
"""A CPython target for bench/ab.py: N threads (default 100) waiting on one
threading.Event, 1 to 10 Python frames deep (10 distinct stacks).  Prints
its PID once all wait; ends when stdin does.

Usage: python3.11 bench/python_threads.py [N]"""
import os
import sys
import threading

event = threading.Event()
waiting = threading.Semaphore(0)


def worker(depth):
    def level(k):
        if k == 0:
            waiting.release()
            event.wait()
        else:
            level(k - 1)
    level(depth)


n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
for i in range(n):
    threading.Thread(target=worker, args=(i % 10,), daemon=True).start()
for _ in range(n):
    waiting.acquire()
print(os.getpid(), flush=True)
sys.stdin.read(1)
