#!/usr/bin/env python3
"""A hostile target must not hang leakscan: after the target has loaded its
program and a library, it mounts FIFOs over their paths in its own mount
namespace (where leakscan looks them up, through /proc/PID/root), and an
open() for reading would wait on a FIFO forever.  leakscan must finish, with the stacks
named through the mappings themselves where it may read them
(/proc/PID/map_files, as root), and by module and offset where it may not
(without CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE, as an unprivileged
debugger would run).

A program built with -gsplit-dwarf whose .dwo is a FIFO must not make
leakscan open it either (no name the target gives is opened).

A library whose .gnu_debuglink names a path that climbs out of
/usr/lib/debug to a FIFO must not make leakscan open it: separate debug
info is found by build-id only, never by a name the target gives (libdw's
standard lookup opens that name as root, and hangs on the FIFO).

Usage: test_hostile.py LEAKSCAN DLOPEN_MAIN PLUGIN"""
import ctypes
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from targetlib import Checks, Target, wait_settled  # noqa: E402

check = Checks()


def snapshot(argv, label):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        check(False, f"{label}: leakscan finishes (it hung on a FIFO)")
        return None
    check(p.returncode == 0, f"{label}: leakscan finishes with exit 0 ({p.returncode}: {p.stderr.strip()[:200]})")
    try:
        return json.loads(p.stdout)["processes"][0]["threads"]
    except (ValueError, KeyError, IndexError):
        check(False, f"{label}: a JSON report")
        return None


IN_OPEN, IN_ACCESS = 0x20, 0x01


def watch_opens(path):
    """An inotify fd that records every open of path (O_PATH looks do not
    count: they open nothing)."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    if fd < 0 or libc.inotify_add_watch(fd, path.encode(), IN_OPEN | IN_ACCESS) < 0:
        raise OSError(ctypes.get_errno(), "inotify")
    return fd


def opened(fd):
    try:
        return len(os.read(fd, 4096)) > 0
    except BlockingIOError:
        return False


def debuglink_section(name):
    """The bytes of a .gnu_debuglink section naming name: the name, NUL,
    padding to 4 bytes, a CRC (any: nothing may get as far as checking it)."""
    data = name.encode() + b"\0"
    data += b"\0" * (-len(data) % 4)
    return data + b"\x78\x56\x34\x12"


def debuglink_to_fifo(dlopen_main, plugin):
    """A stripped library whose debug link climbs to a FIFO."""
    if not shutil.which("objcopy"):
        print("skip: no objcopy to write a .gnu_debuglink")
        return
    with tempfile.TemporaryDirectory(prefix="leakscan-debuglink-") as tmp:
        exe = os.path.join(tmp, "dlopen_main")
        lib = os.path.join(tmp, "plugin.so")
        fifo = os.path.join(tmp, "fifo")
        section = os.path.join(tmp, "section")
        shutil.copy(dlopen_main, exe)
        os.mkfifo(fifo)
        with open(section, "wb") as f:
            # out of /usr/lib/debug + the library's directory, whatever depth
            f.write(debuglink_section("../" * 16 + fifo.lstrip("/")))
        subprocess.run(["objcopy", "--strip-debug", "--add-section", ".gnu_debuglink=" + section,
                        plugin, lib], check=True)
        watch = watch_opens(fifo)
        try:
            with Target([exe]) as t:
                wait_settled(t.pid, {"plugin"})
                threads = snapshot([leakscan_path, "-p", str(t.pid), "--format=json"], "debug link to a FIFO")
                plugin_thread = [x for x in threads or [] if x["name"] == "plugin"]
                top = plugin_thread and plugin_thread[0]["frames"][plugin_thread[0]["top_frame"]]
                check(bool(top) and top["function"] == "plugin_wait_for_work",
                      f"debug link to a FIFO: the library is symbolized from its own symbols ({top})")
            check(not opened(watch), "debug link to a FIFO: the FIFO was never opened")
        finally:
            os.close(watch)


SPLIT_DWARF_PROGRAM = r"""
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
__attribute__((noinline)) static void wait_in_split_unit(void) { pthread_mutex_lock(&m); }
static void *waiter(void *arg) { (void) arg; wait_in_split_unit(); return NULL; }
int main(void)
{
        pthread_t t;
        pthread_mutex_lock(&m);
        pthread_create(&t, NULL, waiter, NULL);
        printf("ready %d\n", getpid());
        fflush(stdout);
        for (;;)
                pause();
}
"""


def dwo_is_fifo():
    """A program built with -gsplit-dwarf whose .dwo (named by its skeleton
    unit, beside its compilation directory) is a FIFO: never opened.  A
    guard rather than a regression test: the libdw calls leakscan makes
    do not open split units today (checked with strace), and must not
    start to."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        print("skip: no C compiler for a split-DWARF program")
        return
    with tempfile.TemporaryDirectory(prefix="leakscan-dwo-") as tmp:
        src, obj, exe = (os.path.join(tmp, n) for n in ("split.c", "split.o", "split"))
        with open(src, "w") as f:
            f.write(SPLIT_DWARF_PROGRAM)
        build = subprocess.run([cc, "-g", "-gsplit-dwarf", "-O0", "-pthread", "-c", src, "-o", obj], cwd=tmp,
                               capture_output=True)
        dwo = os.path.join(tmp, "split.dwo")
        if build.returncode != 0 or not os.path.exists(dwo):
            print("skip: the compiler cannot split DWARF")
            return
        subprocess.run([cc, "-pthread", obj, "-o", exe], check=True)
        os.unlink(dwo)
        os.mkfifo(dwo)
        watch = watch_opens(dwo)
        try:
            with Target([exe]) as t:
                wait_settled(t.pid, {"split"})
                threads = snapshot([leakscan_path, "-p", str(t.pid), "--format=json", "--all"], ".dwo is a FIFO")
                names = [fr["function"] for x in threads or [] for fr in x["frames"]]
                check("wait_in_split_unit" in names, f".dwo is a FIFO: the function is named ({names[:6]})")
            check(not opened(watch), ".dwo is a FIFO: the FIFO was never opened")
        finally:
            os.close(watch)


leakscan_path = None


def main():
    global leakscan_path
    leakscan, dlopen_main, plugin = sys.argv[1:4]
    leakscan_path = leakscan
    debuglink_to_fifo(dlopen_main, plugin)
    dwo_is_fifo()
    with tempfile.TemporaryDirectory(prefix="leakscan-hostile-") as tmp:
        exe = os.path.join(tmp, "dlopen_main")
        lib = os.path.join(tmp, "plugin.so")
        fifo = os.path.join(tmp, "fifo")
        shutil.copy(dlopen_main, exe)
        shutil.copy(plugin, lib)
        os.mkfifo(fifo)
        if not shutil.which("unshare") or not shutil.which("nsenter"):
            print("skip: no unshare/nsenter for a mount namespace of the target's own")
            return 77
        with Target(["unshare", "--mount", "--propagation", "private", exe]) as t:
            wait_settled(t.pid, {"plugin"})
            for path in (exe, lib):
                subprocess.run(["nsenter", "-t", str(t.pid), "-m", "--", "mount", "--bind", fifo, path], check=True)

            threads = snapshot([leakscan, "-p", str(t.pid), "--format=json"], "root, FIFOs in place")
            plugin_thread = [x for x in threads or [] if x["name"] == "plugin"]
            top = plugin_thread and plugin_thread[0]["frames"][plugin_thread[0]["top_frame"]]
            check(bool(top) and top["function"] == "plugin_wait_for_work",
                  f"root: the library is read through its mapping, not its path ({top and top['function']})")

            if shutil.which("setpriv"):
                # root without the capabilities map_files needs: the paths
                # are tried, and must be refused, not waited on
                threads = snapshot(["setpriv", "--bounding-set=-sys_admin,-checkpoint_restore", "--inh-caps=-all",
                                    leakscan, "-p", str(t.pid), "--format=json"], "no CAP_SYS_ADMIN, FIFOs in place")
                plugin_thread = [x for x in threads or [] if x["name"] == "plugin"]
                top = plugin_thread and plugin_thread[0]["frames"][plugin_thread[0]["top_frame"]]
                check(bool(top) and top["function"] is None and top["module"] and top["module"].endswith("plugin.so"),
                      f"no CAP_SYS_ADMIN: the FIFO is refused, the frame named by module and offset ({top})")
            else:
                print("skip: no setpriv to drop CAP_SYS_ADMIN")
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
