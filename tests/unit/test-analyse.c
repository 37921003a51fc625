/* Unit tests of the wait-for analysis on synthetic snapshots: reading owners
 * and counts from glibc lock layouts, and the graph: cycles of length 1 to
 * 5, many threads on one lock, chains into cycles and orphans. */
#include <stdlib.h>

#include "analyse.h"
#include "model.h"
#include "check.h"

/* ---- lock words ---- */

/* A thread whose futex word is at 0x1000, with a window of words around it
 * (window[16] is the word itself). */
static void window(struct thread_capture *t, const uint32_t words[32])
{
        memset(t, 0, sizeof *t);
        memcpy(t->lock, words, 128);
        t->lock_addr = 0x1000 - 64;
        t->lock_len = 128;
        t->has_futex_word = true;
}

static struct leakscan_thread waiting(pid_t tid, enum leakscan_state state)
{
        return (struct leakscan_thread) { .tid = tid, .state = state,
                                          .has_wait_address = true, .wait_address = 0x1000 };
}

/* analyse_lock_state with threads[0..n) as the process */
static void lock_state(const struct thread_capture *t, struct leakscan_thread *lt,
                       const struct leakscan_thread *threads, size_t n)
{
        struct thread_index ix;
        CHECK_EQ_INT(thread_index_init(&ix, threads, n), 0);
        analyse_lock_state(t, lt, &ix);
        thread_index_done(&ix);
}

static void test_thread_index(void)
{
        struct thread_capture t;
        uint32_t w[32] = {0};
        struct leakscan_thread ts[4] = {
                { .tid = 300, .tls = 0x7000000 }, { .tid = 100, .tls = 0x5000000 },
                { .tid = 200, .tls = 0x6000000 }, waiting(400, LEAKSCAN_STATE_JOIN),
        };
        struct thread_index ix;
        CHECK_EQ_INT(thread_index_init(&ix, ts, 4), 0);
        CHECK_EQ_INT(thread_index_by_tid(&ix, 200), 2);
        CHECK_EQ_INT(thread_index_by_tid(&ix, 100), 1);
        CHECK_EQ_INT(thread_index_by_tid(&ix, 999), -1);
        CHECK_EQ_INT(thread_index_by_tid(&ix, 0), -1);
        thread_index_done(&ix);

        /* a join word is found in the struct pthread it lies in, among
         * several; an address past every struct pthread names nobody */
        window(&t, w);
        ts[3].wait_address = 0x6000000 + 0x2d0;
        lock_state(&t, &ts[3], ts, 4);
        CHECK_EQ_INT(ts[3].joined_tid, 200);
        ts[3] = waiting(400, LEAKSCAN_STATE_JOIN);
        ts[3].wait_address = 0x7000000 + 8192;
        lock_state(&t, &ts[3], ts, 4);
        CHECK_EQ_INT(ts[3].joined_tid, 0);
}

static void test_lock_state(void)
{
        struct thread_capture t;
        uint32_t w[32] = {0};

        /* normal mutex: __lock 2, __owner 77 */
        w[16] = 2; w[18] = 77;
        window(&t, w);
        struct leakscan_thread lt = waiting(5, LEAKSCAN_STATE_MUTEX);
        lock_state(&t, &lt, &lt, 1);
        CHECK_EQ_INT(lt.owner_tid, 77);
        CHECK_EQ_INT(lt.object.address, 0x1000);

        /* robust mutex: the owner is in the lock word (with FUTEX_WAITERS) */
        memset(w, 0, sizeof w);
        w[16] = 0x80000000u | 88; w[18] = 0; w[20] = 16;
        window(&t, w);
        lt = waiting(5, LEAKSCAN_STATE_MUTEX);
        lock_state(&t, &lt, &lt, 1);
        CHECK_EQ_INT(lt.owner_tid, 88);
        /* PI mutex, kind 32 */
        w[20] = 32; w[16] = 0x80000000u | 99;
        window(&t, w);
        lt = waiting(5, LEAKSCAN_STATE_MUTEX);
        lock_state(&t, &lt, &lt, 1);
        CHECK_EQ_INT(lt.owner_tid, 99);
        /* an unlocked word names no owner even if __owner is stale */
        memset(w, 0, sizeof w);
        w[18] = 77;
        window(&t, w);
        lt = waiting(5, LEAKSCAN_STATE_MUTEX);
        lock_state(&t, &lt, &lt, 1);
        CHECK_EQ_INT(lt.owner_tid, 0);

        /* rwlock held by a writer, waiter on __writers_futex (12): base at
         * word 13; __readers WRLOCKED|WRPHASE, __cur_writer 42 */
        memset(w, 0, sizeof w);
        w[13] = 3; w[16] = 1; w[19] = 42;
        window(&t, w);
        lt = waiting(5, LEAKSCAN_STATE_RWLOCK);
        lock_state(&t, &lt, &lt, 1);
        CHECK_EQ_INT(lt.owner_tid, 42);
        CHECK_EQ_INT(lt.object.address, 0x1000 - 12);
        /* held by two readers, waiter on __wrphase_futex (8): base word 14 */
        memset(w, 0, sizeof w);
        w[14] = (2 << 3) | 2; w[16] = 2; w[17] = 1;
        window(&t, w);
        lt = waiting(5, LEAKSCAN_STATE_RWLOCK);
        lock_state(&t, &lt, &lt, 1);
        CHECK_EQ_INT(lt.owner_tid, 0);
        CHECK(lt.has_count && lt.count == 2);
        CHECK_EQ_INT(lt.object.address, 0x1000 - 8);

        /* join, glibc <= 2.42: the futex value is the joined TID */
        struct leakscan_thread threads[2] = { waiting(5, LEAKSCAN_STATE_JOIN), { .tid = 6, .tls = 0x7000 } };
        threads[0].has_futex_value = true;
        threads[0].futex_value = 6;
        memset(w, 0, sizeof w);
        window(&t, w);
        lock_state(&t, &threads[0], threads, 2);
        CHECK_EQ_INT(threads[0].joined_tid, 6);
        /* later glibc: a join word inside the joined thread's struct pthread */
        threads[0].joined_tid = 0;
        threads[0].futex_value = 2;
        threads[0].wait_address = 0x7000 + 0x2d0;
        lock_state(&t, &threads[0], threads, 2);
        CHECK_EQ_INT(threads[0].joined_tid, 6);

        /* semaphore value */
        memset(w, 0, sizeof w);
        w[16] = 0;
        window(&t, w);
        lt = waiting(5, LEAKSCAN_STATE_SEMAPHORE);
        lock_state(&t, &lt, &lt, 1);
        CHECK(lt.has_count && lt.count == 0);
}

/* ---- the graph ---- */

static struct leakscan_thread *threads_new(size_t n)
{
        struct leakscan_thread *t = calloc(n, sizeof *t);
        for (size_t i = 0; i < n; i++) {
                t[i].tid = (pid_t) (100 + i);
                t[i].state = LEAKSCAN_STATE_MUTEX;
                t[i].wait_fd = -1;
        }
        return t;
}

static void process_done(struct leakscan_process *p)
{
        process_free_contents(p);
}

static void test_cycles(void)
{
        /* cycles of length 1 (a non-recursive mutex locked twice) to 5 */
        for (size_t len = 1; len <= 5; len++) {
                struct leakscan_process p = { .threads = threads_new(len + 1), .n_threads = len + 1 };
                for (size_t i = 0; i < len; i++)
                        p.threads[i].owner_tid = p.threads[(i + 1) % len].tid;
                p.threads[len].state = LEAKSCAN_STATE_SIGNAL_WAIT;     /* a bystander */
                CHECK_EQ_INT(analyse_graph(&p), 0);
                CHECK_EQ_INT(p.n_deadlocks, 1);
                CHECK_EQ_INT(p.deadlocks[0].n, len);
                CHECK_EQ_INT(p.deadlocks[0].tids[0], 100);     /* starts at the smallest TID */
                for (size_t i = 0; i < len; i++) {
                        CHECK_EQ_INT(p.threads[i].proposed, LEAKSCAN_VERDICT_DEADLOCK);
                        CHECK_EQ_INT(p.deadlocks[0].tids[i], 100 + (pid_t) i);
                }
                CHECK_EQ_INT(p.threads[len].proposed, LEAKSCAN_VERDICT_BLOCKED);
                process_done(&p);
        }
}

static void test_many_on_one_lock(void)
{
        /* 50 threads wait on a lock held by a thread that waits on a
         * semaphore: blocked, no cycle */
        struct leakscan_process p = { .threads = threads_new(51), .n_threads = 51 };
        p.threads[0].state = LEAKSCAN_STATE_SEMAPHORE;
        for (size_t i = 1; i < 51; i++)
                p.threads[i].owner_tid = 100;
        CHECK_EQ_INT(analyse_graph(&p), 0);
        CHECK_EQ_INT(p.n_deadlocks, 0);
        for (size_t i = 0; i < 51; i++)
                CHECK_EQ_INT(p.threads[i].proposed, LEAKSCAN_VERDICT_BLOCKED);
        process_done(&p);

        /* the same 50 behind a two-thread deadlock: deadlocked too, one cycle */
        p = (struct leakscan_process) { .threads = threads_new(52), .n_threads = 52 };
        p.threads[0].owner_tid = 101;
        p.threads[1].owner_tid = 100;
        for (size_t i = 2; i < 52; i++)
                p.threads[i].owner_tid = 100;
        CHECK_EQ_INT(analyse_graph(&p), 0);
        CHECK_EQ_INT(p.n_deadlocks, 1);
        CHECK_EQ_INT(p.deadlocks[0].n, 2);
        for (size_t i = 0; i < 52; i++)
                CHECK_EQ_INT(p.threads[i].proposed, LEAKSCAN_VERDICT_DEADLOCK);
        process_done(&p);
}

static void test_orphans_and_chains(void)
{
        /* owner gone; a join on the orphan; a timed wait is no edge */
        struct leakscan_process p = { .threads = threads_new(4), .n_threads = 4 };
        p.threads[0].owner_tid = 999;                   /* exited */
        p.threads[1].state = LEAKSCAN_STATE_JOIN;
        p.threads[1].joined_tid = 100;
        p.threads[2].owner_tid = 101;
        p.threads[3].owner_tid = 100;
        p.threads[3].timeout = true;    /* pthread_mutex_timedlock */
        CHECK_EQ_INT(analyse_graph(&p), 0);
        CHECK(p.threads[0].owner_gone);
        CHECK_EQ_INT(p.threads[0].proposed, LEAKSCAN_VERDICT_ORPHANED);
        CHECK_EQ_INT(p.threads[1].proposed, LEAKSCAN_VERDICT_ORPHANED);
        CHECK_EQ_INT(p.threads[2].proposed, LEAKSCAN_VERDICT_ORPHANED);
        CHECK_EQ_INT(p.threads[3].proposed, LEAKSCAN_VERDICT_TIMED);
        CHECK_EQ_INT(p.n_deadlocks, 0);
        process_done(&p);

        /* the main thread on a cycle, and one that only waits for it (the
         * judge leaks only the first) */
        p = (struct leakscan_process) { .threads = threads_new(3), .n_threads = 3 };
        p.threads[0].main = true;
        p.threads[0].owner_tid = 101;
        p.threads[1].owner_tid = 100;
        p.threads[2].main = true;       /* (a second "main" only for the test) */
        p.threads[2].owner_tid = 101;
        CHECK_EQ_INT(analyse_graph(&p), 0);
        CHECK_EQ_INT(p.threads[0].proposed, LEAKSCAN_VERDICT_DEADLOCK);
        CHECK_EQ_INT(p.n_deadlocks, 1);
        CHECK_EQ_INT(p.deadlocks[0].n, 2);
        CHECK_EQ_INT(p.threads[2].proposed, LEAKSCAN_VERDICT_DEADLOCK);
        process_done(&p);

        /* a pipe read no other process can write to, while the only other
         * thread is orphaned: orphaned too */
        p = (struct leakscan_process) { .threads = threads_new(2), .n_threads = 2 };
        p.threads[0].state = LEAKSCAN_STATE_PIPE_READ;
        p.threads[0].fd_target = "pipe:[7]";
        p.threads[0].peer = "no writer other than this process";
        p.threads[1].owner_tid = 999;
        CHECK_EQ_INT(analyse_graph(&p), 0);
        CHECK_EQ_INT(p.threads[0].proposed, LEAKSCAN_VERDICT_ORPHANED);
        p.threads[0].peer = NULL;
        p.threads[0].fd_target = NULL;
        process_done(&p);
        /* ...but not while another process holds the write end, nor while
         * another thread could still write */
        p = (struct leakscan_process) { .threads = threads_new(2), .n_threads = 2 };
        p.threads[0].state = LEAKSCAN_STATE_PIPE_READ;
        p.threads[0].peer = "writer end held by pid 1 (init)";
        p.threads[0].peer_pid = 1;
        p.threads[1].owner_tid = 999;
        CHECK_EQ_INT(analyse_graph(&p), 0);
        CHECK_EQ_INT(p.threads[0].proposed, LEAKSCAN_VERDICT_BLOCKED);
        p.threads[0].peer = NULL;
        process_done(&p);
        p = (struct leakscan_process) { .threads = threads_new(2), .n_threads = 2 };
        p.threads[0].state = LEAKSCAN_STATE_PIPE_READ;
        p.threads[0].peer = "no writer other than this process";
        p.threads[1].state = LEAKSCAN_STATE_POLL;
        CHECK_EQ_INT(analyse_graph(&p), 0);
        CHECK_EQ_INT(p.threads[0].proposed, LEAKSCAN_VERDICT_BLOCKED);
        p.threads[0].peer = NULL;
        process_done(&p);
}

int main(void)
{
        test_lock_state();
        test_thread_index();
        test_cycles();
        test_many_on_one_lock();
        test_orphans_and_chains();
        return CHECK_DONE();
}
