/* Classification rules; see classify.h.  The glibc functions that identify a
 * futex wait are those of glibc 2.3x (nptl/); names are compared with their
 * leading underscores stripped, since glibc exports the same function as
 * pthread_mutex_lock, __pthread_mutex_lock and ___pthread_mutex_lock across
 * versions. */
#include <ctype.h>
#include <fnmatch.h>
#include <string.h>
#include <sys/syscall.h>

#include "classify.h"
#include "procfs.h"
#include "modules.h"
#include "syscalls.h"
#include "util.h"

const char *classify_syscall_name(long nr)
{
        return syscalls_name(nr);
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

/* Rust's primitives, by the demangled paths of their frames (std 1.62+
 * builds them on raw futexes: no pthread frame, and a path that moved
 * across releases: std::sys::unix::locks::futex::Mutex in 1.63,
 * std::sys::sync::mutex::futex::Mutex later), and those of the crates
 * that stand in for them.  Globs, since a path holds its generic
 * parameters ("std::sync::mutex::Mutex<T>::lock").
 *
 * What the user called wins: the outermost "call" rule among the frames
 * under the first user frame (a channel receive parks the thread; it is
 * still a receive, not a park).  Otherwise the innermost "wait" rule: a
 * condvar wait that re-takes its mutex waits for the mutex. */
struct rust_rule {
        const char *glob;
        enum leakscan_state state;
};
static const struct rust_rule rust_calls[] = {
        { "std::sync::mpsc::*recv*", LEAKSCAN_STATE_CHANNEL_RECV },
        { "<std::sync::mpsc::*>::recv*", LEAKSCAN_STATE_CHANNEL_RECV },
        { "<std::sync::mpmc::*>::recv*", LEAKSCAN_STATE_CHANNEL_RECV },
        { "std::sync::mpmc::*recv*", LEAKSCAN_STATE_CHANNEL_RECV },
        { "<std::sync::mpsc::*Iter*::next", LEAKSCAN_STATE_CHANNEL_RECV },
        { "<std::sync::mpmc::*Iter*::next", LEAKSCAN_STATE_CHANNEL_RECV },
        { "crossbeam_channel::*recv*", LEAKSCAN_STATE_CHANNEL_RECV },
        { "<crossbeam_channel::*Iter*::next", LEAKSCAN_STATE_CHANNEL_RECV },
        { "std::sync::mpsc::*send*", LEAKSCAN_STATE_CHANNEL_SEND },
        { "<std::sync::mpsc::*>::send*", LEAKSCAN_STATE_CHANNEL_SEND },
        { "<std::sync::mpmc::*>::send*", LEAKSCAN_STATE_CHANNEL_SEND },
        { "std::sync::mpmc::*send*", LEAKSCAN_STATE_CHANNEL_SEND },
        { "crossbeam_channel::*send*", LEAKSCAN_STATE_CHANNEL_SEND },
        { "std::sync::barrier::Barrier::wait", LEAKSCAN_STATE_BARRIER },
        { "parking_lot::raw_mutex::RawMutex::lock*", LEAKSCAN_STATE_MUTEX },
        { "parking_lot::condvar::Condvar::wait*", LEAKSCAN_STATE_CONDVAR },
        { "parking_lot::raw_rwlock::RawRwLock::lock_*", LEAKSCAN_STATE_RWLOCK },
};
/* each also in v0's form of an inherent method, "<std::sync::Mutex>::lock" */
static const struct rust_rule rust_waits[] = {
        { "std::*Mutex*::lock*", LEAKSCAN_STATE_MUTEX },
        { "<std::*Mutex*>::lock*", LEAKSCAN_STATE_MUTEX },
        { "std::*Condvar*::wait*", LEAKSCAN_STATE_CONDVAR },
        { "<std::*Condvar*>::wait*", LEAKSCAN_STATE_CONDVAR },
        { "std::*RwLock*::read*", LEAKSCAN_STATE_RWLOCK },
        { "<std::*RwLock*>::read*", LEAKSCAN_STATE_RWLOCK },
        { "std::*RwLock*::write*", LEAKSCAN_STATE_RWLOCK },
        { "<std::*RwLock*>::write*", LEAKSCAN_STATE_RWLOCK },
        { "std::thread::park*", LEAKSCAN_STATE_PARK },
        { "std::thread::*::park*", LEAKSCAN_STATE_PARK },
        { "<std::thread::*Thread>::park*", LEAKSCAN_STATE_PARK },
        { "std::*Parker::park*", LEAKSCAN_STATE_PARK },
        { "<std::*Parker>::park*", LEAKSCAN_STATE_PARK },
        { "std::thread::JoinHandle<*>::join", LEAKSCAN_STATE_JOIN },
        { "std::thread::JoinInner<*>::join", LEAKSCAN_STATE_JOIN },
};

static bool rust_rule_match(const char *name, const struct rust_rule *rules, size_t n, enum leakscan_state *ret)
{
        for (size_t i = 0; i < n; i++)
                if (fnmatch(rules[i].glob, name, 0) == 0) {
                        *ret = rules[i].state;
                        return true;
                }
        return false;
}

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

/* Go's standard library, linked into every Go program: a package path
 * whose first element has no dot (the rule of the go command itself) and is
 * one of the library's top-level directories, then '.' and the function
 * (runtime.futex, os.(*File).Read, net/http.(*conn).serve).  A user's
 * package is "main" or a module path ("github.com/..."), and a C function
 * that GCC cloned ("sort.part.0") keeps its clone suffix.  A frame with a
 * source file must be in a Go or Go assembly file. */
static const char *const go_std_roots[] = {
        "archive", "bufio", "bytes", "cmp", "compress", "container", "context", "crypto", "database", "debug",
        "embed", "encoding", "errors", "expvar", "flag", "fmt", "go", "hash", "html", "image", "index", "internal",
        "io", "iter", "log", "maps", "math", "mime", "net", "os", "path", "plugin", "reflect", "regexp", "runtime",
        "slices", "sort", "strconv", "strings", "structs", "sync", "syscall", "testing", "text", "time", "unicode",
        "unique", "unsafe", "vendor", "weak",
};
static const char *const gcc_clone_suffixes[] = {
        "part.", "cold", "isra.", "constprop.", "lto_priv.", "localalias", "clone.", "resolver",
};

static bool ends_with(const char *s, const char *suffix)
{
        size_t n = strlen(s), k = strlen(suffix);
        return n >= k && streq(s + n - k, suffix);
}

static bool frame_is_go_std(const struct leakscan_frame *f)
{
        const char *name = f->function;
        if (f->file && !ends_with(f->file, ".go") && !ends_with(f->file, ".s"))
                return false;
        size_t root = strcspn(name, "/.");
        bool known = false;
        for (size_t i = 0; i < ARRAY_SIZE(go_std_roots) && !known; i++)
                known = strlen(go_std_roots[i]) == root && strncmp(name, go_std_roots[i], root) == 0;
        if (!known)
                return false;
        /* the rest of the package path: lower-case elements, no dot */
        const char *p = name + root;
        while (*p == '/') {
                p++;
                size_t elem = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");
                if (elem == 0)
                        return false;
                p += elem;
        }
        if (*p != '.' || !(isalpha((unsigned char) p[1]) || p[1] == '_' || p[1] == '('))
                return false;
        for (size_t i = 0; i < ARRAY_SIZE(gcc_clone_suffixes); i++)
                if (startswith(p + 1, gcc_clone_suffixes[i]))
                        return false;
        return true;
}

/* Rust's standard library (std, core, alloc), linked into the user's
 * binary: told by path.  An impl's path "<X as Y>::f" is the library's
 * when X is one of its types, or when X is a bare generic parameter or
 * primitive ("<F as core::ops::function::FnOnce<()>>::call_once", a
 * blanket impl) of one of its traits; "<myapp::Conn as core::ops::Drop>"
 * is the user's. */
static const char *const rust_std_crates[] = { "std::", "core::", "alloc::" };

static bool rust_std_path(const char *s)
{
        s += strspn(s, "&*[(");
        if (startswith(s, "mut "))
                s += 4;
        else if (startswith(s, "const "))
                s += 6;
        for (size_t i = 0; i < ARRAY_SIZE(rust_std_crates); i++)
                if (startswith(s, rust_std_crates[i]))
                        return true;
        return false;
}

bool classify_function_is_rust_std(const char *name)
{
        /* a C++ function ("core::Server::run()", a C++ namespace of the
         * user's) ends with its parameters; a Rust path never does */
        size_t len = strlen(name);
        if (len && (name[len - 1] == ')' || strstr(name, ") const")))
                return false;
        if (name[0] != '<')
                return rust_std_path(name);
        /* "<X as Y>::f" or "<X>::f": find " as " at depth 1 */
        const char *self = name + 1, *as = NULL;
        int depth = 1;
        for (const char *p = self; *p && depth > 0; p++) {
                if (*p == '<')
                        depth++;
                else if (*p == '>')
                        depth--;
                else if (depth == 1 && startswith(p, " as ")) {
                        as = p;
                        break;
                }
        }
        if (rust_std_path(self))
                return true;
        if (!as)
                return false;
        size_t self_len = (size_t) (as - self);
        for (size_t i = 0; i + 1 < self_len; i++)
                if (self[i] == ':' && self[i + 1] == ':')
                        return false;   /* a path of the user's, or of another crate */
        return rust_std_path(as + 4);
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
        if (classify_function_is_rust_std(f->function))
                return true;
        if (frame_is_go_std(f))
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
        /* and the crates a Rust program was built with, from cargo's
         * registry or Debian's librust-*-dev sources */
        static const char *const header_dirs[] = { "/usr/include/", "/usr/lib/gcc/", "/usr/lib/llvm-",
                                                   "/usr/share/cargo/registry/" };
        static const char *const source_dirs[] = { "/.cargo/registry/", "/.cargo/git/" };
        static const char *const library_dirs[] = { "/usr/lib/", "/usr/lib64/", "/lib/", "/lib64/",
                                                    "/usr/local/lib/" };
        for (size_t i = 0; f->file && i < ARRAY_SIZE(header_dirs); i++)
                if (startswith(f->file, header_dirs[i]))
                        return true;
        for (size_t i = 0; f->file && i < ARRAY_SIZE(source_dirs); i++)
                if (strstr(f->file, source_dirs[i]))
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

static bool frame_is_users(const struct leakscan_frame *f)
{
        return !classify_frame_is_system(f) && !frame_is_foreign(f);
}

/* The state a Rust primitive gives frames (before the first user frame):
 * see rust_calls.  Returns whether one did. */
static bool rust_state(const struct leakscan_frame *frames, size_t n, enum leakscan_state *ret)
{
        bool found = false;
        for (size_t i = 0; i < n && !frame_is_users(&frames[i]); i++)
                if (frames[i].function &&
                    rust_rule_match(frames[i].function, rust_calls, ARRAY_SIZE(rust_calls), ret))
                        found = true;
        if (found)
                return true;
        for (size_t i = 0; i < n && !frame_is_users(&frames[i]); i++)
                if (frames[i].function &&
                    rust_rule_match(frames[i].function, rust_waits, ARRAY_SIZE(rust_waits), ret))
                        return true;
        return false;
}

/* The innermost frame (before the first user frame) whose name a rule
 * knows; *ret_glibc: the rule is one of the C library's or libstdc++'s,
 * whose objects are glibc's (an owner can be read from them). */
static bool state_from_frames_of(const struct leakscan_frame *frames, size_t n, enum leakscan_state *ret,
                                 bool *ret_glibc)
{
        enum leakscan_state rust = LEAKSCAN_STATE_FUTEX;
        bool has_rust = rust_state(frames, n, &rust);
        for (size_t i = 0; i < n; i++) {
                const struct leakscan_frame *f = &frames[i];
                enum leakscan_state s;
                if (f->function && name_matches_rules(f->function, futex_rules, ARRAY_SIZE(futex_rules), &s)) {
                        /* a Rust wait built on glibc's (JoinHandle::join
                         * on pthread_join) is the glibc one */
                        *ret = s;
                        *ret_glibc = true;
                        return true;
                }
                if (!classify_frame_is_system(f))
                        break;
        }
        if (has_rust) {
                *ret = rust;
                *ret_glibc = false;
                return true;
        }
        return false;
}

static bool state_from_frames(const struct classify_input *in, enum leakscan_state *ret)
{
        bool glibc;
        return state_from_frames_of(in->frames, in->n_frames, ret, &glibc);
}

bool classify_wait_is_ownerless(const struct leakscan_frame *frames, size_t n)
{
        enum leakscan_state s;
        bool glibc = false;
        return state_from_frames_of(frames, n, &s, &glibc) && !glibc;
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

/* The call a thread in restart_syscall was in, from its frames: after a
 * stop (SIGSTOP, a debugger, an earlier leakscan) the kernel resumes poll,
 * nanosleep and timed futex waits that way, and the registers still hold
 * the original arguments. */
struct restart_rule {
        const char *prefix;
        long nr;
};
static const struct restart_rule restart_rules[] = {
        { "clock_nanosleep", SYS_clock_nanosleep },
        { "nanosleep", SYS_nanosleep },
        { "sleep", SYS_clock_nanosleep },
        { "usleep", SYS_clock_nanosleep },
        { "thrd_sleep", SYS_clock_nanosleep },
#ifdef SYS_poll
        { "poll", SYS_poll },
#endif
        { "ppoll", SYS_ppoll },
#ifdef SYS_select
        { "select", SYS_select },
#endif
        { "pselect", SYS_pselect6 },
        { "epoll_", SYS_epoll_pwait },
};

/* The innermost frame (before the first user frame) naming a call that
 * restarts through restart_syscall.  Returns its number, or -1. */
static long restarted_call(const struct classify_input *in)
{
        for (size_t i = 0; i < in->n_frames; i++) {
                const struct leakscan_frame *f = &in->frames[i];
                if (f->function) {
                        const char *plain = strip_underscores(f->function);
                        for (size_t k = 0; k < ARRAY_SIZE(restart_rules); k++) {
                                /* "poll" names poll, poll64 and poll_nocancel,
                                 * not pollster; "epoll_" every epoll_ call */
                                const char *prefix = restart_rules[k].prefix;
                                size_t len = strlen(prefix);
                                if (strncmp(plain, prefix, len) == 0 &&
                                    (prefix[len - 1] == '_' || !isalpha((unsigned char) plain[len])))
                                        return restart_rules[k].nr;
                        }
                }
                if (!classify_frame_is_system(f))
                        break;
        }
        return -1;
}

/* State and timeout of syscall nr from its row of the syscall table. */
static void classify_syscall(const struct classify_input *in, long nr, struct classify_result *r)
{
        const struct syscall_info *s = syscalls_lookup(nr);
        if (!s) {
                r->state = LEAKSCAN_STATE_SYSCALL;
                return;
        }
        r->state = s->state;
        r->timeout = syscalls_is_timed(nr, in->args);
        if (s->fd_dir == SYSCALL_FD_READ)
                r->state = fd_state(in->fd_target, LEAKSCAN_STATE_PIPE_READ, LEAKSCAN_STATE_SOCKET_READ);
        else if (s->fd_dir == SYSCALL_FD_WRITE)
                r->state = fd_state(in->fd_target, LEAKSCAN_STATE_PIPE_WRITE, LEAKSCAN_STATE_SOCKET_WRITE);
        r->has_wait_address = syscalls_futex_word(nr, in->args, &r->wait_address);
        if ((s->flags & SYSCALL_STATE_FROM_FRAMES) &&
            !state_from_frames(in, &r->state))
                r->state = s->state;
}

void classify_thread(const struct classify_input *in, struct classify_result *ret)
{
        struct classify_result r = { .state = LEAKSCAN_STATE_SYSCALL };
        const struct syscall_info *s = syscalls_lookup(in->syscall_nr);

        if (in->syscall_nr < 0) {
                r.state = LEAKSCAN_STATE_RUNNING;
        } else if (s && (s->flags & SYSCALL_RESTART)) {
                long orig = restarted_call(in);
                if (state_from_frames(in, &r.state)) {
                        r.timeout = true;       /* futex restarts this way only when timed */
                } else if (orig >= 0) {
                        classify_syscall(in, orig, &r);
                } else {
                        r.state = s->state;
                        r.timeout = true;       /* unknown: never invent an indefinite wait */
                }
        } else {
                classify_syscall(in, in->syscall_nr, &r);
        }

        /* A kernel worker inside the process (io_uring) runs no user code:
         * whatever it waits for is the kernel's business, never a leak. */
        if (in->proc_flags & PF_IO_WORKER_FLAG) {
                *ret = (struct classify_result) { .state = LEAKSCAN_STATE_KERNEL_WORKER };
                ret->verdict = classify_wait_verdict(ret->state, ret->timeout);
                return;
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

        r.verdict = classify_wait_verdict(r.state, r.timeout);
        *ret = r;
}

enum leakscan_verdict classify_wait_verdict(enum leakscan_state state, bool timeout)
{
        if (state == LEAKSCAN_STATE_KERNEL_WORKER)
                return LEAKSCAN_VERDICT_IDLE;
        if (state == LEAKSCAN_STATE_RUNNING)
                return LEAKSCAN_VERDICT_RUNNING;
        if (timeout || state == LEAKSCAN_STATE_GIL)
                return LEAKSCAN_VERDICT_TIMED;
        return LEAKSCAN_VERDICT_BLOCKED;
}

int64_t classify_blocked_ms(bool has_exec_start, uint64_t exec_start_ns, bool has_now, uint64_t now_ns)
{
        if (!has_exec_start || !has_now)
                return -1;
        if (now_ns <= exec_start_ns)
                return 0;
        return (int64_t) ((now_ns - exec_start_ns) / 1000000u);
}
