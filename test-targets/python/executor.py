"""concurrent.futures' ThreadPoolExecutor, for
tests/integration/test_python.py: with argument "idle", its one worker has
run a call and waits for the next (the library's idle thread); with
"busy", its two workers each run a call the user submitted that waits on
a threading.Event nobody sets (the user's waits).  "ready" once they are
in place; exits when stdin ends."""
import concurrent.futures
import os
import sys
import threading

executor = concurrent.futures.ThreadPoolExecutor(max_workers=2)
executor.submit(int).result()
if sys.argv[1] == "busy":
    event, started = threading.Event(), threading.Semaphore(0)

    def job():
        started.release()
        event.wait()

    executor.submit(job)
    executor.submit(job)
    started.acquire()
    started.acquire()
print("ready", flush=True)
sys.stdin.read(1)
os._exit(0)
