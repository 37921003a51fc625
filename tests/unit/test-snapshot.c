/* Unit tests of leakscan-snapshot/1 (src/snapshot/snapshot.c): a capture with every
 * field set reads back field for field; memory reads are served as far as
 * the recorded ranges go; a damaged file is refused with a reason. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/syscall.h>

#include "analyse.h"
#include "check.h"
#include "snapshot.h"

static struct snapshot *sample(void)
{
        struct snapshot *s = calloc(1, sizeof *s);
        s->cap = process_capture_new(4242);
        s->cap->maps_text = strdup("00400000-00401000 r-xp 00000000 08:01 12 /bin/x\n");
        s->cap->n_vanished = 2;
        s->cap->incomplete = true;
        s->cap->has_now = true;
        s->cap->now_sched_ns = 123456789;
        s->cap->stop_begin_us = 1000;
        s->cap->stop_end_us = 1750;
        s->exe = strdup("/bin/x");
        s->cmdline = calloc(3, sizeof *s->cmdline);
        s->cmdline[0] = strdup("x");
        s->cmdline[1] = strdup("--flag");
        s->n_cmdline = 2;
        s->scan_limit = 1 << 20;
        struct thread_capture *t = process_capture_add(s->cap, 4243);
        snprintf(t->stat.comm, sizeof t->stat.comm, "worker-1");
        t->stat.state = 'S';
        t->stat.flags = 0x40;
        t->stat.starttime = 777;
        t->stat.num_threads = 3;
        t->has_exec_start = t->seized = t->stopped = t->regs_valid = t->has_futex_word = t->has_nvcsw = true;
        t->stopfree = t->regs_partial = t->fp_guessed = true;
        t->exec_start_ns = 99;
        t->pending_signal = 10;
        for (size_t i = 0; i < sizeof t->regs / 8; i++)
                ((uint64_t *) &t->regs)[i] = 0x1111111111111111ull * (i % 15 + 1);
        t->syscall_nr = 202;
        static uint8_t stack[40] = { 1, 2, 3, 4, 5 };
        t->stack = stack;
        t->stack_len = sizeof stack;
        t->stack_addr = 0x7ffd0000;
        t->stack_truncated = true;
        t->futex_word = 2;
        t->lock_addr = 0x601000;
        t->lock_len = 16;
        memset(t->lock, 0xab, t->lock_len);
        t->fd_target = strdup("pipe:[99]");
        t->nvcsw = 31;
        t->futex_addr = 0x601010;
        t->wait_fd = 7;
        s->facts = calloc(1, sizeof *s->facts);
        s->n_facts = 1;
        s->facts[0] = (struct snapshot_thread_facts) { .tid = 4243, .has_blocked_ms = true, .blocked_ms = 5000,
                                                       .peer = strdup("writer end held by pid 9 (w)"),
                                                       .peer_pid = 9 };
        s->reach = (struct reach_live) { .scanned = true, .n = 1, .sp = calloc(1, 8), .flags = calloc(1, 1),
                                         .extra_roots = calloc(2, 8), .n_extra_roots = 2,
                                         .extra_bytes = calloc(1, 24), .n_extra_bytes = 24, .budget = 4096,
                                         .blind = strdup("io_uring") };
        s->reach.extra_bytes[23] = 0x5a;
        s->reach.sp[0] = 0x7ffd0040;
        s->reach.flags[0] = REACH_LIVE_MOVED;
        s->reach.extra_roots[1] = 0xdead;
        /* two overlapping reads and one apart: two ranges once written */
        s->ranges = calloc(3, sizeof *s->ranges);
        static uint8_t a[16] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 }, b[16], c[8] = { 9 };
        s->ranges[0] = (struct snapshot_range) { 0x1008, 16, malloc(16) };
        s->ranges[1] = (struct snapshot_range) { 0x1000, 16, malloc(16) };
        s->ranges[2] = (struct snapshot_range) { 0x2000, 8, malloc(8) };
        memcpy(s->ranges[0].bytes, a, 16);
        memcpy(s->ranges[1].bytes, b, 16);
        memcpy(s->ranges[2].bytes, c, 8);
        s->n_ranges = 3;
        s->range_bytes = 40;
        s->modules = calloc(1, sizeof *s->modules);
        s->modules[0] = (struct module_identity) { .path = strdup("/bin/x"), .start = 0x400000, .end = 0x401000,
                                                   .dev = 0x801, .inode = 12, .build_id = { 0xab, 0xcd },
                                                   .build_id_len = 2, .fd = -1, .debug_fd = -1 };
        s->n_modules = 1;
        return s;
}

/* The thread sections of a snapshot file: for each, its T_FLAGS value
 * and whether it has field id (walked by hand, as an older reader would). */
static void thread_fields(const uint8_t *p, size_t len, uint32_t id, uint64_t flags[], bool has[], size_t *n)
{
        *n = 0;
        for (size_t at = 24; at + 16 <= len; ) {
                uint32_t type;
                uint64_t slen;
                memcpy(&type, p + at, 4);
                memcpy(&slen, p + at + 8, 8);
                const uint8_t *q = p + at + 16, *end = q + slen;
                if (type == 2) {
                        has[*n] = false;
                        while (q + 8 <= end) {
                                uint32_t fid, flen;
                                memcpy(&fid, q, 4);
                                memcpy(&flen, q + 4, 4);
                                if (fid == 7)
                                        memcpy(&flags[*n], q + 8, 8);
                                has[*n] |= fid == id;
                                q += 8 + ((flen + 7) & ~7u);
                        }
                        ++*n;
                }
                at += 16 + ((slen + 7) & ~(uint64_t) 7);
        }
}

/* How each thread was read survives a snapshot: our stop and its length
 * (T_FLAGS bit 16, field 31).  A thread nobody stopped is written as a
 * leakscan before them wrote every thread (neither present), and such a
 * file reads as it did: a thread with whole registers that nobody else
 * held was stopped, its length unknown.  The marks and notes come out of
 * the analysis's analyse_read_mark. */
static void test_read_marks(void)
{
        struct snapshot *s = calloc(1, sizeof *s);
        s->cap = process_capture_new(500);
        s->cap->maps_text = strdup("00400000-00401000 r-xp 00000000 08:01 12 /bin/x\n");
        /* stopped by us inside a 1 MiB pipe write */
        struct thread_capture *a = process_capture_add(s->cap, 501);
        a->was_stopped = a->has_stopped_us = a->regs_valid = true;
        a->stopped_us = 1234;
        a->syscall_nr = SYS_write;
        a->regs.rdi = 5, a->regs.rsi = 0x7f0000, a->regs.rdx = 1 << 20;
        /* read stop-free in the same call */
        struct thread_capture *b = process_capture_add(s->cap, 502);
        b->stopfree = b->regs_valid = b->regs_partial = true;
        b->syscall_nr = SYS_write;
        b->regs.rdi = 5, b->regs.rsi = 0x7f0000, b->regs.rdx = 1 << 20;
        /* as an older leakscan wrote a thread it stopped: in a timed epoll_wait */
        struct thread_capture *c = process_capture_add(s->cap, 503);
        c->regs_valid = true;
        c->syscall_nr = SYS_epoll_wait;
        c->regs.r10 = 1000;
        /* --at-exit: held at the exit; stopped by a job-control stop */
        struct thread_capture *d = process_capture_add(s->cap, 504);
        d->preseized = d->regs_valid = true;
        d->syscall_nr = SYS_write;
        struct thread_capture *e = process_capture_add(s->cap, 505);
        e->was_stopped = e->group_stop = e->regs_valid = e->has_stopped_us = true;
        e->syscall_nr = SYS_write;
        /* in D: read from /proc alone */
        struct thread_capture *g = process_capture_add(s->cap, 506);
        g->proc_only = g->regs_valid = g->regs_partial = true;
        g->syscall_nr = SYS_read;

        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        CHECK_EQ_INT(snapshot_write(s, f), 0);
        fclose(f);
        uint64_t flags[8] = {0};
        bool has31[8] = {0};
        size_t n = 0;
        thread_fields((const uint8_t *) text, len, 31, flags, has31, &n);
        CHECK_EQ_INT(n, 6);
        CHECK((flags[0] & (1 << 16)) && has31[0]);
        CHECK(!(flags[1] & (1 << 16)) && !has31[1]);
        CHECK(!(flags[2] & (1 << 16)) && !has31[2]);   /* what the writer before wrote */

        uint8_t *copy = malloc(len);
        memcpy(copy, text, len);
        struct snapshot *r = NULL;
        const char *why = NULL;
        CHECK_EQ_INT(snapshot_parse(copy, len, &r, &why), 0);
        if (!r) {
                free(text);
                snapshot_free(s);
                return;
        }
        CHECK_EQ_INT(r->cap->n_threads, 6);
        struct leakscan_thread lt[6];
        memset(lt, 0, sizeof lt);
        for (size_t i = 0; i < 6 && i < r->cap->n_threads; i++)
                analyse_read_mark(&r->cap->threads[i], &lt[i]);
        CHECK(r->cap->threads[0].was_stopped && r->cap->threads[0].has_stopped_us &&
              r->cap->threads[0].stopped_us == 1234);
        CHECK_EQ_INT(lt[0].read, LEAKSCAN_READ_STOPPED);
        CHECK(lt[0].stopped_us == 1234);
        CHECK(lt[0].stop_effect && strstr(lt[0].stop_effect, "returns short"));
        CHECK_EQ_INT(lt[1].read, LEAKSCAN_READ_STOP_FREE);
        CHECK(lt[1].stop_effect == NULL && lt[1].stopped_us == -1);
        CHECK(!r->cap->threads[2].was_stopped);
        CHECK_EQ_INT(lt[2].read, LEAKSCAN_READ_STOPPED);
        CHECK(lt[2].stopped_us == -1);
        CHECK(lt[2].stop_effect && strstr(lt[2].stop_effect, "EINTR"));
        CHECK_EQ_INT(lt[3].read, LEAKSCAN_READ_HELD);
        CHECK(lt[3].stop_effect == NULL);
        CHECK_EQ_INT(lt[4].read, LEAKSCAN_READ_STOPPED);
        CHECK(lt[4].stop_effect == NULL);       /* a job-control stop's doing, not ours */
        CHECK_EQ_INT(lt[5].read, LEAKSCAN_READ_PROC_ONLY);
        CHECK(lt[5].stop_effect == NULL);
        snapshot_free(r);
        free(text);
        snapshot_free(s);
}

int main(void)
{
        test_read_marks();
        struct snapshot *s = sample();
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        CHECK_EQ_INT(snapshot_write(s, f), 0);
        fclose(f);
        CHECK(len % 8 == 0 && memcmp(text, SNAPSHOT_MAGIC, strlen(SNAPSHOT_MAGIC)) == 0);

        uint8_t *copy = malloc(len);
        memcpy(copy, text, len);
        struct snapshot *r = NULL;
        const char *why = NULL;
        CHECK_EQ_INT(snapshot_parse(copy, len, &r, &why), 0);
        if (!r)
                return CHECK_DONE();
        const struct process_capture *cap = r->cap;
        CHECK_EQ_INT(cap->pid, 4242);
        CHECK_EQ_STR(cap->maps_text, s->cap->maps_text);
        CHECK(cap->n_vanished == 2 && cap->incomplete && cap->has_now && cap->now_sched_ns == 123456789);
        CHECK(cap->stop_begin_us == 1000 && cap->stop_end_us == 1750);
        CHECK_EQ_STR(r->exe, "/bin/x");
        CHECK(r->n_cmdline == 2 && !strcmp(r->cmdline[1], "--flag") && r->scan_limit == 1 << 20);
        CHECK_EQ_INT(cap->n_threads, 1);
        const struct thread_capture *t = &cap->threads[0], *o = &s->cap->threads[0];
        CHECK(t->tid == 4243 && !strcmp(t->stat.comm, "worker-1") && t->stat.state == 'S');
        CHECK(t->stat.flags == 0x40 && t->stat.starttime == 777 && t->stat.num_threads == 3);
        CHECK(t->has_exec_start && t->seized && t->stopped && t->regs_valid && t->has_futex_word && t->has_nvcsw);
        CHECK(!t->vanished && !t->held && !t->group_stop && !t->proc_only && !t->rewound && !t->preseized);
        CHECK(t->stopfree && t->regs_partial && t->fp_guessed);
        CHECK(t->stack_truncated && t->exec_start_ns == 99 && t->pending_signal == 10);
        CHECK(memcmp(&t->regs, &o->regs, sizeof t->regs) == 0);
        CHECK(t->syscall_nr == 202 && t->stack_len == 40 && memcmp(t->stack, o->stack, 40) == 0);
        CHECK(((uintptr_t) t->stack & 7) == 0);         /* read in place, aligned */
        CHECK(t->stack_addr == 0x7ffd0000 && t->futex_word == 2 && t->lock_addr == 0x601000);
        CHECK(t->lock_len == 16 && memcmp(t->lock, o->lock, 16) == 0);
        CHECK_EQ_STR(t->fd_target, "pipe:[99]");
        CHECK(t->nvcsw == 31 && t->futex_addr == 0x601010 && t->wait_fd == 7);
        CHECK(r->n_facts == 1 && r->facts[0].has_blocked_ms && r->facts[0].blocked_ms == 5000);
        CHECK_EQ_STR(r->facts[0].peer, "writer end held by pid 9 (w)");
        CHECK_EQ_INT(r->facts[0].peer_pid, 9);
        CHECK(r->reach.scanned && r->reach.n == 1 && r->reach.sp[0] == 0x7ffd0040);
        CHECK(r->reach.flags[0] == REACH_LIVE_MOVED && r->reach.n_extra_roots == 2 &&
              r->reach.extra_roots[1] == 0xdead);
        CHECK_EQ_STR(r->reach.blind, "io_uring");
        CHECK(r->reach.n_extra_bytes == 24 && r->reach.extra_bytes[23] == 0x5a && r->reach.budget == 4096);
        CHECK(r->n_modules == 1 && r->modules[0].inode == 12 && r->modules[0].build_id_len == 2 &&
              r->modules[0].build_id[1] == 0xcd && r->modules[0].fd == -1);
        /* [0x1000, 0x1018) merged, [0x2000, 0x2008) apart */
        CHECK_EQ_INT(r->n_ranges, 2);
        CHECK(r->n_ranges == 2 && r->ranges[0].addr == 0x1000 && r->ranges[0].len == 24 &&
              r->ranges[1].addr == 0x2000);
        snapshot_free(r);

        /* damaged: cut short, another version, garbage */
        copy = malloc(len);
        memcpy(copy, text, len);
        CHECK_EQ_INT(snapshot_parse(copy, len - 8, &r, &why), -EINVAL);
        CHECK(why != NULL);
        copy = malloc(len);
        memcpy(copy, text, len);
        copy[18] = '2';
        CHECK_EQ_INT(snapshot_parse(copy, len, &r, &why), -EPROTONOSUPPORT);
        copy = calloc(1, 64);
        CHECK_EQ_INT(snapshot_parse(copy, 64, &r, &why), -EINVAL);
        CHECK_EQ_STR(why, "not a leakscan snapshot");

        free(text);
        snapshot_free(s);
        return CHECK_DONE();
}
