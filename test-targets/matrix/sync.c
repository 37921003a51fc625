/* The matrix's futex and sleep rows (see matrix.h): a futex wait woken
 * normally, one whose waker stored the new value before it woke it (a
 * restarted wait re-reads the word: EAGAIN), a timed one, futex_waitv,
 * FUTEX_WAIT_REQUEUE_PI (the condvar wait of a PI mutex: it must come back
 * owning the lock), relative sleeps that must leave "rem" alone when they
 * complete, and FIFO service order of futex and pipe waiters. */
#include <linux/futex.h>
#include <limits.h>

#include "matrix.h"

static _Atomic uint32_t word;
static _Atomic uint32_t pi_lock;

static long futex(_Atomic uint32_t *uaddr, int op, uint32_t val, const void *timeout, _Atomic uint32_t *uaddr2,
                  uint32_t val3)
{
        return syscall(SYS_futex, uaddr, op, val, timeout, uaddr2, val3);
}

static void futex_wake(int n)
{
        futex(&word, FUTEX_WAKE_PRIVATE, (uint32_t) n, NULL, NULL, 0);
}

static void do_futex(struct waiter *w)
{
        long t0 = now_us();
        long r = futex(&word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
        int e = errno;
        returned(w, t0);
        record(w, r, e, "");
}

static void do_futex_timed(struct waiter *w)
{
        struct timespec ts = { 60, 0 };
        long t0 = now_us();
        long r = futex(&word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
        int e = errno;
        returned(w, t0);
        record(w, r, e, "");
}

static void do_futex_waitv(struct waiter *w)
{
        struct futex_waitv v = { .val = 0, .uaddr = (uintptr_t) &word, .flags = FUTEX_32 | FUTEX_PRIVATE_FLAG };
        long t0 = now_us();
        long r = syscall(SYS_futex_waitv, &v, 1, 0, NULL, 0);
        int e = errno;
        returned(w, t0);
        record(w, r, e, "");
}

static void finish_wake(void)
{
        atomic_store(&word, 1);
        futex_wake(1);
}

/* the waker has stored, and wakes only once the harness is done */
static void prepare_store(void) { atomic_store(&word, 1); }
static void finish_wake_only(void) { futex_wake(1); }

/* FUTEX_WAIT_REQUEUE_PI on "word" (the condvar), to be requeued onto the
 * PI lock "pi_lock": it returns 0 owning the lock. */
static void do_requeue_pi(struct waiter *w)
{
        long t0 = now_us();
        long r = futex(&word, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, NULL, &pi_lock, 0);
        int e = errno;
        returned(w, t0);
        int owns = (atomic_load(&pi_lock) & FUTEX_TID_MASK) == (uint32_t) gettid();
        record(w, r, e, ",\"owns_lock\":%d", owns);
        if (owns)
                atomic_store(&pi_lock, 0);
}

static void requeue(void)
{
        /* nr_wake 1, nr_requeue in the timeout slot, the expected word */
        if (futex(&word, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (void *) (uintptr_t) INT_MAX, &pi_lock,
                  atomic_load(&word)) < 0)
                die("FUTEX_CMP_REQUEUE_PI");
}

static void finish_requeue(void)
{
        atomic_store(&word, 1);
        requeue();
}

static void finish_requeue_only(void) { requeue(); }

/* ---- sleeps: "rem" stays as it was when the sleep completes ---- */

#define REM_UNTOUCHED 12345

static void do_nanosleep(struct waiter *w)
{
        struct timespec ts = { scale_ms / 1000, (scale_ms % 1000) * 1000000L }, rem = { REM_UNTOUCHED, 0 };
        long t0 = now_us();
        long r = syscall(SYS_nanosleep, &ts, &rem);     /* glibc calls clock_nanosleep */
        int e = errno;
        returned(w, t0);
        record(w, r, e, ",\"rem_untouched\":%d,\"_rem\":\"%ld.%09ld\"", rem.tv_sec == REM_UNTOUCHED,
               (long) rem.tv_sec, rem.tv_nsec);
}

static void do_clock_nanosleep(struct waiter *w)
{
        struct timespec ts = { scale_ms / 1000, (scale_ms % 1000) * 1000000L }, rem = { REM_UNTOUCHED, 0 };
        long t0 = now_us();
        int err = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &rem);
        returned(w, t0);
        record(w, err ? -1 : 0, err, ",\"rem_untouched\":%d,\"_rem\":\"%ld.%09ld\"", rem.tv_sec == REM_UNTOUCHED,
               (long) rem.tv_sec, rem.tv_nsec);
}

/* ---- first come, first served ---- */

static void finish_futex_fifo(void)
{
        for (int k = 0; k < nwaiters; k++) {
                futex_wake(1);
                WAIT_FOR(atomic_load(&served_count) >= k + 1, "a waiter to be woken");
        }
}

static int p[2];
static void setup_pipe(void)
{
        if (pipe(p) < 0)
                die("pipe");
}

static void do_pipe_read(struct waiter *w)
{
        char c;
        long t0 = now_us();
        long r = read(p[0], &c, 1);
        int e = errno;
        returned(w, t0);
        record(w, r, e, "");
}

static void finish_pipe_fifo(void)
{
        for (int k = 0; k < nwaiters; k++) {
                if (write(p[1], "x", 1) != 1)
                        die("write");
                WAIT_FOR(atomic_load(&served_count) >= k + 1, "a reader to be served");
        }
}

static const struct row rows[] = {
        { "futex_wait", SYS_futex, .wait = do_futex, .finish = finish_wake },
        { "futex_stored", SYS_futex, .wait = do_futex, .prepare = prepare_store, .finish = finish_wake_only },
        { "futex_timed", SYS_futex, .wait = do_futex_timed, .finish = finish_wake },
        { "futex_waitv", SYS_futex_waitv, .wait = do_futex_waitv, .finish = finish_wake },
        { "requeue_pi", SYS_futex, .wait = do_requeue_pi, .finish = finish_requeue },
        { "requeue_pi_stored", SYS_futex, .wait = do_requeue_pi, .prepare = prepare_store,
          .finish = finish_requeue_only },
        { "nanosleep_rem", SYS_nanosleep, .timed = 1, .wait = do_nanosleep },
        { "clock_nanosleep_rem", SYS_clock_nanosleep, .timed = 1, .wait = do_clock_nanosleep },
        { "futex_fifo", SYS_futex, .waiters = 3, .wait = do_futex, .finish = finish_futex_fifo },
        { "pipe_fifo", SYS_read, .waiters = 3, .setup = setup_pipe, .wait = do_pipe_read, .finish = finish_pipe_fifo },
        { 0 },
};

int main(int argc, char **argv)
{
        return matrix_main(rows, argc, argv);
}
