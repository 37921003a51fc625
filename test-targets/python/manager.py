"""A multiprocessing Manager, for tests/integration/test_python.py: its
server process ends (os._exit) with its accept loop and connection
handlers alive, by design."""
import multiprocessing
from multiprocessing.managers import dispatch

if __name__ == "__main__":
    with multiprocessing.Manager() as manager:
        shared = manager.dict()
        shared["answer"] = 42
        print(shared["answer"], flush=True)
        # Leaving the with block asks the server to shut down, gives it 1 s
        # to end, then SIGTERMs it: that kills the threads the test is about
        # before they are judged, whenever judging its exit takes longer (a
        # loaded machine: 1.4 s).  Ask as shutdown() does (CPython 3.6 to
        # 3.13), and wait for the server's end as long as it takes; the
        # with block then finds it ended.
        conn = manager._Client(manager._address, authkey=manager._authkey)
        try:
            dispatch(conn, None, "shutdown")
        finally:
            conn.close()
        manager._process.join()
