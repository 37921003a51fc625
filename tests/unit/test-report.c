/* Unit tests of the report backends on a hand-built report: JSON escaping
 * and fields, text grouping of identical stacks, valid UTF-8 in every
 * document format, the test that leaked a thread, what could not be
 * checked. */
#include <stdlib.h>

#include "check.h"
#include "report-common.h"
#include "report.h"

/* What an escaper writes for s. */
static char *escaped(void (*escape)(FILE *, const char *), const char *s)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        escape(f, s);
        fclose(f);
        return buf;
}

static char *render_opts(const struct report_backend *b, const struct leakscan_report *r,
                         const struct report_options *opts)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        CHECK_EQ_INT(b->write(f, r, opts), 0);
        fclose(f);
        return buf;
}

static void check_escaping(void)
{
        uint32_t cp;
        CHECK_EQ_INT(utf8_char("\xc3\xa9", &cp), 2);
        CHECK_EQ_INT(cp, 0xe9);
        CHECK_EQ_INT(utf8_char("\xf0\x9f\x98\x80", &cp), 4);
        CHECK_EQ_INT(utf8_char("\xff", &cp), 0);
        CHECK_EQ_INT(utf8_char("\xc0\xaf", &cp), 0);          /* overlong '/' */
        CHECK_EQ_INT(utf8_char("\xed\xa0\x80", &cp), 0);      /* a surrogate */
        CHECK_EQ_INT(utf8_char("\xf4\x90\x80\x80", &cp), 0); /* past U+10FFFF */
        CHECK_EQ_INT(utf8_char("\xe2\x82", &cp), 0);          /* cut short by the NUL */

        char *s = escaped(json_string, "\xff\xfe" "bad \xc3\xa9\x01\"\\");
        CHECK_EQ_STR(s, "\"\\\\xff\\\\xfebad \xc3\xa9\\u0001\\\"\\\\\"");
        free(s);
        s = escaped(xml_text, "a<b>&\"'\xff\x01\n");
        CHECK_EQ_STR(s, "a&lt;b&gt;&amp;&quot;&apos;\\xff\\x01&#10;");
        free(s);
        s = escaped(dot_text, "q\"\\\xfe\n");
        CHECK_EQ_STR(s, "q\\\"\\\\\\\\xfe\\\\x0a");
        free(s);
}

/* Whether text holds a byte a terminal would act on: a C0 control but
 * newline, DEL, a C1 control (as UTF-8 or raw), or a bidirectional
 * override. */
static bool has_raw_control(const char *text)
{
        for (const unsigned char *s = (const unsigned char *) text; *s; s++) {
                if ((*s < 0x20 && *s != '\n') || *s == 0x7f || (*s >= 0x80 && *s <= 0x9f && s[-1] != 0xe2 &&
                                                                   s[-1] < 0xc2))
                        return true;
                if (*s == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f)
                        return true;
                if (*s == 0xe2 && s[1] == 0x80 && s[2] >= 0xaa && s[2] <= 0xae)
                        return true;
        }
        return false;
}

/* Everything the target names reaches the text report escaped: thread
 * names, symbols, source files, modules, the object's symbol and file, the
 * frame it lies in, the test, the fd's path and peer, the program. */
static void check_text_hostile(void)
{
        char *s = escaped(text_string, "a\x1b]0;pwn\a\x1b[2J\xc2\x9b" "2J\xe2\x80\xae" "x\xff\n\t\x7f\xc3\xa9\\");
        CHECK_EQ_STR(s, "a\\x1b]0;pwn\\x07\\x1b[2J\\xc2\\x9b2J\\xe2\\x80\\xaex\\xff\\x0a\\x09\\x7f\xc3\xa9\\");
        free(s);

        const char *evil = "\x1b]0;pwn\a\x1b[2J\xc2\x9b\xe2\x80\xae\n\r";
        struct leakscan_frame frames[2] = {
                { .pc = 0x1000, .function = (char *) evil, .file = (char *) evil, .line = 3, .module = (char *) evil },
                { .pc = 0x2000, .module = (char *) evil, .offset = 0x10 },
        };
        struct leakscan_test test = { .framework = "googletest", .name = (char *) evil, .file = (char *) evil,
                                      .line = 9 };
        struct leakscan_thread threads[3] = {
                { .tid = 7, .state = LEAKSCAN_STATE_MUTEX, .verdict = LEAKSCAN_VERDICT_DEADLOCK, .leaked = true,
                  .syscall = evil, .frames = frames, .n_frames = 2, .created_by = frames,
                  .n_created_by = 2, .has_created_by = true, .has_object = true, .owner_tid = 8,
                  .object = { .kind = "mutex", .symbol = (char *) evil, .file = (char *) evil, .line = 4,
                              .region = LEAKSCAN_REGION_STACK, .stack_tid = 8, .stack_function = (char *) evil },
                  .test = &test, .wait_fd = 3, .fd_target = (char *) evil, .peer = (char *) evil,
                  .unwind_note = evil, .held_call = (char *) evil },
                { .tid = 8, .state = LEAKSCAN_STATE_MUTEX, .verdict = LEAKSCAN_VERDICT_DEADLOCK, .leaked = true,
                  .has_object = true, .owner_tid = 7, .object = { .kind = "mutex", .symbol = (char *) evil },
                  .frames = &frames[1], .n_frames = 1, .wait_fd = -1 },
                { .tid = 9, .state = LEAKSCAN_STATE_MUTEX, .verdict = LEAKSCAN_VERDICT_BLOCKED,
                  .ignored_by = (char *) evil, .frames = frames, .n_frames = 1, .wait_fd = -1 },
        };
        for (int i = 0; i < 3; i++)
                memcpy(threads[i].name, "\x1b]0;pwn\a\x1b[2J", sizeof "\x1b]0;pwn\a\x1b[2J");
        struct leakscan_cycle cycle = { .tids = (pid_t[]) { 7, 8 }, .n = 2 };
        struct leakscan_process p = { .pid = 7, .exe = (char *) evil, .threads = threads, .n_threads = 3,
                                      .deadlocks = &cycle, .n_deadlocks = 1, .inspect_error = (char *) evil };
        struct leakscan_report r = { .mode = "pid", .processes = &p, .n_processes = 1 };
        struct report_options opts = { .all = true, .show_ignored = true };
        char *text = render_opts(&report_text, &r, &opts);
        CHECK(!has_raw_control(text));
        CHECK(strstr(text, "\\x1b]0;pwn\\x07\\x1b[2J") != NULL);
        free(text);
        char *sarif = render_opts(&report_sarif, &r, &opts);
        CHECK(strstr(sarif, "\\\\x1b]0;pwn") != NULL);       /* the message: escaped as text, then JSON */
        free(sarif);
        char *junit = render_opts(&report_junit, &r, &opts);
        CHECK(!has_raw_control(junit));
        free(junit);
        char *lines = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&lines, &len);
        CHECK_EQ_INT(report_write_suppressions(f, &r), 0);
        fclose(f);
        CHECK(!has_raw_control(lines));
        free(lines);
}

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
        CHECK(strstr(text, "2 threads in state mutex, blocked 1.2s-4.0s, with handle \"odd\"\\x09name on top of the stack: "
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
        CHECK(strstr(buf, "\ntop:handle \"odd\"?name\n") != NULL);
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

        threads[1].frames = threads[2].frames = frames;

        /* a test that leaked a thread: in the headline, the JSON, a group of its own */
        struct leakscan_test test = { .framework = "googletest", .name = "QueueTest.Leaky",
                                      .file = "/src/tests.cpp", .line = 18 };
        threads[1].test = &test;
        text = render(&report_text, &r, false);
        CHECK(strstr(text, "Thread 101 \"handler\" in state mutex, blocked 1.2s, leaked by test QueueTest.Leaky "
                           "(tests.cpp:18), with handle \"odd\"\\x09name on top of the stack:") != NULL);
        CHECK(strstr(text, "Thread 102 \"handler\"") != NULL);       /* no longer grouped with 101 */
        free(text);
        json = render(&report_json, &r, false);
        CHECK(strstr(json, "\"test\": {\"framework\": \"googletest\", \"name\": \"QueueTest.Leaky\", "
                           "\"file\": \"/src/tests.cpp\", \"line\": 18}") != NULL);
        CHECK(strstr(json, "\"test\": null") != NULL);
        free(json);
        char *junit = render(&report_junit, &r, false);
        CHECK(strstr(junit, "<testcase classname=\"googletest\" name=\"QueueTest.Leaky\" file=\"/src/tests.cpp\" "
                            "line=\"18\">") != NULL);
        CHECK(strstr(junit, "<testsuites name=\"leakscan\" tests=\"2\" failures=\"2\" errors=\"0\">") != NULL);
        free(junit);
        threads[1].test = NULL;

        /* suppression lines inside the documents */
        struct report_options with_supp = { .suppressions = true };
        json = render_opts(&report_json, &r, &with_supp);
        CHECK(strstr(json, "\"suppressions\": [\"top:handle \\\"odd\\\"?name\"]") != NULL);
        free(json);
        char *sarif = render_opts(&report_sarif, &r, &with_supp);
        CHECK(strstr(sarif, "\"suppression\": \"top:handle") != NULL);
        CHECK(strstr(sarif, "\"address\": {\"absoluteAddress\": 4198432") != NULL);
        CHECK(strstr(sarif, "\"partialFingerprints\": {\"leakscanStack/v1\": \"") != NULL);
        free(sarif);

        /* SARIF paths: under --source-root relative to SRCROOT, percent-encoded;
         * elsewhere absolute file: URIs; a stack with no frame has no code flow */
        struct leakscan_frame odd[2] = {
                { .pc = 0x7f0000001234, .function = "__lll_lock_wait", .module = "/lib/libc.so.6", .system = true },
                { .pc = 0x401020, .function = "f", .file = "/src/a b/\xc3\xbc%.c", .line = 3, .module = "/bin/s" },
        };
        threads[1].frames = odd;
        struct leakscan_frame *saved_frames = threads[2].frames;
        threads[2].frames = NULL;
        threads[2].n_frames = 0;
        struct report_options rooted = { .source_root = "/src/" };
        sarif = render_opts(&report_sarif, &r, &rooted);
        CHECK(strstr(sarif, "{\"uri\": \"a%20b/%C3%BC%25.c\", \"uriBaseId\": \"SRCROOT\"}") != NULL);
        CHECK(strstr(sarif, "\"originalUriBaseIds\": {\"SRCROOT\": {\"uri\": \"file:///src/\"}}") != NULL);
        CHECK(strstr(sarif, "{\"uri\": \"file:///lib/libc.so.6\"}") != NULL);
        const char *second = strstr(sarif, "\"tid\": 102");
        CHECK(second != NULL);
        free(sarif);
        struct report_options elsewhere = { .source_root = "/elsewhere" };
        sarif = render_opts(&report_sarif, &r, &elsewhere);
        CHECK(strstr(sarif, "{\"uri\": \"file:///src/a%20b/%C3%BC%25.c\"}") != NULL);
        free(sarif);
        threads[1].frames = frames;
        threads[2].frames = saved_frames;
        threads[2].n_frames = 2;

        /* a thread with no frame of the program's own (it had not started
         * its routine when the exit began): a finding points at the line
         * that created it, never into libc */
        struct leakscan_frame unstarted[1] = {
                { .pc = 0x7f00000028d9, .function = "__clone3", .module = "/lib/libc.so.6", .system = true },
        };
        struct leakscan_frame creator[3] = {
                { .pc = 0x7f0000002000, .function = "pthread_create", .module = "/lib/libc.so.6", .system = true },
                { .pc = 0x4011e8, .function = "spawn_worker", .file = "/src/pool.c", .line = 21,
                  .module = "/bin/s" },
                { .pc = 0x4011f4, .function = "main", .file = "/src/pool.c", .line = 26, .module = "/bin/s" },
        };
        threads[1].frames = unstarted;
        threads[1].n_frames = 1;
        threads[1].top_frame = 1;
        threads[1].created_by = creator;
        threads[1].n_created_by = 3;
        threads[1].created_by_top = 1;
        threads[1].has_created_by = true;
        sarif = render_opts(&report_sarif, &r, &rooted);
        CHECK(strstr(sarif, "left blocked in state mutex, created by spawn_worker\"") != NULL);
        CHECK(strstr(sarif, "\"locations\": [{\"physicalLocation\": {\"artifactLocation\": {\"uri\": \"pool.c\", "
                            "\"uriBaseId\": \"SRCROOT\"}, \"region\": {\"startLine\": 21}") != NULL);
        free(sarif);
        char *graph = render(&report_dot, &r, false);
        CHECK(strstr(graph, "mutex, blocked\\nspawn_worker") != NULL);
        free(graph);
        /* a thread that has a frame of its own points at that one */
        threads[1].frames = frames;
        threads[1].n_frames = 2;
        sarif = render_opts(&report_sarif, &r, &rooted);
        CHECK(strstr(sarif, "\"locations\": [{\"physicalLocation\": {\"artifactLocation\": {\"uri\": \"s.c\", "
                            "\"uriBaseId\": \"SRCROOT\"}, \"region\": {\"startLine\": 17}") != NULL);
        free(sarif);
        threads[1].created_by = NULL;
        threads[1].n_created_by = 0;
        threads[1].created_by_top = 0;
        threads[1].has_created_by = false;
        threads[1].frames = frames;
        threads[1].n_frames = 2;

        /* what could not be checked is said in every format */
        p.inspect_error = "the creator stacks could not be read (Operation not permitted)";
        text = render(&report_text, &r, false);
        CHECK(strstr(text, "leakscan: process 100 (/bin/s) could not be fully checked: the creator stacks") != NULL);
        free(text);
        json = render(&report_json, &r, false);
        CHECK(strstr(json, "\"inspect_error\": \"the creator stacks could not be read") != NULL);
        free(json);
        sarif = render(&report_sarif, &r, false);
        CHECK(strstr(sarif, "\"executionSuccessful\": false, \"toolExecutionNotifications\": [{\"level\": \"error\", "
                            "\"message\": {\"text\": \"process 100 (/bin/s) could not be fully checked") != NULL);
        free(sarif);
        junit = render(&report_junit, &r, false);
        CHECK(strstr(junit, "<property name=\"inspect_error\" value=\"the creator stacks") != NULL);
        free(junit);
        char *dot = render(&report_dot, &r, false);
        CHECK(strstr(dot, "not fully checked: the creator stacks") != NULL);
        free(dot);
        p.inspect_error = NULL;

        /* DOT: the lock's owner is drawn, the edge labelled */
        threads[1].has_object = true;
        threads[1].object = (struct leakscan_wait_object) { .kind = "mutex", .address = 0x601040, .symbol = "lock" };
        threads[1].owner_tid = 100;
        dot = render(&report_dot, &r, false);
        CHECK(strstr(dot, "t100_101 -> o100_601040 [label=\"waits\"];") != NULL);
        CHECK(strstr(dot, "o100_601040 -> t100_100 [label=\"owned by\"];") != NULL);
        CHECK(strstr(dot, "t100_100 [shape=box") != NULL);
        free(dot);
        threads[1].has_object = false;
        threads[1].owner_tid = 0;

        for (int i = 0; i < 4; i++)
                threads[i].leaked = false;
        text = render(&report_text, &r, false);
        CHECK(strstr(text, "leakscan: no unexpected threads in process 100 (/bin/s): 4 threads checked") != NULL);
        CHECK(strstr(text, "leakscan stopped") == NULL);
        free(text);
        json = render(&report_json, &r, false);
        CHECK(strstr(json, "\"read\": \"unknown\", \"stopped_us\": null, \"stop_note\": null") != NULL);
        free(json);

        /* how each thread was read; a thread stopped inside a call the stop
         * changes carries a note, in every format, idle or not; one read
         * stop-free, none */
        threads[0].read = LEAKSCAN_READ_STOP_FREE;
        threads[3].read = LEAKSCAN_READ_STOPPED;
        threads[3].stopped_us = 2500;
        threads[3].stop_effect = "a socket read under SO_RCVTIMEO fails with EINTR";
        threads[3].verdict = LEAKSCAN_VERDICT_IDLE;
        static const char note[] = "leakscan stopped this thread inside read(): a socket read under SO_RCVTIMEO "
                                   "fails with EINTR (see RELIABILITY.md, the syscall matrix)";
        json = render(&report_json, &r, false);
        CHECK(strstr(json, "\"read\": \"stop-free\", \"stopped_us\": null, \"stop_note\": null") != NULL);
        CHECK(strstr(json, "\"read\": \"stopped\", \"stopped_us\": 2500, \"stop_note\": \"leakscan stopped this "
                           "thread inside read(): a socket read") != NULL);
        free(json);
        text = render(&report_text, &r, false);
        CHECK(strstr(text, "4 threads checked") && strstr(text, "thread 103 (io): ") && strstr(text, note));
        free(text);
        text = render(&report_text, &r, true);
        CHECK(strstr(text, "Thread 103 \"io\"") && strstr(text, note));
        CHECK(strstr(text, "thread 103 (io): ") == NULL);       /* once: in its group */
        free(text);
        sarif = render(&report_sarif, &r, false);
        CHECK(strstr(sarif, "{\"level\": \"note\", \"message\": {\"text\": \"leakscan stopped this thread inside "
                            "read()") != NULL);
        free(sarif);
        threads[3].leaked = true;
        junit = render(&report_junit, &r, false);
        CHECK(strstr(junit, "leakscan stopped this thread inside read()") != NULL);
        free(junit);
        /* hidden threads sharing a note: one line naming them */
        threads[3].leaked = false;
        threads[0].read = LEAKSCAN_READ_STOPPED;
        threads[0].syscall_nr = threads[3].syscall_nr;
        threads[0].syscall = "read";
        threads[0].stop_effect = threads[3].stop_effect;
        text = render(&report_text, &r, false);
        CHECK(strstr(text, "2 threads (tids 100, 103): leakscan stopped each of them inside read(): a socket read") != NULL);
        CHECK(strstr(text, "thread 103 (io)") == NULL);
        free(text);
        threads[0].read = LEAKSCAN_READ_STOP_FREE;
        threads[0].syscall = NULL;
        threads[0].stop_effect = NULL;
        threads[3].leaked = true;
        /* the same thread read stop-free: no note anywhere */
        threads[3].read = LEAKSCAN_READ_STOP_FREE;
        text = render(&report_text, &r, true);
        CHECK(strstr(text, "leakscan stopped") == NULL);
        free(text);
        threads[3].leaked = false;

        /* two processes with one pid in one --follow-forks run (the
         * kernel gave it again): a test suite and a test case each, named
         * apart, the later one counted as dot counts its cluster */
        struct leakscan_process two[2] = { p, p };
        two[1].threads = &threads[1];
        two[1].n_threads = 1;
        struct leakscan_report reused = { .mode = "at-exit", .processes = two, .n_processes = 2 };
        junit = render(&report_junit, &reused, false);
        CHECK(strstr(junit, "<testsuite name=\"leakscan: /bin/s (pid 100)\"") != NULL);
        CHECK(strstr(junit, "<testsuite name=\"leakscan: /bin/s (pid 100 #2)\"") != NULL);
        CHECK(strstr(junit, "name=\"threads of process 100 at exit\"") != NULL);
        CHECK(strstr(junit, "name=\"threads of process 100 #2 at exit\"") != NULL);
        free(junit);
        dot = render(&report_dot, &reused, false);
        CHECK(strstr(dot, "subgraph cluster_100 {") != NULL);
        CHECK(strstr(dot, "subgraph cluster_100_2 {") != NULL);
        free(dot);

        check_escaping();
        check_text_hostile();
        return CHECK_DONE();
}
