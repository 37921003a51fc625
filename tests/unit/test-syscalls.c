/* Unit tests of the syscall table: every row's fd and timeout argument as
 * the kernel defines them, and the rules built on the rows. */
#include <string.h>
#include <sys/syscall.h>

#include "check.h"
#include "syscalls.h"

static void test_rows(void)
{
        /* every row that names a timeout argument names one of the six */
        for (long nr = 0; nr < 1024; nr++) {
                const struct syscall_info *s = syscalls_lookup(nr);
                if (!s)
                        continue;
                CHECK(s->fd_arg >= -1 && s->fd_arg < 6);
                CHECK(s->timeout_arg >= -1 && s->timeout_arg < 6);
                if (s->timeout == SYSCALL_TIMEOUT_PTR || s->timeout == SYSCALL_TIMEOUT_INT_MS ||
                    s->timeout == SYSCALL_TIMEOUT_FUTEX)
                        CHECK(s->timeout_arg >= 0);
                /* a row is there for a wait, or for a quiet call */
                CHECK(s->flags & (SYSCALL_BLOCKS | SYSCALL_QUIET));
                CHECK(syscalls_name(nr) != NULL);
                /* an fd direction needs the fd */
                if (s->fd_dir != SYSCALL_FD_NONE)
                        CHECK(s->fd_arg >= 0);
        }
        CHECK(syscalls_lookup(-1) == NULL);
        CHECK(syscalls_lookup(100000) == NULL);
        CHECK(syscalls_lookup(SYS_openat) == NULL);
        CHECK_EQ_STR(syscalls_name(SYS_restart_syscall), "restart_syscall");

        CHECK_EQ_INT(syscalls_fd_arg(SYS_read), 0);
        CHECK_EQ_INT(syscalls_fd_arg(SYS_accept4), 0);
        CHECK_EQ_INT(syscalls_fd_arg(SYS_flock), 0);
        CHECK_EQ_INT(syscalls_fd_arg(SYS_futex), -1);
        CHECK_EQ_INT(syscalls_fd_arg(SYS_getpid), -1);
        CHECK_EQ_INT(syscalls_lookup(SYS_poll)->timeout_arg, 2);
        CHECK_EQ_INT(syscalls_lookup(SYS_ppoll)->timeout_arg, 2);
        CHECK_EQ_INT(syscalls_lookup(SYS_pselect6)->timeout_arg, 4);
        CHECK_EQ_INT(syscalls_lookup(SYS_epoll_wait)->timeout_arg, 3);
        CHECK_EQ_INT(syscalls_lookup(SYS_rt_sigtimedwait)->timeout_arg, 2);
        CHECK_EQ_INT(syscalls_lookup(SYS_semtimedop)->timeout_arg, 3);
        CHECK_EQ_INT(syscalls_lookup(SYS_io_getevents)->timeout_arg, 4);
}

static void test_futex(void)
{
        CHECK(syscalls_futex_op_waits(FUTEX_OP_WAIT | FUTEX_OP_PRIVATE_FLAG));
        CHECK(syscalls_futex_op_waits(FUTEX_OP_WAIT_BITSET | FUTEX_OP_PRIVATE_FLAG | FUTEX_OP_CLOCK_REALTIME));
        CHECK(syscalls_futex_op_waits(FUTEX_OP_LOCK_PI));
        CHECK(syscalls_futex_op_waits(FUTEX_OP_LOCK_PI2 | FUTEX_OP_PRIVATE_FLAG));
        CHECK(syscalls_futex_op_waits(FUTEX_OP_WAIT_REQUEUE_PI));
        CHECK(!syscalls_futex_op_waits(FUTEX_OP_WAKE | FUTEX_OP_PRIVATE_FLAG));
        CHECK(!syscalls_futex_op_waits(FUTEX_OP_UNLOCK_PI));
        CHECK(!syscalls_futex_op_waits(FUTEX_OP_CMP_REQUEUE));
        CHECK(!syscalls_futex_op_waits(FUTEX_OP_TRYLOCK_PI));

        const uint64_t wait[6] = { 0x5000, FUTEX_OP_WAIT | FUTEX_OP_PRIVATE_FLAG, 2, 0, 0, 0 };
        const uint64_t timed[6] = { 0x5000, FUTEX_OP_WAIT_BITSET | FUTEX_OP_PRIVATE_FLAG, 0, 0x7ff0, 0, ~0u };
        const uint64_t wake[6] = { 0x5000, FUTEX_OP_WAKE | FUTEX_OP_PRIVATE_FLAG, 1, 0x7ff0, 0, 0 };
        uint64_t word = 0;
        CHECK(syscalls_futex_word(SYS_futex, wait, &word) && word == 0x5000);
        CHECK(!syscalls_futex_word(SYS_futex, wake, &word));
        CHECK(!syscalls_futex_word(SYS_read, wait, &word));
        CHECK(syscalls_blocks(SYS_futex, wait));
        CHECK(!syscalls_blocks(SYS_futex, wake));
        CHECK(!syscalls_is_timed(SYS_futex, wait));
        CHECK(syscalls_is_timed(SYS_futex, timed));
        /* a wake's fourth argument (val2 of CMP_REQUEUE) is no timeout */
        CHECK(!syscalls_is_timed(SYS_futex, wake));
}

static void test_timeouts_and_restart(void)
{
        const uint64_t none[6] = { 0 };
        const uint64_t int_inf[6] = { 4, 0x1000, 0xffffffffu, 0xffffffffu, 0, 0 };
        const uint64_t int_zero[6] = { 4, 0x1000, 0, 0, 0, 0 };
        const uint64_t ptr[6] = { 4, 0x1000, 0x2000, 0x2000, 0x2000, 0 };

        CHECK(syscalls_is_timed(SYS_nanosleep, none));
        CHECK(syscalls_is_timed(SYS_clock_nanosleep, none));
        CHECK(!syscalls_is_timed(SYS_read, none));
        CHECK(!syscalls_is_timed(SYS_poll, int_inf));
        CHECK(syscalls_is_timed(SYS_poll, int_zero));
        CHECK(!syscalls_is_timed(SYS_ppoll, none));
        CHECK(syscalls_is_timed(SYS_ppoll, ptr));
        CHECK(!syscalls_is_timed(SYS_epoll_wait, int_inf));
        CHECK(syscalls_is_timed(SYS_epoll_pwait, int_zero));
        CHECK(syscalls_is_timed(SYS_pselect6, ptr));
        CHECK(!syscalls_is_timed(SYS_getpid, ptr));

        /* our stop ends these with -EINTR; indefinite ones are re-entered */
        CHECK(syscalls_eintr_restartable(SYS_epoll_wait, int_inf));
        CHECK(!syscalls_eintr_restartable(SYS_epoll_wait, int_zero));
        CHECK(syscalls_eintr_restartable(SYS_epoll_pwait2, none));
        CHECK(!syscalls_eintr_restartable(SYS_epoll_pwait2, ptr));
        CHECK(syscalls_eintr_restartable(SYS_rt_sigtimedwait, none));
        CHECK(!syscalls_eintr_restartable(SYS_rt_sigtimedwait, ptr));
        CHECK(syscalls_eintr_restartable(SYS_semop, ptr));
        CHECK(syscalls_eintr_restartable(SYS_semtimedop, none));
        CHECK(!syscalls_eintr_restartable(SYS_semtimedop, ptr));
        CHECK(syscalls_eintr_restartable(SYS_msgrcv, none));
        CHECK(syscalls_eintr_restartable(SYS_io_getevents, none));
        CHECK(!syscalls_eintr_restartable(SYS_io_getevents, ptr));
        /* the kernel restarts these itself */
        CHECK(!syscalls_eintr_restartable(SYS_poll, int_inf));
        CHECK(!syscalls_eintr_restartable(SYS_futex, none));
        CHECK(!syscalls_eintr_restartable(SYS_read, none));
        CHECK(syscalls_lookup(SYS_restart_syscall)->flags & SYSCALL_RESTART);
}

/* What a thread may do after its process began to exit (--at-exit's
 * quarantine): nothing anyone outside could see. */
static void test_quiet(void)
{
        uint64_t none[6] = {0};
        uint64_t wait_private[6] = { 0x1000, FUTEX_OP_WAIT | FUTEX_OP_PRIVATE_FLAG, 0, 0, 0, 0 };
        uint64_t wait_shared[6] = { 0x1000, FUTEX_OP_WAIT_BITSET, 0, 0, 0, 0 };
        uint64_t wake_private[6] = { 0x1000, FUTEX_OP_WAKE | FUTEX_OP_PRIVATE_FLAG, 1, 0, 0, 0 };
        uint64_t wake_shared[6] = { 0x1000, FUTEX_OP_WAKE, 1, 0, 0, 0 };
        CHECK(syscalls_quiet(SYS_futex, wait_private));
        CHECK(syscalls_quiet(SYS_futex, wait_shared));
        CHECK(syscalls_quiet(SYS_futex, wake_private));
        CHECK(!syscalls_quiet(SYS_futex, wake_shared));   /* may wake another process */
        CHECK(syscalls_quiet(SYS_nanosleep, none));
        CHECK(syscalls_quiet(SYS_clock_nanosleep, none));
        CHECK(syscalls_quiet(SYS_restart_syscall, none));
        CHECK(syscalls_quiet(SYS_clock_gettime, none));
        CHECK(syscalls_quiet(SYS_rt_sigprocmask, none));
        CHECK(syscalls_quiet(SYS_rt_sigreturn, none));
        CHECK(syscalls_quiet(SYS_sched_yield, none));
        CHECK(syscalls_quiet(SYS_mmap, none));
        CHECK(syscalls_quiet(SYS_munmap, none));
        CHECK(syscalls_quiet(SYS_madvise, none));
        CHECK(syscalls_quiet(SYS_getpid, none));
        CHECK(syscalls_quiet(SYS_gettid, none));
        CHECK(syscalls_quiet(SYS_exit, none));
        CHECK(syscalls_quiet(SYS_set_robust_list, none));
        /* effects outside: held */
        CHECK(!syscalls_quiet(SYS_write, none));
        CHECK(!syscalls_quiet(SYS_writev, none));
        CHECK(!syscalls_quiet(SYS_sendmsg, none));
        CHECK(!syscalls_quiet(SYS_read, none));
        CHECK(!syscalls_quiet(SYS_tgkill, none));
        CHECK(!syscalls_quiet(SYS_kill, none));
        CHECK(!syscalls_quiet(SYS_clone, none));
        CHECK(!syscalls_quiet(SYS_clone3, none));
        CHECK(!syscalls_quiet(SYS_execve, none));
        CHECK(!syscalls_quiet(SYS_openat, none));
        CHECK(!syscalls_quiet(SYS_ioctl, none));
        CHECK(!syscalls_quiet(SYS_exit_group, none));
        CHECK(!syscalls_quiet(SYS_close, none));
        CHECK(!syscalls_quiet(-1, none));
        /* a quiet row that never blocks reads as an unknown call does */
        CHECK(!syscalls_blocks(SYS_getpid, none));
        CHECK(!syscalls_is_timed(SYS_getpid, none));
        CHECK_EQ_INT(syscalls_fd_arg(SYS_mmap), -1);
}

/* The stop effects (docs/RELIABILITY.md, the syscall matrix): each row
 * the matrix found changed by a stop has one, in the form it was
 * measured in; the forms it found unchanged have none. */
static void test_stop_effects(void)
{
        uint64_t none[6] = {0}, args[6] = {0};
        /* partial progress */
        CHECK(syscalls_stop_effect(SYS_write, none, NULL) != NULL);
        CHECK(strstr(syscalls_stop_effect(SYS_write, none, NULL), "returns short") != NULL);
        CHECK(syscalls_stop_effect(SYS_writev, none, NULL) == syscalls_stop_effect(SYS_write, none, NULL));
        CHECK(syscalls_stop_effect(SYS_sendto, none, NULL) && syscalls_stop_effect(SYS_sendmsg, none, NULL));
        CHECK(syscalls_stop_effect(SYS_sendfile, none, NULL) != NULL);
        CHECK(syscalls_stop_effect(SYS_recvfrom, none, NULL) && syscalls_stop_effect(SYS_read, none, NULL));
        /* a read: by what its fd is; unknown, both ways */
        const char *any = syscalls_stop_effect(SYS_read, none, NULL);
        const char *sock = syscalls_stop_effect(SYS_read, none, "socket:[77]");
        const char *pipe = syscalls_stop_effect(SYS_readv, none, "pipe:[78]");
        CHECK(any && strstr(any, "SO_RCVTIMEO") && strstr(any, "pipe"));
        CHECK(sock && strstr(sock, "SO_RCVTIMEO") && !strstr(sock, "pipe"));
        CHECK(pipe && strstr(pipe, "pipe") && !strstr(pipe, "SO_RCVTIMEO"));
        CHECK(syscalls_stop_effect(SYS_read, none, "/dev/pts/3") == NULL);     /* restarted */
        CHECK(syscalls_stop_effect(SYS_write, none, "pipe:[78]") == syscalls_stop_effect(SYS_write, none, NULL));
        /* socket timeouts */
        CHECK(strstr(syscalls_stop_effect(SYS_accept4, none, NULL), "SO_RCVTIMEO") != NULL);
        CHECK(strstr(syscalls_stop_effect(SYS_connect, none, NULL), "SO_SNDTIMEO") != NULL);
        /* timed waits: EINTR; the indefinite forms are restarted or rewound */
        args[3] = (uint64_t) -1;
        CHECK(syscalls_stop_effect(SYS_epoll_wait, args, NULL) == NULL);
        args[3] = 1000;
        CHECK(strstr(syscalls_stop_effect(SYS_epoll_wait, args, NULL), "EINTR") != NULL);
        CHECK(syscalls_stop_effect(SYS_epoll_pwait, args, NULL) != NULL);
        args[3] = 0;
        args[2] = 0x7ffd0000;   /* sigtimedwait's timeout */
        CHECK(syscalls_stop_effect(SYS_rt_sigtimedwait, args, NULL) != NULL);
        CHECK(syscalls_stop_effect(SYS_rt_sigtimedwait, none, NULL) == NULL);
        args[2] = 0;
        args[3] = 0x7ffd0000;
        CHECK(syscalls_stop_effect(SYS_semtimedop, args, NULL) != NULL);
        CHECK(syscalls_stop_effect(SYS_semtimedop, none, NULL) == NULL);
        args[3] = 0;
        args[4] = 0x7ffd0000;
        CHECK(syscalls_stop_effect(SYS_io_getevents, args, NULL) != NULL);
        CHECK(syscalls_stop_effect(SYS_pselect6, args, NULL) && syscalls_stop_effect(SYS_select, args, NULL));
        CHECK(syscalls_stop_effect(SYS_select, none, NULL) == NULL);
        args[4] = 0;
        args[2] = 0x7ffd0000;
        CHECK(strstr(syscalls_stop_effect(SYS_ppoll, args, NULL), "remaining time") != NULL);
        args[2] = 0;
        /* io_uring_enter: only when it waits for completions */
        uint64_t uring[6] = { 3, 0, 1, 1 /* IORING_ENTER_GETEVENTS */, 0, 0 };
        CHECK(syscalls_stop_effect(SYS_io_uring_enter, uring, NULL) != NULL);
        uring[3] = 0;
        CHECK(syscalls_stop_effect(SYS_io_uring_enter, uring, NULL) == NULL);
        /* futex: the waits re-read their word; a wake or a PI lock no */
        uint64_t fx[6] = { 0x601000, FUTEX_OP_WAIT | FUTEX_OP_PRIVATE_FLAG, 2, 0, 0, 0 };
        const char *reread = syscalls_stop_effect(SYS_futex, fx, NULL);
        CHECK(reread && strstr(reread, "EAGAIN"));
        fx[1] = FUTEX_OP_WAIT_BITSET | FUTEX_OP_PRIVATE_FLAG | FUTEX_OP_CLOCK_REALTIME;
        CHECK(syscalls_stop_effect(SYS_futex, fx, NULL) == reread);
        fx[1] = FUTEX_OP_WAIT_REQUEUE_PI;
        CHECK(syscalls_stop_effect(SYS_futex, fx, NULL) && syscalls_stop_effect(SYS_futex, fx, NULL) != reread);
        fx[1] = FUTEX_OP_WAKE;
        CHECK(syscalls_stop_effect(SYS_futex, fx, NULL) == NULL);
        fx[1] = FUTEX_OP_LOCK_PI;
        CHECK(syscalls_stop_effect(SYS_futex, fx, NULL) == NULL);
        /* relative sleeps write rem, when given one */
        uint64_t ns[6] = { 0x7ffd0000, 0x7ffd0010, 0, 0, 0, 0 };
        CHECK(syscalls_stop_effect(SYS_nanosleep, ns, NULL) != NULL);
        ns[1] = 0;
        CHECK(syscalls_stop_effect(SYS_nanosleep, ns, NULL) == NULL);
        uint64_t cns[6] = { 1, 0, 0x7ffd0000, 0x7ffd0010, 0, 0 };
        CHECK(syscalls_stop_effect(SYS_clock_nanosleep, cns, NULL) != NULL);
        cns[1] = 1;     /* TIMER_ABSTIME */
        CHECK(syscalls_stop_effect(SYS_clock_nanosleep, cns, NULL) == NULL);
        /* queue order of the System V waits, rewound or not */
        CHECK(syscalls_stop_effect(SYS_semop, none, NULL) && syscalls_stop_effect(SYS_msgrcv, none, NULL));
        /* unchanged by a stop (the matrix's rows that behave as directly) */
        CHECK(syscalls_stop_effect(SYS_wait4, none, NULL) == NULL);
        CHECK(syscalls_stop_effect(SYS_pause, none, NULL) == NULL);
        CHECK(syscalls_stop_effect(SYS_rt_sigsuspend, none, NULL) == NULL);
        CHECK(syscalls_stop_effect(SYS_flock, none, NULL) == NULL);
        CHECK(syscalls_stop_effect(SYS_splice, none, NULL) == NULL);
        args[2] = (uint64_t) -1;
        CHECK(syscalls_stop_effect(SYS_poll, args, NULL) == NULL);
        CHECK(syscalls_stop_effect(-1, none, NULL) == NULL && syscalls_stop_effect(100000, none, NULL) == NULL);
        /* the two tables agree: every wait the kernel ends with EINTR
         * after a stop has an effect in its timed form */
        for (long nr = 0; nr < 1024; nr++) {
                const struct syscall_info *row = syscalls_lookup(nr);
                if (!row || !(row->flags & SYSCALL_EINTR_RESTARTABLE) || row->timeout_arg < 0)
                        continue;
                uint64_t timed[6] = {0};
                timed[row->timeout_arg] = row->timeout == SYSCALL_TIMEOUT_INT_MS ? 1000 : 0x7ffd0000;
                CHECK(syscalls_stop_effect(nr, timed, NULL) != NULL);
        }
}

int main(void)
{
        test_rows();
        test_futex();
        test_timeouts_and_restart();
        test_quiet();
        test_stop_effects();
        return CHECK_DONE();
}
