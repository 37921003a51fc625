/* The analysed process on the wire (src/snapshot/procwire.h): what a
 * sandboxed analyser writes is read back as written, and the privileged
 * reader survives whatever a hostile analyser could write instead: every
 * truncation and every single-byte change of a real message is either
 * refused (-EBADMSG, nothing kept) or read into a process whose counts,
 * indexes and enums are in range (run under the sanitizers by
 * scripts/test).  The same for the places an analyser looked up, the
 * message written before its answer: read back as kept, and whatever a
 * hostile analyser writes instead is refused whole (nothing offered) or
 * offered within the bounds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "model.h"
#include "procwire.h"
#include "symbolize.h"
#include "util.h"

static struct leakscan_frame *frames(size_t n, const char *function)
{
        struct leakscan_frame *f = calloc(n, sizeof *f);
        for (size_t i = 0; i < n; i++)
                f[i] = (struct leakscan_frame) { .pc = 0x1000 + i, .function = strdup(function),
                                                 .file = i ? strdup("a.c") : NULL, .line = (int) i,
                                                 .module = strdup("/lib/x.so"), .offset = i, .system = i > 0,
                                                 .sp = 0x7ff0, .language = i == 1 ? "python" : NULL };
        return f;
}

static void sample(struct leakscan_process *p)
{
        *p = (struct leakscan_process) { .pid = 42, .n_threads = 2 };
        p->threads = calloc(2, sizeof *p->threads);
        struct leakscan_thread *t = &p->threads[0];
        *t = (struct leakscan_thread) { .tid = 42, .main = true, .proc_state = 'S', .state = LEAKSCAN_STATE_MUTEX,
                                        .syscall_nr = 202, .syscall = "futex", .blocked_ms = 1234,
                                        .verdict = LEAKSCAN_VERDICT_DEADLOCK, .leaked = true, .wait_fd = -1,
                                        .has_object = true, .owner_tid = 43, .unwind_note = "no stack",
                                        .reach = LEAKSCAN_REACH_UNKNOWN, .reach_note = "over the limit",
                                        .proposed = LEAKSCAN_VERDICT_DEADLOCK, .read = LEAKSCAN_READ_STOPPED,
                                        .stopped_us = 1500, .stop_effect = "a futex wait re-reads its word" };
        strcpy(t->name, "main");
        t->object = (struct leakscan_wait_object) { .kind = "mutex", .address = 0x5000, .symbol = strdup("lock"),
                                                    .file = strdup("m.c"), .line = 3,
                                                    .region = LEAKSCAN_REGION_GLOBAL };
        t->frames = frames(3, "wait_for_lock");
        t->n_frames = 3;
        t->top_frame = 0;
        t->test = calloc(1, sizeof *t->test);
        *t->test = (struct leakscan_test) { .framework = "googletest", .name = strdup("Suite.Name"), .line = 9 };
        t = &p->threads[1];
        *t = (struct leakscan_thread) { .tid = 43, .state = LEAKSCAN_STATE_PIPE_READ, .syscall_nr = 0,
                                        .syscall = "read", .wait_fd = 3, .fd_target = strdup("pipe:[1]"),
                                        .peer = strdup("no writer"), .held_call = strdup("write(1, 0x1, 2)"),
                                        .has_created_by = true, .ignored_by = strdup("rule x"),
                                        .read = LEAKSCAN_READ_STOP_FREE, .stopped_us = -1 };
        strcpy(t->name, "\x1b]0;pwn\a");
        t->created_by = frames(2, "spawn");
        t->n_created_by = 2;
        t->created_by_top = 1;
        p->n_deadlocks = 1;
        p->deadlocks = calloc(1, sizeof *p->deadlocks);
        p->deadlocks[0].n = 2;
        p->deadlocks[0].tids = calloc(2, sizeof(pid_t));
        p->deadlocks[0].tids[0] = 42;
        p->deadlocks[0].tids[1] = 43;
}

static void check_sane(const struct leakscan_process *p)
{
        for (size_t i = 0; i < p->n_threads; i++) {
                const struct leakscan_thread *t = &p->threads[i];
                CHECK(t->top_frame <= t->n_frames && t->created_by_top <= t->n_created_by);
                CHECK(t->state < _LEAKSCAN_STATE_MAX && t->verdict < _LEAKSCAN_VERDICT_MAX &&
                      t->proposed < _LEAKSCAN_VERDICT_MAX && t->reach < _LEAKSCAN_REACH_MAX &&
                      t->read < _LEAKSCAN_READ_MAX);
                CHECK(t->name[sizeof t->name - 1] == 0);
                for (size_t k = 0; k < t->n_frames; k++)
                        CHECK(!t->frames[k].function || strlen(t->frames[k].function) < (1u << 20));
        }
        for (size_t i = 0; i < p->n_deadlocks; i++)
                CHECK(p->deadlocks[i].n == 0 || p->deadlocks[i].tids);
}

/* ---- the places ---- */

struct offered {
        size_t n;
        struct symbolize_place first;           /* names not kept */
        char function[64], file[64];
        bool inlined;
        int line;
};

static void offer(const struct symbolize_place *p, void *userdata)
{
        struct offered *o = userdata;
        CHECK(p->n >= 1 && p->n <= PROCWIRE_PLACE_NAMES_MAX && p->names);
        CHECK(p->id.build_id_len <= sizeof p->id.build_id);
        for (size_t i = 0; i < p->n; i++) {
                CHECK(!p->names[i].function || strlen(p->names[i].function) <= PROCWIRE_PLACE_STRING_MAX);
                CHECK(!p->names[i].file || strlen(p->names[i].file) <= PROCWIRE_PLACE_STRING_MAX);
        }
        if (o->n++ == 0) {
                o->first = *p;
                o->first.names = NULL;
                snprintf(o->function, sizeof o->function, "%s", p->names[0].function ? p->names[0].function : "-");
                snprintf(o->file, sizeof o->file, "%s", p->names[0].file ? p->names[0].file : "-");
                o->inlined = p->names[0].inlined;
                o->line = p->names[0].line;
        }
}

static struct symbolize_place place(uint64_t ino, uint64_t rel, const struct symbolize_place_name *names, size_t n)
{
        struct symbolize_place p;
        memset(&p, 0, sizeof p);
        p.id.main = (struct module_file_stat) { .dev = 2049, .ino = ino, .size = 4096, .mtime_sec = 1700000000,
                                                .mtime_nsec = 5, .ctime_sec = 1700000001, .ctime_nsec = 6 };
        memcpy(p.id.build_id, "\x01\x02\x03\x04", 4);
        p.id.build_id_len = 4;
        p.rel = rel;
        p.want_dwarf = ino == 11;
        p.names = names;
        p.n = n;
        return p;
}

static void check_places(void)
{
        static const struct symbolize_place_name inl[] = {
                { "inner", "/src/a.h", 12, true }, { "outer", "/src/a.c", 40, false } };
        static const struct symbolize_place_name plain[] = { { "read", NULL, 0, false } };
        char *huge = malloc(PROCWIRE_PLACE_STRING_MAX + 2);
        memset(huge, 'x', PROCWIRE_PLACE_STRING_MAX + 1);
        huge[PROCWIRE_PLACE_STRING_MAX + 1] = 0;
        const struct symbolize_place_name over[] = { { huge, NULL, 0, false } };
        size_t before = symbolize_places_count();
        struct symbolize_place a = place(11, 0x1234, inl, 2), b = place(12, 0x10, plain, 1),
                               c = place(13, 0x20, over, 1);
        CHECK_EQ_INT(symbolize_places_add(&a), 1);
        CHECK_EQ_INT(symbolize_places_add(&a), 0);      /* known */
        CHECK_EQ_INT(symbolize_places_add(&b), 1);
        CHECK_EQ_INT(symbolize_places_add(&c), 1);      /* kept here, too long for the wire */
        free(huge);
        CHECK_EQ_INT(symbolize_places_count(), before + 3);

        /* the places, then an answer, as an analyser writes them */
        struct leakscan_process in;
        sample(&in);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        CHECK_EQ_INT(procwire_write_places(f, before), 0);
        CHECK_EQ_INT(procwire_write(f, &in), 0);
        CHECK(fclose(f) == 0);
        process_free_contents(&in);

        struct offered o = {0};
        size_t used = 0;
        CHECK_EQ_INT(procwire_read_places((const uint8_t *) buf, len, &used, offer, &o), 0);
        CHECK_EQ_INT(o.n, 2);   /* the one over the bounds left out by the writer */
        CHECK(memcmp(&o.first.id, &a.id, sizeof a.id) == 0);
        CHECK(o.first.rel == 0x1234 && o.first.want_dwarf && o.first.n == 2);
        CHECK_EQ_STR(o.function, "inner");
        CHECK_EQ_STR(o.file, "/src/a.h");
        CHECK(o.inlined && o.line == 12);
        struct leakscan_process out = {0};
        CHECK_EQ_INT(procwire_read((const uint8_t *) buf + used, len - used, &out), 0);
        CHECK_EQ_INT(out.n_threads, 2);
        process_free_contents(&out);

        /* kept again as read (its key): known already */
        o.first.names = inl;
        CHECK_EQ_INT(symbolize_places_add(&o.first), 0);

        /* from a later start, only the later places */
        char *buf2 = NULL;
        size_t len2 = 0;
        f = open_memstream(&buf2, &len2);
        CHECK_EQ_INT(procwire_write_places(f, before + 1), 0);
        CHECK(fclose(f) == 0);
        o = (struct offered) {0};
        CHECK_EQ_INT(procwire_read_places((const uint8_t *) buf2, len2, &used, offer, &o), 0);
        CHECK_EQ_INT(o.n, 1);
        CHECK_EQ_STR(o.function, "read");
        CHECK_EQ_STR(o.file, "-");
        CHECK_EQ_INT(used, len2);
        free(buf2);

        /* every truncation of the places: refused, nothing offered */
        size_t places_len = 0;
        CHECK_EQ_INT(procwire_read_places((const uint8_t *) buf, len, &places_len, offer, &o), 0);
        for (size_t cut = 0; cut < places_len; cut++) {
                o = (struct offered) {0};
                size_t u = 0;
                CHECK_EQ_INT(procwire_read_places((const uint8_t *) buf, cut, &u, offer, &o), -EBADMSG);
                CHECK_EQ_INT(o.n, 0);
        }

        /* every byte of the places changed in a few ways: refused whole, or
         * offered within the bounds (offer checks), never past the message */
        uint8_t *mut = malloc(len);
        static const uint8_t values[] = { 0x00, 0x01, 0x7f, 0x80, 0xff };
        for (size_t i = 0; i < places_len; i++)
                for (size_t v = 0; v < sizeof values; v++) {
                        memcpy(mut, buf, len);
                        if (mut[i] == values[v])
                                continue;
                        mut[i] = values[v];
                        o = (struct offered) {0};
                        size_t u = 0;
                        int r = procwire_read_places(mut, len, &u, offer, &o);
                        CHECK(r == 0 || r == -EBADMSG);
                        CHECK(r == 0 ? u <= len && o.n <= 2 : o.n == 0);
                }
        free(mut);

        /* a body longer than the bytes sent, or than the bound */
        uint64_t body = (uint64_t) len;
        memcpy(buf + strlen("leakscan-places/1\n"), &body, sizeof body);
        CHECK_EQ_INT(procwire_read_places((const uint8_t *) buf, len, &used, offer, &o), -EBADMSG);
        free(buf);
}

/* What a supervisor checks an analyser's places against: the files the
 * process maps, as it opens them itself (this process: its own program
 * and libc, not a file it does not map). */
static void check_mapped_files(void)
{
        _cleanup_free_ char *maps = NULL;
        CHECK(read_full_file("/proc/self/maps", &maps) > 0);
        struct module_file_stat *files = NULL;
        size_t n = 0;
        CHECK_EQ_INT(modules_mapped_file_stats(getpid(), maps, &files, &n), 0);
        struct stat exe, other;
        CHECK(stat("/proc/self/exe", &exe) == 0 && stat("/etc/passwd", &other) == 0);
        bool has_exe = false, has_other = false;
        for (size_t i = 0; i < n; i++) {
                has_exe |= files[i].ino == (uint64_t) exe.st_ino && files[i].dev == (uint64_t) exe.st_dev &&
                           files[i].size == (uint64_t) exe.st_size && files[i].mtime_sec == exe.st_mtim.tv_sec;
                has_other |= files[i].ino == (uint64_t) other.st_ino && files[i].dev == (uint64_t) other.st_dev;
        }
        CHECK(has_exe && !has_other && n >= 2);
        free(files);
}

int main(void)
{
        check_places();
        check_mapped_files();

        struct leakscan_process in;
        sample(&in);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        CHECK_EQ_INT(procwire_write(f, &in), 0);
        CHECK(fclose(f) == 0);

        /* read back as written; the process's own fields left alone */
        struct leakscan_process out = { .pid = 7 };
        CHECK_EQ_INT(procwire_read((const uint8_t *) buf, len, &out), 0);
        CHECK_EQ_INT(out.pid, 7);
        CHECK_EQ_INT(out.n_threads, 2);
        CHECK_EQ_INT(out.threads[0].tid, 42);
        CHECK_EQ_STR(out.threads[0].name, "main");
        CHECK_EQ_STR(out.threads[0].syscall, "futex");
        CHECK_EQ_STR(out.threads[0].object.kind, "mutex");
        CHECK_EQ_STR(out.threads[0].object.symbol, "lock");
        CHECK_EQ_STR(out.threads[0].unwind_note, "no stack");
        CHECK_EQ_STR(out.threads[0].reach_note, "over the limit");
        CHECK_EQ_STR(out.threads[0].test->framework, "googletest");
        CHECK_EQ_STR(out.threads[0].test->name, "Suite.Name");
        CHECK(out.threads[0].leaked && out.threads[0].has_object && out.threads[0].main);
        CHECK_EQ_INT(out.threads[0].verdict, LEAKSCAN_VERDICT_DEADLOCK);
        CHECK_EQ_INT(out.threads[0].n_frames, 3);
        CHECK_EQ_STR(out.threads[0].frames[2].function, "wait_for_lock");
        CHECK_EQ_STR(out.threads[0].frames[1].language, "python");
        CHECK(out.threads[0].frames[1].system && !out.threads[0].frames[0].system);
        CHECK_EQ_STR(out.threads[1].name, "\x1b]0;pwn\a");
        CHECK_EQ_STR(out.threads[1].fd_target, "pipe:[1]");
        CHECK_EQ_STR(out.threads[1].held_call, "write(1, 0x1, 2)");
        CHECK_EQ_STR(out.threads[1].created_by[1].function, "spawn");
        CHECK_EQ_INT(out.threads[1].created_by_top, 1);
        CHECK(out.threads[1].test == NULL && out.threads[1].frames == NULL);
        /* how each was read, and what the stop did */
        CHECK_EQ_INT(out.threads[0].read, LEAKSCAN_READ_STOPPED);
        CHECK(out.threads[0].stopped_us == 1500);
        CHECK_EQ_STR(out.threads[0].stop_effect, "a futex wait re-reads its word");
        CHECK_EQ_INT(out.threads[1].read, LEAKSCAN_READ_STOP_FREE);
        CHECK(out.threads[1].stopped_us == -1 && out.threads[1].stop_effect == NULL);
        CHECK_EQ_INT(out.n_deadlocks, 1);
        CHECK_EQ_INT(out.deadlocks[0].tids[1], 43);
        /* static texts are interned once */
        struct leakscan_process again = {0};
        CHECK_EQ_INT(procwire_read((const uint8_t *) buf, len, &again), 0);
        CHECK(again.threads[0].syscall == out.threads[0].syscall);
        process_free_contents(&again);
        process_free_contents(&out);

        /* every truncation, and trailing bytes: refused, nothing kept */
        for (size_t cut = 0; cut < len; cut++) {
                struct leakscan_process p = {0};
                CHECK_EQ_INT(procwire_read((const uint8_t *) buf, cut, &p), -EBADMSG);
                CHECK(p.threads == NULL && p.n_threads == 0);
        }
        char *longer = malloc(len + 1);
        memcpy(longer, buf, len);
        longer[len] = 0;
        struct leakscan_process p = {0};
        CHECK_EQ_INT(procwire_read((const uint8_t *) longer, len + 1, &p), -EBADMSG);
        free(longer);

        /* every byte changed in a few ways: refused or sane */
        uint8_t *mut = malloc(len);
        static const uint8_t values[] = { 0x00, 0x01, 0x7f, 0x80, 0xff };
        for (size_t i = 0; i < len; i++)
                for (size_t v = 0; v < sizeof values; v++) {
                        memcpy(mut, buf, len);
                        if (mut[i] == values[v])
                                continue;
                        mut[i] = values[v];
                        struct leakscan_process q = {0};
                        int r = procwire_read(mut, len, &q);
                        CHECK(r == 0 || r == -EBADMSG);
                        if (r == 0)
                                check_sane(&q);
                        process_free_contents(&q);
                }
        free(mut);
        free(buf);
        process_free_contents(&in);
        return CHECK_DONE();
}
