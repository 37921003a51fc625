/* The syscall table; see syscalls.h.  A row is written once, with
 * designated initialisers indexed by number, so that a syscall the build's
 * architecture lacks (poll, select and epoll_wait on aarch64) is left out by
 * its #ifdef and nothing else changes. */
#include <string.h>
#include <sys/syscall.h>

#include "syscalls.h"
#include "syscall-names.h"
#include "util.h"

#define B SYSCALL_BLOCKS
#define EINTR_RESTART SYSCALL_EINTR_RESTARTABLE
#define Q SYSCALL_QUIET

/* State, fd direction, fd argument, timeout argument, timeout kind, flags. */
#define ROW(st, dir, fd, targ, tkind, fl) \
        { .state = LEAKSCAN_STATE_##st, .fd_dir = SYSCALL_FD_##dir, .fd_arg = (fd), \
          .timeout_arg = (targ), .timeout = SYSCALL_TIMEOUT_##tkind, .flags = (fl) | SYSCALL_KNOWN }

/* A call that never blocks, named only for its quietness: it reads as an
 * unknown syscall does. */
#define QUIET_ROW ROW(SYSCALL, NONE, -1, -1, NONE, Q)

/* Marks a row as written: rows left out are zero, and a zero row must not
 * read as "running, blocks never" of a real syscall. */
#define SYSCALL_KNOWN (1u << 31)

static const struct syscall_info table[] = {
        /* locks: futex ops and the frames name the primitive */
        [SYS_futex] =           ROW(FUTEX, NONE, -1, 3, FUTEX, B | SYSCALL_STATE_FROM_FRAMES | Q),
#ifdef SYS_futex_waitv
        [SYS_futex_waitv] =     ROW(FUTEX, NONE, -1, 3, PTR, B | Q),
#endif
        /* sleeps */
        [SYS_nanosleep] =       ROW(SLEEP, NONE, -1, 0, ALWAYS, B | Q),
        [SYS_clock_nanosleep] = ROW(SLEEP, NONE, -1, 2, ALWAYS, B | Q),
        /* a wait the kernel resumes after a stop with its restart block: the
         * frames tell which call it was; alone it is a timed wait, since
         * futex and nanosleep restart this way only with a timeout */
        [SYS_restart_syscall] = ROW(SYSCALL, NONE, -1, -1, ALWAYS, B | SYSCALL_RESTART | Q),
        /* fds: a pipe or a socket names the wait */
        [SYS_read] =            ROW(SYSCALL, READ, 0, -1, NONE, B),
        [SYS_readv] =           ROW(SYSCALL, READ, 0, -1, NONE, B),
        [SYS_pread64] =         ROW(SYSCALL, READ, 0, -1, NONE, B),
        [SYS_preadv] =          ROW(SYSCALL, READ, 0, -1, NONE, B),
        [SYS_preadv2] =         ROW(SYSCALL, READ, 0, -1, NONE, B),
        [SYS_write] =           ROW(SYSCALL, WRITE, 0, -1, NONE, B),
        [SYS_writev] =          ROW(SYSCALL, WRITE, 0, -1, NONE, B),
        [SYS_pwrite64] =        ROW(SYSCALL, WRITE, 0, -1, NONE, B),
        [SYS_pwritev] =         ROW(SYSCALL, WRITE, 0, -1, NONE, B),
        [SYS_pwritev2] =        ROW(SYSCALL, WRITE, 0, -1, NONE, B),
        [SYS_recvfrom] =        ROW(SOCKET_READ, NONE, 0, -1, NONE, B),
        [SYS_recvmsg] =         ROW(SOCKET_READ, NONE, 0, -1, NONE, B),
        [SYS_recvmmsg] =        ROW(SOCKET_READ, NONE, 0, 4, PTR, B),
        [SYS_sendto] =          ROW(SOCKET_WRITE, NONE, 0, -1, NONE, B),
        [SYS_sendmsg] =         ROW(SOCKET_WRITE, NONE, 0, -1, NONE, B),
        [SYS_sendmmsg] =        ROW(SOCKET_WRITE, NONE, 0, -1, NONE, B),
        [SYS_accept] =          ROW(ACCEPT, NONE, 0, -1, NONE, B),
        [SYS_accept4] =         ROW(ACCEPT, NONE, 0, -1, NONE, B),
        [SYS_connect] =         ROW(CONNECT, NONE, 0, -1, NONE, B),
        [SYS_flock] =           ROW(SYSCALL, NONE, 0, -1, NONE, B),
        [SYS_splice] =          ROW(SYSCALL, NONE, 0, -1, NONE, B),
        [SYS_tee] =             ROW(SYSCALL, NONE, 0, -1, NONE, B),
        /* event loops */
#ifdef SYS_poll
        [SYS_poll] =            ROW(POLL, NONE, -1, 2, INT_MS, B | Q),
#endif
        [SYS_ppoll] =           ROW(POLL, NONE, -1, 2, PTR, B | Q),
#ifdef SYS_select
        [SYS_select] =          ROW(POLL, NONE, -1, 4, PTR, B | Q),
#endif
        [SYS_pselect6] =        ROW(POLL, NONE, -1, 4, PTR, B | Q),
#ifdef SYS_epoll_wait
        [SYS_epoll_wait] =      ROW(POLL, NONE, -1, 3, INT_MS, B | EINTR_RESTART | Q),
#endif
        [SYS_epoll_pwait] =     ROW(POLL, NONE, -1, 3, INT_MS, B | EINTR_RESTART | Q),
#ifdef SYS_epoll_pwait2
        [SYS_epoll_pwait2] =    ROW(POLL, NONE, -1, 3, PTR, B | EINTR_RESTART | Q),
#endif
        /* children and signals */
        [SYS_wait4] =           ROW(WAIT_CHILD, NONE, -1, -1, NONE, B),
        [SYS_waitid] =          ROW(WAIT_CHILD, NONE, -1, -1, NONE, B),
        [SYS_rt_sigtimedwait] = ROW(SIGNAL_WAIT, NONE, -1, 2, PTR, B | EINTR_RESTART | Q),
#ifdef SYS_pause
        [SYS_pause] =           ROW(SIGNAL_WAIT, NONE, -1, -1, NONE, B | Q),
#endif
        [SYS_rt_sigsuspend] =   ROW(SIGNAL_WAIT, NONE, -1, -1, NONE, B | Q),
        /* System V IPC and AIO: never restarted after a stop */
#ifdef SYS_semop
        [SYS_semop] =           ROW(SYSCALL, NONE, -1, -1, NONE, B | EINTR_RESTART),
#endif
        [SYS_semtimedop] =      ROW(SYSCALL, NONE, -1, 3, PTR, B | EINTR_RESTART),
        [SYS_msgrcv] =          ROW(SYSCALL, NONE, -1, -1, NONE, B | EINTR_RESTART),
        [SYS_msgsnd] =          ROW(SYSCALL, NONE, -1, -1, NONE, B | EINTR_RESTART),
        [SYS_io_getevents] =    ROW(SYSCALL, NONE, -1, 4, PTR, B | EINTR_RESTART),
#ifdef SYS_io_pgetevents
        [SYS_io_pgetevents] =   ROW(SYSCALL, NONE, -1, 4, PTR, B | EINTR_RESTART),
#endif
        [SYS_mq_timedreceive] = ROW(SYSCALL, NONE, -1, 4, PTR, B),
        [SYS_mq_timedsend] =    ROW(SYSCALL, NONE, -1, 4, PTR, B),
        /* calls that never block and that nobody outside the process sees:
         * its memory, its signal mask and handlers, clocks, its own ids, the
         * thread's own end (waits that are quiet are marked above) */
        [SYS_exit] =            QUIET_ROW,
        [SYS_rt_sigreturn] =    QUIET_ROW,
        [SYS_rt_sigprocmask] =  QUIET_ROW,
        [SYS_rt_sigaction] =    QUIET_ROW,
        [SYS_rt_sigpending] =   QUIET_ROW,
        [SYS_sigaltstack] =     QUIET_ROW,
        [SYS_sched_yield] =     QUIET_ROW,
        [SYS_sched_getaffinity] = QUIET_ROW,
        [SYS_getcpu] =          QUIET_ROW,
        [SYS_mmap] =            QUIET_ROW,
        [SYS_munmap] =          QUIET_ROW,
        [SYS_mprotect] =        QUIET_ROW,
        [SYS_madvise] =         QUIET_ROW,
        [SYS_mremap] =          QUIET_ROW,
        [SYS_brk] =             QUIET_ROW,
        [SYS_getpid] =          QUIET_ROW,
        [SYS_gettid] =          QUIET_ROW,
        [SYS_getppid] =         QUIET_ROW,
        [SYS_getuid] =          QUIET_ROW,
        [SYS_geteuid] =         QUIET_ROW,
        [SYS_getgid] =          QUIET_ROW,
        [SYS_getegid] =         QUIET_ROW,
        [SYS_getrusage] =       QUIET_ROW,
        [SYS_clock_gettime] =   QUIET_ROW,
        [SYS_clock_getres] =    QUIET_ROW,
        [SYS_gettimeofday] =    QUIET_ROW,
#ifdef SYS_time
        [SYS_time] =            QUIET_ROW,
#endif
#ifdef SYS_arch_prctl
        [SYS_arch_prctl] =      QUIET_ROW,
#endif
#ifdef SYS_rseq
        [SYS_rseq] =            QUIET_ROW,
#endif
        [SYS_set_robust_list] = QUIET_ROW,
        [SYS_get_robust_list] = QUIET_ROW,
        [SYS_set_tid_address] = QUIET_ROW,
#ifdef SYS_getrandom
        [SYS_getrandom] =       QUIET_ROW,
#endif
#ifdef SYS_membarrier
        [SYS_membarrier] =      QUIET_ROW,
#endif
};

const struct syscall_info *syscalls_lookup(long nr)
{
        if (nr < 0 || (size_t) nr >= ARRAY_SIZE(table) || !(table[nr].flags & SYSCALL_KNOWN))
                return NULL;
        return &table[nr];
}

const char *syscalls_name(long nr)
{
        if (nr < 0 || (size_t) nr >= ARRAY_SIZE(syscall_names))
                return NULL;
        return syscall_names[nr];
}

int syscalls_fd_arg(long nr)
{
        const struct syscall_info *s = syscalls_lookup(nr);
        return s ? s->fd_arg : -1;
}

bool syscalls_futex_op_waits(uint64_t op)
{
        switch ((unsigned) op & FUTEX_OP_CMD_MASK) {
        case FUTEX_OP_WAIT: case FUTEX_OP_WAIT_BITSET: case FUTEX_OP_LOCK_PI: case FUTEX_OP_LOCK_PI2:
        case FUTEX_OP_WAIT_REQUEUE_PI:
                return true;
        default:
                return false;
        }
}

bool syscalls_futex_word(long nr, const uint64_t args[6], uint64_t *ret_addr)
{
        const struct syscall_info *s = syscalls_lookup(nr);
        if (!s || s->timeout != SYSCALL_TIMEOUT_FUTEX || !syscalls_futex_op_waits(args[1]))
                return false;
        *ret_addr = args[0];
        return true;
}

bool syscalls_blocks(long nr, const uint64_t args[6])
{
        const struct syscall_info *s = syscalls_lookup(nr);
        if (!s || !(s->flags & SYSCALL_BLOCKS))
                return false;
        if (s->timeout == SYSCALL_TIMEOUT_FUTEX)
                return syscalls_futex_op_waits(args[1]);
        return true;
}

bool syscalls_is_timed(long nr, const uint64_t args[6])
{
        const struct syscall_info *s = syscalls_lookup(nr);
        if (!s)
                return false;
        switch (s->timeout) {
        case SYSCALL_TIMEOUT_NONE:
                return false;
        case SYSCALL_TIMEOUT_ALWAYS:
                return true;
        case SYSCALL_TIMEOUT_PTR:
                return args[s->timeout_arg] != 0;
        case SYSCALL_TIMEOUT_INT_MS:
                return (int) args[s->timeout_arg] >= 0;
        case SYSCALL_TIMEOUT_FUTEX:
                /* a wake or requeue does not wait at all; of the waits, the
                 * argument is a timeout (FUTEX_WAIT: relative, the rest
                 * absolute) */
                return syscalls_futex_op_waits(args[1]) && args[s->timeout_arg] != 0;
        }
        return false;
}

bool syscalls_eintr_restartable(long nr, const uint64_t args[6])
{
        const struct syscall_info *s = syscalls_lookup(nr);
        return s && (s->flags & SYSCALL_EINTR_RESTARTABLE) && !syscalls_is_timed(nr, args);
}

bool syscalls_quiet(long nr, const uint64_t args[6])
{
        const struct syscall_info *s = syscalls_lookup(nr);
        if (!s || !(s->flags & SYSCALL_QUIET))
                return false;
        /* a futex shared with another process (no private flag) can wake
         * a waiter there; waiting on one changes nothing */
        if (s->timeout == SYSCALL_TIMEOUT_FUTEX)
                return syscalls_futex_op_waits(args[1]) || (args[1] & FUTEX_OP_PRIVATE_FLAG);
        return true;
}

/* ---- what a stop changes (docs/RELIABILITY.md, "The syscall matrix") ----
 * A table of its own, beside the one above: a row there says how a wait
 * reads, a row here what stopping a thread inside the call does to it.  The
 * matrix's tests (tests/integration/test_matrix.py) measured each row; a
 * call missing here was seen to end as it would have without the stop. */

/* When a row's effect applies. */
enum stop_when {
        STOP_ALWAYS = 1,        /* any stop inside the call */
        STOP_TIMED,             /* only when it waits with a timeout: the
                                 * indefinite form is restarted, or rewound */
        STOP_REL_REM,           /* a relative sleep given a rem pointer */
        STOP_FUTEX_WAIT,        /* a futex wait that re-reads its word on
                                 * restart (not the PI locks: the kernel
                                 * queues those on the owner, not the word) */
        STOP_URING_WAIT,        /* io_uring_enter asked to wait for completions */
};

struct stop_effect {
        enum stop_when when;
        int8_t rem_arg;         /* STOP_REL_REM: the rem argument */
        const char *effect;
        /* a read: what it is on a socket, on a pipe, and on any other
         * file (NULL: restarted, unchanged), when the fd is known */
        const char *on_socket, *on_pipe;
};

#define EFFECT(w, text) { .when = STOP_##w, .rem_arg = -1, .effect = (text) }
#define READ_EFFECT { .when = STOP_ALWAYS, .rem_arg = -1, .effect = READ_EARLY, .on_socket = SOCKET_READ_EARLY, \
                      .on_pipe = PIPE_ORDER }

static const char WRITE_SHORT[] =
        "a write into a pipe or socket that had moved part of its data returns short, with the count moved "
        "so far (the rest is sent only if the program writes it again)";
static const char SEND_SHORT[] =
        "a send that had moved part of its data returns short; under SO_SNDTIMEO one that had moved none "
        "fails with EINTR";
static const char RECV_EARLY[] =
        "a socket receive with MSG_WAITALL or SO_RCVLOWAT returns the bytes it had so far, and under "
        "SO_RCVTIMEO one that had none fails with EINTR";
static const char READ_EARLY[] =
        "a socket read under SO_RCVLOWAT returns the bytes it had so far, and under SO_RCVTIMEO one that "
        "had none fails with EINTR; readers of one pipe may be served in another order";
static const char SOCKET_READ_EARLY[] =
        "a socket read under SO_RCVLOWAT returns the bytes it had so far, and under SO_RCVTIMEO one that "
        "had none fails with EINTR";
static const char PIPE_ORDER[] =
        "re-entered after the stop, it waits again behind readers of the pipe that came later: readers "
        "may be served in another order";
static const char TIMED_EINTR[] =
        "a wait with a timeout fails with EINTR when resumed (leakscan re-enters only waits without one)";
static const char POLL_LATE[] =
        "a wait with a timeout times out later by the time it was held, and the remaining time it writes "
        "back is too long by as much";
static const char QUEUE_ORDER[] =
        "re-entered after the stop, it queues again behind waiters that came later: waiters may be "
        "served in another order";

static const char SLEEP_REM[] =
        "a relative sleep writes the time left into its rem argument, though it then sleeps it all";

static const struct stop_effect stop_effects[] = {
        [SYS_write] =           EFFECT(ALWAYS, WRITE_SHORT),
        [SYS_writev] =          EFFECT(ALWAYS, WRITE_SHORT),
        [SYS_pwritev2] =        EFFECT(ALWAYS, WRITE_SHORT),
        [SYS_sendto] =          EFFECT(ALWAYS, SEND_SHORT),
        [SYS_sendmsg] =         EFFECT(ALWAYS, SEND_SHORT),
        [SYS_sendmmsg] =        EFFECT(ALWAYS, SEND_SHORT),
        [SYS_sendfile] =        EFFECT(ALWAYS, SEND_SHORT),
        [SYS_read] =            READ_EFFECT,
        [SYS_readv] =           READ_EFFECT,
        [SYS_preadv2] =         READ_EFFECT,
        [SYS_recvfrom] =        EFFECT(ALWAYS, RECV_EARLY),
        [SYS_recvmsg] =         EFFECT(ALWAYS, RECV_EARLY),
        [SYS_recvmmsg] =        EFFECT(ALWAYS, RECV_EARLY),
        [SYS_accept] =          EFFECT(ALWAYS, "under SO_RCVTIMEO it fails with EINTR"),
        [SYS_accept4] =         EFFECT(ALWAYS, "under SO_RCVTIMEO it fails with EINTR"),
        [SYS_connect] =         EFFECT(ALWAYS, "under SO_SNDTIMEO it fails with EINTR, unconnected"),
#ifdef SYS_epoll_wait
        [SYS_epoll_wait] =      EFFECT(TIMED, TIMED_EINTR),
#endif
        [SYS_epoll_pwait] =     EFFECT(TIMED, TIMED_EINTR),
#ifdef SYS_epoll_pwait2
        [SYS_epoll_pwait2] =    EFFECT(TIMED, TIMED_EINTR),
#endif
        [SYS_rt_sigtimedwait] = EFFECT(TIMED, TIMED_EINTR),
        [SYS_semtimedop] =      EFFECT(TIMED, TIMED_EINTR),
        [SYS_io_getevents] =    EFFECT(TIMED, TIMED_EINTR),
#ifdef SYS_io_pgetevents
        [SYS_io_pgetevents] =   EFFECT(TIMED, TIMED_EINTR),
#endif
#ifdef SYS_io_uring_enter
        [SYS_io_uring_enter] =  EFFECT(URING_WAIT, "a wait for completions fails with EINTR when resumed "
                                                   "(nothing re-enters it)"),
#endif
        [SYS_ppoll] =           EFFECT(TIMED, POLL_LATE),
#ifdef SYS_select
        [SYS_select] =          EFFECT(TIMED, POLL_LATE),
#endif
        [SYS_pselect6] =        EFFECT(TIMED, POLL_LATE),
#ifdef SYS_semop
        [SYS_semop] =           EFFECT(ALWAYS, QUEUE_ORDER),
#endif
        [SYS_msgrcv] =          EFFECT(ALWAYS, QUEUE_ORDER),
        [SYS_msgsnd] =          EFFECT(ALWAYS, QUEUE_ORDER),
        [SYS_futex] =           EFFECT(FUTEX_WAIT, NULL),      /* the texts are the op's: below */
#ifdef SYS_futex_waitv
        [SYS_futex_waitv] =     EFFECT(ALWAYS, NULL),
#endif
        [SYS_nanosleep] =       { .when = STOP_REL_REM, .rem_arg = 1, .effect = SLEEP_REM },
        [SYS_clock_nanosleep] = { .when = STOP_REL_REM, .rem_arg = 3, .effect = SLEEP_REM },
};

static const char FUTEX_REREAD[] =
        "a futex wait re-reads its word when resumed: if the word changed before its wake came it returns "
        "EAGAIN early (glibc's locks retry), and waiters on the word may be woken in another order";
static const char FUTEX_REQUEUE_PI_LOST[] =
        "a requeue-PI wait (pthread_cond_wait on a priority-inheritance mutex) re-reads its word when "
        "resumed: if it changed first, it returns EAGAIN without the lock";

const char *syscalls_stop_effect(long nr, const uint64_t args[6], const char *fd_target)
{
        if (nr < 0 || (size_t) nr >= ARRAY_SIZE(stop_effects) || !stop_effects[nr].when)
                return NULL;
        const struct stop_effect *e = &stop_effects[nr];
        switch (e->when) {
        case STOP_ALWAYS:
                if ((e->on_socket || e->on_pipe) && fd_target)
                        return strncmp(fd_target, "socket:", 7) == 0 ? e->on_socket :
                               strncmp(fd_target, "pipe:", 5) == 0 ? e->on_pipe : NULL;
                break;
        case STOP_TIMED:
                /* an indefinite one is restarted by the kernel, or its EINTR
                 * rewound by seize: what rewound says is then moot */
                if (!syscalls_is_timed(nr, args))
                        return NULL;
                break;
        case STOP_REL_REM:
                if (args[e->rem_arg] == 0 || (nr == SYS_clock_nanosleep && (args[1] & 1 /* TIMER_ABSTIME */)))
                        return NULL;
                break;
        case STOP_FUTEX_WAIT:
                switch ((unsigned) args[1] & FUTEX_OP_CMD_MASK) {
                case FUTEX_OP_WAIT: case FUTEX_OP_WAIT_BITSET:
                        return FUTEX_REREAD;
                case FUTEX_OP_WAIT_REQUEUE_PI:
                        return FUTEX_REQUEUE_PI_LOST;
                default:
                        return NULL;
                }
        case STOP_URING_WAIT:
                /* IORING_ENTER_GETEVENTS with a count to wait for */
                if (!(args[3] & 1) || (uint32_t) args[2] == 0)
                        return NULL;
                break;
        }
        return e->effect ? e->effect : FUTEX_REREAD;
}
