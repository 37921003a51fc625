/* The syscalls leakscan knows: one row each, as strace's syscallent, saying
 * what a thread sleeping in it waits for, which argument is a fd, which is a
 * timeout and how to read it, whether it blocks at all, and whether the
 * kernel ends an indefinite wait with -EINTR when a ptrace stop interrupts
 * it (so that seize must re-enter it).  classify, capture and seize read this
 * table; none of them keeps a switch of syscall numbers of its own.
 *
 * Rows are indexed by the syscall number of the target's architecture
 * (<sys/syscall.h> of the build, see arch.h); a syscall without a row blocks
 * in no way leakscan can name, and reads as state "syscall". */
#ifndef LEAKSCAN_SYSCALLS_H
#define LEAKSCAN_SYSCALLS_H

#include <stdbool.h>
#include <stdint.h>

#include "leakscan/leakscan.h"

/* futex(2) operations (linux/futex.h), without FUTEX_PRIVATE_FLAG (128) and
 * FUTEX_CLOCK_REALTIME (256): glibc passes (op | 128) for process-private
 * waits. */
enum {
        FUTEX_OP_WAIT = 0,
        FUTEX_OP_WAKE = 1,
        FUTEX_OP_FD = 2,
        FUTEX_OP_REQUEUE = 3,
        FUTEX_OP_CMP_REQUEUE = 4,
        FUTEX_OP_WAKE_OP = 5,
        FUTEX_OP_LOCK_PI = 6,
        FUTEX_OP_UNLOCK_PI = 7,
        FUTEX_OP_TRYLOCK_PI = 8,
        FUTEX_OP_WAIT_BITSET = 9,
        FUTEX_OP_WAKE_BITSET = 10,
        FUTEX_OP_WAIT_REQUEUE_PI = 11,
        FUTEX_OP_CMP_REQUEUE_PI = 12,
        FUTEX_OP_LOCK_PI2 = 13,
};
#define FUTEX_OP_PRIVATE_FLAG 128
#define FUTEX_OP_CLOCK_REALTIME 256
#define FUTEX_OP_CMD_MASK 0x7f

/* How a row's timeout argument says "forever". */
enum syscall_timeout {
        SYSCALL_TIMEOUT_NONE,           /* no timeout: waits until someone acts */
        SYSCALL_TIMEOUT_ALWAYS,         /* always ends by itself (nanosleep) */
        SYSCALL_TIMEOUT_PTR,            /* a pointer: NULL waits forever */
        SYSCALL_TIMEOUT_INT_MS,         /* an int of milliseconds: < 0 waits forever */
        SYSCALL_TIMEOUT_FUTEX,          /* futex: a pointer, for the ops that wait */
};

/* For syscalls on a fd: the state depends on what the fd is. */
enum syscall_fd_dir {
        SYSCALL_FD_NONE,
        SYSCALL_FD_READ,                /* pipe-read / socket-read */
        SYSCALL_FD_WRITE,               /* pipe-write / socket-write */
};

enum syscall_flags {
        SYSCALL_BLOCKS = 1 << 0,        /* may sleep until something outside happens */
        SYSCALL_EINTR_RESTARTABLE = 1 << 1,     /* the kernel ends it with -EINTR
                                                 * rather than restarting it after a
                                                 * ptrace stop (signal(7)); when
                                                 * indefinite, seize re-enters it */
        SYSCALL_STATE_FROM_FRAMES = 1 << 2,     /* the frames name the primitive (futex) */
        SYSCALL_RESTART = 1 << 3,       /* restart_syscall: the original call is
                                         * told by the frames, its arguments
                                         * are still in the registers */
        SYSCALL_QUIET = 1 << 4,         /* nobody outside the calling process can
                                         * observe it (a wait, a clock read, its
                                         * own memory or signal mask, its own
                                         * end): --at-exit lets it run during
                                         * the grace period, and holds any
                                         * other call (syscalls_quiet) */
};

struct syscall_info {
        enum leakscan_state state;      /* for fd syscalls: when the fd is neither
                                         * pipe nor socket, "syscall" */
        enum syscall_fd_dir fd_dir;
        int8_t fd_arg;                  /* the argument that is a fd waited on, or -1 */
        int8_t timeout_arg;             /* the argument that is the timeout, or -1 */
        enum syscall_timeout timeout;
        unsigned flags;
};

/* The row of syscall nr, or NULL when leakscan knows nothing about it. */
const struct syscall_info *syscalls_lookup(long nr);

/* The static name of syscall nr, or NULL. */
const char *syscalls_name(long nr);

/* The argument of nr that is a fd a wait would block on, or -1. */
int syscalls_fd_arg(long nr);

/* Whether a thread in syscall nr with these arguments sleeps until someone
 * acts (futex: only the ops that wait). */
bool syscalls_blocks(long nr, const uint64_t args[6]);

/* Whether the wait of nr with these arguments ends by itself (a timeout or
 * a sleep). */
bool syscalls_is_timed(long nr, const uint64_t args[6]);

/* Whether nr with these arguments waits on a futex word (a futex op that
 * waits); its address in *ret_addr. */
bool syscalls_futex_word(long nr, const uint64_t args[6], uint64_t *ret_addr);

/* Whether a futex op (the second argument of futex) waits. */
bool syscalls_futex_op_waits(uint64_t op);

/* Whether nr with these arguments is an indefinite wait that the kernel ends
 * with -EINTR, rather than restarting it, when a ptrace stop interrupts it
 * (epoll_wait, sigtimedwait, semop, msgrcv, io_getevents...).  Timed forms
 * are left alone: restarting them would lengthen the wait. */
bool syscalls_eintr_restartable(long nr, const uint64_t args[6]);

/* Whether nr with these arguments has no effect that anyone outside the
 * calling process could observe (SYSCALL_QUIET; a futex wake only when
 * process-private).  A thread that runs on after its process began to exit
 * may make these; any other call (a write, a signal, a clone, a file or
 * socket operation, an exit_group of its own) is held by --at-exit. */
bool syscalls_quiet(long nr, const uint64_t args[6]);

/* What a ptrace stop of a thread asleep in syscall nr changes in the
 * call's outcome, per docs/RELIABILITY.md's syscall matrix: the kernel's
 * answer to any stop (a partial write returns short, a timed wait or a
 * socket timeout returns EINTR, a futex wait re-reads its word, a relative
 * sleep writes rem...), which no rewind can undo.  Static text for a
 * person ("a write that had moved part of its data returns short..."), or
 * NULL when a stop leaves this call (with these arguments) as it was: an
 * indefinite wait the kernel restarts, or whose EINTR seize rewinds.
 * fd_target: what its fd argument names ("pipe:[N]", "socket:[N]"), or
 * NULL when unknown: a read is changed differently on each. */
const char *syscalls_stop_effect(long nr, const uint64_t args[6], const char *fd_target);

#endif
