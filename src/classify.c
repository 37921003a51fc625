/* Classification rules; see classify.h.  The glibc functions that identify a
 * futex wait are those of glibc 2.3x (nptl/); names are compared with their
 * leading underscores stripped, since glibc exports the same function as
 * pthread_mutex_lock, __pthread_mutex_lock and ___pthread_mutex_lock across
 * versions. */
#include <string.h>
#include <sys/syscall.h>

#include "classify.h"
#include "modules.h"
#include "syscall-names.h"
#include "util.h"

#define FUTEX_CMD_MASK 0x7f     /* without PRIVATE (128) and CLOCK_REALTIME (256) */

const char *classify_syscall_name(long nr)
{
        if (nr < 0 || (size_t) nr >= ARRAY_SIZE(syscall_names))
                return NULL;
        return syscall_names[nr];
}

struct name_rule {
        const char *prefix;
        enum leakscan_state state;
};

/* Innermost match wins: pthread_cond_wait re-taking its mutex sits in
 * __lll_lock_wait, and that thread does wait for the mutex. */
static const struct name_rule futex_rules[] = {
        { "lll_lock_wait", LEAKSCAN_STATE_MUTEX },
        { "pthread_mutex_lock", LEAKSCAN_STATE_MUTEX },
        { "pthread_mutex_timedlock", LEAKSCAN_STATE_MUTEX },
        { "pthread_mutex_clocklock", LEAKSCAN_STATE_MUTEX },
        { "futex_lock_pi", LEAKSCAN_STATE_MUTEX },
        { "std::mutex::lock", LEAKSCAN_STATE_MUTEX },
        { "std::recursive_mutex::lock", LEAKSCAN_STATE_MUTEX },
        { "std::timed_mutex", LEAKSCAN_STATE_MUTEX },
        { "gthread_mutex_lock", LEAKSCAN_STATE_MUTEX },
        { "pthread_cond_", LEAKSCAN_STATE_CONDVAR },
        { "std::condition_variable", LEAKSCAN_STATE_CONDVAR },
        { "std::_V2::condition_variable", LEAKSCAN_STATE_CONDVAR },
        /* std::future::wait: libstdc++ waits on a futex of its own */
        { "std::__atomic_futex_unsigned_base::_M_futex_wait", LEAKSCAN_STATE_CONDVAR },
        { "pthread_rwlock_", LEAKSCAN_STATE_RWLOCK },
        { "sem_wait", LEAKSCAN_STATE_SEMAPHORE },
        { "sem_timedwait", LEAKSCAN_STATE_SEMAPHORE },
        { "sem_clockwait", LEAKSCAN_STATE_SEMAPHORE },
        { "new_sem_wait", LEAKSCAN_STATE_SEMAPHORE },
        { "pthread_barrier_wait", LEAKSCAN_STATE_BARRIER },
        { "pthread_join", LEAKSCAN_STATE_JOIN },
        { "pthread_clockjoin", LEAKSCAN_STATE_JOIN },
        { "pthread_timedjoin", LEAKSCAN_STATE_JOIN },
        { "std::thread::join", LEAKSCAN_STATE_JOIN },
};

/* After a thread's timed wait is interrupted (by SIGSTOP, a debugger, an
 * earlier leakscan) the kernel resumes it as restart_syscall, and the
 * arguments are gone: the frames tell what it was. */
static const struct name_rule restart_rules[] = {
        { "nanosleep", LEAKSCAN_STATE_SLEEP },
        { "clock_nanosleep", LEAKSCAN_STATE_SLEEP },
        { "sleep", LEAKSCAN_STATE_SLEEP },
        { "usleep", LEAKSCAN_STATE_SLEEP },
        { "thrd_sleep", LEAKSCAN_STATE_SLEEP },
        { "poll", LEAKSCAN_STATE_POLL },
        { "ppoll", LEAKSCAN_STATE_POLL },
        { "select", LEAKSCAN_STATE_POLL },
        { "epoll_", LEAKSCAN_STATE_POLL },
};

/* libc entry points that a static binary carries in its own module: frames
 * with these names and no source line (libc.a has no debug info) are the
 * system's even there.  Families are the prefixes POSIX reserves for its own
 * headers; everything else must match the whole name. */
static const char *const libc_families[] = { "pthread_", "sem_", "lll_", "thrd_" };
static const char *const libc_entries[] = {
        "nanosleep", "clock_nanosleep", "sleep", "usleep", "pause", "poll", "ppoll", "select",
        "pselect", "pselect6", "epoll_wait", "epoll_pwait", "epoll_pwait2", "read", "write", "readv",
        "writev", "pread", "pread64", "pwrite", "pwrite64", "recv", "recvfrom", "recvmsg", "send",
        "sendto", "sendmsg", "accept", "accept4", "connect", "wait", "waitpid", "wait4", "waitid",
        "sigwait", "sigwaitinfo", "sigtimedwait", "sigsuspend", "syscall", "start_thread", "clone",
        "clone3", "do_futex_wait", "futex_wait", "futex_abstimed_wait", "flock", "msgrcv", "semop",
        "libc_start_main", "libc_start_call_main",
};

static const char *strip_underscores(const char *name)
{
        while (*name == '_')
                name++;
        if (startswith(name, "GI_")) {
                name += 3;
                while (*name == '_')
                        name++;
        }
        return name;
}

static bool name_matches_rules(const char *name, const struct name_rule *rules, size_t n,
                               enum leakscan_state *ret)
{
        const char *plain = strip_underscores(name);
        for (size_t i = 0; i < n; i++) {
                /* std:: names keep their underscores (std::__atomic...) */
                const char *subject = startswith(rules[i].prefix, "std::") ? name : plain;
                if (startswith(subject, rules[i].prefix)) {
                        *ret = rules[i].state;
                        return true;
                }
        }
        return false;
}

bool classify_frame_is_system(const struct leakscan_frame *f)
{
        if (f->system || modules_path_is_system(f->module))
                return true;
        if (!f->function)
                return false;
        /* reserved to the implementation, or the C++ library's templates
         * instantiated in the program */
        if (startswith(f->function, "__") || startswith(f->function, "std::") ||
            startswith(f->function, "__gnu_cxx::"))
                return true;
        if (f->file)
                return false;   /* the user's own code, built with debug info */
        const char *plain = strip_underscores(f->function);
        for (size_t i = 0; i < ARRAY_SIZE(libc_families); i++)
                if (startswith(plain, libc_families[i]))
                        return true;
        for (size_t i = 0; i < ARRAY_SIZE(libc_entries); i++)
                if (streq(plain, libc_entries[i]))
                        return true;
        return false;
}

/* Wrappers of the system's primitives that runtimes export: a thread
 * waiting in g_cond_wait waits where its caller called it.  By name, so
 * that statically linked copies count too. */
static const char *const runtime_wrappers[] = {
        "g_cond_wait", "g_cond_wait_until", "g_mutex_lock", "g_rec_mutex_lock", "g_rw_lock_reader_lock",
        "g_rw_lock_writer_lock", "g_async_queue_pop", "g_async_queue_pop_unlocked",
        "g_async_queue_timeout_pop", "g_async_queue_timeout_pop_unlocked", "g_thread_join",
        "g_main_context_iteration", "g_main_loop_run", "g_poll", "uv_cond_wait", "uv_cond_timedwait",
        "uv_mutex_lock", "uv_rwlock_rdlock", "uv_rwlock_wrlock", "uv_sem_wait", "uv_thread_join", "uv_run",
        "PyThread_acquire_lock", "PyThread_acquire_lock_timed", "PyMUTEX_LOCK", "PyCOND_WAIT",
        "PyCOND_TIMEDWAIT", "apr_thread_cond_wait", "apr_thread_mutex_lock", "apr_queue_pop",
};

/* Code the user did not write though it is not the system's: a library
 * installed on the system (its code, not the user's, though its maker's),
 * a template from a system header instantiated in the user's module
 * (std::condition_variable::wait<...> comes from /usr/include/c++), or a
 * runtime's wrapper of a primitive. */
static bool frame_is_foreign(const struct leakscan_frame *f)
{
        static const char *const header_dirs[] = { "/usr/include/", "/usr/lib/gcc/", "/usr/lib/llvm-" };
        static const char *const library_dirs[] = { "/usr/lib/", "/usr/lib64/", "/lib/", "/lib64/",
                                                    "/usr/local/lib/" };
        for (size_t i = 0; f->file && i < ARRAY_SIZE(header_dirs); i++)
                if (startswith(f->file, header_dirs[i]))
                        return true;
        for (size_t i = 0; f->module && i < ARRAY_SIZE(library_dirs); i++)
                if (startswith(f->module, library_dirs[i]))
                        return true;
        for (size_t i = 0; f->function && i < ARRAY_SIZE(runtime_wrappers); i++)
                if (streq(f->function, runtime_wrappers[i]))
                        return true;
        return false;
}

size_t classify_top_frame(const struct leakscan_frame *frames, size_t n)
{
        size_t first_non_system = n;
        for (size_t i = 0; i < n; i++) {
                if (classify_frame_is_system(&frames[i]))
                        continue;
                if (!frame_is_foreign(&frames[i]))
                        return i;
                if (first_non_system == n)
                        first_non_system = i;
        }
        return first_non_system;
}

/* The innermost frame (before the first user frame) whose name a rule knows. */
static bool state_from_frames(const struct classify_input *in, const struct name_rule *rules,
                              size_t n_rules, enum leakscan_state *ret)
{
        for (size_t i = 0; i < in->n_frames; i++) {
                const struct leakscan_frame *f = &in->frames[i];
                if (f->function && name_matches_rules(f->function, rules, n_rules, ret))
                        return true;
                if (!classify_frame_is_system(f))
                        break;
        }
        return false;
}

static enum leakscan_state fd_state(const char *fd_target, enum leakscan_state pipe_state,
                                    enum leakscan_state socket_state)
{
        switch (procfs_fd_kind(fd_target)) {
        case FD_KIND_PIPE:
                return pipe_state;
        case FD_KIND_SOCKET:
                return socket_state;
        default:
                return LEAKSCAN_STATE_SYSCALL;
        }
}

void classify_thread(const struct classify_input *in, struct classify_result *ret)
{
        struct classify_result r = { .state = LEAKSCAN_STATE_SYSCALL };
        const uint64_t *a = in->args;

        switch (in->syscall_nr) {
        case -1:
                r.state = LEAKSCAN_STATE_RUNNING;
                break;
        case SYS_futex: {
                unsigned cmd = (unsigned) a[1] & FUTEX_CMD_MASK;
                /* WAIT (0), LOCK_PI (6), WAIT_BITSET (9), WAIT_REQUEUE_PI
                 * (11), LOCK_PI2 (13) block; the rest wake or requeue. */
                if (cmd == 0 || cmd == 6 || cmd == 9 || cmd == 11 || cmd == 13) {
                        r.timeout = a[3] != 0;
                        r.has_wait_address = true;
                        r.wait_address = a[0];
                }
                if (!state_from_frames(in, futex_rules, ARRAY_SIZE(futex_rules), &r.state))
                        r.state = LEAKSCAN_STATE_FUTEX;
                break;
        }
        case SYS_futex_waitv:
                r.state = LEAKSCAN_STATE_FUTEX;
                r.timeout = a[3] != 0;
                break;
        case SYS_nanosleep:
        case SYS_clock_nanosleep:
                r.state = LEAKSCAN_STATE_SLEEP;
                r.timeout = true;
                break;
        case SYS_restart_syscall:
                r.timeout = true;       /* only timed waits are restarted this way */
                if (!state_from_frames(in, futex_rules, ARRAY_SIZE(futex_rules), &r.state) &&
                    !state_from_frames(in, restart_rules, ARRAY_SIZE(restart_rules), &r.state))
                        r.state = LEAKSCAN_STATE_SYSCALL;
                break;
        case SYS_read: case SYS_readv: case SYS_pread64: case SYS_preadv: case SYS_preadv2:
                r.state = fd_state(in->fd_target, LEAKSCAN_STATE_PIPE_READ, LEAKSCAN_STATE_SOCKET_READ);
                break;
        case SYS_write: case SYS_writev: case SYS_pwrite64: case SYS_pwritev: case SYS_pwritev2:
                r.state = fd_state(in->fd_target, LEAKSCAN_STATE_PIPE_WRITE, LEAKSCAN_STATE_SOCKET_WRITE);
                break;
        case SYS_recvfrom: case SYS_recvmsg: case SYS_recvmmsg:
                r.state = LEAKSCAN_STATE_SOCKET_READ;
                break;
        case SYS_sendto: case SYS_sendmsg: case SYS_sendmmsg:
                r.state = LEAKSCAN_STATE_SOCKET_WRITE;
                break;
        case SYS_accept: case SYS_accept4:
                r.state = LEAKSCAN_STATE_ACCEPT;
                break;
        case SYS_connect:
                r.state = LEAKSCAN_STATE_CONNECT;
                break;
        case SYS_poll:
                r.state = LEAKSCAN_STATE_POLL;
                r.timeout = (int) a[2] >= 0;
                break;
        case SYS_ppoll:
                r.state = LEAKSCAN_STATE_POLL;
                r.timeout = a[2] != 0;
                break;
        case SYS_select: case SYS_pselect6:
                r.state = LEAKSCAN_STATE_POLL;
                r.timeout = a[4] != 0;
                break;
        case SYS_epoll_wait: case SYS_epoll_pwait:
                r.state = LEAKSCAN_STATE_POLL;
                r.timeout = (int) a[3] >= 0;
                break;
        case SYS_epoll_pwait2:
                r.state = LEAKSCAN_STATE_POLL;
                r.timeout = a[3] != 0;
                break;
        case SYS_wait4: case SYS_waitid:
                r.state = LEAKSCAN_STATE_WAIT_CHILD;
                break;
        case SYS_rt_sigtimedwait:
                r.state = LEAKSCAN_STATE_SIGNAL_WAIT;
                r.timeout = a[2] != 0;
                break;
        case SYS_pause: case SYS_rt_sigsuspend:
                r.state = LEAKSCAN_STATE_SIGNAL_WAIT;
                break;
        default:
                r.state = LEAKSCAN_STATE_SYSCALL;
                break;
        }

        /* What the scheduler said before we stopped the thread overrides the
         * registers where they cannot tell: a job-control stop, or an
         * uninterruptible sleep in the kernel. */
        if (in->proc_state == 'T') {
                r.state = LEAKSCAN_STATE_STOPPED;
                r.timeout = false;
        } else if (in->proc_state == 'D') {
                r.state = LEAKSCAN_STATE_DISK_IO;
                r.timeout = false;
        } else if (in->syscall_nr < 0 && in->proc_state != 'R' && in->n_frames == 0) {
                r.state = LEAKSCAN_STATE_UNKNOWN;
        }

        if (r.state == LEAKSCAN_STATE_RUNNING)
                r.verdict = LEAKSCAN_VERDICT_RUNNING;
        else if (r.timeout)
                r.verdict = LEAKSCAN_VERDICT_TIMED;
        else
                r.verdict = LEAKSCAN_VERDICT_BLOCKED;
        *ret = r;
}

int64_t classify_blocked_ms(bool has_exec_start, uint64_t exec_start_ns, bool has_now, uint64_t now_ns)
{
        if (!has_exec_start || !has_now)
                return -1;
        if (now_ns <= exec_start_ns)
                return 0;
        return (int64_t) ((now_ns - exec_start_ns) / 1000000u);
}
