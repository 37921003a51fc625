/* Unit tests for the batched reads of capture.c, on this test's own memory
 * (process_vm_readv on ourselves needs no ptrace): stack windows end where
 * the maps say memory stops being readable, a batch cut short by a page
 * that became unreadable after the maps were read goes on with the next
 * thread, lock windows fall back to the word alone, fds are named once per
 * fd, and the TID index finds every thread.  And the stop-free reading, of a
 * thread of this test asleep in read(): consistent while it sleeps, found
 * moved once it ran, its thread pointer found in its stack copy. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture.h"
#include "check.h"

static size_t page;

static struct thread_capture *add_thread(struct process_capture *cap, pid_t tid, uint64_t sp)
{
        struct thread_capture *t = process_capture_add(cap, tid);
        uint64_t args[6] = {0};
        arch_regs_from_syscall(&t->regs, 0, args, sp, 0);
        t->regs_valid = true;
        return t;
}

static size_t capture_all_stacks(struct process_capture *cap, size_t window)
{
        size_t calls = 0;
        for (size_t i = 0; i < cap->n_threads; calls++)
                i += capture_stacks(cap, i, window);
        return calls;
}

/* Six pages: 0-1 readable, 2 not, 3-4 readable, 5 not. */
static uint8_t *make_area(void)
{
        uint8_t *a = mmap(NULL, 6 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (a == MAP_FAILED)
                return NULL;
        for (size_t i = 0; i < 6 * page; i++)
                a[i] = (uint8_t) (i * 7 + i / page);
        mprotect(a + 2 * page, page, PROT_NONE);
        mprotect(a + 5 * page, page, PROT_NONE);
        return a;
}

static void test_stacks(void)
{
        uint8_t *a = make_area();
        CHECK(a != NULL);
        if (!a)
                return;
        struct process_capture *cap = process_capture_new(getpid());
        CHECK_EQ_INT(capture_process(cap), 0);
        struct thread_capture *t0 = add_thread(cap, 1000, (uint64_t) (uintptr_t) (a + 100));
        struct thread_capture *t1 = add_thread(cap, 1001, (uint64_t) (uintptr_t) (a + 2 * page + 8));
        struct thread_capture *t2 = add_thread(cap, 1002, (uint64_t) (uintptr_t) (a + 3 * page + 16));
        struct thread_capture *t3 = add_thread(cap, 1003, (uint64_t) (uintptr_t) (a + page));
        t3->vanished = true;
        capture_all_stacks(cap, 64 * 1024);
        /* to the unreadable page, not into it */
        CHECK_EQ_INT(t0->stack_len, 2 * page - 100);
        CHECK_EQ_INT(t0->stack_addr, (uint64_t) (uintptr_t) (a + 100));
        CHECK(!t0->stack_truncated);
        CHECK(t0->stack && memcmp(t0->stack, a + 100, t0->stack_len) == 0);
        /* SP in no readable mapping: read alone, and nothing to read */
        CHECK(t1->stack == NULL);
        CHECK_EQ_INT(t1->stack_len, 0);
        CHECK_EQ_INT(t2->stack_len, 2 * page - 16);
        CHECK(t2->stack && memcmp(t2->stack, a + 3 * page + 16, t2->stack_len) == 0);
        CHECK(t3->stack == NULL);
        process_capture_free(cap);

        /* a window smaller than the stack: full, and said to go on */
        cap = process_capture_new(getpid());
        CHECK_EQ_INT(capture_process(cap), 0);
        t0 = add_thread(cap, 1000, (uint64_t) (uintptr_t) (a + 100));
        capture_all_stacks(cap, 256);
        CHECK_EQ_INT(t0->stack_len, 256);
        CHECK(t0->stack_truncated);
        process_capture_free(cap);

        /* The maps say page 1 is readable, but it no longer is: the batch
         * read stops there; t0 keeps what was read, t1 (in page 1) gets
         * nothing, t2 after them is still read. */
        cap = process_capture_new(getpid());
        CHECK_EQ_INT(capture_process(cap), 0);
        mprotect(a + page, page, PROT_NONE);
        t0 = add_thread(cap, 1000, (uint64_t) (uintptr_t) (a + 100));
        t1 = add_thread(cap, 1001, (uint64_t) (uintptr_t) (a + page + 64));
        t2 = add_thread(cap, 1002, (uint64_t) (uintptr_t) (a + 3 * page + 16));
        capture_all_stacks(cap, 64 * 1024);
        CHECK_EQ_INT(t0->stack_len, page - 100);
        CHECK(t0->stack && memcmp(t0->stack, a + 100, t0->stack_len) == 0);
        CHECK(t1->stack == NULL);
        CHECK_EQ_INT(t2->stack_len, 2 * page - 16);
        CHECK(t2->stack && memcmp(t2->stack, a + 3 * page + 16, t2->stack_len) == 0);
        process_capture_free(cap);

        /* more threads than one batch holds: every one is copied */
        mprotect(a + page, page, PROT_READ | PROT_WRITE);
        cap = process_capture_new(getpid());
        CHECK_EQ_INT(capture_process(cap), 0);
        for (pid_t i = 0; i < 600; i++)
                add_thread(cap, 2000 + i, (uint64_t) (uintptr_t) (a + (size_t) i * 8));
        CHECK(capture_all_stacks(cap, 512) > 1);
        size_t good = 0;
        for (size_t i = 0; i < cap->n_threads; i++)
                good += cap->threads[i].stack_len == 512 &&
                        memcmp(cap->threads[i].stack, a + i * 8, 512) == 0;
        CHECK_EQ_INT(good, 600);
        process_capture_free(cap);
        munmap(a, 6 * page);
}

static void test_locks(void)
{
        uint8_t *a = make_area();
        CHECK(a != NULL);
        if (!a)
                return;
        struct process_capture *cap = process_capture_new(getpid());
        /* the page before the word is not readable: the word on, alone */
        struct thread_capture *t0 = add_thread(cap, 1000, 0);
        t0->futex_addr = (uint64_t) (uintptr_t) (a + 3 * page + 8);
        /* the whole window around the word */
        struct thread_capture *t1 = add_thread(cap, 1001, 0);
        t1->futex_addr = (uint64_t) (uintptr_t) (a + page + 200);
        /* nothing readable at all */
        struct thread_capture *t2 = add_thread(cap, 1002, 0);
        t2->futex_addr = (uint64_t) (uintptr_t) (a + 2 * page + 200);
        capture_locks(cap);
        uint32_t w;
        CHECK(t0->has_futex_word);
        CHECK_EQ_INT(t0->lock_addr, t0->futex_addr);
        CHECK_EQ_INT(t0->lock_len, CAPTURE_LOCK_WINDOW / 2);
        memcpy(&w, a + 3 * page + 8, sizeof w);
        CHECK_EQ_INT(t0->futex_word, w);
        CHECK(t1->has_futex_word);
        CHECK_EQ_INT(t1->lock_addr, t1->futex_addr - CAPTURE_LOCK_WINDOW / 2);
        CHECK_EQ_INT(t1->lock_len, CAPTURE_LOCK_WINDOW);
        CHECK(memcmp(t1->lock, a + page + 200 - CAPTURE_LOCK_WINDOW / 2, CAPTURE_LOCK_WINDOW) == 0);
        memcpy(&w, a + page + 200, sizeof w);
        CHECK_EQ_INT(t1->futex_word, w);
        CHECK(!t2->has_futex_word);
        process_capture_free(cap);
        munmap(a, 6 * page);
}

static void test_fds(void)
{
        int p[2];
        CHECK_EQ_INT(pipe(p), 0);
        struct process_capture *cap = process_capture_new(getpid());
        struct thread_capture *r0 = add_thread(cap, 1000, 0);
        struct thread_capture *w = add_thread(cap, 1001, 0);
        struct thread_capture *r1 = add_thread(cap, 1002, 0);
        struct thread_capture *none = add_thread(cap, 1003, 0);
        struct thread_capture *bad = add_thread(cap, 1004, 0);
        r0->wait_fd = r1->wait_fd = p[0];
        w->wait_fd = p[1];
        bad->wait_fd = 99999;
        capture_fds(cap);
        CHECK(r0->fd_target && strncmp(r0->fd_target, "pipe:[", 6) == 0);
        CHECK_EQ_STR(r1->fd_target, r0->fd_target);
        CHECK_EQ_STR(w->fd_target, r0->fd_target);     /* the same pipe */
        CHECK(r1->fd_target != r0->fd_target);         /* each owns its copy */
        CHECK(none->fd_target == NULL);
        CHECK(bad->fd_target == NULL);
        process_capture_free(cap);
        close(p[0]);
        close(p[1]);
}

static void test_find(void)
{
        struct process_capture *cap = process_capture_new(1);
        CHECK(process_capture_find(cap, 5) == NULL);
        for (pid_t tid = 1; tid <= 5000; tid++)
                process_capture_add(cap, tid * 3);
        size_t found = 0;
        for (pid_t tid = 1; tid <= 5000; tid++) {
                struct thread_capture *t = process_capture_find(cap, tid * 3);
                found += t && t->tid == tid * 3;
        }
        CHECK_EQ_INT(found, 5000);
        CHECK(process_capture_find(cap, 4) == NULL);
        CHECK(process_capture_find(cap, 15001) == NULL);
        process_capture_free(cap);
}

/* Whether a maps text has a mapping that holds p. */
static bool maps_cover(const char *text, const void *p)
{
        struct map_entry *maps = NULL;
        size_t n = 0;
        if (procfs_parse_maps(text, &maps, &n) < 0)
                return false;
        bool found = map_entries_find(maps, n, (uint64_t) (uintptr_t) p) != NULL;
        map_entries_free(maps, n);
        return found;
}

/* Maps read before the stop: the window reads none, a stack mapped after
 * that read is still copied (alone), and the maps read after the release
 * show it. */
static void test_early_maps(void)
{
        struct process_capture *cap = process_capture_new(getpid());
        CHECK_EQ_INT(capture_process_early(cap), 0);
        CHECK(cap->maps_early);
        const char *early = cap->maps_text;
        /* two pages of stack and a guard page above them */
        uint8_t *late = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        CHECK(late != MAP_FAILED);
        if (late == MAP_FAILED) {
                process_capture_free(cap);
                return;
        }
        memset(late, 0x5a, 2 * page);
        mprotect(late + 2 * page, page, PROT_NONE);
        CHECK(!maps_cover(early, late));
        CHECK_EQ_INT(capture_process(cap), 0);
        CHECK(cap->maps_text == early);         /* kept, not read again */
        struct thread_capture *t = add_thread(cap, 1000, (uint64_t) (uintptr_t) (late + 32));
        capture_all_stacks(cap, 64 * 1024);
        CHECK_EQ_INT(t->stack_len, 2 * page - 32);
        CHECK(t->stack && t->stack[0] == 0x5a);
        capture_process_late(cap);
        CHECK(cap->maps_text && maps_cover(cap->maps_text, late));
        process_capture_free(cap);
        munmap(late, 3 * page);
}

struct sleeper {
        int in[2], out[2];
        pid_t tid;
        uint64_t self;
};

static void *sleeper_run(void *arg)
{
        struct sleeper *s = arg;
        s->self = (uint64_t) (uintptr_t) pthread_self();
        __atomic_store_n(&s->tid, (pid_t) syscall(SYS_gettid), __ATOMIC_RELEASE);
        char c;
        while (read(s->in[0], &c, 1) == 1)
                (void) !write(s->out[1], &c, 1);
        return NULL;
}

/* Begins a reading of t once it sleeps in read() (it may not have got
 * there yet). */
static int begin_when_asleep(struct thread_capture *t)
{
        int r = -EAGAIN;
        for (int i = 0; i < 100000 && r == -EAGAIN; i++) {
                capture_thread_forget(t);
                if (capture_thread_prestop(getpid(), t) < 0)
                        return -ESRCH;
                r = capture_stopfree_begin(getpid(), t);
                if (r == -EAGAIN)
                        sched_yield();
        }
        return r;
}

static void test_stopfree(void)
{
        struct sleeper s = {0};
        pthread_t th;
        CHECK(pipe(s.in) == 0 && pipe(s.out) == 0);
        CHECK(pthread_create(&th, NULL, sleeper_run, &s) == 0);
        while (!__atomic_load_n(&s.tid, __ATOMIC_ACQUIRE))
                sched_yield();
        struct process_capture *cap = process_capture_new(getpid());
        CHECK(capture_process(cap) == 0);
        struct thread_capture *t = process_capture_add(cap, s.tid);

        CHECK_EQ_INT(begin_when_asleep(t), 0);
        CHECK(t->stopfree && t->regs_valid && t->regs_partial);
        CHECK_EQ_INT(t->syscall_nr, SYS_read);
        CHECK_EQ_INT(t->wait_fd, s.in[0]);
        capture_thread_stack(cap, t, 64 * 1024);
        CHECK(t->stack != NULL);
        /* nothing woke it: the reading stands */
        CHECK_EQ_INT(capture_stopfree_verify(getpid(), t), 0);
        /* glibc's TCB at the top of its stack, where pthread_self points */
        const struct map_entry *m = NULL;
        struct map_entry *maps = NULL;
        size_t n = 0;
        CHECK(procfs_parse_maps(cap->maps_text, &maps, &n) == 0);
        m = map_entries_find(maps, n, t->stack_addr);
        CHECK(m != NULL);
        CHECK_EQ_INT(capture_guess_thread_pointer(t, m ? m->end : 0), s.self);
        map_entries_free(maps, n);

        /* it runs (reads a byte, writes it back) and sleeps again in the
         * same read: the same syscall line, but its count moved */
        char c = 'x';
        CHECK(write(s.in[1], &c, 1) == 1);
        CHECK(read(s.out[0], &c, 1) == 1);
        int r;
        for (int i = 0; i < 100000 && (r = capture_stopfree_verify(getpid(), t)) == 0; i++)
                sched_yield();          /* until it is switched out (the count moves then) */
        CHECK_EQ_INT(r, -EAGAIN);

        close(s.in[1]);
        pthread_join(th, NULL);
        process_capture_free(cap);
        close(s.in[0]);
        close(s.out[0]);
        close(s.out[1]);
}

int main(void)
{
        page = (size_t) sysconf(_SC_PAGESIZE);
        test_stacks();
        test_locks();
        test_fds();
        test_find();
        test_early_maps();
        test_stopfree();
        return CHECK_DONE();
}
