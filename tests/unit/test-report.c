/* Unit tests of the report backends on a hand-built report: JSON escaping
 * and fields, text grouping of identical stacks. */
#include <stdlib.h>

#include "check.h"
#include "report.h"

static char *render(const struct report_backend *b, const struct leakscan_report *r, bool all)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        struct report_options opts = { .all = all };
        CHECK_EQ_INT(b->write(f, r, &opts), 0);
        fclose(f);
        return buf;
}

int main(void)
{
        struct leakscan_frame frames[2] = {
                { .pc = 0x7f0000001234, .function = "__lll_lock_wait", .module = "/lib/libc.so.6", .system = true },
                { .pc = 0x401020, .function = "handle \"odd\"\tname", .file = "/src/s.c", .line = 17,
                  .module = "/bin/s", .offset = 0x1020 },
        };
        struct leakscan_thread threads[4] = {
                { .tid = 100, .name = "server", .main = true, .state = LEAKSCAN_STATE_SIGNAL_WAIT,
                  .verdict = LEAKSCAN_VERDICT_BLOCKED, .blocked_ms = 50, .wait_fd = -1 },
                { .tid = 101, .name = "handler", .state = LEAKSCAN_STATE_MUTEX, .syscall = "futex",
                  .verdict = LEAKSCAN_VERDICT_BLOCKED, .leaked = true, .blocked_ms = 1200, .wait_fd = -1,
                  .has_wait_address = true, .wait_address = 0x601040, .frames = frames, .n_frames = 2,
                  .top_frame = 1 },
                { .tid = 102, .name = "handler", .state = LEAKSCAN_STATE_MUTEX, .syscall = "futex",
                  .verdict = LEAKSCAN_VERDICT_BLOCKED, .leaked = true, .blocked_ms = 4000, .wait_fd = -1,
                  .frames = frames, .n_frames = 2, .top_frame = 1 },
                { .tid = 103, .name = "io", .state = LEAKSCAN_STATE_PIPE_READ, .syscall = "read",
                  .verdict = LEAKSCAN_VERDICT_BLOCKED, .blocked_ms = -1, .wait_fd = 5,
                  .fd_target = "pipe:[9]", .top_frame = 0 },
        };
        char *cmdline[] = { "./s", "--flag" };
        struct leakscan_process p = { .pid = 100, .exe = "/bin/s", .cmdline = cmdline, .n_cmdline = 2,
                                      .threads = threads, .n_threads = 4 };
        struct leakscan_report r = { .mode = "pid", .processes = &p, .n_processes = 1 };

        CHECK_EQ_INT(report_count_leaked(&r), 2);

        char *json = render(&report_json, &r, false);
        CHECK(strstr(json, "\"schema\": \"leakscan/1\"") != NULL);
        CHECK(strstr(json, "\"handle \\\"odd\\\"\\tname\"") != NULL);
        CHECK(strstr(json, "\"address\": \"0x601040\"") != NULL);
        CHECK(strstr(json, "\"blocked_ms\": null") != NULL);
        CHECK(strstr(json, "\"fd\": 5, \"fd_target\": \"pipe:[9]\"") != NULL);
        CHECK(strstr(json, "\"summary\": {\"processes\": 1, \"threads\": 4, \"leaked\": 2}") != NULL);
        CHECK(strstr(json, "\"cmdline\": [\"./s\", \"--flag\"]") != NULL);
        free(json);

        char *text = render(&report_text, &r, false);
        CHECK(strstr(text, "leakscan: found 2 unexpected threads in process 100 (/bin/s)") != NULL);
        CHECK(strstr(text, "2 threads in state mutex, blocked 1.2s-4.0s, with handle \"odd\"\tname on top of the stack: "
                           "(tids 101-102, \"handler\")") != NULL);
        CHECK(strstr(text, "(/src/s.c:17)") != NULL);
        CHECK(strstr(text, "Thread 103") == NULL);      /* not leaked, not --all */
        free(text);

        text = render(&report_text, &r, true);
        CHECK(strstr(text, "Thread 103 \"io\" in state pipe-read, blocked:") != NULL);
        CHECK(strstr(text, "waiting on fd 5 -> pipe:[9]") != NULL);
        CHECK(strstr(text, "Thread 100 \"server\" (main)") != NULL);
        free(text);

        /* ignored threads: counted at the end, listed with --show-ignored */
        threads[3].leaked = false;
        threads[2].leaked = false;
        threads[2].ignored_by = "top:handle* (--ignore-top)";
        text = render(&report_text, &r, false);
        CHECK(strstr(text, "found 1 unexpected thread") != NULL);
        CHECK(strstr(text, "1 thread ignored (use --show-ignored)") != NULL);
        CHECK(strstr(text, "ignored by") == NULL);
        free(text);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        struct report_options show = { .show_ignored = true };
        CHECK_EQ_INT(report_text.write(f, &r, &show), 0);
        fclose(f);
        CHECK(strstr(buf, "Ignored threads:\n\nThread 102") != NULL);
        CHECK(strstr(buf, "    ignored by top:handle* (--ignore-top)") != NULL);
        free(buf);
        json = render(&report_json, &r, false);
        CHECK(strstr(json, "\"ignored_by\": \"top:handle* (--ignore-top)\"") != NULL);
        free(json);
        f = open_memstream(&buf, &len);
        CHECK_EQ_INT(report_write_suppressions(f, &r), 0);
        fclose(f);
        CHECK(strstr(buf, "\ntop:handle \"odd\"\tname\n") != NULL);
        free(buf);
        threads[2].ignored_by = NULL;
        threads[2].leaked = true;

        /* a deadlocked group comes first, whatever the order of the threads */
        threads[2].verdict = LEAKSCAN_VERDICT_DEADLOCK;
        text = render(&report_text, &r, false);
        const char *dl = strstr(text, "Thread 102");
        const char *other = strstr(text, "Thread 101");
        CHECK(dl && other && dl < other);
        CHECK(strstr(text, "deadlocked") != NULL);
        free(text);
        threads[2].verdict = LEAKSCAN_VERDICT_BLOCKED;

        /* a snapshot that could not catch every new thread says so */
        json = render(&report_json, &r, false);
        CHECK(strstr(json, "\"incomplete\": false") != NULL);
        free(json);
        p.incomplete = true;
        json = render(&report_json, &r, false);
        CHECK(strstr(json, "\"incomplete\": true") != NULL);
        free(json);
        text = render(&report_text, &r, false);
        CHECK(strstr(text, "some of the newest may be missing") != NULL);
        free(text);
        p.incomplete = false;

        /* a stripped program: the top frame is named by module and offset */
        struct leakscan_frame stripped[2] = {
                { .pc = 0x7f0000001234, .function = "__lll_lock_wait", .module = "/lib/libc.so.6", .system = true },
                { .pc = 0x55000001d44b, .module = "/usr/bin/memcached", .offset = 0x1d44b },
        };
        threads[1].frames = threads[2].frames = stripped;
        text = render(&report_text, &r, false);
        CHECK(strstr(text, "with memcached+0x1d44b on top of the stack:") != NULL);
        CHECK(strstr(text, "?? [memcached+0x1d44b]") != NULL);
        free(text);

        for (int i = 0; i < 4; i++)
                threads[i].leaked = false;
        text = render(&report_text, &r, false);
        CHECK(strstr(text, "leakscan: no unexpected threads in process 100 (/bin/s): 4 threads checked") != NULL);
        free(text);
        return CHECK_DONE();
}
