/* Unit tests of the blocked-time memory: the file format, the rule that
 * keeps an earlier blocked-since time, and the directory's safety. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blocked.h"
#include "check.h"
#include "procfs.h"
#include "util.h"

static char dir[256];

static uint64_t self_start(void)
{
        _cleanup_free_ char *text = NULL;
        struct proc_stat st = {0};
        if (read_full_file("/proc/self/stat", &text) >= 0)
                (void) procfs_parse_stat(text, &st);
        return st.starttime;
}

static void write_file(const char *name, const char *text)
{
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        CHECK(fd >= 0);
        if (fd >= 0) {
                CHECK(write(fd, text, strlen(text)) == (ssize_t) strlen(text));
                close(fd);
        }
}

static void test_parse(void)
{
        struct blocked_entry *e = NULL;
        size_t n = 0;
        CHECK_EQ_INT(blocked_parse("leakscan-blocked 1 42 7\n10 5 1000 3\n11 6 2000 9\n", 42, 7, &e, &n), 0);
        CHECK_EQ_INT(n, 2);
        if (n == 2) {
                CHECK(e[0].tid == 10 && e[0].start_time == 5 && e[0].since_ns == 1000 && e[0].nvcsw == 3);
                CHECK(e[1].tid == 11 && e[1].nvcsw == 9);
        }
        free(e);
        /* written for another process, or another start of the same pid */
        CHECK_EQ_INT(blocked_parse("leakscan-blocked 1 42 7\n", 43, 7, &e, &n), -EINVAL);
        CHECK_EQ_INT(blocked_parse("leakscan-blocked 1 42 7\n", 42, 8, &e, &n), -EINVAL);
        /* damaged: a torn line, garbage, a negative tid, trailing words */
        CHECK_EQ_INT(blocked_parse("leakscan-blocked 1 42 7\n10 5 1000", 42, 7, &e, &n), -EINVAL);
        CHECK_EQ_INT(blocked_parse("leakscan-blocked 1 42 7\nhello\n", 42, 7, &e, &n), -EINVAL);
        CHECK_EQ_INT(blocked_parse("leakscan-blocked 1 42 7\n-1 5 1000 3\n", 42, 7, &e, &n), -EINVAL);
        CHECK_EQ_INT(blocked_parse("leakscan-blocked 1 42 7\n10 5 1000 3 4\n", 42, 7, &e, &n), -EINVAL);
        CHECK_EQ_INT(blocked_parse("", 42, 7, &e, &n), -EINVAL);
        CHECK_EQ_INT(blocked_parse("leakscan-blocked 1 42 7\n", 42, 7, &e, &n), 0);
        CHECK_EQ_INT(n, 0);
        free(e);
}

static void test_since_and_round_trip(void)
{
        pid_t pid = getpid();
        uint64_t start = self_start();
        struct blocked_memory *m = NULL;
        CHECK_EQ_INT(blocked_memory_open(dir, pid, start, &m), 0);
        if (!m)
                return;
        /* nothing remembered: the scheduler's time */
        CHECK_EQ_INT(blocked_memory_since(m, 100, 50, 9000, true, 4), 9000);
        CHECK_EQ_INT(blocked_memory_note(m, 100, 50, 9000, 6), 0);
        CHECK_EQ_INT(blocked_memory_note(m, 101, 51, 8000, 2), 0);
        CHECK_EQ_INT(blocked_memory_save(m), 0);
        blocked_memory_free(m);

        char path[512];
        struct stat st;
        snprintf(path, sizeof path, "%s/%d-%llu", dir, (int) pid, (unsigned long long) start);
        CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

        m = NULL;
        CHECK_EQ_INT(blocked_memory_open(dir, pid, start, &m), 0);
        if (!m)
                return;
        /* the count as we left it: blocked since the remembered time, though
         * our stop made exec_start later */
        CHECK_EQ_INT(blocked_memory_since(m, 100, 50, 12000, true, 6), 9000);
        /* it slept anew (the count moved): exec_start */
        CHECK_EQ_INT(blocked_memory_since(m, 100, 50, 12000, true, 7), 12000);
        /* another thread that reuses the TID */
        CHECK_EQ_INT(blocked_memory_since(m, 100, 99, 12000, true, 6), 12000);
        /* no count known */
        CHECK_EQ_INT(blocked_memory_since(m, 100, 50, 12000, false, 0), 12000);
        /* never later than the scheduler says */
        CHECK_EQ_INT(blocked_memory_since(m, 101, 51, 7000, true, 2), 7000);
        CHECK_EQ_INT(blocked_memory_since(NULL, 101, 51, 7000, true, 2), 7000);
        /* nothing noted: the file goes */
        CHECK_EQ_INT(blocked_memory_save(m), 0);
        blocked_memory_free(m);
        CHECK(stat(path, &st) < 0 && errno == ENOENT);
}

static void test_damage_and_garbage(void)
{
        pid_t pid = getpid();
        uint64_t start = self_start();
        char name[64], path[512];
        snprintf(name, sizeof name, "%d-%llu", (int) pid, (unsigned long long) start);

        /* a damaged file is ignored, not misread */
        write_file(name, "leakscan-blocked 1 garbage\n100 50 1 6\n");
        struct blocked_memory *m = NULL;
        CHECK_EQ_INT(blocked_memory_open(dir, pid, start, &m), 0);
        CHECK_EQ_INT(blocked_memory_since(m, 100, 50, 12000, true, 6), 12000);
        blocked_memory_free(m);

        /* a symlink in its place is not followed */
        char text[128];
        snprintf(text, sizeof text, "leakscan-blocked 1 %d %llu\n100 50 1 6\n", (int) pid, (unsigned long long) start);
        write_file("elsewhere", text);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        unlink(path);
        CHECK(symlink("elsewhere", path) == 0);
        m = NULL;
        CHECK_EQ_INT(blocked_memory_open(dir, pid, start, &m), 0);
        CHECK_EQ_INT(blocked_memory_since(m, 100, 50, 12000, true, 6), 12000);
        unlink(path);
        blocked_memory_free(m);

        /* the file of a process that is gone is collected; an unrelated
         * name is left alone */
        write_file("999999999-1", "leakscan-blocked 1 999999999 1\n");
        m = NULL;
        CHECK_EQ_INT(blocked_memory_open(dir, pid, start, &m), 0);
        if (m) {
                CHECK_EQ_INT(blocked_memory_note(m, 100, 50, 1, 1), 0);
                CHECK_EQ_INT(blocked_memory_save(m), 0);
                blocked_memory_free(m);
        }
        struct stat st;
        snprintf(path, sizeof path, "%s/999999999-1", dir);
        CHECK(stat(path, &st) < 0);
        snprintf(path, sizeof path, "%s/elsewhere", dir);
        CHECK(stat(path, &st) == 0);
        unlink(path);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        unlink(path);

        /* a directory others may enter is refused */
        char open_dir[300];
        snprintf(open_dir, sizeof open_dir, "%s/open", dir);
        CHECK(mkdir(open_dir, 0755) == 0);
        chmod(open_dir, 0755);
        m = NULL;
        CHECK_EQ_INT(blocked_memory_open(open_dir, pid, start, &m), -EPERM);
        rmdir(open_dir);
        /* and so is a symlink to a directory */
        char link_dir[300];
        snprintf(link_dir, sizeof link_dir, "%s/link", dir);
        CHECK(symlink(dir, link_dir) == 0);
        CHECK(blocked_memory_open(link_dir, pid, start, &m) < 0);
        unlink(link_dir);
}

/* The /proc fields this module and seize read, on captured files. */
static void test_proc_fields(void)
{
        _cleanup_free_ char *sched = NULL, *status = NULL;
        uint64_t v = 0;
        CHECK(read_full_file(FIXTURES "/sched-locker", &sched) > 0);
        CHECK(read_full_file(FIXTURES "/status-locker", &status) > 0);
        if (sched) {
                CHECK_EQ_INT(procfs_parse_sched_field(sched, "nr_voluntary_switches", &v), 0);
                CHECK_EQ_INT(procfs_parse_sched_field(sched, "nr_switches", &v), 0);
                CHECK_EQ_INT(procfs_parse_sched_field(sched, "no_such_field", &v), -ENOENT);
        }
        /* a key that is a prefix of another does not match the longer one */
        CHECK_EQ_INT(procfs_parse_sched_field("nr_voluntary_switches_x : 5\nnr_voluntary_switches : 7\n",
                                              "nr_voluntary_switches", &v), 0);
        CHECK_EQ_INT(v, 7);
        if (status) {
                CHECK_EQ_INT(procfs_parse_status_mask(status, "SigBlk", &v), 0);
                CHECK_EQ_INT(procfs_parse_status_mask(status, "ShdPnd", &v), 0);
        }
        CHECK_EQ_INT(procfs_parse_status_mask("SigPnd:\t0000000000000100\nSigIgn:\tfffffffe7ffbfeff\n", "SigIgn", &v), 0);
        CHECK(v == UINT64_C(0xfffffffe7ffbfeff));
        CHECK_EQ_INT(procfs_parse_status_mask("SigPnd:\t0000000000000100\n", "SigPnd", &v), 0);
        CHECK(v == 0x100);
        CHECK_EQ_INT(procfs_parse_status_mask("SigPnd:\tzz\n", "SigPnd", &v), -ENOENT);
        CHECK_EQ_INT(procfs_parse_status_mask("", "SigPnd", &v), -ENOENT);
}

int main(void)
{
        test_proc_fields();
        snprintf(dir, sizeof dir, "/tmp/leakscan-test-blocked-XXXXXX");
        if (!mkdtemp(dir))
                return 1;
        test_parse();
        test_since_and_round_trip();
        test_damage_and_garbage();
        rmdir(dir);
        return CHECK_DONE();
}
