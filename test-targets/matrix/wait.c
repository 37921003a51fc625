/* The matrix's waits (see matrix.h): poll, select and epoll (with the
 * remaining time the kernel writes back), children, signal waits, System V
 * semaphores and message queues, AIO, POSIX message queues, io_uring; a
 * handled signal that must end an indefinite wait with EINTR; and FIFO
 * service order among several waiters.  Timed waits get a 60 s timeout and
 * are ended by an event once the harness is done: a stop must not turn
 * them into EINTR nor lengthen them. */
#include <linux/aio_abi.h>
#include <linux/io_uring.h>
#include <mqueue.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/sem.h>

#include "matrix.h"

#define T_SEC 60L

static int efd = -1, ep = -1;

static void setup_efd(void)
{
        efd = eventfd(0, 0);
        if (efd < 0)
                die("eventfd");
}

static void finish_efd(void)
{
        uint64_t one = 1;
        if (write(efd, &one, sizeof one) != sizeof one)
                die("write eventfd");
}

/* ---- poll, select: the remaining time written back ---- */

/* A wait with a timeout of T_SEC ended by an event writes back the time
 * left: T_SEC less the time it slept.  A stop that the kernel restarts
 * from the written-back time loses the stopped time: "rem_ok" is whether
 * rem + elapsed is within 50 us of T_SEC (a stop costs more). */
static void record_rem(struct waiter *w, long r, int e, long rem_us)
{
        long excess = rem_us + w->elapsed_us - T_SEC * 1000000L;
        record(w, r, e, ",\"rem_ok\":%d,\"_excess_us\":%ld,\"_preempted\":%d", excess <= 50, excess,
               w->preempted);
}

static void do_poll(struct waiter *w)
{
        struct pollfd p = { .fd = efd, .events = POLLIN };
        long t0 = now_us();
        long r = poll(&p, 1, -1);
        int e = errno;
        returned(w, t0);
        record(w, r, e, ",\"revents\":%d", p.revents);
}

static void do_ppoll(struct waiter *w)
{
        struct pollfd p = { .fd = efd, .events = POLLIN };
        struct timespec ts = { T_SEC, 0 };
        long t0 = now_us();
        long r = syscall(SYS_ppoll, &p, 1, &ts, NULL, 8);
        int e = errno;
        returned(w, t0);
        record_rem(w, r, e, ts.tv_sec * 1000000L + ts.tv_nsec / 1000);
}

static void do_select(struct waiter *w)
{
        fd_set set;
        FD_ZERO(&set);
        FD_SET(efd, &set);
        struct timeval tv = { T_SEC, 0 };
        long t0 = now_us();
        long r = syscall(SYS_select, efd + 1, &set, NULL, NULL, &tv);
        int e = errno;
        returned(w, t0);
        record_rem(w, r, e, tv.tv_sec * 1000000L + tv.tv_usec);
}

static void do_pselect6(struct waiter *w)
{
        fd_set set;
        FD_ZERO(&set);
        FD_SET(efd, &set);
        struct timespec ts = { T_SEC, 0 };
        long t0 = now_us();
        long r = syscall(SYS_pselect6, efd + 1, &set, NULL, NULL, &ts, NULL);
        int e = errno;
        returned(w, t0);
        record_rem(w, r, e, ts.tv_sec * 1000000L + ts.tv_nsec / 1000);
}

/* ---- epoll ---- */

static void setup_epoll(void)
{
        setup_efd();
        ep = epoll_create1(0);
        struct epoll_event ev = { .events = EPOLLIN };
        if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) < 0)
                die("epoll");
}

#define EPOLLER(name, call) \
        static void name(struct waiter *w) \
        { \
                struct epoll_event ev; \
                long t0 = now_us(); \
                long r = (call); \
                int e = errno; \
                returned(w, t0); \
                record(w, r, e, ""); \
        }
EPOLLER(do_epoll_wait, epoll_wait(ep, &ev, 1, T_SEC * 1000))
EPOLLER(do_epoll_wait_inf, epoll_wait(ep, &ev, 1, -1))
EPOLLER(do_epoll_pwait, epoll_pwait(ep, &ev, 1, T_SEC * 1000, NULL))
static struct timespec ep2ts = { T_SEC, 0 };
EPOLLER(do_epoll_pwait2, syscall(SYS_epoll_pwait2, ep, &ev, 1, &ep2ts, NULL, 8))

/* ---- children ---- */

static pid_t child = -1;
static int child_pipe[2];

static void setup_child(void)
{
        if (pipe(child_pipe) < 0)
                die("pipe");
        child = fork();
        if (child < 0)
                die("fork");
        if (child == 0) {
                char c;
                (void) !read(child_pipe[0], &c, 1);
                _exit(7);
        }
}

static void finish_child(void)
{
        if (write(child_pipe[1], "x", 1) != 1)
                die("write");
}

static void do_wait4(struct waiter *w)
{
        int status = 0;
        long t0 = now_us();
        long r = wait4(child, &status, 0, NULL);
        int e = errno;
        returned(w, t0);
        record(w, r == child ? 0 : r, e, ",\"status\":%d", WEXITSTATUS(status));
}

static void do_waitid(struct waiter *w)
{
        siginfo_t info = { 0 };
        long t0 = now_us();
        long r = waitid(P_PID, child, &info, WEXITED);
        int e = errno;
        returned(w, t0);
        record(w, r, e, ",\"status\":%d,\"pid_ok\":%d", info.si_status, info.si_pid == child);
}

/* ---- signal waits ---- */

static void do_sigtimedwait(struct waiter *w)
{
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR2);
        struct timespec ts = { T_SEC, 0 };
        long t0 = now_us();
        long r = sigtimedwait(&s, NULL, &ts);
        int e = errno;
        returned(w, t0);
        record(w, r, e, "");
}

static void do_sigwaitinfo(struct waiter *w)
{
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR2);
        long t0 = now_us();
        long r = sigwaitinfo(&s, NULL);
        int e = errno;
        returned(w, t0);
        record(w, r, e, "");
}

static void finish_usr2(void)
{
        syscall(SYS_tgkill, getpid(), W[0].tid, SIGUSR2);
}

static void finish_usr1(void)
{
        syscall(SYS_tgkill, getpid(), W[0].tid, SIGUSR1);
}

static void do_pause(struct waiter *w)
{
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR1);
        pthread_sigmask(SIG_UNBLOCK, &s, NULL);
        long t0 = now_us();
        long r = pause();
        int e = errno;
        returned(w, t0);
        record(w, r, e, ",\"handled\":%d", atomic_load(&handled));
}

static void do_sigsuspend(struct waiter *w)
{
        sigset_t s;
        sigemptyset(&s);
        long t0 = now_us();
        long r = sigsuspend(&s);
        int e = errno;
        returned(w, t0);
        record(w, r, e, ",\"handled\":%d", atomic_load(&handled));
}

/* ---- System V semaphores and message queues ---- */

static int semid = -1, msqid = -1;

static void remove_ipc(void)
{
        if (semid >= 0)
                semctl(semid, 0, IPC_RMID);
        if (msqid >= 0)
                msgctl(msqid, IPC_RMID, NULL);
}

static void setup_sem(void)
{
        semid = semget(IPC_PRIVATE, 1, 0600);
        if (semid < 0)
                die("semget");
        atexit(remove_ipc);
}

static void sem_add(int n)
{
        struct sembuf op = { 0, (short) n, 0 };
        if (semop(semid, &op, 1) < 0)
                die("semop");
}

static void do_semop(struct waiter *w)
{
        struct sembuf op = { 0, -1, 0 };
        long t0 = now_us();
        long r = syscall(SYS_semop, semid, &op, 1);     /* glibc calls semtimedop */
        int e = errno;
        returned(w, t0);
        record(w, r, e, "");
}

static void do_semtimedop(struct waiter *w)
{
        struct sembuf op = { 0, -1, 0 };
        struct timespec ts = { T_SEC, 0 };
        long t0 = now_us();
        long r = semtimedop(semid, &op, 1, &ts);
        int e = errno;
        returned(w, t0);
        record(w, r, e, "");
}

static void finish_sem(void) { sem_add(1); }

struct msg {
        long type;
        char text[16];
};

static void setup_msg(void)
{
        msqid = msgget(IPC_PRIVATE, 0600);
        if (msqid < 0)
                die("msgget");
        atexit(remove_ipc);
}

static void setup_msg_full(void)
{
        setup_msg();
        struct msqid_ds ds;
        if (msgctl(msqid, IPC_STAT, &ds) < 0)
                die("IPC_STAT");
        ds.msg_qbytes = 16;
        struct msg m = { 1, "full" };
        if (msgctl(msqid, IPC_SET, &ds) < 0 || msgsnd(msqid, &m, 16, 0) < 0)
                die("msg fill");
}

static void do_msgrcv(struct waiter *w)
{
        struct msg m;
        long t0 = now_us();
        long r = msgrcv(msqid, &m, sizeof m.text, 0, 0);
        int e = errno;
        returned(w, t0);
        record(w, r, e, "");
}

static void do_msgsnd(struct waiter *w)
{
        struct msg m = { 2, "second" };
        long t0 = now_us();
        long r = msgsnd(msqid, &m, 16, 0);
        int e = errno;
        returned(w, t0);
        record(w, r, e, "");
}

static void msg_send(void)
{
        struct msg m = { 1, "hello" };
        if (msgsnd(msqid, &m, 16, 0) < 0)
                die("msgsnd");
}

static void finish_msgrcv(void) { msg_send(); }

static void finish_msgsnd(void)
{
        struct msg m;
        if (msgrcv(msqid, &m, sizeof m.text, 0, 0) < 0)
                die("msgrcv");
}

/* FIFO: one unit at a time, each taken before the next is given (a waiter
 * whose call ended early, with EINTR, counts as served already) */
static void finish_sem_fifo(void)
{
        for (int k = 0; k < nwaiters; k++) {
                sem_add(1);
                WAIT_FOR(atomic_load(&served_count) >= k + 1, "a waiter to be served");
        }
}

static void finish_msg_fifo(void)
{
        for (int k = 0; k < nwaiters; k++) {
                msg_send();
                WAIT_FOR(atomic_load(&served_count) >= k + 1, "a receiver to be served");
        }
}

/* ---- AIO, POSIX message queues, io_uring ---- */

static aio_context_t aio;

static void setup_aio(void)
{
        setup_efd();
        if (syscall(SYS_io_setup, 1, &aio) < 0)
                die("io_setup");
        static struct iocb cb;
        struct iocb *cbs[1] = { &cb };
        cb.aio_lio_opcode = IOCB_CMD_POLL;
        cb.aio_fildes = (uint32_t) efd;
        cb.aio_buf = POLLIN;
        if (syscall(SYS_io_submit, aio, 1, cbs) != 1)
                die("io_submit");
}

static void do_io_getevents(struct waiter *w)
{
        struct io_event ev;
        struct timespec ts = { T_SEC, 0 };
        long t0 = now_us();
        long r = syscall(SYS_io_getevents, aio, 1, 1, &ev, &ts);
        int e = errno;
        returned(w, t0);
        record(w, r, e, "");
}

static void do_io_pgetevents(struct waiter *w)
{
        struct io_event ev;
        struct timespec ts = { T_SEC, 0 };
        long t0 = now_us();
        long r = syscall(SYS_io_pgetevents, aio, 1, 1, &ev, &ts, NULL);
        int e = errno;
        returned(w, t0);
        record(w, r, e, "");
}

static mqd_t mq = (mqd_t) -1;

static void setup_mq(void)
{
        char name[64];
        snprintf(name, sizeof name, "/leakscan-matrix-%d", (int) getpid());
        struct mq_attr attr = { .mq_maxmsg = 1, .mq_msgsize = 16 };
        mq = mq_open(name, O_CREAT | O_RDWR | O_EXCL, 0600, &attr);
        if (mq == (mqd_t) -1)
                die("mq_open");
        mq_unlink(name);
}

static void setup_mq_full(void)
{
        setup_mq();
        if (mq_send(mq, "full", 5, 0) < 0)
                die("mq_send");
}

static struct timespec abs_deadline(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += T_SEC;
        return ts;
}

static void do_mq_receive(struct waiter *w)
{
        char buf[16];
        struct timespec ts = abs_deadline();
        long t0 = now_us();
        long r = mq_timedreceive(mq, buf, sizeof buf, NULL, &ts);
        int e = errno;
        returned(w, t0);
        record(w, r, e, "");
}

static void do_mq_send(struct waiter *w)
{
        struct timespec ts = abs_deadline();
        long t0 = now_us();
        long r = mq_timedsend(mq, "second", 7, 0, &ts);
        int e = errno;
        returned(w, t0);
        record(w, r, e, "");
}

static void finish_mq_send(void)
{
        if (mq_send(mq, "hello", 6, 0) < 0)
                die("mq_send");
}

static void finish_mq_receive(void)
{
        char buf[16];
        if (mq_receive(mq, buf, sizeof buf, NULL) < 0)
                die("mq_receive");
}

static int ring = -1;

/* a ring with a poll of the eventfd submitted: the wait is for its
 * completion */
static void setup_uring(void)
{
        setup_efd();
        struct io_uring_params p = { 0 };
        ring = (int) syscall(SYS_io_uring_setup, 4, &p);
        if (ring < 0)
                die("io_uring_setup");
        size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
        uint8_t *sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring,
                           IORING_OFF_SQ_RING);
        struct io_uring_sqe *sqes = mmap(NULL, p.sq_entries * sizeof *sqes, PROT_READ | PROT_WRITE,
                                         MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
        if (sq == MAP_FAILED || sqes == MAP_FAILED)
                die("mmap ring");
        memset(&sqes[0], 0, sizeof sqes[0]);
        sqes[0].opcode = IORING_OP_POLL_ADD;
        sqes[0].fd = efd;
        sqes[0].poll32_events = POLLIN;
        ((unsigned *) (sq + p.sq_off.array))[0] = 0;
        atomic_store_explicit((_Atomic unsigned *) (sq + p.sq_off.tail), 1, memory_order_release);
        if (syscall(SYS_io_uring_enter, ring, 1, 0, 0, NULL, 0) != 1)
                die("io_uring_enter submit");
}

static void do_uring(struct waiter *w)
{
        long t0 = now_us();
        long r = syscall(SYS_io_uring_enter, ring, 0, 1, IORING_ENTER_GETEVENTS, NULL, 0);
        int e = errno;
        returned(w, t0);
        record(w, r, e, "");
}

/* ---- a handled signal during an indefinite wait: EINTR ---- */

static void unstick_efd(void) { finish_efd(); }
static void unstick_sem(void) { sem_add(1); }

static const struct row rows[] = {
        { "poll", SYS_poll, .setup = setup_efd, .wait = do_poll, .finish = finish_efd },
        { "ppoll_rem", SYS_ppoll, .setup = setup_efd, .wait = do_ppoll, .finish = finish_efd },
        { "select_rem", SYS_select, .setup = setup_efd, .wait = do_select, .finish = finish_efd },
        { "pselect6_rem", SYS_pselect6, .setup = setup_efd, .wait = do_pselect6, .finish = finish_efd },
        { "epoll_wait_inf", SYS_epoll_wait, .setup = setup_epoll, .wait = do_epoll_wait_inf, .finish = finish_efd },
        { "epoll_wait_timeout", SYS_epoll_wait, .setup = setup_epoll, .wait = do_epoll_wait, .finish = finish_efd },
        { "epoll_pwait_timeout", SYS_epoll_pwait, .setup = setup_epoll, .wait = do_epoll_pwait, .finish = finish_efd },
        { "epoll_pwait2_timeout", SYS_epoll_pwait2, .setup = setup_epoll, .wait = do_epoll_pwait2, .finish = finish_efd },
        { "wait4", SYS_wait4, .setup = setup_child, .wait = do_wait4, .finish = finish_child },
        { "waitid", SYS_waitid, .setup = setup_child, .wait = do_waitid, .finish = finish_child },
        { "sigtimedwait", SYS_rt_sigtimedwait, .wait = do_sigtimedwait, .finish = finish_usr2 },
        { "sigwaitinfo", SYS_rt_sigtimedwait, .wait = do_sigwaitinfo, .finish = finish_usr2 },
        { "pause", SYS_pause, .wait = do_pause, .finish = finish_usr1 },
        { "sigsuspend", SYS_rt_sigsuspend, .wait = do_sigsuspend, .finish = finish_usr1 },
        { "semop", SYS_semop, .setup = setup_sem, .wait = do_semop, .finish = finish_sem },
        { "semtimedop", SYS_semtimedop, .setup = setup_sem, .wait = do_semtimedop, .finish = finish_sem },
        { "msgrcv", SYS_msgrcv, .setup = setup_msg, .wait = do_msgrcv, .finish = finish_msgrcv },
        { "msgsnd", SYS_msgsnd, .setup = setup_msg_full, .wait = do_msgsnd, .finish = finish_msgsnd },
        { "io_getevents", SYS_io_getevents, .setup = setup_aio, .wait = do_io_getevents, .finish = finish_efd },
        { "io_pgetevents", SYS_io_pgetevents, .setup = setup_aio, .wait = do_io_pgetevents, .finish = finish_efd },
        { "mq_timedreceive", SYS_mq_timedreceive, .setup = setup_mq, .wait = do_mq_receive, .finish = finish_mq_send },
        { "mq_timedsend", SYS_mq_timedsend, .setup = setup_mq_full, .wait = do_mq_send, .finish = finish_mq_receive },
        { "io_uring_enter", SYS_io_uring_enter, .setup = setup_uring, .wait = do_uring, .finish = finish_efd },
        /* the program's own EINTR */
        { "epoll_wait_sig", SYS_epoll_wait, .sig = 1, .setup = setup_epoll, .wait = do_epoll_wait_inf,
          .unstick = unstick_efd },
        { "sigwaitinfo_sig", SYS_rt_sigtimedwait, .sig = 1, .wait = do_sigwaitinfo, .unstick = finish_usr2 },
        { "semop_sig", SYS_semop, .sig = 1, .setup = setup_sem, .wait = do_semop, .unstick = unstick_sem },
        /* first come, first served */
        { "semop_fifo", SYS_semop, .waiters = 3, .setup = setup_sem, .wait = do_semop, .finish = finish_sem_fifo },
        { "msgrcv_fifo", SYS_msgrcv, .waiters = 3, .setup = setup_msg, .wait = do_msgrcv, .finish = finish_msg_fifo },
        { 0 },
};

int main(int argc, char **argv)
{
        return matrix_main(rows, argc, argv);
}
