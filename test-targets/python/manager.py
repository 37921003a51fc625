"""A multiprocessing Manager, for tests/integration/test_python.py: its
server process ends (os._exit) with its accept loop and connection
handlers alive, by design."""
import multiprocessing

if __name__ == "__main__":
    with multiprocessing.Manager() as manager:
        shared = manager.dict()
        shared["answer"] = 42
        print(shared["answer"], flush=True)
