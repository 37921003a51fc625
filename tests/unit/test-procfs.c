/* Unit tests of the /proc parsers on files captured from a live target
 * (tests/fixtures) and on hand-made corner cases. */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "procfs.h"
#include "util.h"

static char *fixture(const char *name)
{
        char path[512];
        char *text = NULL;
        snprintf(path, sizeof path, "%s/%s", FIXTURES, name);
        if (read_full_file(path, &text) < 0) {
                fprintf(stderr, "missing fixture %s\n", path);
                exit(1);
        }
        return text;
}

static void test_stat(void)
{
        _cleanup_free_ char *text = fixture("stat-locker");
        struct proc_stat st;
        CHECK_EQ_INT(procfs_parse_stat(text, &st), 0);
        CHECK_EQ_STR(st.comm, "locker");
        CHECK_EQ_INT(st.state, 'S');
        CHECK_EQ_INT(st.flags & PF_KTHREAD_FLAG, 0);
        CHECK_EQ_INT(st.starttime, 61425);
        CHECK_EQ_INT(st.num_threads, 2);
        CHECK_EQ_INT(st.processor, 1);

        _cleanup_free_ char *k = fixture("stat-kthreadd");
        CHECK_EQ_INT(procfs_parse_stat(k, &st), 0);
        CHECK(st.flags & PF_KTHREAD_FLAG);

        /* comm may hold spaces and parentheses: it ends at the last ')' */
        const char *odd = "42 (a) b (c)) T 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 777 0 0";
        CHECK_EQ_INT(procfs_parse_stat(odd, &st), 0);
        CHECK_EQ_STR(st.comm, "a) b (c)");
        CHECK_EQ_INT(st.state, 'T');
        CHECK_EQ_INT(st.processor, -1);         /* a line that ends before field 39 */
        CHECK_EQ_INT(st.starttime, 777);
        CHECK_EQ_INT(st.num_threads, 1);
        const char *many = "42 (m) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 10002 0 777 0 0";
        CHECK_EQ_INT(procfs_parse_stat(many, &st), 0);
        CHECK_EQ_INT(st.num_threads, 10002);

        CHECK_EQ_INT(procfs_parse_stat("garbage", &st), -EINVAL);
        CHECK_EQ_INT(procfs_parse_stat("1 (x) S 1 2", &st), -EINVAL);
}

static void test_status(void)
{
        _cleanup_free_ char *text = fixture("status-locker");
        long v = -1;
        CHECK_EQ_INT(procfs_parse_status_field(text, "TracerPid", &v), 0);
        CHECK_EQ_INT(v, 0);
        CHECK_EQ_INT(procfs_parse_status_field(text, "Tgid", &v), 0);
        CHECK(v > 0);
        CHECK_EQ_INT(procfs_parse_status_field(text, "NoSuchKey", &v), -ENOENT);
        /* a key that is a prefix of another must not match it */
        CHECK_EQ_INT(procfs_parse_status_field("Threadsx:\t9\nThreads:\t3\n", "Threads", &v), 0);
        CHECK_EQ_INT(v, 3);
}

static void test_sched(void)
{
        _cleanup_free_ char *text = fixture("sched-locker");
        uint64_t ns = 0;
        CHECK_EQ_INT(procfs_parse_sched_exec_start(text, &ns), 0);
        CHECK(ns > 0);
        CHECK_EQ_INT(procfs_parse_sched_exec_start("se.exec_start    :   56817.573830\n", &ns), 0);
        CHECK_EQ_INT(ns, 56817573830ull);
        CHECK_EQ_INT(procfs_parse_sched_exec_start("se.exec_start : 12.5\n", &ns), 0);
        CHECK_EQ_INT(ns, 12500000ull);
        CHECK_EQ_INT(procfs_parse_sched_exec_start("policy : 0\n", &ns), -ENOENT);
}

static void test_syscall(void)
{
        _cleanup_free_ char *text = fixture("syscall-futex");
        struct proc_syscall sc;
        CHECK_EQ_INT(procfs_parse_syscall(text, &sc), 0);
        CHECK_EQ_INT(sc.nr, 202);
        CHECK_EQ_INT(sc.args[1], 0x80);
        CHECK_EQ_INT(sc.args[2], 2);
        CHECK(sc.sp != 0 && sc.pc != 0);

        CHECK_EQ_INT(procfs_parse_syscall("running\n", &sc), 0);
        CHECK(sc.running);
        CHECK_EQ_INT(procfs_parse_syscall("-1 0x7ffd1000 0x401000\n", &sc), 0);
        CHECK_EQ_INT(sc.nr, -1);
        CHECK_EQ_INT(sc.pc, 0x401000);
        CHECK_EQ_INT(procfs_parse_syscall("7 0x1 0x2\n", &sc), -EINVAL);
}

static void test_maps(void)
{
        _cleanup_free_ char *text = fixture("maps-mutex");
        struct map_entry *maps = NULL;
        size_t n = 0;
        CHECK_EQ_INT(procfs_parse_maps(text, &maps, &n), 0);
        CHECK(n > 10);
        CHECK(strstr(maps[0].path, "test-targets/mutex") != NULL);
        CHECK_EQ_STR(maps[0].perms, "r--p");
        CHECK_EQ_STR(maps[1].perms, "r-xp");
        CHECK_EQ_INT(maps[1].offset, 0x1000);
        bool stack = false, anon = false;
        for (size_t i = 0; i < n; i++) {
                stack |= streq(maps[i].path, "[stack]");
                anon |= maps[i].path[0] == 0;
                if (i)
                        CHECK(maps[i].start >= maps[i - 1].end);
        }
        CHECK(stack && anon);
        CHECK(map_entries_find(maps, n, maps[1].start + 5) == &maps[1]);
        CHECK(map_entries_find(maps, n, maps[n - 1].end) == NULL);
        CHECK(map_entries_find(maps, n, 0) == NULL);
        map_entries_free(maps, n);

        const char *deleted = "7f0000000000-7f0000001000 r-xp 00000000 08:01 99 /tmp/lib x.so (deleted)\n";
        CHECK_EQ_INT(procfs_parse_maps(deleted, &maps, &n), 0);
        CHECK_EQ_INT(n, 1);
        CHECK_EQ_STR(maps[0].path, "/tmp/lib x.so (deleted)");
        map_entries_free(maps, n);

        CHECK_EQ_INT(procfs_parse_maps("not a map line\n", &maps, &n), -EINVAL);

        /* hex device numbers, an anonymous mapping, no final newline */
        const char *two = "7ffd0000a000-7ffd0002b000 rw-p 0001f000 fd:0a 18446744073709551615 [stack]\n"
                          "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0";
        CHECK_EQ_INT(procfs_parse_maps(two, &maps, &n), 0);
        CHECK_EQ_INT(n, 2);
        CHECK_EQ_INT(maps[0].start, 0x7ffd0000a000);
        CHECK_EQ_INT(maps[0].end, 0x7ffd0002b000);
        CHECK_EQ_INT(maps[0].offset, 0x1f000);
        CHECK_EQ_INT(maps[0].dev_major, 0xfd);
        CHECK_EQ_INT(maps[0].dev_minor, 0xa);
        CHECK(maps[0].inode == UINT64_MAX);
        CHECK_EQ_STR(maps[0].path, "[stack]");
        CHECK_EQ_STR(maps[1].perms, "--xp");
        CHECK_EQ_STR(maps[1].path, "");
        map_entries_free(maps, n);

        /* a line cut short, and one whose fields run past its end */
        CHECK_EQ_INT(procfs_parse_maps("7f0000000000-7f0000001000 r-xp\n", &maps, &n), -EINVAL);
        CHECK_EQ_INT(procfs_parse_maps("7f0000000000-7f0000001000 r-xp 0 08:01\n99 /x\n", &maps, &n), -EINVAL);
        CHECK_EQ_INT(procfs_parse_maps("7f0000000000-7f0000001000 r-xp 0 08:01 99999999999999999999 /x\n", &maps, &n), -EINVAL);
}

static void test_cmdline_and_fd(void)
{
        const char buf[] = "./prog\0-x\0two words\0";
        char **argv = NULL;
        size_t n = 0;
        CHECK_EQ_INT(procfs_split_cmdline(buf, sizeof buf - 1, &argv, &n), 0);
        CHECK_EQ_INT(n, 3);
        CHECK_EQ_STR(argv[2], "two words");
        for (size_t i = 0; i < n; i++)
                free(argv[i]);
        free(argv);

        /* A process that rewrote its title (redis, nginx, setproctitle) pads
         * the rest of its argv area with NULs: one argument, not dozens of
         * empty ones. */
        const char title[] = "redis-server 127.0.0.1:6379\0\0\0\0\0\0\0";
        CHECK_EQ_INT(procfs_split_cmdline(title, sizeof title - 1, &argv, &n), 0);
        CHECK_EQ_INT(n, 1);
        CHECK_EQ_STR(argv[0], "redis-server 127.0.0.1:6379");
        for (size_t i = 0; i < n; i++)
                free(argv[i]);
        free(argv);

        CHECK_EQ_INT(procfs_fd_kind("pipe:[1234]"), FD_KIND_PIPE);
        CHECK_EQ_INT(procfs_fd_kind("socket:[5]"), FD_KIND_SOCKET);
        CHECK_EQ_INT(procfs_fd_kind("/dev/pts/0"), FD_KIND_OTHER);
        CHECK_EQ_INT(procfs_fd_kind(NULL), FD_KIND_OTHER);
}

static void test_switches(void)
{
        _cleanup_free_ char *text = fixture("status-locker");
        uint64_t n = 0;
        CHECK_EQ_INT(procfs_parse_status_switches(text, &n), 0);
        CHECK_EQ_INT(n, 1);     /* 1 voluntary, 0 not */
        CHECK_EQ_INT(procfs_parse_status_switches("Name:\tx\nvoluntary_ctxt_switches:\t3\n", &n), -ENOENT);
        /* "voluntary" must not match the end of "nonvoluntary" */
        CHECK_EQ_INT(procfs_parse_status_switches("nonvoluntary_ctxt_switches:\t5\n"
                                                  "voluntary_ctxt_switches:\t7\n", &n), 0);
        CHECK_EQ_INT(n, 12);

        struct proc_schedstat ss;
        CHECK_EQ_INT(procfs_parse_schedstat("1742136 99742 3\n", &ss), 0);
        CHECK(ss.run_ns == 1742136 && ss.switched_in == 3);
        CHECK_EQ_INT(procfs_parse_schedstat("0 0 0\n", &ss), -ENOENT);     /* no sched_info */
        CHECK_EQ_INT(procfs_parse_schedstat("12 34\n", &ss), -EINVAL);
        CHECK_EQ_INT(procfs_parse_schedstat("12x 34 5\n", &ss), -EINVAL);

        struct proc_syscall a, b;
        _cleanup_free_ char *sc = fixture("syscall-futex");
        CHECK_EQ_INT(procfs_parse_syscall(sc, &a), 0);
        b = a;
        CHECK(procfs_syscall_same(&a, &b));
        b.args[3] ^= 1;         /* a new timeout: another call */
        CHECK(!procfs_syscall_same(&a, &b));
        b = a;
        b.sp += 8;
        CHECK(!procfs_syscall_same(&a, &b));
        CHECK_EQ_INT(procfs_parse_syscall("running\n", &b), 0);
        CHECK(!procfs_syscall_same(&a, &b));
}

int main(void)
{
        test_stat();
        test_switches();
        test_status();
        test_sched();
        test_syscall();
        test_maps();
        test_cmdline_and_fd();
        return CHECK_DONE();
}
